//! Which tests `pytest` and `python -m unittest` run: explicit paths and node
//! ids, else the configured `testpaths`, else every test file under the
//! working directory.

use crate::repo::RepoIndex;

use super::ini::Ini;
use super::paths;
use super::python;

/// pytest's default `python_files`.
const DEFAULT_PATTERNS: &[&str] = &["test_*.py", "*_test.py"];

/// pytest options that take the next word as their value; a path there is
/// not a test path (`--ignore tests/slow`, `--cov src`).
const VALUE_OPTIONS: &[&str] = &[
    "-k",
    "-m",
    "-c",
    "-p",
    "-o",
    "-n",
    "-r",
    "-W",
    "--maxfail",
    "--junitxml",
    "--junit-xml",
    "--cov",
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--durations",
    "--ignore",
    "--ignore-glob",
    "--deselect",
    "--rootdir",
    "--basetemp",
    "--log-level",
    "--log-file",
    "--tb",
    "--capture",
    "--confcutdir",
    "--import-mode",
    "--timeout",
    "--dist",
    "--html",
    "--json-report-file",
    "--alluredir",
    "--reruns",
    "--splits",
    "--group",
    "--count",
    "--numprocesses",
    "--maxprocesses",
    "--override-ini",
    "--color",
    "--config-file",
    "--randomly-seed",
    "--hypothesis-seed",
    "--benchmark-json",
];

/// What a test runner invocation collects.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TestPlan {
    /// Test files named directly.
    pub files: Vec<String>,
    /// Directories named directly: every file under them is covered.
    pub dirs: Vec<String>,
    /// Directories searched for test files without covering the whole folder.
    pub collect: Vec<String>,
    /// File-name patterns of test modules.
    pub patterns: Vec<String>,
    /// The configuration file that supplied `testpaths` or patterns.
    pub config: Option<String>,
}

/// The collection of `pytest <args>` run in `cwd`.
pub(crate) fn pytest_plan(
    index: &RepoIndex,
    configs: &mut PytestConfigs,
    cwd: &str,
    args: &[String],
) -> TestPlan {
    let mut plan = TestPlan::default();
    let mut explicit_config = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg.starts_with('-') {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (arg, None),
            };
            if inline.is_none() && VALUE_OPTIONS.contains(&flag) {
                if flag == "-c" || flag == "--config-file" {
                    explicit_config = args.get(i).cloned();
                }
                i += 1;
            } else if let Some(v) = inline.filter(|_| flag == "-c" || flag == "--config-file") {
                explicit_config = Some(v.to_string());
            }
            continue;
        }
        // `path::Class::test[param]` node ids name a file.
        let path_part = arg.split("::").next().unwrap_or(arg);
        let Some(path) = paths::join(cwd, path_part) else {
            continue;
        };
        if index.is_file(&path) {
            plan.files.push(path);
        } else if path.is_empty() || path == cwd {
            // `pytest .` collects tests; it does not make the whole folder test data.
            plan.collect.push(path);
        } else if index.is_dir(&path) {
            plan.dirs.push(path);
        }
    }
    let config = match explicit_config.and_then(|c| paths::join(cwd, &c)) {
        Some(path) => configs.read(index, &path),
        None => configs.find(index, cwd),
    };
    if let Some(config) = &config {
        plan.config = Some(config.path.clone());
        plan.patterns.clone_from(&config.python_files);
    }
    if plan.patterns.is_empty() {
        plan.patterns = DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect();
    }
    if plan.files.is_empty() && plan.dirs.is_empty() && plan.collect.is_empty() {
        let testpaths = config
            .as_ref()
            .map(|c| c.testpaths.clone())
            .unwrap_or_default();
        let rootdir = config
            .as_ref()
            .map_or(cwd.to_string(), |c| paths::parent(&c.path).to_string());
        for testpath in &testpaths {
            let Some(path) = paths::join(&rootdir, testpath) else {
                continue;
            };
            if index.is_file(&path) {
                plan.files.push(path);
            } else if !path.is_empty() && index.is_dir(&path) {
                plan.dirs.push(path);
            }
        }
        if plan.files.is_empty() && plan.dirs.is_empty() {
            plan.collect.push(cwd.to_string());
        }
    }
    plan
}

/// The collection of `python -m unittest <args>` run in `cwd`.
pub(crate) fn unittest_plan(index: &RepoIndex, cwd: &str, args: &[String]) -> TestPlan {
    let mut plan = TestPlan {
        patterns: vec!["test*.py".to_string()],
        ..TestPlan::default()
    };
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let discover = words.first() == Some(&"discover") || words.iter().all(|w| w.starts_with('-'));
    if discover {
        let mut start = ".".to_string();
        let mut positional = 0;
        let mut i = usize::from(words.first() == Some(&"discover"));
        while i < words.len() {
            let word = words[i];
            i += 1;
            match word {
                "-s" | "--start-directory" => {
                    start = words.get(i).map_or(".", |w| w).to_string();
                    i += 1;
                }
                "-p" | "--pattern" => {
                    if let Some(p) = words.get(i) {
                        plan.patterns = vec![p.to_string()];
                    }
                    i += 1;
                }
                "-t" | "--top-level-directory" | "-k" => i += 1,
                _ if word.starts_with('-') => {}
                _ => {
                    // `discover START PATTERN TOP`.
                    match positional {
                        0 => start = word.to_string(),
                        1 => plan.patterns = vec![word.to_string()],
                        _ => {}
                    }
                    positional += 1;
                }
            }
        }
        if let Some(dir) = paths::join(cwd, &start) {
            plan.collect.push(dir);
        }
        return plan;
    }
    let bases = vec![cwd.to_string(), String::new()];
    for word in words.iter().filter(|w| !w.starts_with('-')) {
        if let Some(path) = paths::join(cwd, word).filter(|p| index.is_file(p)) {
            plan.files.push(path);
            continue;
        }
        // `tests.test_model.TestModel.test_fit`: the longest prefix that is a module.
        let parts: Vec<&str> = word.split('.').collect();
        for n in (1..=parts.len()).rev() {
            let found = python::module_files(index, &parts[..n].join("."), &bases, false);
            if let Some(first) = found.into_iter().next() {
                plan.files.push(first);
                break;
            }
        }
    }
    plan
}

/// pytest settings mlscore uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PytestConfig {
    /// The configuration file.
    pub path: String,
    pub testpaths: Vec<String>,
    pub python_files: Vec<String>,
}

/// pytest configurations read so far, by file: a job that runs pytest once
/// per tox environment (thousands of them) reads `tox.ini` once, not once per
/// run.
#[derive(Debug, Default)]
pub(crate) struct PytestConfigs {
    read: std::collections::HashMap<String, Option<PytestConfig>>,
}

impl PytestConfigs {
    /// The pytest configuration that applies in `cwd`: the first of
    /// `pytest.ini`, `.pytest.ini`, `pyproject.toml`, `tox.ini`, `setup.cfg`
    /// with a pytest section, in `cwd` or the nearest ancestor, as pytest
    /// finds its inifile.
    pub(crate) fn find(&mut self, index: &RepoIndex, cwd: &str) -> Option<PytestConfig> {
        for dir in paths::ancestors(cwd) {
            for name in [
                "pytest.ini",
                ".pytest.ini",
                "pyproject.toml",
                "tox.ini",
                "setup.cfg",
            ] {
                let path = if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                };
                if !index.is_file(&path) {
                    continue;
                }
                if let Some(config) = self.read(index, &path) {
                    return Some(config);
                }
            }
        }
        None
    }

    /// The pytest settings of one file, read on first need.
    pub(crate) fn read(&mut self, index: &RepoIndex, path: &str) -> Option<PytestConfig> {
        self.read
            .entry(path.to_string())
            .or_insert_with(|| read_config(index, path))
            .clone()
    }
}

/// Reads pytest settings from one file; `None` when it has no pytest section
/// (a `pytest.ini` always counts).
fn read_config(index: &RepoIndex, path: &str) -> Option<PytestConfig> {
    let text = index.text(path)?;
    let name = paths::file_name(path);
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    if name.ends_with(".toml") {
        let table: toml::Table = text.parse().ok()?;
        let pytest = table.get("tool")?.get("pytest")?;
        let options = pytest.get("ini_options").unwrap_or(pytest);
        let list = |key: &str| -> Vec<String> {
            match options.get(key) {
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Some(toml::Value::String(s)) => split(s),
                _ => Vec::new(),
            }
        };
        return Some(PytestConfig {
            path: path.to_string(),
            testpaths: list("testpaths"),
            python_files: list("python_files"),
        });
    }
    let ini = Ini::parse(text, 1);
    let section_name = match name {
        "setup.cfg" => "tool:pytest",
        _ => "pytest",
    };
    let Some(section) = ini.section(section_name) else {
        return name.ends_with("pytest.ini").then(|| PytestConfig {
            path: path.to_string(),
            testpaths: Vec::new(),
            python_files: Vec::new(),
        });
    };
    let value = |key: &str| {
        section
            .get(key)
            .map(|e| split(&e.joined()))
            .unwrap_or_default()
    };
    Some(PytestConfig {
        path: path.to_string(),
        testpaths: value("testpaths"),
        python_files: value("python_files"),
    })
}

/// Test modules under `dir` matching `patterns`, plus `conftest.py` files.
pub(crate) fn test_files<'a>(
    index: &'a RepoIndex,
    dir: &str,
    patterns: &[String],
) -> impl Iterator<Item = &'a str> + use<'a> {
    let patterns: Vec<paths::NamePattern> = patterns
        .iter()
        .map(|p| paths::NamePattern::new(p))
        .collect();
    paths::files_under(index, dir)
        .iter()
        .map(|f| f.path.as_str())
        .filter(move |path| {
            let name = paths::file_name(path);
            name == "conftest.py"
                || (name.ends_with(".py") && patterns.iter().any(|p| p.matches(name)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn repo(config: (&'static str, &'static str)) -> RepoIndex {
        RepoIndex::from_memory([
            config,
            ("tests/unit/test_model.py", ""),
            ("tests/data/test_schema.py", ""),
            ("tests/data/fixtures.csv", ""),
            ("tests/conftest.py", ""),
            ("ml/tests/test_ml.py", ""),
            ("ml/tests/helpers.py", ""),
        ])
    }

    #[test]
    fn explicit_paths_and_node_ids() {
        let index = repo(("README.md", ""));
        let plan = pytest_plan(
            &index,
            &mut PytestConfigs::default(),
            "",
            &strings(&[
                "-q",
                "--ignore",
                "tests/data",
                "-k",
                "fit",
                "tests/unit/test_model.py::test_fit",
                "tests/data/",
                "missing/",
            ]),
        );
        assert_eq!(plan.files, ["tests/unit/test_model.py"]);
        assert_eq!(plan.dirs, ["tests/data"]);
        assert!(plan.collect.is_empty());
        assert_eq!(plan.patterns, ["test_*.py", "*_test.py"]);
    }

    #[test]
    fn testpaths_from_pytest_ini() {
        let index = repo(("pytest.ini", "[pytest]\ntestpaths =\n    tests/unit\n    tests/data\npython_files = test_*.py check_*.py\n"));
        let plan = pytest_plan(
            &index,
            &mut PytestConfigs::default(),
            "",
            &strings(&["-x", "--cov=src"]),
        );
        assert_eq!(plan.dirs, ["tests/unit", "tests/data"]);
        assert_eq!(plan.config.as_deref(), Some("pytest.ini"));
        assert_eq!(plan.patterns, ["test_*.py", "check_*.py"]);
    }

    #[test]
    fn testpaths_from_pyproject_and_ancestors() {
        let index = repo((
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests/data\"]\n",
        ));
        assert_eq!(
            pytest_plan(&index, &mut PytestConfigs::default(), "", &[]).dirs,
            ["tests/data"]
        );
        // From a subdirectory, the root configuration still applies, relative to its own folder.
        assert_eq!(
            pytest_plan(&index, &mut PytestConfigs::default(), "ml", &[]).dirs,
            ["tests/data"]
        );
    }

    /// After a `cd` mlscore cannot follow, pytest's arguments name nothing
    /// and the root's configuration is not pytest's: nothing is collected.
    #[test]
    fn nothing_is_collected_in_an_unknown_directory() {
        let index = repo((
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"tests/data\"]\n",
        ));
        for args in [&[][..], &strings(&["./tests"])[..]] {
            let plan = pytest_plan(
                &index,
                &mut PytestConfigs::default(),
                paths::UNKNOWN_DIR,
                args,
            );
            assert!(plan.files.is_empty() && plan.dirs.is_empty(), "{args:?}");
            assert_eq!(plan.config, None, "{args:?}");
            for dir in &plan.collect {
                assert_eq!(test_files(&index, dir, &plan.patterns).count(), 0);
            }
        }
    }

    #[test]
    fn no_testpaths_collects_the_working_directory() {
        let index = repo(("setup.cfg", "[metadata]\nname = x\n"));
        let plan = pytest_plan(&index, &mut PytestConfigs::default(), "ml", &[]);
        assert_eq!(plan.collect, ["ml"]);
        let found: Vec<&str> = test_files(&index, "ml", &plan.patterns).collect();
        assert_eq!(found, ["ml/tests/test_ml.py"]);
        let all: Vec<&str> = test_files(&index, "", &plan.patterns).collect();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn unittest_discovery_and_modules() {
        let index = repo(("README.md", ""));
        let plan = unittest_plan(
            &index,
            "",
            &strings(&["discover", "-s", "tests/unit", "-p", "test_*.py"]),
        );
        assert_eq!(
            (plan.collect.as_slice(), plan.patterns.as_slice()),
            (
                &["tests/unit".to_string()][..],
                &["test_*.py".to_string()][..]
            )
        );
        assert_eq!(unittest_plan(&index, "", &[]).collect, [""]);
        let plan = unittest_plan(
            &index,
            "",
            &strings(&["tests.unit.test_model.TestModel.test_fit", "-v"]),
        );
        assert_eq!(plan.files, ["tests/unit/test_model.py"]);
    }
}
