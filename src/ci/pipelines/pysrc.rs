//! Just enough of Python to read pipeline definitions without running them:
//! logical statements (bracketed continuations joined, comments dropped),
//! function and class definitions with their decorators, calls and their
//! arguments, string literals. One pass over the text; every loop is bounded
//! by the input's size.

/// Longest logical statement kept; the rest of a longer one is dropped (a
/// generated file, or an unclosed bracket swallowing the file).
const MAX_STATEMENT: usize = 64 * 1024;

/// One logical statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    /// 1-based line where it starts.
    pub line: usize,
    /// Leading spaces of its first line (a tab counts as 8).
    pub indent: usize,
    /// Its text, physical lines joined with a space, comments removed.
    pub text: String,
}

/// A Python file read into statements.
#[derive(Debug, Default)]
pub(crate) struct Source {
    pub stmts: Vec<Stmt>,
    /// Line of a bracket or triple-quoted string still open at the end of
    /// the file: the file does not parse.
    pub unclosed: Option<usize>,
}

/// Reads `text` into logical statements.
pub(crate) fn parse(text: &str) -> Source {
    let mut out = Source::default();
    let mut current: Option<Stmt> = None;
    let mut depth: usize = 0;
    let mut open_line = 0;
    // Inside a string: its quote char and whether it is triple-quoted.
    let mut string: Option<(char, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let continuing = current.is_some();
        if !continuing {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line[..line.len() - trimmed.len()]
                .chars()
                .map(|c| if c == '\t' { 8 } else { 1 })
                .sum();
            current = Some(Stmt {
                line: number,
                indent,
                text: String::new(),
            });
        }
        let stmt = current.as_mut().expect("a statement is open");
        if continuing && stmt.text.len() < MAX_STATEMENT {
            stmt.text.push(' ');
        }
        // A statement's text starts at its first character, not its indent.
        let line = if continuing { line } else { line.trim_start() };
        let mut chars = line.char_indices().peekable();
        let mut escaped = false;
        let mut backslash_end = false;
        while let Some((at, c)) = chars.next() {
            backslash_end = false;
            let keep = stmt.text.len() < MAX_STATEMENT;
            match string {
                Some((quote, triple)) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == quote {
                        if !triple {
                            string = None;
                        } else if line[at..].starts_with(&quote.to_string().repeat(3)) {
                            chars.next();
                            chars.next();
                            if keep {
                                stmt.text.push(c);
                                stmt.text.push(c);
                            }
                            string = None;
                        }
                    }
                }
                None => match c {
                    '#' => break,
                    '"' | '\'' => {
                        let triple = line[at..].starts_with(&c.to_string().repeat(3));
                        if triple {
                            chars.next();
                            chars.next();
                            if keep {
                                stmt.text.push(c);
                                stmt.text.push(c);
                            }
                        }
                        string = Some((c, triple));
                        if depth == 0 && triple {
                            open_line = number;
                        }
                    }
                    '(' | '[' | '{' => {
                        if depth == 0 {
                            open_line = number;
                        }
                        depth += 1;
                    }
                    ')' | ']' | '}' => depth = depth.saturating_sub(1),
                    '\\' if chars.peek().is_none() => backslash_end = true,
                    _ => {}
                },
            }
            if keep && !backslash_end {
                stmt.text.push(c);
            }
        }
        // A single-quoted string does not run past its line.
        if matches!(string, Some((_, false))) {
            string = None;
        }
        let open = depth > 0 || string.is_some() || backslash_end;
        if !open {
            let mut done = current.take().expect("a statement is open");
            let trimmed = done.text.trim_end().len();
            done.text.truncate(trimmed);
            out.stmts.push(done);
        }
    }
    if let Some(stmt) = current {
        out.unclosed = Some(if open_line > 0 { open_line } else { stmt.line });
        out.stmts.push(stmt);
    }
    out
}

/// A `def` or `class` with its decorators and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Def {
    /// `def`/`async def` (false) or `class` (true).
    pub is_class: bool,
    pub name: String,
    /// 1-based line of the first decorator, or of the `def` without one.
    pub line: usize,
    pub indent: usize,
    /// Decorator texts without the `@` (`dsl.pipeline(name="x")`).
    pub decorators: Vec<String>,
    /// A class's base list (`FlowSpec`) or a function's parameters.
    pub params: String,
    /// Statements of the body: indices into [`Source::stmts`].
    pub body: std::ops::Range<usize>,
}

/// Every `def` and `class` of a file, nested ones too, in file order.
pub(crate) fn defs(source: &Source) -> Vec<Def> {
    let stmts = &source.stmts;
    let mut out: Vec<Def> = Vec::new();
    // Defs whose body is still open, innermost last: a statement indented
    // no deeper than a def closes it.
    let mut open: Vec<usize> = Vec::new();
    let mut decorators: Vec<(usize, String)> = Vec::new();
    for (i, stmt) in stmts.iter().enumerate() {
        while let Some(&top) = open.last() {
            if stmt.indent > out[top].indent {
                break;
            }
            out[top].body.end = i;
            open.pop();
        }
        let text = stmt.text.as_str();
        if let Some(decorator) = text.strip_prefix('@') {
            decorators.push((stmt.line, decorator.trim().to_string()));
            continue;
        }
        let header = text.strip_prefix("async ").unwrap_or(text);
        let (is_class, rest) = if let Some(rest) = header.strip_prefix("def ") {
            (false, rest)
        } else if let Some(rest) = header.strip_prefix("class ") {
            (true, rest)
        } else {
            decorators.clear();
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let params = rest
            .find('(')
            .map(|open| balanced(&rest[open..]).unwrap_or(&rest[open + 1..]))
            .unwrap_or("")
            .to_string();
        let line = decorators.first().map_or(stmt.line, |(l, _)| *l);
        open.push(out.len());
        out.push(Def {
            is_class,
            name,
            line,
            indent: stmt.indent,
            decorators: decorators.drain(..).map(|(_, d)| d).collect(),
            params,
            body: i + 1..stmts.len(),
        });
    }
    out
}

impl Def {
    /// Whether a decorator is `name`, `name(…)` or `x.name…` for one of `names`.
    pub(crate) fn decorated(&self, names: &[&str]) -> Option<&str> {
        self.decorators.iter().map(String::as_str).find(|d| {
            let head = d.split('(').next().unwrap_or(d).trim();
            let last = head.rsplit('.').next().unwrap_or(head);
            names.contains(&head) || names.contains(&last)
        })
    }
}

/// One call found in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call<'a> {
    /// The dotted name called (`dsl.ContainerOp`, `PythonOperator`).
    pub callee: &'a str,
    /// The text between the parentheses.
    pub args: &'a str,
}

impl<'a> Call<'a> {
    /// The last part of the callee's dotted name.
    pub(crate) fn name(&self) -> &'a str {
        self.callee.rsplit('.').next().unwrap_or(self.callee)
    }

    /// The value of keyword argument `key`, as written.
    pub(crate) fn kwarg(&self, key: &str) -> Option<&'a str> {
        split_args(self.args).into_iter().find_map(|arg| {
            let (k, v) = arg.split_once('=')?;
            (k.trim() == key && !v.starts_with('=')).then(|| v.trim())
        })
    }

    /// The `n`th positional argument, as written.
    pub(crate) fn positional(&self, n: usize) -> Option<&'a str> {
        split_args(self.args)
            .into_iter()
            .filter(|a| !is_keyword(a))
            .nth(n)
    }
}

/// Whether an argument is `key=value` (not `a == b`).
fn is_keyword(arg: &str) -> bool {
    arg.split_once('=').is_some_and(|(k, v)| {
        let k = k.trim();
        !v.starts_with('=') && !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Calls in `text` whose last name part is one of `names` (all calls when
/// `names` is empty), outermost first; nested calls are found too.
pub(crate) fn calls<'a>(text: &'a str, names: &[&str]) -> Vec<Call<'a>> {
    let bytes = text.as_bytes();
    // One pass pairs every bracket with its closer, so finding each call's
    // arguments costs nothing more.
    let mut closer: Vec<(usize, usize)> = Vec::new();
    let mut opens: Vec<usize> = Vec::new();
    let mut calls_at: Vec<usize> = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'(' | b'[' | b'{' => {
                opens.push(i);
                if b == b'(' {
                    calls_at.push(i);
                }
            }
            b')' | b']' | b'}' => {
                if let Some(open) = opens.pop() {
                    closer.push((open, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    closer.sort_unstable();
    let mut out = Vec::new();
    for open in calls_at {
        let start = callee_start(bytes, open);
        let callee = &text[start..open];
        let last = callee.rsplit('.').next().unwrap_or(callee);
        if last.is_empty() || !(names.is_empty() || names.contains(&last)) {
            continue;
        }
        let end = closer
            .binary_search_by_key(&open, |&(o, _)| o)
            .ok()
            .map_or(text.len(), |k| closer[k].1);
        out.push(Call {
            callee,
            args: &text[open + 1..end],
        });
    }
    out
}

/// Where the dotted name before `open` starts.
fn callee_start(bytes: &[u8], open: usize) -> usize {
    let mut start = open;
    while start > 0 {
        let c = bytes[start - 1];
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
            start -= 1;
        } else {
            break;
        }
    }
    // `x.y` is a name; `).y` or `.5` are not names' starts.
    while start < open && (bytes[start] == b'.' || bytes[start].is_ascii_digit()) {
        start += 1;
    }
    start
}

/// Where a walk over Python code stands with string literals, so brackets
/// and commas inside strings are not taken for code.
#[derive(Default)]
pub(crate) struct Quotes {
    quote: Option<char>,
    escaped: bool,
}

impl Quotes {
    /// Whether `c`, the next character, is code: false for the characters of
    /// a string literal, its quotes included.
    pub(crate) fn is_code(&mut self, c: char) -> bool {
        if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if c == q {
                self.quote = None;
            }
            return false;
        }
        if c == '"' || c == '\'' {
            self.quote = Some(c);
            return false;
        }
        true
    }
}

/// The text inside the bracket that opens `text`, or `None` when it never
/// closes.
pub(crate) fn balanced(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut quotes = Quotes::default();
    for (i, c) in text.char_indices() {
        if !quotes.is_code(c) {
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(&text[1..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits an argument list on its top-level commas.
pub(crate) fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quotes = Quotes::default();
    let mut start = 0;
    for (i, c) in args.char_indices() {
        if !quotes.is_code(c) {
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = args[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

/// The value of a plain string literal (`"x"`, `'x'`, `r"x"`, `"""x"""`);
/// `None` for f-strings with placeholders and anything else.
pub(crate) fn string(expr: &str) -> Option<String> {
    let expr = expr.trim();
    let (prefix_len, formatted) = match expr.find(['"', '\'']) {
        Some(p) if p <= 2 => {
            let prefix = expr[..p].to_ascii_lowercase();
            if !prefix.chars().all(|c| matches!(c, 'r' | 'u' | 'b' | 'f')) {
                return None;
            }
            (p, prefix.contains('f'))
        }
        _ => return None,
    };
    let body = &expr[prefix_len..];
    let quote = body.chars().next()?;
    let triple: String = std::iter::repeat_n(quote, 3).collect();
    let inner = if body.len() >= 6 && body.starts_with(&triple) && body.ends_with(&triple) {
        &body[3..body.len() - 3]
    } else if body.len() >= 2 && body.ends_with(quote) {
        let inner = &body[1..body.len() - 1];
        // `"a" + "b"` or `"a", "b"` are not one literal.
        if inner.contains(quote) {
            return None;
        }
        inner
    } else {
        return None;
    };
    if formatted && inner.contains('{') {
        return None;
    }
    Some(inner.to_string())
}

/// The string literals of a list or tuple literal (`["a", "b"]`); `None`
/// when `expr` is not one or holds anything else.
pub(crate) fn string_list(expr: &str) -> Option<Vec<String>> {
    let expr = expr.trim();
    if !(expr.starts_with('[') || expr.starts_with('(')) {
        return None;
    }
    let inner = balanced(expr)?;
    split_args(inner).into_iter().map(string).collect()
}

/// Every string literal in `text`, in order (for paths written anywhere in a
/// call: `code=os.path.join(BASE_DIR, "preprocess.py")`).
pub(crate) fn literals(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest.as_bytes()[start];
        let after = &rest[start + 1..];
        let Some(len) = after.bytes().position(|b| b == quote) else {
            break;
        };
        out.push(&after[..len]);
        rest = &after[len + 1..];
    }
    out
}

/// Module-level `NAME = "value"` assignments, for arguments written as a
/// constant defined in the same file.
pub(crate) fn constant<'a>(source: &'a Source, name: &str) -> Option<&'a str> {
    source.stmts.iter().filter(|s| s.indent == 0).find_map(|s| {
        let (left, right) = s.text.split_once('=')?;
        let left = left.trim();
        let left = left.split(':').next().unwrap_or(left).trim();
        (left == name && !right.starts_with('=')).then(|| right.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_bracketed_lines_and_drops_comments() {
        let src = parse(
            "import os  # why\n\nwith DAG(\n    'ml',  # the id\n    schedule='@daily',\n) as dag:\n    t = f(\"a)\")\n    x = 1 + \\\n        2\n",
        );
        let texts: Vec<(usize, usize, &str)> = src
            .stmts
            .iter()
            .map(|s| (s.line, s.indent, s.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (1, 0, "import os"),
                (
                    3,
                    0,
                    "with DAG(     'ml',       schedule='@daily', ) as dag:"
                ),
                (7, 4, "t = f(\"a)\")"),
                (8, 4, "x = 1 +          2"),
            ]
        );
        assert_eq!(src.unclosed, None);
    }

    #[test]
    fn docstrings_with_brackets_do_not_open_anything() {
        let src = parse("def f():\n    \"\"\"Runs (the\n    pipeline.\"\"\"\n    return 1\n");
        assert_eq!(src.stmts.len(), 3);
        assert_eq!(src.stmts[2].text, "return 1");
        assert_eq!(src.unclosed, None);
    }

    #[test]
    fn an_unclosed_bracket_is_reported_at_its_line() {
        let src = parse("x = 1\ny = f(\n  2,\n");
        assert_eq!(src.unclosed, Some(2));
    }

    #[test]
    fn finds_defs_with_decorators_and_bodies() {
        let src = parse(
            "@dsl.pipeline(name='train')\ndef pipe(a: int):\n    step()\n    other()\n\nclass Flow(FlowSpec):\n    @step\n    def start(self):\n        pass\nx = 1\n",
        );
        let defs = defs(&src);
        let summary: Vec<(&str, usize, bool, usize)> = defs
            .iter()
            .map(|d| (d.name.as_str(), d.line, d.is_class, d.body.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("pipe", 1, false, 2),
                ("Flow", 6, true, 3),
                ("start", 7, false, 1)
            ]
        );
        assert_eq!(
            defs[0].decorated(&["pipeline"]),
            Some("dsl.pipeline(name='train')")
        );
        assert_eq!(defs[1].params, "FlowSpec");
        assert!(defs[1].decorated(&["step"]).is_none());
        assert!(defs[2].decorated(&["step"]).is_some());
    }

    #[test]
    fn reads_calls_and_arguments() {
        let text = "t = PythonOperator(task_id='train', python_callable=tasks.train, op_kwargs={'a': f(1, 2)})";
        let found = calls(text, &["PythonOperator"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kwarg("python_callable"), Some("tasks.train"));
        assert_eq!(
            found[0].kwarg("task_id").and_then(string).as_deref(),
            Some("train")
        );
        assert_eq!(found[0].kwarg("missing"), None);
        let all = calls("a.b(c(1), ')(') + d.e(x=1)", &[]);
        let names: Vec<&str> = all.iter().map(|c| c.callee).collect();
        assert_eq!(names, ["a.b", "c", "d.e"]);
        assert_eq!(all[0].positional(1), Some("')('"));
        assert_eq!(calls("x = (1, 2)", &[]).len(), 0);
    }

    #[test]
    fn reads_literals() {
        assert_eq!(string("'a'").as_deref(), Some("a"));
        assert_eq!(string("r\"a\\b\"").as_deref(), Some("a\\b"));
        assert_eq!(string("f'{x}.py'"), None);
        assert_eq!(string("'a' + 'b'"), None);
        assert_eq!(string("None"), None);
        assert_eq!(
            string_list("['python', \"train.py\"]"),
            Some(vec!["python".to_string(), "train.py".to_string()])
        );
        assert_eq!(string_list("[x]"), None);
        assert_eq!(literals("join(BASE, \"a.py\", 'b')"), ["a.py", "b"]);
        let src = parse("CRON = '0 3 * * *'\ndef f():\n    CRON = 'x'\n");
        assert_eq!(constant(&src, "CRON"), Some("'0 3 * * *'"));
    }

    #[test]
    fn hostile_input_stays_bounded() {
        let text = "(".repeat(200_000);
        let src = parse(&text);
        assert_eq!(src.unclosed, Some(1));
        assert!(src.stmts[0].text.len() <= MAX_STATEMENT + 8);
        assert!(calls(&"f(".repeat(10_000), &["g"]).is_empty());
    }
}
