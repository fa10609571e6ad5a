//! Metric diffs and the merge gate, on real git repositories with metrics at
//! two commits.

use crate::common;

use std::path::Path;

use common::{commit_all, git, mlscore, write};
use predicates::prelude::*;
use tempfile::TempDir;

const POLICIES: &str = "metrics:\n  policies:\n    eval.auc: {direction: higher, min: 0.8, max_regression: 0.02}\n    latency_p99_ms: {direction: lower, max_regression_pct: 10}\n    eval.loss: {direction: lower, noise: 0.001}\n";

/// A repository whose first commit (returned sha) has the base metrics and
/// whose working tree has the head metrics.
fn two_commits(base: &str, head: &str, config: &str) -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "mlscore.yaml", config);
    write(dir.path(), "metrics.json", base);
    commit_all(dir.path(), "base");
    let sha = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string();
    write(dir.path(), "metrics.json", head);
    (dir, sha)
}

fn diff_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = mlscore()
        .arg("diff")
        .arg(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (code, json)
}

fn row<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {}", report["metrics"]))
}

#[test]
fn classifies_every_metric_and_keeps_raw_values() {
    let (dir, sha) = two_commits(
        r#"{"eval": {"auc": 0.91, "loss": 0.3}, "latency_p99_ms": 120, "old": 1}"#,
        r#"{"eval": {"auc": 0.910000000000001, "loss": 0.3004}, "latency_p99_ms": 125, "new": 2}"#,
        POLICIES,
    );
    let (code, report) = diff_json(dir.path(), &["--base", &sha]);
    assert_eq!(code, 0, "{}", report["verdict"]);
    assert_eq!(row(&report, "eval.auc")["change"], "changed");
    assert_eq!(row(&report, "eval.auc")["head"], 0.910000000000001);
    assert_eq!(
        row(&report, "eval.loss")["change"],
        "unchanged",
        "within the noise floor"
    );
    assert_eq!(row(&report, "latency_p99_ms")["change"], "changed");
    assert_eq!(row(&report, "latency_p99_ms")["abs_change"], 5.0);
    assert_eq!(row(&report, "old")["change"], "removed");
    assert_eq!(row(&report, "new")["change"], "added");
    assert_eq!(row(&report, "new")["base"], serde_json::Value::Null);
    assert_eq!(report["base"]["commit"], sha.as_str());
}

#[test]
fn a_regression_beyond_policy_fails_the_gate_with_exit_1() {
    let (dir, sha) = two_commits(
        r#"{"eval": {"auc": 0.91}, "latency_p99_ms": 120}"#,
        r#"{"eval": {"auc": 0.86}, "latency_p99_ms": 150}"#,
        POLICIES,
    );
    let (code, report) = diff_json(dir.path(), &["--base", &sha]);
    assert_eq!(code, 1);
    let auc = row(&report, "eval.auc");
    assert_eq!(auc["regressed"], true);
    let failed: Vec<&str> = auc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["max_regression"]);
    let latency = row(&report, "latency_p99_ms");
    assert_eq!(latency["checks"][0]["rule"], "max_regression_pct");
    assert!((latency["checks"][0]["observed"].as_f64().unwrap() - 25.0).abs() < 1e-9);
    let verdict = &report["verdict"];
    assert_eq!(verdict["passed"], false);
    let names: Vec<&str> = verdict["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "metric:metrics.json:eval.auc",
            "metric:metrics.json:latency_p99_ms"
        ]
    );
    // Advisory mode reports the same verdict and exits 0.
    let (code, report) = diff_json(dir.path(), &["--base", &sha, "--advisory"]);
    assert_eq!(
        (code, &report["verdict"]["passed"]),
        (0, &serde_json::Value::Bool(false))
    );
}

#[test]
fn improvements_pass_and_human_output_shows_the_table() {
    let (dir, sha) = two_commits(
        r#"{"eval": {"auc": 0.85}, "latency_p99_ms": 150}"#,
        r#"{"eval": {"auc": 0.9}, "latency_p99_ms": 100}"#,
        POLICIES,
    );
    mlscore()
        .arg("diff")
        .arg(dir.path())
        .args(["--base", &sha])
        .assert()
        .success()
        .stdout(predicate::str::contains("metrics.json:eval.auc"))
        .stdout(predicate::str::contains("+0.05"))
        .stdout(predicate::str::contains("Gate: passed"));
}

#[test]
fn nan_text_and_removed_metrics_fail_their_policies() {
    let config = "metrics:\n  policies:\n    eval.auc: {direction: higher, min: 0.8}\n    f1: {min: 0.5}\n    recall: {min: 0.5, required: true}\n";
    let (dir, sha) = two_commits(
        r#"{"eval": {"auc": 0.9}, "f1": 0.7, "recall": 0.6}"#,
        r#"{"eval": {"auc": NaN}, "f1": "n/a"}"#,
        config,
    );
    let (code, report) = diff_json(dir.path(), &["--base", &sha]);
    assert_eq!(code, 1);
    assert_eq!(row(&report, "eval.auc")["head"], "NaN");
    assert_eq!(row(&report, "eval.auc")["checks"][0]["rule"], "finite");
    assert_eq!(row(&report, "f1")["checks"][0]["rule"], "numeric");
    assert_eq!(row(&report, "recall")["change"], "removed");
    assert_eq!(row(&report, "recall")["checks"][0]["rule"], "present");
}

#[test]
fn head_revision_and_other_formats_are_read_from_git() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "reports/scores.yaml", "eval:\n  acc: 0.7\n");
    write(
        dir.path(),
        "mlscore.yaml",
        "metrics:\n  files: [reports/scores.yaml, reports/slices.csv]\n",
    );
    write(
        dir.path(),
        "reports/slices.csv",
        "epoch,acc\n1,0.5\n2,0.6\n",
    );
    commit_all(dir.path(), "one");
    write(dir.path(), "reports/scores.yaml", "eval:\n  acc: 0.8\n");
    write(
        dir.path(),
        "reports/slices.csv",
        "epoch,acc\n1,0.5\n2,0.6\n3,0.75\n",
    );
    commit_all(dir.path(), "two");
    write(dir.path(), "reports/scores.yaml", "eval:\n  acc: 0.1\n");
    let (code, report) = diff_json(dir.path(), &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(code, 0);
    let acc = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == "reports/scores.yaml")
        .unwrap();
    assert_eq!(
        (acc["base"].as_f64(), acc["head"].as_f64()),
        (Some(0.7), Some(0.8)),
        "head is the commit, not the work tree"
    );
    let csv = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == "reports/slices.csv" && r["name"] == "acc")
        .unwrap();
    assert_eq!(
        (csv["base"].as_f64(), csv["head"].as_f64()),
        (Some(0.6), Some(0.75))
    );
}

#[test]
fn unknown_base_revision_says_how_to_fetch_it() {
    let (dir, _) = two_commits("{}", "{}", "");
    mlscore()
        .arg("diff")
        .arg(dir.path())
        .args(["--base", "deadbeefdeadbeef"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`deadbeefdeadbeef` is not a commit",
        ))
        .stderr(predicate::str::contains(
            "git fetch --no-tags --depth=1 origin deadbeefdeadbeef",
        ));
}

#[test]
fn shallow_clone_without_the_base_gets_the_exact_fetch_command() {
    let (origin, base_sha) = two_commits(r#"{"a": 1}"#, r#"{"a": 2}"#, "");
    commit_all(origin.path(), "head");
    let clone = TempDir::new().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(clone.path(), &["clone", "-q", "--depth=1", &url, "repo"]);
    let repo = clone.path().join("repo");
    mlscore()
        .arg("diff")
        .arg(&repo)
        .args(["--base", &base_sha])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not in this shallow clone"))
        .stderr(predicate::str::contains(format!(
            "git fetch --no-tags --depth=1 origin {base_sha}"
        )))
        .stderr(predicate::str::contains("fetch-depth: 0"));
    // After the fetch it says to run, the diff works.
    git(
        &repo,
        &["fetch", "-q", "--no-tags", "--depth=1", "origin", &base_sha],
    );
    mlscore()
        .arg("diff")
        .arg(&repo)
        .args(["--base", &base_sha])
        .assert()
        .success();
}

#[test]
fn outside_a_git_repository_is_an_input_error() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "metrics.json", "{}");
    mlscore()
        .arg("diff")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not inside a git repository"));
}

#[test]
fn a_broken_metrics_file_at_head_is_an_input_error_naming_the_line() {
    let (dir, sha) = two_commits(r#"{"a": 1}"#, "{\n  \"a\": 1,\n}\n", "");
    mlscore()
        .arg("diff")
        .arg(dir.path())
        .args(["--base", &sha])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("metrics.json:3: invalid JSON"));
}

#[test]
fn check_with_base_shows_score_deltas_and_gates_on_drops() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "tests/test_schema.py", "import pandera\n");
    commit_all(dir.path(), "base");
    let sha = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::remove_file(dir.path().join("tests/test_schema.py")).unwrap();
    let out = mlscore()
        .args([
            "check",
            "--format",
            "json",
            "--no-score-drop",
            "--base",
            &sha,
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "data")
        .unwrap();
    assert_eq!(data["delta"], -0.5);
    assert_eq!(report["base"]["score"], 0.0);
    assert_eq!(out.status.code(), Some(1), "the data section dropped");
    let failed: Vec<&str> = report["verdict"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["no_score_drop.data"]);
}

#[test]
fn gate_min_score_and_sections_from_config_and_flags() {
    let dir = common::repo_with(&[("mlscore.yaml", "gate:\n  min_section:\n    data: 1\n")]);
    let out = mlscore()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let condition = &report["verdict"]["conditions"][0];
    assert_eq!(
        (
            condition["name"].as_str(),
            condition["value"].as_str(),
            condition["threshold"].as_str()
        ),
        (Some("min_section.data"), Some("0"), Some("≥ 1"))
    );
    mlscore()
        .args(["check", "--min-score", "0"])
        .arg(dir.path())
        .assert()
        .code(1);
    mlscore()
        .args(["check", "--min-section", "data=0"])
        .arg(dir.path())
        .assert()
        .success();
    mlscore()
        .args(["check", "--min-section", "dta=1"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SECTION=SCORE"));
}

#[test]
fn policy_without_direction_is_a_config_error() {
    let dir = common::repo_with(&[(
        "mlscore.yaml",
        "metrics:\n  policies:\n    auc:\n      max_regression: 0.1\n",
    )]);
    mlscore()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a regression limit needs a direction",
        ))
        .stderr(predicate::str::contains("mlscore.yaml:4"));
}

#[test]
fn metric_policies_run_by_mlscore_in_ci_are_rubric_evidence() {
    let workflow = "on: [pull_request]\njobs:\n  ml:\n    runs-on: ubuntu-latest\n    steps:\n      - run: mlscore check --base origin/main\n";
    let dir = common::repo_with(&[
        (".github/workflows/ml.yml", workflow),
        (
            "mlscore.yaml",
            "metrics:\n  policies:\n    eval.auc: {min: 0.8}\n    latency_p99_ms: {max: 200}\n",
        ),
        (
            "metrics.json",
            r#"{"eval": {"auc": 0.9}, "latency_p99_ms": 100}"#,
        ),
    ]);
    let report = common::json_report(dir.path());
    let status = |id: &str| {
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("infra-4"), "automated");
    assert_eq!(status("monitor-7"), "automated");
    assert_eq!(status("monitor-6"), "automated");
    let evidence = &report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "monitor-6")
        .unwrap()["evidence"][0];
    assert_eq!(
        (evidence["path"].as_str(), evidence["line"].as_u64()),
        (Some("mlscore.yaml"), Some(4))
    );
}
