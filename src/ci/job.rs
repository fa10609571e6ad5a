//! What each CI reader hands to the follower: job definitions and the
//! commands written in them, before anything is followed.

use super::CiSystem;

/// A command waiting to be recorded and followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub text: String,
    /// File the command is written in.
    pub file: String,
    /// 1-based line in `file`.
    pub line: usize,
    /// Hops from the CI definition.
    pub depth: usize,
    /// Repository-relative directory it runs in (`""` for the root).
    pub cwd: String,
    /// Recorded only if it reaches something: strings of a YAML file that may
    /// or may not be commands.
    pub optional: bool,
    /// Known to run mlscore without naming it (the mlscore GitHub Action).
    pub runs_mlscore: bool,
}

impl Pending {
    /// A command written at `file:line`, run in `cwd`, `depth` hops deep.
    pub(crate) fn new(
        text: impl Into<String>,
        file: &str,
        line: usize,
        depth: usize,
        cwd: &str,
    ) -> Pending {
        Pending {
            text: text.into(),
            file: file.to_string(),
            line,
            depth,
            cwd: cwd.to_string(),
            optional: false,
            runs_mlscore: false,
        }
    }
}

/// A CI job as its reader found it.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    pub system: CiSystem,
    pub name: String,
    pub file: String,
    pub line: usize,
    pub schedules: Vec<String>,
    pub automatic: bool,
    /// Commands in the order the job runs them.
    pub commands: Vec<Pending>,
}
