//! Python modules: resolving `python -m a.b` and `import a.b` to repository
//! files, and reading a file's imports. Code that CI tests or runs imports the
//! repository modules it exercises, so they are reached too.

use std::sync::LazyLock;

use regex::Regex;

use crate::repo::RepoIndex;

use super::paths;

/// One import statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    /// Leading dots of a relative import (`from ..x import y` has 2).
    pub level: usize,
    /// The dotted module (`a.b`; empty for `from . import x`).
    pub module: String,
    /// Names imported from it (`from a import b, c`), which may be submodules.
    pub names: Vec<String>,
}

const FROM_PATTERN: &str = r"^\s*from\s+(\.*)([A-Za-z_][\w.]*)?\s+import\s+(.+)$";
const PLAIN_PATTERN: &str =
    r"^\s*import\s+([A-Za-z_][\w.]*(?:\s+as\s+\w+)?(?:\s*,\s*[A-Za-z_][\w.]*(?:\s+as\s+\w+)?)*)";

static FROM_IMPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(FROM_PATTERN).expect("valid regex"));
static PLAIN_IMPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PLAIN_PATTERN).expect("valid regex"));

/// `\s` on ASCII text as the patterns read it (`\x0B` too, which
/// `u8::is_ascii_whitespace` leaves out).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where the run of bytes from `at` that `keep` accepts ends.
fn skip(line: &[u8], at: usize, keep: impl Fn(u8) -> bool) -> usize {
    at + line[at..].iter().take_while(|&&b| keep(b)).count()
}

/// `[A-Za-z_][\w.]*` at `at`: where the dotted name ends.
fn dotted_name_end(line: &[u8], at: usize) -> Option<usize> {
    match line.get(at) {
        Some(&b) if b.is_ascii_alphabetic() || b == b'_' => {
            Some(skip(line, at + 1, |b| is_word(b) || b == b'.'))
        }
        _ => None,
    }
}

/// `^\s*word\s+` on a line: where the word ends, and where the spaces
/// after it end.
fn leading_word(line: &[u8], word: &[u8]) -> Option<(usize, usize)> {
    let at = skip(line, 0, is_space);
    if !line[at..].starts_with(word) {
        return None;
    }
    let end = at + word.len();
    let spaced = skip(line, end, is_space);
    (spaced > end).then_some((end, spaced))
}

/// `\s+word` at `at`: where the word ends.
fn spaced_word(line: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    let spaced = skip(line, at, is_space);
    (spaced > at && line[spaced..].starts_with(word)).then_some(spaced + word.len())
}

/// [`FROM_PATTERN`]'s groups on an ASCII line (level, module, names), read
/// without the regex engine: capturing with it cost some 3,000 instructions
/// per import line, and CI reaches every test file's imports. The
/// `from_and_plain_readers_agree_with_the_patterns` test holds the two to
/// the same answer, backtracking included.
fn from_ascii(line: &str) -> Option<(usize, &str, &str)> {
    let bytes = line.as_bytes();
    let (from_end, spaced) = leading_word(bytes, b"from")?;
    let level_end = skip(bytes, spaced, |b| b == b'.');
    let module_end = dotted_name_end(bytes, level_end).unwrap_or(level_end);
    // `\s+import\s+(.+)$` from `at`: the names, or `None`.
    let tail = |at: usize| {
        let after = spaced_word(bytes, at, b"import")?;
        let names_at = skip(bytes, after, is_space);
        match names_at - after {
            0 => None,
            _ if names_at < bytes.len() => Some(&line[names_at..]),
            // Only spaces follow: `.+` takes the last of two or more.
            n if n >= 2 => Some(&line[bytes.len() - 1..]),
            _ => None,
        }
    };
    if let Some(names) = tail(module_end) {
        return Some((level_end - spaced, &line[level_end..module_end], names));
    }
    // The regex gives back spaces after `from` to its second `\s+`: with
    // no dots and no module, `from  import x` still reads.
    if spaced - from_end >= 2 {
        if let Some(names) = tail(spaced - 1) {
            return Some((0, "", names));
        }
    }
    None
}

/// The modules of [`PLAIN_PATTERN`]'s list on an ASCII line (the first
/// word of each comma-separated part of its group), read as
/// [`from_ascii`] reads its pattern.
fn plain_ascii(line: &str) -> Option<Vec<&str>> {
    let bytes = line.as_bytes();
    let (_, spaced) = leading_word(bytes, b"import")?;
    // An optional `as alias` after `at`: where it ends.
    let alias = |at: usize| {
        let Some(after) = spaced_word(bytes, at, b"as") else {
            return at;
        };
        let word = skip(bytes, after, is_space);
        let end = skip(bytes, word, is_word);
        if word == after || end == word {
            at
        } else {
            end
        }
    };
    let end = dotted_name_end(bytes, spaced)?;
    let mut modules = vec![&line[spaced..end]];
    let mut at = alias(end);
    loop {
        let comma = skip(bytes, at, is_space);
        if bytes.get(comma) != Some(&b',') {
            break;
        }
        let start = skip(bytes, comma + 1, is_space);
        let Some(end) = dotted_name_end(bytes, start) else {
            break;
        };
        modules.push(&line[start..end]);
        at = alias(end);
    }
    Some(modules)
}

/// [`FROM_PATTERN`]'s groups (level, module, names) on a line: read by
/// hand when ASCII, by the pattern otherwise.
fn read_from(line: &str) -> Option<(usize, &str, &str)> {
    if line.is_ascii() {
        return from_ascii(line);
    }
    from_by_pattern(line)
}

fn from_by_pattern(line: &str) -> Option<(usize, &str, &str)> {
    FROM_IMPORT.captures(line).map(|caps| {
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        (group(1).len(), group(2), group(3))
    })
}

/// The modules of [`PLAIN_PATTERN`]'s list on a line: read by hand when
/// ASCII, by the pattern otherwise.
fn read_plain(line: &str) -> Option<Vec<&str>> {
    if line.is_ascii() {
        return plain_ascii(line);
    }
    plain_by_pattern(line)
}

fn plain_by_pattern(line: &str) -> Option<Vec<&str>> {
    PLAIN_IMPORT.captures(line).map(|caps| {
        let list = caps.get(1).map_or("", |m| m.as_str());
        list.split(',')
            .filter_map(|part| part.split_whitespace().next())
            .collect()
    })
}

/// The import statements of a Python file, including indented ones and
/// parenthesized multi-line name lists.
pub(crate) fn imports(text: &str) -> Vec<Import> {
    fn before_comment(line: &str) -> &str {
        memchr::memchr(b'#', line.as_bytes()).map_or(line, |at| &line[..at])
    }
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        // Most lines import nothing: skip them before reading further.
        if !crate::text::find::contains(line, "import") {
            continue;
        }
        let line = before_comment(line);
        if let Some((level, module, names)) = read_from(line) {
            let mut names_text = names.to_string();
            // `from a import (\n b,\n c)` and `\` continuations.
            let mut guard = 0;
            while ((names_text.contains('(') && !names_text.contains(')'))
                || names_text.trim_end().ends_with('\\'))
                && guard < 200
            {
                let Some(next) = lines.next() else { break };
                names_text.push(' ');
                names_text.push_str(before_comment(next));
                guard += 1;
            }
            let names = names_text
                .replace(['(', ')', '\\'], " ")
                .split(',')
                .filter_map(|n| n.split_whitespace().next())
                .filter(|n| *n != "*")
                .map(str::to_string)
                .collect();
            out.push(Import {
                level,
                module: module.to_string(),
                names,
            });
            continue;
        }
        for module in read_plain(line).into_iter().flatten() {
            out.push(Import {
                level: 0,
                module: module.to_string(),
                names: Vec::new(),
            });
        }
    }
    out
}

/// The repository files a dotted module stands for under one of `bases`:
/// `a/b.py` or `a/b/__init__.py` (with `main`, also `a/b/__main__.py`), plus
/// the `__init__.py` of each enclosing package, which Python runs too.
pub(crate) fn module_files(
    index: &RepoIndex,
    dotted: &str,
    bases: &[String],
    main: bool,
) -> Vec<String> {
    if dotted.is_empty()
        || !dotted
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Vec::new();
    }
    let rel = dotted.replace('.', "/");
    for base in bases {
        let Some(stem) = paths::join(base, &rel) else {
            continue;
        };
        let mut found = Vec::new();
        let module = format!("{stem}.py");
        if index.is_file(&module) {
            found.push(module);
        } else {
            for file in ["__init__.py", "__main__.py"] {
                let candidate = format!("{stem}/{file}");
                if (main || file == "__init__.py") && index.is_file(&candidate) {
                    found.push(candidate);
                }
            }
        }
        if !found.is_empty() {
            add_package_inits(index, base, &stem, &mut found);
            return found;
        }
    }
    Vec::new()
}

/// Adds `__init__.py` of each package between `base` and `stem`.
fn add_package_inits(index: &RepoIndex, base: &str, stem: &str, found: &mut Vec<String>) {
    for dir in paths::ancestors(paths::parent(stem)) {
        if dir.len() <= base.len() {
            break;
        }
        let init = format!("{dir}/__init__.py");
        if index.is_file(&init) && !found.contains(&init) {
            found.push(init);
        }
    }
}

/// The repository files one import of `file` resolves to. Absolute imports are
/// looked up from the file's own directory (Python puts a script's directory
/// and pytest a test's rootdir on the path), the working directory, the
/// repository root and `src/`.
pub(crate) fn resolve_import(
    index: &RepoIndex,
    file: &str,
    cwd: &str,
    import: &Import,
) -> Vec<String> {
    if import.level == 0 && !index.may_resolve_import(&import.module) {
        return Vec::new();
    }
    let bases: Vec<String> = if import.level > 0 {
        let mut dir = paths::parent(file);
        for _ in 1..import.level {
            dir = paths::parent(dir);
        }
        vec![dir.to_string()]
    } else {
        let mut bases = vec![
            paths::parent(file).to_string(),
            cwd.to_string(),
            String::new(),
            "src".to_string(),
        ];
        bases.dedup();
        bases
    };
    let mut out = Vec::new();
    if import.module.is_empty() {
        // `from . import a, b`: each name is a module of the package.
        for name in &import.names {
            out.extend(module_files(index, name, &bases, false));
        }
        return out;
    }
    out.extend(module_files(index, &import.module, &bases, false));
    for name in &import.names {
        out.extend(module_files(
            index,
            &format!("{}.{name}", import.module),
            &bases,
            false,
        ));
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On ASCII lines the hand readers give what the patterns capture:
    /// lines written to reach each branch (spaces given back, aliases cut
    /// short, names that are not names) and 20,000 lines strung from
    /// import-like pieces by a fixed pseudo-random sequence.
    #[test]
    fn from_and_plain_readers_agree_with_the_patterns() {
        let mut lines: Vec<String> = [
            "from a.b import c, d",
            "  from .. import x",
            "from\t.pkg.mod   import (y,",
            "import os, sys as system , a.b as ab",
            "import\x0bos",
            "from x import",
            "from x import ",
            "from x import  ",
            "from  import x",
            "from . import  \t",
            "from 1x import y",
            "import a.b.c\r",
            "fromx import y",
            "from a import b ",
            "\x0c  import z",
            "import a as, b",
            "import a as b.c, d",
            "import a asb, c",
            "import a , 1b",
            "import _a.b_ as _c ,d as e",
        ]
        .map(str::to_string)
        .to_vec();
        let pieces = [
            "from", "import", " ", "  ", "\t", "\x0b", ".", "..", "a", "a.b", "_x", "1x", ",",
            " as ", "as", "(", "*", "\r", "y", "x1", "é",
        ];
        let mut state: u64 = 7;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize % bound
        };
        let starts = [
            "",
            " ",
            "from",
            "from ",
            "import",
            "import ",
            "\tfrom  .",
            "from a",
            "from a import",
            "from .",
            "from  ",
            " from ..b import ",
        ];
        for _ in 0..20_000 {
            let mut line = starts[next(starts.len())].to_string();
            for _ in 0..1 + next(8) {
                line.push_str(pieces[next(pieces.len())]);
            }
            lines.push(line);
        }
        let mut read = (0, 0);
        for line in lines.iter().filter(|l| l.is_ascii()) {
            assert_eq!(from_ascii(line), from_by_pattern(line), "from: {line:?}");
            assert_eq!(plain_ascii(line), plain_by_pattern(line), "plain: {line:?}");
            read.0 += usize::from(from_ascii(line).is_some());
            read.1 += usize::from(plain_ascii(line).is_some());
        }
        // Both readers were reached by many lines, not only by refusals.
        assert!(read.0 > 500 && read.1 > 500, "{read:?}");
        // A Unicode identifier and a no-break space are the patterns' to read.
        assert_eq!(imports("from\u{a0}café import x")[0].module, "café");
    }

    #[test]
    fn reads_imports() {
        let text = "import os, pipeline.train as t\nfrom src.features import (\n    build,  # comment\n    clean,\n)\nfrom . import helpers\nfrom ..utils.io import read\n    import torch\n# import nothing\n";
        let got = imports(text);
        assert_eq!(got.len(), 6);
        assert_eq!(got[1].module, "pipeline.train");
        assert_eq!(got[2].names, ["build", "clean"]);
        assert_eq!(
            (
                got[3].level,
                got[3].module.as_str(),
                got[3].names.as_slice()
            ),
            (1, "", &["helpers".to_string()][..])
        );
        assert_eq!((got[4].level, got[4].module.as_str()), (2, "utils.io"));
        assert_eq!(got[5].module, "torch");
    }

    #[test]
    fn resolves_modules_and_packages() {
        let index = RepoIndex::from_memory([
            ("pipeline/__init__.py", ""),
            ("pipeline/train.py", ""),
            ("pipeline/serve/__main__.py", ""),
            ("src/features/__init__.py", ""),
            ("src/features/build.py", ""),
            ("tests/helpers.py", ""),
            ("tests/unit/test_a.py", ""),
        ]);
        let root = vec![String::new(), "src".to_string()];
        assert_eq!(
            module_files(&index, "pipeline.train", &root, true),
            ["pipeline/train.py", "pipeline/__init__.py"]
        );
        assert_eq!(
            module_files(&index, "pipeline.serve", &root, true),
            ["pipeline/serve/__main__.py", "pipeline/__init__.py"]
        );
        assert!(module_files(&index, "pipeline.serve", &root, false).is_empty());
        assert!(module_files(&index, "numpy", &root, false).is_empty());
        assert!(module_files(&index, "../x", &root, false).is_empty());

        let from = Import {
            level: 0,
            module: "features".into(),
            names: vec!["build".into(), "clean".into()],
        };
        assert_eq!(
            resolve_import(&index, "tests/unit/test_a.py", "", &from),
            ["src/features/__init__.py", "src/features/build.py"]
        );
        let relative = Import {
            level: 2,
            module: "helpers".into(),
            names: vec![],
        };
        assert_eq!(
            resolve_import(&index, "tests/unit/test_a.py", "", &relative),
            ["tests/helpers.py"]
        );
    }
}
