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
    /// The same with every string literal emptied (`"abc"` becomes `""`).
    pub code: String,
}

/// Splits Python source into logical lines. Brackets, backslash continuations
/// and triple-quoted strings join physical lines; blank and comment-only
/// lines are dropped. Unbalanced input ends the current line at the end of
/// the text, so any text yields an answer.
pub fn logical_lines(source: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    let mut line = 1;
    let mut depth: usize = 0;
    let mut current: Option<LogicalLine> = None;
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
                    finish(&mut current, &mut out);
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
    finish(&mut current, &mut out);
    out
}

impl LogicalLine {
    /// Joins the next physical line with one space.
    fn join(&mut self) {
        if !self.code.ends_with(' ') {
            self.text.push(' ');
            self.code.push(' ');
        }
    }
}

fn start(line: usize, indent: usize) -> LogicalLine {
    LogicalLine {
        line,
        indent,
        text: String::new(),
        code: String::new(),
    }
}

fn finish(current: &mut Option<LogicalLine>, out: &mut Vec<LogicalLine>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_brackets_and_drops_comments() {
        let src = "import os  # why\n\ndef f(a,\n      b):\n    # only a comment\n    return g(a, \\\n      b)\n";
        let lines = logical_lines(src);
        let got: Vec<(usize, usize, &str)> = lines
            .iter()
            .map(|l| (l.line, l.indent, l.code.as_str()))
            .collect();
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
        assert_eq!(lines[1].code, "\"\"");
        assert_eq!(lines[1].line, 2);
        assert_eq!(lines[2].line, 5);
        assert_eq!(lines[2].code, "assert f(\"\") == \"\"");
        assert_eq!(lines[2].text, "assert f('a#b') == \"c\"");
    }

    #[test]
    fn survives_unbalanced_input() {
        assert_eq!(logical_lines("f(\n'unterminated").len(), 1);
        assert!(logical_lines("").is_empty());
        assert_eq!(logical_lines("x = ']'\ny = 1\n").len(), 2);
    }
}
