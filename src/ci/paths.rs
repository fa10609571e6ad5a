//! Repository-relative path arithmetic for the CI model: joining a command's
//! token onto its working directory without touching the file system, and
//! finding the indexed files under a directory.

pub(crate) use crate::text::path::{file_name, parent};

use crate::repo::{FileEntry, RepoIndex};

/// Prefixes that CI systems expand to the repository root; a token that starts
/// with one of them is repository-relative after the prefix.
/// (GitHub's `${{ github.workspace }}` is spelled `$GITHUB_WORKSPACE` before
/// any of its commands get here: see `workflow_env`.)
const WORKSPACE_PREFIXES: &[&str] = &[
    "$GITHUB_WORKSPACE",
    "${GITHUB_WORKSPACE}",
    "$CI_PROJECT_DIR",
    "${CI_PROJECT_DIR}",
    "$WORKSPACE",
    "${WORKSPACE}",
    "${env.WORKSPACE}",
    "$(Build.SourcesDirectory)",
    "$(System.DefaultWorkingDirectory)",
    "$(Build.Repository.LocalPath)",
    "$CODEBUILD_SRC_DIR",
    "${CODEBUILD_SRC_DIR}",
    "$BITBUCKET_CLONE_DIR",
    "${BITBUCKET_CLONE_DIR}",
    "$TRAVIS_BUILD_DIR",
    "${TRAVIS_BUILD_DIR}",
    "$BUILDKITE_BUILD_CHECKOUT_PATH",
    "${BUILDKITE_BUILD_CHECKOUT_PATH}",
    "$DRONE_WORKSPACE",
    "${DRONE_WORKSPACE}",
    "$CI_WORKSPACE",
    "${CI_WORKSPACE}",
    "$CIRCLE_WORKING_DIRECTORY",
    "${CIRCLE_WORKING_DIRECTORY}",
    "$PWD",
    "${PWD}",
];

/// The working directory after a `cd` mlscore cannot follow (see
/// `shell::cd_target`): no path joins onto it but one that starts from the
/// workspace root. NUL is in no path, so it names no directory of the index.
pub(crate) const UNKNOWN_DIR: &str = "\0";

/// Joins `rel` onto the repository-relative directory `base`, resolving `.` and
/// `..`. Returns `None` for absolute paths (they name no repository file), for
/// paths that climb out of the repository, and from [`UNKNOWN_DIR`].
pub(crate) fn join(base: &str, rel: &str) -> Option<String> {
    let mut base = base;
    let mut rel = rel.trim();
    for prefix in WORKSPACE_PREFIXES {
        if let Some(rest) = rel.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                // `$PWD` is the working directory, the others the root.
                if !prefix.contains("PWD") {
                    base = "";
                }
                rel = rest.trim_start_matches('/');
                break;
            }
        }
    }
    if rel.starts_with('/') || rel.starts_with('~') || base == UNKNOWN_DIR {
        return None;
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Folders deeper than this are never looked in for configs and tests: no
/// repository nests that deep, and a hostile `dir()` or `working-directory`
/// of thousands of levels made every lookup cost the square of its length.
const MAX_ANCESTOR_DEPTH: usize = 64;

/// `path` and each of its ancestor directories, innermost first, ending with
/// the root `""`; a path deeper than [`MAX_ANCESTOR_DEPTH`] starts at its
/// ancestor of that depth. [`UNKNOWN_DIR`] has none: its parent is not the
/// root, and a configuration or `conftest.py` found there would place what
/// runs in it after all.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let path = match memchr::memchr_iter(b'/', path.as_bytes()).nth(MAX_ANCESTOR_DEPTH - 1) {
        Some(cut) => &path[..cut],
        None => path,
    };
    let mut next = (path != UNKNOWN_DIR).then_some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = if current.is_empty() {
            None
        } else {
            Some(parent(current))
        };
        Some(current)
    })
}

/// The indexed files under directory `dir` (every file for the root). The
/// index is sorted by path, so they form one contiguous run: two binary
/// searches, no scan.
pub(crate) fn files_under<'a>(index: &'a RepoIndex, dir: &str) -> &'a [FileEntry] {
    let files = index.files();
    if dir.is_empty() {
        return files;
    }
    let prefix = format!("{dir}/");
    let start = files.partition_point(|f| f.path.as_str() < prefix.as_str());
    let len = files[start..].partition_point(|f| f.path.starts_with(&prefix));
    &files[start..start + len]
}

/// A file name pattern with `*` and `?` wildcards, as pytest's
/// `python_files` and unittest's `-p` use them, ready to test every file of
/// a collected folder. Works on bytes, with no allocation per name.
pub(crate) struct NamePattern {
    pattern: String,
    /// Bytes before the first wildcard and after the last one: a name must
    /// begin and end with them. The pattern's length when it has none.
    head: usize,
    tail: usize,
}

impl NamePattern {
    pub(crate) fn new(pattern: &str) -> NamePattern {
        let p = pattern.as_bytes();
        let wild = |c: &u8| *c == b'*' || *c == b'?';
        NamePattern {
            pattern: pattern.to_string(),
            head: p.iter().position(wild).unwrap_or(p.len()),
            tail: p
                .iter()
                .rposition(wild)
                .map_or(0, |last| p.len() - last - 1),
        }
    }

    /// Whether `name` matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let (p, n) = (self.pattern.as_bytes(), name.as_bytes());
        let (head, tail) = (self.head, self.tail);
        if head == p.len() {
            return p == n;
        }
        // The literal ends first: that turns away nearly every file of a
        // collected folder (`module_1.py` is no `*_test.py`) at less cost
        // than the matching proper.
        if n.len() < head + tail || !n.starts_with(&p[..head]) || !n.ends_with(&p[p.len() - tail..])
        {
            return false;
        }
        // Classic two-pointer wildcard match with backtracking to the last `*`.
        let (mut pi, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
                pi += 1;
                ni += 1;
            } else if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ni));
                pi += 1;
            } else if let Some((sp, sn)) = star {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_matches(pattern: &str, name: &str) -> bool {
        NamePattern::new(pattern).matches(name)
    }

    /// The wildcard match without the test of the ends.
    fn wildcard_reference(p: &[u8], n: &[u8]) -> bool {
        match (p.split_first(), n.split_first()) {
            (None, _) => n.is_empty(),
            (Some((b'*', rest)), _) => {
                wildcard_reference(rest, n) || (!n.is_empty() && wildcard_reference(p, &n[1..]))
            }
            (Some((&c, rest)), Some((&m, more))) => {
                (c == b'?' || c == m) && wildcard_reference(rest, more)
            }
            (Some(_), None) => false,
        }
    }

    proptest::proptest! {
        /// With the ends tested first, names match exactly as before, for
        /// patterns with and without wildcards, at either end or both.
        #[test]
        fn name_matches_as_the_plain_wildcard_match(
            pattern in "[ab.*?]{0,7}",
            name in "[ab.]{0,8}",
        ) {
            proptest::prop_assert_eq!(
                name_matches(&pattern, &name),
                wildcard_reference(pattern.as_bytes(), name.as_bytes())
            );
        }
    }

    #[test]
    fn join_resolves_dots_and_workspace_prefixes() {
        assert_eq!(
            join("ml", "./tests/../src/a.py").as_deref(),
            Some("ml/src/a.py")
        );
        assert_eq!(join("", "a//b/").as_deref(), Some("a/b"));
        assert_eq!(
            join("ml", "$GITHUB_WORKSPACE/deploy/x.sh").as_deref(),
            Some("deploy/x.sh")
        );
        assert_eq!(join("ml", "${WORKSPACE}").as_deref(), Some(""));
        assert_eq!(join("ml", "$PWD/x").as_deref(), Some("ml/x"));
        assert_eq!(
            join("ml", "$(Build.SourcesDirectory)/src").as_deref(),
            Some("src")
        );
        assert_eq!(
            join("", "$CODEBUILD_SRC_DIR/model/a.txt").as_deref(),
            Some("model/a.txt")
        );
        assert_eq!(join("", "../outside"), None);
        assert_eq!(join("", "/usr/bin/python"), None);
    }

    #[test]
    fn ancestors_walk_to_the_root() {
        let all: Vec<&str> = ancestors("a/b/c.py").collect();
        assert_eq!(all, ["a/b/c.py", "a/b", "a", ""]);
        assert_eq!(ancestors("").collect::<Vec<_>>(), [""]);
        let deep = "a/".repeat(1000);
        assert_eq!(ancestors(&deep).count(), MAX_ANCESTOR_DEPTH + 1);
    }

    #[test]
    fn files_under_is_the_contiguous_run() {
        let index = RepoIndex::from_memory([
            ("tests/a.py", ""),
            ("tests/data/b.csv", ""),
            ("tests-extra/c.py", ""),
            ("testsz.py", ""),
        ]);
        let names: Vec<&str> = files_under(&index, "tests")
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(names, ["tests/a.py", "tests/data/b.csv"]);
        assert_eq!(files_under(&index, "").len(), 4);
        assert!(files_under(&index, "nope").is_empty());
    }

    #[test]
    fn wildcards_match_names() {
        assert!(name_matches("test_*.py", "test_a.py"));
        assert!(name_matches("*_test.py", "a_test.py"));
        assert!(!name_matches("test_*.py", "a_test.py"));
        assert!(name_matches("test*.py", "test.py"));
        assert!(name_matches("check_?.py", "check_1.py"));
        assert!(!name_matches("*.py", "a.pyc"));
    }
}
