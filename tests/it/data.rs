//! `mlscore data infer` and `mlscore data validate` on real files: CSV, TSV,
//! gzip CSV, NDJSON and Parquet written by the tests, and the committed
//! fixtures in tests/fixtures/data/.

use crate::common;

use std::path::Path;

use common::{crate_dir, mlscore, write};
use polars::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const CSV: &str = "\
id,age,country,score
1,34,DE,0.5
2,51,FR,0.25
3,18,US,
4,95,DE,0.75
";

/// Runs `data validate --format json` and returns (exit code, JSON report).
fn validate_json(schema: &Path, files: &[&Path]) -> (i32, Value) {
    let mut cmd = mlscore();
    cmd.args(["data", "validate", "--format", "json", "--schema"])
        .arg(schema)
        .args(files);
    let out = cmd.output().expect("runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

/// The violations of the first file in a JSON report.
fn violations(report: &Value) -> Vec<Value> {
    report["files"][0]["violations"].as_array().unwrap().clone()
}

/// The one violation of `rule` on `column`.
fn find(report: &Value, column: &str, rule: &str) -> Value {
    violations(report)
        .into_iter()
        .find(|v| v["column"] == column && v["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} violation on {column} in {report:#}"))
}

fn infer_to(dir: &Path, data: &Path) -> std::path::PathBuf {
    let schema = dir.join("schema.yaml");
    mlscore()
        .args(["data", "infer"])
        .arg(data)
        .arg("-o")
        .arg(&schema)
        .assert()
        .success();
    schema
}

#[test]
fn infer_writes_a_readable_schema() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "train.csv", CSV);
    let out = mlscore()
        .args(["data", "infer"])
        .arg(dir.path().join("train.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("# mlscore data schema, inferred from "),
        "{text}"
    );
    assert!(text.contains("(4 rows)"), "{text}");
    assert!(text.contains("rows: {min: 1}\n"), "{text}");
    assert!(
        text.contains("  age: {type: int, nullable: false, min: 0, unique: true}\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  country: {type: string, nullable: false, allowed: [DE, FR, US], unseen_tolerance: 0.0}\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  id: {type: int, nullable: false, min: 0, unique: true}\n"),
        "{text}"
    );
    assert!(
        text.contains("  score: {type: float, max_null_fraction: 0.25, min: 0, finite: true}\n"),
        "{text}"
    );
}

#[test]
fn max_categories_limits_the_allowed_set() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "train.csv", CSV);
    let out = mlscore()
        .args(["data", "infer", "--max-categories", "2"])
        .arg(dir.path().join("train.csv"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  country: {type: string, nullable: false}\n"),
        "{text}"
    );
}

#[test]
fn infer_then_validate_round_trips_for_every_format() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "train.csv", CSV);
    write(dir.path(), "train.tsv", &CSV.replace(',', "\t"));
    write(
        dir.path(),
        "train.jsonl",
        r#"{"id": 1, "label": "cat", "p": 0.5}
{"id": 2, "label": "dog", "p": 0.75}
{"id": 3, "label": null, "p": 1.0}
"#,
    );
    let gz = dir.path().join("train.csv.gz");
    let status = std::process::Command::new("gzip")
        .arg("-k")
        .arg(dir.path().join("train.csv"))
        .status()
        .unwrap();
    assert!(status.success() && gz.exists());
    let parquet = dir.path().join("train.parquet");
    write_parquet(&parquet);

    for name in [
        "train.csv",
        "train.tsv",
        "train.jsonl",
        "train.csv.gz",
        "train.parquet",
    ] {
        let data = dir.path().join(name);
        let schema = infer_to(dir.path(), &data);
        let (code, report) = validate_json(&schema, &[&data]);
        assert_eq!(
            code,
            0,
            "{name}: {report:#}\n{}",
            std::fs::read_to_string(&schema).unwrap()
        );
        assert_eq!(report["violations"], 0, "{name}");
        assert!(report["files"][0]["rows"].as_u64().unwrap() >= 3, "{name}");
    }
}

fn write_parquet(path: &Path) {
    let mut df = df!(
        "id" => [1i64, 2, 3, 4, 5],
        "city" => ["Berlin", "Paris", "Paris", "Rome", "Berlin"],
        "temp" => [Some(1.5f64), Some(2.5), None, Some(-3.0), Some(0.0)],
        "ok" => [true, false, true, true, false],
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn the_committed_fixture_passes_its_schema() {
    let fixtures = crate_dir().join("tests/fixtures/data");
    let out = mlscore()
        .args(["data", "validate", "--schema"])
        .arg(fixtures.join("schema.yaml"))
        .arg(fixtures.join("train.csv"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("6 rows, 5 columns — ok: 0 violations, 0 warnings"),
        "{text}"
    );
}

#[test]
fn each_rule_reports_observed_threshold_count_and_examples() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "bad.csv",
        "\
id,age,country,score,email,const,extra
1,12,DE,0.5,ada@example.com,7,x
1,15,XX,1.5,not-an-email,7,x
2,17,YY,NaN,bo@example.com,7,x
3,40,DE,,cy@example.com,7,x
4,99,DE,inf,NOPE,7,x
",
    );
    write(
        dir.path(),
        "schema.yaml",
        "\
rows: {min: 10, max: 1000}
extra_columns: deny
columns:
  id: {type: int, unique: true}
  age: {type: int, min: 18, max: 95}
  country: {type: string, allowed: [DE, FR], unseen_tolerance: 0.25}
  score: {type: float, nullable: false, max: 1, finite: true}
  email: {type: string, pattern: '[a-z]+@example\\.com'}
  const: {type: int}
  label: {type: string}
  missing_ok: {type: string, required: false}
  flag: {type: bool, required: false}
",
    );
    let data = dir.path().join("bad.csv");
    let (code, report) = validate_json(&dir.path().join("schema.yaml"), &[&data]);
    assert_eq!(code, 1, "{report:#}");

    let v = violations(&report)
        .into_iter()
        .find(|v| v["rule"] == "rows.min")
        .unwrap();
    assert_eq!(
        (v["observed"].clone(), v["threshold"].clone()),
        (5.into(), 10.into())
    );
    let v = find(&report, "age", "min");
    assert_eq!(
        (
            v["observed"].clone(),
            v["threshold"].clone(),
            v["count"].clone()
        ),
        (12.into(), 18.into(), 3.into())
    );
    assert_eq!(v["examples"], serde_json::json!(["12", "15", "17"]));
    let v = find(&report, "age", "max");
    assert_eq!(
        (
            v["observed"].clone(),
            v["threshold"].clone(),
            v["count"].clone()
        ),
        (99.into(), 95.into(), 1.into())
    );
    assert_eq!(v["examples"], serde_json::json!(["99"]));
    let v = find(&report, "country", "allowed");
    assert_eq!(v["observed"], 0.4);
    assert_eq!(v["threshold"], 0.25);
    assert_eq!(v["count"], 2);
    assert_eq!(v["examples"], serde_json::json!(["XX", "YY"]));
    let v = find(&report, "id", "unique");
    assert_eq!(v["count"], 1);
    assert_eq!(v["examples"], serde_json::json!(["1"]));
    let v = find(&report, "score", "nullable");
    assert_eq!(v["count"], 1);
    let v = find(&report, "score", "finite");
    assert_eq!(v["count"], 2);
    let v = find(&report, "score", "max");
    assert_eq!(v["count"], 2, "1.5 and inf: {v}");
    let v = find(&report, "email", "pattern");
    assert_eq!(v["count"], 2);
    assert_eq!(v["examples"], serde_json::json!(["not-an-email", "NOPE"]));
    let v = find(&report, "label", "required");
    assert_eq!(v["observed"], "absent");
    let v = find(&report, "extra", "extra_columns");
    assert_eq!(v["count"], 5);
    let v = find(&report, "const", "constant");
    assert_eq!(v["level"], "warning");
    assert_eq!(v["observed"], 7);
    assert!(violations(&report)
        .iter()
        .all(|v| v["column"] != "missing_ok" && v["column"] != "flag"));
    assert_eq!(report["violations"], 11, "{report:#}");
}

#[test]
fn row_bounds_and_types_are_checked() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "d.csv", "a,b\n1,x\n2,y\n");
    write(
        dir.path(),
        "s.yaml",
        "rows: {min: 3}\ncolumns:\n  a: {type: string}\n  b: {type: float}\n",
    );
    let (code, report) = validate_json(&dir.path().join("s.yaml"), &[&dir.path().join("d.csv")]);
    assert_eq!(code, 1);
    let v = violations(&report)
        .into_iter()
        .find(|v| v["rule"] == "rows.min")
        .unwrap();
    assert_eq!(
        (v["observed"].clone(), v["threshold"].clone()),
        (2.into(), 3.into())
    );
    let v = find(&report, "a", "type");
    assert_eq!(
        (v["observed"].clone(), v["threshold"].clone()),
        ("int".into(), "string".into())
    );
    let v = find(&report, "b", "type");
    assert_eq!(v["observed"], "string");
}

#[test]
fn human_report_names_rule_observed_and_threshold() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "d.csv", "age\n12\n30\n");
    write(
        dir.path(),
        "s.yaml",
        "columns:\n  age: {type: int, min: 18}\n",
    );
    let out = mlscore()
        .args(["data", "validate", "--schema"])
        .arg(dir.path().join("s.yaml"))
        .arg(dir.path().join("d.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 rows, 1 columns — FAILED: 1 violation, 0 warnings"),
        "{text}"
    );
    assert!(text.contains("age"), "{text}");
    assert!(
        text.contains("observed 12 (threshold 18), 1 row, e.g. 12"),
        "{text}"
    );
}

/// Runs validate (or infer when `schema` is None) and expects exit 2 with
/// every `needles` in standard error.
fn expect_input_error(schema: Option<&Path>, data: &Path, needles: &[&str]) {
    let mut cmd = mlscore();
    match schema {
        Some(s) => {
            cmd.args(["data", "validate", "--schema"]).arg(s);
        }
        None => {
            cmd.args(["data", "infer"]);
        }
    }
    let out = cmd.arg(data).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, "s.yaml", "columns:\n  a: {type: int}\n");
    let schema = d.join("s.yaml");

    expect_input_error(None, &d.join("nope.csv"), &["nope.csv", "No such file"]);
    expect_input_error(
        Some(&schema),
        &d.join("nope.csv"),
        &["nope.csv", "does not exist"],
    );

    write(d, "empty.csv", "");
    expect_input_error(None, &d.join("empty.csv"), &["empty.csv", "empty"]);

    write(d, "ragged.csv", "a,b\n1,2\n3,4,5\n6,7\n");
    expect_input_error(None, &d.join("ragged.csv"), &["ragged.csv"]);
    expect_input_error(Some(&schema), &d.join("ragged.csv"), &["ragged.csv"]);

    write(
        d,
        "x.parquet",
        "this is not parquet at all, just some garbage bytes",
    );
    expect_input_error(None, &d.join("x.parquet"), &["x.parquet", "Parquet"]);
    expect_input_error(Some(&schema), &d.join("x.parquet"), &["x.parquet"]);

    write(d, "data.xlsx", "whatever");
    expect_input_error(
        None,
        &d.join("data.xlsx"),
        &["data.xlsx", "unknown data format"],
    );

    write(d, "a.csv", "a\n1\n");
    write(
        d,
        "typo.yaml",
        "columns:\n  a:\n    type: int\n    maximum: 3\n",
    );
    expect_input_error(
        Some(&d.join("typo.yaml")),
        &d.join("a.csv"),
        &[
            "typo.yaml",
            "unknown field `maximum`",
            "did you mean `max`",
            "maximum: 3",
        ],
    );
    write(
        d,
        "frac.yaml",
        "columns:\n  a: {type: int, max_null_fraction: 5}\n",
    );
    expect_input_error(
        Some(&d.join("frac.yaml")),
        &d.join("a.csv"),
        &["frac.yaml", "not a fraction"],
    );
    expect_input_error(
        Some(&d.join("missing.yaml")),
        &d.join("a.csv"),
        &["missing.yaml"],
    );
}

#[test]
fn an_empty_dataset_is_a_violation_not_an_error() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "header_only.csv", "a,b\n");
    write(dir.path(), "s.yaml", "rows: {min: 1}\ncolumns:\n  a: {}\n");
    let (code, report) = validate_json(
        &dir.path().join("s.yaml"),
        &[&dir.path().join("header_only.csv")],
    );
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(violations(&report)[0]["rule"], "rows.min");
    // infer still writes a schema (min rows 1), which the empty file then fails.
    let schema = infer_to(dir.path(), &dir.path().join("header_only.csv"));
    let (code, _) = validate_json(&schema, &[&dir.path().join("header_only.csv")]);
    assert_eq!(code, 1);
}

#[test]
fn several_files_are_reported_separately() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "good.csv", "a\n20\n30\n");
    write(dir.path(), "bad.csv", "a\n5\n30\n");
    write(
        dir.path(),
        "s.yaml",
        "columns:\n  a: {type: int, min: 10}\n",
    );
    let (code, report) = validate_json(
        &dir.path().join("s.yaml"),
        &[&dir.path().join("good.csv"), &dir.path().join("bad.csv")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        report["files"][0]["violations"].as_array().unwrap().len(),
        0
    );
    assert_eq!(report["files"][1]["violations"][0]["rule"], "min");
}
