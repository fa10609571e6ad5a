//! `mlscore data skew` on real files written by the tests: CSV, NDJSON and
//! Parquet, with and without a schema, judged against its thresholds.

use crate::common;

use std::path::Path;

use common::{mlscore, write};
use polars::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

/// `n` rows of `id,x,country,ok`: x the integers 0..n plus `shift`, in a
/// scrambled order (7919 is prime to every `n` used), countries DE/FR/US in
/// shares 3:2:1, ok alternating; then `extra` rows of a new country `XX`.
fn table(n: usize, shift: usize, extra: usize) -> String {
    let mut csv = String::from("id,x,country,ok\n");
    let countries = ["DE", "DE", "DE", "FR", "FR", "US"];
    for i in 0..n {
        let x = (i * 7919) % n + shift;
        csv.push_str(&format!(
            "{i},{x},{},{}\n",
            countries[i % countries.len()],
            i % 2 == 0
        ));
    }
    for i in 0..extra {
        csv.push_str(&format!("{},{},XX,true\n", n + i, i % 200));
    }
    csv
}

/// Runs `data skew --format json` in `dir` and returns (exit code, report).
fn skew_json(dir: &Path, reference: &str, current: &str, schema: Option<&str>) -> (i32, Value) {
    let mut cmd = mlscore();
    cmd.current_dir(dir)
        .args(["data", "skew", "--format", "json", reference, current]);
    if let Some(schema) = schema {
        cmd.args(["--schema", schema]);
    }
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

/// Runs `data skew` (human output) in `dir`: (exit code, stdout, stderr).
fn skew_human(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = mlscore()
        .current_dir(dir)
        .args(["data", "skew"])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The report entry of `column`.
fn column<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {report:#}"))
}

/// The judged statistic `key` of `column`.
fn stat<'a>(report: &'a Value, name: &str, key: &str) -> &'a Value {
    column(report, name)["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["statistic"] == key)
        .unwrap_or_else(|| panic!("no {key} on {name} in {report:#}"))
}

fn value(report: &Value, name: &str, key: &str) -> f64 {
    stat(report, name, key)["value"].as_f64().unwrap()
}

#[test]
fn identical_files_do_not_drift() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", &table(3000, 0, 0));
    write(dir.path(), "cur.csv", &table(3000, 0, 0));
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["drifted"], 0);
    assert_eq!(report["summary"]["compared"], 4);
    assert_eq!(report["reference"]["rows"], 3000);
    for name in ["id", "x"] {
        assert_eq!(column(&report, name)["kind"], "numeric");
        assert_eq!(column(&report, name)["verdict"], "stable");
        for key in ["psi", "js_distance", "ks_statistic", "wasserstein"] {
            assert_eq!(value(&report, name, key), 0.0, "{name} {key}");
        }
        assert_eq!(value(&report, name, "ks_p_value"), 1.0);
        assert_eq!(stat(&report, name, "ks_p_value")["threshold"], "off");
    }
    for name in ["country", "ok"] {
        assert_eq!(column(&report, name)["kind"], "categorical");
        assert_eq!(column(&report, name)["verdict"], "stable");
        assert_eq!(value(&report, name, "chi2_p_value"), 1.0);
        for key in ["linf", "js_distance", "unseen"] {
            assert_eq!(value(&report, name, key), 0.0, "{name} {key}");
        }
    }
    let (code, text, _) = skew_human(dir.path(), &["ref.csv", "cur.csv"]);
    assert_eq!(code, 0);
    assert!(
        text.ends_with("\nok: no drift in 4 columns compared\n"),
        "{text}"
    );
}

#[test]
fn a_shifted_numeric_column_drifts() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", &table(2000, 0, 0));
    write(dir.path(), "cur.csv", &table(2000, 500, 0));
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["drifted"], 1);
    assert_eq!(column(&report, "x")["verdict"], "drifted");
    assert_eq!(column(&report, "x")["failed"], true);
    // x is 0..2000 moved by 500: a quarter of the mass moves past the
    // reference's top, so D = 0.25 exactly, and the Wasserstein distance is
    // the shift itself over the reference std (√((2000² − 1)/12) ≈ 577.35).
    assert_eq!(value(&report, "x", "ks_statistic"), 0.25);
    assert!(stat(&report, "x", "ks_statistic")["drifted"]
        .as_bool()
        .unwrap());
    let std = ((2000.0f64 * 2000.0 - 1.0) / 12.0).sqrt();
    let w = value(&report, "x", "wasserstein");
    assert!((w - 500.0 / std).abs() < 1e-12, "{w}");
    let numeric = &column(&report, "x")["numeric"];
    assert_eq!(numeric["wasserstein_distance"], 500.0);
    assert_eq!(numeric["mean"]["reference"], 999.5);
    assert_eq!(numeric["mean"]["current"], 1499.5);
    // The lowest 2.5 deciles are emptied (floored at 1e-4), the top decile
    // takes 35% instead of 10%:
    // 2·(1e-4 − 0.1)·ln(1e-3) + (0.05 − 0.1)·ln(0.5) + (0.35 − 0.1)·ln(3.5).
    let psi = value(&report, "x", "psi");
    let expected = 2.0 * (1e-4 - 0.1) * (1e-3f64).ln()
        + (0.05 - 0.1) * (0.5f64).ln()
        + (0.35 - 0.1) * (3.5f64).ln();
    assert!((psi - expected).abs() < 1e-12, "{psi} vs {expected}");
    assert_eq!(stat(&report, "x", "psi")["threshold"], 0.2);
    assert_eq!(column(&report, "x")["numeric"]["ks_method"], "exact");
    // The other columns did not move.
    for name in ["id", "country", "ok"] {
        assert_eq!(column(&report, name)["verdict"], "stable", "{name}");
    }

    let (code, text, _) = skew_human(dir.path(), &["ref.csv", "cur.csv"]);
    assert_eq!(code, 1);
    assert!(text.contains("x (numeric): DRIFTED"), "{text}");
    assert!(
        text.contains("    ks_statistic      0.2500  > 0.1     drift\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    psi           {:>10}  > 0.2     drift\n",
            format!("{psi:.4}")
        )),
        "{text}"
    );
    assert!(
        text.ends_with("\nDRIFT: 1 failing column (x): 1 of 4 compared drifted\n"),
        "{text}"
    );
}

#[test]
fn a_new_category_is_reported_as_unseen() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", &table(3000, 0, 0));
    write(dir.path(), "cur.csv", &table(3000, 0, 60));
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 1, "{report:#}");
    let country = column(&report, "country");
    assert_eq!(country["verdict"], "drifted");
    assert_eq!(country["unseen"]["levels"], 1);
    assert_eq!(country["unseen"]["count"], 60);
    assert_eq!(country["unseen"]["examples"], serde_json::json!(["XX"]));
    let fraction = 60.0 / 3060.0;
    assert!((value(&report, "country", "unseen") - fraction).abs() < 1e-12);
    assert!(stat(&report, "country", "unseen")["drifted"]
        .as_bool()
        .unwrap());
    assert_eq!(stat(&report, "country", "unseen")["threshold"], 0.01);
    // 2% of new values barely moves the shares: L-infinity is XX's 0.0196.
    assert!((value(&report, "country", "linf") - fraction).abs() < 1e-12);
    assert!(!stat(&report, "country", "linf")["drifted"]
        .as_bool()
        .unwrap());
    assert_eq!(country["categorical"]["linf_level"], "XX");
    assert_eq!(country["categorical"]["levels"]["current"], 4);
    // Chi-square is over the reference's levels, whose shares are unchanged.
    assert_eq!(country["categorical"]["chi2_df"], 2);
    assert!(value(&report, "country", "chi2_p_value") > 0.99);

    let (_, text, _) = skew_human(dir.path(), &["ref.csv", "cur.csv"]);
    assert!(
        text.contains("    unseen            0.0196  > 0.01    drift (1 level, 60 values: XX)\n"),
        "{text}"
    );
}

#[test]
fn schema_thresholds_change_the_verdict() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", &table(2000, 0, 0));
    write(dir.path(), "cur.csv", &table(2000, 500, 60));
    let (code, _) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 1);

    // Loose per-column thresholds: the same data passes.
    write(
        dir.path(),
        "loose.yaml",
        "skew:\n  unseen: 0.05\n  js_distance: 0.2\ncolumns:\n  x:\n    type: float\n    skew:\n      psi: off\n      js_distance: off\n      ks_statistic: 0.3\n      wasserstein: 1\n  country: {type: string}\n",
    );
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", Some("loose.yaml"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["schema"], "loose.yaml");
    // Only the schema's columns are compared.
    assert_eq!(report["summary"]["compared"], 2);
    assert_eq!(stat(&report, "x", "psi")["threshold"], "off");
    assert!(value(&report, "x", "psi") > 1.0);
    assert_eq!(stat(&report, "x", "ks_statistic")["threshold"], 0.3);
    // The top-level block applies to every column, the built-in defaults to
    // what no block sets.
    assert_eq!(stat(&report, "country", "unseen")["threshold"], 0.05);
    assert_eq!(stat(&report, "country", "js_distance")["threshold"], 0.2);
    assert_eq!(stat(&report, "country", "linf")["threshold"], 0.1);

    // A strict p-value threshold makes a stable column drift.
    write(
        dir.path(),
        "strict.yaml",
        "columns:\n  ok:\n    type: bool\n    skew: {chi2_p_value: 0.5}\n  id: {type: int, skew: {ks_p_value: 0.05}}\n",
    );
    write(dir.path(), "same.csv", &table(2000, 0, 0));
    write(dir.path(), "fewer.csv", &table(1800, 0, 0));
    let (code, report) = skew_json(dir.path(), "ref.csv", "fewer.csv", Some("strict.yaml"));
    assert_eq!(code, 1, "{report:#}");
    // id 0..1800 against 0..2000: D = 0.1 (not above 0.1), but p ≈ 1e-8.
    assert_eq!(column(&report, "id")["verdict"], "drifted");
    assert!(value(&report, "id", "ks_p_value") < 1e-6);
    assert!(!stat(&report, "id", "ks_statistic")["drifted"]
        .as_bool()
        .unwrap());
    assert_eq!(column(&report, "ok")["verdict"], "stable");
    let (code, _) = skew_json(dir.path(), "ref.csv", "same.csv", Some("strict.yaml"));
    assert_eq!(code, 0);
}

#[test]
fn an_allowed_set_makes_an_integer_column_categorical() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", "grade\n1\n2\n3\n1\n2\n3\n");
    write(dir.path(), "cur.csv", "grade\n1\n2\n3\n1\n2\n4\n");
    write(
        dir.path(),
        "s.yaml",
        "columns:\n  grade: {type: int, allowed: [1, 2, 3]}\n",
    );
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", Some("s.yaml"));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(column(&report, "grade")["kind"], "categorical");
    assert_eq!(
        column(&report, "grade")["unseen"]["examples"],
        serde_json::json!(["4"])
    );
    let (_, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(column(&report, "grade")["kind"], "numeric");
}

fn write_parquet(path: &Path, csv: &str) {
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .into_reader_with_file_handle(std::io::Cursor::new(csv.as_bytes().to_vec()))
        .finish()
        .unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn parquet_csv_and_ndjson_compare_with_each_other() {
    let dir = TempDir::new().unwrap();
    let csv = table(1000, 0, 0);
    write(dir.path(), "ref.csv", &csv);
    write_parquet(&dir.path().join("ref.parquet"), &csv);
    let mut ndjson = String::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        ndjson.push_str(&format!(
            "{{\"id\": {}, \"x\": {}, \"country\": \"{}\", \"ok\": {}}}\n",
            f[0], f[1], f[2], f[3]
        ));
    }
    write(dir.path(), "cur.ndjson", &ndjson);
    for (reference, current) in [
        ("ref.parquet", "ref.csv"),
        ("ref.csv", "ref.parquet"),
        ("ref.parquet", "ref.parquet"),
        ("ref.parquet", "cur.ndjson"),
    ] {
        let (code, report) = skew_json(dir.path(), reference, current, None);
        assert_eq!(code, 0, "{reference} vs {current}: {report:#}");
        assert_eq!(report["summary"]["compared"], 4, "{reference} vs {current}");
        assert_eq!(value(&report, "x", "ks_statistic"), 0.0);
        assert_eq!(value(&report, "country", "linf"), 0.0);
        assert_eq!(value(&report, "ok", "js_distance"), 0.0);
    }
    write_parquet(&dir.path().join("shifted.parquet"), &table(1000, 250, 0));
    let (code, report) = skew_json(dir.path(), "ref.csv", "shifted.parquet", None);
    assert_eq!(code, 1);
    assert_eq!(value(&report, "x", "ks_statistic"), 0.25);
    assert_eq!(
        column(&report, "x")["numeric"]["wasserstein_distance"],
        250.0
    );
}

#[test]
fn missing_new_empty_and_non_finite_columns_are_reported() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "ref.csv",
        "a,b,gone,blank,when\n1.5,x,1,5,2024-01-01\n2.5,y,2,6,2024-01-02\n3.5,x,3,7,2024-01-03\n",
    );
    write(
        dir.path(),
        "cur.csv",
        "a,b,blank,when,fresh\n1.5,x,,2024-01-01,1\nNaN,y,,2024-01-02,2\ninf,x,,2024-01-03,3\n2.5,y,,2024-01-01,4\n",
    );
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 1, "{report:#}");
    let summary = &report["summary"];
    assert_eq!(summary["missing"], 1);
    assert_eq!(summary["new"], 1);
    assert_eq!(summary["empty"], 1);
    // gone (missing) and blank (emptied) fail; a, b, when are compared.
    assert_eq!(report["drifted"], summary["failed"]);
    assert_eq!(column(&report, "gone")["verdict"], "missing");
    assert_eq!(column(&report, "gone")["failed"], true);
    assert_eq!(column(&report, "fresh")["verdict"], "new");
    assert_eq!(column(&report, "fresh")["failed"], false);
    let blank = column(&report, "blank");
    assert_eq!(blank["verdict"], "empty");
    assert_eq!(blank["failed"], true);
    assert_eq!(blank["nulls"]["current"], 4);
    assert_eq!(blank["values"]["reference"], 3);
    let a = column(&report, "a");
    assert_eq!(a["dropped"]["current"], 2);
    assert_eq!(a["dropped"]["reference"], 0);
    assert_eq!(a["values"]["current"], 2);
    assert_eq!(column(&report, "when")["kind"], "numeric");

    let (code, text, _) = skew_human(dir.path(), &["ref.csv", "cur.csv"]);
    assert_eq!(code, 1);
    assert!(
        text.contains("gone (numeric): MISSING from the current file\n"),
        "{text}"
    );
    assert!(
        text.contains("fresh (numeric): new in the current file, not compared\n"),
        "{text}"
    );
    assert!(
        text.contains("blank (numeric): NO USABLE VALUE in the current file"),
        "{text}"
    );
    assert!(text.contains("    NaN/±Inf dropped 0 → 2\n"), "{text}");
}

#[test]
fn an_empty_current_file_fails_every_column_without_panicking() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", &table(100, 0, 0));
    write(dir.path(), "cur.csv", "id,x,country,ok\n");
    let (code, report) = skew_json(dir.path(), "ref.csv", "cur.csv", None);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["current"]["rows"], 0);
    assert_eq!(report["summary"]["empty"], 4);
    assert_eq!(report["drifted"], 4);
    // Kinds come from the reference: a header-only CSV has no types.
    assert_eq!(column(&report, "x")["kind"], "numeric");
    assert!(column(&report, "x").get("notes").is_none(), "{report:#}");
}

#[test]
fn human_output_reads_well() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "ref.csv", "n,c\n1,a\n2,a\n3,b\n4,b\n");
    write(dir.path(), "cur.csv", "n,c\n1,a\n2,b\n3,b\n9,z\n");
    let (code, text, _) = skew_human(dir.path(), &["ref.csv", "cur.csv"]);
    assert_eq!(code, 1);
    // n: 9 lands in the reference's open top bin with 4, so PSI and JS see
    // nothing (bins are reference quantiles); KS (D = 1/4) and Wasserstein
    // (∫|F − G| = 5/4 over the reference std √1.25) do.
    // c: chi-square over a and b, expected 1.5 each for 1 and 2 observed:
    // (0.5² + 0.5²)/1.5 = 1/3, p = 0.5637 at 1 df; L-infinity |1/2 − 1/4| at a.
    insta::assert_snapshot!(text, @r"
    reference ref.csv: 4 rows, 2 columns
    current   cur.csv: 4 rows, 2 columns

    n (numeric): DRIFTED — values 4 → 4, mean 2.5000 → 3.7500
        psi                    0  > 0.2     ok
        js_distance            0  > 0.1     ok
        ks_statistic      0.2500  > 0.1     drift
        ks_p_value        1.0000  off             (exact)
        wasserstein       1.1180  > 0.1     drift (distance 1.2500 / reference std 1.1180)
    c (categorical): DRIFTED — values 4 → 4
        chi2_p_value      0.5637  off             (statistic 0.3333, df 1)
        linf              0.2500  > 0.1     drift (at level a)
        js_distance       0.3945  > 0.1     drift
        unseen            0.2500  > 0.01    drift (1 level, 1 value: z)

    DRIFT: 2 failing columns (n, c): 2 of 2 compared drifted
    ");
}

/// Runs skew and expects exit 2 with every `needles` in standard error.
fn expect_input_error(dir: &Path, args: &[&str], needles: &[&str]) {
    let (code, _, err) = skew_human(dir, args);
    assert_eq!(code, 2, "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    write(d, "ref.csv", &table(50, 0, 0));
    expect_input_error(d, &["nope.csv", "ref.csv"], &["nope.csv", "does not exist"]);
    expect_input_error(
        d,
        &["ref.csv", "nope.parquet"],
        &["nope.parquet", "does not exist"],
    );

    write(d, "ragged.csv", "id,x\n1,2\n3,4,5\n6,7\n");
    expect_input_error(d, &["ref.csv", "ragged.csv"], &["ragged.csv"]);
    write(
        d,
        "bad.parquet",
        "this is not parquet at all, just some garbage bytes",
    );
    expect_input_error(d, &["bad.parquet", "ref.csv"], &["bad.parquet", "Parquet"]);

    write(
        d,
        "absent.yaml",
        "columns:\n  x: {type: float}\n  income: {type: float}\n",
    );
    expect_input_error(
        d,
        &["ref.csv", "ref.csv", "--schema", "absent.yaml"],
        &["ref.csv", "`income` is not in this file", "required: false"],
    );
    // An optional column absent from the files is left out, not an error.
    write(
        d,
        "optional.yaml",
        "columns:\n  x: {type: float}\n  income: {type: float, required: false}\n",
    );
    let (code, report) = skew_json(d, "ref.csv", "ref.csv", Some("optional.yaml"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["columns"].as_array().unwrap().len(), 1);

    write(
        d,
        "typo.yaml",
        "columns:\n  x:\n    type: float\n    skew:\n      pssi: 0.3\n",
    );
    expect_input_error(
        d,
        &["ref.csv", "ref.csv", "--schema", "typo.yaml"],
        &[
            "typo.yaml",
            "unknown field `pssi`",
            "did you mean `psi`",
            "5 │       pssi: 0.3",
        ],
    );
    write(
        d,
        "range.yaml",
        "skew:\n  linf: 3\ncolumns:\n  x: {type: float}\n",
    );
    expect_input_error(
        d,
        &["ref.csv", "ref.csv", "--schema", "range.yaml"],
        &[
            "range.yaml",
            "skew.linf: 3 is not a valid threshold",
            "between 0 and 1",
        ],
    );
    write(d, "word.yaml", "columns:\n  x:\n    skew: {psi: high}\n");
    expect_input_error(
        d,
        &["ref.csv", "ref.csv", "--schema", "word.yaml"],
        &["word.yaml", "expected a number or `off`"],
    );
    expect_input_error(
        d,
        &["ref.csv", "ref.csv", "--schema", "missing.yaml"],
        &["missing.yaml"],
    );
}
