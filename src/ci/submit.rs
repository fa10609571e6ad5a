//! Which automatic job submits an ML pipeline: the link between the CI jobs
//! followed so far and a pipeline's [`Submitter`]s. A pipeline is submitted
//! when an automatic job runs the file that submits it (`python
//! pipeline/run.py`, through imports too) or runs its runner's command
//! (`kedro run`, `python flow.py step-functions create`).

use std::collections::{HashMap, HashSet};

use super::coverage::CoverageTable;
use super::invocation;
use super::job::Submitter;
use super::{CiCommand, CiJob};

/// Commands of one word checked per submitter at most: a guard against a
/// repository whose every command says `run`.
const MAX_CANDIDATES: usize = 10_000;

/// The automatic job that fired a submitter, and the schedules the pipeline
/// gets from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fired {
    pub job: usize,
    /// The submitting job's schedules (a nightly workflow that submits the
    /// pipeline runs it nightly) and those the submission creates.
    pub schedules: Vec<String>,
}

/// An index of the words of automatic commands, grown as jobs are followed.
#[derive(Debug, Default)]
pub(crate) struct Submissions {
    /// Words some submitter asks for; only these are indexed.
    wanted: HashSet<String>,
    /// Commands (indices into the model's commands) holding each wanted word.
    by_word: HashMap<String, Vec<usize>>,
    /// Commands indexed so far.
    indexed: usize,
}

impl Submissions {
    /// An index that looks for the words of `submitters`.
    pub(crate) fn new<'a>(submitters: impl Iterator<Item = &'a Submitter>) -> Submissions {
        let mut wanted = HashSet::new();
        for s in submitters {
            wanted.extend(s.words.iter().cloned());
            wanted.extend(s.program.map(str::to_string));
        }
        Submissions {
            wanted,
            ..Submissions::default()
        }
    }

    /// Indexes the commands recorded since the last call.
    pub(crate) fn index(&mut self, jobs: &[CiJob], commands: &[CiCommand]) {
        let start = self.indexed.min(commands.len());
        self.indexed = commands.len();
        if self.wanted.is_empty() {
            return;
        }
        for (id, command) in commands.iter().enumerate().skip(start) {
            if !jobs.get(command.job).is_some_and(|j| j.automatic) {
                continue;
            }
            let mut seen = HashSet::new();
            for word in invocation::tokenize(&command.text) {
                let word = program_word(&word);
                if self.wanted.contains(word) && seen.insert(word.to_string()) {
                    self.by_word.entry(word.to_string()).or_default().push(id);
                }
            }
        }
    }

    /// The first submitter an automatic job fires, if any.
    pub(crate) fn fired(
        &self,
        jobs: &[CiJob],
        commands: &[CiCommand],
        runs: &CoverageTable,
        submitters: &[Submitter],
    ) -> Option<Fired> {
        submitters.iter().find_map(|s| {
            let job = self.firing_job(jobs, commands, runs, s)?;
            let mut schedules = jobs
                .get(job)
                .map(|j| j.schedules.clone())
                .unwrap_or_default();
            schedules.extend(s.grants.iter().cloned());
            Some(Fired { job, schedules })
        })
    }

    fn firing_job(
        &self,
        jobs: &[CiJob],
        commands: &[CiCommand],
        runs: &CoverageTable,
        s: &Submitter,
    ) -> Option<usize> {
        let automatic = |job: usize| jobs.get(job).is_some_and(|j| j.automatic);
        if s.words.is_empty() && s.program.is_none() {
            let reach = runs.lookup_file(s.file.as_deref()?)?;
            return automatic(reach.job).then_some(reach.job);
        }
        // The rarest wanted word bounds the commands to check.
        let key = s
            .words
            .iter()
            .map(String::as_str)
            .chain(s.program)
            .min_by_key(|w| self.by_word.get(*w).map_or(0, Vec::len))?;
        let candidates = self.by_word.get(key)?;
        candidates
            .iter()
            .take(MAX_CANDIDATES)
            .filter_map(|&id| commands.get(id))
            .find(|c| automatic(c.job) && command_fires(&c.text, s))
            .map(|c| c.job)
    }
}

/// Whether one command line fires a submitter with words or a program.
fn command_fires(text: &str, s: &Submitter) -> bool {
    let Some(invocation) = invocation::parse(text) else {
        return false;
    };
    if s.program.is_some_and(|p| p != invocation.program) {
        return false;
    }
    let words: Vec<&str> = std::iter::once(invocation.program_token.as_str())
        .chain(invocation.args.iter().map(String::as_str))
        .collect();
    let has_words = s.words.iter().all(|w| words.contains(&w.as_str()));
    let names_file = s.file.as_deref().is_none_or(|file| {
        words.iter().any(|w| {
            let w = w.trim_start_matches("./");
            !w.is_empty() && (file == w || file.ends_with(&format!("/{w}")))
        })
    });
    has_words && names_file
}

/// A word as indexed: a program path stands for its name (`.venv/bin/kedro`).
fn program_word(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: usize, automatic: bool, schedules: &[&str]) -> CiJob {
        CiJob {
            id,
            system: super::super::CiSystem::GithubActions,
            name: format!("job{id}"),
            file: "ci.yml".into(),
            line: 1,
            schedules: schedules.iter().map(|s| s.to_string()).collect(),
            automatic,
            on_change: automatic && schedules.is_empty(),
            submitted_by: None,
        }
    }

    fn command(job: usize, text: &str) -> CiCommand {
        CiCommand {
            job,
            text: text.into(),
            file: "ci.yml".into(),
            line: 1,
            depth: 0,
        }
    }

    #[test]
    fn a_runner_command_of_an_automatic_job_fires() {
        let jobs = [job(0, false, &[]), job(1, true, &["0 3 * * *"])];
        let commands = [
            command(0, "kedro run"),
            command(1, "poetry run kedro run --pipeline train"),
            command(1, "python flows/train.py step-functions create"),
        ];
        let kedro = Submitter::program("kedro", &["run"]);
        let deploy = Submitter {
            file: Some("flows/train.py".into()),
            program: None,
            words: vec!["step-functions".into(), "create".into()],
            grants: vec!["@daily".into()],
        };
        let other_flow = Submitter {
            file: Some("flows/other.py".into()),
            ..deploy.clone()
        };
        let mut index = Submissions::new([&kedro, &deploy].into_iter());
        index.index(&jobs, &commands);
        let runs = CoverageTable::default();
        let fired = index.fired(&jobs, &commands, &runs, std::slice::from_ref(&kedro));
        assert_eq!(
            fired,
            Some(Fired {
                job: 1,
                schedules: vec!["0 3 * * *".into()]
            })
        );
        let fired = index.fired(&jobs, &commands, &runs, &[deploy]).unwrap();
        assert_eq!(fired.schedules, ["0 3 * * *", "@daily"]);
        assert_eq!(index.fired(&jobs, &commands, &runs, &[other_flow]), None);
    }

    #[test]
    fn a_manual_job_fires_nothing() {
        let jobs = [job(0, false, &[])];
        let commands = [command(0, "kedro run")];
        let kedro = Submitter::program("kedro", &["run"]);
        let mut index = Submissions::new(std::iter::once(&kedro));
        index.index(&jobs, &commands);
        let runs = CoverageTable::default();
        assert_eq!(index.fired(&jobs, &commands, &runs, &[kedro]), None);
    }
}
