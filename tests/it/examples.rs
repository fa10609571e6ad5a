//! The bundled example repositories score what their READMEs say. Each README
//! holds a table generated from the real report; refresh them with
//! `MLSCORE_BLESS_README=1 cargo test --test it examples`.

use crate::common;

use common::{json_report, repo_from};

/// The README table for a report: per test, points and status; then the sections.
fn table(report: &serde_json::Value) -> String {
    let mut out = String::from("| test | points | status | title |\n|---|---|---|---|\n");
    for test in report["tests"].as_array().unwrap() {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            test["id"].as_str().unwrap(),
            points(test["points"].as_f64().unwrap()),
            test["status"].as_str().unwrap(),
            test["title"].as_str().unwrap()
        ));
    }
    out.push_str("\n| section | score |\n|---|---|\n");
    for section in report["sections"].as_array().unwrap() {
        let mark = if section["is_minimum"] == true {
            " (lowest)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {}{mark} |\n",
            section["title"].as_str().unwrap(),
            points(section["score"].as_f64().unwrap())
        ));
    }
    out.push_str(&format!(
        "\n**Final score: {}** — {}\n",
        points(report["score"]["final"].as_f64().unwrap()),
        report["score"]["band_meaning"].as_str().unwrap()
    ));
    out
}

fn points(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn check_example(name: &str) -> serde_json::Value {
    let repo = repo_from(&format!("examples/{name}"));
    let report = json_report(repo.path());
    let path = common::crate_dir().join(format!("examples/{name}/README.md"));
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- mlscore:start -->\n", "<!-- mlscore:end -->");
    let from = readme
        .find(start)
        .unwrap_or_else(|| panic!("{name}/README.md lacks {start}"))
        + start.len();
    let to = readme
        .find(end)
        .unwrap_or_else(|| panic!("{name}/README.md lacks {end}"));
    let expected = table(&report);
    if std::env::var_os("MLSCORE_BLESS_README").is_some() {
        std::fs::write(
            &path,
            format!("{}{}{}", &readme[..from], expected, &readme[to..]),
        )
        .unwrap();
    } else {
        assert_eq!(&readme[from..to], expected, "examples/{name}/README.md is stale; run MLSCORE_BLESS_README=1 cargo test --test it examples");
    }
    report
}

fn sections(report: &serde_json::Value) -> Vec<f64> {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect()
}

#[test]
fn research_notebooks_score_zero() {
    let report = check_example("research");
    assert_eq!(report["score"]["final"], 0.0);
    assert!(report["ci"]["systems"].as_array().unwrap().is_empty());
    assert!(report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] != "automated"));
    let total: f64 = sections(&report).iter().sum();
    assert!(
        total <= 2.0,
        "a notebook-only project has little evidence: {total}"
    );
}

#[test]
fn dvc_pipeline_has_manual_evidence_but_no_automation() {
    let report = check_example("dvc-pipeline");
    assert!(
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] != "automated"),
        "nothing runs in CI"
    );
    let s = sections(&report);
    assert!(
        s[0] >= 1.0 && s[1] >= 1.0 && s[2] >= 1.5,
        "data/model/infra carry manual evidence: {s:?}"
    );
    // No monitoring beyond a NaN check in a test: the minimum is Monitoring.
    assert!(s[3] <= 0.5, "{s:?}");
    assert_eq!(report["score"]["final"].as_f64(), Some(s[3]));
}

#[test]
fn mature_repository_is_strongly_automated() {
    let report = check_example("mature");
    let s = sections(&report);
    assert!(
        s.iter().all(|&v| v >= 3.0),
        "every section of the mature example is at least 3: {s:?}"
    );
    assert!(report["score"]["final"].as_f64().unwrap() >= 3.0);
    assert_eq!(report["ci"]["runs_mlscore"], true);
    let automated = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "automated")
        .count();
    assert!(automated >= 16, "{automated} automated tests");
}

#[test]
fn mature_report_snapshot() {
    let repo = repo_from("examples/mature");
    let report = json_report(repo.path());
    insta::assert_json_snapshot!("mature_report", report, { ".tool.version" => "[version]" });
}

#[test]
fn mature_human_output_snapshot() {
    let repo = repo_from("examples/mature");
    let out = common::mlscore()
        .arg("check")
        .arg(repo.path())
        .output()
        .unwrap();
    insta::assert_snapshot!("mature_human", String::from_utf8_lossy(&out.stdout));
}
