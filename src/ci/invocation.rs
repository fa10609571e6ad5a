//! What program a command line runs, once wrappers are peeled off:
//! `sudo`, `time`, `timeout 60`, `env`, `xvfb-run`, `poetry run`, `uv run`,
//! `conda run -n x`, `mise exec … --`, `direnv exec .`, `dotenv run --`,
//! `coverage run -m`, `python -m`, `bash -c '…'`, and leading
//! `VAR=value` assignments.

use std::collections::VecDeque;

/// A command line reduced to the program it runs and that program's arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Invocation {
    /// The program's file name (`pytest`, `make`, `python`, `deploy.sh`).
    pub program: String,
    /// The program token as written (`./scripts/deploy.sh`).
    pub program_token: String,
    /// Arguments after the program.
    pub args: Vec<String>,
    /// `python -m <module>` for a module that is not a known tool.
    pub module: Option<String>,
    /// Values of leading `VAR=value` assignments (they may name files).
    pub assigned: Vec<String>,
    /// The script of `bash -c '…'`.
    pub inline_script: Option<String>,
    /// The project tool whose `run` was peeled off (`hatch`, `pdm`, `pixi`,
    /// `rye`): its project file may define the program as a task.
    pub via: Option<&'static str>,
}

impl Invocation {
    /// The program a command line comes down to once no wrapper is left to
    /// peel, with the words after it as its arguments.
    fn running(
        program: String,
        program_token: String,
        args: VecDeque<String>,
        assigned: Vec<String>,
    ) -> Invocation {
        Invocation {
            program,
            program_token,
            args: args.into(),
            assigned,
            ..Default::default()
        }
    }
}

/// Python modules that are tools mlscore follows by name, and the program
/// name they stand for.
const PYTHON_TOOLS: &[(&str, &str)] = &[
    ("pytest", "pytest"),
    ("py.test", "pytest"),
    ("unittest", "unittest"),
    ("coverage", "coverage"),
    ("tox", "tox"),
    ("nox", "nox"),
    ("pre_commit", "pre-commit"),
    ("dvc", "dvc"),
    ("great_expectations", "great_expectations"),
    ("poethepoet", "poe"),
    ("invoke", "invoke"),
    ("mlscore", "mlscore"),
];

/// Splits a command into words like a shell would (quotes removed), falling
/// back to whitespace for text the tokenizer rejects, and drops redirections.
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let words =
        shlex::split(text).unwrap_or_else(|| text.split_whitespace().map(str::to_string).collect());
    let mut out = Vec::with_capacity(words.len());
    let mut skip_next = false;
    for word in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        let redirect = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
        if redirect.starts_with('>') || redirect.starts_with('<') {
            // `>`, `2>>`, `<` take the next word; `>out.txt`, `2>&1` carry it.
            skip_next = redirect.trim_start_matches(['>', '<']).is_empty();
            continue;
        }
        out.push(word);
    }
    out
}

/// Reduces a command line to the program it runs; `None` for an empty line.
pub(crate) fn parse(text: &str) -> Option<Invocation> {
    let mut words: VecDeque<String> = tokenize(text).into();
    let mut assigned = Vec::new();
    let mut via = None;
    // Each round peels one wrapper; the bound guards against odd input.
    for _ in 0..16 {
        while let Some(value) = words
            .front()
            .and_then(|w| assignment(w))
            .map(|(_, value)| value.to_string())
        {
            assigned.push(value);
            words.pop_front();
        }
        let first = words.front()?.clone();
        let name = program_name(&first);
        let second = words.get(1).map(String::as_str);
        match name.as_str() {
            "sudo" => {
                words.pop_front();
                skip_flags(
                    &mut words,
                    &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
                );
            }
            "time" | "nohup" | "exec" | "command" | "builtin" | "stdbuf" | "unbuffer" => {
                words.pop_front();
                skip_flags(&mut words, &[]);
            }
            "nice" => {
                words.pop_front();
                skip_flags(&mut words, &["-n"]);
            }
            "timeout" => {
                words.pop_front();
                skip_flags(&mut words, &["-s", "-k", "--signal", "--kill-after"]);
                words.pop_front(); // the duration
            }
            "env" => {
                words.pop_front();
                skip_flags(&mut words, &["-u", "-C", "--unset", "--chdir"]);
            }
            "xvfb-run" => {
                words.pop_front();
                skip_flags(
                    &mut words,
                    &[
                        "-s",
                        "-n",
                        "-e",
                        "-f",
                        "-w",
                        "-p",
                        "--server-args",
                        "--server-num",
                        "--error-file",
                        "--auth-file",
                        "--wait",
                    ],
                );
            }
            "poetry" | "pipenv" | "pdm" | "hatch" | "uv" | "rye" | "pixi" | "pipx"
                if second == Some("run") =>
            {
                via = match name.as_str() {
                    "pdm" => Some("pdm"),
                    "hatch" => Some("hatch"),
                    "rye" => Some("rye"),
                    "pixi" => Some("pixi"),
                    _ => via,
                };
                words.pop_front();
                words.pop_front();
                skip_flags(
                    &mut words,
                    &[
                        "--with",
                        "--python",
                        "-p",
                        "--extra",
                        "--group",
                        "--only-group",
                        "--env-file",
                        "--package",
                        "--directory",
                        "--project",
                        "--index",
                        "--with-requirements",
                        "-e",
                        "--env",
                        "--spec",
                        "--environment",
                    ],
                );
            }
            "uvx" => {
                words.pop_front();
                skip_flags(&mut words, &["--from", "--with", "--python", "-p"]);
            }
            // `mise exec [tool@version…] -- cmd`: the tools are set up, then
            // the command after `--` runs.
            "mise" if matches!(second, Some("exec" | "x")) => {
                words.pop_front();
                words.pop_front();
                let dash = words.iter().position(|w| w == "--")?;
                words.drain(..=dash);
            }
            "direnv" if second == Some("exec") => {
                words.pop_front();
                words.pop_front();
                words.pop_front(); // the folder whose .envrc is loaded
            }
            "dotenv" if second == Some("run") => {
                words.pop_front();
                words.pop_front();
                skip_flags(&mut words, &["-f", "--file", "-o", "--override"]);
            }
            "conda" | "mamba" | "micromamba" if second == Some("run") => {
                words.pop_front();
                words.pop_front();
                skip_flags(&mut words, &["-n", "--name", "-p", "--prefix", "--cwd"]);
            }
            "coverage" if second == Some("run") => {
                words.pop_front();
                words.pop_front();
                skip_flags_until(
                    &mut words,
                    "-m",
                    &[
                        "--rcfile",
                        "--source",
                        "--omit",
                        "--include",
                        "--concurrency",
                        "--context",
                        "--data-file",
                    ],
                );
                // `coverage run -m x` is `python -m x`, `coverage run s.py` is `python s.py`.
                words.push_front("python".to_string());
            }
            "-c" => {
                // An argv list such as Kubernetes `args: ["-c", "pytest …"]`.
                words.pop_front();
                let script = words.pop_front()?;
                return Some(Invocation {
                    program: "sh".into(),
                    inline_script: Some(script),
                    assigned,
                    ..Default::default()
                });
            }
            _ if is_python(&name) => {
                words.pop_front();
                while let Some(flag) = words.front().cloned() {
                    if !flag.starts_with('-') || flag == "-m" {
                        break;
                    }
                    words.pop_front();
                    if flag == "-c" {
                        // Inline Python: nothing mlscore can follow.
                        return Some(Invocation {
                            program: name,
                            program_token: first,
                            assigned,
                            ..Default::default()
                        });
                    }
                    if flag == "-W" || flag == "-X" {
                        words.pop_front();
                    }
                }
                if words.front().map(String::as_str) == Some("-m") {
                    words.pop_front();
                    let module = words.pop_front()?;
                    if let Some((_, tool)) = PYTHON_TOOLS.iter().find(|(m, _)| *m == module) {
                        words.push_front((*tool).to_string());
                        continue;
                    }
                    return Some(Invocation {
                        module: Some(module),
                        ..Invocation::running(name, first, words, assigned)
                    });
                }
                return Some(Invocation::running(name, first, words, assigned));
            }
            "bash" | "sh" | "zsh" | "dash" | "ksh" => {
                words.pop_front();
                while let Some(flag) = words.front().cloned() {
                    if !flag.starts_with('-') && !flag.starts_with('+') {
                        break;
                    }
                    words.pop_front();
                    if flag == "-o" || flag == "+o" {
                        words.pop_front();
                    } else if !flag.starts_with("--") && flag.contains('c') {
                        let script = words.pop_front()?;
                        return Some(Invocation {
                            program: name,
                            program_token: first,
                            inline_script: Some(script),
                            assigned,
                            ..Default::default()
                        });
                    }
                }
                return Some(Invocation::running(name, first, words, assigned));
            }
            _ => {
                words.pop_front();
                return Some(Invocation {
                    via,
                    ..Invocation::running(name, first, words, assigned)
                });
            }
        }
    }
    None
}

/// The name and value of a `VAR=value` word, if it is one.
pub(super) fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value))
}

/// The program's file name, lower-cased, without a Windows `.exe`.
fn program_name(token: &str) -> String {
    let name = token
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(token)
        .to_ascii_lowercase();
    name.strip_suffix(".exe")
        .map(str::to_string)
        .unwrap_or(name)
}

/// `python`, `python3`, `python3.11`, `py`, `pypy3`.
fn is_python(name: &str) -> bool {
    ["python", "pypy"].iter().any(|stem| {
        name.strip_prefix(stem)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    }) || name == "py"
}

/// Drops leading flags; those in `with_value` also drop the next word.
fn skip_flags(words: &mut VecDeque<String>, with_value: &[&str]) {
    while let Some(flag) = words.front().cloned() {
        if !flag.starts_with('-') || flag == "-" {
            break;
        }
        words.pop_front();
        if flag == "--" {
            break;
        }
        if with_value.contains(&flag.as_str()) {
            words.pop_front();
        }
    }
}

/// Like [`skip_flags`] but stops before `stop`.
fn skip_flags_until(words: &mut VecDeque<String>, stop: &str, with_value: &[&str]) {
    while let Some(flag) = words.front().cloned() {
        if !flag.starts_with('-') || flag == stop {
            break;
        }
        words.pop_front();
        if with_value.contains(&flag.as_str()) {
            words.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program_and_args(text: &str) -> (String, Vec<String>) {
        let inv = parse(text).expect("a program");
        (inv.program, inv.args)
    }

    #[test]
    fn peels_wrappers() {
        assert_eq!(
            program_and_args("sudo -E timeout 600 env CUDA=0 xvfb-run -a pytest tests"),
            ("pytest".into(), vec!["tests".into()])
        );
        assert_eq!(
            program_and_args("poetry run python -m pytest -q tests/data"),
            ("pytest".into(), vec!["-q".into(), "tests/data".into()])
        );
        assert_eq!(
            program_and_args("uv run --frozen --with x make test").0,
            "make"
        );
        assert_eq!(
            program_and_args("conda run -n ml --no-capture-output tox -e py311").0,
            "tox"
        );
        assert_eq!(
            program_and_args("time python3 -u -W ignore -m coverage run --branch -m pytest tests")
                .0,
            "pytest"
        );
        assert_eq!(
            program_and_args("coverage run scripts/train.py --epochs 1"),
            (
                "python".into(),
                vec!["scripts/train.py".into(), "--epochs".into(), "1".into()]
            )
        );
        assert_eq!(program_and_args("./bin/mlscore.exe ci").0, "mlscore");
        assert_eq!(
            program_and_args("python -m pre_commit run --all-files").0,
            "pre-commit"
        );
        assert_eq!(
            program_and_args("mise exec python@3.12 -- pytest tests/data"),
            ("pytest".into(), vec!["tests/data".into()])
        );
        assert_eq!(program_and_args("mise x -- make train").0, "make");
        assert_eq!(program_and_args("direnv exec . pytest").0, "pytest");
        assert_eq!(
            program_and_args("dotenv run -- python train.py"),
            ("python".into(), vec!["train.py".into()])
        );
    }

    #[test]
    fn keeps_assignments_and_modules() {
        let inv = parse("CONFIG=configs/train.yaml python -m pipeline.train --fast").unwrap();
        assert_eq!(inv.assigned, ["configs/train.yaml"]);
        assert_eq!(inv.module.as_deref(), Some("pipeline.train"));
        assert_eq!(inv.args, ["--fast"]);
    }

    #[test]
    fn inline_scripts() {
        let inv = parse("bash -ec 'pytest tests && make lint'").unwrap();
        assert_eq!(
            inv.inline_script.as_deref(),
            Some("pytest tests && make lint")
        );
        assert_eq!(
            parse("-c 'pytest x'").unwrap().inline_script.as_deref(),
            Some("pytest x")
        );
        let inv = parse("bash -o pipefail deploy/run.sh").unwrap();
        assert_eq!(
            (inv.program.as_str(), inv.args.as_slice()),
            ("bash", &["deploy/run.sh".to_string()][..])
        );
        assert_eq!(
            parse("python -c 'import x'").unwrap().args,
            Vec::<String>::new()
        );
    }

    #[test]
    fn drops_redirections() {
        assert_eq!(
            tokenize("pytest tests > out.txt 2>&1 <in.txt"),
            ["pytest", "tests"]
        );
        assert_eq!(tokenize("echo 'unbalanced"), ["echo", "'unbalanced"]);
    }

    #[test]
    fn empty_or_dangling_input() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("FOO=1"), None);
        assert_eq!(parse("python -m"), None);
        assert_eq!(parse("timeout"), None);
    }
}
