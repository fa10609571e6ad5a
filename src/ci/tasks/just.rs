//! just (`justfile`): which shell commands `just [recipe [args…]]…` runs.
//! Read: recipes with their attributes, parameters (defaults, `+`/`*`
//! variadics), prior and `&&` subsequent dependencies with arguments,
//! linewise bodies (`@`/`-` prefixes, `\` continuations), shebang and
//! `[script]` bodies in a POSIX shell, aliases, string variables, CLI
//! overrides and the `working-directory`, `shell` and `script-interpreter`
//! settings. `{{name}}` takes a parameter's or a string variable's value;
//! other expressions (function calls, backticks, `if`) stay as written.
//! Not read: `import` and `mod` (skipped), multi-line expressions, recipes
//! in other languages (they run no command we could read).

use super::{Plan, Planned, TaskError, MAX_NESTING, MAX_TASKS};
use std::collections::{HashMap, HashSet};

/// The arguments of one `just` invocation (the words after `just`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct JustArgs {
    /// `-f`/`--justfile` (also `--justfile=x`).
    pub justfile: Option<String>,
    /// `-d`/`--working-directory`.
    pub working_directory: Option<String>,
    /// Recipe names and their arguments, in order, as written after the
    /// options (the plan splits them by each recipe's parameters). Leading
    /// `VAR=value` overrides are kept (the plan reads them as just does), and
    /// `--set VAR VALUE` is put among them as `VAR=VALUE`.
    pub words: Vec<String>,
    /// False when the options make just list, show, format, edit, evaluate,
    /// dry-run or otherwise run no recipe.
    pub runs: bool,
    /// `--no-deps`: dependencies are not run.
    pub no_deps: bool,
}

/// Options whose value changes nothing read here.
const VALUED: &str = "--shell --shell-arg --dotenv-filename --dotenv-path --color \
    --command-color --chooser --list-heading --list-prefix --timestamp-format --alias-style \
    --tempdir --cygpath --dump-format --ceiling";
/// Options that make just run no recipe; the first ones take a value.
const NOT_RUNNING_VALUED: &str = "--show --completions --request --usage";
const NOT_RUNNING: &str = "--list --summary --dump --evaluate --variables --fmt --check \
    --init --edit --choose --help --version --groups --man --dry-run --changelog";

fn listed(list: &str, name: &str) -> bool {
    list.split_whitespace().any(|o| o == name)
}

impl JustArgs {
    /// Reads just's command-line arguments (without the program name).
    pub(crate) fn parse(args: &[String]) -> JustArgs {
        let mut out = JustArgs {
            runs: true,
            ..JustArgs::default()
        };
        let mut i = 0;
        let mut sets = Vec::new();
        // The first positional word ends the options: just passes every later
        // word, dashes or not, to the recipes.
        while let Some(arg) = args.get(i) {
            i += 1;
            if arg == "--" {
                break;
            } else if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                let name = format!("--{name}");
                let name = name.as_str();
                let valued = listed(VALUED, name) || listed(NOT_RUNNING_VALUED, name);
                let value = match inline {
                    None if valued
                        || ["--justfile", "--working-directory", "--set"].contains(&name) =>
                    {
                        take(args, &mut i)
                    }
                    inline => inline,
                };
                match name {
                    "--justfile" => out.justfile = value,
                    "--working-directory" => out.working_directory = value,
                    "--set" => sets.extend(
                        value
                            .zip(take(args, &mut i))
                            .map(|(k, v)| format!("{k}={v}")),
                    ),
                    "--no-deps" => out.no_deps = true,
                    // The rest of the line is a command just runs instead of recipes.
                    "--command" => return JustArgs { runs: false, ..out },
                    n if listed(NOT_RUNNING_VALUED, n) || listed(NOT_RUNNING, n) => {
                        out.runs = false
                    }
                    _ => {}
                }
            } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
                // A cluster such as `-qf x` or `-fjustfile`.
                for (at, c) in short.char_indices() {
                    let rest = &short[at + c.len_utf8()..];
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    let mut value = || {
                        Some(rest.to_string())
                            .filter(|r| !r.is_empty())
                            .or_else(|| take(args, &mut i))
                    };
                    match c {
                        'f' => out.justfile = value(),
                        'd' => out.working_directory = value(),
                        'E' => drop(value()),
                        's' => {
                            drop(value());
                            out.runs = false;
                        }
                        'c' => return JustArgs { runs: false, ..out },
                        'n' | 'l' | 'h' | 'V' | 'e' => out.runs = false,
                        _ => continue,
                    }
                    if matches!(c, 'f' | 'd' | 's' | 'E') {
                        break;
                    }
                }
            } else {
                i -= 1;
                break;
            }
        }
        out.words = sets;
        out.words
            .extend(args.get(i..).unwrap_or_default().iter().cloned());
        out
    }
}

/// The next argument, as an option's value.
fn take(args: &[String], i: &mut usize) -> Option<String> {
    let value = args.get(*i).cloned();
    *i += usize::from(value.is_some());
    value
}

/// `NAME=value`, as just reads an override.
fn override_word(word: &str) -> Option<(&str, &str)> {
    word.split_once('=').filter(|(name, _)| is_name(name))
}

fn name_len(s: &str) -> usize {
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return 0;
    }
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(s.len())
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && name_len(s) == s.len()
}

/// A token of a header, assignment or attribute line, with its byte span.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name,
    Str(String),
    Backtick,
    Walrus,
    AndAnd,
    Punct(char),
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// Splits one line into tokens; a `#` outside strings starts a comment.
/// Fails on an unterminated string or backtick, saying which.
fn lex(line: &str) -> Result<Vec<Token>, &'static str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = line[i..].chars().next() {
        let rest = &line[i..];
        let (tok, len) = if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        } else if c == '#' {
            break;
        } else if name_len(rest) > 0 {
            (Tok::Name, name_len(rest))
        } else if let Some(q) = ["'''", "\"\"\""].into_iter().find(|q| rest.starts_with(q)) {
            let end = rest[3..].find(q).ok_or("string")?;
            (Tok::Str(rest[3..3 + end].to_string()), end + 6)
        } else if c == '\'' {
            let end = rest[1..].find('\'').ok_or("string")?;
            (Tok::Str(rest[1..1 + end].to_string()), end + 2)
        } else if c == '"' {
            let (s, len) = cook(&rest[1..]).ok_or("string")?;
            (Tok::Str(s), len + 1)
        } else if c == '`' {
            (Tok::Backtick, rest[1..].find('`').ok_or("backtick")? + 2)
        } else if rest.starts_with(":=") {
            (Tok::Walrus, 2)
        } else if rest.starts_with("&&") {
            (Tok::AndAnd, 2)
        } else {
            (Tok::Punct(c), c.len_utf8())
        };
        out.push(Token {
            tok,
            start: i,
            end: i + len,
        });
        i += len;
    }
    Ok(out)
}

/// A double-quoted string's value and length through its closing quote.
fn cook(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, at + 1)),
            '\\' => match chars.next()? {
                (_, 'n') => out.push('\n'),
                (_, 't') => out.push('\t'),
                (_, 'r') => out.push('\r'),
                (_, e @ ('"' | '\\')) => out.push(e),
                (_, e) => out.extend(['\\', e]),
            },
            c => out.push(c),
        }
    }
    None
}

/// An expression as written: its value is known only for strings, names of
/// known strings, and their concatenations (`/` joins with a slash).
#[derive(Debug, Clone)]
enum Expr {
    Str(String),
    Var(String),
    Cat(Vec<Expr>, String),
    Raw(String),
}

impl Expr {
    fn raw(&self) -> &str {
        match self {
            Expr::Str(s) | Expr::Var(s) | Expr::Cat(_, s) | Expr::Raw(s) => s,
        }
    }
}

/// Strings, names, backticks, calls and parenthesised groups.
fn primary(line: &str, toks: &[Token], i: &mut usize) -> Option<Expr> {
    let t = toks.get(*i)?;
    let call = t.tok == Tok::Name && toks.get(*i + 1).is_some_and(|n| n.tok == Tok::Punct('('));
    let expr = match &t.tok {
        Tok::Str(s) => Expr::Str(s.clone()),
        Tok::Backtick => Expr::Raw(line[t.start..t.end].to_string()),
        Tok::Name if call => {
            *i += 1;
            Expr::Raw(line[t.start..close(toks, i)].to_string())
        }
        Tok::Name => Expr::Var(line[t.start..t.end].to_string()),
        Tok::Punct('(') => return Some(Expr::Raw(line[t.start..close(toks, i)].to_string())),
        _ => return None,
    };
    *i += 1;
    Some(expr)
}

/// From the `(` at `i`, moves past its matching `)` (or to the end) and
/// returns where that is in the line.
fn close(toks: &[Token], i: &mut usize) -> usize {
    let mut depth = 0usize;
    while let Some(t) = toks.get(*i) {
        *i += 1;
        match t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') if depth <= 1 => return t.end,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
    }
    toks.last().map_or(0, |t| t.end)
}

/// A primary, then `+ primary` or `/ primary` as long as they follow.
fn expr(line: &str, toks: &[Token], i: &mut usize) -> Option<Expr> {
    let start = toks.get(*i)?.start;
    let mut parts = vec![primary(line, toks, i)?];
    while let Some(op @ ('+' | '/')) = toks.get(*i).and_then(|t| match t.tok {
        Tok::Punct(c) => Some(c),
        _ => None,
    }) {
        *i += 1;
        if op == '/' {
            parts.push(Expr::Str("/".into()));
        }
        parts.push(primary(line, toks, i)?);
    }
    let end = toks.get(*i - 1).map_or(start, |t| t.end);
    Some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::Cat(parts, line[start..end].into())
    })
}

#[derive(Debug)]
struct Param {
    name: String,
    default: Option<Expr>,
    /// `+` (true, one or more) or `*` (false, any).
    variadic: Option<bool>,
}

#[derive(Debug)]
struct Dep {
    name: String,
    args: Vec<Expr>,
}

#[derive(Debug, Default)]
struct Recipe {
    name: String,
    params: Vec<Param>,
    prior: Vec<Dep>,
    after: Vec<Dep>,
    /// Command lines and where each starts; empty when not run by a shell.
    commands: Vec<(String, usize)>,
    dir: Option<String>,
}

/// `@?name params…: deps… && deps…`; `None` when the line is no header.
fn header(line: &str, number: usize) -> Result<Option<Recipe>, TaskError> {
    let toks = match lex(line) {
        Ok(toks) => toks,
        // No header without a colon: a stray line, skipped.
        Err(_) if !line.contains(':') => return Ok(None),
        Err(what) => return Err(unterminated(line, number, what)),
    };
    let at = |i: usize| toks.get(i).map(|t| &t.tok);
    let mut i = usize::from(at(0) == Some(&Tok::Punct('@')));
    if at(i) != Some(&Tok::Name) {
        return Ok(None);
    }
    let mut recipe = Recipe {
        name: line[toks[i].start..toks[i].end].to_string(),
        ..Recipe::default()
    };
    i += 1;
    loop {
        let variadic = match at(i) {
            Some(Tok::Punct(':')) => break,
            Some(Tok::Punct('+')) => Some(true),
            Some(Tok::Punct('*')) => Some(false),
            _ => None,
        };
        i += usize::from(variadic.is_some());
        i += usize::from(at(i) == Some(&Tok::Punct('$')));
        let Some(Tok::Name) = at(i) else {
            return Ok(None);
        };
        let name = line[toks[i].start..toks[i].end].to_string();
        i += 1;
        let mut default = None;
        if at(i) == Some(&Tok::Punct('=')) {
            i += 1;
            default = Some(primary(line, &toks, &mut i).ok_or_else(|| TaskError {
                line: Some(number),
                message: format!(
                    "parameter `{name}` of recipe `{}` has no default value after `=`",
                    recipe.name
                ),
            })?);
        }
        recipe.params.push(Param {
            name,
            default,
            variadic,
        });
    }
    i += 1;
    let mut subsequent = false;
    while let Some(t) = toks.get(i) {
        i += 1;
        let dep = match t.tok {
            Tok::AndAnd => {
                subsequent = true;
                continue;
            }
            Tok::Name => Dep {
                name: line[t.start..t.end].to_string(),
                args: Vec::new(),
            },
            Tok::Punct('(') if at(i) == Some(&Tok::Name) => {
                let name = line[toks[i].start..toks[i].end].to_string();
                i += 1;
                let mut args = Vec::new();
                while at(i).is_some_and(|t| *t != Tok::Punct(')')) {
                    let before = i;
                    match expr(line, &toks, &mut i) {
                        Some(e) => args.push(e),
                        None => i = i.max(before + 1),
                    }
                }
                i += 1;
                Dep { name, args }
            }
            _ => continue,
        };
        if subsequent {
            &mut recipe.after
        } else {
            &mut recipe.prior
        }
        .push(dep);
    }
    Ok(Some(recipe))
}

fn unterminated(line: &str, number: usize, what: &str) -> TaskError {
    let name: String = line.trim_start_matches('@').chars().take(60).collect();
    let name = &name[..name_len(&name)];
    TaskError {
        line: Some(number),
        message: format!("recipe header `{name}` has an unterminated {what}"),
    }
}

/// The attributes read from `[…]` lines before a recipe.
#[derive(Default)]
struct Attrs {
    dir: Option<String>,
    no_cd: bool,
    default: bool,
    script: Option<Vec<String>>,
}

impl Attrs {
    fn read(&mut self, line: &str) {
        let Ok(toks) = lex(line) else { return };
        let mut current: Option<(&str, Vec<String>)> = None;
        for t in &toks {
            match &t.tok {
                Tok::Name => {
                    self.set(current.take());
                    current = Some((&line[t.start..t.end], Vec::new()));
                }
                Tok::Str(s) => current
                    .iter_mut()
                    .for_each(|(_, args)| args.push(s.clone())),
                _ => {}
            }
        }
        self.set(current);
    }

    fn set(&mut self, attr: Option<(&str, Vec<String>)>) {
        match attr {
            Some(("working-directory", args)) => self.dir = args.into_iter().next(),
            Some(("no-cd", _)) => self.no_cd = true,
            Some(("default", _)) => self.default = true,
            Some(("script", args)) => self.script = Some(args),
            _ => {}
        }
    }
}

/// Whether a command (`/usr/bin/env -S bash -eu`, `sh`, …) is a POSIX shell.
fn is_shell<'a>(mut words: impl Iterator<Item = &'a str>) -> bool {
    let base = |w: &'a str| w.rsplit(['/', '\\']).next().unwrap_or(w);
    let mut first = words.next().map(base);
    if first == Some("env") {
        first = words
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .map(base);
    }
    matches!(
        first.map(|w| w.trim_end_matches(".exe")),
        Some("sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash")
    )
}

/// How a recipe body runs, known once the settings are.
enum Kind {
    Linewise,
    Shell(bool),
    /// `[script]` without arguments: the `script-interpreter` setting's.
    Script,
}

/// A justfile, read.
#[derive(Debug, Default)]
pub(crate) struct Justfile {
    recipes: Vec<Recipe>,
    index: HashMap<String, usize>,
    aliases: HashMap<String, String>,
    vars: HashMap<String, String>,
    default: Option<usize>,
    /// The text's length, which bounds what a plan may build.
    size: usize,
}

impl Justfile {
    fn recipe(&self, name: &str) -> Option<usize> {
        let target = self.aliases.get(name).map_or(name, String::as_str);
        self.index
            .get(name)
            .or_else(|| self.index.get(target))
            .copied()
    }

    fn parse(text: &str) -> Result<Justfile, TaskError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut file = Justfile {
            size: text.len(),
            ..Justfile::default()
        };
        let (mut shell, mut interpreter, mut set_dir) = (true, None::<bool>, None::<String>);
        let mut kinds = Vec::new();
        let mut attrs = Attrs::default();
        let mut n = 0;
        while let Some(&line) = lines.get(n) {
            n += 1;
            let t = line.trim();
            if line.starts_with([' ', '\t']) || t.is_empty() || t.starts_with('#') {
                continue;
            }
            if t.starts_with('[') {
                attrs.read(t);
                continue;
            }
            if let Some((name, value)) = statement(t) {
                attrs = Attrs::default();
                // A `'''`/`"""` string left open goes on to the line that closes it.
                if let Some(q) = ["'''", "\"\"\""]
                    .into_iter()
                    .find(|q| value.matches(q).count() % 2 == 1)
                {
                    n += lines[n..]
                        .iter()
                        .position(|l| l.contains(q))
                        .map_or(lines.len() - n, |p| p + 1);
                }
                let toks = lex(value).unwrap_or_default();
                match name {
                    Setting("working-directory") => set_dir = first_string(&toks),
                    Setting("shell") => shell = is_shell(strings(&toks)),
                    Setting("script-interpreter") => interpreter = Some(is_shell(strings(&toks))),
                    Variable(var) => match file.evaluate(value, &toks) {
                        Some(v) => drop(file.vars.insert(var.to_string(), v)),
                        None => drop(file.vars.remove(var)),
                    },
                    Alias(alias) => {
                        if let Some(target) = toks.first().filter(|t| t.tok == Tok::Name) {
                            file.aliases
                                .insert(alias.into(), value[target.start..target.end].into());
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let Some(mut recipe) = header(t, n)? else {
                attrs = Attrs::default();
                continue;
            };
            let start = n;
            while lines
                .get(n)
                .is_some_and(|l| l.trim().is_empty() || l.starts_with([' ', '\t']))
            {
                n += 1;
            }
            let (kind, commands) = body(&lines[start..n], start + 1, attrs.script.take());
            recipe.commands = commands;
            recipe.dir = attrs.dir.take();
            if attrs.no_cd {
                // Accepted simplification: just runs these in the invocation
                // folder, which we do not know here.
                recipe.dir = Some(String::new());
            }
            if attrs.default || file.recipes.is_empty() {
                file.default = Some(file.recipes.len());
            }
            attrs = Attrs::default();
            file.index.insert(recipe.name.clone(), file.recipes.len());
            file.recipes.push(recipe);
            kinds.push(kind);
        }
        for (recipe, kind) in file.recipes.iter_mut().zip(kinds) {
            let runs = match kind {
                Kind::Linewise => shell,
                Kind::Shell(sh) => sh,
                Kind::Script => interpreter.unwrap_or(true),
            };
            if !runs {
                recipe.commands.clear();
            }
            // The attribute's folder is relative to the setting's (just joins them).
            recipe.dir = match (recipe.dir.take(), &set_dir) {
                (Some(d), _) if d.is_empty() => None,
                (Some(d), Some(set)) if !d.starts_with('/') => {
                    Some(format!("{}/{d}", set.trim_end_matches('/')))
                }
                (d, set) => d.or_else(|| set.clone()),
            };
        }
        Ok(file)
    }

    /// A string value, or `None` for anything computed at run time.
    fn evaluate(&self, value: &str, toks: &[Token]) -> Option<String> {
        let mut i = 0;
        let e = expr(value, toks, &mut i).filter(|_| i == toks.len())?;
        // A value may copy others, but not grow without bound (`b := a + a`).
        let mut budget = value.len() + 4096;
        eval(
            &e,
            &|name| self.vars.get(name).map(String::as_str),
            &mut budget,
        )
    }
}

/// The kinds of top-level statement read; the name or alias they define.
enum Stmt<'a> {
    Setting(&'a str),
    Variable(&'a str),
    Alias(&'a str),
    Skipped,
}
use Stmt::*;

/// `name := value`, `export name := value`, `alias a := b`, `set name [:= value]`,
/// `unexport name`, `import 'x'`, `mod name ['path']`, with the text after `:=`.
fn statement(t: &str) -> Option<(Stmt<'_>, &str)> {
    let w = name_len(t);
    let (word, rest) = (&t[..w], t[w..].trim_start());
    if w > 0 {
        if let Some(value) = rest.strip_prefix(":=") {
            return Some((Variable(word), value.trim()));
        }
    }
    let w2 = name_len(rest);
    let (name, after) = (&rest[..w2], rest[w2..].trim_start());
    let ends = after.is_empty() || after.starts_with('#');
    let value = after.strip_prefix(":=").map(str::trim);
    match word {
        "export" | "alias" if w2 > 0 => value.map(|v| {
            (
                if word == "alias" {
                    Alias(name)
                } else {
                    Variable(name)
                },
                v,
            )
        }),
        "set" if w2 > 0 => value
            .or(Some("").filter(|_| ends))
            .map(|v| (Setting(name), v)),
        "unexport" if w2 > 0 && ends => Some((Skipped, "")),
        "import" | "mod"
            if rest.starts_with(['?', '\'', '"'])
                || w2 > 0 && (ends || after.starts_with(['\'', '"'])) =>
        {
            Some((Skipped, ""))
        }
        _ => None,
    }
}

fn strings(toks: &[Token]) -> impl Iterator<Item = &str> {
    toks.iter().filter_map(|t| match &t.tok {
        Tok::Str(s) => Some(s.as_str()),
        _ => None,
    })
}

fn first_string(toks: &[Token]) -> Option<String> {
    strings(toks).next().map(str::to_string)
}

/// A body's command lines (continuations joined, comments dropped, `@`/`-`
/// stripped from linewise ones) and how it runs.
fn body(lines: &[&str], first: usize, script: Option<Vec<String>>) -> (Kind, Vec<(String, usize)>) {
    let mut commands = Vec::new();
    let mut k = 0;
    while let Some(line) = lines.get(k) {
        let (number, mut text) = (first + k, line.trim().to_string());
        k += 1;
        while text.ends_with('\\') && lines.get(k).is_some_and(|l| !l.trim().is_empty()) {
            text.pop();
            text.truncate(text.trim_end().len());
            text.push(' ');
            text.push_str(lines[k].trim());
            k += 1;
        }
        if !text.is_empty() {
            commands.push((text, number));
        }
    }
    let shebang = commands
        .first()
        .and_then(|(t, _)| t.strip_prefix("#!"))
        .map(|s| is_shell(s.split_whitespace()));
    let kind = match (shebang, script) {
        (Some(sh), _) => {
            commands.remove(0);
            Kind::Shell(sh)
        }
        (None, Some(args)) if args.is_empty() => Kind::Script,
        (None, Some(args)) => Kind::Shell(is_shell(args.iter().flat_map(|a| a.split_whitespace()))),
        (None, None) => {
            for (text, _) in &mut commands {
                let mut t = text.as_str();
                for prefix in ['@', '-', '@'] {
                    t = t.strip_prefix(prefix).unwrap_or(t);
                }
                *text = t.trim_start().to_string();
            }
            Kind::Linewise
        }
    };
    commands.retain(|(t, _)| !t.is_empty() && !t.starts_with('#'));
    (kind, commands)
}

/// An expression's value when known; every byte built is charged to `budget`.
fn eval<'a>(e: &Expr, var: &dyn Fn(&str) -> Option<&'a str>, budget: &mut usize) -> Option<String> {
    let value = match e {
        Expr::Str(s) => s.clone(),
        Expr::Var(name) => var(name)?.to_string(),
        Expr::Cat(parts, _) => {
            let mut out = String::new();
            for part in parts {
                out.push_str(&eval(part, var, budget)?);
            }
            out
        }
        Expr::Raw(_) => return None,
    };
    *budget = budget.checked_sub(value.len() + 1)?;
    Some(value)
}

/// The planner's state while it walks the recipes.
struct Walk<'a> {
    file: &'a Justfile,
    overrides: HashMap<String, String>,
    no_deps: bool,
    seen: HashSet<(usize, Vec<String>)>,
    missing: HashSet<String>,
    runs: usize,
    /// Bytes the plan may still build: keeps the work linear in the input
    /// when recipes with large bodies run with many arguments.
    budget: usize,
    plan: Plan,
}

/// [`plan_with`] with dependencies, as just runs by default.
#[cfg(test)]
fn plan(text: &str, words: &[String]) -> Result<Plan, TaskError> {
    plan_with(text, words, false)
}

/// [`plan_parsed`] on a justfile's text.
#[cfg(test)]
fn plan_with(text: &str, words: &[String], no_deps: bool) -> Result<Plan, TaskError> {
    Ok(plan_parsed(&Justfile::parse(text)?, words, no_deps))
}

/// A justfile read once, to plan many commands against (CI may call it
/// many times).
pub(crate) fn read(text: &str) -> Result<Justfile, TaskError> {
    Justfile::parse(text)
}

/// The commands `just words…` runs, from a justfile read by [`read`],
/// without dependencies when `no_deps` (`--no-deps`). Planned.dir is
/// relative to the justfile's folder (None = that folder itself). Leading
/// `VAR=value` words are overrides, as just reads them.
pub(crate) fn plan_parsed(file: &Justfile, words: &[String], no_deps: bool) -> Plan {
    let size = file.size + words.iter().map(String::len).sum::<usize>();
    let mut walk = Walk {
        file,
        overrides: HashMap::new(),
        no_deps,
        seen: HashSet::new(),
        missing: HashSet::new(),
        runs: 0,
        budget: size.saturating_mul(16).saturating_add(1 << 20),
        plan: Plan::default(),
    };
    let mut k = 0;
    while let Some((var, val)) = words.get(k).and_then(|w| override_word(w)) {
        walk.overrides.insert(var.to_string(), val.to_string());
        k += 1;
    }
    if k == words.len() {
        if let Some(default) = file.default {
            walk.run(default, &[], 0);
        }
    }
    while let Some(word) = words.get(k) {
        k += 1;
        let Some(index) = file.recipe(word) else {
            walk.miss(word);
            continue;
        };
        // just's rule: a recipe takes as many words as it has parameters,
        // or all that are left when fewer (or when it is variadic).
        let params = &file.recipes[index].params;
        let max = if params.iter().any(|p| p.variadic.is_some()) {
            usize::MAX
        } else {
            params.len()
        };
        let take = max.min(words.len() - k);
        walk.run(index, &words[k..k + take], 0);
        k += take;
    }
    walk.plan
}

/// A name's value: a parameter, else an overridden or top-level string variable.
fn lookup<'s>(
    scope: &'s HashMap<&str, String>,
    overrides: &'s HashMap<String, String>,
    file: &'s Justfile,
    name: &str,
) -> Option<&'s str> {
    let var = || overrides.get(name).or_else(|| file.vars.get(name));
    scope.get(name).or_else(var).map(String::as_str)
}

impl<'a> Walk<'a> {
    fn miss(&mut self, name: &str) {
        if self.missing.insert(name.to_string()) {
            self.plan.missing.push(name.to_string());
        }
    }

    /// Runs a recipe once per arguments: dependencies, body, `&&` dependencies.
    fn run(&mut self, index: usize, args: &[String], nesting: usize) {
        let cost = args.iter().map(|a| a.len() + 1).sum::<usize>() + 1;
        if nesting > MAX_NESTING || self.runs >= MAX_TASKS || self.budget < cost {
            return;
        }
        self.budget -= cost;
        if !self.seen.insert((index, args.to_vec())) {
            return;
        }
        self.runs += 1;
        let file = self.file;
        let recipe = &file.recipes[index];
        let scope = self.scope(recipe, args);
        let no_deps = self.no_deps;
        let deps = |list: &'a [Dep]| if no_deps { &[][..] } else { list };
        for dep in deps(&recipe.prior) {
            self.dep(dep, &scope, nesting);
        }
        for (text, line) in &recipe.commands {
            let text = self.interpolate(text, &scope);
            self.plan.commands.push(Planned {
                text,
                line: *line,
                dir: recipe.dir.clone(),
                source: None,
            });
        }
        for dep in deps(&recipe.after) {
            self.dep(dep, &scope, nesting);
        }
    }

    /// Parameter values: the arguments, else the defaults when known.
    fn scope(&mut self, recipe: &'a Recipe, args: &[String]) -> HashMap<&'a str, String> {
        let mut scope: HashMap<&str, String> = HashMap::new();
        for (k, p) in recipe.params.iter().enumerate() {
            let value = match (args.get(k..).filter(|a| !a.is_empty()), p.variadic) {
                (Some(rest), Some(_)) => Some(rest.join(" ")),
                (Some(rest), None) => Some(rest[0].clone()),
                (None, _) => p.default.as_ref().and_then(|d| {
                    let var = |n: &str| lookup(&scope, &self.overrides, self.file, n);
                    eval(d, &var, &mut self.budget)
                }),
            };
            let value = value.or_else(|| Some(String::new()).filter(|_| p.variadic == Some(false)));
            // Every parameter costs, so that many runs of a recipe with many
            // parameters stay bounded too.
            self.budget = self.budget.saturating_sub(1);
            if let Some(v) = value {
                self.budget = self.budget.saturating_sub(v.len());
                scope.insert(&p.name, v);
            }
        }
        scope
    }

    fn dep(&mut self, dep: &Dep, scope: &HashMap<&str, String>, nesting: usize) {
        if self.budget == 0 {
            return;
        }
        let Some(index) = self.file.recipe(&dep.name) else {
            return self.miss(&dep.name);
        };
        let var = |n: &str| lookup(scope, &self.overrides, self.file, n);
        let args: Vec<String> = dep
            .args
            .iter()
            .map(|a| eval(a, &var, &mut self.budget).unwrap_or_else(|| a.raw().to_string()))
            .collect();
        self.run(index, &args, nesting + 1);
    }

    /// `{{name}}` → its value; `{{{{` → `{{`; anything else stays as written.
    fn interpolate(&mut self, text: &str, scope: &HashMap<&str, String>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("{{") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            if let Some(more) = after.strip_prefix("{{") {
                out.push_str("{{");
                rest = more;
                continue;
            }
            let Some(end) = after.find("}}") else {
                rest = &rest[at..];
                break;
            };
            let value = lookup(scope, &self.overrides, self.file, after[..end].trim());
            match value.filter(|v| v.len() < self.budget) {
                Some(v) => {
                    self.budget -= v.len();
                    out.push_str(v);
                }
                None => out.push_str(&rest[at..at + end + 4]),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        self.budget = self.budget.saturating_sub(out.len());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run(text: &str, args: &str) -> Plan {
        plan(text, &words(args)).expect("parses")
    }

    fn texts(plan: &Plan) -> Vec<&str> {
        plan.commands.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn arguments_skip_option_values_and_stop_at_the_first_recipe() {
        let a = JustArgs::parse(&words(
            "--justfile=ci/justfile -d ml --set A 1 --shell bash -q test -v x",
        ));
        assert_eq!(a.justfile.as_deref(), Some("ci/justfile"));
        assert_eq!(a.working_directory.as_deref(), Some("ml"));
        assert_eq!(a.words, ["A=1", "test", "-v", "x"]);
        assert!(a.runs && !a.no_deps);

        let a = JustArgs::parse(&words("-f x --color always --no-deps V=2 build"));
        assert_eq!(
            (a.justfile.as_deref(), a.words, a.no_deps),
            (Some("x"), words("V=2 build"), true)
        );
        assert_eq!(
            JustArgs::parse(&words("-fjf -- build")).justfile.as_deref(),
            Some("jf")
        );
        assert_eq!(JustArgs::parse(&words("-- -x")).words, ["-x"]);
        assert!(JustArgs::parse(&[]).runs);
    }

    #[test]
    fn listing_showing_and_dry_runs_run_nothing() {
        for args in [
            "--list",
            "-l",
            "--show test",
            "-s test",
            "--summary",
            "--dump",
            "--evaluate",
            "--fmt --check",
            "--init",
            "--edit",
            "--choose",
            "--completions bash",
            "-h",
            "--version",
            "-V",
            "--groups",
            "--man",
            "-n test",
            "--dry-run test",
            "-qn test",
            "--variables",
            "--request x",
        ] {
            assert!(!JustArgs::parse(&words(args)).runs, "{args}");
        }
        let a = JustArgs::parse(&words("--show test build"));
        assert_eq!(a.words, ["build"]);
    }

    #[test]
    fn no_words_run_the_first_recipe_or_the_default_one() {
        let text = "# comment\n\n_setup:\n    echo setup\n\ntest:\n    pytest\n";
        assert_eq!(texts(&run(text, "")), ["echo setup"]);
        let text = "lint:\n  ruff .\n\n[default]\n[private]\ntest:\n  pytest\n";
        assert_eq!(texts(&run(text, "")), ["pytest"]);
        assert_eq!(texts(&run(text, "A=1")), ["pytest"]);
    }

    #[test]
    fn aliases_name_recipes() {
        let text =
            "alias t := test\n[private]\nalias l := lint\ntest:\n  pytest\nlint:\n  ruff .\n";
        assert_eq!(texts(&run(text, "t l")), ["pytest", "ruff ."]);
    }

    #[test]
    fn parameters_take_words_defaults_and_variadics() {
        let text = "test target='tests' flags=\"-q\":\n  pytest {{target}} {{ flags }}\n\
                    many first +rest:\n  echo {{first}} {{rest}}\n\
                    opt *args:\n  tool {{args}}\n\
                    export $env dir=env:\n  cd {{dir}} {{env}}\n";
        assert_eq!(texts(&run(text, "test unit")), ["pytest unit -q"]);
        assert_eq!(texts(&run(text, "test")), ["pytest tests -q"]);
        assert_eq!(
            texts(&run(text, "test a b many 1 2 3")),
            ["pytest a b", "echo 1 2 3"]
        );
        assert_eq!(texts(&run(text, "opt")), ["tool "]);
        // A default naming an earlier parameter takes its value.
        assert_eq!(texts(&run(text, "export E")), ["cd E E"]);
        // Too few words: the missing parameter stays as written.
        assert_eq!(texts(&run(text, "many")), ["echo {{first}} {{rest}}"]);
    }

    #[test]
    fn dependencies_run_first_with_arguments_and_subsequent_ones_after() {
        let text = "v := 'x'\nbuild mode='dev':\n  make {{mode}}\n\
                    test arg: build (build 'release') (build v) (build arg + '2') && report\n  pytest\n\
                    report:\n  echo done\n";
        let plan = run(text, "test y");
        assert_eq!(
            texts(&plan),
            [
                "make dev",
                "make release",
                "make x",
                "make y2",
                "pytest",
                "echo done"
            ]
        );
        assert_eq!(
            texts(&plan_with(text, &words("test y"), true).expect("parses")),
            ["pytest"]
        );
    }

    #[test]
    fn each_recipe_runs_once_per_arguments() {
        let text = "a: c\n  echo a\nb: c (d '1') (d '1') (d '2')\n  echo b\nc:\n  echo c\nd x:\n  echo d{{x}}\n";
        assert_eq!(
            texts(&run(text, "a b a")),
            ["echo c", "echo a", "echo d1", "echo d2", "echo b"]
        );
    }

    #[test]
    fn unknown_recipes_and_dependencies_are_missing_once() {
        let text = "test: lint\n  pytest\n";
        let plan = run(text, "nope test nope");
        assert_eq!(texts(&plan), ["pytest"]);
        assert_eq!(plan.missing, ["nope", "lint"]);
    }

    #[test]
    fn prefixes_comments_and_continuations() {
        let text = "test:\n  @echo quiet\n  -rm -f x\n  @-false\n  -@true\n  # note\n\n  pytest \\\n    -x \\\n    tests\n  done\n";
        let plan = run(text, "");
        assert_eq!(
            texts(&plan),
            [
                "echo quiet",
                "rm -f x",
                "false",
                "true",
                "pytest -x tests",
                "done"
            ]
        );
        let lines: Vec<usize> = plan.commands.iter().map(|c| c.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 8, 11]);
    }

    #[test]
    fn shebang_and_script_recipes() {
        let text = "sh:\n  #!/usr/bin/env -S bash -eu\n  set -x\n  pytest\n\
                    py:\n  #!/usr/bin/env python3\n  print(1)\n\
                    [script]\nsc:\n  uv sync\n\
                    [script('python3')]\nscp:\n  print(2)\n\
                    [script('bash', '-eu')]\nscb:\n  make\n";
        assert_eq!(
            texts(&run(text, "sh py sc scp scb")),
            ["set -x", "pytest", "uv sync", "make"]
        );
        assert_eq!(run(text, "sh").commands[0].line, 3);
        let python = "set script-interpreter := ['python3']\n[script]\nx:\n  print(1)\n";
        assert!(run(python, "x").commands.is_empty());
    }

    #[test]
    fn working_directories() {
        let text =
            "set working-directory := 'ml'\na:\n  one\n[working-directory: 'sub']\nb:\n  two\n\
                    [working-directory('/abs')]\nc:\n  three\n[no-cd]\nd:\n  four\n";
        let plan = run(text, "a b c d");
        let dirs: Vec<Option<&str>> = plan.commands.iter().map(|c| c.dir.as_deref()).collect();
        assert_eq!(dirs, [Some("ml"), Some("ml/sub"), Some("/abs"), None]);
        let text = "[group('ci'), working-directory('docs')]\nb:\n  mkdocs build\nc:\n  x\n";
        assert_eq!(run(text, "b").commands[0].dir.as_deref(), Some("docs"));
        assert_eq!(run(text, "c").commands[0].dir, None);
    }

    #[test]
    fn a_non_shell_shell_runs_no_linewise_recipe() {
        let text =
            "set shell := [\"python3\", \"-c\"]\na:\n  print(1)\nb:\n  #!/bin/bash\n  pytest\n";
        assert_eq!(texts(&run(text, "a b")), ["pytest"]);
        let text = "set shell := ['bash', '-uc']\nset dotenv-load\na:\n  pytest\n";
        assert_eq!(texts(&run(text, "a")), ["pytest"]);
    }

    #[test]
    fn interpolation() {
        let text = "export py := \"python\" + '3'\nlate := `date`\nname := 'pkg'\n\
                    a p='d':\n  {{py}} -m {{ name }} {{p}} {{late}} {{ justfile_directory() }} {{{{x}} {{ os(\n";
        assert_eq!(
            texts(&run(text, "a")),
            ["python3 -m pkg d {{late}} {{ justfile_directory() }} {{x}} {{ os("]
        );
        assert_eq!(
            texts(&run(text, "name=other a")),
            ["python3 -m other d {{late}} {{ justfile_directory() }} {{x}} {{ os("]
        );
        // A value is not interpolated again.
        let text = "v := '{{x}}'\na:\n  echo {{v}}\n";
        assert_eq!(texts(&run(text, "")), ["echo {{x}}"]);
        assert_eq!(texts(&run("\u{feff}a:\r\n  x\r\n", "")), ["x"]);
    }

    #[test]
    fn statements_are_skipped_and_multiline_strings_too() {
        let text =
            "import 'other.just'\nimport? 'x'\nmod docs\nmod? ml 'ml/justfile'\nunexport X\n\
                    doc := '''\nfake:\n  echo no\n'''\nset positional-arguments\ntest:\n  pytest\n";
        assert_eq!(texts(&run(text, "")), ["pytest"]);
        assert_eq!(run(text, "fake").missing, ["fake"]);
    }

    #[test]
    fn header_errors_name_the_line() {
        let err = plan("ok:\n  x\nbad p='oops:\n  y\n", &[]).expect_err("unterminated");
        assert_eq!(err.line, Some(3));
        assert_eq!(
            err.message,
            "recipe header `bad` has an unterminated string"
        );
        // A stray line with no colon is skipped.
        assert_eq!(texts(&run("don't\nt:\n  x\n", "")), ["x"]);
    }

    #[test]
    fn cycles_and_deep_chains_terminate() {
        let plan = run("a: b\n  echo a\nb: a\n  echo b\n", "a");
        assert_eq!(texts(&plan), ["echo b", "echo a"]);
        let mut chain = String::new();
        for k in 0..5000 {
            chain.push_str(&format!("r{k}: r{}\n  echo {k}\n", k + 1));
        }
        let plan = run(&chain, "r0");
        assert_eq!(plan.commands.len(), MAX_NESTING + 1);
        assert_eq!(
            plan.commands.last().map(|c| c.text.as_str()),
            Some("echo 0")
        );
        // Recursion with growing arguments stops too.
        let plan = run("a x:\n  echo {{x}}\n  b\nb: (a 'y' + 'z')\n", "a 1");
        assert!(plan.commands.len() < 10);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let long = "x".repeat(1 << 20);
        for text in [
            long.clone(),
            format!("a:\n  {long}"),
            format!("a: {long}\n"),
            format!("a \"{long}"),
            format!("a:\n  {}", "{{".repeat(1 << 18)),
            format!("v := '{long}'\na:\n  {}", "{{v}}".repeat(1 << 16)),
            "é:\n  x\nnaïve ü='ß:\n".into(),
            "a p=(b:\n  {{p}}\n[working-directory('\nb: (a\nc: (\n\"\\".into(),
            "é ü: ö\n  ä\n\u{feff}a:\n\t\u{3000}x\r\n".into(),
        ] {
            let _ = plan(&text, &[]);
            let _ = plan(&text, &words("a é {{ x"));
        }
        let blowup = "v := '1234567890'\na p=v:\n  {{v}}{{v}}{{v}}\nb: (a v) (a v+v) (a v+v+v)\n";
        assert_eq!(run(blowup, "b").commands.len(), 3);
        let plan = run(
            &format!("v := '{long}'\na:\n  {}", "{{v}}".repeat(1 << 12)),
            "a",
        );
        assert!(
            plan.commands[0].text.len() <= 64 << 20,
            "output stays linear in the input"
        );
    }
}
