//! Makefiles: enough of make to know which recipe lines `make [target…]` runs.
//! Rules, tab-indented recipes, prerequisites, simple variables (`=`, `:=`,
//! `?=`, `+=`), `$(MAKE)`, automatic `$@`, `include`, `.DEFAULT_GOAL`.
//! Conditionals are not evaluated (both branches count) and functions such as
//! `$(shell …)` stay as text.

use std::collections::{HashMap, HashSet};

/// The arguments of one `make` invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct MakeArgs {
    /// `-C dir`.
    pub dir: Option<String>,
    /// `-f file`.
    pub file: Option<String>,
    /// Goals, in order.
    pub targets: Vec<String>,
    /// `VAR=value` overrides.
    pub vars: Vec<(String, String)>,
    /// `-n`/`-q`: make prints or checks but runs no recipe.
    pub dry_run: bool,
}

impl MakeArgs {
    /// Reads make's command-line arguments.
    pub(crate) fn parse(args: &[String]) -> MakeArgs {
        let mut out = MakeArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            i += 1;
            let value_of = |long: &str, short: &str| -> Option<Option<String>> {
                if arg == short || arg == long {
                    return Some(None);
                }
                if let Some(v) = arg.strip_prefix(&format!("{long}=")) {
                    return Some(Some(v.to_string()));
                }
                if short.len() == 2 {
                    if let Some(v) = arg.strip_prefix(short).filter(|v| !v.is_empty()) {
                        return Some(Some(v.to_string()));
                    }
                }
                None
            };
            let take = |found: Option<String>, i: &mut usize| -> Option<String> {
                found.or_else(|| {
                    let v = args.get(*i).cloned();
                    *i += 1;
                    v
                })
            };
            if let Some(found) = value_of("--directory", "-C") {
                out.dir = take(found, &mut i);
            } else if let Some(found) =
                value_of("--file", "-f").or_else(|| value_of("--makefile", "-f"))
            {
                out.file = take(found, &mut i);
            } else if ["-I", "-o", "-W", "--include-dir", "--old-file", "--what-if"].contains(&arg)
            {
                i += 1;
            } else if arg == "-j" || arg == "-l" || arg == "--jobs" {
                // Optional numeric value.
                if args
                    .get(i)
                    .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
                {
                    i += 1;
                }
            } else if [
                "-n",
                "--dry-run",
                "--just-print",
                "--recon",
                "-q",
                "--question",
            ]
            .contains(&arg)
            {
                out.dry_run = true;
            } else if arg.starts_with('-') {
                // Other flags take no separate value.
            } else if let Some((name, value)) = arg.split_once('=') {
                out.vars.push((name.trim().to_string(), value.to_string()));
            } else {
                out.targets.push(arg.to_string());
            }
        }
        out
    }
}

/// One recipe line that a goal runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecipeLine {
    /// The command, variables expanded, `@`/`-`/`+` prefixes stripped.
    pub text: String,
    /// The Makefile (or included file) it is written in.
    pub file: String,
    /// 1-based line in that file.
    pub line: usize,
}

#[derive(Debug, Clone)]
struct Rule {
    targets: Vec<String>,
    prereqs: Vec<String>,
    recipe: Vec<RecipeLine>,
}

/// Steps (characters read) one top-level expansion may take beyond 16 per
/// character of its own text, nested variables included: a chain of variables
/// each naming the next many times would otherwise grow exponentially with the
/// nesting depth. Proportional to the text, the whole Makefile's expansion
/// stays linear in its size. Every expanded character is then read as shell
/// by the follower, so the constant matters: 4,096 steps let an 18-byte
/// recipe line of nested variables cost 35 µs per byte of Makefile.
const EXPAND_FUEL: usize = 512;

/// Longest expansion kept; `$^` repeated over many prerequisites is cut here.
const MAX_EXPANDED: usize = 8 << 10;

/// A parsed Makefile (with its includes merged in by the caller).
#[derive(Debug, Default)]
pub(crate) struct Makefile {
    vars: HashMap<String, String>,
    rules: Vec<Rule>,
    /// Indexes into `rules` by target name, so a plan looks a target up in
    /// constant time however many rules the file has.
    by_target: HashMap<String, Vec<usize>>,
    /// Files named by `include` lines, unexpanded paths as written.
    pub includes: Vec<String>,
}

impl Makefile {
    /// Parses one Makefile's text; `file` is its repository path.
    pub(crate) fn parse(text: &str, file: &str) -> Makefile {
        let mut mk = Makefile::default();
        let mut current: Option<usize> = None;
        let mut in_define = false;
        for (line_no, line) in logical_lines(text) {
            if in_define {
                in_define = line.trim() != "endef";
                continue;
            }
            if let Some(recipe) = line.strip_prefix('\t') {
                if let Some(rule) = current.and_then(|r| mk.rules.get_mut(r)) {
                    let text = recipe
                        .trim_start()
                        .trim_start_matches(['@', '-', '+'])
                        .trim();
                    if !text.is_empty() && !text.starts_with('#') {
                        rule.recipe.push(RecipeLine {
                            text: text.to_string(),
                            file: file.to_string(),
                            line: line_no,
                        });
                    }
                }
                continue;
            }
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let first = trimmed.split_whitespace().next().unwrap_or("");
            match first {
                "define" => {
                    in_define = true;
                    continue;
                }
                "ifeq" | "ifneq" | "ifdef" | "ifndef" | "else" | "endif" | "vpath" | "unexport" => {
                    continue
                }
                "include" | "-include" | "sinclude" => {
                    mk.includes
                        .extend(trimmed.split_whitespace().skip(1).map(str::to_string));
                    continue;
                }
                _ => {}
            }
            let stmt = trimmed
                .strip_prefix("export ")
                .or_else(|| trimmed.strip_prefix("override "))
                .unwrap_or(trimmed)
                .trim();
            if let Some((name, op, value)) = assignment(stmt) {
                let value = value.trim().to_string();
                match op {
                    "?=" => {
                        mk.vars.entry(name.to_string()).or_insert(value);
                    }
                    "+=" => {
                        let entry = mk.vars.entry(name.to_string()).or_default();
                        if !entry.is_empty() {
                            entry.push(' ');
                        }
                        entry.push_str(&value);
                    }
                    _ => {
                        mk.vars.insert(name.to_string(), value);
                    }
                }
                current = None;
                continue;
            }
            if let Some((targets, rest)) = split_rule(stmt) {
                let (prereqs, inline) = match rest.split_once(';') {
                    Some((p, r)) => (p, Some(r.trim())),
                    None => (rest, None),
                };
                if prereqs.contains('=') {
                    // `target: VAR = value` sets a target-specific variable.
                    current = None;
                    continue;
                }
                let mut rule = Rule {
                    targets: targets.split_whitespace().map(str::to_string).collect(),
                    prereqs: prereqs
                        .split_whitespace()
                        .filter(|p| *p != "|")
                        .map(str::to_string)
                        .collect(),
                    recipe: Vec::new(),
                };
                if let Some(inline) = inline.filter(|r| !r.is_empty()) {
                    rule.recipe.push(RecipeLine {
                        text: inline.to_string(),
                        file: file.to_string(),
                        line: line_no,
                    });
                }
                mk.push_rule(rule);
                current = Some(mk.rules.len() - 1);
            }
        }
        mk
    }

    fn push_rule(&mut self, rule: Rule) {
        let id = self.rules.len();
        for target in &rule.targets {
            self.by_target.entry(target.clone()).or_default().push(id);
        }
        self.rules.push(rule);
    }

    /// Appends an included Makefile's rules; the including file's variables win.
    pub(crate) fn merge(&mut self, other: Makefile) {
        for rule in other.rules {
            self.push_rule(rule);
        }
        for (name, value) in other.vars {
            self.vars.entry(name).or_insert(value);
        }
    }

    /// Expands variables in an include line's paths.
    pub(crate) fn expand_text(&self, text: &str) -> String {
        self.expand(text, "", &[], &[])
    }

    /// The goal `make` builds when given none.
    pub(crate) fn default_goal(&self) -> Option<String> {
        if let Some(goal) = self.vars.get(".DEFAULT_GOAL").filter(|g| !g.is_empty()) {
            return Some(goal.clone());
        }
        self.rules
            .iter()
            .flat_map(|r| r.targets.iter())
            .find(|t| !t.starts_with('.') && !t.contains('%'))
            .cloned()
    }

    /// The recipe lines that building `goals` runs, prerequisites first, each
    /// target once; and the goals that no rule defines.
    /// `overrides` are the command line's `VAR=value`s, which win over the file's.
    pub(crate) fn plan(
        &self,
        goals: &[String],
        overrides: &[(String, String)],
    ) -> (Vec<RecipeLine>, Vec<String>) {
        let mut lines = Vec::new();
        let mut missing = Vec::new();
        let mut seen = HashSet::new();
        for goal in goals {
            if !self.visit(goal, &mut seen, &mut lines, 0, overrides) {
                missing.push(goal.clone());
            }
        }
        (lines, missing)
    }

    /// Collects `target`'s recipe after its prerequisites'; false when no rule
    /// names it.
    fn visit(
        &self,
        target: &str,
        seen: &mut HashSet<String>,
        out: &mut Vec<RecipeLine>,
        depth: usize,
        overrides: &[(String, String)],
    ) -> bool {
        let rules: Vec<&Rule> = self
            .by_target
            .get(target)
            .into_iter()
            .flatten()
            .filter_map(|&id| self.rules.get(id))
            .collect();
        if rules.is_empty() {
            return false;
        }
        if !seen.insert(target.to_string()) || depth > 32 {
            return true;
        }
        for rule in &rules {
            for prereq in &rule.prereqs {
                let expanded = self.expand(prereq, target, &rule.prereqs, overrides);
                for name in expanded.split_whitespace() {
                    // Prerequisites without a rule are files: nothing to run.
                    self.visit(name, seen, out, depth + 1, overrides);
                }
            }
        }
        for rule in &rules {
            for line in &rule.recipe {
                let text = self.expand(&line.text, target, &rule.prereqs, overrides);
                let text = text.trim_start_matches(['@', '-', '+']).trim().to_string();
                out.push(RecipeLine {
                    text,
                    ..line.clone()
                });
            }
        }
        true
    }

    /// Expands `$(VAR)`, `${VAR}`, `$(MAKE)`, `$@`, `$<`, `$^` and `$$`; unknown
    /// variables and function calls stay as written.
    fn expand(
        &self,
        text: &str,
        target: &str,
        prereqs: &[String],
        overrides: &[(String, String)],
    ) -> String {
        let mut fuel = EXPAND_FUEL + 16 * text.len();
        self.expand_in(text, target, prereqs, 0, overrides, &mut fuel)
    }

    fn expand_in(
        &self,
        text: &str,
        target: &str,
        prereqs: &[String],
        depth: usize,
        overrides: &[(String, String)],
        fuel: &mut usize,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            // Each step and each byte written burns fuel; out of it, the rest
            // stays as written.
            *fuel = fuel.saturating_sub(1);
            if *fuel == 0 || out.len() > MAX_EXPANDED {
                out.extend(&chars[i..]);
                break;
            }
            if chars[i] != '$' || i + 1 >= chars.len() {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let next = chars[i + 1];
            match next {
                '$' => {
                    out.push('$');
                    i += 2;
                }
                '@' => {
                    out.push_str(target);
                    i += 2;
                }
                '<' => {
                    out.push_str(prereqs.first().map_or("", String::as_str));
                    i += 2;
                }
                '^' => {
                    out.push_str(&prereqs.join(" "));
                    i += 2;
                }
                '(' | '{' => {
                    let close = if next == '(' { ')' } else { '}' };
                    let Some(len) = chars[i + 2..].iter().position(|&c| c == close) else {
                        out.extend(&chars[i..]);
                        break;
                    };
                    let name: String = chars[i + 2..i + 2 + len].iter().collect();
                    let raw: String = chars[i..i + 3 + len].iter().collect();
                    if name == "MAKE" {
                        out.push_str("make");
                    } else if let Some(value) = overrides
                        .iter()
                        .rev()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v)
                        .or_else(|| self.vars.get(&name))
                        .filter(|_| depth < 8)
                    {
                        let inner =
                            self.expand_in(value, target, prereqs, depth + 1, overrides, fuel);
                        *fuel = fuel.saturating_sub(inner.len());
                        out.push_str(&inner);
                    } else {
                        out.push_str(&raw);
                    }
                    i += 3 + len;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        out
    }
}

/// Lines with `\` continuations joined, each with its first line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let (start, mut joined) = match pending.take() {
            Some((start, mut acc)) => {
                acc.push(' ');
                acc.push_str(line.trim_start());
                (start, acc)
            }
            None => (line_no, line.to_string()),
        };
        if joined.ends_with('\\') {
            joined.pop();
            pending = Some((start, joined));
        } else {
            out.push((start, joined));
        }
    }
    if let Some(rest) = pending {
        out.push(rest);
    }
    out
}

/// `NAME op value` for a variable assignment.
fn assignment(stmt: &str) -> Option<(&str, &'static str, &str)> {
    for op in ["::=", ":=", "?=", "+=", "!=", "="] {
        if let Some(at) = stmt.find(op) {
            let name = stmt[..at].trim();
            // A `:` before the operator makes it a rule (`t: VAR=x`), not an assignment.
            let ok = !name.is_empty()
                && !name.contains(':')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if ok {
                return Some((name, op, &stmt[at + op.len()..]));
            }
            return None;
        }
    }
    None
}

/// `targets: rest` for a rule line (`::` rules too).
fn split_rule(stmt: &str) -> Option<(&str, &str)> {
    let at = stmt.find(':')?;
    let targets = stmt[..at].trim();
    let rest = &stmt[at + 1..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    (!targets.is_empty()).then_some((targets, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAKEFILE: &str = "\
PYTHON ?= python3
TEST_DIR := tests
.DEFAULT_GOAL := help
.PHONY: help test data lint all

help:
\t@echo targets

data: data/raw.csv
\t$(PYTHON) -m pipeline.validate \\
\t  --schema schema.yaml

test: data lint
\t@$(PYTHON) -m pytest $(TEST_DIR)/unit
\t-$(MAKE) -C docs check

lint: ; ruff check src

all: test
\techo $@ done $(shell date)
";

    #[test]
    fn plans_goals_with_prerequisites() {
        let mk = Makefile::parse(MAKEFILE, "Makefile");
        let (lines, missing) = mk.plan(&["test".to_string()], &[]);
        let got: Vec<(&str, usize)> = lines.iter().map(|l| (l.text.as_str(), l.line)).collect();
        assert_eq!(
            got,
            [
                ("python3 -m pipeline.validate  --schema schema.yaml", 10),
                ("ruff check src", 17),
                ("python3 -m pytest tests/unit", 14),
                ("make -C docs check", 15),
            ]
        );
        assert!(missing.is_empty());
        assert_eq!(mk.default_goal().as_deref(), Some("help"));
        let (lines, _) = mk.plan(&["all".to_string()], &[]);
        assert_eq!(
            lines.last().map(|l| l.text.as_str()),
            Some("echo all done $(shell date)")
        );
    }

    #[test]
    fn reports_missing_targets_and_first_goal() {
        let mk = Makefile::parse(
            "build:\n\tcargo build\nx: y\ny: x\n\techo loop\n",
            "Makefile",
        );
        assert_eq!(mk.default_goal().as_deref(), Some("build"));
        let (lines, missing) = mk.plan(&["x".into(), "nope".into()], &[]);
        assert_eq!(missing, ["nope"]);
        assert_eq!(lines.len(), 1, "a prerequisite cycle runs each recipe once");
    }

    #[test]
    fn parses_arguments() {
        let args: Vec<String> = [
            "-C",
            "ml",
            "-j",
            "4",
            "-fbuild.mk",
            "PY=python3",
            "-k",
            "test",
            "lint",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let parsed = MakeArgs::parse(&args);
        assert_eq!(parsed.dir.as_deref(), Some("ml"));
        assert_eq!(parsed.file.as_deref(), Some("build.mk"));
        assert_eq!(parsed.targets, ["test", "lint"]);
        assert_eq!(parsed.vars, [("PY".to_string(), "python3".to_string())]);
        assert!(MakeArgs::parse(&["-n".to_string()]).dry_run);
        assert_eq!(
            MakeArgs::parse(&["--directory=a".to_string()])
                .dir
                .as_deref(),
            Some("a")
        );
    }

    #[test]
    fn includes_and_overrides() {
        let mut mk = Makefile::parse(
            "include common.mk\nPY = python\nt:\n\t$(PY) x.py\n",
            "Makefile",
        );
        assert_eq!(mk.includes, ["common.mk"]);
        mk.merge(Makefile::parse(
            "PY = nope\nshared:\n\techo shared\n",
            "common.mk",
        ));
        let overrides = [("PY".into(), "python3.12".into())];
        let (lines, _) = mk.plan(&["t".into(), "shared".into()], &overrides);
        assert_eq!(lines[0].text, "python3.12 x.py");
        assert_eq!((lines[1].file.as_str(), lines[1].line), ("common.mk", 3));
    }
}
