//! Following a CI command that runs tasks: find the runner's file from the
//! command's folder up, read it, plan the tasks asked for and hand their
//! commands to the follower one level deeper, each in its task's folder.

use super::super::follow::{Effects, Follower, JobState};
use super::super::job::Pending;
use super::super::{paths, programs, python, CiWarning};
use super::invoke::{self, InvokeArgs};
use super::just::{self, JustArgs};
use super::mise::{self, MiseArgs};
use super::pyproject::{self, Runner};
use super::taskfile::{self, TaskArgs};
use super::{Plan, TaskError, TaskFile};

use std::sync::Arc;

/// Commands task runners may hand over in one job. Each call of a task is
/// planned afresh (its arguments fill the commands), so without a bound a
/// job calling one large task thousands of ways would cost the product of
/// the two.
const MAX_TASK_COMMANDS_PER_JOB: usize = 20_000;

/// Task files read so far in this build, each once: a job may call one
/// file's tasks many times, and reading a large file each time cost its
/// size per call.
#[derive(Default)]
pub(crate) struct TaskFiles {
    justfiles: Kept<just::Justfile>,
    /// By file and what else the reading depends on (a runner, an
    /// environment, a Taskfile's `--` arguments).
    tasks: Kept<TaskFile>,
    /// The tasks mise sees from a folder: every configuration from it up to
    /// the root, merged.
    mise: foldhash::HashMap<String, Arc<MiseTasks>>,
}

/// Files read into `T`, by path and variant.
type Kept<T> = foldhash::HashMap<(String, String), Arc<Result<T, TaskError>>>;

/// What a task file is read into, and where [`TaskFiles`] keeps it.
trait ReadInto: Sized {
    fn kept(files: &mut TaskFiles) -> &mut Kept<Self>;
}

impl ReadInto for TaskFile {
    fn kept(files: &mut TaskFiles) -> &mut Kept<Self> {
        &mut files.tasks
    }
}

impl ReadInto for just::Justfile {
    fn kept(files: &mut TaskFiles) -> &mut Kept<Self> {
        &mut files.justfiles
    }
}

/// The file at `path`, read by `read` the first time; a file that does not
/// parse is warned about that first time only. `None` when it cannot be read.
fn cached<T: ReadInto>(
    f: &mut Follower<'_>,
    path: &str,
    variant: String,
    what: &str,
    read: impl FnOnce(&str) -> Result<T, TaskError>,
) -> Option<Arc<Result<T, TaskError>>> {
    let key = (path.to_string(), variant);
    if let Some(found) = T::kept(&mut f.task_files).get(&key) {
        return Some(found.clone());
    }
    let text = f.index.text(path)?;
    let parsed = Arc::new(read(text));
    if let Err(err) = &*parsed {
        parse_warning(f, path, what, err.clone());
    }
    T::kept(&mut f.task_files).insert(key, parsed.clone());
    Some(parsed)
}

/// The innermost of `dir` and its ancestors holding one of `names`.
fn find_up(f: &Follower<'_>, dir: &str, names: &[&str]) -> Option<String> {
    paths::ancestors(dir).find_map(|folder| programs::first_file(f, folder, names))
}

/// A task file given on the command line (`-f x`), or found from the
/// command's folder (`-d`/`-C` moves that folder first).
fn locate(
    f: &Follower<'_>,
    pending: &Pending,
    given: Option<&str>,
    dir: Option<&str>,
    names: &[&str],
) -> Option<String> {
    let start = match dir {
        Some(dir) => paths::join(&pending.cwd, dir)?,
        None => pending.cwd.clone(),
    };
    match given {
        Some(file) => paths::join(&start, file).filter(|p| f.index.is_file(p)),
        None => find_up(f, &start, names),
    }
}

fn parse_warning(f: &mut Follower<'_>, file: &str, runner: &str, err: TaskError) {
    f.warnings.push(CiWarning {
        path: file.to_string(),
        line: err.line,
        message: format!(
            "could not read this {runner} file ({}); the tasks CI runs from it are not followed",
            err.message
        ),
    });
}

/// Hands a plan's commands to the follower: each runs in its task's folder
/// (relative to `base`), and a Python callable covers its module.
#[allow(clippy::too_many_arguments)]
fn push_plan(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    runner: &str,
    file: &str,
    base: &str,
    plan: Plan,
    effects: &mut Effects,
) {
    if state.task_commands >= MAX_TASK_COMMANDS_PER_JOB {
        return;
    }
    state.task_commands += plan.commands.len();
    if state.task_commands >= MAX_TASK_COMMANDS_PER_JOB {
        programs::warn(
            f,
            pending,
            format!("this job's tasks run more than {MAX_TASK_COMMANDS_PER_JOB} commands; mlscore stopped following its tasks here"),
        );
        return;
    }
    for name in &plan.missing {
        programs::warn(
            f,
            pending,
            format!("{runner} task `{name}` is not defined in {file}; add it or fix the command"),
        );
    }
    for command in plan.commands {
        let cwd = match command.dir.as_deref() {
            Some(paths::UNKNOWN_DIR) => paths::UNKNOWN_DIR.to_string(),
            Some(dir) => paths::join(base, dir).unwrap_or_else(|| paths::UNKNOWN_DIR.to_string()),
            None => base.to_string(),
        };
        let source = command.source.as_deref().unwrap_or(file);
        programs::push_commands(
            f,
            pending,
            &command.text,
            source,
            command.line,
            &cwd,
            effects,
        );
    }
    let bases = [
        base.to_string(),
        paths::join(base, "src").unwrap_or_default(),
    ];
    for (target, _) in plan.calls {
        let module = target.split(':').next().unwrap_or("").trim();
        for found in python::module_files(f.index, module, &bases, false) {
            effects.python.push(found.clone());
            effects.files.push(found);
        }
    }
}

/// Whether a call is followed: once per job and file and arguments (the
/// cycle guard), within the depth bound.
fn may_follow(f: &mut Follower<'_>, state: &mut JobState, pending: &Pending, key: String) -> bool {
    state.visited.insert(key) && f.may_go_deeper(state, pending)
}

/// `just [options] [recipe [args]…]`.
pub(crate) fn just(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = JustArgs::parse(args);
    if !args.runs {
        return;
    }
    let names = ["justfile", "Justfile", "JUSTFILE", ".justfile", ".Justfile"];
    let Some(file) = locate(
        f,
        pending,
        args.justfile.as_deref(),
        args.working_directory.as_deref(),
        &names,
    ) else {
        programs::warn(
            f,
            pending,
            "`just` runs here but no justfile is in this folder or above it; what it runs is not followed".into(),
        );
        return;
    };
    // Recipes run in the justfile's folder, or the one `-d` names.
    let base = match &args.working_directory {
        Some(dir) => paths::join(&pending.cwd, dir).unwrap_or_else(|| paths::UNKNOWN_DIR.into()),
        None => paths::parent(&file).to_string(),
    };
    let call = FileCall {
        runner: "just",
        what: "justfile",
        file,
        variant: String::new(),
        words: args.words.join(" "),
        base,
    };
    let plan = |justfile: &just::Justfile| just::plan_parsed(justfile, &args.words, args.no_deps);
    follow_file(f, state, pending, call, just::read, plan, effects);
}

/// One call of a task file's tasks, once the file is found.
struct FileCall {
    /// The runner's name in warnings (`Taskfile`, `invoke`).
    runner: &'static str,
    /// What the file is called in a parse warning.
    what: &'static str,
    file: String,
    /// What reading the file depends on besides its text (a Taskfile's
    /// `--` arguments).
    variant: String,
    /// The command's words, for the cycle guard.
    words: String,
    /// The folder the tasks' commands run in (their `dir` is relative to it).
    base: String,
}

/// Reads `call.file` (once per build), plans the call and hands its
/// commands on.
fn follow_file<T: ReadInto>(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    call: FileCall,
    read: impl FnOnce(&str) -> Result<T, TaskError>,
    plan: impl FnOnce(&T) -> Plan,
    effects: &mut Effects,
) {
    effects.files.push(call.file.clone());
    let key = format!("{}:{}:{}", call.runner, call.file, call.words);
    if !may_follow(f, state, pending, key) {
        return;
    }
    let Some(parsed) = cached(f, &call.file, call.variant, call.what, read) else {
        let _ = f.readable(pending, &call.file);
        return;
    };
    if let Ok(read) = &*parsed {
        let plan = plan(read);
        push_plan(
            f,
            state,
            pending,
            call.runner,
            &call.file,
            &call.base,
            plan,
            effects,
        );
    }
}

/// `task [options] [name…] [-- args]` (go-task).
pub(crate) fn task(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = TaskArgs::parse(args);
    if !args.runs {
        return;
    }
    // `task` is also Taskwarrior's name: without a Taskfile there is
    // nothing to say.
    let Some(file) = locate(
        f,
        pending,
        args.taskfile.as_deref(),
        args.dir.as_deref(),
        taskfile::FILE_NAMES,
    ) else {
        return;
    };
    let cli_args = args.cli_args.join(" ");
    let call = FileCall {
        runner: "Taskfile",
        what: "Taskfile",
        base: paths::parent(&file).to_string(),
        file,
        variant: cli_args.clone(),
        words: format!("{}:{cli_args}", args.tasks.join(" ")),
    };
    let read = |text: &str| taskfile::parse(text, &args.cli_args);
    let plan = |tasks: &TaskFile| tasks.plan(&args.tasks);
    follow_file(f, state, pending, call, read, plan, effects);
}

/// `invoke [options] task [--flags] [task …]`: the tasks of `tasks.py` (or
/// the module `-c` names), found from the command's folder (or `-r`) up;
/// their commands run in the folder invoke runs in.
pub(crate) fn invoke(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = InvokeArgs::parse(args);
    if !args.runs {
        return;
    }
    let module = format!("{}.py", args.collection.as_deref().unwrap_or("tasks"));
    let Some(file) = locate(f, pending, None, args.root.as_deref(), &[module.as_str()]) else {
        programs::warn(
            f,
            pending,
            format!("`invoke` runs here but no {module} is in this folder or above it; what it runs is not followed"),
        );
        return;
    };
    let call = FileCall {
        runner: "invoke",
        what: "invoke tasks",
        file,
        variant: String::new(),
        words: args.words.join(" "),
        base: pending.cwd.clone(),
    };
    let plan = |tasks: &TaskFile| tasks.plan(&invoke::task_names(tasks, &args.words));
    follow_file(f, state, pending, call, invoke::parse, plan, effects);
}

/// `mise run task…` and `mise <task>`. False when the command runs no task
/// of the repository (another mise command, or a bare word no task has).
pub(crate) fn mise(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) -> bool {
    let args = MiseArgs::parse(args);
    if !args.runs {
        return false;
    }
    let start = match &args.dir {
        Some(dir) => match paths::join(&pending.cwd, dir) {
            Some(start) => start,
            None => return false,
        },
        None => pending.cwd.clone(),
    };
    let seen = match f.task_files.mise.get(&start) {
        Some(seen) => seen.clone(),
        None => {
            let seen = Arc::new(mise_tasks(f, &start));
            f.task_files.mise.insert(start.clone(), seen.clone());
            seen
        }
    };
    let MiseTasks {
        tasks,
        read,
        broken,
    } = &*seen;
    let wanted: Vec<String> = args.tasks.iter().map(|(name, _)| name.clone()).collect();
    if args.bare && wanted.iter().any(|name| tasks.task(name).is_none()) {
        return false;
    }
    if *broken && tasks.tasks.is_empty() {
        // The file that does not parse has its warning already.
        return true;
    }
    let Some(first) = read
        .first()
        .cloned()
        .or_else(|| tasks.tasks.first().and_then(|t| t.source.clone()))
    else {
        programs::warn(
            f,
            pending,
            "`mise run` runs here but no mise.toml or mise task file is in this folder or above it; what it runs is not followed".into(),
        );
        return true;
    };
    effects.files.extend(read.iter().cloned());
    if !may_follow(
        f,
        state,
        pending,
        format!("mise:{start}:{}", wanted.join(" ")),
    ) {
        return true;
    }
    let plan = if wanted.is_empty() && tasks.default.is_none() {
        // `mise run` alone asks which task to run: nothing runs in CI.
        Plan::default()
    } else {
        tasks.plan(&wanted)
    };
    push_plan(f, state, pending, "mise", &first, "", plan, effects);
    true
}

/// The tasks mise sees from a folder.
pub(crate) struct MiseTasks {
    tasks: TaskFile,
    /// The configuration files read, innermost first.
    read: Vec<String>,
    /// Whether one of them does not parse.
    broken: bool,
}

/// Every folder from `start` up to the root adds its configurations' and
/// file tasks; the innermost wins a name.
fn mise_tasks(f: &mut Follower<'_>, start: &str) -> MiseTasks {
    let mut files = Vec::new();
    let mut read = Vec::new();
    let mut broken = false;
    let folders: Vec<String> = paths::ancestors(start).map(str::to_string).collect();
    for folder in &folders {
        for name in mise::CONFIG_FILES {
            let Some(path) = paths::join(folder, name).filter(|p| f.index.is_file(p)) else {
                continue;
            };
            let Some(parsed) = cached(f, &path, String::new(), "mise configuration", |text| {
                mise::parse(text).map(|mut tasks| {
                    place(&mut tasks, folder, &path);
                    tasks
                })
            }) else {
                continue;
            };
            match &*parsed {
                Ok(tasks) => {
                    files.push(tasks.clone());
                    read.push(path);
                }
                Err(_) => broken = true,
            }
        }
        files.push(file_tasks(f, folder));
    }
    MiseTasks {
        tasks: mise::merge(files),
        read,
        broken,
    }
}

/// Makes a configuration's task folders repository-relative and records
/// where each task is written.
fn place(tasks: &mut TaskFile, folder: &str, path: &str) {
    for task in &mut tasks.tasks {
        task.dir = Some(match task.dir.as_deref() {
            Some(paths::UNKNOWN_DIR) => paths::UNKNOWN_DIR.to_string(),
            Some(dir) => paths::join(folder, dir).unwrap_or_else(|| paths::UNKNOWN_DIR.into()),
            None => folder.to_string(),
        });
        task.source = Some(path.to_string());
    }
}

/// The file tasks of a folder: each file under mise's task folders runs as a
/// program from the folder.
fn file_tasks(f: &Follower<'_>, folder: &str) -> TaskFile {
    // Of two files naming one task the first is kept, by `TaskFile::new`.
    let mut out = Vec::new();
    for dir in mise::TASK_DIRS {
        let Some(tasks_dir) = paths::join(folder, dir) else {
            continue;
        };
        for entry in paths::files_under(f.index, &tasks_dir) {
            let Some(relative) = entry.path.strip_prefix(&format!("{tasks_dir}/")) else {
                continue;
            };
            let name = mise::file_task_name(relative);
            out.push(super::Task {
                name,
                steps: vec![super::Step::Command {
                    text: format!(
                        "./{}",
                        entry
                            .path
                            .strip_prefix(&format!("{folder}/"))
                            .unwrap_or(&entry.path)
                    ),
                    line: 1,
                }],
                dir: Some(folder.to_string()),
                line: 1,
                source: Some(entry.path.clone()),
                ..super::Task::default()
            });
        }
    }
    TaskFile::new(out, None)
}

/// What a project file said of a task a command names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProjectTask {
    /// The task is defined: its commands were handed on.
    Followed,
    /// No project file up from the command's folder defines it: the
    /// command is the program it names.
    NotDefined,
    /// The project file that would define it does not parse (warned about
    /// at its line): the command is the program it names.
    Unreadable,
}

/// A task of a Python project file (`poe x`, `hatch run [env:]x`, `pdm run
/// x`, `pixi run x`, `rye run x`, a console script).
#[allow(clippy::too_many_arguments)]
pub(crate) fn project_task(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    runner: Runner,
    dir: Option<&str>,
    name: &str,
    args: &[String],
    effects: &mut Effects,
) -> ProjectTask {
    let (env, name) = match (runner, name.split_once(':')) {
        (Runner::Hatch, Some((env, script))) if !env.is_empty() => (Some(env), script),
        _ => (None, name),
    };
    let start = match dir {
        Some(dir) => match paths::join(&pending.cwd, dir) {
            Some(start) => start,
            None => return ProjectTask::NotDefined,
        },
        None => pending.cwd.clone(),
    };
    // The innermost project file with this runner's tasks. Each file is read
    // once per build: this runs for every command whose program mlscore
    // does not know, to find console scripts.
    let variant = format!("{}:{}", runner.name(), env.unwrap_or(""));
    let mut found = None;
    'folders: for folder in paths::ancestors(&start) {
        for file_name in runner.files() {
            let Some(path) = paths::join(folder, file_name).filter(|p| f.index.is_file(p)) else {
                continue;
            };
            // One message whichever runner reads it: a file that does not
            // parse is warned about once.
            let what = "Python project";
            let Some(parsed) = cached(f, &path, variant.clone(), what, |text| {
                if pyproject::mentions(runner, file_name, text) {
                    pyproject::parse(runner, file_name, text, env)
                } else {
                    Ok(TaskFile::default())
                }
            }) else {
                continue;
            };
            if parsed
                .as_ref()
                .as_ref()
                .map_or(true, |t| !t.tasks.is_empty())
            {
                found = Some((path, parsed));
                break 'folders;
            }
        }
    }
    let Some((file, parsed)) = found else {
        return ProjectTask::NotDefined;
    };
    let Ok(tasks) = &*parsed else {
        return ProjectTask::Unreadable;
    };
    if tasks.task(name).is_none() {
        return ProjectTask::NotDefined;
    }
    effects.files.push(file.clone());
    let key = format!("{}:{file}:{name}:{}", runner.name(), args.join(" "));
    if !may_follow(f, state, pending, key) {
        return ProjectTask::Followed;
    }
    let mut plan = tasks.plan(&[name.to_string()]);
    // The words after the task's name are its own arguments; a
    // dependency's placeholders take their defaults.
    for command in &mut plan.commands {
        let given = if is_own(tasks, name, command.line) {
            args
        } else {
            &[]
        };
        command.text = super::fill_args(&command.text, given);
    }
    let base = paths::parent(&file).to_string();
    push_plan(
        f,
        state,
        pending,
        runner.name(),
        &file,
        &base,
        plan,
        effects,
    );
    ProjectTask::Followed
}

/// Whether the command written at `line` belongs to the task `name` itself
/// (its arguments go there, not to its dependencies').
fn is_own(tasks: &TaskFile, name: &str, line: usize) -> bool {
    tasks.task(name).is_some_and(|task| {
        task.steps
            .iter()
            .any(|step| matches!(step, super::Step::Command { line: l, .. } if *l == line))
    })
}
