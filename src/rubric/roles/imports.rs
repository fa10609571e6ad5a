//! Which repository files a Python file imports, with the line of each
//! import: absolute imports from the file's directory, the repository root and
//! `src/` (what Python and pytest put on the path), relative imports from the
//! package, and, for a bare module name nothing else resolves (tests that
//! extend `sys.path`), the one repository module of that name.

use foldhash::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::repo::RepoIndex;
use crate::rubric::pylines::LogicalLine;
use crate::text::path::parent;

static FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^from\s+(\.*)([A-Za-z_][\w.]*)?\s+import\s+(.+)$").expect("valid regex")
});
static PLAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^import\s+(.+)$").expect("valid regex"));

/// Resolves imports against one repository index.
pub struct Resolver<'a> {
    index: &'a RepoIndex,
    /// Module file stems (`features` for `src/churn/features.py`) that name
    /// exactly one non-test file; borrowed from the index, which a large
    /// tree's tens of thousands of modules made worth it.
    unique: HashMap<&'a str, Option<&'a str>>,
}

impl<'a> Resolver<'a> {
    pub fn new(index: &'a RepoIndex) -> Resolver<'a> {
        // Sized for every module at once: grown by doubling, the map of a
        // large tree was rehashed and its fresh pages zeroed again each time.
        let modules = index.with_extension("py");
        let mut unique: HashMap<&'a str, Option<&'a str>> =
            HashMap::with_capacity_and_hasher(modules.len(), Default::default());
        for &at in modules {
            let entry = index.entry_at(at);
            let path = entry.path.as_str();
            if super::is_test_path(path) {
                continue;
            }
            let Some(stem) = entry.name().strip_suffix(".py") else {
                continue;
            };
            unique
                .entry(stem)
                .and_modify(|seen| *seen = None)
                .or_insert(Some(path));
        }
        index.prepare_import_names();
        Resolver { index, unique }
    }

    /// The repository files `path` imports, each with its import line.
    pub fn imports(&self, path: &str, lines: &[LogicalLine]) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        let dir = parent(path);
        for line in lines {
            let code = line.code();
            if !line.is_import() || self.none_resolve(code) {
                continue;
            }
            let mut modules: Vec<(usize, String)> = Vec::new();
            if let Some(caps) = FROM.captures(code) {
                let level = caps.get(1).map_or(0, |m| m.as_str().len());
                let module = caps.get(2).map_or("", |m| m.as_str());
                let names = caps[3].replace(['(', ')', '\\'], " ");
                if !module.is_empty() {
                    modules.push((level, module.to_string()));
                }
                for name in names.split(',').filter_map(|n| n.split_whitespace().next()) {
                    if name != "*" {
                        let joined = if module.is_empty() {
                            name.to_string()
                        } else {
                            format!("{module}.{name}")
                        };
                        modules.push((level, joined));
                    }
                }
            } else if let Some(caps) = PLAIN.captures(code) {
                for part in caps[1].split(',') {
                    if let Some(module) = part.split_whitespace().next() {
                        modules.push((0, module.to_string()));
                    }
                }
            }
            for (level, module) in modules {
                if let Some(file) = self.resolve(dir, level, &module) {
                    if !out.iter().any(|(f, _)| *f == file) {
                        out.push((file, line.line));
                    }
                }
            }
        }
        out
    }

    /// Whether no module of an absolute import line can resolve, told
    /// without parsing it: every module a `from x.y import a, b` line names
    /// (`x.y`, `x.y.a`, `x.y.b`) has the first name `x`, and `resolve` gives
    /// up on a first name that no repository folder or module has — as it
    /// does for `numpy`, `sklearn` and the other imports most lines hold.
    fn none_resolve(&self, code: &str) -> bool {
        let may = |module: &str| self.index.may_resolve_import(module);
        if let Some(rest) = code.strip_prefix("from ") {
            let module = rest.split_whitespace().next().unwrap_or("");
            !module.starts_with('.') && !may(module)
        } else if let Some(rest) = code.strip_prefix("import ") {
            !rest
                .split(',')
                .filter_map(|part| part.split_whitespace().next())
                .any(may)
        } else {
            false
        }
    }

    fn resolve(&self, dir: &str, level: usize, module: &str) -> Option<String> {
        if level == 0 && !self.index.may_resolve_import(module) {
            return None;
        }
        let rel = module.replace('.', "/");
        let bases: Vec<String> = if level > 0 {
            let mut base = dir;
            for _ in 1..level {
                base = parent(base);
            }
            vec![base.to_string()]
        } else {
            let mut bases = vec![dir.to_string(), String::new(), "src".to_string()];
            // Tests one level down (`tests/unit`) import from beside `tests/`.
            bases.push(parent(parent(dir)).to_string());
            bases.dedup();
            bases
        };
        for base in &bases {
            let stem = if base.is_empty() {
                rel.clone()
            } else {
                format!("{base}/{rel}")
            };
            for candidate in [format!("{stem}.py"), format!("{stem}/__init__.py")] {
                if self.index.is_file(&candidate) {
                    return Some(candidate);
                }
            }
        }
        if level == 0 && !module.contains('.') {
            return self
                .unique
                .get(module)
                .copied()
                .flatten()
                .map(str::to_string);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::pylines::logical_lines;

    #[test]
    fn resolves_absolute_relative_and_sys_path_imports() {
        let index = RepoIndex::from_memory([
            ("src/churn/__init__.py", ""),
            ("src/churn/features.py", ""),
            ("src/churn/train.py", ""),
            ("pipeline/preprocessing.py", ""),
            ("tests/test_a.py", ""),
        ]);
        let resolver = Resolver::new(&index);
        let text = "import os\nfrom churn.features import (\n    scale,\n)\nfrom churn import train\nimport preprocessing\nfrom .helpers import x\n";
        let got = resolver.imports("tests/test_a.py", &logical_lines(text));
        assert_eq!(
            got,
            vec![
                ("src/churn/features.py".to_string(), 2),
                ("src/churn/__init__.py".to_string(), 5),
                ("src/churn/train.py".to_string(), 5),
                ("pipeline/preprocessing.py".to_string(), 6),
            ]
        );
        let relative = resolver.imports(
            "src/churn/train.py",
            &logical_lines("from .features import scale\n"),
        );
        assert_eq!(relative, vec![("src/churn/features.py".to_string(), 1)]);
        // A line is skipped only when none of its modules can resolve: a
        // repository name imported from a package is not that module, and
        // one resolvable module among others still counts.
        let mixed = resolver.imports(
            "tests/test_a.py",
            &logical_lines(
                "from sklearn.linear_model import churn
import numpy, churn.features
import
from  churn  import train
",
            ),
        );
        assert_eq!(
            mixed,
            vec![
                ("src/churn/features.py".to_string(), 2),
                ("src/churn/__init__.py".to_string(), 4),
                ("src/churn/train.py".to_string(), 4),
            ]
        );
    }
}
