//! One module per subcommand; each returns an exit code or an [`Error`].

pub mod check;
pub mod ci;
pub mod data;
pub mod diff;
pub mod explain;
pub mod hook;
pub mod init;
pub mod list;
pub mod output;
pub mod pipeline;

use crate::error::Error;
use crate::rubric::Catalogue;

/// The embedded catalogue, or the error of a broken build.
pub fn catalogue() -> Result<Catalogue, Error> {
    Ok(Catalogue::embedded()?)
}
