//! mlscore's git pre-push hook: where git looks for hooks, whose hook is there,
//! and how mlscore's is written, chained in front of another one, and removed.
//!
//! The hook itself is the shell script `pre-push.sh` beside this file, written
//! as it is but for its scope and version lines, so that it can be linted as a
//! file (`.ci/validate-actions` runs shellcheck on it).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The hook git runs before a push.
pub const HOOK_NAME: &str = "pre-push";
/// Where a hook that was there before mlscore's is kept; mlscore's hook runs it
/// first.
pub const CHAINED_NAME: &str = "pre-push.mlscore-chained";
/// The line that marks a hook as mlscore's own: only such a hook is updated or
/// removed.
pub const MARKER: &str = "# mlscore:pre-push-hook";

const TEMPLATE: &str = include_str!("pre-push.sh");
/// The template's scope line, replaced by the folder to score.
const SCOPE_LINE: &str = "scope=.";

/// Why a hook could not be installed or removed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HookError {
    #[error("{} is not inside a git work tree", path.display())]
    #[diagnostic(
        code(mlscore::hook::not_a_repo),
        help("run it inside a git clone, or pass the path of one: `mlscore hook install PATH`")
    )]
    NotARepository { path: PathBuf },

    #[error("git could not be run: {reason}")]
    #[diagnostic(
        code(mlscore::hook::git_unavailable),
        help("install git and make sure it is on PATH")
    )]
    GitUnavailable { reason: String },

    #[error("{} is another tool's pre-push hook", path.display())]
    #[diagnostic(
        code(mlscore::hook::foreign),
        help(
            "pass --force to chain it: it moves to {CHAINED_NAME} and runs before mlscore's check, \
             with the same arguments and input; `mlscore hook uninstall` puts it back"
        )
    )]
    ForeignHook { path: PathBuf },

    #[error("{} is another tool's hook and {} is taken", hook.display(), chained.display())]
    #[diagnostic(
        code(mlscore::hook::chain_taken),
        help("a hook is already chained: merge the two hooks into one by hand, or delete one, then install again")
    )]
    ChainTaken { hook: PathBuf, chained: PathBuf },

    #[error("cannot {action} {}: {reason}", path.display())]
    #[diagnostic(code(mlscore::hook::io))]
    Io {
        action: &'static str,
        path: PathBuf,
        reason: String,
        #[help]
        help: Option<String>,
    },
}

impl HookError {
    fn io(action: &'static str, path: &Path, err: &io::Error) -> HookError {
        let help = match err.kind() {
            io::ErrorKind::PermissionDenied => {
                Some("check that you may write to the hooks folder (`git rev-parse --git-path hooks` names it)".to_string())
            }
            io::ErrorKind::NotFound => Some("check that the folder exists".to_string()),
            _ => None,
        };
        HookError::Io {
            action,
            path: path.to_path_buf(),
            reason: err.to_string(),
            help,
        }
    }
}

/// Whose hook is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occupant {
    /// No file (nor link) at all.
    Absent,
    /// mlscore's own hook: it holds the marker line.
    Mlscore,
    /// Anything else, including a link or a file that cannot be read.
    Foreign,
}

/// Whose hook `path` is. A link is looked at, not through: a dangling one is
/// still somebody's hook.
pub fn occupant(path: &Path) -> Occupant {
    if fs::symlink_metadata(path).is_err() {
        return Occupant::Absent;
    }
    match fs::read(path) {
        Ok(bytes) if is_mlscore_hook(&bytes) => Occupant::Mlscore,
        _ => Occupant::Foreign,
    }
}

/// Whether a hook's text holds mlscore's marker line.
pub fn is_mlscore_hook(text: &[u8]) -> bool {
    String::from_utf8_lossy(text)
        .lines()
        .any(|line| line.trim_end() == MARKER)
}

/// The hook's text, scoring `scope` (a folder relative to the top of the work
/// tree, `/`-separated; empty for the top).
pub fn script(scope: &str) -> String {
    let scope = if scope.is_empty() { "." } else { scope };
    TEMPLATE
        .replacen(SCOPE_LINE, &format!("scope={}", shell_quote(scope)), 1)
        .replacen("@VERSION@", env!("CARGO_PKG_VERSION"), 1)
}

/// `s` as one single-quoted POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where a repository's hooks live and what its hook scores.
#[derive(Debug, Clone)]
pub struct HookSite {
    /// The folder git runs hooks from: `core.hooksPath` when set, else the
    /// repository's (common) `hooks` folder, shared by its worktrees.
    pub dir: PathBuf,
    /// The folder to score, relative to the top of the work tree (`""` at the top).
    pub scope: String,
}

impl HookSite {
    /// The hook's path.
    pub fn hook(&self) -> PathBuf {
        self.dir.join(HOOK_NAME)
    }

    /// Where a chained hook is kept.
    pub fn chained(&self) -> PathBuf {
        self.dir.join(CHAINED_NAME)
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Result<String, String>, HookError> {
    use crate::repo::GitError;
    match crate::repo::git::run(dir, args) {
        Ok(out) => Ok(Ok(String::from_utf8_lossy(&out).trim().to_string())),
        Err(GitError::Failed { stderr, .. }) => Ok(Err(stderr)),
        Err(GitError::Unavailable { reason }) => Err(HookError::GitUnavailable { reason }),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// Finds the hooks folder of the work tree holding `path`. Git itself answers,
/// so `core.hooksPath` (relative ones included) and linked worktrees are
/// honoured exactly as when git runs the hook.
pub fn locate(path: &Path) -> Result<HookSite, HookError> {
    let not_a_repo = || HookError::NotARepository {
        path: path.to_path_buf(),
    };
    if !path.is_dir() {
        return Err(not_a_repo());
    }
    let toplevel = git(path, &["rev-parse", "--show-toplevel"])?.map_err(|_| not_a_repo())?;
    let scope = git(path, &["rev-parse", "--show-prefix"])?.map_err(|_| not_a_repo())?;
    let dir = match git(
        path,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
    )? {
        Ok(dir) => PathBuf::from(dir),
        // git before 2.31 lacks --path-format; its answer is then relative to
        // the folder it ran in, which is the top level here.
        Err(_) => {
            let top = PathBuf::from(&toplevel);
            let dir =
                git(&top, &["rev-parse", "--git-path", "hooks"])?.map_err(|_| not_a_repo())?;
            top.join(dir)
        }
    };
    Ok(HookSite {
        dir,
        scope: scope.trim_end_matches('/').to_string(),
    })
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// There was no pre-push hook; mlscore's is new.
    Created,
    /// mlscore's hook was there and has been rewritten.
    Updated,
    /// mlscore's hook was there, already as it would be written.
    Unchanged,
    /// Another hook was there: it was moved aside and mlscore's runs it first.
    Chained,
}

/// The result of an install.
#[derive(Debug, Clone)]
pub struct InstallOutcome {
    /// What was done to the pre-push hook.
    pub action: Installed,
    /// A chained hook that mlscore's hook runs first, if there is one.
    pub chained: Option<PathBuf>,
    /// Whether that chained hook is executable (git, and so mlscore's hook,
    /// runs only executable hooks).
    pub chained_runs: bool,
}

/// Writes mlscore's pre-push hook into `site`. Another tool's hook is refused
/// unless `force`, which chains it instead of overwriting it.
pub fn install(site: &HookSite, force: bool) -> Result<InstallOutcome, HookError> {
    fs::create_dir_all(&site.dir)
        .map_err(|e| HookError::io("create the hooks folder", &site.dir, &e))?;
    let (hook, chained) = (site.hook(), site.chained());
    let text = script(&site.scope);
    let action = match occupant(&hook) {
        Occupant::Absent => {
            write_hook(&site.dir, &hook, &text)?;
            Installed::Created
        }
        Occupant::Mlscore => {
            if fs::read(&hook).is_ok_and(|old| old == text.as_bytes()) {
                Installed::Unchanged
            } else {
                write_hook(&site.dir, &hook, &text)?;
                Installed::Updated
            }
        }
        Occupant::Foreign if !force => return Err(HookError::ForeignHook { path: hook }),
        Occupant::Foreign => {
            if fs::symlink_metadata(&chained).is_ok() {
                return Err(HookError::ChainTaken { hook, chained });
            }
            fs::rename(&hook, &chained)
                .map_err(|e| HookError::io("move the existing hook", &hook, &e))?;
            if let Err(err) = write_hook(&site.dir, &hook, &text) {
                // Put the other hook back: an install must never lose it.
                let _ = fs::rename(&chained, &hook);
                return Err(err);
            }
            Installed::Chained
        }
    };
    let chained = fs::symlink_metadata(&chained).is_ok().then_some(chained);
    let chained_runs = chained.as_deref().is_some_and(is_executable);
    Ok(InstallOutcome {
        action,
        chained,
        chained_runs,
    })
}

/// Writes the hook through a temporary file and a rename, so that a push never
/// runs half a hook.
fn write_hook(dir: &Path, hook: &Path, text: &str) -> Result<(), HookError> {
    let tmp = dir.join(".pre-push.mlscore-tmp");
    let result = (|| {
        fs::write(&tmp, text)?;
        make_executable(&tmp)?;
        fs::rename(&tmp, hook)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        HookError::io("write the hook", hook, &e)
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> io::Result<()> {
    // Git for Windows runs hooks through its own sh; there is no mode to set.
    Ok(())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// mlscore's hook was removed; nothing was chained.
    Removed,
    /// mlscore's hook was removed (or was already gone) and the hook it chained
    /// is the pre-push hook again.
    Restored,
    /// The pre-push hook is another tool's; it was left in place.
    NotOurs {
        /// A chained hook found beside it, also left in place.
        stray_chained: bool,
    },
    /// There was no hook of mlscore's.
    NothingInstalled,
}

/// Removes mlscore's hook from `site`, and puts back the hook it chained.
/// Another tool's hook is never touched.
pub fn uninstall(site: &HookSite) -> Result<Removed, HookError> {
    let (hook, chained) = (site.hook(), site.chained());
    let has_chained = fs::symlink_metadata(&chained).is_ok();
    match occupant(&hook) {
        Occupant::Foreign => Ok(Removed::NotOurs {
            stray_chained: has_chained,
        }),
        Occupant::Mlscore => {
            fs::remove_file(&hook).map_err(|e| HookError::io("remove the hook", &hook, &e))?;
            if has_chained {
                restore(&chained, &hook)?;
                Ok(Removed::Restored)
            } else {
                Ok(Removed::Removed)
            }
        }
        // mlscore's hook was deleted by hand but the chained one is still
        // aside: it is the one hook left, so it goes back.
        Occupant::Absent if has_chained => {
            restore(&chained, &hook)?;
            Ok(Removed::Restored)
        }
        Occupant::Absent => Ok(Removed::NothingInstalled),
    }
}

fn restore(chained: &Path, hook: &Path) -> Result<(), HookError> {
    fs::rename(chained, hook).map_err(|e| HookError::io("restore the chained hook", chained, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_the_marker_and_one_scope_line() {
        assert!(is_mlscore_hook(TEMPLATE.as_bytes()));
        assert_eq!(TEMPLATE.lines().filter(|l| *l == SCOPE_LINE).count(), 1);
        assert!(TEMPLATE.starts_with("#!/bin/sh\n"));
        assert!(TEMPLATE.contains(CHAINED_NAME));
    }

    #[test]
    fn the_scope_is_one_quoted_word() {
        assert!(script("").contains("\nscope='.'\n"));
        assert!(script("models/churn").contains("\nscope='models/churn'\n"));
        assert!(script("it's").contains(r"scope='it'\''s'"));
        assert!(!script("").contains("@VERSION@"));
    }

    #[test]
    fn only_the_marker_line_makes_a_hook_mlscores() {
        assert!(is_mlscore_hook(
            b"#!/bin/sh\n# mlscore:pre-push-hook\nexit 0\n"
        ));
        assert!(is_mlscore_hook(b"#!/bin/sh\r\n# mlscore:pre-push-hook\r\n"));
        assert!(!is_mlscore_hook(b"#!/bin/sh\nmlscore check\n"));
        assert!(!is_mlscore_hook(
            b"#!/bin/sh\necho '# mlscore:pre-push-hook'\n"
        ));
    }
}
