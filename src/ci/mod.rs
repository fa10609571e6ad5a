//! What CI runs: jobs parsed from GitHub Actions, Jenkins, GitLab CI and the
//! task runners they call, followed through scripts and YAML to the files they
//! reach. The rubric asks this model one question per piece of evidence: does a
//! CI job run or reach this file, and is that job scheduled?

mod coverage;
mod dvc;
mod follow;
mod github;
mod gitlab;
mod groovy;
mod ini;
mod invocation;
mod jenkins;
mod job;
mod lines;
mod makefile;
mod nox;
mod paths;
mod precommit;
mod programs;
mod pytest;
mod python;
mod shell;
#[cfg(test)]
mod tests;
mod tox;
mod yaml;

use serde::Serialize;

use crate::repo::RepoIndex;

use coverage::CoverageTable;

pub use gitlab::GITLAB_SCHEDULE;

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
    /// Best reach of each covered file and directory, any job.
    coverage: CoverageTable,
    /// The same, through scheduled automatic jobs only.
    scheduled_coverage: CoverageTable,
    /// Commands that run mlscore, in order.
    mlscore_commands: Vec<usize>,
    /// `(command, file)` for every repository file a command runs or names
    /// directly (not through imports), in command order: what a job runs,
    /// step by step, for the rubric's role rules.
    pub(crate) named: Vec<(usize, String)>,
}

impl CiModel {
    /// Reads every CI definition in the index and follows what it runs.
    ///
    /// Only files that CI names are read, so building stays cheap on a large
    /// repository. Nothing here fails: problems become [`CiModel::warnings`].
    pub fn build(index: &RepoIndex) -> CiModel {
        let mut warnings = Vec::new();
        let mut specs = github::jobs(index, &mut warnings);
        specs.extend(jenkins::jobs(index, &mut warnings));
        specs.extend(gitlab::jobs(index, &mut warnings));
        follow::Follower::new(index, warnings).run(specs)
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
    ///
    /// A file is reached when a command names it, when it lies in a directory a
    /// command names, when a test runner collects it, or when a Python file
    /// that CI runs or tests imports it.
    pub fn reach(&self, path: &str) -> Option<Reach> {
        self.coverage.lookup(path)
    }

    /// Like [`CiModel::reach`], but only through jobs that run on a schedule.
    pub fn scheduled_reach(&self, path: &str) -> Option<Reach> {
        self.scheduled_coverage.lookup(path)
    }

    /// The first command of an automatic job that runs `mlscore` itself.
    /// Falls back to a manual job's command when no automatic job runs it.
    pub fn mlscore_command(&self) -> Option<&CiCommand> {
        let automatic = |&&id: &&usize| {
            self.commands
                .get(id)
                .and_then(|c| self.jobs.get(c.job))
                .is_some_and(|j| j.automatic)
        };
        let id = self
            .mlscore_commands
            .iter()
            .find(automatic)
            .or(self.mlscore_commands.first())?;
        self.commands.get(*id)
    }

    /// The commands of one job, in the order they were followed.
    pub fn commands_of(&self, job: usize) -> impl Iterator<Item = &CiCommand> {
        self.commands.iter().filter(move |c| c.job == job)
    }

    /// The repository files command `command` runs or names directly.
    pub fn files_named_by(&self, command: usize) -> impl Iterator<Item = &str> {
        let start = self.named.partition_point(|(c, _)| *c < command);
        self.named[start..]
            .iter()
            .take_while(move |(c, _)| *c == command)
            .map(|(_, path)| path.as_str())
    }

    /// How many files and directories CI reaches (for summaries and benchmarks).
    pub fn covered_len(&self) -> usize {
        self.coverage.len()
    }
}
