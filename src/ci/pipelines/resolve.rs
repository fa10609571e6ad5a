//! From what a pipeline step names to the repository files it runs: a
//! Python callable (`python_callable=train`, `node(split_data, …)`) to the
//! module defining it, a path literal (`code="preprocess.py"`) to the file.

use crate::repo::RepoIndex;

use super::super::paths;
use super::super::python::{self, Import};
use super::pysrc::{self, Source};

/// The repository files defining `name` as seen from `file`: the file itself
/// when it defines it at top level, else the module an import brings it
/// from. A dotted name (`tasks.train`) resolves through its first part.
pub(crate) fn callable(index: &RepoIndex, file: &str, source: &Source, name: &str) -> Vec<String> {
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Vec::new();
    }
    let (head, dotted) = match name.split_once('.') {
        Some((head, _)) => (head, true),
        None => (name, false),
    };
    if !dotted && defines(source, name) {
        return vec![file.to_string()];
    }
    for import in bindings(source, head) {
        let found = python::resolve_import(index, file, "", &import);
        // `from pkg import mod` lists the package `__init__.py` and `mod.py`;
        // a dotted name's function lives in the module itself.
        let mut modules: Vec<String> = found
            .into_iter()
            .filter(|f| !f.ends_with("__init__.py") || !dotted)
            .collect();
        modules.sort_by_key(|f| f.ends_with("__init__.py"));
        if !modules.is_empty() {
            return modules;
        }
    }
    Vec::new()
}

/// Whether the file defines `name` at top level (`def name`, `name = …`).
fn defines(source: &Source, name: &str) -> bool {
    source.stmts.iter().filter(|s| s.indent == 0).any(|s| {
        let text = s.text.as_str();
        let header = text.strip_prefix("async ").unwrap_or(text);
        let rest = header
            .strip_prefix("def ")
            .or_else(|| header.strip_prefix("class "));
        match rest {
            Some(rest) => {
                rest.starts_with(name)
                    && !rest[name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            }
            None => text
                .split_once('=')
                .is_some_and(|(left, right)| left.trim() == name && !right.starts_with('=')),
        }
    })
}

/// The imports of a file that bind `head`, narrowed to the module that
/// holds it: `from a import b` binds `b` (module `a`, maybe submodule `a.b`),
/// `from a import b as c` binds `c`, `import a.b as m` binds `m`, and
/// `import a.b` binds `a`.
fn bindings(source: &Source, head: &str) -> Vec<Import> {
    let mut out = Vec::new();
    for stmt in &source.stmts {
        let text = stmt.text.as_str();
        if let Some(rest) = text.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let module = module.trim();
            let level = module.len() - module.trim_start_matches('.').len();
            for part in names.replace(['(', ')', '\\'], " ").split(',') {
                let mut words = part.split_whitespace();
                let (Some(name), alias) = (words.next(), words.nth(1)) else {
                    continue;
                };
                if alias.unwrap_or(name) == head {
                    out.push(Import {
                        level,
                        module: module.trim_start_matches('.').to_string(),
                        names: vec![name.to_string()],
                    });
                }
            }
        } else if let Some(rest) = text.strip_prefix("import ") {
            for part in rest.split(',') {
                let mut words = part.split_whitespace();
                let (Some(module), alias) = (words.next(), words.nth(1)) else {
                    continue;
                };
                let bound = alias.unwrap_or_else(|| module.split('.').next().unwrap_or(module));
                if bound == head {
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

/// The repository file a path literal names, tried against the working
/// directory `cwd` (a `source_dir`), the pipeline file's directory and the
/// repository root.
pub(crate) fn path(index: &RepoIndex, file: &str, cwd: &str, literal: &str) -> Option<String> {
    let literal = literal.trim().trim_start_matches("./");
    if literal.is_empty() || literal.len() > 512 || literal.contains("://") {
        return None;
    }
    let dir = paths::parent(file);
    let mut bases = vec![cwd, dir, ""];
    bases.dedup();
    bases
        .into_iter()
        .filter_map(|base| paths::join(base, literal))
        .find(|p| index.is_file(p) || index.is_dir(p))
}

/// Script paths written anywhere in a call (`code=os.path.join(BASE_DIR,
/// "evaluate.py")`, `entry_point="train.py"`), resolved to repository files.
pub(crate) fn scripts_in(index: &RepoIndex, file: &str, cwd: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for literal in pysrc::literals(text) {
        let script = [".py", ".sh", ".r", ".R", ".ipynb"]
            .iter()
            .any(|ext| literal.ends_with(ext));
        if !script {
            continue;
        }
        if let Some(found) = path(index, file, cwd, literal) {
            if index.is_file(&found) && !out.contains(&found) {
                out.push(found);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callables_resolve_to_their_modules() {
        let index = RepoIndex::from_memory([
            ("dags/dag.py", ""),
            ("dags/tasks.py", ""),
            ("src/ml/__init__.py", ""),
            ("src/ml/train.py", ""),
            ("src/ml/nodes.py", ""),
        ]);
        let text = "from tasks import download, train as fit\nimport ml.nodes as n\nfrom ml import train\n\ndef local():\n    pass\n";
        let source = pysrc::parse(text);
        let resolve = |name| callable(&index, "dags/dag.py", &source, name);
        assert_eq!(resolve("download"), ["dags/tasks.py"]);
        assert_eq!(resolve("fit"), ["dags/tasks.py"]);
        assert_eq!(resolve("local"), ["dags/dag.py"]);
        assert_eq!(resolve("n.split"), ["src/ml/nodes.py"]);
        assert_eq!(resolve("train.run"), ["src/ml/train.py"]);
        assert!(resolve("unknown").is_empty());
        assert!(resolve("bad name").is_empty());
    }

    #[test]
    fn paths_resolve_against_source_dir_file_dir_and_root() {
        let index = RepoIndex::from_memory([
            ("pipelines/pipeline.py", ""),
            ("pipelines/preprocess.py", ""),
            ("src/train.py", ""),
        ]);
        let file = "pipelines/pipeline.py";
        assert_eq!(
            path(&index, file, "", "preprocess.py").as_deref(),
            Some("pipelines/preprocess.py")
        );
        assert_eq!(
            path(&index, file, "src", "train.py").as_deref(),
            Some("src/train.py")
        );
        assert_eq!(path(&index, file, "", "../etc/passwd"), None);
        assert_eq!(
            scripts_in(
                &index,
                file,
                "",
                "code=os.path.join(BASE_DIR, \"preprocess.py\"), x='a.py'"
            ),
            ["pipelines/preprocess.py"]
        );
    }
}
