//! Evidence by role, hollow tests and the MLOps maturity level, driven
//! through the real binary on small ML projects in real git repositories.

use crate::common;

use common::{json_report, repo_with};
use serde_json::Value;

const FEATURES: &str = r#"import pandas as pd


def add_tenure_bucket(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["tenure_bucket"] = pd.cut(out["tenure"], [0, 12, 24, 120], labels=False)
    return out
"#;

const MODEL: &str = r#"from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build_model(c: float = 1.0):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c))
"#;

const TRAIN: &str = r#"import sys

import joblib
import pandas as pd

from churn.features import add_tenure_bucket
from churn.model import build_model

rows = int(sys.argv[1]) if len(sys.argv) > 1 else None
df = add_tenure_bucket(pd.read_csv("data/train.csv", nrows=rows))
model = build_model()
model.fit(df[["tenure", "tenure_bucket"]], df["churned"])
joblib.dump(model, "model.joblib")
"#;

const EVALUATE: &str = r#"import json
import sys

import joblib
import pandas as pd
from sklearn.metrics import roc_auc_score

from churn.features import add_tenure_bucket

MIN_AUC = 0.75

test_df = add_tenure_bucket(pd.read_csv("data/test.csv"))
model = joblib.load("model.joblib")
auc = roc_auc_score(test_df["churned"], model.predict_proba(test_df[["tenure", "tenure_bucket"]])[:, 1])
json.dump({"auc": auc}, open("metrics.json", "w"))
if auc < MIN_AUC:
    sys.exit(f"AUC {auc:.3f} is below {MIN_AUC}")
"#;

const REGISTER: &str = r#"import mlflow

mlflow.register_model("runs:/latest/model", "churn")
"#;

const TEST_FEATURES: &str = r#"import pandas as pd

from churn.features import add_tenure_bucket


def test_buckets_split_at_a_year():
    out = add_tenure_bucket(pd.DataFrame({"tenure": [3, 13]}))
    assert list(out["tenure_bucket"]) == [0, 1]


def test_scale():
    assert True
"#;

const TEST_MODEL: &str = r#"from churn.model import build_model


def test_fits_a_tiny_batch():
    model = build_model().fit([[0, 0], [1, 1], [0, 1], [1, 0]], [0, 1, 0, 1])
    assert model.predict([[1, 1]])[0] == 1
"#;

const TEST_DATA: &str = r#"import pandas as pd
import pandera as pa

SCHEMA = pa.DataFrameSchema({"tenure": pa.Column(int, pa.Check.ge(0))})


def test_training_data_matches_the_schema():
    SCHEMA.validate(pd.read_csv("data/train.csv"))
"#;

/// Training code with a helper: a test of the helper is not a test of training.
const TRAINER: &str = r#"from sklearn.linear_model import LogisticRegression


def default_params():
    return {"C": 1.0}


def train_model(x, y):
    model = LogisticRegression(**default_params())
    model.fit(x, y)
    return model


def run(x, y):
    return train_model(x, y)
"#;

const TEST_TRAINER_HELPER: &str = r#"from churn.trainer import default_params


def test_defaults():
    assert default_params()["C"] == 1.0
"#;

const TEST_TRAINER_RUN: &str = r#"from churn import trainer


def test_run_fits():
    model = trainer.run([[0], [1], [0], [1]], [0, 1, 0, 1])
    assert model.predict([[1]])[0] == 1
"#;

const CI: &str = "name: ci\non: [pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest tests\n";

/// Trains on a sample, evaluates with a gate, then registers and deploys.
const RELEASE: &str = "name: release\non:\n  push:\n    branches: [main]\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: python train.py 2000\n      - run: python evaluate.py\n  deploy:\n    needs: train\n    runs-on: ubuntu-latest\n    steps:\n      - run: python register.py\n      - run: kubectl apply -f k8s/scorer.yaml\n";

fn project(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![
        ("src/churn/__init__.py", ""),
        ("src/churn/features.py", FEATURES),
        ("src/churn/model.py", MODEL),
        ("train.py", TRAIN),
        ("evaluate.py", EVALUATE),
        ("register.py", REGISTER),
        ("data/train.csv", "tenure,churned\n3,0\n13,1\n"),
    ];
    files.extend_from_slice(extra);
    files
}

fn test<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{id} in report"))
}

/// The evidence of `id` found by the rule labelled `what`.
fn by_rule<'a>(report: &'a Value, id: &str, what: &str) -> Vec<&'a Value> {
    test(report, id)["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"] == what)
        .collect()
}

#[test]
fn role_rules_score_a_project_with_ci_and_report_hollow_tests() {
    let repo = repo_with(&project(&[
        ("tests/test_features.py", TEST_FEATURES),
        ("tests/test_model.py", TEST_MODEL),
        ("tests/test_data.py", TEST_DATA),
        ("src/churn/trainer.py", TRAINER),
        ("tests/test_trainer_helper.py", TEST_TRAINER_HELPER),
        ("tests/test_trainer_run.py", TEST_TRAINER_RUN),
        (".github/workflows/ci.yml", CI),
        (".github/workflows/release.yml", RELEASE),
    ]));
    let report = json_report(repo.path());

    let feature = by_rule(&report, "data-7", "test of feature code, by role");
    assert_eq!(feature.len(), 1, "{feature:#?}");
    assert_eq!(feature[0]["path"], "tests/test_features.py");
    assert_eq!(feature[0]["line"], 3);
    assert_eq!(
        feature[0]["excerpt"],
        "imports src/churn/features.py (feature)"
    );
    assert_eq!(feature[0]["automated"], true);
    assert_eq!(feature[0]["ci"]["job"], "ci.yml › test");

    let unit = by_rule(
        &report,
        "infra-2",
        "unit test of model or training code, by role",
    );
    assert_eq!(unit[0]["path"], "tests/test_model.py");
    assert_eq!(unit[0]["automated"], true);
    // `run` calls `train_model`, which fits: the test exercises training.
    // The helper's test imports the same file and trains nothing.
    let unit_paths: Vec<&str> = unit.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(
        unit_paths.contains(&"tests/test_trainer_run.py"),
        "{unit_paths:?}"
    );
    assert!(
        !unit_paths.contains(&"tests/test_trainer_helper.py"),
        "{unit_paths:?}"
    );

    let pipeline = by_rule(&report, "infra-3", "training then evaluation, run in order");
    let in_job: Vec<&&Value> = pipeline
        .iter()
        .filter(|e| e["ci"]["job"] == "release.yml › train")
        .collect();
    assert_eq!(in_job.len(), 1, "{pipeline:#?}");
    assert_eq!(in_job[0]["path"], "train.py");
    assert_eq!(in_job[0]["line"], 12);
    assert_eq!(in_job[0]["automated"], true);
    assert!(in_job[0]["excerpt"]
        .as_str()
        .unwrap()
        .contains("training (train.py:12) → evaluation (evaluate.py:14)"));
    assert_eq!(in_job[0]["ci"]["command"], "python evaluate.py");

    // The gate runs in `train`; `deploy` waits for it (`needs: train`).
    let gate = by_rule(&report, "infra-4", "evaluation gate before a deploy step");
    assert_eq!(gate.len(), 1, "{gate:#?}");
    assert_eq!(gate[0]["path"], "evaluate.py");
    assert_eq!(gate[0]["line"], 16);
    assert_eq!(gate[0]["automated"], true);
    assert_eq!(gate[0]["ci"]["job"], "release.yml › deploy");

    let reviewed = by_rule(
        &report,
        "model-1",
        "model or training code checked by CI on each change",
    );
    assert!(reviewed
        .iter()
        .any(|e| e["path"] == "src/churn/model.py" && e["automated"] == true));

    // `test_scale` is hollow: reported where it is, and not evidence.
    let hollow: Vec<(&str, u64, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "hollow-test")
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["line"].as_u64().unwrap(),
                f["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(hollow, vec![("tests/test_features.py", 11, "warning")]);
    let message = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "hollow-test")
        .unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("test `test_scale` asserts only constants"),
        "{message}"
    );

    assert_eq!(report["maturity"]["level"], 2, "{}", report["maturity"]);
    assert_eq!(report["maturity"]["name"], "CI/CD pipeline automation");
    assert_eq!(report["maturity"]["missing"], serde_json::json!([]));
}

#[test]
fn look_alikes_do_not_score_by_role() {
    // CI runs evaluation before training; the deploy job does not wait for
    // the gate; the only feature test asserts a constant; the test of a
    // `feature_flags` module tests no feature code.
    let lookalike_release = "on: [push]\njobs:\n  report:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python evaluate.py\n      - run: python train.py\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: kubectl apply -f k8s/scorer.yaml\n";
    let repo = repo_with(&project(&[
        (
            "tests/test_features.py",
            "from churn.features import add_tenure_bucket\n\n\ndef test_bucket():\n    assert 1 == 1\n",
        ),
        ("src/churn/feature_flags.py", "NEW_BUCKETS = True\n"),
        (
            "tests/test_flags.py",
            "from churn.feature_flags import NEW_BUCKETS\n\n\ndef test_flag():\n    assert NEW_BUCKETS is True\n",
        ),
        (".github/workflows/ci.yml", CI),
        (".github/workflows/release.yml", lookalike_release),
    ]));
    let report = json_report(repo.path());
    assert!(by_rule(&report, "data-7", "test of feature code, by role").is_empty());
    // The keyword rule's hit on the import line stands on a hollow test only.
    assert!(by_rule(
        &report,
        "data-7",
        "test importing the project's feature code"
    )
    .is_empty());
    let pipeline = by_rule(&report, "infra-3", "training then evaluation, run in order");
    assert!(
        pipeline.iter().all(|e| e["automated"] == false),
        "{pipeline:#?}"
    );
    assert!(by_rule(&report, "infra-4", "evaluation gate before a deploy step").is_empty());
    let hollow: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "hollow-test")
        .collect();
    assert_eq!(hollow.len(), 1);
    assert_eq!(hollow[0]["path"], "tests/test_features.py");
    assert_eq!(hollow[0]["line"], 4);
}

#[test]
fn maturity_level_0_without_automation() {
    let repo = repo_with(&project(&[]));
    let report = json_report(repo.path());
    assert_eq!(report["maturity"]["level"], 0);
    assert_eq!(report["maturity"]["name"], "manual process");
    let missing = report["maturity"]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 3, "{missing:#?}");
    assert!(missing[0].as_str().unwrap().contains("infra-3"));
    // Training and evaluation exist, by hand: infra-3 scores 0.5 by role.
    let pipeline = by_rule(&report, "infra-3", "training then evaluation, run in order");
    assert!(pipeline.is_empty() || pipeline.iter().all(|e| e["automated"] == false));
}

#[test]
fn maturity_level_1_with_a_scheduled_validated_pipeline_and_no_ci_tests() {
    let nightly = "name: retrain\non:\n  schedule:\n    - cron: '0 3 * * 1'\njobs:\n  retrain:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests/test_data.py\n      - run: python train.py\n      - run: python evaluate.py\n";
    let repo = repo_with(&project(&[
        ("tests/test_data.py", TEST_DATA),
        (".github/workflows/retrain.yml", nightly),
    ]));
    let report = json_report(repo.path());
    assert_eq!(report["maturity"]["level"], 1, "{}", report["maturity"]);
    assert_eq!(report["maturity"]["name"], "ML pipeline automation");
    let missing: Vec<&str> = report["maturity"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(missing.len(), 3, "{missing:#?}");
    assert!(missing.iter().any(|m| m.contains("infra-2 or data-7")));
    // A scheduled retraining is not a check on changes: model-1 stays manual.
    fn reviewed(report: &Value) -> Vec<&Value> {
        by_rule(
            report,
            "model-1",
            "model or training code checked by CI on each change",
        )
    }
    let scheduled = reviewed(&report);
    assert!(!scheduled.is_empty());
    assert!(scheduled.iter().all(|e| e["automated"] == false));
    let train = scheduled.iter().find(|e| e["path"] == "train.py").unwrap();
    assert_eq!(
        train["ci"]["manual_because"],
        "a check on each change counts, and no push or pull request starts this job"
    );

    // The same job started by pushes as well checks every change; it is the
    // one shown, before a job that runs the training only on a release.
    let also_on_push = nightly.replace("on:\n", "on:\n  push:\n");
    let mut files = project(&[
        ("tests/test_data.py", TEST_DATA),
        (
            ".github/workflows/a-release.yml",
            "on: release\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python train.py\n",
        ),
    ]);
    files.push((".github/workflows/retrain.yml", also_on_push.as_str()));
    let repo = repo_with(&files);
    let report = json_report(repo.path());
    let train = reviewed(&report)
        .into_iter()
        .find(|e| e["path"] == "train.py")
        .expect("train.py is model or training code");
    assert_eq!(train["automated"], true);
    assert_eq!(train["ci"]["job"], "retrain.yml › retrain");
}

#[test]
fn maturity_shows_in_every_format() {
    let repo = repo_with(&project(&[]));
    let run = |format: &str| {
        let out = common::mlscore()
            .args(["check", "--format", format])
            .arg(repo.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("human").contains("MLOps maturity: level 0, manual process"));
    assert!(run("markdown").contains("MLOps maturity: level 0, manual process."));
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    assert_eq!(sarif["runs"][0]["properties"]["maturity"]["level"], 0);
    let junit = run("junit");
    assert!(
        junit.contains("<property name=\"maturity_level\" value=\"0 (manual process)\"/>"),
        "{junit}"
    );
}
