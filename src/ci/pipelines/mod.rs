//! ML pipelines and workflow orchestrators as automation: each reader finds
//! one framework's pipelines (a KFP `@dsl.pipeline`, an Airflow DAG, a
//! SageMaker `Pipeline(steps=…)`…) and hands them over as jobs whose commands
//! are the pipeline's steps. A pipeline with a schedule of its own is
//! automatic; one that CI submits becomes automatic when the follower finds
//! the submitting command ([`super::submit`]); the rest are manual.
//!
//! Python is never run: files are read as statements ([`pysrc`]).

pub(crate) mod airflow;
pub(crate) mod azureml;
pub(crate) mod dagster;
pub(crate) mod flyte;
pub(crate) mod kedro;
pub(crate) mod kubeflow;
pub(crate) mod metaflow;
pub(crate) mod prefect;
pub(crate) mod pysrc;
pub(crate) mod resolve;
pub(crate) mod sagemaker;
pub(crate) mod tfx;
pub(crate) mod zenml;

use rayon::prelude::*;

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending, Submitter};
use super::{paths, python, CiSystem, CiWarning};
use pysrc::{Def, Source};

/// Pipelines read per framework at most; a guard against generated code.
pub(crate) const MAX_PIPELINES: usize = 500;

/// A Python file a reader looks into, parsed once.
pub(crate) struct PyFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub source: Source,
    pub defs: Vec<Def>,
}

/// The words the pipeline readers look for in every `.py` file, found for
/// all of them in one pass (see [`RepoIndex::python_mentions`]); a word not
/// listed is searched on its own.
const FRAMEWORK_WORDS: &[&str] = &[
    "airflow",
    "azure",
    "dagster",
    "flytekit",
    "kedro",
    "kfp",
    "metaflow",
    "prefect",
    "sagemaker",
    "tfx",
    "zenml",
];

/// The Python files that mention `word` and for which `wanted(text)` holds,
/// parsed; each one that does not parse is a warning naming its line, and
/// what was read before that line is still used. Which files mention a word
/// of [`FRAMEWORK_WORDS`] is known from the index's one pass for all of them.
pub(crate) fn python_files<'a>(
    index: &'a RepoIndex,
    framework: &str,
    word: &str,
    wanted: impl Fn(&str) -> bool + Sync,
    warnings: &mut Vec<CiWarning>,
) -> Vec<PyFile<'a>> {
    let mentions = index.python_mentions(FRAMEWORK_WORDS);
    let bit = FRAMEWORK_WORDS.iter().position(|w| *w == word);
    let finder = memchr::memmem::Finder::new(word);
    let files: Vec<PyFile<'a>> = index
        .with_extension("py")
        .par_iter()
        .zip(mentions.par_iter())
        .filter_map(|(&at, &mask)| {
            let entry = index.entry_at(at);
            let mentioned = match bit {
                Some(bit) => mask & (1 << bit) != 0,
                None => index
                    .source(entry)
                    .is_some_and(|text| finder.find(text.as_bytes()).is_some()),
            };
            if !mentioned {
                return None;
            }
            let text = index.source(entry)?;
            if !wanted(text) {
                return None;
            }
            let source = pysrc::parse(text);
            let defs = pysrc::defs(&source);
            Some(PyFile {
                path: entry.path.as_str(),
                text,
                source,
                defs,
            })
        })
        .collect();
    for file in &files {
        if let Some(line) = file.source.unclosed {
            warnings.push(CiWarning {
                path: file.path.to_string(),
                line: Some(line),
                message: format!("this {framework} file does not parse: a bracket or string opened here never closes; what follows it is not read as pipeline steps"),
            });
        }
    }
    files
}

impl PyFile<'_> {
    /// The statements of a def's body.
    pub(crate) fn body(&self, def: &Def) -> &[pysrc::Stmt] {
        self.source.stmts.get(def.body.clone()).unwrap_or(&[])
    }

    /// A step that runs the files `callable` resolves to; `None` when it
    /// resolves to nothing in the repository (a library function).
    pub(crate) fn callable_step(
        &self,
        index: &RepoIndex,
        text: String,
        line: usize,
        callable: &str,
    ) -> Option<Pending> {
        let files = resolve::callable(index, self.path, &self.source, callable);
        (!files.is_empty()).then(|| Pending::step(text, self.path, line, files))
    }

    /// The step that loads the pipeline's own file: its imports (the
    /// components, tasks and nodes it wires) are followed from it.
    pub(crate) fn definition_step(&self, line: usize, what: &str) -> Pending {
        Pending::step(
            format!("{what} defined in {}", self.path),
            self.path,
            line,
            vec![self.path.to_string()],
        )
    }

    /// The job of pipeline `name`, defined in this file at `line` and named
    /// after the file and `name`; `noun` (`DAG`, `TFX pipeline`) says what
    /// it is in its first step's text. Every pipeline written in Python
    /// starts with its [`Self::definition_step`], so that what the file
    /// imports is followed even when no step names it.
    pub(crate) fn defined_pipeline(
        &self,
        system: CiSystem,
        line: usize,
        noun: &str,
        name: &str,
    ) -> JobSpec {
        let mut job = pipeline_job(
            system,
            format!("{} › {name}", paths::file_name(self.path)),
            self.path,
            line,
        );
        job.commands
            .push(self.definition_step(line, &format!("{noun} `{name}`")));
        job
    }

    /// Each `Pipeline(…)` call given `wiring` (`steps=`, `components=`), with
    /// its statement and that statement's index: the SDKs that build a
    /// pipeline object (SageMaker, Azure ML v1, TFX) all call a `Pipeline`,
    /// and the argument wiring its steps tells theirs from other classes of
    /// that name.
    pub(crate) fn pipeline_calls<'s>(
        &'s self,
        wiring: &'s str,
    ) -> impl Iterator<Item = (usize, &'s pysrc::Stmt, pysrc::Call<'s>)> + 's {
        self.source
            .stmts
            .iter()
            .enumerate()
            .flat_map(move |(i, stmt)| {
                pysrc::calls(&stmt.text, &["Pipeline"])
                    .into_iter()
                    .filter(move |call| call.kwarg(wiring).is_some())
                    .map(move |call| (i, stmt, call))
            })
    }

    /// The function a `Pipeline(…)` call at statement `at` is built in (the
    /// last def whose body holds it, so the innermost), and the statements
    /// its steps are looked for in: that body, or the whole module when the
    /// call is at top level.
    pub(crate) fn scope_of(&self, at: usize) -> (Option<&Def>, &[pysrc::Stmt]) {
        let enclosing = self.defs.iter().rev().find(|d| d.body.contains(&at));
        let stmts = enclosing.map_or(&self.source.stmts[..], |d| self.body(d));
        (enclosing, stmts)
    }
}

/// The name of a pipeline object built by a `Pipeline(…)` call: the one it
/// is `given`, else that of the function building it (see
/// [`PyFile::scope_of`]), else `pipeline`.
pub(crate) fn pipeline_name(given: Option<String>, enclosing: Option<&Def>) -> String {
    given
        .or_else(|| enclosing.map(|d| d.name.clone()))
        .unwrap_or_else(|| "pipeline".into())
}

/// A container's command line (a pod operator's `cmds`, a `ContainerOp`'s
/// `command`, a compiled spec's executor). The container's files may not be
/// the repository's, so the command is optional: recorded only if it
/// reaches something here.
pub(crate) fn optional_container_command(words: &[String], file: &str, line: usize) -> Pending {
    let mut pending = Pending::new(
        shlex::try_join(words.iter().map(String::as_str)).unwrap_or_default(),
        file,
        line,
        0,
        "",
    );
    pending.optional = true;
    pending
}

/// The steps of a pipeline function's body: each call of a function that
/// the file defines with one of `decorators` (`@task`, `@step`, `@op`), or
/// that it imports from another repository module.
fn called_steps(
    index: &RepoIndex,
    file: &PyFile<'_>,
    def: &Def,
    decorators: &[&str],
    kind: &str,
) -> Vec<Pending> {
    let local: Vec<&str> = file
        .defs
        .iter()
        .filter(|d| d.decorated(decorators).is_some())
        .map(|d| d.name.as_str())
        .collect();
    let mut out = Vec::new();
    for stmt in file.body(def) {
        for call in pysrc::calls(&stmt.text, &[]) {
            let text = format!("{}: {kind}", call.callee);
            if local.contains(&call.callee) {
                out.push(Pending::step(
                    text,
                    file.path,
                    stmt.line,
                    vec![file.path.to_string()],
                ));
                continue;
            }
            let files = resolve::callable(index, file.path, &file.source, call.callee);
            if !files.is_empty() && !files.iter().any(|f| f == file.path) {
                out.push(Pending::step(text, file.path, stmt.line, files));
            }
        }
    }
    out
}

/// The job of a pipeline written as a decorated function (a Dagster job, a
/// Prefect flow, a ZenML pipeline): named after its file and `name`, with the
/// step that loads its file and one step per call of a function decorated
/// `@{step}` or imported from the repository.
pub(crate) fn function_pipeline(
    index: &RepoIndex,
    file: &PyFile<'_>,
    def: &Def,
    system: CiSystem,
    name: &str,
    noun: &str,
    step: &str,
) -> JobSpec {
    let mut job = file.defined_pipeline(system, def.line, noun, name);
    job.commands
        .extend(called_steps(index, file, def, &[step], step));
    job
}

/// The functions decorated `@decorator` in `files`, file by file, at most
/// [`MAX_PIPELINES`] of them: the pipelines of a framework that marks them
/// so (a ZenML `@pipeline`, a Flyte `@workflow`).
pub(crate) fn decorated_functions<'f, 'a>(
    files: &'f [PyFile<'a>],
    decorator: &'f str,
) -> impl Iterator<Item = (&'f PyFile<'a>, &'f Def)> {
    files
        .iter()
        .flat_map(move |file| {
            file.defs
                .iter()
                .filter(move |d| !d.is_class && d.decorated(&[decorator]).is_some())
                .map(move |def| (file, def))
        })
        .take(MAX_PIPELINES)
}

/// A pipeline job before its steps are added.
pub(crate) fn pipeline_job(system: CiSystem, name: String, file: &str, line: usize) -> JobSpec {
    JobSpec {
        system,
        name,
        file: file.to_string(),
        line,
        schedules: Vec::new(),
        automatic: false,
        on_change: None,
        commands: Vec::new(),
        submitted_by: Vec::new(),
    }
}

/// Marks a job scheduled, and so automatic, by a schedule declared where the
/// orchestrator reads it (an Airflow DAG, a Dagster `ScheduleDefinition`).
/// A schedule that code creates when someone runs it is a
/// [`Submitter::creates`] instead.
pub(crate) fn schedule(job: &mut JobSpec, schedule: String) {
    if !job.schedules.contains(&schedule) {
        job.schedules.push(schedule);
    }
    job.automatic = true;
}

/// Whether a path is a test module: tests import pipelines without running them.
pub(crate) fn is_test_file(path: &str) -> bool {
    let name = paths::file_name(path);
    name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || path
            .split('/')
            .any(|part| part == "tests" || part == "test")
}

/// Whether `file` is `target` or imports it.
pub(crate) fn imports_file(index: &RepoIndex, file: &str, text: &str, target: &str) -> bool {
    file == target
        || python::imports(text).iter().any(|import| {
            python::resolve_import(index, file, "", import)
                .iter()
                .any(|f| f == target)
        })
}

/// The files that submit pipeline `name` defined in `def_file` through an
/// API call: non-test Python files holding one of `markers` (`.submit(`,
/// `create_run_from_pipeline_func(`) that are the defining file or import it.
pub(crate) fn api_submitters(
    index: &RepoIndex,
    def_file: &str,
    markers: &[&str],
) -> Vec<Submitter> {
    submitting_files(index, def_file, |text| {
        markers.iter().any(|m| text.contains(m))
    })
}

/// The files that run pipeline function `name` by calling it: non-test
/// Python files that call `name(` (not only define it) and are the defining
/// file or import it. `python run.py` in CI then runs the pipeline.
pub(crate) fn callers(index: &RepoIndex, def_file: &str, name: &str) -> Vec<Submitter> {
    let call = format!("{name}(");
    let def = format!("def {name}(");
    submitting_files(index, def_file, |text| {
        text.matches(call.as_str()).count() > text.matches(def.as_str()).count()
    })
}

fn submitting_files(
    index: &RepoIndex,
    def_file: &str,
    submits: impl Fn(&str) -> bool + Sync,
) -> Vec<Submitter> {
    let mut found: Vec<&str> = index
        .with_extension("py")
        .par_iter()
        .map(|&at| index.entry_at(at))
        .filter(|e| !is_test_file(&e.path))
        .filter_map(|e| {
            let text = index.entry_text(e)?;
            (submits(text) && imports_file(index, &e.path, text, def_file))
                .then_some(e.path.as_str())
        })
        .collect();
    found.sort_unstable();
    found.into_iter().map(Submitter::file).collect()
}

/// A schedule argument as written (`"@daily"`, `None`, `timedelta(hours=1)`,
/// a module constant), read into a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScheduleArg {
    /// Explicitly none: run by hand or by a trigger.
    Manual,
    /// A cron string, preset or interval, as shown in reports.
    Every(String),
    /// Not a literal mlscore can read.
    Unknown(String),
}

/// Reads a schedule expression; `constants` resolves a bare name.
pub(crate) fn schedule_arg(expr: &str, source: &Source) -> ScheduleArg {
    let expr = expr.trim();
    let expr = match expr {
        _ if expr.chars().all(|c| c.is_alphanumeric() || c == '_') && expr != "None" => {
            pysrc::constant(source, expr).unwrap_or(expr)
        }
        _ => expr,
    };
    if expr == "None" || expr == "\"None\"" || expr == "'None'" {
        return ScheduleArg::Manual;
    }
    if let Some(text) = pysrc::string(expr) {
        return match text.trim() {
            "" | "None" | "@once" => ScheduleArg::Manual,
            other => ScheduleArg::Every(other.to_string()),
        };
    }
    let interval = [
        "timedelta(",
        "datetime.timedelta(",
        "CronTriggerTimetable(",
        "CronDataIntervalTimetable(",
        "relativedelta(",
        "CronSchedule(",
        "IntervalSchedule(",
    ];
    if interval.iter().any(|p| expr.starts_with(p)) {
        return ScheduleArg::Every(expr.chars().take(120).collect());
    }
    ScheduleArg::Unknown(expr.chars().take(120).collect())
}

/// A warning about a construct mlscore does not read; never guessed into points.
pub(crate) fn skipped(path: &str, line: usize, message: String) -> CiWarning {
    CiWarning {
        path: path.to_string(),
        line: Some(line),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For every framework word, and for a word outside the shared list,
    /// the files read are exactly those whose text holds the word (and that
    /// the reader wants): words side by side, overlapping, at the ends of a
    /// file, in a file of another extension, and in none.
    #[test]
    fn files_read_are_those_that_mention_the_word() {
        let files = [
            ("a.py", "import kfp\nfrom tfx import x\n"),
            ("b.py", "airflowprefect = 1\n"),
            ("c.py", "# azureml and metaflowzenml\n"),
            ("d.py", "kedrodagster"),
            ("e.py", "sagemaker flytekit"),
            ("f.py", "nothing here"),
            ("g.txt", "kfp tfx airflow"),
            ("h.py", "kubernetes kf p"),
        ];
        let index = RepoIndex::from_memory(files);
        for word in FRAMEWORK_WORDS.iter().chain(&["kubernetes", "absent"]) {
            let mut warnings = Vec::new();
            let mut got: Vec<&str> = python_files(&index, "test", word, |_| true, &mut warnings)
                .iter()
                .map(|f| f.path)
                .collect();
            got.sort();
            let expected: Vec<&str> = files
                .iter()
                .filter(|(path, text)| path.ends_with(".py") && text.contains(word))
                .map(|(path, _)| *path)
                .collect();
            assert_eq!(got, expected, "{word}");
        }
        // `wanted` still narrows them.
        let narrowed = python_files(
            &index,
            "test",
            "kfp",
            |t| t.contains("tfx"),
            &mut Vec::new(),
        );
        assert_eq!(narrowed.len(), 1);
        assert!(FRAMEWORK_WORDS.iter().all(|w| {
            let mut warnings = Vec::new();
            !python_files(&index, "test", w, |_| true, &mut warnings).is_empty()
        }));
    }

    #[test]
    fn schedule_arguments() {
        let source = pysrc::parse("NIGHTLY = '0 3 * * *'\n");
        assert_eq!(
            schedule_arg("'@daily'", &source),
            ScheduleArg::Every("@daily".into())
        );
        assert_eq!(schedule_arg("None", &source), ScheduleArg::Manual);
        assert_eq!(schedule_arg("'@once'", &source), ScheduleArg::Manual);
        assert_eq!(
            schedule_arg("NIGHTLY", &source),
            ScheduleArg::Every("0 3 * * *".into())
        );
        assert_eq!(
            schedule_arg("timedelta(hours=6)", &source),
            ScheduleArg::Every("timedelta(hours=6)".into())
        );
        assert_eq!(
            schedule_arg("config.SCHEDULE", &source),
            ScheduleArg::Unknown("config.SCHEDULE".into())
        );
    }

    #[test]
    fn submitters_import_the_definition() {
        let index = RepoIndex::from_memory([
            ("pipelines/training.py", "@pipeline\ndef training():\n    pass\n"),
            ("run.py", "from pipelines.training import training\n\ntraining()\n"),
            ("other.py", "def training():\n    pass\ntraining()\n"),
            ("tests/test_training.py", "from pipelines.training import training\ntraining()\n"),
            ("submit.py", "import pipelines.training as t\nclient.create_run_from_pipeline_func(t.training)\n"),
        ]);
        assert_eq!(
            callers(&index, "pipelines/training.py", "training"),
            [Submitter::file("run.py")]
        );
        assert_eq!(
            api_submitters(
                &index,
                "pipelines/training.py",
                &["create_run_from_pipeline_func("]
            ),
            [Submitter::file("submit.py")]
        );
    }
}
