//! Source spans for YAML documents, so errors found after parsing can still
//! point at the line that caused them. yaml_serde values carry no positions;
//! keys are found again in the text by indentation, which is exact for the
//! block-style YAML that config and check files use.

use miette::SourceSpan;

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

    #[test]
    fn missing_key_falls_back_to_deepest_found() {
        let span = key_span(DOC, &["waivers", "model-1"]);
        assert_eq!(text_at(span), "waivers");
    }
}
