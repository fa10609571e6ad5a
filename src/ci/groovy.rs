//! A Groovy tokenizer for Jenkinsfiles: identifiers, string literals (all four
//! quote styles, escapes resolved, `${…}` interpolations kept as text) and
//! punctuation, each with its line; comments skipped.

/// A token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    /// Numbers and anything else the Jenkins reader ignores.
    Other,
}

/// A token and the 1-based line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// Splits Groovy source into tokens. Never fails: an unterminated string or
/// comment runs to the end of the text.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    if text.starts_with("#!") {
        while i < chars.len() && chars[i] != '\n' {
            i += 1;
        }
    }
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let start_line = line;
            let triple = next == Some(c) && chars.get(i + 2) == Some(&c);
            let (value, end, newlines) =
                read_string(&chars, if triple { i + 3 } else { i + 1 }, c, triple);
            out.push(Token {
                tok: Tok::Str(value),
                line: start_line,
            });
            line += newlines;
            i = end;
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                line,
            });
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

/// Reads a string body from `i` up to its closing quote(s): (value, index
/// after the closing quote, newlines crossed).
fn read_string(chars: &[char], mut i: usize, quote: char, triple: bool) -> (String, usize, usize) {
    let mut value = String::new();
    let mut newlines = 0;
    let interpolates = quote == '"';
    while i < chars.len() {
        let c = chars[i];
        if c == quote
            && (!triple || (chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote)))
        {
            return (value, i + if triple { 3 } else { 1 }, newlines);
        }
        if c == '\n' {
            newlines += 1;
            if !triple {
                // A single-quoted string cannot span lines: treat as closed.
                return (value, i, newlines - 1);
            }
        }
        if c == '\\' {
            match chars.get(i + 1) {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(&e @ ('\\' | '\'' | '"' | '$')) => value.push(e),
                Some('\n') => {
                    // Kept as written: the shell splitter joins the lines and
                    // still counts them.
                    newlines += 1;
                    value.push_str("\\\n");
                }
                Some(&other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
            i += 2;
            continue;
        }
        if interpolates && c == '$' && chars.get(i + 1) == Some(&'{') {
            // Copy `${…}` whole: it may hold quotes and braces.
            let mut depth = 0usize;
            while i < chars.len() {
                let d = chars[i];
                value.push(d);
                i += 1;
                if d == '{' {
                    depth += 1;
                } else if d == '}' {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                } else if d == '\n' {
                    newlines += 1;
                }
            }
            continue;
        }
        value.push(c);
        i += 1;
    }
    (value, i, newlines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(tokens: &[Token]) -> Vec<(String, usize)> {
        tokens
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Str(s) => Some((s.clone(), t.line)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_all_string_styles_with_lines() {
        let text = "sh 'a \\'q\\''\n// sh 'commented'\n/* sh \"also\n commented\" */\nsh \"echo ${env.X} \\$HOME\"\nsh '''\n  make test\n'''\nsh \"\"\"pytest ${params.get(\"dir\")}\"\"\"\n";
        let tokens = tokenize(text);
        assert_eq!(
            strs(&tokens),
            [
                ("a 'q'".to_string(), 1),
                ("echo ${env.X} $HOME".to_string(), 5),
                ("\n  make test\n".to_string(), 6),
                ("pytest ${params.get(\"dir\")}".to_string(), 9),
            ]
        );
        assert_eq!(tokens.last().map(|t| t.line), Some(9));
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for text in [
            "sh '''never closed",
            "/* open",
            "sh \"${",
            "'\\",
            "\"a\nb\"",
        ] {
            let _ = tokenize(text);
        }
        assert_eq!(
            tokenize("x = 'a\nb'")
                .iter()
                .filter(|t| matches!(t.tok, Tok::Str(_)))
                .count(),
            2
        );
    }
}
