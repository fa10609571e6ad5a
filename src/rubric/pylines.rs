//! Python source as logical lines: continuation lines joined, comments
//! dropped, and a copy with string contents blanked, so that a rule reading
//! code is not fooled by words inside strings. Read by lines, never run.

/// One logical line of Python (a statement or a clause header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// 1-based line where it starts.
    pub line: usize,
    /// Columns of indentation of its first physical line.
    pub indent: usize,
    /// The code with comments removed and strings kept.
    pub text: String,
    /// [`LogicalLine::code`] when it differs from `text` (the line holds a
    /// string): most lines hold none, and are kept once.
    blanked: Option<String>,
}

impl LogicalLine {
    /// The code with every string literal emptied (`"abc"` becomes `""`).
    pub fn code(&self) -> &str {
        self.blanked.as_deref().unwrap_or(&self.text)
    }

    /// Whether the line is an import statement (`import a`, `from a import b`).
    pub fn is_import(&self) -> bool {
        is_import(self.code())
    }
}

/// Whether a logical line's code is an import statement.
pub fn is_import(code: &str) -> bool {
    code.starts_with("import ") || code.starts_with("from ")
}

/// Splits Python source into logical lines. Brackets, backslash continuations
/// and triple-quoted strings join physical lines; blank and comment-only
/// lines are dropped. Unbalanced input ends the current line at the end of
/// the text, so any text yields an answer.
pub fn logical_lines(source: &str) -> Vec<LogicalLine> {
    // Bytes, not chars: every character the splitter acts on is ASCII, and a
    // UTF-8 sequence never contains an ASCII byte, so other text is copied
    // through unchanged — in runs, rather than a char at a time out of a
    // copy of the file four times its size.
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut depth: usize = 0;
    let mut current: Option<Building> = None;
    let mut at_line_start = true;
    let mut indent = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if at_line_start {
            indent = 0;
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                indent += if bytes[i] == b'\t' { 8 } else { 1 };
                i += 1;
            }
            at_line_start = false;
            continue;
        }
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                at_line_start = true;
                if depth == 0 {
                    finish(&mut current, &mut out);
                } else if let Some(cur) = current.as_mut() {
                    cur.join();
                }
            }
            b'\r' => i += 1,
            b'#' => i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |k| i + k),
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line += 1;
                while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                    i += 1;
                }
                if let Some(cur) = current.as_mut() {
                    cur.join();
                }
            }
            b'"' | b'\'' => {
                let cur = current.get_or_insert_with(|| Building::new(line, indent, &bytes[i..]));
                let triple = bytes.get(i + 1) == Some(&c) && bytes.get(i + 2) == Some(&c);
                let quote_len = if triple { 3 } else { 1 };
                let mut j = i + quote_len;
                let text = &mut cur.text;
                cur.code
                    .get_or_insert_with(|| text.clone())
                    .push_str("\"\"");
                text.push(c as char);
                // The string's content in runs up to the next byte that
                // matters here; its newlines become spaces in the one-line text.
                loop {
                    let stop = memchr::memchr3(b'\\', b'\n', c, &bytes[j..])
                        .map_or(bytes.len(), |k| j + k);
                    text.push_str(&source[j..stop]);
                    j = stop;
                    match bytes.get(j) {
                        None => break,
                        Some(b'\\') => {
                            // The escaped character whole, so that runs
                            // start on character boundaries.
                            if let Some(next) = source[j + 1..].chars().next() {
                                text.push('\\');
                                text.push(if next == '\n' { ' ' } else { next });
                                if next == '\n' {
                                    line += 1;
                                }
                                j += 1 + next.len_utf8();
                            } else {
                                // A backslash ending the text.
                                j = bytes.len();
                                break;
                            }
                        }
                        Some(b'\n') if !triple => break,
                        Some(b'\n') => {
                            line += 1;
                            text.push(' ');
                            j += 1;
                        }
                        Some(_) => {
                            if !triple {
                                j += 1;
                                break;
                            }
                            if bytes.get(j + 1) == Some(&c) && bytes.get(j + 2) == Some(&c) {
                                j += 3;
                                break;
                            }
                            text.push(c as char);
                            j += 1;
                        }
                    }
                }
                text.push(c as char);
                i = j;
            }
            b'(' | b'[' | b'{' | b')' | b']' | b'}' => {
                let cur = current.get_or_insert_with(|| Building::new(line, indent, &bytes[i..]));
                if matches!(c, b'(' | b'[' | b'{') {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
                cur.push_str(&source[i..i + 1]);
                i += 1;
            }
            _ => {
                let cur = current.get_or_insert_with(|| Building::new(line, indent, &bytes[i..]));
                // A backslash not before a newline is ordinary text: the run
                // takes at least this byte.
                let run = bytes[i + 1..]
                    .iter()
                    .position(|&b| SPECIAL[b as usize])
                    .map_or(bytes.len(), |k| i + 1 + k);
                cur.push_str(&source[i..run]);
                i = run;
            }
        }
    }
    finish(&mut current, &mut out);
    out
}

/// The bytes [`logical_lines`] acts on; runs of any others are copied whole.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"\n\r#\\\"'()[]{}";
    let mut k = 0;
    while k < special.len() {
        table[special[k] as usize] = true;
        k += 1;
    }
    table
};

/// A logical line while it is read. Bytes are taken from the source only
/// up to and from ASCII bytes, so every slice taken is whole characters.
struct Building {
    line: usize,
    indent: usize,
    text: String,
    /// The blanked code, from the line's first string on (before it the
    /// code is the text).
    code: Option<String>,
}

impl Building {
    /// A line starting at `rest`: room for the rest of its physical line
    /// is made at once (growing a byte at a time reallocated each line
    /// several times).
    fn new(line: usize, indent: usize, rest: &[u8]) -> Self {
        let room = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        Building {
            line,
            indent,
            text: String::with_capacity(room),
            code: None,
        }
    }

    /// Code outside strings: the same in both.
    fn push_str(&mut self, code: &str) {
        self.text.push_str(code);
        if let Some(blanked) = &mut self.code {
            blanked.push_str(code);
        }
    }

    /// Joins the next physical line with one space.
    fn join(&mut self) {
        let code = self.code.as_deref().unwrap_or(&self.text);
        if !code.ends_with(' ') {
            self.push_str(" ");
        }
    }
}

fn finish(current: &mut Option<Building>, out: &mut Vec<LogicalLine>) {
    if let Some(mut cur) = current.take() {
        cur.text.truncate(cur.text.trim_end().len());
        if let Some(code) = &mut cur.code {
            code.truncate(code.trim_end().len());
        }
        let code = cur.code.as_deref().unwrap_or(&cur.text);
        if !code.is_empty() {
            out.push(LogicalLine {
                line: cur.line,
                indent: cur.indent,
                text: cur.text,
                blanked: cur.code,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The char-by-char splitter the byte version replaced, kept as the
    /// oracle the property test compares it with.
    fn reference(source: &str) -> Vec<RefLine> {
        let mut out = Vec::new();
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        let mut line = 1;
        let mut depth: usize = 0;
        let mut current: Option<RefLine> = None;
        let mut at_line_start = true;
        let mut indent = 0;
        while i < chars.len() {
            let c = chars[i];
            if at_line_start {
                indent = 0;
                while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
                    indent += if chars[i] == '\t' { 8 } else { 1 };
                    i += 1;
                }
                at_line_start = false;
                continue;
            }
            match c {
                '\n' => {
                    line += 1;
                    i += 1;
                    at_line_start = true;
                    if depth == 0 {
                        finish_ref(&mut current, &mut out);
                    } else if let Some(cur) = current.as_mut() {
                        cur.join();
                    }
                }
                '\r' => i += 1,
                '#' => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '\\' if chars.get(i + 1) == Some(&'\n') => {
                    i += 2;
                    line += 1;
                    // The next physical line continues this one: skip its indent.
                    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
                        i += 1;
                    }
                    if let Some(cur) = current.as_mut() {
                        cur.join();
                    }
                }
                '"' | '\'' => {
                    let cur = current.get_or_insert_with(|| start(line, indent));
                    let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
                    let quote_len = if triple { 3 } else { 1 };
                    let mut j = i + quote_len;
                    let mut body = String::new();
                    loop {
                        match chars.get(j) {
                            None => break,
                            Some('\\') => {
                                if let Some(&next) = chars.get(j + 1) {
                                    body.push('\\');
                                    body.push(next);
                                    if next == '\n' {
                                        line += 1;
                                    }
                                }
                                j += 2;
                            }
                            Some('\n') if !triple => break,
                            Some(&ch) if ch == c => {
                                if !triple {
                                    j += 1;
                                    break;
                                }
                                if chars.get(j + 1) == Some(&c) && chars.get(j + 2) == Some(&c) {
                                    j += 3;
                                    break;
                                }
                                body.push(ch);
                                j += 1;
                            }
                            Some(&ch) => {
                                if ch == '\n' {
                                    line += 1;
                                }
                                body.push(ch);
                                j += 1;
                            }
                        }
                    }
                    cur.text.push(c);
                    cur.text.push_str(&body.replace('\n', " "));
                    cur.text.push(c);
                    cur.code.push_str("\"\"");
                    i = j;
                }
                _ => {
                    let cur = current.get_or_insert_with(|| start(line, indent));
                    match c {
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    cur.text.push(c);
                    cur.code.push(c);
                    i += 1;
                }
            }
        }
        finish_ref(&mut current, &mut out);
        out
    }

    /// A line as the oracle builds it: the blanked code always kept.
    #[derive(Debug, PartialEq)]
    struct RefLine {
        line: usize,
        indent: usize,
        text: String,
        code: String,
    }

    impl RefLine {
        fn of(line: &LogicalLine) -> RefLine {
            RefLine {
                line: line.line,
                indent: line.indent,
                text: line.text.clone(),
                code: line.code().to_string(),
            }
        }

        /// Joins the next physical line with one space.
        fn join(&mut self) {
            if !self.code.ends_with(' ') {
                self.text.push(' ');
                self.code.push(' ');
            }
        }
    }

    fn start(line: usize, indent: usize) -> RefLine {
        RefLine {
            line,
            indent,
            text: String::new(),
            code: String::new(),
        }
    }

    fn finish_ref(current: &mut Option<RefLine>, out: &mut Vec<RefLine>) {
        if let Some(mut cur) = current.take() {
            let trimmed = cur.text.trim_end().len();
            cur.text.truncate(trimmed);
            let trimmed = cur.code.trim_end().len();
            cur.code.truncate(trimmed);
            if !cur.code.is_empty() {
                out.push(cur);
            }
        }
    }

    proptest::proptest! {
        /// The byte splitter gives exactly what the char splitter gave, on
        /// Python-shaped text with quotes, brackets, continuations, comments,
        /// tabs, carriage returns (alone too) and non-ASCII characters.
        #[test]
        fn bytes_split_as_chars_did(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "def ", "f", "(", ")", "[", "]", "{", "}", ":", " ", "\t", "\n", "\r\n", "\r",
                "#", "# é\n", "\\", "\\\n", "'", "\"", "'''", "\"\"\"", "x = ", "é", "日本",
                "\u{a0}", "\u{3000}", "🙂", "import os", "assert ", "1", ",", "\\'", "\\\"",
            ]),
            0..60,
        )) {
            let source: String = parts.concat();
            let lines: Vec<RefLine> = logical_lines(&source).iter().map(RefLine::of).collect();
            proptest::prop_assert_eq!(lines, reference(&source));
        }
    }

    #[test]
    fn joins_brackets_and_drops_comments() {
        let src = "import os  # why\n\ndef f(a,\n      b):\n    # only a comment\n    return g(a, \\\n      b)\n";
        let lines = logical_lines(src);
        let got: Vec<(usize, usize, &str)> =
            lines.iter().map(|l| (l.line, l.indent, l.code())).collect();
        assert_eq!(
            got,
            vec![
                (1, 0, "import os"),
                (3, 0, "def f(a, b):"),
                (6, 4, "return g(a, b)"),
            ]
        );
    }

    #[test]
    fn blanks_strings_and_keeps_line_numbers_after_docstrings() {
        let src = "def test_x():\n    \"\"\"Doc\n    # not a comment\n    \"\"\"\n    assert f('a#b') == \"c\"\n";
        let lines = logical_lines(src);
        assert_eq!(lines[1].code(), "\"\"");
        assert_eq!(lines[1].line, 2);
        assert_eq!(lines[2].line, 5);
        assert_eq!(lines[2].code(), "assert f(\"\") == \"\"");
        assert_eq!(lines[2].text, "assert f('a#b') == \"c\"");
    }

    #[test]
    fn survives_unbalanced_input() {
        assert_eq!(logical_lines("f(\n'unterminated").len(), 1);
        assert!(logical_lines("").is_empty());
        assert_eq!(logical_lines("x = ']'\ny = 1\n").len(), 2);
    }
}
