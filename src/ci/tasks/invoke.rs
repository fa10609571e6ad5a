//! Invoke (`tasks.py`): `invoke task [--flag value] [task …]` (also `inv`,
//! `python -m invoke`) runs each task's `pre` tasks, the commands of its
//! body — `c.run("…")` (or `sudo`) with a string literal; an f-string or a
//! variable is left out — and the tasks it calls, then its `post` tasks.
//! Tasks are named as invoke names them, `build_docs` as `build-docs`.
//! Python is read, never run; `with c.cd(…)` blocks are not followed (their
//! commands are placed in the folder invoke was run from).

use super::super::pipelines::pysrc;
use super::{Step, Task, TaskError, TaskFile};

/// Options of invoke itself that take a value.
const VALUED: &[&str] = &[
    "-c",
    "--collection",
    "-r",
    "--search-root",
    "-f",
    "--config",
    "-D",
    "--list-depth",
    "-F",
    "--list-format",
    "-T",
    "--command-timeout",
    "--hide",
];

/// Options after which invoke runs no task.
const NOT_RUNNING: &[&str] = &[
    "-l",
    "--list",
    "-h",
    "--help",
    "-V",
    "--version",
    "--complete",
    "--print-completion-script",
    "-R",
    "--dry",
];

/// The arguments of one `invoke` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct InvokeArgs {
    /// `-c`/`--collection`: the tasks module's name (`tasks`).
    pub collection: Option<String>,
    /// `-r`/`--search-root`.
    pub root: Option<String>,
    /// The words after invoke's own options: task names and their flags,
    /// told apart once the tasks are known ([`task_names`]).
    pub words: Vec<String>,
    pub runs: bool,
}

impl InvokeArgs {
    pub(crate) fn parse(args: &[String]) -> InvokeArgs {
        let mut out = InvokeArgs {
            runs: true,
            ..InvokeArgs::default()
        };
        let mut i = 0;
        while let Some(arg) = args.get(i).filter(|a| a.starts_with('-')) {
            i += 1;
            let arg = arg.as_str();
            if NOT_RUNNING.contains(&arg) {
                out.runs = false;
            } else if arg == "-c" || arg == "--collection" {
                out.collection = args.get(i).cloned();
                i += 1;
            } else if arg == "-r" || arg == "--search-root" {
                out.root = args.get(i).cloned();
                i += 1;
            } else if VALUED.contains(&arg) {
                i += 1;
            }
        }
        out.words = args[i.min(args.len())..].to_vec();
        out
    }
}

/// The tasks named among `words`: a word that is a task starts one; the
/// others are flags of the task before it and their values (a flag's value
/// that is also a task's name is taken for the task).
pub(crate) fn task_names(file: &TaskFile, words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = words
        .iter()
        .filter(|w| !w.starts_with('-') && file.task(w).is_some())
        .cloned()
        .collect();
    // The first word names a task even when no task has that name, so that
    // it is reported missing.
    if let Some(first) = words
        .first()
        .filter(|w| !w.starts_with('-') && file.task(w).is_none())
    {
        out.insert(0, first.clone());
    }
    out
}

/// A task's name as invoke gives it: `build_docs` is `build-docs`.
fn dashed(name: &str) -> String {
    name.trim_matches('_').replace('_', "-")
}

/// The tasks of a `tasks.py`.
pub(crate) fn parse(text: &str) -> Result<TaskFile, TaskError> {
    let source = pysrc::parse(text);
    if let Some(line) = source.unclosed {
        return Err(TaskError {
            line: Some(line),
            message: "a bracket or string opened here is never closed".to_string(),
        });
    }
    let defs = pysrc::defs(&source);
    let tasks: Vec<&pysrc::Def> = defs
        .iter()
        .filter(|d| !d.is_class && d.indent == 0 && d.decorated(&["task"]).is_some())
        .collect();
    let names: std::collections::HashSet<&str> = tasks.iter().map(|d| d.name.as_str()).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for def in tasks {
        let mut task = Task {
            name: dashed(&def.name),
            line: def.line,
            ..Task::default()
        };
        if def.name.contains('_') {
            task.aliases.push(def.name.clone());
        }
        let decorator = def.decorated(&["task"]).unwrap_or("");
        let mut post = Vec::new();
        if let Some(call) = pysrc::calls(decorator, &["task"]).into_iter().next() {
            let listed = |key: &str| -> Vec<String> {
                call.kwarg(key)
                    .map(|list| {
                        list.trim_matches(|c| c == '[' || c == ']' || c == '(' || c == ')')
                            .split(',')
                            .map(str::trim)
                            .filter(|n| names.contains(n))
                            .map(dashed)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            task.deps = listed("pre");
            // `@task(lint, build)`: positional tasks run before.
            task.deps.extend(
                (0..)
                    .map_while(|n| call.positional(n))
                    .map(str::trim)
                    .filter(|n| names.contains(n))
                    .map(dashed),
            );
            post = listed("post");
            task.aliases.extend(
                call.kwarg("aliases")
                    .and_then(pysrc::string_list)
                    .unwrap_or_default(),
            );
        }
        for stmt in source.stmts.get(def.body.clone()).unwrap_or(&[]) {
            for call in pysrc::calls(&stmt.text, &[]) {
                let is_run = matches!(call.name(), "run" | "sudo") && call.callee.contains('.');
                if is_run {
                    if let Some(command) = call.positional(0).and_then(pysrc::string) {
                        task.steps.push(Step::Command {
                            text: command,
                            line: stmt.line,
                        });
                    }
                } else if !call.callee.contains('.') && names.contains(call.callee) {
                    task.steps.push(Step::Task(dashed(call.callee)));
                }
            }
        }
        task.steps.extend(post.into_iter().map(Step::Task));
        out.push(task);
    }
    Ok(TaskFile::new(out, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASKS: &str = "\
from invoke import task

@task
def lint(c):
    c.run(\"ruff check .\")

@task(pre=[lint], post=[report], aliases=[\"t\"])
def test(c, coverage=False):
    c.run(\"pytest tests/data\", pty=True)
    c.run(f\"pytest {coverage}\")

@task
def report(ctx):
    ctx.run('python scripts/report.py')

@task(lint)
def build_docs(c):
    test(c)
    c.sudo(\"make docs\")

def helper(c):
    c.run(\"not a task\")
";

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn reads_tasks_pre_post_calls_and_commands() {
        let file = parse(TASKS).expect("parses");
        let plan = |w: &str| {
            let names = task_names(&file, &words(w));
            file.plan(&names)
                .commands
                .into_iter()
                .map(|c| format!("{}@{}", c.text, c.line))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            plan("test --coverage"),
            [
                "ruff check .@5",
                "pytest tests/data@9",
                "python scripts/report.py@14"
            ]
        );
        assert_eq!(plan("t"), plan("test"));
        // `build_docs` is `build-docs`; it calls `test` and runs `make`.
        assert_eq!(
            plan("build-docs"),
            [
                "ruff check .@5",
                "pytest tests/data@9",
                "python scripts/report.py@14",
                "make docs@19"
            ]
        );
        assert_eq!(plan("build_docs").len(), 4);
        assert!(file.task("helper").is_none());
        let missing = file.plan(&task_names(&file, &words("deploy --now")));
        assert_eq!(missing.missing, ["deploy"]);
    }

    #[test]
    fn reads_arguments() {
        let a = InvokeArgs::parse(&words("-c ci_tasks -r ml --echo test --coverage lint"));
        assert_eq!(a.collection.as_deref(), Some("ci_tasks"));
        assert_eq!(a.root.as_deref(), Some("ml"));
        assert_eq!(a.words, words("test --coverage lint"));
        assert!(a.runs);
        assert!(!InvokeArgs::parse(&words("--list")).runs);
    }

    #[test]
    fn an_unclosed_bracket_is_an_error_with_its_line() {
        let err = parse("from invoke import task\n\n@task\ndef t(c):\n    c.run(\"x\"\n")
            .expect_err("open");
        assert_eq!(err.line, Some(5));
    }
}
