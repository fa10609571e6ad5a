//! The programs mlscore follows by meaning rather than by the files they
//! name: `make`, `tox`, `nox`, `pre-commit`, `dvc`, `pytest`,
//! `python -m unittest`, Great Expectations, and the task runners of
//! [`super::tasks`] (`just`, `task`, `mise`, `poe`, `invoke`, `hatch`, `pdm`, `pixi`,
//! `rye`).

use std::collections::BTreeMap;

use super::dvc::{self, DvcArgs};
use super::follow::{Effects, Follower, JobState};
use super::ini::Ini;
use super::invocation::Invocation;
use super::job::Pending;
use super::makefile::{MakeArgs, Makefile};
use super::nox::{self, NoxArgs};
use super::precommit::{self, PreCommitArgs};
use super::pytest::{self, TestPlan};
use super::tasks::{self, pyproject::Runner, run::ProjectTask};
use super::tox::{self, ToxArgs, ToxCommand};
use super::{lines, paths, shell, CiWarning};

/// How much of a command a handler took care of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// Not a program with a handler: cover and follow the files it names.
    No,
    /// A handler followed it; still cover the files it names, without
    /// reading them again.
    Partly,
    /// A handler decided everything it covers (pytest options name paths
    /// that are not tests, such as `--ignore`).
    Fully,
}

/// Follows `invocation` if mlscore knows its program.
pub(crate) fn follow(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    invocation: &Invocation,
    effects: &mut Effects,
) -> Handled {
    if let Some(runner) = invocation.via.and_then(Runner::of_wrapper) {
        // `hatch run test`: a script of the project, or else the program.
        let task = tasks::run::project_task(
            f,
            state,
            pending,
            runner,
            None,
            &invocation.program_token,
            &invocation.args,
            effects,
        );
        if task == ProjectTask::Followed {
            return Handled::Partly;
        }
    }
    match invocation.program.as_str() {
        "pytest" | "py.test" => {
            let plan = pytest::pytest_plan(
                f.index,
                &mut f.pytest_configs,
                &pending.cwd,
                &invocation.args,
            );
            cover_tests(f, &plan, true, effects);
            Handled::Fully
        }
        "unittest" => {
            let plan = pytest::unittest_plan(f.index, &pending.cwd, &invocation.args);
            cover_tests(f, &plan, false, effects);
            Handled::Fully
        }
        "make" | "gmake" => {
            make(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "tox" => {
            tox(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "nox" => {
            nox(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "pre-commit" | "prek" => {
            pre_commit(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "dvc" => {
            dvc(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "just" => {
            tasks::run::just(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "invoke" | "inv" => {
            tasks::run::invoke(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "task" | "go-task" => {
            tasks::run::task(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "mise" if tasks::run::mise(f, state, pending, &invocation.args, effects) => Handled::Partly,
        "poe" => {
            poe(f, state, pending, &invocation.args, effects);
            Handled::Partly
        }
        "poetry" if invocation.args.first().is_some_and(|a| a == "poe") => {
            poe(f, state, pending, &invocation.args[1..], effects);
            Handled::Partly
        }
        "hatch" if invocation.args.first().is_some_and(|a| a == "test") => {
            let args = hatch_test_args(&invocation.args[1..]);
            let plan = pytest::pytest_plan(f.index, &mut f.pytest_configs, &pending.cwd, &args);
            cover_tests(f, &plan, true, effects);
            Handled::Fully
        }
        "pdm" => match invocation.args.split_first() {
            Some((name, args))
                if !PDM_COMMANDS.contains(&name.as_str())
                    && tasks::run::project_task(
                        f,
                        state,
                        pending,
                        Runner::Pdm,
                        None,
                        name,
                        args,
                        effects,
                    ) == ProjectTask::Followed =>
            {
                Handled::Partly
            }
            _ => Handled::No,
        },
        "great_expectations" | "gx" => {
            great_expectations(f, pending, &invocation.args, effects);
            Handled::Partly
        }
        // A console script the repository's package installs runs its module.
        _ if !invocation.program_token.contains(['/', '\\', '.'])
            && tasks::run::project_task(
                f,
                state,
                pending,
                Runner::Scripts,
                None,
                &invocation.program_token,
                &invocation.args,
                effects,
            ) == ProjectTask::Followed =>
        {
            Handled::Partly
        }
        _ => Handled::No,
    }
}

/// Covers what a test runner collects; test modules' imports are followed.
fn cover_tests(f: &Follower<'_>, plan: &TestPlan, conftests: bool, effects: &mut Effects) {
    effects.collects_tests = true;
    let mut roots: Vec<&str> = Vec::new();
    for file in &plan.files {
        effects.files.push(file.clone());
        effects.python.push(file.clone());
        roots.push(paths::parent(file));
    }
    for dir in &plan.dirs {
        effects.dirs.push(dir.clone());
        effects
            .python
            .extend(pytest::test_files(f.index, dir, &plan.patterns).map(str::to_string));
        roots.push(dir);
    }
    for dir in &plan.collect {
        for file in pytest::test_files(f.index, dir, &plan.patterns) {
            effects.files.push(file.to_string());
            effects.python.push(file.to_string());
        }
        roots.push(dir);
    }
    if conftests {
        // pytest loads every conftest.py from the rootdir down to a test path.
        let mut seen = Vec::new();
        for root in roots {
            for dir in paths::ancestors(root) {
                let conftest = if dir.is_empty() {
                    "conftest.py".to_string()
                } else {
                    format!("{dir}/conftest.py")
                };
                if f.index.is_file(&conftest) && !seen.contains(&conftest) {
                    seen.push(conftest);
                }
            }
        }
        effects.python.extend(seen.iter().cloned());
        effects.files.extend(seen);
    }
    if let Some(config) = &plan.config {
        effects.files.push(config.clone());
    }
}

pub(crate) fn warn(f: &mut Follower<'_>, pending: &Pending, message: String) {
    f.warnings.push(CiWarning {
        path: pending.file.clone(),
        line: Some(pending.line),
        message,
    });
}

/// Adds commands written at `line` of `file`, run in `cwd`, one level below `pending`.
pub(crate) fn push_commands(
    f: &Follower<'_>,
    pending: &Pending,
    text: &str,
    file: &str,
    line: usize,
    cwd: &str,
    effects: &mut Effects,
) {
    for placed in shell::placed_commands(f.index, text, line, cwd) {
        effects.follow.push(Pending::new(
            placed.command.text,
            file,
            placed.command.line,
            pending.depth + 1,
            &placed.cwd,
        ));
    }
}

/// The first of `names` present in `dir`.
pub(crate) fn first_file(f: &Follower<'_>, dir: &str, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| paths::join(dir, name))
        .find(|path| f.index.is_file(path))
}

/// `make [-C dir] [-f file] [target…]`: the recipes of the goals and their
/// prerequisites.
fn make(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = MakeArgs::parse(args);
    if args.dry_run {
        return;
    }
    let Some(dir) = paths::join(&pending.cwd, args.dir.as_deref().unwrap_or(".")) else {
        return;
    };
    let makefile = match &args.file {
        Some(file) => paths::join(&dir, file).filter(|p| f.index.is_file(p)),
        None => first_file(f, &dir, &["GNUmakefile", "makefile", "Makefile"]),
    };
    let Some(makefile) = makefile else {
        let shown = if dir.is_empty() {
            "the repository root"
        } else {
            dir.as_str()
        };
        warn(
            f,
            pending,
            format!(
                "`make` runs in {shown} but no Makefile is there; what it runs is not followed"
            ),
        );
        return;
    };
    effects.files.push(makefile.clone());
    let key = (makefile.clone(), dir.clone());
    let parsed = match f.makefiles.get(&key) {
        Some(parsed) => parsed.clone(),
        None => {
            let Some(text) = f.readable(pending, &makefile) else {
                return;
            };
            let mut mk = Makefile::parse(text, &makefile);
            let mut included = Vec::new();
            include_makefiles(f, &mut mk, &dir, &mut included, 0);
            let parsed = std::sync::Arc::new((mk, included));
            f.makefiles.insert(key, parsed.clone());
            parsed
        }
    };
    let (mk, included) = &*parsed;
    effects.files.extend(included.iter().cloned());
    let goals = if args.targets.is_empty() {
        mk.default_goal().into_iter().collect()
    } else {
        args.targets.clone()
    };
    if !state
        .visited
        .insert(format!("make:{makefile}:{}", goals.join(" ")))
        || !f.may_go_deeper(state, pending)
    {
        return;
    }
    let (recipe, missing) = mk.plan(&goals, &args.vars);
    for target in missing {
        // A goal that is a file of the repository is simply up to date.
        if paths::join(&dir, &target).is_some_and(|p| f.index.is_file(&p)) {
            continue;
        }
        warn(f, pending, format!("Makefile target `{target}` is not defined in {makefile}; add it or fix the command"));
    }
    for line in recipe {
        push_commands(f, pending, &line.text, &line.file, line.line, &dir, effects);
    }
}

/// Merges `include`d Makefiles (relative to the directory make runs in).
fn include_makefiles(
    f: &Follower<'_>,
    mk: &mut Makefile,
    dir: &str,
    included: &mut Vec<String>,
    depth: usize,
) {
    if depth > 3 {
        return;
    }
    let includes = std::mem::take(&mut mk.includes);
    for include in includes {
        let expanded = mk.expand_text(&include);
        for name in expanded.split_whitespace() {
            let Some(path) = paths::join(dir, name).filter(|p| f.index.is_file(p)) else {
                continue;
            };
            // Each file once: `include a.mk a.mk …` must not parse it again.
            if included.contains(&path) {
                continue;
            }
            let Some(text) = f.index.text(&path) else {
                continue;
            };
            let mut inner = Makefile::parse(text, &path);
            include_makefiles(f, &mut inner, dir, included, depth + 1);
            mk.merge(inner);
            included.push(path);
        }
    }
}

/// `tox [-e envs] [-- posargs]`: the commands of the environments.
fn tox(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = ToxArgs::parse(args);
    let config = match &args.config {
        Some(given) => paths::join(&pending.cwd, given).and_then(|p| {
            if f.index.is_dir(&p) {
                first_file(f, &p, &["tox.ini", "tox.toml", "pyproject.toml"])
            } else {
                Some(p)
            }
        }),
        None => first_file(f, &pending.cwd, &["tox.ini", "tox.toml"]).or_else(|| {
            let pyproject = paths::join(&pending.cwd, "pyproject.toml")?;
            f.index
                .text(&pyproject)
                .filter(|t| t.contains("[tool.tox"))
                .map(|_| pyproject)
        }),
    };
    let Some(config) = config.filter(|c| f.index.is_file(c)) else {
        warn(f, pending, "`tox` runs here but no tox.ini, tox.toml or [tool.tox] is there; what it runs is not followed".into());
        return;
    };
    effects.files.push(config.clone());
    if !state
        .visited
        .insert(format!("tox:{config}:{}", args.envs.join(",")))
        || !f.may_go_deeper(state, pending)
    {
        return;
    }
    let Some(text) = f.readable(pending, &config) else {
        return;
    };
    let commands = tox_commands(&config, text, &args);
    let tox_dir = paths::parent(&config).to_string();
    for command in commands {
        let cwd = command
            .changedir
            .as_deref()
            .and_then(|d| paths::join(&tox_dir, d))
            .unwrap_or_else(|| tox_dir.clone());
        push_commands(
            f,
            pending,
            &command.text,
            &config,
            command.line,
            &cwd,
            effects,
        );
    }
}

/// The commands a tox configuration file runs, whatever its format.
fn tox_commands(config: &str, text: &str, args: &ToxArgs) -> Vec<ToxCommand> {
    if config.ends_with(".ini") || config.ends_with(".cfg") {
        return tox::ini_commands(&Ini::parse(text, 1), &args.envs, &args.posargs);
    }
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    if paths::file_name(config) != "pyproject.toml" {
        return tox::toml_commands(&table, text, "", &args.envs, &args.posargs);
    }
    let Some(tool_tox) = table
        .get("tool")
        .and_then(|t| t.get("tox"))
        .and_then(|t| t.as_table())
    else {
        return Vec::new();
    };
    if let Some(legacy) = tool_tox.get("legacy_tox_ini").and_then(|v| v.as_str()) {
        // The string starts on the line after `legacy_tox_ini = """`.
        let first = lines::find_line(text, "legacy_tox_ini", 1).map_or(1, |l| l + 1);
        return tox::ini_commands(&Ini::parse(legacy, first), &args.envs, &args.posargs);
    }
    tox::toml_commands(tool_tox, text, "tool.tox.", &args.envs, &args.posargs)
}

/// `nox [-s sessions] [-- posargs]`: the `session.run` calls of the sessions.
fn nox(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = NoxArgs::parse(args);
    let noxfile = paths::join(
        &pending.cwd,
        args.noxfile.as_deref().unwrap_or("noxfile.py"),
    );
    let Some(noxfile) = noxfile.filter(|p| f.index.is_file(p)) else {
        warn(
            f,
            pending,
            "`nox` runs here but no noxfile.py is there; what it runs is not followed".into(),
        );
        return;
    };
    effects.files.push(noxfile.clone());
    if !state
        .visited
        .insert(format!("nox:{noxfile}:{}", args.sessions.join(",")))
        || !f.may_go_deeper(state, pending)
    {
        return;
    }
    let Some(text) = f.readable(pending, &noxfile) else {
        return;
    };
    // nox runs sessions from the noxfile's directory.
    let dir = paths::parent(&noxfile).to_string();
    for command in nox::commands(text, &args.sessions, &args.posargs) {
        push_commands(
            f,
            pending,
            &command.text,
            &noxfile,
            command.line,
            &dir,
            effects,
        );
    }
}

/// `pre-commit run [hook]`: the entries of local hooks.
fn pre_commit(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = PreCommitArgs::parse(args);
    if !args.run {
        return;
    }
    let config = match &args.config {
        Some(given) => paths::join(&pending.cwd, given),
        None => first_file(
            f,
            &pending.cwd,
            &[".pre-commit-config.yaml", ".pre-commit-config.yml"],
        )
        .or_else(|| {
            first_file(
                f,
                "",
                &[".pre-commit-config.yaml", ".pre-commit-config.yml"],
            )
        }),
    };
    let Some(config) = config.filter(|c| f.index.is_file(c)) else {
        warn(
            f,
            pending,
            "`pre-commit run` runs here but no .pre-commit-config.yaml is in the repository".into(),
        );
        return;
    };
    effects.files.push(config.clone());
    let hook = args.hook.unwrap_or_default();
    if !state.visited.insert(format!("pre-commit:{config}:{hook}"))
        || !f.may_go_deeper(state, pending)
    {
        return;
    }
    let Some(text) = f.readable(pending, &config) else {
        return;
    };
    match precommit::local_hook_commands(text, Some(hook.as_str()).filter(|h| !h.is_empty())) {
        // Hooks run from the repository root.
        Ok(hooks) => {
            for hook in hooks {
                push_commands(f, pending, &hook.text, &config, hook.line, "", effects);
            }
        }
        Err(err) => f.warnings.push(CiWarning {
            path: config.clone(),
            line: err.line,
            message: format!(
                "could not parse this pre-commit configuration ({}); its hooks are not followed",
                err.message
            ),
        }),
    }
}

/// `dvc repro [targets]` / `dvc exp run`: the commands of the stages.
fn dvc(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let args = DvcArgs::parse(args);
    if !args.runs {
        return;
    }
    // dvc.yaml path → stage names (empty: every stage).
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let cwd = pending.cwd.as_str();
    let here = paths::join(cwd, "dvc.yaml").unwrap_or_else(|| "dvc.yaml".to_string());
    if args.targets.is_empty() {
        if args.all_pipelines {
            for file in dvc_files(f, "") {
                wanted.entry(file).or_default();
            }
        } else {
            wanted.entry(here.clone()).or_default();
        }
    }
    for target in &args.targets {
        let (path_part, stage) = match target.rsplit_once(':') {
            Some((path, stage)) if !path.is_empty() => (path, Some(stage.to_string())),
            _ => (target.as_str(), None),
        };
        let resolved = paths::join(cwd, path_part).unwrap_or_default();
        if stage.is_some() || path_part.ends_with("dvc.yaml") {
            let file = if f.index.is_dir(&resolved) {
                format!("{resolved}/dvc.yaml")
            } else {
                resolved
            };
            let entry = wanted.entry(file).or_default();
            entry.extend(stage);
        } else if !resolved.is_empty() && f.index.is_dir(&resolved) {
            let files = if args.recursive {
                dvc_files(f, &resolved)
            } else {
                vec![format!("{resolved}/dvc.yaml")]
            };
            for file in files {
                wanted.entry(file).or_default();
            }
        } else {
            wanted.entry(here.clone()).or_default().push(target.clone());
        }
    }
    for (file, stages) in wanted {
        if !f.index.is_file(&file) {
            warn(f, pending, format!("`dvc` reproduces `{file}` but it is not in the repository; its stages are not followed"));
            continue;
        }
        effects.files.push(file.clone());
        if !f.may_go_deeper(state, pending) {
            continue;
        }
        let Some(text) = f.readable(pending, &file) else {
            continue;
        };
        let all = match dvc::stages(text) {
            Ok(all) => all,
            Err(err) => {
                f.warnings.push(CiWarning {
                    path: file.clone(),
                    line: err.line,
                    message: format!(
                        "could not parse this dvc.yaml ({}); its stages are not followed",
                        err.message
                    ),
                });
                continue;
            }
        };
        let (chosen, missing) = dvc::select(&all, &stages, args.single_item);
        for name in missing {
            warn(
                f,
                pending,
                format!("dvc stage `{name}` is not defined in {file}"),
            );
        }
        let dir = paths::parent(&file).to_string();
        for stage in chosen {
            if !state.visited.insert(format!("dvc:{file}:{}", stage.name)) {
                continue;
            }
            let cwd = paths::join(&dir, stage.wdir.as_deref().unwrap_or("."))
                .unwrap_or_else(|| dir.clone());
            for (cmd, line) in &stage.cmds {
                push_commands(f, pending, cmd, &file, *line, &cwd, effects);
            }
        }
    }
}

/// The `dvc.yaml` files under `dir`, listed once per build for the root.
fn dvc_files(f: &mut Follower<'_>, dir: &str) -> Vec<String> {
    let index = f.index;
    let all = f.dvc_files.get_or_insert_with(|| {
        index
            .files()
            .iter()
            .filter(|e| e.name() == "dvc.yaml")
            .map(|e| e.path.clone())
            .collect()
    });
    let prefix = format!("{dir}/");
    all.iter()
        .filter(|p| dir.is_empty() || p.starts_with(&prefix))
        .cloned()
        .collect()
}

/// `great_expectations checkpoint run NAME` (and the v2 `validation-operator
/// run`): the whole Great Expectations project folder is run.
fn great_expectations(
    f: &mut Follower<'_>,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let runs = args
        .iter()
        .position(|a| a == "checkpoint" || a == "validation-operator")
        .is_some_and(|at| args[at + 1..].iter().any(|a| a == "run"));
    if !runs {
        return;
    }
    let configured = args
        .iter()
        .position(|a| a == "-c" || a == "--config")
        .and_then(|at| args.get(at + 1))
        .and_then(|dir| paths::join(&pending.cwd, dir));
    let cwd = pending.cwd.as_str();
    let candidates = configured.into_iter().chain(
        [
            paths::join(cwd, "great_expectations"),
            paths::join(cwd, "gx"),
            Some("great_expectations".into()),
            Some("gx".into()),
        ]
        .into_iter()
        .flatten(),
    );
    for dir in candidates {
        if !dir.is_empty() && f.index.is_dir(&dir) {
            effects.dirs.push(dir);
            return;
        }
    }
    warn(f, pending, "`great_expectations checkpoint run` runs here but no great_expectations/ or gx/ folder is in the repository".into());
}

/// pdm's own commands: `pdm <word>` runs a script only when the word is none
/// of these.
const PDM_COMMANDS: &[&str] = &[
    "add",
    "build",
    "cache",
    "completion",
    "config",
    "export",
    "fix",
    "import",
    "info",
    "init",
    "install",
    "list",
    "lock",
    "outdated",
    "publish",
    "py",
    "python",
    "remove",
    "run",
    "search",
    "self",
    "show",
    "sync",
    "update",
    "use",
    "venv",
];

/// `poe [options] task [args]`: a task of `[tool.poe.tasks]`.
fn poe(
    f: &mut Follower<'_>,
    state: &mut JobState,
    pending: &Pending,
    args: &[String],
    effects: &mut Effects,
) {
    let mut dir = None;
    let mut i = 0;
    while let Some(arg) = args.get(i).filter(|a| a.starts_with('-')) {
        i += 1;
        match arg.as_str() {
            "-d" | "--dry-run" | "-h" | "--help" | "--version" => return,
            "-C" | "--directory" | "--root" => {
                dir = args.get(i).cloned();
                i += 1;
            }
            "-e" | "--executor" => i += 1,
            _ => {}
        }
    }
    let Some((name, rest)) = args.get(i..).and_then(<[String]>::split_first) else {
        return;
    };
    let task = tasks::run::project_task(
        f,
        state,
        pending,
        Runner::Poe,
        dir.as_deref(),
        name,
        rest,
        effects,
    );
    // A pyproject.toml that does not parse is warned about at its line.
    if task == ProjectTask::NotDefined {
        warn(
            f,
            pending,
            format!("`poe {name}` runs here but no [tool.poe.tasks] in this folder or above it defines `{name}`; what it runs is not followed"),
        );
    }
}

/// The arguments `hatch test` passes on to pytest, its own options removed.
fn hatch_test_args(args: &[String]) -> Vec<String> {
    const VALUED: &[&str] = &[
        "--python",
        "-py",
        "-i",
        "--include",
        "-x",
        "--exclude",
        "--retries",
        "--retry-delay",
    ];
    const OWN: &[&str] = &[
        "-r",
        "--randomize",
        "-p",
        "--parallel",
        "-c",
        "--cover",
        "--cover-quiet",
        "-a",
        "--all",
        "-s",
        "--show",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == "--" {
            out.extend(args[i..].iter().cloned());
            break;
        }
        if VALUED.contains(&arg.as_str()) {
            i += 1;
        } else if !OWN.contains(&arg.as_str()) {
            out.push(arg.clone());
        }
    }
    out
}
