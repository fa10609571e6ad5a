//! Python imports, read line by line from `.py` files and from the JSON of
//! notebooks (whose code lines are JSON strings), without running anything.

/// One imported module: its dotted name and the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub line: usize,
}

/// The modules a file imports. `from a.b import c, d` yields `a.b`, `a.b.c`
/// and `a.b.d`, so a rule can name either a package or a submodule imported by
/// name (`from ray import tune` satisfies `ray.tune`).
pub fn imports(text: &str) -> Vec<Import> {
    // Lines are numbered by counting the newlines skipped on the way.
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let (mut line, mut counted) = (1, 0);
    for range in import_lines(text) {
        line += memchr::memchr_iter(b'\n', &bytes[counted..range.start]).count();
        counted = range.start;
        // As `str::lines` gives it: without the `\n`, and without a `\r`
        // before one.
        let ends_line = range.end < bytes.len();
        let raw = &text[range];
        let raw = if ends_line {
            raw.strip_suffix('\r').unwrap_or(raw)
        } else {
            raw
        };
        read_line(raw, line, &mut found);
    }
    found
}

/// The word both forms of the statement hold, as one searcher built once
/// (building one per call cost as much as the search in the short files of
/// a large tree).
static IMPORT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"import"));

/// The lines of `text` holding `import`, the only ones [`imports`] reads:
/// each one's bytes, without its `\n`, in order.
fn import_lines(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + IMPORT.find(bytes.get(from..)?)?;
        let start = memchr::memrchr(b'\n', &bytes[from..at]).map_or(from, |i| from + i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        from = end + 1;
        Some(start..end)
    })
}

/// Whether a line that [`imports`] reads holds a match of `words`. Every
/// component of a module that [`imports`] gives stands in the line it read
/// (`from a.b import c` gives `a.b.c`), so when this is `false` no import of
/// `text` names a module holding any of the words, and its imports need not
/// be read. Searching those lines alone, not the whole text, leaves out the
/// rest of a file (all of it, in the many files that import nothing).
pub fn import_lines_hold(text: &str, words: &aho_corasick::AhoCorasick) -> bool {
    import_lines(text).any(|line| words.is_match(&text.as_bytes()[line]))
}

/// A searcher for `words` made for [`import_lines_hold`]'s short lines: a
/// DFA without a prefilter. A vectorised search's setup cost 700
/// instructions a line, more than this DFA's whole walk of it (480).
pub fn line_searcher(words: &[&str]) -> aho_corasick::AhoCorasick {
    try_line_searcher(words).expect("a few short words always build")
}

/// [`line_searcher`], `None` past what a searcher can hold.
pub fn try_line_searcher(words: &[&str]) -> Option<aho_corasick::AhoCorasick> {
    aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .prefilter(false)
        .build(words)
        .ok()
}

/// The imports of one line (numbered `line`) into `found`.
fn read_line(raw: &str, line: usize, found: &mut Vec<Import>) {
    // Notebook JSON: `    "from x import y\n",` — take the string's content.
    let mut code = raw.trim_start();
    if let Some(rest) = code.strip_prefix('"') {
        code = rest.trim_end().trim_end_matches(',').trim_end_matches('"');
        code = code.trim_end_matches("\\n").trim_start();
    }
    if let Some(rest) = code.strip_prefix("import ") {
        for part in rest.split(',') {
            let name = part.split_whitespace().next().unwrap_or("");
            if is_module_path(name) {
                found.push(Import {
                    module: name.to_string(),
                    line,
                });
            }
        }
    } else if let Some(rest) = code.strip_prefix("from ") {
        let mut words = rest.split_whitespace();
        let module = words.next().unwrap_or("");
        if words.next() != Some("import") || !is_module_path(module) {
            return;
        }
        found.push(Import {
            module: module.to_string(),
            line,
        });
        static SPACED_IMPORT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" import "));
        let names = SPACED_IMPORT
            .find(rest.as_bytes())
            .map_or("", |at| &rest[at + " import ".len()..]);
        for name in names.trim_matches(['(', ')', ' ', '\\']).split(',') {
            let name = name
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_matches(['(', ')']);
            if !name.is_empty() && name != "*" && is_module_path(name) {
                found.push(Import {
                    module: [module, ".", name].concat(),
                    line,
                });
            }
        }
    }
}

/// The modules `module` is in, and itself: `a`, `a.b`, `a.b.c` for
/// `a.b.c` — the names a rule can give for it (see [`matches`]).
pub fn dotted_prefixes(module: &str) -> impl Iterator<Item = &str> {
    module
        .match_indices('.')
        .map(move |(at, _)| &module[..at])
        .chain(std::iter::once(module))
}

/// Whether `module` (an import) is `wanted` or inside it.
pub fn matches(module: &str, wanted: &str) -> bool {
    module == wanted
        || (module.starts_with(wanted) && module.as_bytes().get(wanted.len()) == Some(&b'.'))
}

fn is_module_path(name: &str) -> bool {
    // One pass over the bytes when ASCII, as nearly every module name is:
    // the same answer as the parts below, without splitting or decoding.
    if name.is_ascii() {
        let mut part_start = true;
        for b in name.bytes() {
            if b == b'.' {
                if part_start {
                    return false;
                }
                part_start = true;
            } else if b.is_ascii_alphanumeric() || b == b'_' {
                if part_start && b.is_ascii_digit() {
                    return false;
                }
                part_start = false;
            } else {
                return false;
            }
        }
        return !part_start;
    }
    is_module_path_by_parts(name)
}

/// [`is_module_path`] by its definition: dot-separated parts, each a
/// non-empty word not starting with a digit.
fn is_module_path_by_parts(name: &str) -> bool {
    let word = |part: &str| part.chars().all(|c| c.is_alphanumeric() || c == '_');
    !name.is_empty()
        && !name.starts_with('.')
        && name.split('.').all(|part| {
            !part.is_empty() && word(part) && !part.starts_with(|c: char| c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn searcher(words: &[&str]) -> aho_corasick::AhoCorasick {
        aho_corasick::AhoCorasick::new(words).unwrap()
    }

    /// Words outside the lines `imports` reads do not count; in them they
    /// do, wherever the line ends (a line feed, a carriage return and line
    /// feed, the end of the text).
    #[test]
    fn only_import_lines_are_searched() {
        let words = searcher(&["torch", "serve"]);
        let outside = "x = torch.zeros(1)\nimport os\n# see torch docs\nserve()\n";
        assert!(!import_lines_hold(outside, &words));
        for text in [
            "import os\nfrom ray import serve\n",
            "import os\r\nimport torch\r\n",
            "import os\nimport torch.nn as nn",
            "import torch",
        ] {
            assert!(import_lines_hold(text, &words), "{text:?}");
        }
        assert!(!import_lines_hold("", &words));
        assert!(!import_lines_hold("import", &words));
    }

    proptest::proptest! {
        /// Whenever a module `imports` gives holds one of the words, the
        /// lines are found to hold it: skipping a file's imports when they
        /// are not loses none that a rule could name.
        #[test]
        fn a_module_holding_a_word_is_never_missed(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "import ", "from ", " import ", "ray", "serve", "torch", ".", ",", " ",
                "\n", "\r\n", "    ", "\"", "\\n\",", "# ", "as ", "x", "(", ")",
            ]),
            0..40,
        )) {
            let words = ["serve", "torch"];
            let text = parts.concat();
            let named = imports(&text)
                .iter()
                .any(|i| words.iter().any(|w| i.module.contains(w)));
            if named {
                proptest::prop_assert!(import_lines_hold(&text, &searcher(&words)));
            }
        }
    }

    /// A rule names an import exactly when it names one of its dotted
    /// prefixes: the lookup the matcher does agrees with `matches`.
    #[test]
    fn dotted_prefixes_are_what_matches_accepts() {
        let modules = ["ray", "ray.tune", "ray.tune.search", "raytune", "a.b", "a"];
        for module in modules {
            for wanted in modules.iter().chain(&["ray.", "", "ray.tun", "tune"]) {
                assert_eq!(
                    dotted_prefixes(module).any(|p| p == *wanted),
                    matches(module, wanted),
                    "{module} {wanted}"
                );
            }
        }
        assert_eq!(
            dotted_prefixes("a.b.c").collect::<Vec<_>>(),
            ["a", "a.b", "a.b.c"]
        );
    }

    fn modules(text: &str) -> Vec<(String, usize)> {
        imports(text)
            .into_iter()
            .map(|i| (i.module, i.line))
            .collect()
    }

    /// Reading only the lines that hold `import` finds what reading every
    /// line of `str::lines` finds, with the same numbers: CRLF endings, a
    /// last line without a newline, a `\r` not before a newline, the word
    /// twice on a line or inside another word, blank and notebook lines.
    #[test]
    fn reads_only_import_lines_numbered_as_lines_gives_them() {
        let texts = [
            "import os\r\nx = 1\r\nfrom a import b, c\r\n",
            "x = 1\n\n\nimport numpy as np",
            "import json\r",
            "import a  # import b\nreimported = 1\nfrom importlib import import_module\n",
            "\n\n    \"from ray import tune\\n\",\n    \"import pandas\"\n",
            "importx\nimport\nimport \nfrom . import y\nfrom a.b import (c,\n d)\n",
            "",
            "no imports here\n",
            "é = 1 # ünïcode\nimport torch\n",
        ];
        for text in texts {
            let mut every_line = Vec::new();
            for (i, line) in text.lines().enumerate() {
                read_line(line, i + 1, &mut every_line);
            }
            assert_eq!(imports(text), every_line, "{text:?}");
        }
        assert_eq!(
            modules("x = 1\r\n\r\nfrom a import b\r\n"),
            [("a".into(), 3), ("a.b".into(), 3)]
        );
    }

    #[test]
    fn module_paths_are_dotted_identifiers_in_any_script() {
        for good in ["os", "a.b_c.d1", "_x", "café", "模块.子模块", "Ünï.x"] {
            assert!(is_module_path(good), "{good}");
        }
        for bad in [
            "", ".a", "a.", "a..b", "1a", "a.2b", "a-b", "a b", "é-x", "x.*",
        ] {
            assert!(!is_module_path(bad), "{bad}");
        }
        // The one-pass reading of ASCII names agrees with the definition
        // on every string of up to four of these bytes.
        let bytes = b"a_1.-Z ";
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| bytes.iter().map(move |&b| format!("{n}{}", b as char)))
                .collect();
            names.extend(longer);
        }
        names.sort();
        names.dedup();
        assert!(names.len() > 2_000);
        for name in &names {
            assert_eq!(
                is_module_path(name),
                is_module_path_by_parts(name),
                "{name:?}"
            );
        }
    }

    #[test]
    fn reads_plain_and_from_imports() {
        let text = "import os, numpy as np\nfrom sklearn.model_selection import GridSearchCV, KFold\nfrom . import local\nx = 'import nothing'\n    import pandera as pa\n";
        let found = modules(text);
        assert!(found.contains(&("os".into(), 1)));
        assert!(found.contains(&("numpy".into(), 1)));
        assert!(found.contains(&("sklearn.model_selection".into(), 2)));
        assert!(found.contains(&("sklearn.model_selection.GridSearchCV".into(), 2)));
        assert!(found.contains(&("pandera".into(), 5)));
        assert!(!found
            .iter()
            .any(|(m, _)| m.contains("local") || m == "nothing"));
    }

    #[test]
    fn reads_notebook_source_lines() {
        let text = "{\n \"cells\": [{\n   \"source\": [\n    \"import pandas as pd\\n\",\n    \"from ray import tune\"\n   ]\n }]\n}\n";
        let found = modules(text);
        assert!(found.contains(&("pandas".into(), 4)));
        assert!(found.contains(&("ray.tune".into(), 5)));
    }

    #[test]
    fn matches_packages_and_submodules_only() {
        assert!(matches("pandera.typing", "pandera"));
        assert!(matches("pandera", "pandera"));
        assert!(!matches("panderax", "pandera"));
        assert!(matches("ray.tune.search", "ray.tune"));
        assert!(!matches("ray", "ray.tune"));
    }
}
