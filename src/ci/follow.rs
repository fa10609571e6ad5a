//! Following what CI runs. Each job's commands are processed breadth-first,
//! so the first time a file is reached is through the shallowest command;
//! every command is recorded, and what it names or runs is covered and, for
//! scripts, YAML files, Makefiles and task runners, followed one level deeper.

use foldhash::{HashMap, HashSet};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::repo::RepoIndex;

use super::coverage::{CoverageTable, Rank};
use super::invocation::{self, Invocation};
use super::job::{JobSpec, Pending};
use super::submit::Submissions;
use super::{paths, programs, python, shell, yaml, CiCommand, CiJob, CiModel, CiWarning};

/// How many hops from a CI definition mlscore follows.
pub(crate) const MAX_DEPTH: usize = 6;
/// Commands recorded per job at most; a guard against generated monsters.
const MAX_COMMANDS_PER_JOB: usize = 20_000;
/// Python files whose imports are read, over the whole build.
const MAX_IMPORT_READS: usize = 50_000;
/// How deeply `bash -c '…'` may nest inside itself.
const MAX_INLINE_NESTING: usize = 3;

/// Programs whose arguments name files without running them.
const NOT_RUNNING: &[&str] = &[
    "cd",
    "pushd",
    "popd",
    "mkdir",
    "rm",
    "rmdir",
    "echo",
    "printf",
    "touch",
    "ls",
    "mv",
    "cp",
    "ln",
    "chmod",
    "chown",
    "export",
    "unset",
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "grep",
    "git",
    "shellcheck",
    "shfmt",
    "yamllint",
    "diff",
    "wc",
    "stat",
    "test",
    "[",
    "tee",
    "dos2unix",
    "rsync",
    "scp",
    "read",
    "true",
    "false",
    "exit",
    "sleep",
    "wget",
    "curl",
];

/// What one command does, before it is recorded.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Files it runs or names.
    pub files: Vec<String>,
    /// Directories it covers as a whole.
    pub dirs: Vec<String>,
    /// Python files whose imports are followed.
    pub python: Vec<String>,
    /// Commands it runs one level deeper.
    pub follow: Vec<Pending>,
    pub runs_mlscore: bool,
    /// A test runner collects these files rather than running them: a
    /// pipeline defined in a module that tests import is not submitted.
    pub collects_tests: bool,
}

impl Effects {
    fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.dirs.is_empty()
            && self.follow.is_empty()
            && !self.runs_mlscore
    }

    fn merge(&mut self, other: Effects) {
        self.files.extend(other.files);
        self.dirs.extend(other.dirs);
        self.python.extend(other.python);
        self.follow.extend(other.follow);
        self.runs_mlscore |= other.runs_mlscore;
    }
}

/// What is remembered while one job is followed.
pub(crate) struct JobState {
    job: usize,
    /// Keys of files and targets already followed (`sh:path`, `make:…`):
    /// the cycle guard.
    pub visited: HashSet<String>,
    depth_warned: HashSet<(String, usize)>,
    /// Commands task runners handed over in this job (a bound, see
    /// [`super::tasks::run`]).
    pub task_commands: usize,
}

/// Builds the model: records commands, fills the coverage tables.
pub(crate) struct Follower<'a> {
    pub index: &'a RepoIndex,
    jobs: Vec<CiJob>,
    commands: Vec<CiCommand>,
    pub warnings: Vec<CiWarning>,
    all: CoverageTable,
    scheduled: CoverageTable,
    /// Files run (not only collected as tests) by automatic jobs: what
    /// submits a pipeline.
    pub(crate) runs: CoverageTable,
    mlscore: Vec<usize>,
    named: Vec<(usize, String)>,
    /// Working directory → file → the repository files it imports.
    imports: HashMap<String, HashMap<String, Arc<[String]>>>,
    import_reads: usize,
    /// Every `dvc.yaml` of the repository, listed on first need.
    pub dvc_files: Option<Vec<String>>,
    /// Makefiles parsed so far (with their includes), by file and directory
    /// make runs in: a chain of recipes calling `$(MAKE)` parses each once.
    pub makefiles: HashMap<(String, String), ParsedMakefile>,
    /// pytest configurations read so far.
    pub pytest_configs: super::pytest::PytestConfigs,
    /// Task runners' files read so far.
    pub task_files: super::tasks::run::TaskFiles,
}

/// A parsed Makefile and the files it included.
pub(crate) type ParsedMakefile = std::sync::Arc<(super::makefile::Makefile, Vec<String>)>;

impl<'a> Follower<'a> {
    pub(crate) fn new(index: &'a RepoIndex, warnings: Vec<CiWarning>) -> Self {
        Follower {
            index,
            jobs: Vec::new(),
            commands: Vec::new(),
            warnings,
            all: CoverageTable::default(),
            scheduled: CoverageTable::default(),
            runs: CoverageTable::default(),
            mlscore: Vec::new(),
            named: Vec::new(),
            imports: HashMap::default(),
            import_reads: 0,
            dvc_files: None,
            makefiles: HashMap::default(),
            pytest_configs: Default::default(),
            task_files: Default::default(),
        }
    }

    /// Follows every job and returns the finished model.
    ///
    /// CI jobs and pipelines that run on their own (a schedule) go first;
    /// then, round by round, each pipeline that an automatic job submits
    /// becomes automatic and is followed, so a pipeline submitted by another
    /// pipeline is found too; the pipelines left are manual.
    pub(crate) fn run(mut self, specs: Vec<JobSpec>) -> CiModel {
        let (ready, mut waiting): (Vec<JobSpec>, Vec<JobSpec>) = specs
            .into_iter()
            .partition(|s| s.automatic || s.submitted_by.is_empty());
        let mut ready: Vec<(JobSpec, Option<usize>)> =
            ready.into_iter().map(|s| (s, None)).collect();
        let mut submissions = Submissions::new(waiting.iter().flat_map(|s| &s.submitted_by));
        while !ready.is_empty() {
            for (spec, submitted_by) in ready.drain(..) {
                self.follow_job(spec, submitted_by);
            }
            submissions.index(&self.jobs, &self.commands);
            let mut still = Vec::new();
            for mut spec in waiting {
                match submissions.fired(&self.jobs, &self.commands, &self.runs, &spec.submitted_by)
                {
                    Some(fired) => {
                        spec.automatic = true;
                        for schedule in fired.schedules {
                            if !spec.schedules.contains(&schedule) {
                                spec.schedules.push(schedule);
                            }
                        }
                        ready.push((spec, Some(fired.job)));
                    }
                    None => still.push(spec),
                }
            }
            waiting = still;
        }
        for spec in waiting {
            self.follow_job(spec, None);
        }
        let mut seen = HashSet::default();
        self.warnings
            .retain(|w| seen.insert((w.path.clone(), w.line, w.message.clone())));
        CiModel {
            jobs: self.jobs,
            commands: self.commands,
            warnings: self.warnings,
            coverage: self.all,
            scheduled_coverage: self.scheduled,
            mlscore_commands: self.mlscore,
            named: self.named,
        }
    }

    /// Follows one job; `submitted_by` is the automatic job that submits it
    /// when it is a pipeline.
    fn follow_job(&mut self, spec: JobSpec, submitted_by: Option<usize>) {
        let id = self.jobs.len();
        let job = CiJob {
            id,
            system: spec.system,
            name: spec.name,
            file: spec.file,
            line: spec.line,
            on_change: spec.automatic && spec.on_change.unwrap_or(spec.schedules.is_empty()),
            schedules: spec.schedules,
            automatic: spec.automatic,
            submitted_by,
        };
        let scheduled = job.automatic && job.is_scheduled();
        let manual = !job.automatic;
        let off_change = !job.on_change;
        let job_name = job.name.clone();
        self.jobs.push(job);
        let mut state = JobState {
            job: id,
            visited: HashSet::default(),
            depth_warned: HashSet::default(),
            task_commands: 0,
        };
        let mut queue: VecDeque<Pending> = spec.commands.into();
        let mut recorded = 0;
        while let Some(pending) = queue.pop_front() {
            if recorded >= MAX_COMMANDS_PER_JOB {
                self.warnings.push(CiWarning {
                    path: pending.file.clone(),
                    line: Some(pending.line),
                    message: format!("job `{job_name}` runs more than {MAX_COMMANDS_PER_JOB} commands; mlscore stopped following it here"),
                });
                break;
            }
            let effects = self.analyze(&pending, &mut state, 0);
            if pending.optional && effects.is_empty() {
                continue;
            }
            let command = self.commands.len();
            self.commands.push(CiCommand {
                job: id,
                text: pending.text.clone(),
                file: pending.file.clone(),
                line: pending.line,
                depth: pending.depth,
            });
            recorded += 1;
            if effects.runs_mlscore {
                self.mlscore.push(command);
            }
            let rank = Rank {
                manual,
                off_change,
                depth: pending.depth,
                command,
            };
            let run = !effects.collects_tests;
            for file in &effects.files {
                self.cover_file(file, id, rank, scheduled);
                self.named.push((command, file.clone()));
                if run {
                    self.runs.add_file(file, id, rank);
                }
            }
            for dir in &effects.dirs {
                self.all.add_dir(dir, id, rank);
                if scheduled {
                    self.scheduled.add_dir(dir, id, rank);
                }
            }
            let reach = Covered {
                rank,
                scheduled,
                run,
            };
            self.follow_imports(&mut state, &effects.python, &pending.cwd, reach);
            queue.extend(effects.follow);
        }
    }

    fn cover_file(&mut self, path: &str, job: usize, rank: Rank, scheduled: bool) {
        self.all.add_file(path, job, rank);
        if scheduled {
            self.scheduled.add_file(path, job, rank);
        }
    }

    /// What one command runs and names.
    fn analyze(&mut self, pending: &Pending, state: &mut JobState, nesting: usize) -> Effects {
        let mut effects = Effects {
            runs_mlscore: pending.runs_mlscore,
            ..Effects::default()
        };
        if let Some(files) = &pending.step_files {
            // A pipeline step: it runs these files; its text only describes it.
            for file in files {
                if self.kind(file) == FileKind::Python {
                    effects.python.push(file.clone());
                }
                effects.files.push(file.clone());
            }
            return effects;
        }
        let Some(invocation) = invocation::parse(&pending.text) else {
            return effects;
        };
        if let Some(script) = &invocation.inline_script {
            // `bash -c '…'` runs its script as part of this same command.
            // It only collects tests when every part of it does.
            let mut tests_only: Option<bool> = None;
            if nesting < MAX_INLINE_NESTING {
                for placed in shell::placed_commands(self.index, script, pending.line, &pending.cwd)
                {
                    let inner = Pending {
                        text: placed.command.text,
                        cwd: placed.cwd,
                        ..pending.clone()
                    };
                    let inner_effects = self.analyze(&inner, state, nesting + 1);
                    tests_only = tests_only.map_or(Some(inner_effects.collects_tests), |t| {
                        Some(t && inner_effects.collects_tests)
                    });
                    effects.merge(inner_effects);
                }
            }
            effects.collects_tests = tests_only.unwrap_or(false);
            return effects;
        }
        let program = invocation.program.as_str();
        if NOT_RUNNING.contains(&program) {
            return effects;
        }
        if program == "mlscore" {
            effects.runs_mlscore = true;
        }
        match programs::follow(self, state, pending, &invocation, &mut effects) {
            programs::Handled::No => {
                self.name_tokens(pending, state, &invocation, true, &mut effects)
            }
            programs::Handled::Partly => {
                self.name_tokens(pending, state, &invocation, false, &mut effects)
            }
            programs::Handled::Fully => {}
        }
        effects
    }

    /// Covers every word of the command that names a repository file or
    /// directory, and follows scripts and YAML files. With `generic` false a
    /// runner handler has already followed the command its own way: only the
    /// files it names are covered (`make -C ml` does not run all of `ml/`).
    fn name_tokens(
        &mut self,
        pending: &Pending,
        state: &mut JobState,
        invocation: &Invocation,
        generic: bool,
        effects: &mut Effects,
    ) {
        let words = std::iter::once(&invocation.program_token)
            .chain(&invocation.args)
            .chain(&invocation.assigned);
        for word in words {
            let Some(found) = self.existing_path(&pending.cwd, word) else {
                continue;
            };
            match found {
                Found::File(path) => {
                    if generic {
                        self.scan_file(pending, state, &path, effects);
                    }
                    effects.files.push(path);
                }
                Found::Dir(path) if generic => effects.dirs.push(path),
                Found::Dir(_) => {}
            }
        }
        if let Some(module) = &invocation.module {
            let cwd = pending.cwd.as_str();
            let mut bases = vec![
                cwd.to_string(),
                paths::join(cwd, "src").unwrap_or_default(),
                String::new(),
                "src".to_string(),
            ];
            bases.dedup();
            for file in python::module_files(self.index, module, &bases, true) {
                effects.python.push(file.clone());
                effects.files.push(file);
            }
        }
    }

    /// The repository file or directory a word names, resolved against `cwd`:
    /// the word itself or the value of `--opt=value`. The working directory
    /// itself (`.`) is not counted: naming it runs nothing in particular.
    pub(crate) fn existing_path(&self, cwd: &str, word: &str) -> Option<Found> {
        let mut candidates = vec![word];
        if let Some((_, value)) = word.split_once('=') {
            candidates.push(value);
        }
        for candidate in candidates {
            if candidate.is_empty()
                || candidate.len() > 1024
                || candidate.starts_with('-')
                || candidate.contains('*')
            {
                continue;
            }
            let Some(path) = paths::join(cwd, candidate) else {
                continue;
            };
            if path.is_empty() || path == cwd {
                continue;
            }
            if self.index.is_file(&path) {
                return Some(Found::File(path));
            }
            if self.index.is_dir(&path) {
                return Some(Found::Dir(path));
            }
        }
        None
    }

    /// Follows a reached file by its kind: shell scripts and YAML files are
    /// read for commands, Python files for imports.
    fn scan_file(
        &mut self,
        pending: &Pending,
        state: &mut JobState,
        path: &str,
        effects: &mut Effects,
    ) {
        match self.kind(path) {
            FileKind::Python => effects.python.push(path.to_string()),
            FileKind::Shell => {
                if !state.visited.insert(format!("sh:{path}"))
                    || !self.may_go_deeper(state, pending)
                {
                    return;
                }
                let Some(text) = self.readable(pending, path) else {
                    return;
                };
                for placed in shell::placed_commands(self.index, text, 1, &pending.cwd) {
                    effects.follow.push(Pending::new(
                        placed.command.text,
                        path,
                        placed.command.line,
                        pending.depth + 1,
                        &placed.cwd,
                    ));
                }
            }
            FileKind::Yaml => {
                if !state.visited.insert(format!("yaml:{path}"))
                    || !self.may_go_deeper(state, pending)
                {
                    return;
                }
                let Some(text) = self.readable(pending, path) else {
                    return;
                };
                let docs = match yaml::parse_all(text) {
                    Ok(docs) => docs,
                    Err(err) => {
                        self.warnings.push(CiWarning {
                            path: path.to_string(),
                            line: err.line,
                            message: format!("CI reaches this YAML file but it does not parse ({}); commands in it are not followed", err.message),
                        });
                        return;
                    }
                };
                for candidate in yaml::candidates(text, &docs) {
                    for placed in shell::placed_commands(
                        self.index,
                        &candidate.text,
                        candidate.line,
                        &pending.cwd,
                    ) {
                        let mut child = Pending::new(
                            placed.command.text,
                            path,
                            placed.command.line,
                            pending.depth + 1,
                            &placed.cwd,
                        );
                        child.optional = true;
                        effects.follow.push(child);
                    }
                }
            }
            FileKind::Other => {}
        }
    }

    fn kind(&self, path: &str) -> FileKind {
        let name = paths::file_name(path);
        match name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
        {
            Some(ext) => match ext.as_str() {
                "sh" | "bash" | "zsh" | "ksh" => FileKind::Shell,
                "py" => FileKind::Python,
                "yml" | "yaml" => FileKind::Yaml,
                _ => FileKind::Other,
            },
            None => {
                // An extension-less executable: its shebang says what it is.
                let first = self
                    .index
                    .text(path)
                    .and_then(|t| t.lines().next())
                    .unwrap_or("");
                if !first.starts_with("#!") {
                    FileKind::Other
                } else if first.contains("python") {
                    FileKind::Python
                } else if first.contains("sh") {
                    FileKind::Shell
                } else {
                    FileKind::Other
                }
            }
        }
    }

    /// The text of a reached file, or a warning naming the command.
    pub(crate) fn readable(&mut self, pending: &Pending, path: &str) -> Option<&'a str> {
        let text = self.index.text(path);
        if text.is_none() {
            self.warnings.push(CiWarning {
                path: pending.file.clone(),
                line: Some(pending.line),
                message: format!("CI runs `{path}` here but mlscore could not read it (binary, too large or unreadable); what it runs is not followed"),
            });
        }
        text
    }

    /// Whether commands one level below `pending` are within the depth bound;
    /// warns once per place when they are not.
    pub(crate) fn may_go_deeper(&mut self, state: &mut JobState, pending: &Pending) -> bool {
        if pending.depth < MAX_DEPTH {
            return true;
        }
        if state
            .depth_warned
            .insert((pending.file.clone(), pending.line))
        {
            self.warnings.push(CiWarning {
                path: pending.file.clone(),
                line: Some(pending.line),
                message: format!("CI commands nest more than {MAX_DEPTH} levels deep here; mlscore stopped following them"),
            });
        }
        false
    }

    /// Covers the repository modules that `seeds` import, transitively, up to
    /// [`MAX_DEPTH`] hops: code that CI tests or runs is code CI runs.
    fn follow_imports(
        &mut self,
        state: &mut JobState,
        seeds: &[String],
        cwd: &str,
        reach: Covered,
    ) {
        // Read the seeds on every core first, unless the index holds every
        // Python file's text already; the walk below is sequential and would
        // otherwise wait on each read in turn (a test suite can be thousands
        // of files).
        let index = self.index;
        if !index.sources_preloaded() {
            seeds.par_iter().for_each(|seed| {
                let _ = index.text(seed);
            });
        }
        self.read_imports_ahead(seeds, cwd);
        // Imports walked for a test are walked again for a run: only a run
        // fills the table that decides what submits a pipeline.
        let key = if reach.run { "pyrun" } else { "py" };
        let visit = |f: &mut Follower<'_>,
                     state: &mut JobState,
                     queue: &mut VecDeque<(String, usize)>,
                     file: &str,
                     hops: usize| {
            // Spelled out: `format!` was a sixth of the cost of a visit
            // (40,000 visits of a 20,000-test suite).
            let mut visit = String::with_capacity(key.len() + 1 + file.len());
            visit.push_str(key);
            visit.push(':');
            visit.push_str(file);
            if !state.visited.insert(visit) {
                return;
            }
            f.cover_file(file, state.job, reach.rank, reach.scheduled);
            if reach.run {
                f.runs.add_file(file, state.job, reach.rank);
            }
            if hops < MAX_DEPTH {
                for imported in f.imports_of(file, cwd).iter() {
                    queue.push_back((imported.clone(), hops + 1));
                }
            }
        };
        // Breadth first: the seeds in order (read where they are, not copied
        // into the queue), then what they import.
        let mut queue = VecDeque::new();
        for seed in seeds {
            visit(self, state, &mut queue, seed, 0);
        }
        while let Some((file, hops)) = queue.pop_front() {
            visit(self, state, &mut queue, &file, hops);
        }
    }

    /// Reads the imports of many seeds on every core before the walk, which
    /// is sequential: a test suite of 20,000 files otherwise had one core
    /// parse them all. Within the same bound on reads as one at a time.
    fn read_imports_ahead(&mut self, seeds: &[String], cwd: &str) {
        /// Fewer seeds are read as the walk reaches them.
        const AHEAD: usize = 256;
        if seeds.len() < AHEAD {
            return;
        }
        let known = self.imports.get(cwd);
        let mut seen = HashSet::default();
        let todo: Vec<&str> = seeds
            .iter()
            .map(String::as_str)
            .filter(|s| !known.is_some_and(|m| m.contains_key(*s)) && seen.insert(*s))
            .take(MAX_IMPORT_READS.saturating_sub(self.import_reads))
            .collect();
        let index = self.index;
        let found: Vec<(String, Arc<[String]>)> = todo
            .par_iter()
            .with_min_len(64)
            .map(|file| (file.to_string(), read_imports(index, file, cwd)))
            .collect();
        self.import_reads += found.len();
        self.imports
            .entry(cwd.to_string())
            .or_default()
            .extend(found);
    }

    /// The repository files `file` imports, read once per working directory.
    fn imports_of(&mut self, file: &str, cwd: &str) -> Arc<[String]> {
        if let Some(found) = self.imports.get(cwd).and_then(|files| files.get(file)) {
            return found.clone();
        }
        if self.import_reads >= MAX_IMPORT_READS {
            return Arc::from([]);
        }
        self.import_reads += 1;
        let found = read_imports(self.index, file, cwd);
        let entry = (file.to_string(), found.clone());
        match self.imports.get_mut(cwd) {
            Some(files) => {
                files.insert(entry.0, entry.1);
            }
            None => {
                self.imports
                    .insert(cwd.to_string(), HashMap::from_iter([entry]));
            }
        }
        found
    }
}

/// The repository files `file` imports when run from `cwd`.
fn read_imports(index: &RepoIndex, file: &str, cwd: &str) -> Arc<[String]> {
    index
        .source_of(file)
        .map(|text| {
            python::imports(text)
                .iter()
                .flat_map(|import| python::resolve_import(index, file, cwd, import))
                .collect()
        })
        .unwrap_or_default()
}

/// How one command's files are covered.
#[derive(Clone, Copy)]
struct Covered {
    rank: Rank,
    /// Through a scheduled automatic job.
    scheduled: bool,
    /// Run rather than collected as tests.
    run: bool,
}

/// A repository path a word names.
pub(crate) enum Found {
    File(String),
    Dir(String),
}

#[derive(PartialEq, Eq)]
enum FileKind {
    Shell,
    Python,
    Yaml,
    Other,
}
