//! Tasks defined in Python project files: poethepoet (`[tool.poe.tasks]`),
//! hatch scripts (`[tool.hatch.envs.<env>.scripts]`, `hatch.toml`), pdm
//! scripts (`[tool.pdm.scripts]`), rye scripts (`[tool.rye.scripts]`) and
//! pixi tasks (`pixi.toml`'s `[tasks]`, `[tool.pixi.tasks]`). Each is read
//! into a [`TaskFile`] whose commands run in the project's folder (or the
//! task's own `cwd`/`working_dir`). Python expressions (poe `expr`,
//! `switch`) are not evaluated: they run nothing mlscore can name.

use toml::de::{DeTable, DeValue};

use super::toml_spans::{self, Doc, Value};
use super::{Step, Task, TaskError, TaskFile};

/// The runners whose tasks live in these files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runner {
    Poe,
    Hatch,
    Pdm,
    Rye,
    Pixi,
    /// The console scripts a package installs (`[project.scripts]`,
    /// `[tool.poetry.scripts]`): `train` runs `pkg.train:main`.
    Scripts,
}

impl Runner {
    /// The runner whose `run` a command was given to (`hatch run x`): the
    /// word after it may be one of its tasks.
    pub(crate) fn of_wrapper(program: &str) -> Option<Runner> {
        Some(match program {
            "hatch" => Runner::Hatch,
            "pdm" => Runner::Pdm,
            "rye" => Runner::Rye,
            "pixi" => Runner::Pixi,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Runner::Poe => "poe",
            Runner::Hatch => "hatch",
            Runner::Pdm => "pdm",
            Runner::Rye => "rye",
            Runner::Pixi => "pixi",
            Runner::Scripts => "console script",
        }
    }

    /// The project files that may hold this runner's tasks, in the order
    /// the runner prefers them.
    pub(crate) fn files(self) -> &'static [&'static str] {
        match self {
            Runner::Hatch => &["hatch.toml", "pyproject.toml"],
            Runner::Pixi => &["pixi.toml", "pyproject.toml"],
            Runner::Poe | Runner::Pdm | Runner::Rye | Runner::Scripts => &["pyproject.toml"],
        }
    }
}

/// The tasks of `runner` in a project file (`file_name` is its name, which
/// says where in the file they are). `env` is a hatch environment.
pub(crate) fn parse(
    runner: Runner,
    file_name: &str,
    text: &str,
    env: Option<&str>,
) -> Result<TaskFile, TaskError> {
    let doc = Doc::parse(text)?;
    let root = doc.root();
    let in_pyproject = file_name == "pyproject.toml";
    let tasks = match runner {
        Runner::Poe => toml_spans::table_at(root, &["tool", "poe", "tasks"])
            .map(|t| poe_tasks(&doc, t, default_item_is_ref(root)))
            .unwrap_or_default(),
        Runner::Hatch => hatch_tasks(&doc, root, in_pyproject, env.unwrap_or("default")),
        Runner::Pdm => toml_spans::table_at(root, &["tool", "pdm", "scripts"])
            .map(|t| pdm_tasks(&doc, t))
            .unwrap_or_default(),
        Runner::Rye => toml_spans::table_at(root, &["tool", "rye", "scripts"])
            .map(|t| rye_tasks(&doc, t))
            .unwrap_or_default(),
        Runner::Scripts => console_scripts(&doc, root),
        Runner::Pixi => {
            let base: &[&str] = if in_pyproject { &["tool", "pixi"] } else { &[] };
            pixi_all_tasks(&doc, root, base)
        }
    };
    Ok(TaskFile::new(tasks, None))
}

/// Whether the file defines any task for `runner` (so a `pyproject.toml`
/// without `[tool.poe]` is not taken for poe's file).
pub(crate) fn mentions(runner: Runner, file_name: &str, text: &str) -> bool {
    match (runner, file_name) {
        (Runner::Poe, _) => text.contains("tool.poe"),
        (Runner::Hatch, "hatch.toml") | (Runner::Pixi, "pixi.toml") => true,
        (Runner::Hatch, _) => text.contains("tool.hatch.envs"),
        (Runner::Pdm, _) => text.contains("tool.pdm.scripts"),
        (Runner::Rye, _) => text.contains("tool.rye.scripts"),
        (Runner::Pixi, _) => text.contains("tool.pixi"),
        (Runner::Scripts, _) => text.contains("scripts"),
    }
}

fn command(doc: &Doc<'_>, text: &str, at: &Value<'_>) -> Step {
    Step::Command {
        text: text.to_string(),
        line: doc.line(at),
    }
}

/// A task named `name`, defined where `value` is.
fn task_at(doc: &Doc<'_>, name: &str, value: &Value<'_>) -> Task {
    Task {
        name: name.to_string(),
        line: doc.line(value),
        ..Task::default()
    }
}

/// A table's `cmd`: a command line, or an argv of words.
fn cmd_step(doc: &Doc<'_>, table: &DeTable<'_>) -> Option<Step> {
    let cmd = table.get("cmd")?;
    let text = match cmd.get_ref() {
        DeValue::String(text) => text.to_string(),
        _ => toml_spans::argv(cmd)?,
    };
    Some(command(doc, &text, cmd))
}

/// The task a `"task args"` reference names: `"test -k fast"` → `test`.
fn first_word(s: &str) -> Option<String> {
    s.split_whitespace().next().map(str::to_string)
}

/// poe's sequences hold task names unless `default_item_type` says `cmd`.
fn default_item_is_ref(root: &DeTable<'_>) -> bool {
    toml_spans::table_at(root, &["tool", "poe"])
        .and_then(|poe| toml_spans::get_str(poe, "default_item_type"))
        .is_none_or(|kind| kind == "ref")
}

fn poe_tasks(doc: &Doc<'_>, tasks: &DeTable<'_>, items_are_refs: bool) -> Vec<Task> {
    tasks
        .iter()
        .map(|(key, value)| {
            let mut task = task_at(doc, key.get_ref(), value);
            task.steps = poe_steps(doc, value, items_are_refs);
            if let Some(table) = value.get_ref().as_table() {
                for key in ["deps", "uses"] {
                    if let Some(deps) = table.get(key) {
                        task.deps.extend(poe_names(deps));
                    }
                }
                task.dir = toml_spans::get_str(table, "cwd").map(str::to_string);
            }
            task
        })
        .collect()
}

/// Task names of `deps` (a list of `"task args"`) or `uses` (a table of
/// `name = "task args"`).
fn poe_names(value: &Value<'_>) -> Vec<String> {
    match value.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .filter_map(|(_, v)| v.get_ref().as_str().and_then(first_word))
            .collect(),
        _ => toml_spans::strings(value)
            .into_iter()
            .filter_map(|(s, _)| first_word(s))
            .collect(),
    }
}

/// What one poe task (or sequence item) runs.
fn poe_steps(doc: &Doc<'_>, value: &Value<'_>, items_are_refs: bool) -> Vec<Step> {
    match value.get_ref() {
        DeValue::String(text) => vec![command(doc, text, value)],
        // A bare array is a sequence.
        DeValue::Array(items) => items
            .iter()
            .flat_map(|item| poe_item(doc, item, items_are_refs))
            .collect(),
        DeValue::Table(table) => {
            if let Some(cmd) = table.get("cmd") {
                match cmd.get_ref() {
                    DeValue::String(text) => vec![command(doc, text, cmd)],
                    _ => toml_spans::argv(cmd)
                        .map(|text| vec![command(doc, &text, cmd)])
                        .unwrap_or_default(),
                }
            } else if let Some(shell) = table.get("shell") {
                shell
                    .get_ref()
                    .as_str()
                    .map(|text| vec![command(doc, text, shell)])
                    .unwrap_or_default()
            } else if let Some(script) = table.get("script") {
                call(doc, script)
            } else if let Some(sequence) = table.get("sequence") {
                let refs = match toml_spans::get_str(table, "default_item_type") {
                    Some(kind) => kind == "ref",
                    None => items_are_refs,
                };
                sequence
                    .get_ref()
                    .as_array()
                    .map(|items| items.iter().flat_map(|i| poe_item(doc, i, refs)).collect())
                    .unwrap_or_default()
            } else if let Some(reference) = table.get("ref") {
                reference
                    .get_ref()
                    .as_str()
                    .and_then(first_word)
                    .map(|name| vec![Step::Task(name)])
                    .unwrap_or_default()
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

fn poe_item(doc: &Doc<'_>, item: &Value<'_>, refs: bool) -> Vec<Step> {
    match item.get_ref() {
        DeValue::String(text) if refs => first_word(text).map(Step::Task).into_iter().collect(),
        _ => poe_steps(doc, item, refs),
    }
}

/// `module:function(args)` run in the project's environment.
fn call(doc: &Doc<'_>, value: &Value<'_>) -> Vec<Step> {
    let Some(target) = value.get_ref().as_str() else {
        return Vec::new();
    };
    let target = target.split('(').next().unwrap_or("").trim();
    if target.is_empty() {
        return Vec::new();
    }
    vec![Step::Call {
        target: target.to_string(),
        line: doc.line(value),
    }]
}

/// hatch: the scripts of `env` and, as hatch inherits them, of `default`.
/// A command whose first word is another script of the environment runs
/// that script, as hatch expands it.
fn hatch_tasks(doc: &Doc<'_>, root: &DeTable<'_>, in_pyproject: bool, env: &str) -> Vec<Task> {
    let prefix: &[&str] = if in_pyproject {
        &["tool", "hatch", "envs"]
    } else {
        &["envs"]
    };
    let mut tasks: Vec<Task> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let envs = if env == "default" {
        vec!["default"]
    } else {
        vec![env, "default"]
    };
    for env in envs {
        let mut path = prefix.to_vec();
        path.extend([env, "scripts"]);
        let Some(scripts) = toml_spans::table_at(root, &path) else {
            continue;
        };
        for (key, value) in scripts.iter() {
            let name = key.get_ref().to_string();
            if !seen.insert(name.clone()) {
                continue;
            }
            let steps = toml_spans::strings(value)
                .into_iter()
                .map(|(text, at)| command(doc, text, at))
                .collect();
            tasks.push(Task {
                name,
                line: doc.line(value),
                steps,
                ..Task::default()
            });
        }
    }
    expand_script_calls(&mut tasks);
    tasks
}

/// A command that starts with another task's name runs that task (hatch
/// scripts, pdm composites): it becomes a call of the task.
fn expand_script_calls(tasks: &mut [Task]) {
    let names: std::collections::HashSet<String> = tasks.iter().map(|t| t.name.clone()).collect();
    for task in tasks.iter_mut() {
        for step in task.steps.iter_mut() {
            if let Step::Command { text, .. } = step {
                let Some(first) = text.split_whitespace().next() else {
                    continue;
                };
                if first != task.name && names.contains(first) {
                    *step = Step::Task(first.to_string());
                }
            }
        }
    }
}

fn pdm_tasks(doc: &Doc<'_>, scripts: &DeTable<'_>) -> Vec<Task> {
    let mut tasks: Vec<Task> = scripts
        .iter()
        .filter(|(key, _)| key.get_ref().as_ref() != "_")
        .map(|(key, value)| {
            let mut task = task_at(doc, key.get_ref(), value);
            match value.get_ref() {
                DeValue::String(text) => task.steps.push(command(doc, text, value)),
                DeValue::Table(table) => {
                    if let Some(step) = cmd_step(doc, table) {
                        task.steps.push(step);
                    } else if let Some(shell) = table.get("shell") {
                        task.steps
                            .extend(shell.get_ref().as_str().map(|t| command(doc, t, shell)));
                    } else if let Some(target) = table.get("call") {
                        task.steps = call(doc, target);
                    } else if let Some(items) = table.get("composite") {
                        task.steps = toml_spans::strings(items)
                            .into_iter()
                            .map(|(text, at)| command(doc, text, at))
                            .collect();
                    }
                    task.dir = toml_spans::get_str(table, "working_dir").map(str::to_string);
                }
                _ => {}
            }
            task
        })
        .collect();
    expand_script_calls(&mut tasks);
    // `pre_x` runs before `x`, `post_x` after it.
    let names: std::collections::HashSet<String> = tasks.iter().map(|t| t.name.clone()).collect();
    for task in tasks.iter_mut() {
        let pre = format!("pre_{}", task.name);
        if names.contains(&pre) {
            task.deps.push(pre);
        }
        let post = format!("post_{}", task.name);
        if names.contains(&post) {
            task.steps.push(Step::Task(post));
        }
    }
    tasks
}

fn rye_tasks(doc: &Doc<'_>, scripts: &DeTable<'_>) -> Vec<Task> {
    scripts
        .iter()
        .map(|(key, value)| {
            let mut task = task_at(doc, key.get_ref(), value);
            match value.get_ref() {
                DeValue::String(text) => task.steps.push(command(doc, text, value)),
                DeValue::Array(_) => task
                    .steps
                    .extend(toml_spans::argv(value).map(|text| command(doc, &text, value))),
                DeValue::Table(table) => {
                    if let Some(step) = cmd_step(doc, table) {
                        task.steps.push(step);
                    } else if let Some(target) = table.get("call") {
                        task.steps = call(doc, target);
                    } else if let Some(chain) = table.get("chain") {
                        task.steps = toml_spans::strings(chain)
                            .into_iter()
                            .filter_map(|(s, _)| first_word(s).map(Step::Task))
                            .collect();
                    }
                }
                _ => {}
            }
            task
        })
        .collect()
}

/// pixi's `[tasks]` and every feature's (`[feature.<name>.tasks]`): an
/// environment (`-e`) combines features, and a task's command does not
/// depend on which, so all are read, the first definition of a name kept.
fn pixi_all_tasks(doc: &Doc<'_>, root: &DeTable<'_>, base: &[&str]) -> Vec<Task> {
    let Some(pixi) = toml_spans::table_at(root, base) else {
        return Vec::new();
    };
    let mut out: Vec<Task> = Vec::new();
    let features = toml_spans::table_at(pixi, &["feature"])
        .into_iter()
        .flat_map(|f| f.iter())
        .filter_map(|(_, feature)| feature.get_ref().as_table())
        .filter_map(|feature| toml_spans::table_at(feature, &["tasks"]));
    for tasks in toml_spans::table_at(pixi, &["tasks"])
        .into_iter()
        .chain(features)
    {
        // Of two tasks with one name the first is kept, by `TaskFile::new`.
        out.extend(pixi_tasks(doc, tasks));
    }
    out
}

fn pixi_tasks(doc: &Doc<'_>, tasks: &DeTable<'_>) -> Vec<Task> {
    tasks
        .iter()
        .map(|(key, value)| {
            let mut task = task_at(doc, key.get_ref(), value);
            match value.get_ref() {
                DeValue::String(text) => task.steps.push(command(doc, text, value)),
                DeValue::Table(table) => {
                    if let Some(step) = cmd_step(doc, table) {
                        task.steps.push(step);
                    }
                    for key in ["depends-on", "depends_on"] {
                        if let Some(deps) = table.get(key) {
                            task.deps.extend(pixi_names(deps));
                        }
                    }
                    task.dir = toml_spans::get_str(table, "cwd").map(str::to_string);
                }
                _ => {}
            }
            task
        })
        .collect()
}

/// Console scripts: `name = "pkg.module:function"` (poetry also writes
/// `{ callable = "…" }`); each runs its module.
fn console_scripts(doc: &Doc<'_>, root: &DeTable<'_>) -> Vec<Task> {
    let tables = [
        toml_spans::table_at(root, &["project", "scripts"]),
        toml_spans::table_at(root, &["tool", "poetry", "scripts"]),
    ];
    let mut out: Vec<Task> = Vec::new();
    for (key, value) in tables.into_iter().flatten().flat_map(|t| t.iter()) {
        let target = match value.get_ref() {
            DeValue::String(_) => value,
            DeValue::Table(t) => match t.get("callable") {
                Some(callable) => callable,
                None => continue,
            },
            _ => continue,
        };
        // Of two scripts with one name the first is kept, by `TaskFile::new`.
        let name = key.get_ref().to_string();
        out.push(Task {
            name,
            line: doc.line(value),
            steps: call(doc, target),
            ..Task::default()
        });
    }
    out
}

/// pixi's `depends-on`: names, or `{ task = "x" }` tables.
fn pixi_names(value: &Value<'_>) -> Vec<String> {
    let one = |v: &Value<'_>| match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Table(t) => toml_spans::get_str(t, "task").map(str::to_string),
        _ => None,
    };
    match value.get_ref() {
        DeValue::Array(items) => items.iter().filter_map(one).collect(),
        _ => one(value).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(file: &TaskFile, name: &str) -> Vec<String> {
        file.plan(&[name.to_string()])
            .commands
            .into_iter()
            .map(|c| format!("{}@{}", c.text, c.line))
            .collect()
    }

    #[test]
    fn poe_tasks_of_every_kind() {
        let text = r#"[project]
name = "x"

[tool.poe.tasks]
lint = "ruff check ."
train = { script = "pkg.jobs.training:main(epochs=1)" }
check = ["lint", "test"]
_install = "uv sync"

[tool.poe.tasks.test]
cmd = "pytest tests/unit"
deps = ["_install"]
cwd = "ml"

[tool.poe.tasks.nightly]
shell = """
python scripts/eval.py
"""
"#;
        let file = parse(Runner::Poe, "pyproject.toml", text, None).expect("parses");
        assert_eq!(
            texts(&file, "check"),
            ["ruff check .@5", "uv sync@8", "pytest tests/unit@11"]
        );
        let test = file.task("test").expect("test");
        assert_eq!(test.dir.as_deref(), Some("ml"));
        assert_eq!(texts(&file, "nightly"), ["python scripts/eval.py\n@17"]);
        let plan = file.plan(&["train".into()]);
        assert_eq!(plan.calls, [("pkg.jobs.training:main".to_string(), 6)]);
        assert!(mentions(Runner::Poe, "pyproject.toml", text));
        assert!(!mentions(Runner::Pdm, "pyproject.toml", text));
    }

    #[test]
    fn hatch_scripts_expand_other_scripts_and_inherit_defaults() {
        let text = r#"[tool.hatch.envs.default.scripts]
test = "pytest {args:tests}"
cov = ["test --cov", "coverage report"]

[tool.hatch.envs.lint.scripts]
check = "ruff check ."
"#;
        let file = parse(Runner::Hatch, "pyproject.toml", text, None).expect("parses");
        assert_eq!(
            texts(&file, "cov"),
            ["pytest {args:tests}@2", "coverage report@3"]
        );
        assert!(file.task("check").is_none());
        let lint = parse(Runner::Hatch, "pyproject.toml", text, Some("lint")).expect("parses");
        assert_eq!(texts(&lint, "check"), ["ruff check .@6"]);
        assert_eq!(texts(&lint, "test"), ["pytest {args:tests}@2"]);
        let own = parse(
            Runner::Hatch,
            "hatch.toml",
            "[envs.default.scripts]\ne2e = \"pytest e2e\"\n",
            None,
        )
        .expect("parses");
        assert_eq!(texts(&own, "e2e"), ["pytest e2e@2"]);
    }

    #[test]
    fn pdm_scripts_with_hooks_and_composites() {
        let text = r#"[tool.pdm.scripts]
_.env_file = ".env"
pre_test = "python scripts/prepare.py"
test = { cmd = ["pytest", "tests"], working_dir = "pkg" }
all = { composite = ["lint", "test -x"] }
lint = { shell = "ruff check . && mypy src" }
serve = { call = "app.main:run" }
"#;
        let file = parse(Runner::Pdm, "pyproject.toml", text, None).expect("parses");
        assert_eq!(
            texts(&file, "all"),
            [
                "ruff check . && mypy src@6",
                "python scripts/prepare.py@3",
                "pytest tests@4"
            ]
        );
        assert_eq!(
            file.task("test").and_then(|t| t.dir.as_deref()),
            Some("pkg")
        );
        assert!(file.task("_").is_none());
        assert_eq!(file.plan(&["serve".into()]).calls[0].0, "app.main:run");
    }

    #[test]
    fn pixi_and_rye_tasks() {
        let pixi = r#"[tasks]
prepare = "python prepare.py"
train = { cmd = ["python", "train.py"], depends-on = ["prepare"], cwd = "ml" }
"#;
        let file = parse(Runner::Pixi, "pixi.toml", pixi, None).expect("parses");
        assert_eq!(
            texts(&file, "train"),
            ["python prepare.py@2", "python train.py@3"]
        );
        let in_pyproject = "[tool.pixi.tasks]\ntest = \"pytest\"\n\n[tool.pixi.feature.lint.tasks]\nlint = \"ruff check .\"\ntest = \"not this one\"\n";
        let file = parse(Runner::Pixi, "pyproject.toml", in_pyproject, None).expect("parses");
        assert_eq!(texts(&file, "test"), ["pytest@2"]);
        assert_eq!(texts(&file, "lint"), ["ruff check .@5"]);

        let rye = r#"[tool.rye.scripts]
test = "pytest"
all = { chain = ["lint", "test"] }
lint = ["ruff", "check", "."]
"#;
        let file = parse(Runner::Rye, "pyproject.toml", rye, None).expect("parses");
        assert_eq!(texts(&file, "all"), ["ruff check .@4", "pytest@2"]);
    }

    #[test]
    fn console_scripts_call_their_modules() {
        let text = r#"[project]
name = "bikes"

[project.scripts]
bikes = "bikes.scripts:main"

[tool.poetry.scripts]
train = { callable = "bikes.jobs.training:run" }
bikes = "elsewhere:main"
"#;
        let file = parse(Runner::Scripts, "pyproject.toml", text, None).expect("parses");
        let calls = |name: &str| file.plan(&[name.to_string()]).calls;
        assert_eq!(calls("bikes"), [("bikes.scripts:main".to_string(), 5)]);
        assert_eq!(calls("train"), [("bikes.jobs.training:run".to_string(), 8)]);
        assert!(file.task("pytest").is_none());
    }

    #[test]
    fn a_broken_file_is_an_error_with_its_line() {
        let err = parse(
            Runner::Poe,
            "pyproject.toml",
            "[tool.poe.tasks]\nx = [\n",
            None,
        )
        .expect_err("broken");
        assert!(err.line.is_some());
    }
}
