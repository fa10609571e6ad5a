//! Task runners CI calls by task name — `just`, `task` (Taskfile), `mise
//! run`, `poe`, `invoke`, and the scripts of `hatch run`, `pdm run`, `pixi
//! run` and `rye run`. Each runner's file is read into one shape, a [`TaskFile`] of
//! named [`Task`]s, and [`TaskFile::plan`] turns the tasks a command asks
//! for into the command lines they run, dependencies first. What a runner
//! would compute at run time (a variable, an expression) is left as written.

pub(crate) mod invoke;
pub(crate) mod just;
pub(crate) mod mise;
pub(crate) mod pyproject;
pub(crate) mod run;
pub(crate) mod taskfile;
mod toml_spans;

/// One task of a task runner's file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Task {
    pub name: String,
    /// Other names the task answers to (mise's `alias`, just's `alias x := y`).
    pub aliases: Vec<String>,
    /// Tasks run before this one, in order.
    pub deps: Vec<String>,
    /// What the task runs, in order.
    pub steps: Vec<Step>,
    /// The folder its commands run in, relative to the task file's folder;
    /// `None` is the runner's default.
    pub dir: Option<String>,
    /// Where the task is defined (1-based).
    pub line: usize,
    /// The file it is defined in, when several files' tasks are merged
    /// (mise); `None` is the file being read.
    pub source: Option<String>,
}

/// One thing a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Shell command lines, the first written at `line` (several lines are
    /// split as a shell would).
    Command { text: String, line: usize },
    /// Another task of the same file, run at this point.
    Task(String),
    /// A Python callable, `pkg.module:function` (poe's `script`, pdm's
    /// `call`), run in the runner's environment.
    Call { target: String, line: usize },
}

/// A task runner's file, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TaskFile {
    pub tasks: Vec<Task>,
    /// The task run when none is named (just's first recipe, Taskfile's
    /// `default`).
    pub default: Option<String>,
    /// Each name and alias → its task, the first definition winning: a file
    /// of thousands of tasks is looked up once per dependency and command.
    names: std::collections::HashMap<String, usize>,
}

/// A task file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskError {
    pub line: Option<usize>,
    pub message: String,
}

/// A command a planned task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub text: String,
    pub line: usize,
    /// The task's folder, relative to the task file's folder.
    pub dir: Option<String>,
    /// The file the command is written in; `None` is the task file read.
    pub source: Option<String>,
}

/// The commands of the tasks asked for, and the names that are no task.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub commands: Vec<Planned>,
    pub calls: Vec<(String, usize)>,
    pub missing: Vec<String>,
}

/// The names one plan has met: each task runs once, each missing name is
/// reported once.
#[derive(Default)]
struct Seen {
    tasks: std::collections::HashSet<String>,
    missing: std::collections::HashSet<String>,
}

/// Tasks one plan visits at most: a guard against generated monsters (each
/// task is visited once, so this also bounds the commands).
const MAX_TASKS: usize = 10_000;
/// How deeply tasks may call tasks.
const MAX_NESTING: usize = 32;

impl TaskFile {
    /// The tasks, looked up by name and then by alias; of two tasks with one
    /// name the first is kept (an inner folder's over an outer one's).
    pub(crate) fn new(tasks: Vec<Task>, default: Option<String>) -> TaskFile {
        let mut names = std::collections::HashMap::with_capacity(tasks.len());
        for (i, task) in tasks.iter().enumerate() {
            names.entry(task.name.clone()).or_insert(i);
        }
        for (i, task) in tasks.iter().enumerate() {
            for alias in &task.aliases {
                names.entry(alias.clone()).or_insert(i);
            }
        }
        TaskFile {
            tasks,
            default,
            names,
        }
    }

    /// Makes a task named `default`, when there is one, what runs when no
    /// task is named (mise, Taskfile).
    pub(crate) fn default_to_default(&mut self) {
        if self.names.contains_key("default") {
            self.default = Some("default".to_string());
        }
    }

    /// The task named or aliased `name`.
    pub(crate) fn task(&self, name: &str) -> Option<&Task> {
        self.names.get(name).and_then(|&i| self.tasks.get(i))
    }

    /// What running `names` (or the default task when empty) runs: each
    /// task's dependencies first, each task once, as the runners do.
    pub(crate) fn plan(&self, names: &[String]) -> Plan {
        let mut plan = Plan::default();
        let mut seen = Seen::default();
        let default: Vec<String> = self.default.iter().cloned().collect();
        let names = if names.is_empty() { &default } else { names };
        for name in names {
            self.visit(name, 0, &mut seen, &mut plan);
        }
        plan
    }

    fn visit(&self, name: &str, nesting: usize, seen: &mut Seen, plan: &mut Plan) {
        let Some(task) = self.task(name) else {
            if seen.missing.insert(name.to_string()) {
                plan.missing.push(name.to_string());
            }
            return;
        };
        if nesting > MAX_NESTING
            || seen.tasks.len() >= MAX_TASKS
            || !seen.tasks.insert(task.name.clone())
        {
            return;
        }
        for dep in &task.deps {
            self.visit(dep, nesting + 1, seen, plan);
        }
        for step in &task.steps {
            match step {
                Step::Command { text, line } => plan.commands.push(Planned {
                    text: text.clone(),
                    line: *line,
                    dir: task.dir.clone(),
                    source: task.source.clone(),
                }),
                Step::Task(other) => self.visit(other, nesting + 1, seen, plan),
                Step::Call { target, line } => plan.calls.push((target.clone(), *line)),
            }
        }
    }
}

/// Puts a task's arguments in place of `{args}` and `{args:default}`
/// placeholders, or after the command when it has none: what hatch, pdm and
/// poe do with the words after a script's name.
pub(crate) fn fill_args(command: &str, args: &[String]) -> String {
    let joined = args.join(" ");
    let mut out = String::with_capacity(command.len() + joined.len() + 1);
    let mut rest = command;
    let mut filled = false;
    while let Some(at) = rest.find("{args") {
        let after = &rest[at + 5..];
        // `{args}` or `{args:default words}` (hatch); `{argsx…` is text.
        // Only a placeholder is searched to its `}`, so text with many
        // `{argsx` is read once.
        let (default, end) = if after.starts_with('}') {
            ("", 0)
        } else if let Some(default) = after.strip_prefix(':') {
            let Some(end) = default.find('}') else { break };
            (&default[..end], end + 1)
        } else {
            out.push_str(&rest[..at + 5]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..at]);
        out.push_str(if args.is_empty() { default } else { &joined });
        rest = &after[end + 1..];
        filled = true;
    }
    out.push_str(rest);
    if !filled && !args.is_empty() {
        out.push(' ');
        out.push_str(&joined);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str, line: usize) -> Step {
        Step::Command {
            text: text.into(),
            line,
        }
    }

    fn file() -> TaskFile {
        TaskFile::new(
            vec![
                Task {
                    name: "test".into(),
                    aliases: vec!["t".into()],
                    deps: vec!["install".into()],
                    steps: vec![command("pytest tests", 3)],
                    dir: Some("ml".into()),
                    line: 2,
                    source: None,
                },
                Task {
                    name: "install".into(),
                    steps: vec![command("uv sync", 6)],
                    line: 5,
                    ..Task::default()
                },
                Task {
                    name: "ci".into(),
                    deps: vec!["install".into()],
                    steps: vec![
                        Step::Task("test".into()),
                        Step::Call {
                            target: "pkg.jobs:train".into(),
                            line: 9,
                        },
                        Step::Task("ci".into()),
                    ],
                    line: 8,
                    ..Task::default()
                },
            ],
            Some("ci".into()),
        )
    }

    fn texts(plan: &Plan) -> Vec<&str> {
        plan.commands.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn plans_dependencies_first_and_each_task_once() {
        let f = file();
        let plan = f.plan(&[]);
        assert_eq!(texts(&plan), ["uv sync", "pytest tests"]);
        assert_eq!(plan.commands[1].dir.as_deref(), Some("ml"));
        assert_eq!(plan.commands[1].line, 3);
        assert_eq!(plan.calls, [("pkg.jobs:train".to_string(), 9)]);
        assert!(plan.missing.is_empty());

        let plan = f.plan(&["t".into(), "lint".into(), "lint".into()]);
        assert_eq!(texts(&plan), ["uv sync", "pytest tests"]);
        assert_eq!(plan.missing, ["lint"]);
    }

    #[test]
    fn arguments_fill_placeholders_or_follow_the_command() {
        let args = ["tests/unit".to_string(), "-x".to_string()];
        assert_eq!(fill_args("pytest {args}", &args), "pytest tests/unit -x");
        assert_eq!(fill_args("pytest", &args), "pytest tests/unit -x");
        assert_eq!(fill_args("pytest {args:tests}", &[]), "pytest tests");
        assert_eq!(
            fill_args("pytest {args:tests} -q", &args),
            "pytest tests/unit -x -q"
        );
        assert_eq!(fill_args("echo {argsx} {args}", &[]), "echo {argsx} ");
        assert_eq!(fill_args("echo {args", &[]), "echo {args");
        assert_eq!(fill_args("echo {args:x", &[]), "echo {args:x");
        // Text with many `{argsx` and one `}` at its end is read once.
        let text = format!("{}}}", "{argsx".repeat(1000));
        assert_eq!(fill_args(&text, &[]), text);
    }
}
