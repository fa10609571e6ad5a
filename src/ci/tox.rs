//! tox: which commands `tox [-e envs] [-- posargs]` runs, from `tox.ini`, the
//! `legacy_tox_ini` string of `pyproject.toml`, or tox 4's TOML (`tox.toml`,
//! `[tool.tox]`).

use std::collections::{HashMap, HashSet};

use super::ini::{Ini, Section};

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
    let mut done: HashSet<&str> = HashSet::new();
    let mut budget = Budget::for_lines(ini.line_count());
    for env in &envs {
        let own = ini.section(&format!("testenv:{env}"));
        let section_name = own.map_or("testenv", |s| s.name.as_str());
        if !done.insert(section_name) {
            continue;
        }
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
            for (text, line) in expand_refs(ini, &entry.lines, 0, &mut budget) {
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

/// How many command lines one tox invocation may yield. `{[section]key}`
/// references multiply lines (every environment inlining one long list, lists
/// that inline lists): the output is held to a multiple of the file's own
/// lines so the cost stays linear in its size.
struct Budget(usize);

impl Budget {
    fn for_lines(lines: usize) -> Budget {
        Budget(lines.saturating_mul(4).max(4096))
    }

    /// Takes one line from the budget; false once it is spent.
    fn take(&mut self) -> bool {
        let left = self.0 > 0;
        self.0 = self.0.saturating_sub(1);
        left
    }
}

/// Inlines `{[section]key}` references (a whole command line naming another
/// section's commands) and joins `\` continuations.
fn expand_refs(
    ini: &Ini,
    value: &[(String, usize)],
    depth: usize,
    budget: &mut Budget,
) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    for (text, line) in value {
        if !budget.take() {
            break;
        }
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
                    out.extend(expand_refs(ini, &entry.lines, depth + 1, budget));
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
    substitute_within(text, posargs, 0)
}

/// `substitute` inside `depth` nested `{posargs:...}` defaults. Deeper ones
/// stay as written: a line of a million nested defaults would otherwise
/// recurse a million times and copy the line at each.
fn substitute_within(text: &str, posargs: &str, depth: usize) -> String {
    const MAX_DEPTH: usize = 4;
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
            if !posargs.is_empty() {
                posargs.to_string()
            } else if depth < MAX_DEPTH {
                substitute_within(default, posargs, depth + 1)
            } else {
                default.to_string()
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

/// How many names one factor pattern expands to at most.
const MAX_EXPANSION: usize = 64;

/// `py{38,39}-{unit,int}` → four names, the first group varying slowest; at
/// most `MAX_EXPANSION` of them. A `{` inside a group is part of an option, as
/// tox has no nested groups.
fn expand_braces(name: &str) -> Vec<String> {
    // Literal text before each group, the groups' options, the text after.
    let mut heads: Vec<&str> = Vec::new();
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut rest = name;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        heads.push(&rest[..open]);
        groups.push(rest[open + 1..close].split(',').map(str::trim).collect());
        rest = &rest[close + 1..];
    }
    // An odometer over the groups' options, the last group turning fastest.
    let mut at = vec![0usize; groups.len()];
    let mut out = Vec::new();
    while out.len() < MAX_EXPANSION {
        let mut expanded = String::with_capacity(name.len());
        for (head, (group, &i)) in heads.iter().zip(groups.iter().zip(&at)) {
            expanded.push_str(head);
            expanded.push_str(group[i]);
        }
        expanded.push_str(rest);
        out.push(expanded);
        let Some(turn) = (0..groups.len())
            .rev()
            .find(|&g| at[g] + 1 < groups[g].len())
        else {
            break;
        };
        at[turn] += 1;
        at[turn + 1..].iter_mut().for_each(|i| *i = 0);
    }
    out
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
    let layout = TomlLayout::new(file_text);
    let mut out = Vec::new();
    let mut done = HashSet::new();
    for env in &envs {
        let own = env_tables
            .and_then(|t| t.get(env))
            .and_then(|v| v.as_table());
        let header = match own {
            Some(_) => format!("[{prefix}env.{env}]"),
            None => format!("[{prefix}env_run_base]"),
        };
        if !done.insert(header.clone()) {
            continue;
        }
        let header_line = layout.header_line(&header);
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
            let key_line = layout.key_line(key, header_line);
            let mut cursor = key_line;
            for command in commands {
                let Some(words) = command.as_array() else {
                    continue;
                };
                let argv: Vec<String> = words.iter().flat_map(|w| toml_word(w, posargs)).collect();
                let Some(first) = argv.first() else { continue };
                let text = shlex::try_join(argv.iter().map(String::as_str))
                    .unwrap_or_else(|_| argv.join(" "));
                cursor = layout.word_line(first, cursor).unwrap_or(cursor);
                out.push(ToxCommand {
                    text,
                    line: cursor,
                    changedir: changedir.clone(),
                });
            }
        }
    }
    out
}

/// `[env.test]` or `[tool.tox.env_run_base]`, not a line of an array
/// (`["pytest", "tests"],`) nor an array of tables.
fn is_table_header(line: &str) -> bool {
    let line = line.split_once(" #").map_or(line, |(l, _)| l).trim_end();
    line.strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .is_some_and(|inner| {
            inner
                .trim_start()
                .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !inner.contains([',', '[', ']'])
        })
}

/// Where a TOML file's tables and keys are, for evidence lines. Built once
/// per file: looking each of thousands of `[env.x]` tables up from the top
/// was quadratic.
struct TomlLayout<'t> {
    lines: Vec<&'t str>,
    /// The first line of each `[table]` header, by its trimmed text.
    headers: HashMap<&'t str, usize>,
    /// Every header's line, ascending: where a table ends.
    header_lines: Vec<usize>,
}

impl<'t> TomlLayout<'t> {
    /// How far past the previous command the next one's first word is looked
    /// for; beyond, the previous line stands.
    const WINDOW: usize = 256;

    fn new(text: &'t str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut headers = HashMap::new();
        let mut header_lines = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim();
            if is_table_header(trimmed) {
                headers.entry(trimmed).or_insert(i + 1);
                header_lines.push(i + 1);
            }
        }
        TomlLayout {
            lines,
            headers,
            header_lines,
        }
    }

    /// The 1-based line of `header` (`[env.test]`), else 1.
    fn header_line(&self, header: &str) -> usize {
        self.headers.get(header).copied().unwrap_or(1)
    }

    /// The line after `from` where the next table starts (or past the end).
    fn table_end(&self, from: usize) -> usize {
        let next = self.header_lines.partition_point(|&l| l <= from);
        self.header_lines
            .get(next)
            .copied()
            .unwrap_or(self.lines.len() + 1)
    }

    /// The line defining `key =` in the table starting at `header_line`.
    fn key_line(&self, key: &str, header_line: usize) -> usize {
        (header_line..self.table_end(header_line))
            .find(|&l| {
                self.lines[l - 1]
                    .trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .unwrap_or(header_line)
    }

    /// The first line at or after `from`, within its table and the window,
    /// holding `word` as a quoted string.
    fn word_line(&self, word: &str, from: usize) -> Option<usize> {
        let end = self.table_end(from).min(from + Self::WINDOW);
        let (double, single) = (format!("\"{word}\""), format!("'{word}'"));
        (from.max(1)..end).find(|&l| {
            let line = self.lines[l - 1];
            line.contains(&double) || line.contains(&single)
        })
    }
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

    #[test]
    fn factor_groups_expand_in_order_and_stay_bounded() {
        assert_eq!(
            expand_braces("py{38,39}-{a,b}"),
            ["py38-a", "py38-b", "py39-a", "py39-b"]
        );
        assert_eq!(expand_braces("plain"), ["plain"]);
        assert_eq!(expand_braces("x{}y"), ["xy"]);
        assert_eq!(expand_braces("open{a,b"), ["open{a,b"]);
        // 2^2000 combinations: the first 64, in tox's order.
        let got = expand_braces(&"{a,b}".repeat(2000));
        assert_eq!(got.len(), MAX_EXPANSION);
        assert_eq!(got[0], "a".repeat(2000));
        assert_eq!(got[1], format!("{}b", "a".repeat(1999)));
        // Nested braces are not groups in tox; one level is read, no recursion.
        let deep = format!("{}a{}", "{".repeat(100_000), "}".repeat(100_000));
        assert_eq!(expand_braces(&deep).len(), 1);
    }

    #[test]
    fn nested_posargs_defaults_stop_at_a_depth() {
        assert_eq!(
            substitute("pytest {posargs:{posargs:tests}}", ""),
            "pytest tests"
        );
        let n = 200_000;
        let deep = format!("pytest {}x{}", "{posargs:".repeat(n), "}".repeat(n));
        let got = substitute(&deep, "");
        // Five levels read, the rest kept as written.
        let kept = format!("pytest {}x{}", "{posargs:".repeat(n - 5), "}".repeat(n - 5));
        assert!(got == kept, "{}", &got[..60]);
        assert_eq!(substitute(&deep, "-k fast"), "pytest -k fast");
    }

    #[test]
    fn inlined_references_are_held_to_the_files_size() {
        // Every environment inlines one long list: the lines tox would run
        // grow as envs x list; mlscore reads a bounded multiple of the file.
        let (envs, list) = (3000, 3000);
        let mut text = format!(
            "[tox]\nenvlist = {}\n[big]\ncommands =\n",
            (0..envs)
                .map(|i| format!("e{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        for j in 0..list {
            text.push_str(&format!("    echo {j}\n"));
        }
        for i in 0..envs {
            text.push_str(&format!("[testenv:e{i}]\ncommands = {{[big]commands}}\n"));
        }
        let ini = Ini::parse(&text, 1);
        let got = ini_commands(&ini, &[], &[]);
        assert!(got.len() <= 4 * ini.line_count(), "{}", got.len());
        assert_eq!(got[0].text, "echo 0");
        assert_eq!(got[0].line, 5);
        assert_eq!(got[list - 1].text, format!("echo {}", list - 1));
    }

    #[test]
    fn toml_lines_come_from_each_envs_own_table() {
        let mut text = String::from("env_list = [\"e0\", \"e1\", \"e2\"]\n");
        for i in 0..3 {
            text.push_str(&format!(
                "\n[env.e{i}]\ndescription = \"env {i}\"\ncommands = [\n  [\"ruff\", \"check\"],\n  ['pytest', \"t{i}\"],\n]\n"
            ));
        }
        let table: toml::Table = text.parse().unwrap();
        let got: Vec<(String, usize)> = toml_commands(&table, &text, "", &[], &[])
            .into_iter()
            .map(|c| (c.text, c.line))
            .collect();
        let want: Vec<(String, usize)> = (0..3)
            .flat_map(|i| {
                let header = 3 + 7 * i;
                [
                    ("ruff check".to_string(), header + 3),
                    (format!("pytest t{i}"), header + 4),
                ]
            })
            .collect();
        assert_eq!(got, want);
    }
}
