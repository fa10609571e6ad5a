//! Making repository text inert before it reaches a terminal, a CI log or a
//! report.
//!
//! CI runners read commands out of a job's log: GitHub Actions acts on any line
//! whose first non-blank characters are `::` (`::warning file=…::`,
//! `::add-mask::`, `::stop-commands::`) and on `##[` anywhere in a line; Azure
//! Pipelines on `##vso[` anywhere. A metric name, file name or waiver reason
//! holding a line break followed by `::error …` would otherwise forge an
//! annotation from mlscore's own output. Terminal escapes (ESC), carriage
//! returns and bidirectional controls (U+202E) can also rewrite or reorder
//! what a reader sees. Every such character in repository text is shown as a
//! visible escape instead.

use std::borrow::Cow;

/// Whether a character must not pass through from repository text: controls
/// (C0 including line breaks and tabs, DEL, C1), the Unicode line and paragraph
/// separators, bidirectional controls and invisible format characters.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Repository text for one line of plain-text output: hazards shown as
/// escapes (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`), and the `##[` / `##vso[`
/// command markers broken as `#\u{23}[`.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) && !text.contains("##[") && !text.contains("##vso[") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_hazard(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(break_markers(out))
}

/// A whole plain-text output, line by line: a line whose first non-blank
/// characters are `::` (which mlscore's human output never writes itself) has
/// that first colon shown as `\u{3a}`, so no runner takes it for a command.
/// Apply it after [`line`] has kept repository text from breaking lines.
pub fn guard_lines(text: &str) -> Cow<'_, str> {
    let starts_command = |l: &str| l.trim_start().starts_with("::");
    if !text.lines().any(starts_command) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for piece in text.split_inclusive('\n') {
        if starts_command(piece) {
            let blank = piece.len() - piece.trim_start().len();
            out.push_str(&piece[..blank]);
            out.push_str("\\u{3a}");
            out.push_str(&piece[blank + 1..]);
        } else {
            out.push_str(piece);
        }
    }
    Cow::Owned(out)
}

/// Breaks the `##[` and `##vso[` markers CI runners obey anywhere in a line.
fn break_markers(text: String) -> String {
    if text.contains("##[") || text.contains("##vso[") {
        text.replace("##[", "#\\u{23}[")
            .replace("##vso[", "#\\u{23}vso[")
    } else {
        text
    }
}

/// A JSON document made inert without changing what it says: hazards that
/// JSON writers leave raw (bidirectional controls, invisible characters) and
/// the `#` of a `##[` / `##vso[` marker become `\uXXXX` escapes, which every
/// JSON reader decodes back to the same string.
pub fn json(text: &str) -> Cow<'_, str> {
    let risky = text.chars().any(|c| is_hazard(c) && c != '\n')
        || text.contains("##[")
        || text.contains("##vso[");
    if !risky {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // Outside strings only layout whitespace can be a hazard, and
        // pretty-printed JSON has no other; inside strings serde already
        // escaped controls, so what is left are format characters.
        if is_hazard(c) && !matches!(c, '\n' | '\t' | '\r') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(
        out.replace("##[", "#\\u0023[")
            .replace("##vso[", "#\\u0023vso["),
    )
}

/// Text that may hold repository text across several lines, for a terminal
/// or a CI log (a rendered error, a warning): hazards other than line breaks
/// and tabs shown as escapes, then every line guarded as in [`guard_lines`].
pub fn terminal(text: &str) -> Cow<'_, str> {
    let kept = |c: char| c == '\n' || c == '\t';
    let shown: Cow<'_, str> = if text.chars().any(|c| is_hazard(c) && !kept(c)) {
        let mut out = String::with_capacity(text.len() + 16);
        for c in text.chars() {
            match c {
                '\r' => out.push_str("\\r"),
                c if is_hazard(c) && !kept(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    };
    let shown = match guard_lines(&shown) {
        Cow::Borrowed(_) => shown,
        Cow::Owned(guarded) => Cow::Owned(guarded),
    };
    match shown {
        Cow::Borrowed(t) if !t.contains("##[") && !t.contains("##vso[") => Cow::Borrowed(t),
        other => Cow::Owned(break_markers(other.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_text_passes_unchanged() {
        for t in [
            "metrics.json:accuracy",
            "données/été.csv",
            "a # b",
            "数据 🙂",
            "## Heading",
        ] {
            assert!(matches!(line(t), Cow::Borrowed(_)), "{t}");
        }
    }

    #[test]
    fn line_breaks_escapes_and_bidi_are_shown() {
        assert_eq!(line("x\n::warning::y"), "x\\n::warning::y");
        assert_eq!(line("a\r\u{1b}[2Kb"), "a\\r\\u{1b}[2Kb");
        assert_eq!(line("evil\u{202e}txt.py"), "evil\\u{202e}txt.py");
        assert_eq!(
            line("##[error]x ##vso[task.setvariable]"),
            "#\\u{23}[error]x #\\u{23}vso[task.setvariable]"
        );
    }

    #[test]
    fn lines_starting_with_a_command_are_guarded() {
        let text = "ok\n   ::warning file=a::b\n::error::c\nnot :: this\n";
        assert_eq!(
            guard_lines(text),
            "ok\n   \\u{3a}:warning file=a::b\n\\u{3a}:error::c\nnot :: this\n"
        );
    }

    #[test]
    fn terminal_text_keeps_its_lines_but_nothing_else() {
        let text = "error: bad key\n  3 | x\u{1b}[31m\r\n::error::forged\n";
        assert_eq!(
            terminal(text),
            "error: bad key\n  3 | x\\u{1b}[31m\\r\n\\u{3a}:error::forged\n"
        );
    }

    #[test]
    fn json_stays_the_same_json() {
        let value = serde_json::json!({"k": "a\u{202e}b ##vso[x] ##[y] \u{1b} \u{200b}"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let inert = json(&text);
        assert!(!inert.contains('\u{202e}') && !inert.contains("##vso[") && !inert.contains("##["));
        let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
        assert_eq!(back, value);
    }

    proptest! {
        /// Whatever the repository text, placed anywhere in a line, no line of
        /// the output is a command and no hazard survives.
        #[test]
        fn no_text_forges_a_command(prefix in "[ a-z:]{0,4}", text in "\\PC{0,40}|[\\n\\r:#\\[\u{202e}\u{1b}a-z ]{0,40}") {
            let out = format!("{prefix}{}\n", line(&text));
            let out = guard_lines(&out);
            for l in out.lines() {
                prop_assert!(!l.trim_start().starts_with("::"), "{l:?}");
                prop_assert!(!l.contains("##[") && !l.contains("##vso["), "{l:?}");
                prop_assert!(!l.chars().any(is_hazard), "{l:?}");
            }
            prop_assert_eq!(out.lines().count(), 1);
        }
    }
}
