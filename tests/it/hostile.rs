//! A hostile repository cannot panic or stall mlscore, and honest data gets
//! right answers (issue 15, items 4–7 and 9–11): long lines in errors, deep
//! nesting, runaway templates, one-line data files, FIFOs and folders where
//! files belong, byte order marks, invalid base configs, inferred bounds, and
//! metric files where users keep them.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use tempfile::TempDir;

use crate::common::{commit_all, git, json_report, mlscore, repo_with, write};

/// Longest stderr an error may print: the offending line is cut around the
/// span, so its length does not depend on the file's.
const STDERR_BOUND: usize = 4000;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------
// 4: diagnostics on long lines

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any line length, past miette's 65,535 columns included: exit 2 with the
    /// file, line and column named, and stderr short.
    #[test]
    fn config_errors_on_long_lines_are_cut(pad in prop_oneof![0usize..200, 60_000usize..200_000]) {
        let repo = repo_with(&[("README.md", "# x\n")]);
        write(repo.path(), "mlscore.yaml", &format!("version: 1\ngate: {{min_score: {}high}}\n", " ".repeat(pad)));
        let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
        let stderr = stderr_of(&out);
        prop_assert_eq!(out.status.code(), Some(2), "{}", &stderr[..stderr.len().min(2000)]);
        prop_assert!(stderr.contains(&format!("mlscore.yaml:2:{}", pad + 19)), "{}", &stderr[..stderr.len().min(2000)]);
        prop_assert!(stderr.len() < STDERR_BOUND, "stderr is {} bytes", stderr.len());
    }
}

#[test]
fn schema_and_check_file_errors_on_long_lines_are_cut() {
    let dir = TempDir::new().unwrap();
    let pad = " ".repeat(100_000);
    write(dir.path(), "d.csv", "a\n1\n");
    write(
        dir.path(),
        "s.yaml",
        &format!("columns:\n  a: {{type: int, {pad}maxx: 3}}\n"),
    );
    let out = mlscore()
        .args(["data", "validate", "--schema"])
        .arg(dir.path().join("s.yaml"))
        .arg(dir.path().join("d.csv"))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.contains("s.yaml:2:"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.len() < STDERR_BOUND,
        "stderr is {} bytes",
        stderr.len()
    );

    let check = format!("id: team-x\nsection: custom\ntitle: {pad}[\n");
    let repo = repo_with(&[(".mlscore/checks/x.yaml", &check)]);
    let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.contains("x.yaml"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        stderr.len() < STDERR_BOUND,
        "stderr is {} bytes",
        stderr.len()
    );
}

// ---------------------------------------------------------------------------
// 5: superlinear parsers

#[test]
fn deeply_nested_yaml_is_refused_quickly_with_the_file_named() {
    let n = 80_000;
    let repo = repo_with(&[("README.md", "# x\n")]);
    write(
        repo.path(),
        "mlscore.yaml",
        &format!("a: {}{}\n", "[".repeat(n), "]".repeat(n)),
    );
    let out = mlscore()
        .arg("check")
        .arg(repo.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mlscore.yaml"), "{stderr}");
    assert!(stderr.contains("nested more than 128 levels"), "{stderr}");
    assert!(
        stderr.len() < STDERR_BOUND,
        "stderr is {} bytes",
        stderr.len()
    );

    // A workflow nested as deep is a warning naming it; the scan goes on.
    let repo = repo_with(&[(
        ".github/workflows/ci.yml",
        &format!("on: push\njobs: {}{}\n", "[".repeat(n), "]".repeat(n)),
    )]);
    let report = json_report(repo.path());
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("ci.yml"), "{warnings}");
    assert!(
        warnings.contains("nested more than 128 levels"),
        "{warnings}"
    );
}

#[test]
fn hostile_ci_files_finish_and_still_read_right() {
    // 3,600 jobs: every job found, the last one on its own line.
    let jobs: String = (0..3600)
        .map(|i| format!("  j{i}:\n    steps:\n      - run: pytest tests/t{i}.py\n"))
        .collect();
    let workflow = format!("on: push\njobs:\n{jobs}");
    // A Jenkinsfile of nested `sh(script: ` calls, and a Makefile chain in
    // which every target calls `$(MAKE)` on the next.
    let n = 20_000;
    let jenkins = format!("{}'x'{}", "sh(script: ".repeat(n), ")".repeat(n));
    let make: String = (0..2000)
        .map(|i| format!("t{i}: t{} t{}\n\t$(MAKE) t{}\n", i + 1, i + 2, i + 1))
        .collect();
    let repo = repo_with(&[
        (".github/workflows/ci.yml", &workflow),
        (
            ".github/workflows/make.yml",
            "on: push\njobs:\n  m:\n    steps:\n      - run: make t0\n",
        ),
        ("Jenkinsfile", &jenkins),
        ("Makefile", &make),
    ]);
    let out = mlscore()
        .args(["check", "--format", "json"])
        .arg(repo.path())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let jobs = report["ci"]["jobs"].as_array().unwrap();
    let last = jobs
        .iter()
        .find(|j| j["name"].as_str().unwrap_or("").ends_with("› j3599"))
        .expect("the last job is listed");
    assert_eq!(last["line"], 3 + 3 * 3599, "{last}");
}

// ---------------------------------------------------------------------------
// 6: templates

#[test]
fn a_runaway_template_is_stopped_with_a_clear_error() {
    let repo = repo_with(&[(
        ".mlscore/templates/comment.md.j2",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    )]);
    let out = mlscore()
        .args(["check", "--format", "markdown"])
        .arg(repo.path())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(".mlscore/templates/comment.md.j2"),
        "{stderr}"
    );
    assert!(stderr.contains("was stopped"), "{stderr}");
}

// ---------------------------------------------------------------------------
// 7: one long line

#[test]
fn a_line_longer_than_the_cap_is_an_error_naming_file_and_line() {
    let dir = TempDir::new().unwrap();
    let long = "x".repeat(9 << 20);
    write(dir.path(), "one_line.csv", &long);
    write(
        dir.path(),
        "middle.csv",
        &format!("a,b\n1,2\n3,{long}\n5,6\n"),
    );
    for (file, line) in [("one_line.csv", 1), ("middle.csv", 3)] {
        let out = mlscore()
            .args(["data", "infer"])
            .arg(dir.path().join(file))
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(file), "{stderr}");
        assert!(
            stderr.contains(&format!("line {line} is longer than 8 MiB")),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------
// 9: FIFOs, folders, byte order marks, base configs, unreadable metrics, wide integers

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "d.csv", "a\n1\n");
    mkfifo(&dir.path().join("schema.yaml"));
    let out = mlscore()
        .args(["data", "validate", "--schema"])
        .arg(dir.path().join("schema.yaml"))
        .arg(dir.path().join("d.csv"))
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a regular file (a named pipe)"),
        "{stderr}"
    );

    let repo = repo_with(&[("README.md", "# x\n")]);
    mkfifo(&repo.path().join("pipe.yaml"));
    let out = mlscore()
        .arg("check")
        .arg(repo.path())
        .arg("--config")
        .arg(repo.path().join("pipe.yaml"))
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a regular file (a named pipe)"),
        "{stderr}"
    );
}

#[test]
fn a_fifo_or_folder_named_mlscore_yaml_is_an_error_not_no_config() {
    let repo = repo_with(&[("README.md", "# x\n")]);
    mkfifo(&repo.path().join("mlscore.yaml"));
    let out = mlscore()
        .arg("check")
        .arg(repo.path())
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mlscore.yaml"), "{stderr}");
    assert!(stderr.contains("a named pipe"), "{stderr}");

    let repo = repo_with(&[("mlscore.yaml/x", "y\n")]);
    let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a folder"), "{stderr}");
}

#[test]
fn a_byte_order_mark_is_accepted_everywhere() {
    let bom = "\u{feff}";
    let repo = repo_with(&[
        (
            "mlscore.yaml",
            &format!("{bom}version: 1\ngate: {{min_score: 7}}\n"),
        ),
        ("metrics.json", &format!("{bom}{{\"auc\": 0.9}}")),
        (
            ".github/workflows/ci.yml",
            &format!("{bom}on: push\njobs:\n  test:\n    steps:\n      - run: pytest\n"),
        ),
    ]);
    let out = mlscore()
        .args(["check", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    // The gate of 7 is read, so it fails: exit 1, not a config error.
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["ci"]["jobs"].as_array().unwrap().len(),
        1,
        "{}",
        report["warnings"]
    );
    assert_eq!(
        report["metrics"][0]["name"], "auc",
        "{}",
        report["warnings"]
    );

    let dir = TempDir::new().unwrap();
    write(dir.path(), "d.csv", "a\n1\n");
    write(
        dir.path(),
        "s.yaml",
        &format!("{bom}columns:\n  a: {{type: int}}\n"),
    );
    mlscore()
        .args(["data", "validate", "--schema"])
        .arg(dir.path().join("s.yaml"))
        .arg(dir.path().join("d.csv"))
        .assert()
        .code(0);
}

#[test]
fn an_invalid_config_at_the_base_is_reported() {
    let repo = repo_with(&[("mlscore.yaml", "version: 1\ngate: {min_scor: 1}\n")]);
    write(repo.path(), "mlscore.yaml", "version: 1\n");
    commit_all(repo.path(), "fix config");
    let out = mlscore()
        .args(["check", "--base", "HEAD~1", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warning = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "mlscore.yaml")
        .unwrap_or_else(|| panic!("no warning: {}", report["warnings"]));
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("invalid at HEAD~1"), "{message}");
    assert!(message.contains("min_scor"), "{message}");
}

#[test]
fn an_unreadable_metrics_file_names_the_file_and_the_reason() {
    let repo = repo_with(&[("eval/metrics.json", "{\"auc\": \u{0}}")]);
    let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("eval/metrics.json"), "{stderr}");
    assert!(stderr.contains("binary"), "{stderr}");
}

#[test]
fn a_23_digit_integer_gets_a_wider_type() {
    let dir = TempDir::new().unwrap();
    // Inside the rows polars samples to type the columns, and far past them;
    // `ns` holds 19-digit integers that fit an i64 and stays an integer.
    for (name, rows, at) in [("near.csv", 200, 100), ("far.csv", 30_000, 25_000)] {
        let mut csv = String::from("id,n,ns\n");
        for i in 0..rows {
            let n = if i == at {
                "12345678901234567890123".to_string()
            } else {
                i.to_string()
            };
            csv.push_str(&format!(
                "{i},{n},{}\n",
                1_700_000_000_000_000_000u64 + i as u64
            ));
        }
        write(dir.path(), name, &csv);
        let out = mlscore()
            .args(["data", "infer"])
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr_of(&out));
        assert!(stdout.contains("  n: {type: float"), "{name}: {stdout}");
        assert!(stdout.contains("  ns: {type: int"), "{name}: {stdout}");
    }
}

// ---------------------------------------------------------------------------
// 10: inferred bounds let fresh samples of the same distribution pass

/// A normal draw (Box–Muller) from a seeded generator.
fn normal(rng: &mut impl Rng, mean: f64, sd: f64) -> f64 {
    let u = |rng: &mut dyn Rng| ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (a, b) = (u(rng), u(rng));
    mean + sd * (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
}

#[test]
fn an_inferred_schema_passes_fresh_data_from_the_same_distribution() {
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[15; 32]);
    let dir = TempDir::new().unwrap();
    let sample = |rng: &mut TestRng| {
        let mut csv = String::from("income\n");
        for _ in 0..20_000 {
            csv.push_str(&format!("{:.2}\n", normal(rng, 50_000.0, 8_000.0)));
        }
        csv
    };
    write(dir.path(), "train.csv", &sample(&mut rng));
    let schema = dir.path().join("schema.yaml");
    mlscore()
        .args(["data", "infer"])
        .arg(dir.path().join("train.csv"))
        .arg("-o")
        .arg(&schema)
        .assert()
        .code(0);
    for i in 0..3 {
        let fresh = format!("fresh{i}.csv");
        write(dir.path(), &fresh, &sample(&mut rng));
        let out = mlscore()
            .args(["data", "validate", "--schema"])
            .arg(&schema)
            .arg(dir.path().join(&fresh))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(&schema).unwrap()
        );
    }
}

// ---------------------------------------------------------------------------
// 11: metric files where users keep them

#[test]
fn metric_files_are_discovered_where_users_commit_them() {
    let repo = repo_with(&[
        ("metrics/eval.json", "{\"auc\": 0.90}"),
        ("dvclive/metrics.json", "{\"loss\": 0.30}"),
        ("results/summary.yaml", "f1: 0.7\n"),
        ("reports/notes.json", "{\"author\": \"x\"}"),
        ("eval/config.toml", "name = \"run\"\n"),
    ]);
    write(repo.path(), "metrics/eval.json", "{\"auc\": 0.92}");
    commit_all(repo.path(), "better");
    let out = mlscore()
        .args(["diff", "--base", "HEAD~1"])
        .arg(repo.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout.contains("metrics/eval.json:auc"), "{stdout}");
    assert!(stdout.contains("dvclive/metrics.json:loss"), "{stdout}");
    assert!(stdout.contains("results/summary.yaml:f1"), "{stdout}");
    assert!(
        stdout.contains("read: dvclive/metrics.json, metrics/eval.json, results/summary.yaml"),
        "{stdout}"
    );
    assert!(!stdout.contains("notes.json"), "{stdout}");
    assert!(!stdout.contains("config.toml"), "{stdout}");
    let _ = git(repo.path(), &["status"]);
}
