//! Dependencies declared in Python manifests, with the line of each, read as
//! text so that a half-broken manifest still yields what it can.

use crate::repo::RepoIndex;

/// A package named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Normalized name (PEP 503: lower case, runs of `-_.` become `-`).
    pub name: String,
    pub path: String,
    pub line: usize,
}

/// PEP 503 normalization, so `Great_Expectations` matches `great-expectations`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Every dependency declared in the repository's manifests.
pub fn declared(index: &RepoIndex) -> Vec<Declared> {
    let mut found = Vec::new();
    for entry in index.files() {
        let Some(kind) = manifest_kind(entry.name()) else {
            continue;
        };
        let Some(text) = index.entry_text(entry) else {
            continue;
        };
        for (name, line) in parse(kind, text) {
            found.push(Declared {
                name: normalize(&name),
                path: entry.path.clone(),
                line,
            });
        }
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Requirements,
    Pyproject,
    SetupCfg,
    SetupPy,
    Conda,
    Pipfile,
}

fn manifest_kind(name: &str) -> Option<Kind> {
    // Asked of every file name: compared case-blind, not lower-cased into a
    // copy of each.
    use crate::text::case::{ends_with_ignore_case as ends, starts_with_ignore_case as starts};
    let is = |manifest: &str| name.eq_ignore_ascii_case(manifest);
    Some(if is("pyproject.toml") {
        Kind::Pyproject
    } else if is("setup.cfg") {
        Kind::SetupCfg
    } else if is("setup.py") {
        Kind::SetupPy
    } else if is("environment.yml") || is("environment.yaml") || is("conda.yaml") || is("conda.yml")
    {
        Kind::Conda
    } else if is("pipfile") {
        Kind::Pipfile
    } else if (starts(name, "requirements")
        || ends(name, "requirements.txt")
        || starts(name, "constraints"))
        && (ends(name, ".txt") || ends(name, ".in"))
    {
        Kind::Requirements
    } else {
        return None;
    })
}

/// The package name at the start of a requirement specifier (`pandas[pq]>=2`).
fn requirement_name(spec: &str) -> Option<&str> {
    let spec = spec.trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_alphanumeric())).then_some(name)
}

/// Quoted strings on a line, e.g. the items of a TOML array or a Python list.
fn quoted(line: &str) -> impl Iterator<Item = &str> {
    line.split(['"', '\'']).skip(1).step_by(2)
}

fn parse(kind: Kind, text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut push = |name: &str, line: usize| found.push((name.to_string(), line + 1));
    let mut table = String::new();
    let mut in_list = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match kind {
            Kind::Requirements => {
                if !trimmed.starts_with('-') {
                    if let Some(name) = requirement_name(trimmed) {
                        push(name, i);
                    }
                }
            }
            Kind::Pyproject | Kind::Pipfile => {
                if trimmed.starts_with('[') {
                    table = trimmed.trim_matches(['[', ']']).to_string();
                    in_list = false;
                    continue;
                }
                let key_table = table.ends_with("dependencies")
                    && (table.starts_with("tool.poetry") || kind == Kind::Pipfile)
                    || matches!(table.as_str(), "packages" | "dev-packages");
                let list_table = matches!(
                    table.as_str(),
                    "project.optional-dependencies" | "dependency-groups"
                );
                if key_table {
                    if let Some((key, _)) = trimmed.split_once('=') {
                        let key = key.trim().trim_matches('"');
                        if key != "python" {
                            if let Some(name) = requirement_name(key) {
                                push(name, i);
                            }
                        }
                    }
                } else if (table == "project" && (trimmed.starts_with("dependencies") || in_list))
                    || list_table
                {
                    if table == "project" && trimmed.starts_with("dependencies") {
                        in_list = true;
                    }
                    for spec in quoted(trimmed) {
                        if let Some(name) = requirement_name(spec) {
                            push(name, i);
                        }
                    }
                    if in_list && trimmed.contains(']') {
                        in_list = false;
                    }
                }
            }
            Kind::SetupCfg => {
                if trimmed.starts_with('[') {
                    table = trimmed.trim_matches(['[', ']']).to_string();
                    in_list = false;
                    continue;
                }
                let indented = raw.starts_with([' ', '\t']);
                if table == "options" && trimmed.starts_with("install_requires") {
                    in_list = true;
                    if let Some((_, rest)) = trimmed.split_once('=') {
                        if let Some(name) = requirement_name(rest) {
                            push(name, i);
                        }
                    }
                } else if indented && (in_list || table == "options.extras_require") {
                    if let Some(name) = requirement_name(trimmed) {
                        push(name, i);
                    }
                } else {
                    in_list = false;
                }
            }
            Kind::SetupPy => {
                if trimmed.contains("install_requires") || trimmed.contains("extras_require") {
                    in_list = true;
                }
                if in_list {
                    for spec in quoted(trimmed) {
                        if let Some(name) = requirement_name(spec) {
                            push(name, i);
                        }
                    }
                    if trimmed.contains(']') && !trimmed.contains('[') || trimmed.ends_with("],") {
                        in_list = false;
                    }
                }
            }
            Kind::Conda => {
                if let Some(rest) = trimmed.strip_prefix("- ") {
                    if !rest.trim_end().ends_with(':') {
                        let spec = rest.rsplit("::").next().unwrap_or(rest);
                        if let Some(name) = requirement_name(spec) {
                            push(name, i);
                        }
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(kind: Kind, text: &str) -> Vec<(String, usize)> {
        parse(kind, text)
            .into_iter()
            .map(|(n, l)| (normalize(&n), l))
            .collect()
    }

    #[test]
    fn requirements_skip_options_and_comments() {
        let found = names(Kind::Requirements, "# pinned\n-r base.txt\npandas[parquet]==2.2.0\nGreat_Expectations>=1 # gx\n\nscikit-learn\n");
        assert_eq!(
            found,
            vec![
                ("pandas".into(), 3),
                ("great-expectations".into(), 4),
                ("scikit-learn".into(), 6)
            ]
        );
    }

    #[test]
    fn pyproject_pep621_and_poetry() {
        let text = "[project]\nname = \"x\"\ndependencies = [\n  \"pandera>=0.20\",\n  \"mlflow\",\n]\n[project.optional-dependencies]\ndev = [\"pytest\"]\n[tool.poetry.dependencies]\npython = \"^3.11\"\noptuna = \"^3\"\n[tool.poetry.group.dev.dependencies]\nblack = \"*\"\n[tool.ruff]\nline-length = 100\n";
        let found = names(Kind::Pyproject, text);
        assert_eq!(
            found,
            vec![
                ("pandera".into(), 4),
                ("mlflow".into(), 5),
                ("pytest".into(), 8),
                ("optuna".into(), 11),
                ("black".into(), 13)
            ]
        );
    }

    #[test]
    fn setup_cfg_setup_py_conda_pipfile() {
        assert_eq!(
            names(Kind::SetupCfg, "[metadata]\nname = x\n[options]\ninstall_requires =\n    numpy\n    fairlearn>=0.10\npython_requires = >=3.9\n"),
            vec![("numpy".into(), 5), ("fairlearn".into(), 6)]
        );
        assert_eq!(
            names(Kind::SetupPy, "setup(\n    name='x',\n    install_requires=[\n        'evidently',\n        \"whylogs>=1\",\n    ],\n)\n"),
            vec![("evidently".into(), 4), ("whylogs".into(), 5)]
        );
        assert_eq!(
            names(Kind::Conda, "name: env\ndependencies:\n  - python=3.11\n  - conda-forge::shap\n  - pip:\n    - nannyml==0.10\n"),
            vec![("python".into(), 3), ("shap".into(), 4), ("nannyml".into(), 6)]
        );
        assert_eq!(
            names(
                Kind::Pipfile,
                "[packages]\nhyperopt = \"*\"\n[requires]\npython_version = \"3.11\"\n"
            ),
            vec![("hyperopt".into(), 2)]
        );
    }

    /// Manifests are known by name in any case; look-alikes are not.
    #[test]
    fn manifests_are_known_by_name_in_any_case() {
        for (name, kind) in [
            ("pyproject.toml", Some(Kind::Pyproject)),
            ("PyProject.TOML", Some(Kind::Pyproject)),
            ("setup.cfg", Some(Kind::SetupCfg)),
            ("setup.py", Some(Kind::SetupPy)),
            ("Environment.yml", Some(Kind::Conda)),
            ("conda.yaml", Some(Kind::Conda)),
            ("Pipfile", Some(Kind::Pipfile)),
            ("requirements.txt", Some(Kind::Requirements)),
            ("Requirements-dev.TXT", Some(Kind::Requirements)),
            ("dev-requirements.txt", Some(Kind::Requirements)),
            ("requirements.in", Some(Kind::Requirements)),
            ("constraints.txt", Some(Kind::Requirements)),
            ("requirements.md", None),
            ("my-constraints.txt", None),
            ("pyproject.toml.bak", None),
            ("setup.py.orig", None),
            ("pipfile.lock", None),
            ("", None),
        ] {
            assert_eq!(manifest_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn normalization_follows_pep_503() {
        assert_eq!(normalize("Great_Expectations"), "great-expectations");
        assert_eq!(normalize("ruamel.yaml"), "ruamel-yaml");
        assert_eq!(normalize("a__b"), "a-b");
    }
}
