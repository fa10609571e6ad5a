//! The probes configured in mlscore.yaml, run by `mlscore check` on real git
//! repositories with real data, prediction and metric files: what each finds,
//! how it counts as rubric evidence, and how a failure reaches the gate.

use crate::common;

use std::path::Path;

use common::{commit_all, git, mlscore, repo_with, write};
use serde_json::Value;
use tempfile::TempDir;

/// A workflow that runs mlscore on every pull request, which makes the
/// configured probes automated evidence.
const WORKFLOW: &str = "on: [pull_request]\njobs:\n  score:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: mlscore ci\n";

/// Runs `mlscore check --format json` (plus `args`) and returns the exit code
/// and the report.
fn check(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = mlscore()
        .args(["check", "--format", "json"])
        .args(args)
        .arg(dir)
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), json)
}

/// The outcome of the only probe in a report.
fn probe(report: &Value) -> &Value {
    let probes = report["probes"].as_array().expect("probes array");
    assert_eq!(probes.len(), 1, "{probes:#?}");
    &probes[0]
}

/// A test's points and status.
fn test(report: &Value, id: &str) -> (f64, String) {
    let t = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"));
    (
        t["points"].as_f64().unwrap(),
        t["status"].as_str().unwrap().to_string(),
    )
}

fn details(outcome: &Value) -> String {
    outcome["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A CSV of `rows` rows: an id, an age that grows with the row, a country
/// cycling through three values, and a label.
fn train_csv(rows: usize) -> String {
    let mut csv = String::from("id,age,country,label\n");
    for i in 0..rows {
        let country = ["DE", "FR", "US"][i % 3];
        csv.push_str(&format!("{i},{},{country},{}\n", 18 + i % 60, i % 2));
    }
    csv
}

const SCHEMA: &str = "rows: {min: 10}\ncolumns:\n  id: {type: int, unique: true}\n  age: {type: int, min: 18, max: 90}\n  country: {type: string, allowed: [DE, FR, US]}\n  label: {type: int, allowed: [0, 1]}\n";

#[test]
fn a_passing_schema_probe_run_by_ci_makes_data_1_and_monitor_2_automated() {
    let dir = repo_with(&[
        (".github/workflows/mlscore.yml", WORKFLOW),
        ("data/train.csv", &train_csv(120)),
        ("data/serving_sample.csv", &train_csv(30)),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/train.csv\n      schema: schemas/train.yaml\n    - name: serving inputs\n      data: data/serving_*.csv\n      schema: schemas/train.yaml\n      serving: true\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let probes = report["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0]["status"], "passed");
    assert_eq!(probes[0]["tests"], serde_json::json!(["data-1"]));
    assert_eq!(probes[0]["config_line"], 3);
    assert!(probes[0]["summary"]
        .as_str()
        .unwrap()
        .contains("1 file (120 rows) against schemas/train.yaml: every rule holds"));
    assert_eq!(probes[1]["name"], "serving inputs");
    assert_eq!(
        probes[1]["tests"],
        serde_json::json!(["data-1", "monitor-2"])
    );
    assert_eq!(test(&report, "data-1"), (1.0, "automated".into()));
    assert_eq!(test(&report, "monitor-2"), (1.0, "automated".into()));
    let evidence = &report["tests"].as_array().unwrap()[0]["evidence"][0];
    assert_eq!(evidence["what"], "schema probe run by mlscore (passed)");
    assert_eq!(evidence["path"], "mlscore.yaml");
    assert_eq!(evidence["line"], 3);
}

#[test]
fn a_failing_probe_fails_the_gate_while_its_test_keeps_the_point() {
    let mut csv = train_csv(40);
    csv.push_str("40,130,XX,1\n");
    let dir = repo_with(&[
        (".github/workflows/mlscore.yml", WORKFLOW),
        ("data/train.csv", &csv),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/train.csv\n      schema: schemas/train.yaml\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1, "a failing probe fails the gate");
    let outcome = probe(&report);
    assert_eq!(outcome["status"], "failed");
    let text = details(outcome);
    assert!(
        text.contains("data/train.csv: age max: observed 130, allowed 90 (1 rows)"),
        "{text}"
    );
    assert!(text.contains("country allowed"), "{text}");
    assert_eq!(test(&report, "data-1"), (1.0, "automated".into()));
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "probe");
    assert_eq!(finding["level"], "error");
    assert_eq!(finding["path"], "data/train.csv");
    let condition = report["verdict"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "no_errors")
        .unwrap();
    assert_eq!(condition["passed"], false);
    assert_eq!(condition["value"], "1");

    // The same run in advisory mode reports the failure and exits 0.
    let (code, _) = check(dir.path(), &["--advisory"]);
    assert_eq!(code, 0);
}

#[test]
fn without_ci_running_mlscore_a_probe_is_manual_evidence() {
    let dir = repo_with(&[
        ("data/train.csv", &train_csv(20)),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/train.csv\n      schema: schemas/train.yaml\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(test(&report, "data-1"), (0.5, "manual".into()));
    let steps = report["next_steps"].to_string();
    assert!(
        !steps.contains("run `mlscore.yaml`"),
        "a next step never asks to run a config file: {steps}"
    );
}

#[test]
fn a_probe_that_cannot_run_is_an_input_error_and_no_evidence() {
    let dir = repo_with(&[
        ("data/train.csv", &train_csv(20)),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/missing.csv\n      schema: schemas/train.yaml\n  features:\n    - data: data/train.csv\n      target: lable\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let probes = report["probes"].as_array().unwrap();
    assert_eq!(probes[0]["status"], "error");
    assert_eq!(probes[0]["summary"], "`data/missing.csv` does not exist");
    assert!(details(&probes[0]).contains("dvc pull"));
    assert_eq!(probes[1]["status"], "error");
    assert_eq!(
        probes[1]["summary"],
        "data/train.csv has no column `lable` (the target)"
    );
    assert!(details(&probes[1]).contains("id, age, country, label"));
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["input", "input"]);
    assert_eq!(test(&report, "data-1").0, 0.0);
}

#[test]
fn no_probes_skips_running_them_but_keeps_them_as_configured_evidence() {
    let dir = repo_with(&[
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/not-pulled-yet.csv\n      schema: schemas/train.yaml\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &["--no-probes"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["probes"], serde_json::json!([]));
    assert_eq!(test(&report, "data-1"), (0.5, "manual".into()));
    let evidence = &report["tests"].as_array().unwrap()[0]["evidence"][0];
    assert_eq!(evidence["what"], "schema probe configured for mlscore");
}

#[test]
fn features_probe_flags_constant_deny_listed_and_personal_columns() {
    let mut csv = String::from("age,income,const,user_email,zip,label\n");
    for i in 0..50 {
        let label = i % 2;
        csv.push_str(&format!(
            "{},{},7,u{i}@corp.io,{},{label}\n",
            20 + i,
            1000 + 10 * label + i % 3,
            10000 + i
        ));
    }
    let dir = repo_with(&[
        ("data/train.csv", &csv),
        (
            "mlscore.yaml",
            "probes:\n  features:\n    - data: data/train.csv\n      target: label\n      deny: [zip*]\n      min_correlation: 0.5\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    assert_eq!(outcome["tests"], serde_json::json!(["data-2", "data-4"]));
    let text = details(outcome);
    assert!(text.contains("zip: on the deny list (data-4)"), "{text}");
    assert!(
        text.contains("user_email: the name says it holds personal data"),
        "{text}"
    );
    assert!(
        text.contains("const: constant, every non-null value is 7 (data-2)"),
        "{text}"
    );
    // age is uncorrelated with the alternating label; income follows it.
    assert!(
        text.contains("age: |correlation with label| is 0.0346, below min_correlation 0.5"),
        "{text}"
    );
    assert!(
        text.contains("income: correlation with the target 0.9"),
        "{text}"
    );
    // zip is both deny-listed and uncorrelated.
    assert_eq!(outcome["failures"], 5);

    // Reviewed columns are allowed; without min_correlation weak features are
    // only reported.
    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  features:\n    - data: data/train.csv\n      target: label\n      exclude: [const]\n      allow: [user_email]\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(details(probe(&report))
        .contains("weakest linear correlation with the target: age 0.0346, zip 0.0346"));
}

#[test]
fn pii_probe_reads_the_text_columns_of_parquet_files() {
    use polars::prelude::*;
    let dir = repo_with(&[("mlscore.yaml", "probes:\n  pii:\n    - {}\n")]);
    let mut df = df!(
        "id" => [1i64, 2, 3, 4],
        "contact" => ["none", "jane.doe@gmail.com", "n/a", "bob@example.org"],
        "card" => ["", "", "5555 5555 5555 4444", "1234"],
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let file = std::fs::File::create(dir.path().join("data/users.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    commit_all(dir.path(), "parquet");
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let text = details(probe(&report));
    assert!(
        text.contains(
            "data/users.parquet: 1 e-mail address (row 2, column contact: j***@gmail.com)"
        ),
        "{text}"
    );
    assert!(
        text.contains("1 payment card number (row 3, column card: ************4444)"),
        "{text}"
    );
}

#[test]
fn pii_probe_finds_personal_data_and_never_prints_it() {
    let dir = repo_with(&[
        (
            "data/customers.csv",
            "id,contact,note\n1,jane.doe@gmail.com,ok\n2,bob@example.com,fixture\n3,(415) 555-2671,call\n4,4539 5787 6362 1486,card\n5,078-05-1120,ssn\n",
        ),
        ("data/clean.csv", "id,amount\n1,3.5\n2,1234567890123456\n"),
        ("mlscore.yaml", "probes:\n  pii:\n    - {}\n"),
    ]);
    let out = mlscore()
        .args(["check", "--format", "json", "--format", "human"])
        .arg(dir.path())
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in ["jane.doe", "4539 5787", "078-05", "555-2671"] {
        assert!(!all.contains(secret), "`{secret}` printed");
    }
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    assert_eq!(outcome["tests"], serde_json::json!(["data-5"]));
    let text = details(outcome);
    assert!(
        text.contains("data/customers.csv: 1 e-mail address (line 2: j***@gmail.com)"),
        "{text}"
    );
    assert!(
        text.contains("1 payment card number (line 5: ************1486)"),
        "{text}"
    );
    assert!(
        text.contains("1 national id (line 6: ***-**-1120)"),
        "{text}"
    );
    assert!(
        text.contains("1 phone number (line 4: ********71)"),
        "{text}"
    );
    assert!(!text.contains("clean.csv"), "{text}");
    assert!(outcome["summary"]
        .as_str()
        .unwrap()
        .contains("4 values that look like personal data in 1 of 2 data files"));

    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  pii:\n    - paths: [data/clean.csv]\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        probe(&report)["summary"],
        "1 data file scanned: no personal data found"
    );
}

/// Predictions where group `a` is predicted positive half the time and group
/// `b` a fifth of the time; labels are positive for the first half of each.
fn predictions_csv() -> String {
    let mut csv = String::from("label,prediction,group,country\n");
    for (group, positives) in [("a", 50), ("b", 20)] {
        for i in 0..100 {
            let label = u8::from(i < 50);
            let prediction = u8::from(i < positives);
            let country = if i % 4 == 0 { "US" } else { "DE" };
            csv.push_str(&format!("{label},{prediction},{group},{country}\n"));
        }
    }
    csv
}

#[test]
fn fairness_probe_measures_parity_and_opportunity_gaps() {
    let dir = repo_with(&[
        ("eval/predictions.csv", &predictions_csv()),
        (
            "mlscore.yaml",
            "probes:\n  fairness:\n    - predictions: eval/predictions.csv\n      sensitive: [group]\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    assert_eq!(outcome["tests"], serde_json::json!(["model-7"]));
    let text = details(outcome);
    // Selection rates 0.5 and 0.2; true positive rates 50/50 = 1 and 20/50 = 0.4.
    assert!(
        text.contains("group: demographic parity difference 0.3 (max 0.1); a 0.5 vs b 0.2"),
        "{text}"
    );
    assert!(
        text.contains("group: equal opportunity difference 0.6 (max 0.1); a 1 vs b 0.4"),
        "{text}"
    );

    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  fairness:\n    - predictions: eval/predictions.csv\n      sensitive: [group]\n      max_demographic_parity_difference: 0.35\n      max_equal_opportunity_difference: 0.65\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(probe(&report)["status"], "passed");
}

#[test]
fn slices_probe_judges_each_slice_against_a_floor_and_the_overall_value() {
    let dir = repo_with(&[
        ("eval/predictions.csv", &predictions_csv()),
        (
            "mlscore.yaml",
            "probes:\n  slices:\n    - predictions: eval/predictions.csv\n      slice_by: [group]\n      min: 0.8\n      max_gap: 0.1\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    let text = details(outcome);
    // Group a is always right; group b misses 30 of its 50 positives.
    assert!(
        text.contains("group=b: accuracy 0.7 on 100 rows: below min 0.8; trails overall 0.85 by 0.15, over max_gap 0.1"),
        "{text}"
    );
    assert!(text.contains("group=a: accuracy 1 on 100 rows"), "{text}");
    assert_eq!(outcome["failures"], 1);

    // Recall by country, with slices too small to judge listed apart.
    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  slices:\n    - predictions: eval/predictions.csv\n      slice_by: [country]\n      metric: recall\n      min: 0.5\n      min_rows: 60\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let text = details(probe(&report));
    assert!(text.contains("overall recall 0.7 on 200 rows"), "{text}");
    assert!(text.contains("under min_rows 60: not judged"), "{text}");
}

#[test]
fn baseline_and_reproducible_probes_compare_metric_files() {
    let dir = repo_with(&[
        ("metrics/model.json", r#"{"eval": {"accuracy": 0.91, "log_loss": 0.30}}"#),
        ("metrics/baseline.json", r#"{"eval": {"accuracy": 0.85, "log_loss": 0.28}}"#),
        ("runs/seed1.yaml", "accuracy: 0.910\nloss: 0.300\n"),
        ("runs/seed2.yaml", "accuracy: 0.905\nloss: 0.330\n"),
        (
            "mlscore.yaml",
            "probes:\n  baseline:\n    - model: metrics/model.json\n      baseline: metrics/baseline.json\n      metrics: {eval.accuracy: higher, eval.log_loss: lower}\n  reproducible:\n    - runs: [runs/seed1.yaml, runs/seed2.yaml]\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let probes = report["probes"].as_array().unwrap();
    assert_eq!(probes[0]["probe"], "baseline");
    assert_eq!(probes[0]["status"], "failed");
    let text = details(&probes[0]);
    assert!(
        text.starts_with(
            "eval.log_loss (lower is better): model 0.3, baseline 0.28, margin -0.02 (min 0)"
        ),
        "{text}"
    );
    assert!(
        text.contains("eval.accuracy (higher is better): model 0.91, baseline 0.85, margin 0.06")
    );
    assert_eq!(probes[1]["probe"], "reproducible");
    assert_eq!(probes[1]["status"], "failed");
    let text = details(&probes[1]);
    assert!(
        text.starts_with("loss: 0.3 in runs/seed1.yaml, 0.33 in runs/seed2.yaml, difference 0.03 (allowed 0.0033)"),
        "{text}"
    );
    assert!(text.contains("accuracy: 0.91 in runs/seed1.yaml, 0.905 in runs/seed2.yaml, difference 0.005 (allowed 0.0091)"), "{text}");
    assert_eq!(test(&report, "model-5").1, "manual");
    assert_eq!(test(&report, "infra-1").1, "manual");

    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  baseline:\n    - model: metrics/model.json\n      baseline: metrics/baseline.json\n      metrics: {eval.accuracy: higher}\n      min_margin: 0.05\n  reproducible:\n    - runs: [runs/seed1.yaml, runs/seed2.yaml]\n      metrics: [acc*]\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn staleness_probe_dates_a_model_by_its_commit_its_dvc_pointer_or_its_metadata() {
    // Fixture commits are dated 2026-01-01.
    let dir = repo_with(&[
        ("models/model.pkl", "weights"),
        ("models/ranker.onnx.dvc", "outs:\n- md5: 0123\n  path: ranker.onnx\n"),
        (
            "dvc.lock",
            "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: models/trained\n      md5: 4567.dir\n",
        ),
        (
            "mlscore.yaml",
            "probes:\n  staleness:\n    - artifacts: [models/model.pkl, models/ranker.onnx, models/trained/clf.joblib]\n      max_age: 30d\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    assert_eq!(
        outcome["tests"],
        serde_json::json!(["model-4", "monitor-4"])
    );
    let text = details(outcome);
    assert!(text.contains("models/model.pkl: last committed "), "{text}");
    assert!(
        text.contains("models/ranker.onnx: last committed "),
        "{text}"
    );
    assert!(text.contains("ago (max 30d)"), "{text}");

    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  staleness:\n    - artifacts: models/model.pkl\n      max_age: 100years\n",
    );
    let (code, _) = check(dir.path(), &[]);
    assert_eq!(code, 0);

    // A training timestamp in metadata wins over the commit date.
    write(
        dir.path(),
        "models/model.json",
        r#"{"trained_at": "2099-01-01T00:00:00Z"}"#,
    );
    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  staleness:\n    - artifacts: models/model.pkl\n      metadata: models/model.json\n      max_age: 1d\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(details(probe(&report)).contains("models/model.json: trained 0h ago (max 24h)"));
}

#[test]
fn stability_probe_finds_nan_and_infinity_in_predictions_and_metrics() {
    let dir = repo_with(&[
        (
            "eval/predictions.csv",
            "id,score\n1,0.5\n2,NaN\n3,inf\n4,0.25\n",
        ),
        ("eval/metrics.json", r#"{"auc": 0.9, "loss": NaN}"#),
        (
            "mlscore.yaml",
            "probes:\n  stability:\n    - files: [eval/predictions.csv, eval/metrics.json]\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    assert_eq!(outcome["tests"], serde_json::json!(["monitor-5"]));
    let text = details(outcome);
    assert!(
        text.contains(
            "eval/predictions.csv: score: NaN in 1 of 4 (25%); score: ±infinity in 1 of 4 (25%)"
        ),
        "{text}"
    );
    assert!(text.contains("eval/metrics.json: loss = NaN"), "{text}");

    write(
        dir.path(),
        "eval/predictions.csv",
        "id,score\n1,0.5\n2,0.75\n",
    );
    write(dir.path(), "eval/metrics.json", r#"{"auc": 0.9}"#);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(probe(&report)["status"], "passed");
}

#[test]
fn skew_probe_compares_training_and_serving_columns_against_thresholds() {
    let mut reference = String::from("age,country\n");
    let mut same = String::from("age,country\n");
    let mut shifted = String::from("age,country\n");
    for i in 0..300 {
        let country = ["DE", "FR", "US"][i % 3];
        reference.push_str(&format!("{},{country}\n", 20 + i % 50));
        same.push_str(&format!("{},{country}\n", 20 + (i * 7) % 50));
        let country = ["DE", "FR", "US", "IT"][i % 4];
        shifted.push_str(&format!("{},{country}\n", 40 + i % 50));
    }
    let dir = repo_with(&[
        (".github/workflows/mlscore.yml", WORKFLOW),
        ("data/train.csv", &reference),
        ("data/serving.csv", &same),
        (
            "mlscore.yaml",
            "probes:\n  skew:\n    - reference: data/train.csv\n      current: data/serving.csv\n",
        ),
    ]);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let outcome = probe(&report);
    assert_eq!(outcome["tests"], serde_json::json!(["monitor-3"]));
    assert_eq!(
        outcome["summary"],
        "data/serving.csv against data/train.csv: 2 columns compared, no drift"
    );
    assert!(
        details(outcome).contains("age: stable — psi 0 (max 0.2)"),
        "{}",
        details(outcome)
    );
    assert_eq!(test(&report, "monitor-3"), (1.0, "automated".into()));

    write(dir.path(), "data/serving.csv", &shifted);
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 1);
    let outcome = probe(&report);
    let text = details(outcome);
    assert!(text.contains("age: drifted — psi "), "{text}");
    assert!(text.contains("ks_statistic 0.4 ✗ (max 0.1)"), "{text}");
    assert!(text.contains("country: drifted — chi2_p_value"), "{text}");
    assert!(
        text.contains("1 unseen level in 75 of 300 (25%) values, e.g. IT"),
        "{text}"
    );
    assert_eq!(test(&report, "monitor-3"), (1.0, "automated".into()));

    // Looser thresholds for every column, set in mlscore.yaml.
    write(
        dir.path(),
        "mlscore.yaml",
        "probes:\n  skew:\n    - reference: data/train.csv\n      current: data/serving.csv\n      thresholds: {psi: off, js_distance: off, ks_statistic: 0.5, wasserstein: 1.5, linf: off, unseen: 0.3}\n",
    );
    let (code, report) = check(dir.path(), &[]);
    assert_eq!(code, 0, "{}", details(probe(&report)));
}

#[test]
fn a_probe_typo_in_mlscore_yaml_is_a_config_error_with_its_line() {
    let dir = repo_with(&[(
        "mlscore.yaml",
        "probes:\n  slices:\n    - predictions: eval/p.csv\n      slice_by: [country]\n      minimum: 0.8\n",
    )]);
    let out = mlscore().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `minimum`"), "{err}");
    assert!(err.contains("mlscore.yaml:5"), "{err}");
    assert!(err.contains("did you mean `min`?"), "{err}");
}

#[test]
fn the_base_revision_counts_its_configured_probes() {
    let dir = repo_with(&[
        ("data/train.csv", &train_csv(20)),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/train.csv\n      schema: schemas/train.yaml\n",
        ),
    ]);
    std::fs::remove_file(dir.path().join("mlscore.yaml")).unwrap();
    commit_all(dir.path(), "drop the schema probe");
    let (code, report) = check(dir.path(), &["--base", "HEAD~1"]);
    assert_eq!(code, 0);
    assert_eq!(test(&report, "data-1").0, 0.0);
    let base = report["base"]["sections"][0]["score"].as_f64().unwrap();
    assert_eq!(
        base, 0.5,
        "the base configured the schema probe: {report:#}"
    );
    assert_eq!(report["sections"][0]["delta"], -0.5);
}

#[test]
fn probes_are_junit_cases_and_sarif_results() {
    let dir = repo_with(&[
        ("eval/predictions.csv", &predictions_csv()),
        ("data/train.csv", &train_csv(20)),
        ("schemas/train.yaml", SCHEMA),
        (
            "mlscore.yaml",
            "probes:\n  schema:\n    - data: data/train.csv\n      schema: schemas/train.yaml\n  fairness:\n    - predictions: eval/predictions.csv\n      sensitive: [group]\n",
        ),
    ]);
    let out = TempDir::new().unwrap();
    let junit = out.path().join("report.xml");
    let sarif = out.path().join("report.sarif");
    let status = mlscore()
        .args(["check", "-o"])
        .arg(format!("junit={}", junit.display()))
        .arg("-o")
        .arg(format!("sarif={}", sarif.display()))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"mlscore probes\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("classname=\"mlscore.probes.fairness\""));
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["message"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("fairness probe")),
        "{results:#?}"
    );
    let _ = git(dir.path(), &["status", "--short"]);
}

#[test]
fn the_readme_probes_example_is_a_valid_config() {
    let readme = std::fs::read_to_string(common::crate_dir().join("README.md")).unwrap();
    let section = readme
        .split("## Probes: the tests mlscore runs itself")
        .nth(1)
        .expect("README has a Probes section");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section has a YAML example");
    assert!(yaml.starts_with("probes:"), "{yaml}");
    for probe in [
        "schema",
        "features",
        "pii",
        "skew",
        "baseline",
        "slices",
        "fairness",
        "reproducible",
        "staleness",
        "stability",
    ] {
        assert!(
            yaml.contains(&format!("\n  {probe}:")),
            "{probe} not in the example"
        );
    }
    let dir = repo_with(&[("mlscore.yaml", yaml)]);
    let out = mlscore()
        .args(["check", "--no-probes", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every probe counts as configured evidence for its tests.
    for id in [
        "data-1",
        "data-2",
        "data-4",
        "data-5",
        "model-4",
        "model-5",
        "model-6",
        "model-7",
        "infra-1",
        "monitor-2",
        "monitor-3",
        "monitor-4",
        "monitor-5",
    ] {
        assert_eq!(test(&report, id), (0.5, "manual".into()), "{id}");
    }
}
