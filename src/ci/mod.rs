//! What CI runs: jobs parsed from GitHub Actions, Jenkins, GitLab CI and the
//! task runners they call, followed through scripts and YAML to the files they
//! reach. The rubric asks this model one question per piece of evidence: does a
//! CI job run or reach this file, and is that job scheduled?

use serde::Serialize;

use crate::repo::RepoIndex;

/// A CI system mlscore understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiSystem {
    GithubActions,
    Jenkins,
    GitlabCi,
}

impl CiSystem {
    /// The name users know the system by.
    pub fn display_name(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "GitHub Actions",
            CiSystem::Jenkins => "Jenkins",
            CiSystem::GitlabCi => "GitLab CI",
        }
    }
}

/// One CI job (a GitHub Actions job, a Jenkins stage, a GitLab job).
#[derive(Debug, Clone, Serialize)]
pub struct CiJob {
    /// Position in [`CiModel::jobs`].
    pub id: usize,
    pub system: CiSystem,
    /// Human name, e.g. `ci.yml › test` or `Jenkinsfile › Unit tests`.
    pub name: String,
    /// File that defines the job, repository-relative.
    pub file: String,
    /// 1-based line where the job is defined.
    pub line: usize,
    /// Cron expressions that trigger the job (empty when not scheduled).
    pub schedules: Vec<String>,
    /// False when the job only ever runs by hand (e.g. `workflow_dispatch` only,
    /// GitLab `when: manual`).
    pub automatic: bool,
}

impl CiJob {
    /// Whether a cron schedule triggers this job.
    pub fn is_scheduled(&self) -> bool {
        !self.schedules.is_empty()
    }
}

/// One command that CI runs, directly or through files it reaches.
#[derive(Debug, Clone, Serialize)]
pub struct CiCommand {
    /// The job that (transitively) runs it.
    pub job: usize,
    /// The command text, one logical shell command (continuations joined).
    pub text: String,
    /// The file the command is written in (a workflow, a script, a Makefile…).
    pub file: String,
    /// 1-based line of the command in `file`.
    pub line: usize,
    /// How many hops from the CI definition: 0 in the workflow itself, 1 in a
    /// script or Makefile target it calls, and so on.
    pub depth: usize,
}

/// How a CI job reaches a repository file.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// The job.
    pub job: usize,
    /// The command (index into [`CiModel::commands`]) that runs or names it.
    pub command: usize,
}

/// A problem met while reading CI files; never fatal.
#[derive(Debug, Clone, Serialize)]
pub struct CiWarning {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Everything mlscore knows about what CI runs.
#[derive(Debug, Default)]
pub struct CiModel {
    /// The CI jobs found.
    pub jobs: Vec<CiJob>,
    /// Every command run, including those reached through scripts.
    pub commands: Vec<CiCommand>,
    /// Problems met while parsing; shown as warnings.
    pub warnings: Vec<CiWarning>,
    // Private coverage tables, built by `build`.
}

impl CiModel {
    /// Reads every CI definition in the index and follows what it runs.
    pub fn build(index: &RepoIndex) -> CiModel {
        let _ = index;
        unimplemented!("helper implements")
    }

    /// The CI systems found, in a stable order.
    pub fn systems(&self) -> Vec<CiSystem> {
        let mut systems: Vec<CiSystem> = self.jobs.iter().map(|j| j.system).collect();
        systems.sort();
        systems.dedup();
        systems
    }

    /// How CI reaches a repository file, preferring automatic jobs and then the
    /// shallowest command; `None` when no CI job runs or reaches it.
    pub fn reach(&self, path: &str) -> Option<Reach> {
        let _ = path;
        unimplemented!("helper implements")
    }

    /// Like [`CiModel::reach`], but only through jobs that run on a schedule.
    pub fn scheduled_reach(&self, path: &str) -> Option<Reach> {
        let _ = path;
        unimplemented!("helper implements")
    }

    /// The first command of an automatic job that runs `mlscore` itself.
    pub fn mlscore_command(&self) -> Option<&CiCommand> {
        unimplemented!("helper implements")
    }
}
