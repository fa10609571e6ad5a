//! The lines a pull request adds, read from the unified-diff `patch` GitHub
//! gives for each changed file. A review comment on any other line makes
//! GitHub reject the whole review.

use std::collections::BTreeSet;

/// The new-file (RIGHT side) numbers of the lines `patch` adds.
pub fn added_lines(patch: &str) -> BTreeSet<usize> {
    let mut added = BTreeSet::new();
    // The next RIGHT-side line number, inside a hunk.
    let mut right: Option<usize> = None;
    for line in patch.lines() {
        if line.starts_with("@@") {
            right = hunk_start(line);
            continue;
        }
        let Some(next) = right.as_mut() else {
            continue;
        };
        match line.as_bytes().first() {
            Some(b'+') => {
                added.insert(*next);
                *next += 1;
            }
            // Removed lines exist on the LEFT only; `\ No newline at end of
            // file` on neither.
            Some(b'-' | b'\\') => {}
            _ => *next += 1,
        }
    }
    added
}

/// The first RIGHT-side line of a hunk header `@@ -a[,b] +c[,d] @@ …`.
fn hunk_start(header: &str) -> Option<usize> {
    let plus = header.split_whitespace().find(|w| w.starts_with('+'))?;
    let start = plus[1..].split(',').next()?;
    start.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_added_lines_across_hunks() {
        let patch = "@@ -1,3 +1,4 @@\n context\n-old\n+new one\n+new two\n context\n@@ -10,2 +11,3 @@ def f():\n a\n+b\n c";
        assert_eq!(added_lines(patch), BTreeSet::from([2, 3, 12]));
    }

    #[test]
    fn new_files_and_missing_newlines() {
        let patch = "@@ -0,0 +1,2 @@\n+first\n+second\n\\ No newline at end of file";
        assert_eq!(added_lines(patch), BTreeSet::from([1, 2]));
        let single = "@@ -1 +1 @@\n-a\n+b";
        assert_eq!(added_lines(single), BTreeSet::from([1]));
    }

    #[test]
    fn removals_add_nothing_and_garbage_is_ignored() {
        assert!(added_lines("@@ -1,2 +0,0 @@\n-a\n-b").is_empty());
        assert!(added_lines("+not in a hunk").is_empty());
        assert!(added_lines("").is_empty());
    }
}
