//! tox: which commands `tox [-e envs] [-- posargs]` runs, from `tox.ini`, the
//! `legacy_tox_ini` string of `pyproject.toml`, or tox 4's TOML (`tox.toml`,
//! `[tool.tox]`).

use super::ini::{Ini, Section};
use super::lines;

/// The arguments of one `tox` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ToxArgs {
    /// Environments named with `-e` (comma lists split); empty means the default list.
    pub envs: Vec<String>,
    /// `-c` configuration file or directory.
    pub config: Option<String>,
    /// Arguments after `--`, substituted for `{posargs}`.
    pub posargs: Vec<String>,
}

impl ToxArgs {
    /// Reads tox's command-line arguments.
    pub(crate) fn parse(args: &[String]) -> ToxArgs {
        let mut out = ToxArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            i += 1;
            if arg == "--" {
                out.posargs = args[i..].to_vec();
                break;
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (arg, None),
            };
            let mut value = || {
                inline.clone().or_else(|| {
                    let v = args.get(i).cloned();
                    i += 1;
                    v
                })
            };
            match flag {
                "-e" | "--env" => out.envs.extend(value().iter().flat_map(|v| split_list(v))),
                "-c" | "--conf" | "--configfile" => out.config = value(),
                "-m" | "-f" | "-x" | "--override" | "--root" | "--workdir" | "--installpkg" => {
                    value();
                }
                // `-p` takes an optional worker count.
                "-p" | "--parallel"
                    if args
                        .get(i)
                        .is_some_and(|v| v == "auto" || v == "all" || v.parse::<u32>().is_ok()) =>
                {
                    i += 1;
                }
                _ if flag.starts_with("-e") && flag.len() > 2 => {
                    out.envs.extend(split_list(&flag[2..]))
                }
                _ => {}
            }
        }
        out
    }
}

/// One command a tox environment runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToxCommand {
    pub text: String,
    /// 1-based line in the configuration file.
    pub line: usize,
    /// The environment's `changedir`, relative to the configuration's directory.
    pub changedir: Option<String>,
}

/// The commands of the selected environments in an INI configuration.
pub(crate) fn ini_commands(ini: &Ini, envs: &[String], posargs: &[String]) -> Vec<ToxCommand> {
    let base = ini.section("testenv");
    let envs = if envs.is_empty() || envs.iter().any(|e| e.eq_ignore_ascii_case("all")) {
        let list = ini
            .section("tox")
            .and_then(|s| s.get("envlist").or_else(|| s.get("env_list")))
            .map(|e| {
                e.lines
                    .iter()
                    .flat_map(|(l, _)| split_list(l))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if list.is_empty() {
            vec!["py".to_string()]
        } else {
            list
        }
    } else {
        envs.to_vec()
    };
    let posargs = shlex::try_join(posargs.iter().map(String::as_str)).unwrap_or_default();
    let mut out = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for env in &envs {
        let own = ini.section(&format!("testenv:{env}"));
        let section_name = own.map_or("testenv", |s| s.name.as_str());
        if done.contains(&section_name) {
            continue;
        }
        done.push(section_name);
        let lookup = |key: &str| {
            own.and_then(|s| s.get(key))
                .or_else(|| base.and_then(|s| s.get(key)))
        };
        let changedir = lookup("changedir")
            .or_else(|| lookup("change_dir"))
            .map(|e| {
                substitute(&e.joined(), "")
                    .trim_start_matches("./")
                    .to_string()
            });
        for key in ["commands_pre", "commands", "commands_post"] {
            let Some(entry) = lookup(key) else { continue };
            for (text, line) in expand_refs(ini, &entry.lines, 0) {
                if let Some(text) = clean_line(&text, &posargs) {
                    out.push(ToxCommand {
                        text,
                        line,
                        changedir: changedir.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Inlines `{[section]key}` references (a whole command line naming another
/// section's commands) and joins `\` continuations.
fn expand_refs(ini: &Ini, value: &[(String, usize)], depth: usize) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    for (text, line) in value {
        let (mut acc, start) = match pending.take() {
            Some((acc, start)) => (format!("{} {text}", acc.trim_end()), start),
            None => (text.clone(), *line),
        };
        if acc.ends_with('\\') {
            acc.pop();
            pending = Some((acc, start));
            continue;
        }
        if let Some(inner) = acc.strip_prefix("{[").and_then(|r| r.strip_suffix('}')) {
            if let Some((section, key)) = inner.split_once(']') {
                let target = ini.section(section).and_then(|s: &Section| s.get(key));
                if let Some(entry) = target.filter(|_| depth < 4) {
                    out.extend(expand_refs(ini, &entry.lines, depth + 1));
                }
                continue;
            }
        }
        out.push((acc, start));
    }
    out.extend(pending);
    out
}

/// Strips tox's per-line prefixes (`-` ignore errors, `!` invert, `py38:`
/// factor conditions) and substitutes the placeholders mlscore can know.
fn clean_line(text: &str, posargs: &str) -> Option<String> {
    let mut t = text.trim();
    if let Some((factor, rest)) = t.split_once(": ") {
        if !factor.is_empty()
            && factor
                .chars()
                .all(|c| c.is_alphanumeric() || "{},!-_.".contains(c))
        {
            t = rest.trim();
        }
    }
    let t = t.trim_start_matches(['-', '!']).trim();
    let t = substitute(t, posargs);
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Replaces `{posargs}`, `{posargs:default}`, `{toxinidir}`, `{envpython}`,
/// `{envbindir}/` and `{env:X:default}`; other placeholders stay as written.
fn substitute(text: &str, posargs: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = matching_brace(after) else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let replacement = if inner == "posargs" {
            posargs.to_string()
        } else if let Some(default) = inner.strip_prefix("posargs:") {
            if posargs.is_empty() {
                substitute(default, posargs)
            } else {
                posargs.to_string()
            }
        } else if inner == "toxinidir" || inner == "tox_root" {
            ".".to_string()
        } else if inner == "envpython" || inner == "env_python" {
            "python".to_string()
        } else if inner == "envbindir" || inner == "env_bin_dir" {
            // `{envbindir}/pytest` is `pytest`.
            String::new()
        } else if let Some(env) = inner.strip_prefix("env:") {
            env.split_once(':')
                .map_or_else(|| format!("{{{inner}}}"), |(_, d)| d.to_string())
        } else {
            format!("{{{inner}}}")
        };
        out.push_str(&replacement);
        rest = &after[close + 1..];
        if inner.starts_with("envbindir") || inner.starts_with("env_bin_dir") {
            rest = rest.strip_prefix('/').unwrap_or(rest);
        }
    }
    out.push_str(rest);
    out
}

/// Index of the `}` closing a `{` whose content starts `text`.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `a, b` lists and expands `py{38,39}-unit` factors.
fn split_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .flat_map(expand_braces)
        .collect()
}

/// `py{38,39}-{unit,int}` → four names (first brace group recursively).
fn expand_braces(name: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (name.find('{'), name.find('}')) else {
        return vec![name.to_string()];
    };
    if close < open {
        return vec![name.to_string()];
    }
    let (head, options, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    options
        .split(',')
        .flat_map(|o| expand_braces(&format!("{head}{}{tail}", o.trim())))
        .take(64)
        .collect()
}

/// The commands of tox 4's TOML configuration: `table` is the `tox.toml`
/// document or `pyproject.toml`'s `[tool.tox]`; `file_text` the file, for
/// lines; `prefix` is `"tool.tox."` inside pyproject.
pub(crate) fn toml_commands(
    table: &toml::Table,
    file_text: &str,
    prefix: &str,
    envs: &[String],
    posargs: &[String],
) -> Vec<ToxCommand> {
    let env_tables = table.get("env").and_then(|v| v.as_table());
    let base = table.get("env_run_base").and_then(|v| v.as_table());
    let envs: Vec<String> = if envs.is_empty() || envs.iter().any(|e| e.eq_ignore_ascii_case("all"))
    {
        table
            .get("env_list")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .filter(|list| !list.is_empty())
            .unwrap_or_else(|| vec!["py".to_string()])
    } else {
        envs.to_vec()
    };
    let mut out = Vec::new();
    let mut done = Vec::new();
    for env in &envs {
        let own = env_tables
            .and_then(|t| t.get(env))
            .and_then(|v| v.as_table());
        let header = match own {
            Some(_) => format!("[{prefix}env.{env}]"),
            None => format!("[{prefix}env_run_base]"),
        };
        if done.contains(&header) {
            continue;
        }
        done.push(header.clone());
        let header_line = lines::find_line(file_text, &header, 1).unwrap_or(1);
        let lookup = |key: &str| {
            own.and_then(|s| s.get(key))
                .or_else(|| base.and_then(|b| b.get(key)))
        };
        let changedir = lookup("change_dir")
            .and_then(|v| v.as_str())
            .map(|d| substitute(d, "").trim_start_matches("./").to_string());
        for key in ["commands_pre", "commands", "commands_post"] {
            let Some(commands) = lookup(key).and_then(|v| v.as_array()) else {
                continue;
            };
            let key_line = lines::find_key_line(file_text, key, header_line, 0)
                .or_else(|| lines::find_line(file_text, &format!("{key} ="), header_line))
                .unwrap_or(header_line);
            for command in commands {
                let Some(words) = command.as_array() else {
                    continue;
                };
                let argv: Vec<String> = words.iter().flat_map(|w| toml_word(w, posargs)).collect();
                let Some(first) = argv.first() else { continue };
                let text = shlex::try_join(argv.iter().map(String::as_str))
                    .unwrap_or_else(|_| argv.join(" "));
                let line = lines::find_line(file_text, &format!("\"{first}\""), key_line)
                    .unwrap_or(key_line);
                out.push(ToxCommand {
                    text,
                    line,
                    changedir: changedir.clone(),
                });
            }
        }
    }
    out
}

/// The words one element of a TOML command array stands for: a string, or a
/// `{ replace = "posargs", default = [...] }` table.
fn toml_word(word: &toml::Value, posargs: &[String]) -> Vec<String> {
    if let Some(s) = word.as_str() {
        return vec![substitute(s, "")];
    }
    let Some(table) = word.as_table() else {
        return Vec::new();
    };
    if table.get("replace").and_then(|v| v.as_str()) == Some("posargs") {
        if !posargs.is_empty() {
            return posargs.to_vec();
        }
        return table
            .get("default")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const TOX_INI: &str = "\
[tox]
envlist = py{310,311}, lint

[testenv]
deps = -r requirements.txt
commands =
    pytest {posargs:tests/unit} \\
        --maxfail=1
    - python -m pipeline.validate {toxinidir}/data/schema.yaml

[testenv:lint]
changedir = {toxinidir}/src
commands = ruff check .
           {[testenv:types]commands}

[testenv:types]
commands = mypy pipeline
";

    #[test]
    fn parses_arguments() {
        let args = ToxArgs::parse(&strings(&[
            "run",
            "-e",
            "py311,lint",
            "-c",
            "ci/tox.ini",
            "--",
            "tests/data",
            "-x",
        ]));
        assert_eq!(args.envs, ["py311", "lint"]);
        assert_eq!(args.config.as_deref(), Some("ci/tox.ini"));
        assert_eq!(args.posargs, ["tests/data", "-x"]);
        assert_eq!(
            ToxArgs::parse(&strings(&["-elint", "-p", "auto"])).envs,
            ["lint"]
        );
        assert_eq!(ToxArgs::parse(&strings(&["--env=a"])).envs, ["a"]);
    }

    #[test]
    fn runs_the_default_env_list() {
        let ini = Ini::parse(TOX_INI, 1);
        let got = ini_commands(&ini, &[], &[]);
        let texts: Vec<(&str, usize, Option<&str>)> = got
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.changedir.as_deref()))
            .collect();
        assert_eq!(
            texts,
            [
                ("pytest tests/unit --maxfail=1", 7, None),
                ("python -m pipeline.validate ./data/schema.yaml", 9, None),
                ("ruff check .", 13, Some("src")),
                ("mypy pipeline", 17, Some("src")),
            ]
        );
    }

    #[test]
    fn substitutes_posargs() {
        let ini = Ini::parse(TOX_INI, 1);
        let got = ini_commands(&ini, &strings(&["py310"]), &strings(&["tests/data"]));
        assert_eq!(got[0].text, "pytest tests/data --maxfail=1");
        assert_eq!(
            split_list("py{38,39}-{a,b}, x"),
            ["py38-a", "py38-b", "py39-a", "py39-b", "x"]
        );
        assert_eq!(
            substitute("{envbindir}/pytest {env:CFG:cfg.ini} {unknown}", ""),
            "pytest cfg.ini {unknown}"
        );
        assert_eq!(clean_line("py38: pytest", ""), Some("pytest".to_string()));
    }

    #[test]
    fn reads_tox4_toml() {
        let text = "\
env_list = [\"test\"]

[env_run_base]
commands = [[\"pytest\", { replace = \"posargs\", default = [\"tests\"] }]]

[env.test]
change_dir = \"ml\"
commands = [
  [\"python\", \"-m\", \"pytest\", \"tests/data\"],
]
";
        let table: toml::Table = text.parse().unwrap();
        let got = toml_commands(&table, text, "", &[], &[]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (
                got[0].text.as_str(),
                got[0].line,
                got[0].changedir.as_deref()
            ),
            ("python -m pytest tests/data", 9, Some("ml"))
        );
        let got = toml_commands(&table, text, "", &strings(&["other"]), &[]);
        assert_eq!((got[0].text.as_str(), got[0].line), ("pytest tests", 4));
    }
}
