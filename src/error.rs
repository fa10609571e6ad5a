//! The errors a command can end with, each rendered by miette at the edge and
//! mapped to exit code 2.

use std::path::PathBuf;

use miette::Diagnostic;

use crate::config::ConfigError;
use crate::repo::ScanError;
use crate::rubric::catalogue::CheckFileError;

pub use crate::exit::{EXIT_GATE_FAILED, EXIT_INPUT, EXIT_OK};

/// An error that stops a command.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    CheckFile(#[from] CheckFileError),

    #[error("cannot scan {0}")]
    #[diagnostic(
        code(mlscore::scan),
        help("pass the path of a repository folder, e.g. `mlscore check .`")
    )]
    Scan(#[source] ScanError),

    #[error("cannot {action} {}: {reason}", path.display())]
    #[diagnostic(code(mlscore::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{id}` is not a rubric test")]
    #[diagnostic(code(mlscore::unknown_test))]
    UnknownTest {
        id: String,
        #[help]
        help: String,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] crate::repo::GitError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Metrics(crate::metrics::MetricFileError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Render(#[from] crate::report::render::RenderError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] crate::probes::data::DataError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Forge(#[from] crate::forge::ForgeError),

    #[error("{message}")]
    #[diagnostic(code(mlscore::usage))]
    Usage {
        message: String,
        #[help]
        help: String,
    },

    #[error("{} already exists", path.display())]
    #[diagnostic(
        code(mlscore::init::exists),
        help("pass --force to overwrite it, or edit it by hand")
    )]
    ConfigExists { path: PathBuf },
}

impl From<ScanError> for Error {
    fn from(err: ScanError) -> Self {
        Error::Scan(err)
    }
}

impl Error {
    /// The I/O error of an action on a path, with an optional fix.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, err: &std::io::Error) -> Error {
        let help = match err.kind() {
            std::io::ErrorKind::NotFound => Some("check that the folder exists".to_string()),
            std::io::ErrorKind::PermissionDenied => {
                Some("check the file's permissions".to_string())
            }
            _ => None,
        };
        Error::Io {
            action,
            path: path.into(),
            reason: err.to_string(),
            help,
        }
    }
}
