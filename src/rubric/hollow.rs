//! Hollow tests: test functions that cannot fail (an empty body, only
//! constant assertions, or nothing asserted and nothing called), Great
//! Expectations suites without expectations and deepchecks suites without
//! conditions. They are not evidence of testing: the matcher's hits inside
//! them are dropped and each is reported as a finding. Python is read by
//! logical lines and indentation, never run.

use foldhash::{HashMap, HashSet};
use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;

use super::pylines::{is_import, logical_lines, LogicalLine};
use crate::repo::RepoIndex;
use crate::text::find::contains;

/// Why a test cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hollowness {
    /// Only `pass`, `...` or a docstring.
    EmptyBody,
    /// Every assertion is about constants (`assert True`, `assert 1 == 1`).
    ConstantAssertions,
    /// No assertion of any kind, and no call other than printing or logging.
    AssertsNothing,
    /// A Great Expectations suite with an empty `expectations` list.
    NoExpectations,
    /// A deepchecks suite built without any `add_condition_…`.
    NoConditions,
}

impl Hollowness {
    /// Says what is wrong, after the name of the test.
    pub fn describe(self) -> &'static str {
        match self {
            Hollowness::EmptyBody => "has an empty body",
            Hollowness::ConstantAssertions => "asserts only constants",
            Hollowness::AssertsNothing => "asserts nothing",
            Hollowness::NoExpectations => "has no expectations",
            Hollowness::NoConditions => "has no conditions",
        }
    }
}

/// A hollow test or suite, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HollowTest {
    pub path: String,
    /// 1-based line of the `def` or the suite.
    pub line: usize,
    /// The test function or suite name.
    pub name: String,
    pub why: Hollowness,
}

impl HollowTest {
    /// The finding's message, e.g. "`test_scale` asserts nothing".
    pub fn message(&self) -> String {
        let what = match self.why {
            Hollowness::NoExpectations => "expectation suite",
            Hollowness::NoConditions => "deepchecks suite",
            _ => "test",
        };
        format!(
            "{what} `{}` {}: it cannot fail, so it is not counted as evidence",
            self.name,
            self.why.describe()
        )
    }
}

/// A test function of a Python file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFunction {
    pub name: String,
    /// Line of the `def`.
    pub line: usize,
    /// Last line of its body.
    pub end: usize,
    /// `Some` when the test cannot fail.
    pub hollow: Option<Hollowness>,
}

static DEF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:async\s+)?def\s+(test\w*)\s*\(").expect("valid regex"));
/// Assertions other than a bare `assert` statement.
static ASSERTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\bpytest\.(raises|warns|fail|approx|deprecated_call)\b",
        r"|\bself\.(assert\w*|fail\w*)\s*\(",
        r"|\b(np|numpy|npt|pd|pandas|pdt|torch|tf|xr)\.testing\b",
        r"|\btf\.debugging\.assert",
        r"|\bassert_\w+\s*\(|\.\s*assert_\w+\s*\(",
        r"|\bexpect\w*\s*\(|\.\s*expect_\w+\s*\(",
        r"|\braise\b",
        r"|\b(check_estimator|parametrize_with_checks)\b",
    ))
    .expect("valid regex")
});
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([A-Za-z_][\w.]*)\s*\(").expect("valid regex"));
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z_]\w*").expect("valid regex"));

/// Calls that exercise nothing under test.
const TRIVIAL_CALLS: &[&str] = &[
    "print",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "set",
    "tuple",
    "range",
    "type",
    "isinstance",
    "repr",
    "format",
    "if",
    "elif",
    "while",
    "for",
    "not",
    "and",
    "or",
    "in",
    "return",
    "assert",
    "pytest.skip",
    "yield",
];
const LOGGING_PREFIXES: &[&str] = &["logging.", "logger.", "log.", "LOGGER.", "warnings.warn"];

/// Words allowed in a constant assertion.
const CONSTANT_WORDS: &[&str] = &["True", "False", "None", "and", "or", "not", "is", "in"];

/// Whether `path` is where pytest or unittest would look for tests.
pub fn is_test_path(path: &str) -> bool {
    // Every way below of being a test names "test"; most paths do not.
    if !path.ends_with(".py") || !contains(path, "test") {
        return false;
    }
    let name = crate::text::path::file_name(path);
    name.starts_with("test")
        || name.ends_with("_test.py")
        || name.ends_with("tests.py")
        || path
            .split('/')
            .rev()
            .skip(1)
            .any(|dir| dir == "tests" || dir == "test")
}

/// The test functions (`def test…`, at any indentation) of a Python file.
/// A pytest fixture named `test_…` (`@pytest.fixture def test_specs():`)
/// is not one: pytest never runs it as a test, and it need not assert.
pub fn test_functions(source: &str) -> Vec<TestFunction> {
    let lines = logical_lines(source);
    let mut out = Vec::new();
    for (i, header) in lines.iter().enumerate() {
        let Some(caps) = DEF.captures(header.code()) else {
            continue;
        };
        if is_fixture(&lines[..i], header.indent) {
            continue;
        }
        let name = caps[1].to_string();
        let mut body: Vec<&str> = Vec::new();
        // `def test_x(): pass` keeps its body on the header line.
        let inline = inline_body(header.code());
        if !inline.is_empty() {
            body.push(inline);
        }
        let mut end = header.line;
        let mut j = i + 1;
        while let Some(next) = lines.get(j) {
            if next.indent <= header.indent {
                break;
            }
            body.push(next.code());
            end = next.line;
            j += 1;
        }
        if let Some(next) = lines.get(j) {
            end = end.max(next.line.saturating_sub(1));
        } else {
            end = usize::MAX;
        }
        out.push(TestFunction {
            name,
            line: header.line,
            end,
            hollow: judge(&body),
        });
    }
    out
}

/// Whether the decorators right above a `def` (the last of `before`, at
/// its `indent`) make it a pytest fixture: `@pytest.fixture`,
/// `@pytest.fixture(scope="module")`, `@fixture`.
fn is_fixture(before: &[LogicalLine], indent: usize) -> bool {
    before
        .iter()
        .rev()
        .take_while(|l| l.indent == indent && l.code().starts_with('@'))
        .any(|l| {
            let name = l.code()[1..].split('(').next().unwrap_or("").trim();
            matches!(
                name,
                "pytest.fixture" | "fixture" | "pytest_asyncio.fixture"
            )
        })
}

/// The code after the colon that closes a `def` header, if any.
fn inline_body(code: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return code[i + 1..].trim(),
            _ => {}
        }
    }
    ""
}

fn judge(body: &[&str]) -> Option<Hollowness> {
    let statements: Vec<&str> = body
        .iter()
        .map(|s| s.trim())
        .filter(|s| !matches!(*s, "pass" | "..." | "\"\"" | "f\"\"" | "r\"\""))
        .collect();
    if statements.is_empty() {
        return Some(Hollowness::EmptyBody);
    }
    if statements.iter().any(|s| ASSERTION.is_match(s)) {
        return None;
    }
    let asserts: Vec<&&str> = statements
        .iter()
        .filter(|s| s.starts_with("assert ") || s.starts_with("assert("))
        .collect();
    if !asserts.is_empty() {
        return if asserts.iter().all(|s| is_constant_assert(s)) {
            Some(Hollowness::ConstantAssertions)
        } else {
            None
        };
    }
    // An import can fail (the smoke test of an optional dependency): it is
    // something done, like a call.
    let calls_something = statements.iter().any(|s| {
        is_import(s)
            || CALL.captures_iter(s).any(|c| {
                let name = &c[1];
                !TRIVIAL_CALLS.contains(&name)
                    && !LOGGING_PREFIXES.iter().any(|p| name.starts_with(p))
            })
    });
    (!calls_something).then_some(Hollowness::AssertsNothing)
}

/// `assert 1 == 1`, `assert True, "msg"`: no name in the asserted expression.
fn is_constant_assert(statement: &str) -> bool {
    let expr = statement.trim_start_matches("assert").trim();
    let mut depth = 0usize;
    let mut cut = expr.len();
    for (i, c) in expr.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                cut = i;
                break;
            }
            _ => {}
        }
    }
    IDENT
        .find_iter(&expr[..cut])
        .all(|m| CONSTANT_WORDS.contains(&m.as_str()))
}

/// Every hollow test and suite of a repository, and which evidence they void.
#[derive(Debug, Default)]
pub struct HollowIndex {
    /// The hollow tests and suites, by path then line.
    pub found: Vec<HollowTest>,
    /// Test files: their test functions.
    tests: HashMap<String, Vec<TestFunction>>,
    /// Files that are hollow as a whole (a suite file without expectations).
    void: HashSet<String>,
}

static GX_EMPTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""expectations"\s*:\s*\[\s*\]"#).expect("valid regex"));
static DEEPCHECKS_SUITE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bSuite\s*\(").expect("valid regex"));

impl HollowIndex {
    /// Reads every test file, expectation suite and deepchecks suite.
    pub fn build(index: &RepoIndex) -> HollowIndex {
        let per_file: Vec<(String, Vec<TestFunction>, Vec<HollowTest>, bool)> = index
            .files()
            .par_iter()
            .with_max_len(1024)
            .filter_map(|entry| {
                let path = entry.path.as_str();
                let is_suite = path.ends_with(".json") && contains(path, "expectations/");
                let is_test = is_test_path(path);
                if !is_suite && !path.ends_with(".py") {
                    return None;
                }
                let text = index.source(entry)?;
                if is_suite {
                    let m = GX_EMPTY.find(text)?;
                    let line = text[..m.start()].matches('\n').count() + 1;
                    let name = path
                        .rsplit('/')
                        .next()
                        .unwrap_or(path)
                        .trim_end_matches(".json")
                        .to_string();
                    let hollow = HollowTest {
                        path: path.to_string(),
                        line,
                        name,
                        why: Hollowness::NoExpectations,
                    };
                    return Some((path.to_string(), Vec::new(), vec![hollow], true));
                }
                let mut found = Vec::new();
                let mut void = false;
                if contains(text, "deepchecks") && !contains(text, "add_condition") {
                    if let Some(suite) = logical_lines(text)
                        .iter()
                        .find(|l| DEEPCHECKS_SUITE.is_match(l.code()))
                    {
                        found.push(HollowTest {
                            path: path.to_string(),
                            line: suite.line,
                            name: suite_name(suite),
                            why: Hollowness::NoConditions,
                        });
                        void = true;
                    }
                }
                let tests = if is_test && contains(text, "def test") {
                    test_functions(text)
                } else {
                    Vec::new()
                };
                for test in &tests {
                    if let Some(why) = test.hollow {
                        found.push(HollowTest {
                            path: path.to_string(),
                            line: test.line,
                            name: test.name.clone(),
                            why,
                        });
                    }
                }
                (!tests.is_empty() || !found.is_empty())
                    .then(|| (path.to_string(), tests, found, void))
            })
            .collect();
        let mut hollow = HollowIndex::default();
        for (path, tests, found, void) in per_file {
            hollow.found.extend(found);
            if void {
                hollow.void.insert(path.clone());
            }
            if !tests.is_empty() {
                hollow.tests.insert(path, tests);
            }
        }
        hollow
            .found
            .sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
        hollow
    }

    /// Whether a piece of evidence stands only on hollow tests: a hit inside a
    /// hollow test, anywhere in a test file whose tests are all hollow, or in
    /// a suite that checks nothing.
    pub fn voids(&self, path: &str, line: Option<usize>) -> bool {
        if self.void.contains(path) {
            return true;
        }
        let Some(tests) = self.tests.get(path) else {
            return false;
        };
        let inside = line.and_then(|line| tests.iter().find(|t| t.line <= line && line <= t.end));
        match inside {
            Some(test) => test.hollow.is_some(),
            None => tests.iter().all(|t| t.hollow.is_some()),
        }
    }

    /// The test functions of a test file (empty when it has none).
    pub fn tests_of(&self, path: &str) -> &[TestFunction] {
        self.tests.get(path).map_or(&[], Vec::as_slice)
    }

    /// Whether a test file has at least one test that can fail.
    pub fn has_real_tests(&self, path: &str) -> bool {
        self.tests_of(path).iter().any(|t| t.hollow.is_none())
    }
}

/// `suite = Suite("name", …)` → `name`, else the assigned variable.
fn suite_name(line: &LogicalLine) -> String {
    let quoted = line
        .text
        .split_once("Suite(")
        .map(|(_, rest)| rest.trim_start())
        .and_then(|rest| {
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            rest[1..].split(quote).next().map(str::to_string)
        });
    quoted
        .filter(|q| !q.is_empty())
        .or_else(|| {
            line.code()
                .split_once('=')
                .map(|(lhs, _)| lhs.trim().to_string())
        })
        .unwrap_or_else(|| "Suite".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hollow(source: &str) -> Vec<(String, Option<Hollowness>)> {
        test_functions(source)
            .into_iter()
            .map(|t| (t.name, t.hollow))
            .collect()
    }

    #[test]
    fn empty_and_constant_tests_are_hollow() {
        let src = r#"
import pytest
from churn.features import scale

def test_pass():
    pass

def test_doc():
    """To do."""

def test_ellipsis(): ...

def test_true():
    assert True

def test_one_equals_one():
    assert 1 == 1, "math works"

def test_print():
    print("Hello")
"#;
        assert_eq!(
            hollow(src),
            vec![
                ("test_pass".into(), Some(Hollowness::EmptyBody)),
                ("test_doc".into(), Some(Hollowness::EmptyBody)),
                ("test_ellipsis".into(), Some(Hollowness::EmptyBody)),
                ("test_true".into(), Some(Hollowness::ConstantAssertions)),
                (
                    "test_one_equals_one".into(),
                    Some(Hollowness::ConstantAssertions)
                ),
                ("test_print".into(), Some(Hollowness::AssertsNothing)),
            ]
        );
    }

    #[test]
    fn real_tests_are_not_hollow() {
        let src = r#"
class TestScale(unittest.TestCase):
    def test_equal(self):
        self.assertEqual(scale([2])[0], 1.0)

def test_assert_name():
    assert scale([1]) == [0.0]

def test_raises():
    with pytest.raises(ValueError):
        scale([])

def test_frame():
    pd.testing.assert_frame_equal(build(df), expected)

def test_smoke_run():
    train(tiny_config)

def test_multiline(
    tmp_path,
):
    result = fit(tmp_path)
    assert (
        result.loss < 1.0
    )

def test_optional_backend_imports():
    """Both versions import."""
    import tensorflow as tf
    from tensorflow.compat.v1 import placeholder
"#;
        assert!(
            hollow(src).iter().all(|(_, h)| h.is_none()),
            "{:?}",
            hollow(src)
        );
    }

    /// Fixtures named like tests are not tests, whatever their decorator's
    /// arguments; a decorator that is not a fixture's leaves a test one,
    /// and a fixture decorator further up (on another function) does not
    /// reach it.
    #[test]
    fn fixtures_named_like_tests_are_not_tests() {
        let src = r#"
import pytest

@pytest.fixture(scope="module")
def test_specs():
    return {"rows": 1000}

@pytest.fixture
def test_data(tmp_path):
    return tmp_path

class TestSuite:
    @pytest.fixture(autouse=True)
    def test_setup(self):
        pass

    def test_real(self, test_specs):
        pass

@pytest.fixture
def data():
    return 1

@pytest.mark.gpu
def test_marked():
    pass
"#;
        assert_eq!(
            hollow(src),
            vec![
                ("test_real".into(), Some(Hollowness::EmptyBody)),
                ("test_marked".into(), Some(Hollowness::EmptyBody)),
            ]
        );
    }

    #[test]
    fn bodies_end_where_the_indentation_does() {
        let src =
            "def test_a():\n    pass\n\nx = compute()\nassert x\n\ndef test_b():\n    assert x\n";
        let tests = test_functions(src);
        assert_eq!(tests[0].hollow, Some(Hollowness::EmptyBody));
        assert_eq!((tests[0].line, tests[0].end), (1, 3));
        assert_eq!(tests[1].hollow, None);
    }

    #[test]
    fn test_paths_follow_pytest_and_unittest_names() {
        assert!(is_test_path("tests/test_features.py"));
        assert!(is_test_path("src/model_test.py"));
        assert!(is_test_path("dags/tests/tests.py"));
        assert!(is_test_path("tests/unit/helpers.py"));
        assert!(!is_test_path("src/features.py"));
        assert!(!is_test_path("tests/data.csv"));
    }

    #[test]
    fn voids_evidence_inside_hollow_tests_and_files_of_only_hollow_tests() {
        let index = RepoIndex::from_memory([
            (
                "tests/test_mixed.py",
                "from churn.features import scale\n\ndef test_real():\n    assert scale([1]) == [0]\n\ndef test_fake():\n    assert True\n",
            ),
            (
                "tests/test_hollow.py",
                "from churn.features import scale\n\ndef test_scale():\n    pass\n",
            ),
            (
                "gx/expectations/orders.json",
                "{\n  \"expectation_suite_name\": \"orders\",\n  \"expectations\": []\n}\n",
            ),
        ]);
        let hollow = HollowIndex::build(&index);
        assert!(!hollow.voids("tests/test_mixed.py", Some(1)));
        assert!(!hollow.voids("tests/test_mixed.py", Some(4)));
        assert!(hollow.voids("tests/test_mixed.py", Some(7)));
        assert!(hollow.voids("tests/test_hollow.py", Some(1)));
        assert!(hollow.voids("tests/test_hollow.py", None));
        assert!(hollow.voids("gx/expectations/orders.json", None));
        assert!(!hollow.voids("src/churn/features.py", Some(1)));
        let found: Vec<(&str, usize, Hollowness)> = hollow
            .found
            .iter()
            .map(|h| (h.path.as_str(), h.line, h.why))
            .collect();
        assert_eq!(
            found,
            vec![
                ("gx/expectations/orders.json", 3, Hollowness::NoExpectations),
                ("tests/test_hollow.py", 3, Hollowness::EmptyBody),
                ("tests/test_mixed.py", 6, Hollowness::ConstantAssertions),
            ]
        );
    }

    #[test]
    fn deepchecks_suites_need_conditions() {
        let without = "from deepchecks.tabular import Suite\nsuite = Suite('data checks', FeatureDrift())\nsuite.run(train, test)\n";
        let with = "from deepchecks.tabular import Suite\nsuite = Suite('data checks', FeatureDrift().add_condition_drift_score_less_than(0.2))\n";
        let index =
            RepoIndex::from_memory([("src/validate.py", without), ("src/validate_ok.py", with)]);
        let hollow = HollowIndex::build(&index);
        assert_eq!(hollow.found.len(), 1);
        assert_eq!(hollow.found[0].name, "data checks");
        assert_eq!(hollow.found[0].line, 2);
    }
}
