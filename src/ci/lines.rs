//! Line numbers for values parsed from YAML and TOML, whose parsers keep no
//! positions: the value's text is searched for in the raw file.

/// Longest prefix of a needle that is searched for. YAML folds and re-indents
/// long scalars, so a short prefix survives where the whole line would not.
const NEEDLE_LEN: usize = 60;

/// The 1-based line at or after line `from` (1-based) whose text contains the
/// first characters of `needle`.
pub(crate) fn find_line(text: &str, needle: &str, from: usize) -> Option<usize> {
    let needle = prefix(needle.trim(), NEEDLE_LEN);
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| line.contains(needle))
        .map(|(i, _)| i + 1)
}

/// The 1-based line at or after `from` that defines mapping key `key`
/// (`key:`, `"key":` or `'key':`), indented by at least `min_indent` spaces.
pub(crate) fn find_key_line(
    text: &str,
    key: &str,
    from: usize,
    min_indent: usize,
) -> Option<usize> {
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            indent >= min_indent
                && forms.iter().any(|form| {
                    trimmed.strip_prefix(form.as_str()).is_some_and(|rest| {
                        rest.is_empty() || rest.starts_with([' ', '\t', '#', '\r'])
                    })
                })
        })
        .map(|(i, _)| i + 1)
}

/// The 1-based line that defines top-level (unindented) mapping key `key`.
pub(crate) fn find_top_key(text: &str, key: &str) -> Option<usize> {
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    text.lines()
        .position(|line| {
            forms.iter().any(|form| {
                line.strip_prefix(form.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#', '\r']))
            })
        })
        .map(|i| i + 1)
}

/// At most `max` characters of `s`, cut on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "jobs:\n  test:\n    steps:\n      - run: pytest\n  lint:\n    steps:\n      - run: pytest\n";

    #[test]
    fn finds_from_a_starting_line() {
        assert_eq!(find_line(TEXT, "pytest", 1), Some(4));
        assert_eq!(find_line(TEXT, "pytest", 5), Some(7));
        assert_eq!(find_line(TEXT, "nothing", 1), None);
        assert_eq!(find_line(TEXT, "   ", 1), None);
    }

    #[test]
    fn finds_keys_with_indentation() {
        assert_eq!(find_key_line(TEXT, "jobs", 1, 0), Some(1));
        assert_eq!(find_key_line(TEXT, "lint", 1, 1), Some(5));
        assert_eq!(find_key_line("a:\n  'b': 1\n", "b", 1, 1), Some(2));
        // `test_x:` is not the key `test`.
        assert_eq!(find_key_line("  test_x:\n  test:\n", "test", 1, 1), Some(2));
        assert_eq!(find_top_key("a:\n  test:\ntest: # job\n", "test"), Some(3));
    }
}
