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
    let skipped = from.saturating_sub(1);
    text[line_start(text, skipped)..]
        .lines()
        .position(|line| line.contains(needle))
        .map(|i| skipped + i + 1)
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
    let skipped = from.saturating_sub(1);
    text[line_start(text, skipped)..]
        .lines()
        .position(|line| {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            indent >= min_indent
                && forms.iter().any(|form| {
                    trimmed.strip_prefix(form.as_str()).is_some_and(|rest| {
                        rest.is_empty() || rest.starts_with([' ', '\t', '#', '\r'])
                    })
                })
        })
        .map(|i| skipped + i + 1)
}

/// The byte offset where the line after the first `skipped` lines starts
/// (the text's length when it has fewer).
///
/// Readers search one file many times from increasing lines (a workflow with
/// 3,600 jobs, each looked up after the previous one); counting lines from the
/// top every time made that quadratic. The line starts of the last few texts
/// are kept per thread, keyed by address and length, and checked before use:
/// a stale entry (another text at the same address) is rebuilt, never trusted.
fn line_start(text: &str, skipped: usize) -> usize {
    use std::cell::RefCell;
    /// Texts whose line starts are kept: a workflow and the files it calls.
    const KEPT: usize = 4;
    /// Shorter texts are counted directly.
    const SMALL: usize = 4096;
    /// A text's (address, length) and the byte offsets where its lines start.
    type Kept = ((usize, usize), Vec<usize>);
    thread_local! {
        static STARTS: RefCell<Vec<Kept>> =
            const { RefCell::new(Vec::new()) };
    }
    if skipped == 0 {
        return 0;
    }
    let bytes = text.as_bytes();
    let valid = |starts: &[usize]| {
        starts
            .get(skipped - 1)
            .is_none_or(|&at| at > 0 && at <= bytes.len() && bytes[at - 1] == b'\n')
    };
    let lookup = |starts: &[usize]| starts.get(skipped - 1).copied().unwrap_or(text.len());
    if text.len() < SMALL {
        return memchr::memchr_iter(b'\n', bytes)
            .nth(skipped - 1)
            .map_or(text.len(), |i| i + 1);
    }
    let key = (text.as_ptr() as usize, text.len());
    STARTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, starts)) = cache.iter().find(|(k, _)| *k == key) {
            if valid(starts) {
                return lookup(starts);
            }
        }
        let starts: Vec<usize> = memchr::memchr_iter(b'\n', bytes).map(|i| i + 1).collect();
        let at = lookup(&starts);
        cache.retain(|(k, _)| *k != key);
        if cache.len() >= KEPT {
            cache.remove(0);
        }
        cache.push((key, starts));
        at
    })
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
