//! mise: `mise run <task>` (also `mise r`, `mise tasks run`, `mise <task>`,
//! several joined by `:::`), read from the `[tasks]` of a mise
//! configuration file — `run` (a command or a list of them, or `{ task =
//! … }` items), `depends`, `depends_post`, `dir`, `alias`, `file` — and from
//! file tasks (executables in `mise-tasks/`, `.mise/tasks/`, …, named by
//! their path with `:` for `/`). Template expressions (`{{config_root}}`,
//! `{{arg(…)}}`) are left as written, except a `dir` starting at the
//! configuration's root.

use toml::de::{DeTable, DeValue};

use super::toml_spans::{self, Doc};
use super::{Step, Task, TaskError, TaskFile};

/// The configuration files mise reads in a folder, each relative to it.
pub(crate) const CONFIG_FILES: &[&str] = &[
    "mise.toml",
    ".mise.toml",
    "mise/config.toml",
    ".mise/config.toml",
    ".config/mise.toml",
    ".config/mise/config.toml",
    "mise.local.toml",
    ".mise.local.toml",
];

/// Folders of file tasks, relative to the project's folder.
pub(crate) const TASK_DIRS: &[&str] = &[
    "mise-tasks",
    ".mise-tasks",
    "mise/tasks",
    ".mise/tasks",
    ".config/mise/tasks",
];

/// mise's own commands: `mise <word>` runs a task only when the word is none
/// of these.
const COMMANDS: &[&str] = &[
    "activate",
    "alias",
    "backends",
    "bin-paths",
    "cache",
    "completion",
    "config",
    "deactivate",
    "doctor",
    "en",
    "env",
    "exec",
    "x",
    "fmt",
    "generate",
    "implode",
    "install",
    "i",
    "install-into",
    "latest",
    "link",
    "ls",
    "list",
    "ls-remote",
    "outdated",
    "plugins",
    "p",
    "prune",
    "registry",
    "reshim",
    "search",
    "self-update",
    "set",
    "settings",
    "shell",
    "sync",
    "tasks",
    "tool",
    "tool-stub",
    "trust",
    "uninstall",
    "unset",
    "unuse",
    "upgrade",
    "up",
    "use",
    "u",
    "usage",
    "version",
    "watch",
    "w",
    "where",
    "which",
    "lock",
    "mcp",
    "edit",
    "test-tool",
    "help",
];

/// Options of mise and `mise run` that take a value.
const VALUED: &[&str] = &[
    "-C",
    "--cd",
    "-E",
    "--env",
    "-j",
    "--jobs",
    "-o",
    "--output",
    "-t",
    "--tool",
    "--shell",
    "-s",
    "--timeout",
    "--log-level",
];

/// The arguments of one `mise` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct MiseArgs {
    /// The tasks asked for, each with its arguments; empty runs `default`.
    pub tasks: Vec<(String, Vec<String>)>,
    /// `-C`/`--cd`.
    pub dir: Option<String>,
    /// False for anything but running tasks (`mise install`, a dry run).
    pub runs: bool,
    /// `mise <word>`: the word runs a task only if one is defined.
    pub bare: bool,
}

impl MiseArgs {
    pub(crate) fn parse(args: &[String]) -> MiseArgs {
        let mut out = MiseArgs::default();
        let mut i = 0;
        // Global options, then the subcommand.
        while let Some(arg) = args.get(i) {
            if !arg.starts_with('-') {
                break;
            }
            i += 1;
            if arg == "-C" || arg == "--cd" {
                out.dir = args.get(i).cloned();
                i += 1;
            } else if let Some(dir) = arg.strip_prefix("--cd=") {
                out.dir = Some(dir.to_string());
            } else if VALUED.contains(&arg.as_str()) {
                i += 1;
            }
        }
        let Some(first) = args.get(i) else {
            return out;
        };
        match first.as_str() {
            "run" | "r" => i += 1,
            "tasks" | "task" | "t" if args.get(i + 1).is_some_and(|a| a == "run" || a == "r") => {
                i += 2
            }
            word if COMMANDS.contains(&word) => return out,
            _ => out.bare = true,
        }
        out.runs = true;
        // `mise run` options, then `task args… ::: task args…`.
        while let Some(arg) = args.get(i).filter(|a| a.starts_with('-')) {
            i += 1;
            match arg.as_str() {
                "-n" | "--dry-run" => out.runs = false,
                "-C" | "--cd" => {
                    out.dir = args.get(i).cloned();
                    i += 1;
                }
                "--" => break,
                a if VALUED.contains(&a) => i += 1,
                _ => {}
            }
        }
        for group in args[i.min(args.len())..].split(|a| a == ":::") {
            if let Some((name, rest)) = group.split_first() {
                out.tasks.push((name.clone(), rest.to_vec()));
            }
        }
        out
    }
}

/// The tasks of one mise configuration file.
pub(crate) fn parse(text: &str) -> Result<TaskFile, TaskError> {
    let doc = Doc::parse(text)?;
    let Some(tasks) = toml_spans::table_at(doc.root(), &["tasks"]) else {
        return Ok(TaskFile::default());
    };
    let mut read = Vec::with_capacity(tasks.len());
    for (key, value) in tasks.iter() {
        let name = key.get_ref().to_string();
        let line = doc.line(value);
        let mut task = Task {
            name,
            line,
            ..Task::default()
        };
        match value.get_ref() {
            DeValue::Table(table) => read_table(&doc, table, &mut task),
            _ => task.steps = run_steps(&doc, value),
        }
        read.push(task);
    }
    let mut file = TaskFile::new(read, None);
    file.default_to_default();
    Ok(file)
}

fn read_table(doc: &Doc<'_>, table: &DeTable<'_>, task: &mut Task) {
    if let Some(run) = table.get("run") {
        task.steps = run_steps(doc, run);
    } else if let Some(file) = table.get("file") {
        // A script file is run as a program.
        if let Some(path) = file.get_ref().as_str() {
            task.steps.push(Step::Command {
                text: path.to_string(),
                line: doc.line(file),
            });
        }
    }
    if let Some(depends) = table.get("depends") {
        task.deps = dependency_names(depends);
    }
    if let Some(post) = table.get("depends_post") {
        // Run after the task: steps that call them keep the order.
        task.steps
            .extend(dependency_names(post).into_iter().map(Step::Task));
    }
    if let Some(alias) = table.get("alias") {
        task.aliases = toml_spans::strings(alias)
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect();
    }
    if let Some(dir) = toml_spans::get_str(table, "dir") {
        task.dir = config_relative(dir);
    }
}

/// `run`: a command, or a list of commands and `{ task = "x" }` /
/// `{ tasks = [...] }` items.
fn run_steps(doc: &Doc<'_>, run: &toml_spans::Value<'_>) -> Vec<Step> {
    let command = |text: &str, at: &toml_spans::Value<'_>| Step::Command {
        text: text.to_string(),
        line: doc.line(at),
    };
    match run.get_ref() {
        DeValue::String(text) => vec![command(text, run)],
        DeValue::Array(items) => items
            .iter()
            .flat_map(|item| match item.get_ref() {
                DeValue::String(text) => vec![command(text, item)],
                DeValue::Table(t) => {
                    let mut names = Vec::new();
                    if let Some(one) = t.get("task") {
                        names.extend(dependency_names(one));
                    }
                    if let Some(many) = t.get("tasks") {
                        names.extend(dependency_names(many));
                    }
                    names.into_iter().map(Step::Task).collect()
                }
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Task names of `depends`: a string or list, each `"name args…"`.
fn dependency_names(value: &toml_spans::Value<'_>) -> Vec<String> {
    toml_spans::strings(value)
        .into_iter()
        .filter_map(|(s, _)| s.split_whitespace().next().map(str::to_string))
        .collect()
}

/// A task's `dir`, relative to the configuration's root: `{{config_root}}`
/// is that root; another template or an absolute path is not followed.
fn config_relative(dir: &str) -> Option<String> {
    let trimmed = dir.trim();
    for root in ["{{config_root}}", "{{ config_root }}"] {
        if let Some(rest) = trimmed.strip_prefix(root) {
            let rest = rest.trim_start_matches('/');
            return Some(if rest.is_empty() {
                ".".into()
            } else {
                rest.into()
            });
        }
    }
    if trimmed.contains("{{") || trimmed.starts_with('/') || trimmed.starts_with('~') {
        return Some(crate::ci::paths::UNKNOWN_DIR.to_string());
    }
    Some(trimmed.to_string())
}

/// The task a file task's path names: `mise-tasks/test/unit` is `test:unit`
/// (an extension is kept out of the name, as mise does).
pub(crate) fn file_task_name(relative: &str) -> String {
    let stem = match relative.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{}", strip_extension(name)),
        None => strip_extension(relative).to_string(),
    };
    stem.replace('/', ":")
}

fn strip_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// Merges the tasks of several configuration files, the first given (the
/// innermost folder's) winning a name.
pub(crate) fn merge(files: Vec<TaskFile>) -> TaskFile {
    let default = files.iter().find_map(|f| f.default.clone());
    TaskFile::new(files.into_iter().flat_map(|f| f.tasks).collect(), default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> MiseArgs {
        let words: Vec<String> = words.split_whitespace().map(str::to_string).collect();
        MiseArgs::parse(&words)
    }

    #[test]
    fn reads_how_tasks_are_asked_for() {
        let a = args("run test");
        assert!(a.runs && !a.bare);
        assert_eq!(a.tasks, [("test".to_string(), vec![])]);
        let a = args("-C ml r --jobs 2 test -k fast ::: lint");
        assert_eq!(a.dir.as_deref(), Some("ml"));
        assert_eq!(
            a.tasks,
            [
                (
                    "test".to_string(),
                    vec!["-k".to_string(), "fast".to_string()]
                ),
                ("lint".to_string(), vec![])
            ]
        );
        assert_eq!(args("tasks run check").tasks[0].0, "check");
        let bare = args("test");
        assert!(bare.runs && bare.bare);
        assert!(!args("install").runs);
        assert!(!args("tasks ls").runs);
        assert!(!args("run -n test").runs);
        let default = args("run");
        assert!(default.runs && default.tasks.is_empty());
    }

    const CONFIG: &str = r#"[tools]
uv = "latest"

[tasks.install]
run = "uv sync"

[tasks.test]
alias = "t"
depends = ["install"]
dir = "{{config_root}}/ml"
run = [
  "uv run pytest tests",
  { task = "report" },
]
depends_post = "clean --all"

[tasks.report]
run = """
python scripts/report.py
echo done
"""

[tasks.train]
file = "scripts/train.sh"

[tasks]
lint = "ruff check ."
"check:all" = ["ruff check .", "ty check"]
"#;

    #[test]
    fn reads_tasks_with_their_lines() {
        let file = parse(CONFIG).expect("parses");
        let test = file.task("t").expect("alias");
        assert_eq!(test.name, "test");
        assert_eq!(test.deps, ["install"]);
        assert_eq!(test.dir.as_deref(), Some("ml"));
        assert_eq!(
            test.steps,
            [
                Step::Command {
                    text: "uv run pytest tests".into(),
                    line: 12
                },
                Step::Task("report".into()),
                Step::Task("clean".into()),
            ]
        );
        let report = file.task("report").expect("report");
        assert_eq!(
            report.steps,
            [Step::Command {
                text: "python scripts/report.py\necho done\n".into(),
                line: 19
            }]
        );
        assert_eq!(
            file.task("train").expect("train").steps,
            [Step::Command {
                text: "scripts/train.sh".into(),
                line: 24
            }]
        );
        assert_eq!(file.task("lint").expect("lint").steps.len(), 1);
        assert_eq!(file.task("check:all").expect("check:all").steps.len(), 2);
        assert_eq!(file.default, None);

        let plan = file.plan(&["test".into()]);
        let texts: Vec<&str> = plan.commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts[0], "uv sync");
        assert_eq!(texts[1], "uv run pytest tests");
        assert_eq!(plan.missing, ["clean"]);
    }

    #[test]
    fn a_broken_file_names_its_line() {
        let err = parse("[tasks.test]\nrun = \"pytest\n").expect_err("unterminated");
        assert_eq!(err.line, Some(2));
        assert!(!err.message.is_empty());
    }

    #[test]
    fn file_tasks_and_dirs() {
        assert_eq!(file_task_name("test/unit.sh"), "test:unit");
        assert_eq!(file_task_name("build"), "build");
        assert_eq!(config_relative("{{config_root}}").as_deref(), Some("."));
        assert_eq!(config_relative("src").as_deref(), Some("src"));
        assert_eq!(
            config_relative("/tmp").as_deref(),
            Some(crate::ci::paths::UNKNOWN_DIR)
        );
    }
}
