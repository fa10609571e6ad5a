//! nox: which commands `nox [-s session…] [-- posargs]` runs, read from the
//! `session.run(...)` calls of `noxfile.py`. Only string literals are taken;
//! an argument mlscore cannot evaluate is left out.

use std::sync::LazyLock;

use regex::Regex;

/// The arguments of one `nox` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NoxArgs {
    /// Sessions named with `-s`/`--session`/`-e`; empty means the default.
    pub sessions: Vec<String>,
    /// `-f`/`--noxfile`.
    pub noxfile: Option<String>,
    /// Arguments after `--`, for `*session.posargs`.
    pub posargs: Vec<String>,
}

impl NoxArgs {
    /// Reads nox's command-line arguments.
    pub(crate) fn parse(args: &[String]) -> NoxArgs {
        let mut out = NoxArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            i += 1;
            match arg {
                "--" => {
                    out.posargs = args[i..].to_vec();
                    break;
                }
                "-s" | "-e" | "--session" | "--sessions" => {
                    // One or more names, up to the next option.
                    while let Some(name) = args.get(i).filter(|a| !a.starts_with('-')) {
                        out.sessions.push(name.clone());
                        i += 1;
                    }
                }
                "-f" | "--noxfile" => {
                    out.noxfile = args.get(i).cloned();
                    i += 1;
                }
                "-p" | "--python" | "-k" | "--keywords" | "-t" | "--tags" | "--envdir" => i += 1,
                _ => {
                    if let Some(v) = arg.strip_prefix("--noxfile=") {
                        out.noxfile = Some(v.to_string());
                    } else if let Some(v) = arg
                        .strip_prefix("--session=")
                        .or_else(|| arg.strip_prefix("--sessions="))
                    {
                        out.sessions.push(v.to_string());
                    }
                }
            }
        }
        out
    }
}

/// One command a nox session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoxCommand {
    pub text: String,
    /// 1-based line of the `session.run(` call.
    pub line: usize,
    /// The session it belongs to.
    pub session: String,
}

struct Session {
    name: String,
    /// Lines of the function body: (1-based line, text).
    body: Vec<(usize, String)>,
    param: String,
}

static DEF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:async\s+)?def\s+(\w+)\s*\(\s*(\w+)").expect("valid regex"));
static NAME_KWARG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"name\s*=\s*["']([^"']+)["']"#).expect("valid regex"));
static DEFAULT_SESSIONS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^nox\.options\.sessions\s*=\s*\[([^\]]*)\]").expect("valid regex")
});

/// The commands of the selected sessions (all of them, or
/// `nox.options.sessions`, when none is named), following `session.notify`.
pub(crate) fn commands(noxfile: &str, selected: &[String], posargs: &[String]) -> Vec<NoxCommand> {
    let sessions = sessions(noxfile);
    let mut queue: Vec<String> = if selected.is_empty() {
        let defaults = DEFAULT_SESSIONS
            .captures(noxfile)
            .map(|c| string_literals(c.get(1).map_or("", |m| m.as_str())))
            .unwrap_or_default();
        if defaults.is_empty() {
            sessions.iter().map(|s| s.name.clone()).collect()
        } else {
            defaults
        }
    } else {
        selected.to_vec()
    };
    let mut out = Vec::new();
    let mut done: Vec<String> = Vec::new();
    let mut i = 0;
    while i < queue.len() && i < 64 {
        let wanted = queue[i].clone();
        i += 1;
        let Some(session) = sessions.iter().find(|s| selects(&wanted, &s.name)) else {
            continue;
        };
        if done.contains(&session.name) {
            continue;
        }
        done.push(session.name.clone());
        for (line, call, args) in calls(&session.body, &session.param) {
            if call == "notify" {
                queue.extend(args.into_iter().flatten());
                continue;
            }
            let argv: Vec<String> = args.into_iter().flatten().collect();
            let text = join_args(&argv, posargs);
            if !text.is_empty() {
                out.push(NoxCommand {
                    text,
                    line,
                    session: session.name.clone(),
                });
            }
        }
    }
    out
}

/// Whether `-s wanted` selects a session: exactly, or a parametrized or
/// per-Python variant of it (`tests-3.11`, `tests(django='4')`).
fn selects(wanted: &str, name: &str) -> bool {
    wanted == name
        || wanted
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('('))
}

/// The sessions of a noxfile: functions decorated with `@nox.session` (or a
/// `session` decorator of another import).
fn sessions(text: &str) -> Vec<Session> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let is_session = lines[i].starts_with('@')
            && (trimmed.starts_with("@nox.session")
                || trimmed.starts_with("@session")
                || trimmed.contains(".session"));
        if !is_session {
            i += 1;
            continue;
        }
        // The decorator may span lines; gather it up to the `def`.
        let mut decorator = String::new();
        while i < lines.len() && !DEF.is_match(lines[i]) {
            decorator.push_str(lines[i]);
            decorator.push(' ');
            i += 1;
        }
        let Some(caps) = lines.get(i).and_then(|l| DEF.captures(l)) else {
            break;
        };
        let function = caps.get(1).map_or("", |m| m.as_str()).to_string();
        let param = caps.get(2).map_or("session", |m| m.as_str()).to_string();
        let name = NAME_KWARG
            .captures(&decorator)
            .and_then(|c| c.get(1))
            .map_or(function, |m| m.as_str().to_string());
        i += 1;
        let mut body = Vec::new();
        while i < lines.len() {
            let line = lines[i];
            if !line.trim().is_empty() && !line.starts_with([' ', '\t', '#', ')']) {
                break;
            }
            body.push((i + 1, line.to_string()));
            i += 1;
        }
        out.push(Session { name, body, param });
    }
    out
}

/// `param.run(…)`, `param.run_always(…)` and `param.notify(…)` calls in a
/// body: (line, method, positional arguments). A positional argument is
/// `Some(text)` for a string literal and `None` for anything else; keyword
/// arguments are dropped.
fn calls(body: &[(usize, String)], param: &str) -> Vec<(usize, String, Vec<Option<String>>)> {
    let mut text = String::new();
    let mut starts = Vec::new(); // byte offset of each line in `text`
    for (line, content) in body {
        starts.push((text.len(), *line));
        text.push_str(content);
        text.push('\n');
    }
    let pattern = format!(r"\b{}\.(run|run_always|notify)\s*\(", regex::escape(param));
    let Ok(call) = Regex::new(&pattern) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for caps in call.captures_iter(&text) {
        let (Some(whole), Some(method)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let line = starts
            .iter()
            .rev()
            .find(|(offset, _)| *offset <= whole.start())
            .map_or(0, |(_, l)| *l);
        let args = arguments(&text[whole.end()..], param);
        out.push((line, method.as_str().to_string(), args));
    }
    out
}

/// Splits the arguments of a call whose text starts right after `(`.
fn arguments(text: &str, param: &str) -> Vec<Option<String>> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                current.push(c);
                // Copy the literal, escapes included.
                while let Some(d) = chars.next() {
                    current.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            current.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' if depth > 0 => {
                depth -= 1;
                current.push(c);
            }
            ')' => break,
            ',' if depth == 0 => args.push(std::mem::take(&mut current)),
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            _ => current.push(c),
        }
    }
    args.push(current);
    let posargs = format!("*{param}.posargs");
    args.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty() && !is_keyword_argument(a))
        .map(|a| {
            if a == posargs {
                Some(POSARGS.to_string())
            } else {
                literal(&a)
            }
        })
        .collect()
}

/// Placeholder for `*session.posargs`, replaced by the real posargs.
const POSARGS: &str = "\u{0}posargs";

/// `name=value` at the top level of an argument.
fn is_keyword_argument(arg: &str) -> bool {
    let Some(at) = arg.find('=') else {
        return false;
    };
    let name = arg[..at].trim();
    !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !arg[at + 1..].starts_with('=')
}

/// The value of a Python string literal (`"x"`, `'x'`, `r"x"`, `f"x"`).
fn literal(arg: &str) -> Option<String> {
    let body = arg.trim_start_matches(['r', 'R', 'f', 'F', 'u', 'U', 'b', 'B']);
    let quote = body.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let inner = body.strip_prefix(quote)?.strip_suffix(quote)?;
    Some(inner.replace("\\\"", "\"").replace("\\'", "'"))
}

/// String literals in a list's text.
fn string_literals(text: &str) -> Vec<String> {
    text.split(',')
        .filter_map(|item| literal(item.trim()))
        .collect()
}

/// The command text of one call: words shell-quoted, posargs spliced in.
fn join_args(argv: &[String], posargs: &[String]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for word in argv {
        if word == POSARGS {
            words.extend(posargs.iter().map(String::as_str));
        } else {
            words.push(word);
        }
    }
    shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOXFILE: &str = r#"import nox

nox.options.sessions = ["tests", "lint"]
LOCATIONS = ["src", "tests"]


@nox.session(python=["3.10", "3.11"])
def tests(session):
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/unit",  # the fast ones
        *session.posargs,
        env={"CI": "1"},
    )
    session.notify("coverage")


@nox.session(name="lint", reuse_venv=True)
def run_linters(s):
    s.run("ruff", "check", *LOCATIONS)


@nox.session
def coverage(session):
    session.run("coverage", "report")


@nox.session
def docs(session):
    session.run("sphinx-build", "docs", "docs/_build")
"#;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_sessions_and_notify() {
        let got = commands(NOXFILE, &[], &[]);
        let texts: Vec<(&str, usize, &str)> = got
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.session.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("pytest tests/unit", 10, "tests"),
                ("ruff check", 21, "lint"),
                ("coverage report", 26, "coverage")
            ]
        );
    }

    #[test]
    fn selected_sessions_and_posargs() {
        let got = commands(
            NOXFILE,
            &strings(&["tests-3.11"]),
            &strings(&["tests/data", "-x"]),
        );
        assert_eq!(got[0].text, "pytest tests/unit tests/data -x");
        let got = commands(NOXFILE, &strings(&["docs"]), &[]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "sphinx-build docs docs/_build");
    }

    #[test]
    fn parses_arguments() {
        let args = NoxArgs::parse(&strings(&[
            "-s",
            "lint",
            "tests",
            "-f",
            "ci/noxfile.py",
            "--",
            "-k",
            "x",
        ]));
        assert_eq!(args.sessions, ["lint", "tests"]);
        assert_eq!(args.noxfile.as_deref(), Some("ci/noxfile.py"));
        assert_eq!(args.posargs, ["-k", "x"]);
    }
}
