//! Task (go-task, `Taskfile.yml`): `task [name…] [-- args]` runs each
//! task's `deps`, then its `cmds` — commands (`- pytest`, `- cmd: pytest`,
//! `- defer: …`) and calls of other tasks (`- task: build`) — in the task's
//! `dir` (relative to the Taskfile's folder). `{{.CLI_ARGS}}` takes the
//! words after `--`, and `{{.NAME}}` the value of a plain string variable
//! of the file's or the task's `vars:`; other templates stay as written.
//! Included Taskfiles (`includes:`) are not read.

use serde_yaml::Value;

use super::super::{lines, yaml};
use super::{Step, Task, TaskError, TaskFile};

/// The names `task` looks for, in its order.
pub(crate) const FILE_NAMES: &[&str] = &[
    "Taskfile.yml",
    "taskfile.yml",
    "Taskfile.yaml",
    "taskfile.yaml",
    "Taskfile.dist.yml",
    "taskfile.dist.yml",
    "Taskfile.dist.yaml",
    "taskfile.dist.yaml",
];

/// Options of `task` that take a value.
const VALUED: &[&str] = &[
    "-t",
    "--taskfile",
    "-d",
    "--dir",
    "-c",
    "--concurrency",
    "-o",
    "--output",
    "--output-group-begin",
    "--output-group-end",
    "--sort",
    "-I",
    "--interval",
];

/// Options after which `task` runs no task.
const NOT_RUNNING: &[&str] = &[
    "-l",
    "--list",
    "-a",
    "--list-all",
    "--summary",
    "-n",
    "--dry",
    "-i",
    "--init",
    "--version",
    "-h",
    "--help",
    "--status",
    "--completion",
    "--experiments",
];

/// The arguments of one `task` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskArgs {
    pub tasks: Vec<String>,
    /// `-t`/`--taskfile`.
    pub taskfile: Option<String>,
    /// `-d`/`--dir`.
    pub dir: Option<String>,
    /// The words after `--` (`{{.CLI_ARGS}}`).
    pub cli_args: Vec<String>,
    pub runs: bool,
}

impl TaskArgs {
    pub(crate) fn parse(args: &[String]) -> TaskArgs {
        let mut out = TaskArgs {
            runs: true,
            ..TaskArgs::default()
        };
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            let arg = arg.as_str();
            if arg == "--" {
                out.cli_args = args[i..].to_vec();
                break;
            }
            if NOT_RUNNING.contains(&arg) {
                out.runs = false;
            } else if arg == "-t" || arg == "--taskfile" {
                out.taskfile = args.get(i).cloned();
                i += 1;
            } else if arg == "-d" || arg == "--dir" {
                out.dir = args.get(i).cloned();
                i += 1;
            } else if let Some(v) = arg.strip_prefix("--taskfile=") {
                out.taskfile = Some(v.to_string());
            } else if let Some(v) = arg.strip_prefix("--dir=") {
                out.dir = Some(v.to_string());
            } else if VALUED.contains(&arg) {
                i += 1;
            } else if arg.starts_with('-') || arg.contains('=') {
                // A flag, or a `VAR=value` override.
            } else {
                out.tasks.push(arg.to_string());
            }
        }
        out
    }
}

/// The tasks of a Taskfile; the words after `--` fill `{{.CLI_ARGS}}`.
pub(crate) fn parse(text: &str, cli_args: &[String]) -> Result<TaskFile, TaskError> {
    let doc = yaml::parse(text).map_err(|e| TaskError {
        line: e.line,
        message: e.message,
    })?;
    let globals = string_vars(yaml::get(&doc, "vars"));
    let Some(tasks) = yaml::get(&doc, "tasks").and_then(Value::as_mapping) else {
        return Ok(TaskFile::default());
    };
    let mut read = Vec::with_capacity(tasks.len());
    let tasks_line = lines::find_top_key(text, "tasks").unwrap_or(1);
    let mut cursor = tasks_line;
    for (key, value) in tasks {
        let Some(name) = yaml::scalar(key) else {
            continue;
        };
        // Tasks come in file order: each is searched for after the last.
        let line = lines::find_key_line(text, &name, cursor, 1).unwrap_or(cursor);
        cursor = line;
        let mut vars = globals.clone();
        vars.extend(string_vars(yaml::get(value, "vars")));
        vars.push(("CLI_ARGS".to_string(), cli_args.join(" ")));
        let mut task = Task {
            name: name.clone(),
            line,
            ..Task::default()
        };
        let cmds = match value {
            Value::String(_) | Value::Sequence(_) => Some(value),
            _ => yaml::get(value, "cmds").or_else(|| yaml::get(value, "cmd")),
        };
        let mut at = line;
        for item in cmds.map(as_items).unwrap_or_default() {
            match item {
                Item::Command(text_) => {
                    let filled = fill_vars(&text_, &vars);
                    let first = text_.lines().next().unwrap_or("");
                    at = lines::find_line(text, first, at).unwrap_or(at);
                    task.steps.push(Step::Command {
                        text: filled,
                        line: at,
                    });
                }
                Item::Task(name) => task.steps.push(Step::Task(name)),
            }
        }
        if let Some(deps) = yaml::get(value, "deps") {
            for item in as_items(deps) {
                match item {
                    Item::Task(name) | Item::Command(name) => task.deps.push(name),
                }
            }
        }
        if let Some(aliases) = yaml::get(value, "aliases") {
            task.aliases = yaml::string_list(aliases);
        }
        task.dir = yaml::get_str(value, "dir").map(|d| fill_vars(d, &vars));
        read.push(task);
    }
    let mut file = TaskFile::new(read, None);
    file.default_to_default();
    Ok(file)
}

enum Item {
    Command(String),
    Task(String),
}

/// The items of `cmds`/`deps`: strings, `{cmd: …}`, `{defer: …}` and
/// `{task: …}` maps.
fn as_items(value: &Value) -> Vec<Item> {
    let one = |item: &Value| -> Option<Item> {
        if let Some(text) = item.as_str() {
            return Some(Item::Command(text.to_string()));
        }
        if let Some(name) = yaml::get_str(item, "task") {
            return Some(Item::Task(name.to_string()));
        }
        let cmd = yaml::get(item, "cmd").or_else(|| yaml::get(item, "defer"))?;
        match cmd.as_str() {
            Some(text) => Some(Item::Command(text.to_string())),
            None => yaml::get_str(cmd, "task").map(|t| Item::Task(t.to_string())),
        }
    };
    match value {
        Value::Sequence(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// `vars:` entries whose value is a plain string (not `sh:` or a map).
fn string_vars(vars: Option<&Value>) -> Vec<(String, String)> {
    let Some(map) = vars.and_then(Value::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| Some((yaml::scalar(k)?, yaml::scalar(v)?)))
        .collect()
}

/// Replaces `{{.NAME}}` (spaces allowed) by the variables' values; the
/// last definition wins, as a task's own `vars` override the file's.
fn fill_vars(text: &str, vars: &[(String, String)]) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let inner = rest[open + 2..open + close].trim();
        out.push_str(&rest[..open]);
        let value = inner
            .strip_prefix('.')
            .and_then(|name| vars.iter().rev().find(|(k, _)| k == name))
            .map(|(_, v)| v.as_str());
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn reads_arguments() {
        let a = TaskArgs::parse(&words(
            "-d ml --taskfile=ci/Taskfile.yml test lint MODE=fast -- -k x",
        ));
        assert_eq!(a.tasks, ["test", "lint"]);
        assert_eq!(a.dir.as_deref(), Some("ml"));
        assert_eq!(a.taskfile.as_deref(), Some("ci/Taskfile.yml"));
        assert_eq!(a.cli_args, ["-k", "x"]);
        assert!(a.runs);
        assert!(!TaskArgs::parse(&words("--list")).runs);
        assert!(TaskArgs::parse(&[]).tasks.is_empty());
    }

    const TASKFILE: &str = r#"version: '3'

vars:
  TESTS: tests/unit

tasks:
  default:
    deps: [install]
    cmds:
      - task: test
      - python scripts/report.py

  install: uv sync

  test:
    aliases: [t]
    dir: ml
    vars:
      FLAGS: -x
    cmds:
      - cmd: pytest {{.TESTS}} {{.FLAGS}} {{.CLI_ARGS}}
      - defer: rm -rf .cache
      - echo {{.UNKNOWN}}

  lint:
    - ruff check .
    - mypy src
"#;

    #[test]
    fn reads_tasks_deps_calls_and_variables() {
        let file = parse(TASKFILE, &words("-k fast")).expect("parses");
        assert_eq!(file.default.as_deref(), Some("default"));
        let plan = file.plan(&[]);
        let got: Vec<String> = plan
            .commands
            .iter()
            .map(|c| format!("{}@{}:{}", c.text, c.line, c.dir.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                "uv sync@13:",
                "pytest tests/unit -x -k fast@21:ml",
                "rm -rf .cache@22:ml",
                "echo {{.UNKNOWN}}@23:ml",
                "python scripts/report.py@11:",
            ]
        );
        assert_eq!(file.task("t").map(|t| t.name.as_str()), Some("test"));
        assert_eq!(file.plan(&["lint".into()]).commands.len(), 2);
        assert_eq!(file.task("lint").map(|t| t.line), Some(25));
    }

    #[test]
    fn a_broken_taskfile_is_an_error() {
        let err = parse("tasks:\n  test:\n    cmds: [\n", &[]).expect_err("broken");
        assert!(err.line.is_some());
        assert!(parse("version: 3\n", &[])
            .expect("no tasks")
            .tasks
            .is_empty());
    }
}
