//! Source spans for YAML documents, so errors found after parsing can still
//! point at the line that caused them. yaml_serde values carry no positions;
//! keys are found again in the text by indentation, which is exact for the
//! block-style YAML that config and check files use.

use miette::SourceSpan;

/// The span of a parse error reported by yaml_serde, or the file start.
pub fn error_span(err: &serde_yaml::Error) -> SourceSpan {
    match err.location() {
        Some(loc) => SourceSpan::new(loc.index().into(), 1),
        None => SourceSpan::new(0.into(), 0),
    }
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
