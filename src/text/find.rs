//! Substring tests asked of every path or file of a large tree. `str::contains`
//! first builds a Two-Way searcher for the needle, some 400 instructions a
//! call: more than reading a short path, and millions of calls on a
//! 100,000-file tree.

/// Below this, candidates are found by the needle's first byte; above it,
/// by `str::contains`, whose vectorised search then pays for its setup
/// (`memchr::memmem::find` builds a searcher too, and cost more here).
const SHORT: usize = 64;

/// Whether `text` holds `needle`.
pub fn contains(text: &str, needle: &str) -> bool {
    if text.len() >= SHORT {
        return text.contains(needle);
    }
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = text.len().checked_sub(needle.len()) else {
        return false;
    };
    memchr::memchr_iter(first, &text[..=last_start])
        .any(|at| &text[at + 1..at + needle.len()] == rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same answer as `str::contains` on short and long texts, at the
    /// start, the end, overlapping near-misses and non-ASCII text.
    #[test]
    fn agrees_with_str_contains() {
        let long = format!("{}tests/x{}", "a/".repeat(40), "é".repeat(40));
        let texts = [
            "",
            "t",
            "test",
            "tes",
            "atest",
            "a/tests/b.py",
            "tetest",
            "ttes",
            "é/test",
            &long,
        ];
        let needles = ["", "t", "test", "tests/", "é", "x", "a/a/a", "testx"];
        for text in texts {
            for needle in needles {
                assert_eq!(
                    contains(text, needle),
                    text.contains(needle),
                    "{text:?} {needle:?}"
                );
            }
        }
    }
}
