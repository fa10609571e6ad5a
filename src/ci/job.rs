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
    /// A pipeline step that runs repository files without a command line
    /// naming them (an Airflow `python_callable`, a KFP component): the text
    /// describes the step and is not parsed; these files are run instead.
    pub step_files: Option<Vec<String>>,
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
            step_files: None,
        }
    }

    /// A pipeline step written at `file:line`, described by `text`, that runs
    /// `files` (Python modules whose imports are followed too).
    pub(crate) fn step(
        text: impl Into<String>,
        file: &str,
        line: usize,
        files: Vec<String>,
    ) -> Pending {
        Pending {
            step_files: Some(files),
            ..Pending::new(text, file, line, 0, "")
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
    /// Whether a change to the repository (a push, a pull or merge request)
    /// starts it, where the reader can tell; `None`: a scheduled job is
    /// taken as started only by its schedule.
    pub on_change: Option<bool>,
    /// Commands in the order the job runs them.
    pub commands: Vec<Pending>,
    /// An ML pipeline's submitters: what runs it without a person. Empty for
    /// CI jobs, whose `automatic` is final. A pipeline job that is not
    /// `automatic` on its own becomes so when an automatic CI job (or an
    /// automatic pipeline) fires one of these.
    pub submitted_by: Vec<Submitter>,
}

/// How CI submits an ML pipeline: a command of an automatic job that runs
/// `file` (when given) and contains every one of `words` (when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Submitter {
    /// A repository file the command must run (directly or through imports
    /// of a file it runs; a test collecting it does not count).
    pub file: Option<String>,
    /// The program the command must run (`kedro`), when not a file.
    pub program: Option<&'static str>,
    /// Words the command must contain (`run`; `step-functions create`).
    pub words: Vec<String>,
    /// Schedules the submission creates (a Metaflow `@schedule` deployed to
    /// Step Functions), added to the pipeline job's own.
    pub grants: Vec<String>,
}

impl Submitter {
    /// Submitted when CI runs `file`.
    pub(crate) fn file(file: &str) -> Submitter {
        Submitter {
            file: Some(file.to_string()),
            program: None,
            words: Vec::new(),
            grants: Vec::new(),
        }
    }

    /// A schedule that code creates when it is run (`create_schedule(…)`,
    /// `flow.serve(cron=…)`): the pipeline is scheduled once CI runs `file`;
    /// run by hand, it is not (the corpus scores it as done by hand).
    pub(crate) fn creates(file: &str, schedule: String) -> Submitter {
        Submitter {
            grants: vec![schedule],
            ..Submitter::file(file)
        }
    }

    /// Submitted when CI runs `program` with all of `words` among its arguments.
    pub(crate) fn program(program: &'static str, words: &[&str]) -> Submitter {
        Submitter {
            file: None,
            program: Some(program),
            words: words.iter().map(|w| w.to_string()).collect(),
            grants: Vec::new(),
        }
    }
}

/// A job as the readers' tests compare it whole: name, line, automatic,
/// schedules and its commands' texts.
#[cfg(test)]
pub(crate) type Summary<'a> = (&'a str, usize, bool, &'a [String], Vec<&'a str>);

/// Views of a job for the readers' tests, so that each reader's assertions
/// compare one value with a literal and read alike.
#[cfg(test)]
impl JobSpec {
    pub(crate) fn summary(&self) -> Summary<'_> {
        (
            self.name.as_str(),
            self.line,
            self.automatic,
            self.schedules.as_slice(),
            self.commands.iter().map(|c| c.text.as_str()).collect(),
        )
    }

    /// (text, line) of each command.
    pub(crate) fn command_lines(&self) -> Vec<(&str, usize)> {
        self.commands
            .iter()
            .map(|c| (c.text.as_str(), c.line))
            .collect()
    }

    /// (text, line, directory it runs in) of each command.
    pub(crate) fn command_places(&self) -> Vec<(&str, usize, &str)> {
        self.commands
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.cwd.as_str()))
            .collect()
    }
}
