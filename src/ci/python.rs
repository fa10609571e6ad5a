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

/// An import pattern twice: as written, and with ASCII classes for ASCII
/// lines. On ASCII text Unicode `\s`, `\w` and `.` match exactly what their
/// ASCII forms do, and the ASCII form is a far smaller automaton: capturing
/// with the Unicode one cleared a table the size of its automaton for each
/// of 20,000 test files' import lines.
struct Twice {
    unicode: Regex,
    ascii: Regex,
}

impl Twice {
    fn new(pattern: &str) -> Twice {
        // The classes spelled out in ASCII; `.` stays a character, which on
        // ASCII text is a byte.
        let ascii = pattern
            .replace(r"[\w.]", "[0-9A-Za-z_.]")
            .replace(r"\w", "[0-9A-Za-z_]")
            .replace(r"\s", r"[\t\n\x0B\x0C\r ]");
        Twice {
            unicode: Regex::new(pattern).expect("valid regex"),
            ascii: Regex::new(&ascii).expect("valid regex"),
        }
    }

    fn captures<'t>(&self, line: &'t str) -> Option<regex::Captures<'t>> {
        if line.is_ascii() {
            self.ascii.captures(line)
        } else {
            self.unicode.captures(line)
        }
    }
}

static FROM_IMPORT: LazyLock<Twice> = LazyLock::new(|| Twice::new(FROM_PATTERN));
static PLAIN_IMPORT: LazyLock<Twice> = LazyLock::new(|| Twice::new(PLAIN_PATTERN));

/// The import statements of a Python file, including indented ones and
/// parenthesized multi-line name lists.
pub(crate) fn imports(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        // Most lines import nothing: skip them before running a regex.
        if !line.contains("import") {
            continue;
        }
        let line = line.split('#').next().unwrap_or("");
        if let Some(caps) = FROM_IMPORT.captures(line) {
            let level = caps.get(1).map_or(0, |m| m.as_str().len());
            let module = caps.get(2).map_or("", |m| m.as_str()).to_string();
            let mut names_text = caps.get(3).map_or("", |m| m.as_str()).to_string();
            // `from a import (\n b,\n c)` and `\` continuations.
            let mut guard = 0;
            while ((names_text.contains('(') && !names_text.contains(')'))
                || names_text.trim_end().ends_with('\\'))
                && guard < 200
            {
                let Some(next) = lines.next() else { break };
                names_text.push(' ');
                names_text.push_str(next.split('#').next().unwrap_or(""));
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
                module,
                names,
            });
        } else if let Some(caps) = PLAIN_IMPORT.captures(line) {
            for part in caps.get(1).map_or("", |m| m.as_str()).split(',') {
                if let Some(module) = part.split_whitespace().next() {
                    out.push(Import {
                        level: 0,
                        module: module.to_string(),
                        names: Vec::new(),
                    });
                }
            }
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

    /// On ASCII lines the ASCII forms capture exactly what the Unicode
    /// forms do; other lines still go to the Unicode forms.
    #[test]
    fn ascii_import_patterns_agree_on_ascii_lines() {
        let lines = [
            "from a.b import c, d",
            "  from .. import x",
            "from\t.pkg.mod   import (y,",
            "import os, sys as system , a.b as ab",
            "import\x0bos",
            "from x import",
            "from 1x import y",
            "import a.b.c\r",
            "fromx import y",
            "from a import b # c",
            "\x0c  import z",
        ];
        for pattern in [FROM_PATTERN, PLAIN_PATTERN] {
            let twice = Twice::new(pattern);
            let ascii = twice.ascii.as_str();
            assert!(!ascii.contains(r"\s") && !ascii.contains(r"\w"), "{ascii}");
            for line in lines {
                let groups = |caps: Option<regex::Captures<'_>>| {
                    caps.map(|c| {
                        c.iter()
                            .map(|m| m.map(|m| (m.start(), m.as_str().to_string())))
                            .collect::<Vec<_>>()
                    })
                };
                assert_eq!(
                    groups(twice.ascii.captures(line)),
                    groups(twice.unicode.captures(line)),
                    "{pattern} on {line:?}"
                );
            }
            // A Unicode identifier and a no-break space are the Unicode form's.
            let line = "from\u{a0}café import x";
            assert_eq!(
                twice.captures(line).is_some(),
                twice.unicode.captures(line).is_some()
            );
        }
        assert!(FROM_IMPORT.captures("from\u{a0}café import x").is_some());
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
