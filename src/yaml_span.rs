//! Source spans for YAML documents, so errors found after parsing can still
//! point at the line that caused them. yaml_serde values carry no positions;
//! keys are found again in the text by indentation, which is exact for the
//! block-style YAML that config and check files use.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A setting that parsed but is not valid, found by the stage that owns it
/// and located by its key path; the config loader turns it into a diagnostic
/// pointing at the key's line.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingError {
    /// Keys from the document's root, e.g. `["gate", "min_score"]`.
    pub path: Vec<String>,
    pub message: String,
    /// The label under the span.
    pub label: String,
    /// The fix.
    pub help: String,
}

impl SettingError {
    /// An invalid setting at `path` (keys from the root).
    pub fn at(
        path: &[&str],
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> SettingError {
        SettingError {
            path: path.iter().map(|p| p.to_string()).collect(),
            message: message.into(),
            label: label.into(),
            help: help.into(),
        }
    }

    /// The same error one level down, under `key` (a section's errors are
    /// found relative to the section).
    pub fn under(mut self, key: &str) -> SettingError {
        self.path.insert(0, key.to_string());
        self
    }
}

/// The span of a parse error reported by yaml_serde, or the file start.
pub fn error_span(err: &serde_yaml::Error) -> SourceSpan {
    match err.location() {
        Some(loc) => SourceSpan::new(loc.index().into(), 1),
        None => SourceSpan::new(0.into(), 0),
    }
}

/// What a YAML file calls its keys, for messages: `("keys", "config reference")`
/// for mlscore.yaml, `("rules", "data schema reference")` for a data schema.
pub type Vocabulary = (&'static str, &'static str);

/// A yaml_serde error as a message and a help line that names the fix: the
/// closest allowed key for an unknown one, the type for a wrong one.
pub fn explain_error(err: &serde_yaml::Error, (noun, reference): Vocabulary) -> (String, String) {
    let raw = err.to_string();
    // yaml_serde appends " at line L column C"; the span shows the position.
    let message = match raw.find(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw.clone(),
    };
    // It may also prefix the path (`columns.age: unknown field ...`).
    let unknown = message
        .find("unknown field `")
        .map(|i| &message[i + "unknown field `".len()..]);
    let help = if let Some(rest) = unknown {
        let field = rest.split('`').next().unwrap_or("");
        // "unknown field `x`, expected one of `a`, `b`": the names sit between backticks.
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        // A typo, or a longer spelling of a key (`maximum` for `max`).
        let guess = crate::text::suggest::closest(field, &expected).or_else(|| {
            expected
                .iter()
                .filter(|e| field.starts_with(**e))
                .max_by_key(|e| e.len())
                .copied()
        });
        match guess {
            Some(c) => format!(
                "did you mean `{c}`? The {noun} allowed here: {}",
                expected.join(", ")
            ),
            None => format!(
                "remove `{field}`; the {noun} allowed here: {}",
                expected.join(", ")
            ),
        }
    } else if message.contains("unknown variant") {
        "use one of the values the message lists".to_string()
    } else if message.contains("invalid type") || message.contains("did not match any variant") {
        format!("check the value's type against the README's {reference}")
    } else if message.contains("missing field") {
        format!("add the missing key; the README's {reference} shows a full example")
    } else {
        "fix the YAML syntax at the marked position (indentation, a missing `:` or quote)"
            .to_string()
    };
    (message, help)
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The span of the key at `path` (e.g. `["waivers", "data-9", "points"]`), the
/// deepest key found when the full path is not, or the file start.
/// A component that is a number selects that item of a block sequence.
pub fn key_span(text: &str, path: &[&str]) -> SourceSpan {
    let mut found = SourceSpan::new(0.into(), 0);
    let mut from = 0;
    let mut parent_indent: Option<usize> = None;
    'components: for component in path {
        let index: Option<usize> = component.parse().ok();
        let mut seen_items = 0;
        let mut offset = from;
        for line in text[from..].split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) && start != from {
                // Left the parent's block without finding the key.
                break 'components;
            }
            let (item, content, content_indent) = match trimmed.strip_prefix("- ") {
                Some(rest) => (true, rest, indent + 2),
                None => (false, trimmed, indent),
            };
            if let Some(index) = index {
                if item {
                    if seen_items == index {
                        found = SourceSpan::new(start.into(), line.trim_end().len());
                        from = start;
                        parent_indent = Some(indent);
                        continue 'components;
                    }
                    seen_items += 1;
                }
                continue;
            }
            let key = content
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if key == *component && content.contains(':') {
                let quote = usize::from(content.starts_with(['"', '\'']));
                let key_start = start + content_indent + quote;
                found = SourceSpan::new(key_start.into(), key.len().max(1));
                from = offset;
                parent_indent = Some(content_indent);
                continue 'components;
            }
        }
        break;
    }
    found
}

/// Columns of the offending line an error shows on each side of the span; a
/// longer line is cut with `…`, so a 16 MB one-line file prints a short excerpt.
const SHOWN_AROUND: usize = 60;
/// Marks where a line was cut.
const ELLIPSIS: &str = "…";
/// Longest span drawn; a longer one is cut to its start.
const SHOWN_SPAN: usize = 80;
/// Lines an excerpt keeps on each side of the span's line (miette shows one).
const CONTEXT_LINES: usize = 2;
/// Longest message or quoted value kept from a parser's text.
const MESSAGE_CHARS: usize = 300;

/// The part of a file an error shows: a few lines around the span, each cut to
/// a bounded width, with the file's real line and column numbers. miette never
/// sees the whole file, so a line of any length renders in bounded time and
/// space (miette itself panics past column 65,535).
#[derive(Debug, Clone)]
pub struct Excerpt {
    name: String,
    text: String,
    /// 0-based line of the file where `text` starts.
    first_line: usize,
    /// 0-based line of `text` that holds the span, and how many columns of the
    /// file's line were cut before what that excerpt line shows.
    span_line: usize,
    cut_columns: usize,
}

impl Excerpt {
    /// The 1-based line of the file where the span starts.
    pub fn line(&self) -> usize {
        self.first_line + self.span_line + 1
    }

    /// The excerpt's text under `span` (a span returned by [`Excerpt::around`]).
    pub fn text_at(&self, span: SourceSpan) -> &str {
        let start = floor_char(&self.text, span.offset().min(self.text.len()));
        let end = floor_char(
            &self.text,
            (span.offset() + span.len()).min(self.text.len()),
        );
        &self.text[start..end.max(start)]
    }

    /// The excerpt of `text` (the file `name`) around `span`, and the span's
    /// position within the excerpt, for a diagnostic's `#[source_code]` and label.
    pub fn around(name: &str, text: &str, span: SourceSpan) -> (Excerpt, SourceSpan) {
        let start = floor_char(text, span.offset().min(text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_no = line_of(text, start) - 1;

        let mut out = String::new();
        // Context lines before, each cut to a prefix.
        let mut before: Vec<&str> = Vec::new();
        let mut at = line_start;
        while before.len() < CONTEXT_LINES && at > 0 {
            let prev_start = text[..at - 1].rfind('\n').map_or(0, |i| i + 1);
            before.push(&text[prev_start..at - 1]);
            at = prev_start;
        }
        for line in before.iter().rev() {
            out.push_str(&cut_prefix(line));
            out.push('\n');
        }
        // The span's line, cut to a window around the span.
        let span_end = floor_char(text, (start + span.len().min(SHOWN_SPAN)).min(line_end));
        let mut from = floor_char(text, start.saturating_sub(SHOWN_AROUND).max(line_start));
        if from - line_start <= ELLIPSIS.len() {
            from = line_start;
        }
        let to = floor_char(text, (span_end + SHOWN_AROUND).min(line_end));
        // miette counts columns in bytes; the excerpt's line starts with an
        // ellipsis in place of the bytes cut before `from`.
        let mut cut_columns = from - line_start;
        if from > line_start {
            out.push_str(ELLIPSIS);
            cut_columns -= ELLIPSIS.len();
        }
        let span_offset = out.len() + (start - from);
        let span_len = span_end.max(start) - start;
        out.push_str(&text[from..to]);
        if to < line_end {
            out.push_str(ELLIPSIS);
        }
        let span_line = before.len();
        // Context lines after.
        let mut next = line_end;
        for _ in 0..CONTEXT_LINES {
            if next >= text.len() {
                break;
            }
            let after_start = next + 1;
            let after_end = text[after_start..]
                .find('\n')
                .map_or(text.len(), |i| after_start + i);
            out.push('\n');
            out.push_str(&cut_prefix(&text[after_start..after_end]));
            next = after_end;
        }
        let excerpt = Excerpt {
            name: name.to_string(),
            text: out,
            first_line: line_no - span_line,
            span_line,
            cut_columns,
        };
        (excerpt, SourceSpan::new(span_offset.into(), span_len))
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = if inner.line() == self.span_line && inner.column() > 0 {
            inner.column() + self.cut_columns
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

/// A line of context cut to its first columns.
fn cut_prefix(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    match line.char_indices().nth(2 * SHOWN_AROUND) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The largest char boundary at or before `at`.
fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A parser's or validator's message cut to a bounded length: yaml_serde quotes
/// the offending value, which may be megabytes long.
pub fn clip(message: String) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((i, _)) => format!("{}… (cut)", &message[..i]),
        None => message,
    }
}

/// Flow collections (`[`, `{`) or block sequence dashes nested deeper than
/// this make yaml_serde fail anyway (its recursion limit is 128), but its
/// parser takes time quadratic in the depth before it gets there.
pub const MAX_DEPTH: usize = 128;

/// A YAML text nested deeper than [`MAX_DEPTH`]: where the limit was passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    /// Byte offset of the bracket or dash that passed the limit.
    pub offset: usize,
    /// 1-based line of that offset.
    pub line: usize,
}

impl TooDeep {
    /// The message every YAML reader shows for this.
    pub fn message(&self) -> String {
        format!(
            "nested more than {MAX_DEPTH} levels deep (line {})",
            self.line
        )
    }

    /// What to do about it.
    pub const HELP: &'static str =
        "no mlscore file nests this deep; flatten the nesting or remove the file from the scan";
}

/// Checks in one linear pass, before any YAML parser runs, that `text` does
/// not nest flow collections or one-line block sequences (`- - - x`) deeper
/// than [`MAX_DEPTH`]. Quoted strings, comments, block scalars (`|`, `>`) and
/// plain scalars are skipped, so brackets in commands and regexes do not count.
pub fn check_depth(text: &str) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let too_deep = |offset: usize| TooDeep {
        offset,
        line: line_of(text, offset),
    };
    let mut flow = 0usize;
    // Indentation of the line that opened a block scalar; lines indented more
    // (or blank) are its content.
    let mut block_scalar: Option<usize> = None;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let line_end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
        let line = &bytes[line_start..line_end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line[indent..].iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                line_start = line_end + 1;
                continue;
            }
            block_scalar = None;
        }
        let mut i = indent;
        // Whether the next token starts a value (so `[`/`{` opens a collection).
        let mut value_start = true;
        let mut dashes = 0usize;
        while i < line.len() {
            let b = line[i];
            match b {
                b' ' | b'\t' | b'\r' => {}
                b'#' if i == 0 || matches!(line[i - 1], b' ' | b'\t') => break,
                b'"' | b'\'' if flow > 0 || value_start => {
                    i = skip_quoted(line, i);
                    value_start = false;
                    continue;
                }
                b'[' | b'{' if flow > 0 || value_start => {
                    flow += 1;
                    if flow + dashes > MAX_DEPTH {
                        return Err(too_deep(line_start + i));
                    }
                }
                b']' | b'}' if flow > 0 => flow -= 1,
                b',' if flow > 0 => value_start = true,
                b'-' | b'?' | b':'
                    if flow == 0
                        && line
                            .get(i + 1)
                            .is_none_or(|n| matches!(n, b' ' | b'\t' | b'\r')) =>
                {
                    if b == b'-' && value_start {
                        dashes += 1;
                        if flow + dashes > MAX_DEPTH {
                            return Err(too_deep(line_start + i));
                        }
                    }
                    value_start = true;
                }
                b':' if flow > 0 => value_start = true,
                b'|' | b'>' if flow == 0 && value_start => {
                    block_scalar = Some(indent);
                    break;
                }
                _ if flow == 0 => {
                    // A plain scalar (or key) runs to `: ` or the end of the line.
                    while i < line.len()
                        && !(line[i] == b':'
                            && line
                                .get(i + 1)
                                .is_none_or(|n| matches!(n, b' ' | b'\t' | b'\r')))
                        && !(line[i] == b'#' && matches!(line[i - 1], b' ' | b'\t'))
                    {
                        i += 1;
                    }
                    value_start = false;
                    continue;
                }
                _ => value_start = false,
            }
            i += 1;
        }
        line_start = line_end + 1;
    }
    Ok(())
}

/// The index just past the quoted string that starts at `line[at]`, or the
/// line's end when it is not closed on this line.
fn skip_quoted(line: &[u8], at: usize) -> usize {
    let quote = line[at];
    let mut i = at + 1;
    while i < line.len() {
        match line[i] {
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && line.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    line.len()
}

/// A YAML document that is not valid, pointing at the line: the one shape of
/// every YAML error mlscore reports (`mlscore.yaml`, data schemas, check
/// files), each with its own diagnostic code.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct YamlError {
    /// The diagnostic code, e.g. `mlscore::config::invalid`.
    pub code: &'static str,
    pub path: String,
    pub message: String,
    pub source_code: Excerpt,
    pub span: SourceSpan,
    pub label: String,
    pub help: String,
}

impl YamlError {
    /// An error at `span` of the file `name` holding `text`, showing only an
    /// excerpt around it and a message cut to a readable length.
    pub fn at(
        code: &'static str,
        name: &str,
        text: &str,
        span: SourceSpan,
        message: String,
        label: &str,
        help: String,
    ) -> YamlError {
        let (source_code, span) = Excerpt::around(name, text, span);
        YamlError {
            code,
            path: name.to_string(),
            message: clip(message),
            source_code,
            span,
            label: label.to_string(),
            help,
        }
    }
}

/// A document checked after parsing, so that what is found wrong in it points
/// at its lines under its reader's diagnostic code.
pub struct Document<'a> {
    pub code: &'static str,
    pub name: &'a str,
    pub text: &'a str,
}

impl Document<'_> {
    /// An error at `span` of this document.
    pub fn error(&self, message: String, span: SourceSpan, label: &str, help: String) -> YamlError {
        YamlError::at(self.code, self.name, self.text, span, message, label, help)
    }
}

/// Parses a YAML document the way every reader of mlscore does: a byte-order
/// mark dropped, nesting checked before the parser sees it (deep nesting is
/// refused, not recursed into), and a parse error explained with its line and
/// the fix, under the reader's diagnostic `code` and `vocabulary`.
pub fn parse_document<T: serde::de::DeserializeOwned>(
    code: &'static str,
    name: &str,
    text: &str,
    vocabulary: Vocabulary,
) -> Result<T, YamlError> {
    let text = crate::repo::strip_bom(text);
    if let Err(deep) = check_depth(text) {
        let span = SourceSpan::new(deep.offset.into(), 1);
        return Err(YamlError::at(
            code,
            name,
            text,
            span,
            deep.message(),
            "too deep",
            TooDeep::HELP.into(),
        ));
    }
    serde_yaml::from_str(text).map_err(|err| {
        let (message, help) = explain_error(&err, vocabulary);
        YamlError::at(code, name, text, error_span(&err), message, "here", help)
    })
}

impl miette::Diagnostic for YamlError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(self.label.clone()), self.span),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: 1\nwaivers:\n  data-9:\n    reason: x\n  infra-6:\n    reason: batch\n    points: 2\nscan:\n  exclude:\n    - a/**\n    - b/[\n";

    fn text_at(span: SourceSpan) -> &'static str {
        &DOC[span.offset()..span.offset() + span.len()]
    }

    #[test]
    fn finds_nested_keys() {
        assert_eq!(
            text_at(key_span(DOC, &["waivers", "infra-6", "points"])),
            "points"
        );
        assert_eq!(
            line_of(
                DOC,
                key_span(DOC, &["waivers", "infra-6", "points"]).offset()
            ),
            7
        );
        assert_eq!(text_at(key_span(DOC, &["waivers", "data-9"])), "data-9");
    }

    #[test]
    fn finds_sequence_items() {
        let span = key_span(DOC, &["scan", "exclude", "1"]);
        assert_eq!(line_of(DOC, span.offset()), 11);
    }

    /// Renders a diagnostic over `text` at `span` as the CLI does (no colour).
    fn render(text: &str, span: SourceSpan) -> String {
        #[derive(Debug, thiserror::Error, miette::Diagnostic)]
        #[error("bad")]
        struct Bad {
            #[source_code]
            source_code: Excerpt,
            #[label("here")]
            span: SourceSpan,
        }
        let (source_code, span) = Excerpt::around("f.yaml", text, span);
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &Bad { source_code, span })
            .unwrap();
        out
    }

    #[test]
    fn excerpt_keeps_short_files_whole_and_numbers_right() {
        let out = render(DOC, key_span(DOC, &["waivers", "infra-6", "points"]));
        assert!(out.contains("[f.yaml:7:5]"), "{out}");
        assert!(out.contains("    points: 2"), "{out}");
        assert!(out.contains("reason: batch"), "{out}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, failure_persistence: None, ..Default::default() })]

        /// Any line length, any position of the span on it, any lines around:
        /// the rendering never panics, names the real line and column, and is
        /// short whatever the line's length.
        #[test]
        fn long_lines_render_cut_with_real_positions(
            before in 0usize..4,
            pad in proptest::prop_oneof![0usize..100, 60_000usize..300_000],
            tail in proptest::prop_oneof![0usize..100, 60_000usize..300_000],
            wide in proptest::prelude::any::<bool>(),
            span_len in 0usize..200,
        ) {
            let space = if wide { "é" } else { " " };
            let mut text = "k: v\n".repeat(before);
            text.push_str("gate: {x: ");
            text.push_str(&space.repeat(pad));
            let offset = text.len();
            text.push_str("high");
            text.push_str(&"z".repeat(tail));
            text.push_str("}\nlast: 1\n");
            let len = span_len.min(text.len() - offset);
            let out = render(&text, SourceSpan::new(offset.into(), len));
            // miette counts columns in bytes.
            let column = "gate: {x: ".len() + pad * space.len() + 1;
            let expected = format!("[f.yaml:{}:{column}]", before + 1);
            proptest::prop_assert!(out.contains(&expected), "{}", out);
            proptest::prop_assert!(out.contains("high"), "{}", out);
            proptest::prop_assert!(out.len() < 3000, "{} bytes", out.len());
        }

        /// Nesting of any depth: within the limit the guard is silent, past
        /// it the guard names the line, in flow or block-sequence form.
        #[test]
        fn depth_guard_counts_nesting(depth in 1usize..400, lines_before in 0usize..3, flow in proptest::prelude::any::<bool>()) {
            let mut text = "k: v\n".repeat(lines_before);
            if flow {
                text.push_str(&format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth)));
            } else {
                text.push_str(&format!("{}x\n", "- ".repeat(depth)));
            }
            let result = check_depth(&text);
            if depth <= MAX_DEPTH {
                proptest::prop_assert!(result.is_ok());
            } else {
                proptest::prop_assert_eq!(result.map_err(|e| e.line), Err(lines_before + 1));
            }
        }
    }

    #[test]
    fn depth_guard_ignores_brackets_in_strings_comments_and_scripts() {
        let text = format!(
            "run: |\n  {}\nname: '{}'\ncmd: echo {}\n# {}\nx: \"{}\"\n",
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500),
            "[".repeat(500),
            "[".repeat(500)
        );
        assert_eq!(check_depth(&text), Ok(()));
    }

    #[test]
    fn depth_guard_passes_every_yaml_file_of_the_crate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for dir in ["checks", "examples", "tests", "templates", ".github"] {
            for entry in walkdir::WalkDir::new(root.join(dir)).into_iter().flatten() {
                let path = entry.path();
                let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
                let Ok(text) = std::fs::read_to_string(path) else {
                    continue;
                };
                if is_yaml {
                    assert_eq!(check_depth(&text), Ok(()), "{}", path.display());
                    checked += 1;
                }
            }
        }
        assert!(checked > 28, "only {checked} YAML files found");
    }

    #[test]
    fn missing_key_falls_back_to_deepest_found() {
        let span = key_span(DOC, &["waivers", "model-1"]);
        assert_eq!(text_at(span), "waivers");
    }
}
