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
    // Both forms of the statement say `import`; most files of a large tree
    // that lack it are skipped in one pass instead of line by line.
    // The searcher is built once: building one per call cost as much as
    // the search in the short files of a large tree.
    static IMPORT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"import"));
    if IMPORT.find(text.as_bytes()).is_none() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
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
                continue;
            }
            found.push(Import {
                module: module.to_string(),
                line,
            });
            let names = rest.split_once(" import ").map(|(_, n)| n).unwrap_or("");
            for name in names.trim_matches(['(', ')', ' ', '\\']).split(',') {
                let name = name
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_matches(['(', ')']);
                if !name.is_empty() && name != "*" && is_module_path(name) {
                    found.push(Import {
                        module: format!("{module}.{name}"),
                        line,
                    });
                }
            }
        }
    }
    found
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
    !name.is_empty()
        && !name.starts_with('.')
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
