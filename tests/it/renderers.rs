//! The Markdown, SARIF and JUnit reports, written by the real binary for real
//! git repositories: what a reviewer sees is snapshotted, what a machine reads
//! is validated against its published schema, and repository text that tries
//! to inject Markdown, HTML or mentions comes out inert.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{commit_all, crate_dir, git, mlscore, write};
use tempfile::TempDir;

const WORKFLOW: &str = "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest tests/data\n";

const CONFIG: &str = "version: 1\nmetrics:\n  files: [metrics.json]\n  policies:\n    eval.auc: {direction: higher, min: 0.8, max_regression: 0.01}\n    latency_p99_ms: {direction: lower, max_regression_pct: 10}\n";

/// The reports of one run, read back from their files.
struct Outputs {
    _dir: TempDir,
    comment: String,
    summary: String,
    sarif: String,
    junit: PathBuf,
    github: String,
    code: i32,
}

/// Runs `mlscore check` on `repo` (plus `args`), writing every report format
/// to a folder outside the repository.
fn check(repo: &Path, args: &[&str]) -> Outputs {
    let dir = TempDir::new().unwrap();
    let file = |name: &str| dir.path().join(name);
    let mut cmd = mlscore();
    cmd.arg("check").arg(repo).args(args);
    for (format, name) in [
        ("markdown", "comment.md"),
        ("summary", "summary.md"),
        ("sarif", "mlscore.sarif"),
        ("junit", "report.xml"),
        ("github", "github.txt"),
    ] {
        cmd.arg("-o")
            .arg(format!("{format}={}", file(name).display()));
    }
    let out = cmd.output().expect("mlscore runs");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "mlscore failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| {
        std::fs::read_to_string(file(name)).unwrap_or_else(|e| panic!("{name} not written: {e}"))
    };
    Outputs {
        comment: read("comment.md"),
        summary: read("summary.md"),
        sarif: read("mlscore.sarif"),
        github: read("github.txt"),
        junit: file("report.xml"),
        _dir: dir,
        code,
    }
}

/// Snapshot filters: commit ids, temp dirs and mlscore's version change
/// between runs; the report's content does not.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b[0-9a-f]{40}\b", "[SHA]"),
        (r"\b[0-9a-f]{12}\b", "[SHORT-SHA]"),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
        (r"mlscore \d+\.\d+\.\d+\S*", "mlscore [VERSION]"),
    ]
}

/// The official schema's BCP-47 pattern for `language` has a stray `]`; with
/// format checks on, the schema itself fails the `regex` format. mlscore never
/// writes `language`, so the test drops that one keyword, as other SARIF
/// producers' tests do, and keeps the committed schema as published.
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn drop_broken_pattern(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("pattern").and_then(|p| p.as_str()) == Some(BROKEN_LANGUAGE_PATTERN) {
                map.remove("pattern");
            }
            map.values_mut().for_each(drop_broken_pattern);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_broken_pattern),
        _ => {}
    }
}

/// Validates a SARIF log against the committed SARIF 2.1.0 schema, formats included.
fn assert_valid_sarif(text: &str) {
    let schema_text =
        std::fs::read_to_string(crate_dir().join("tests/schemas/sarif-2.1.0.json")).unwrap();
    let mut schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    drop_broken_pattern(&mut schema);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let log: serde_json::Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not match the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

/// Validates a JUnit file with xmllint against the committed Jenkins schema.
fn assert_valid_junit(path: &Path) {
    let xsd = crate_dir().join("tests/schemas/junit.xsd");
    let out = match Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(path).output() {
        Ok(out) => out,
        Err(e) => panic!("xmllint is needed to validate JUnit XML ({e}); install it with `apt-get install -y libxml2-utils`"),
    };
    assert!(
        out.status.success(),
        "JUnit XML does not match tests/schemas/junit.xsd:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// The cells of a Markdown table row, split on unescaped pipes.
fn cells(row: &str) -> usize {
    let mut count: usize = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count.saturating_sub(1)
}

/// Asserts every table keeps its header's column count.
fn assert_tables_intact(markdown: &str) {
    let mut columns = None;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let n = cells(line);
        match columns {
            None => columns = Some(n),
            Some(expected) => assert_eq!(
                n, expected,
                "table row has {n} cells, header {expected}: {line}"
            ),
        }
    }
}

/// A repository whose metrics regress between two commits: the base commit,
/// then the head. Returns the repository and the base commit's id.
fn regressing_repo() -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".github/workflows/ci.yml", WORKFLOW);
    write(
        root,
        "tests/data/test_schema.py",
        "import pandera as pa\n\nschema = pa.DataFrameSchema({})\n",
    );
    write(root, "mlscore.yaml", CONFIG);
    write(
        root,
        "metrics.json",
        "{\"eval\": {\"auc\": 0.91}, \"latency_p99_ms\": 120}\n",
    );
    commit_all(root, "base");
    let base = git(root, &["rev-parse", "HEAD"]).trim().to_string();
    write(
        root,
        "metrics.json",
        "{\"eval\": {\"auc\": 0.85}, \"latency_p99_ms\": 150}\n",
    );
    commit_all(root, "head");
    (dir, base)
}

#[test]
fn a_regression_is_reported_in_every_format() {
    let (repo, base) = regressing_repo();
    let out = check(repo.path(), &["--base", &base]);
    assert_eq!(out.code, 1, "failing metric policies fail the gate");

    assert_eq!(out.comment.lines().next(), Some("<!-- mlscore:report -->"));
    assert!(
        out.comment
            .contains("| eval.auc | 0.91 | 0.85 | -0.06 | -6.59% | ❌"),
        "{}",
        out.comment
    );
    assert!(
        out.comment
            .contains("| latency\\_p99\\_ms | 120 | 150 | +30 | +25% | ❌"),
        "{}",
        out.comment
    );
    assert!(out.comment.contains("Gate: ❌ failed"));
    assert_tables_intact(&out.comment);
    assert_tables_intact(&out.summary);
    assert_eq!(
        out.comment.matches("<details>").count(),
        out.comment.matches("</details>").count()
    );

    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("regression_comment", out.comment);
        insta::assert_snapshot!("regression_summary", out.summary);
    });

    assert_valid_sarif(&out.sarif);
    let log: serde_json::Value = serde_json::from_str(&out.sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let regressions: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "regression")
        .collect();
    assert_eq!(regressions.len(), 2, "one per failing metric");
    assert_eq!(regressions[0]["level"], "error");
    assert_eq!(
        regressions[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "metrics.json"
    );
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "gate" && r["level"] == "error"));

    assert_valid_junit(&out.junit);
    let xml = std::fs::read_to_string(&out.junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"mlscore metrics\" tests=\"2\" failures=\"2\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"mlscore.data\" name=\"data-1 "));

    assert!(
        out.github
            .contains("::error file=metrics.json,title=mlscore regression::"),
        "{}",
        out.github
    );
}

#[test]
fn without_a_base_the_reports_have_no_deltas() {
    let (repo, _) = regressing_repo();
    let out = check(repo.path(), &[]);
    assert!(!out.comment.contains("vs base"));
    assert!(
        out.comment.contains("| eval.auc | — | 0.85 | added |"),
        "{}",
        out.comment
    );
    assert_valid_sarif(&out.sarif);
    assert_valid_junit(&out.junit);
}

#[test]
fn repository_text_cannot_inject_markup_or_mentions() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".github/workflows/ci.yml", "name: ci\non: push\njobs:\n  \"<b>@everyone</b>\":\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests\n");
    write(root, "tests/data/test_a|b`c`.py", "import pandera as pa\n");
    write(root, "mlscore.yaml", "version: 1\nmetrics:\n  files: [metrics.json, \"odd|`metrics`.json\"]\n  policies:\n    \"@everyone\": {min: 1}\n");
    write(
        root,
        "metrics.json",
        "{\"<img src=x onerror=alert(1)>\": 0.5, \"@everyone\": 0.25, \"x|y\": \"a|b\\nc\"}\n",
    );
    write(
        root,
        "odd|`metrics`.json",
        "{\"[link](https://evil.example)\": 1, \"*bold* _it_ ~~s~~\": 2}\n",
    );
    commit_all(root, "fixture");
    let out = check(root, &[]);

    for (name, text) in [("comment", &out.comment), ("summary", &out.summary)] {
        assert!(!text.contains("<img"), "{name} holds a raw <img");
        assert!(!text.contains("<b>"), "{name} holds a raw <b>");
        assert!(!text.contains("@everyone"), "{name} pings @everyone");
        assert!(
            text.contains("@\u{200d}everyone"),
            "{name} lost the metric named @everyone"
        );
        assert!(
            text.contains("\\[link\\](https://evil.example)"),
            "{name} holds a link from the repository"
        );
        assert_tables_intact(text);
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }
    assert!(
        out.summary.contains("tests/data/test\\_a\\|b\\`c\\`.py"),
        "{}",
        out.summary
    );
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("injection_comment", out.comment);
    });
    assert_valid_sarif(&out.sarif);
    assert_valid_junit(&out.junit);
}

#[test]
fn an_oversized_comment_is_truncated_not_rejected() {
    let metrics: Vec<String> = (0..5000)
        .map(|i| format!("\"metric_{i:05}_with_a_long_descriptive_name\": {}.5", i))
        .collect();
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "metrics.json",
        &format!("{{{}}}\n", metrics.join(", ")),
    );
    write(
        dir.path(),
        "mlscore.yaml",
        "version: 1\nmetrics:\n  files: [metrics.json]\n",
    );
    commit_all(dir.path(), "fixture");
    let out = check(dir.path(), &[]);

    let size = out.comment.chars().count();
    assert!(size <= 65_536, "comment is {size} characters");
    assert!(out.comment.starts_with("<!-- mlscore:report -->\n"));
    assert!(
        out.comment
            .trim_end()
            .ends_with("the full report is in the job's artifacts (--format json)"),
        "{}",
        &out.comment[out.comment.len() - 500..]
    );
    assert!(out.comment.contains("Report truncated: "));
    assert!(out.comment.contains("more rows"));
    assert_eq!(
        out.comment.matches("<details>").count(),
        out.comment.matches("</details>").count()
    );
    assert_tables_intact(&out.comment);
    // The summary's limit is 1 MiB: all 5,000 rows fit.
    assert!(out.summary.len() <= 1024 * 1024);
    assert!(out.summary.contains("metric\\_04999"));
    assert!(!out.summary.contains("Report truncated"));
}

#[test]
fn a_broken_repository_template_names_its_file_and_line() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "README.md", "# x\n");
    write(
        dir.path(),
        ".mlscore/templates/comment.md.j2",
        "Score {{ report.score.final|points }}\n{{ report.score.final|nosuchfilter }}\n",
    );
    commit_all(dir.path(), "fixture");
    let out = mlscore()
        .args(["check", "--format", "markdown"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".mlscore/templates/comment.md.j2"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");
}
