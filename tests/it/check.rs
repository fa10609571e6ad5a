//! `mlscore check`, `list`, `explain` and `init` driven through the real binary
//! on real git repositories made in temp dirs.

use crate::common;

use common::{json_report, mlscore, repo_with, write};
use predicates::prelude::*;

const WORKFLOW: &str = "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest tests/data\n";

#[test]
fn evidence_run_by_ci_is_automated_and_links_the_job() {
    let repo = repo_with(&[
        (".github/workflows/ci.yml", WORKFLOW),
        (
            "tests/data/test_schema.py",
            "import pandera as pa\n\nschema = pa.DataFrameSchema({})\n",
        ),
        ("tests/other/test_schema.py", "import pandera as pa\n"),
    ]);
    let report = json_report(repo.path());
    let data1 = &report["tests"][0];
    assert_eq!(data1["id"], "data-1");
    assert_eq!(data1["points"], 1.0);
    assert_eq!(data1["status"], "automated");
    let first = &data1["evidence"][0];
    assert_eq!(first["path"], "tests/data/test_schema.py");
    assert_eq!(first["line"], 1);
    assert_eq!(first["automated"], true);
    assert_eq!(first["ci"]["job"], "ci.yml › test");
    assert_eq!(first["ci"]["command"], "pytest tests/data");
    assert_eq!(first["ci"]["command_file"], ".github/workflows/ci.yml");
    assert_eq!(first["ci"]["command_line"], 8);
    // The same import outside what CI runs is evidence too, but manual.
    let other = data1["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "tests/other/test_schema.py")
        .expect("listed");
    assert_eq!(other["automated"], false);
}

/// A workflow that names its folder once in `env:` and goes there with `cd`
/// runs the tests in that folder, and is credited with them; one whose
/// folder comes from a secret is not. So does one that writes the workspace
/// expression in its `cd`.
#[test]
fn a_folder_named_in_workflow_env_places_the_tests_run_there() {
    let workflow = |root: &str| {
        format!("on: [push, pull_request]\nenv:\n  PKG_ROOT: {root}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          cd \"${{PKG_ROOT}}\"\n          pytest ./tests\n")
    };
    let test = (
        "pkg/python/tests/test_schema.py",
        "import pandera as pa\n\nschema = pa.DataFrameSchema({})\n",
    );
    let known = workflow("${{ github.workspace }}/pkg/python");
    let repo = repo_with(&[(".github/workflows/ci.yml", known.as_str()), test]);
    let data1 = &json_report(repo.path())["tests"][0];
    assert_eq!(data1["status"], "automated");
    assert_eq!(data1["evidence"][0]["ci"]["command"], "pytest ./tests");
    assert_eq!(data1["evidence"][0]["ci"]["command_line"], 10);

    let secret = workflow("${{ secrets.PKG_ROOT }}");
    let repo = repo_with(&[(".github/workflows/ci.yml", secret.as_str()), test]);
    assert_eq!(json_report(repo.path())["tests"][0]["status"], "manual");

    // The workspace written in the block itself, as Actions expands it.
    let direct = "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          cd ${{ github.workspace }}/pkg/python\n          pytest ./tests\n";
    let repo = repo_with(&[(".github/workflows/ci.yml", direct), test]);
    let data1 = &json_report(repo.path())["tests"][0];
    assert_eq!(data1["status"], "automated");
    assert_eq!(data1["evidence"][0]["ci"]["command_line"], 8);
}

#[test]
fn evidence_no_ci_runs_is_manual() {
    let repo = repo_with(&[("tests/data/test_schema.py", "import pandera as pa\n")]);
    let report = json_report(repo.path());
    assert_eq!(report["tests"][0]["points"], 0.5);
    assert_eq!(report["tests"][0]["status"], "manual");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["score"]["final"], 0.0);
    assert_eq!(report["score"]["band"], "research-project");
}

#[test]
fn waivers_are_scored_as_configured_and_shown_with_their_reason() {
    let repo = repo_with(&[(
        "mlscore.yaml",
        "version: 1\nwaivers:\n  infra-6:\n    reason: Batch scoring only; no model is served online.\n    points: 1\n",
    )]);
    let report = json_report(repo.path());
    let infra6 = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "infra-6")
        .unwrap()
        .clone();
    assert_eq!(infra6["status"], "waived");
    assert_eq!(infra6["points"], 1.0);
    assert_eq!(
        infra6["waiver"]["reason"],
        "Batch scoring only; no model is served online."
    );
    assert_eq!(report["config"]["path"], "mlscore.yaml");
    mlscore()
        .args(["check"])
        .arg(repo.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "waived: Batch scoring only; no model is served online.",
        ));
}

#[test]
fn output_file_receives_the_report_and_stdout_stays_empty() {
    let repo = repo_with(&[("README.md", "# x\n")]);
    let out = repo.path().join("report.json");
    mlscore()
        .args(["check", "--format", "json", "--output"])
        .arg(&out)
        .arg(repo.path())
        .assert()
        .success()
        .stdout("");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(report["tests"].as_array().unwrap().len(), 28);
    assert_eq!(report["sections"].as_array().unwrap().len(), 4);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let repo = repo_with(&[("README.md", "# x\n")]);
    let plain = mlscore().arg("check").arg(repo.path()).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));
    let coloured = mlscore()
        .args(["check", "--color", "always"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&coloured.stdout).contains("\u{1b}["));
}

#[test]
fn custom_checks_are_reported_apart_and_never_change_the_score() {
    let custom = "id: team-oncall\nsection: custom\ntitle: Every service has an on-call page\nasks: An on-call page says who answers alerts.\nevidence:\n  - what: on-call page\n    files: [\"**/ONCALL.md\"]\n";
    let missing = custom
        .replace("team-oncall", "team-datasheet")
        .replace("ONCALL", "DATASHEET");
    let repo = repo_with(&[
        (".mlscore/checks/oncall.yaml", custom),
        (".mlscore/checks/datasheet.yaml", &missing),
        ("docs/ONCALL.md", "# On call\n"),
    ]);
    let report = json_report(repo.path());
    let custom = report["custom_checks"].as_array().unwrap();
    assert_eq!(custom.len(), 2);
    let oncall = custom.iter().find(|c| c["id"] == "team-oncall").unwrap();
    assert_eq!(oncall["evidence"][0]["path"], "docs/ONCALL.md");
    assert_eq!(oncall["points"], 0.5);
    assert_eq!(report["findings"][0]["check"], "team-datasheet");
    assert_eq!(report["findings"][0]["level"], "warning");
    assert!(report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["score"] == 0.0));
}

#[test]
fn invalid_custom_check_is_an_input_error_naming_file_and_line() {
    let bad = "id: mine\nsection: custom\ntitle: t\nasks: a\nevidence:\n  - what: x\n    files: [\"a/**\"]\n    contains: '(?=look)'\n";
    let repo = repo_with(&[(".mlscore/checks/mine.yaml", bad)]);
    mlscore()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mine.yaml"))
        .stderr(predicate::str::contains("is not a valid regex"))
        .stderr(predicate::str::contains(":8:"))
        .stderr(predicate::str::contains("no look-around"));
}

#[test]
fn custom_check_may_not_take_a_rubric_id_or_section() {
    let bad = "id: data-1\nsection: custom\ntitle: t\nasks: a\nevidence:\n  - what: x\n    files: [\"a/**\"]\n";
    let repo = repo_with(&[(".mlscore/checks/dup.yaml", bad)]);
    mlscore()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already taken"));
    let bad = bad
        .replace("id: data-1", "id: mine")
        .replace("section: custom", "section: data");
    let repo = repo_with(&[(".mlscore/checks/dup.yaml", &bad)]);
    mlscore()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reserved for the rubric"));
}

#[test]
fn malformed_config_yaml_is_an_input_error_with_its_line() {
    let repo = repo_with(&[(
        "mlscore.yaml",
        "version: 1\nscan:\n  exclude: [data/raw/**\n  include: x\n",
    )]);
    mlscore()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mlscore.yaml"))
        .stderr(predicate::str::contains("YAML syntax"));
}

#[test]
fn unknown_config_key_names_the_key_the_line_and_the_fix() {
    let repo = repo_with(&[(
        "mlscore.yaml",
        "version: 1\nwaiver:\n  infra-6:\n    reason: x\n",
    )]);
    mlscore()
        .arg("check")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field `waiver`"))
        .stderr(predicate::str::contains("mlscore.yaml:2:1"))
        .stderr(predicate::str::contains("did you mean `waivers`"));
}

#[test]
fn explicit_config_that_does_not_exist_is_an_input_error() {
    let repo = repo_with(&[("README.md", "x")]);
    mlscore()
        .args(["check", "--config", "/nonexistent/mlscore.yaml"])
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/mlscore.yaml",
        ));
}

#[test]
fn missing_repository_is_an_input_error() {
    mlscore()
        .args(["check", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/definitely/not/here: no such directory",
        ));
}

#[test]
fn usage_errors_exit_2() {
    mlscore()
        .args(["check", "--format", "yaml"])
        .assert()
        .code(2);
    mlscore().arg("frobnicate").assert().code(2);
    mlscore().arg("--help").assert().success();
}

#[cfg(unix)]
#[test]
fn symlink_loops_broken_links_and_strange_names_are_warnings_not_failures() {
    use std::os::unix::ffi::OsStrExt;
    let repo = repo_with(&[("tests/data/test_schema.py", "import pandera\n")]);
    let root = repo.path();
    std::os::unix::fs::symlink(root.join("tests"), root.join("tests/data/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("missing.txt"), root.join("broken.txt")).unwrap();
    std::os::unix::fs::symlink("/usr", root.join("outside")).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    std::fs::write(root.join(odd), "import pandera\n").unwrap();
    let out = mlscore()
        .args(["check", "--format", "json"])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("symbolic link loop"), "{warnings}");
    assert!(warnings.contains("broken.txt"), "{warnings}");
    assert!(
        warnings.contains("points outside the repository"),
        "{warnings}"
    );
    assert!(warnings.contains("not valid UTF-8"), "{warnings}");
    // The scan went on: the real evidence is still found.
    assert_eq!(report["tests"][0]["points"], 0.5);
}

#[test]
fn binary_and_oversized_files_are_indexed_by_name_but_not_read() {
    let repo = repo_with(&[("mlscore.yaml", "scan:\n  max_file_size: 1KiB\n")]);
    write(
        repo.path(),
        "tests/test_big.py",
        &format!("import pandera\n{}", "# padding\n".repeat(200)),
    );
    std::fs::write(
        repo.path().join("tests/test_bin.py"),
        b"import pandera\n\0\0binary",
    )
    .unwrap();
    let report = json_report(repo.path());
    assert_eq!(report["tests"][0]["points"], 0.0, "{}", report["tests"][0]);
    assert_eq!(report["files_indexed"], 3);
}

#[test]
fn gitignored_and_excluded_paths_are_not_scanned_unless_included() {
    let repo = repo_with(&[
        (".gitignore", "scratch/\n"),
        ("scratch/test_a.py", "import pandera\n"),
        ("vendor/test_b.py", "import pandera\n"),
    ]);
    assert_eq!(
        json_report(repo.path())["tests"][0]["evidence"][0]["path"],
        "vendor/test_b.py"
    );
    write(
        repo.path(),
        "mlscore.yaml",
        "scan:\n  exclude: [\"vendor/**\"]\n  include: [\"scratch/**\"]\n",
    );
    let report = json_report(repo.path());
    let paths: Vec<&str> = report["tests"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["scratch/test_a.py"]);
}

#[test]
fn list_prints_28_tests() {
    let out = mlscore().arg("list").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with(['d', 'm', 'i']) && l.contains('-'))
            .count(),
        28
    );
    let json = mlscore().args(["list", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 28);
    assert_eq!(rows[27]["id"], "monitor-7");
}

#[test]
fn explain_prints_the_check_and_suggests_on_typos() {
    mlscore()
        .args(["explain", "model-5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("What it asks"))
        .stdout(predicate::str::contains("Why it matters"))
        .stdout(predicate::str::contains("How to earn 0.5"))
        .stdout(predicate::str::contains("How to earn 1"))
        .stdout(predicate::str::contains("What mlscore looks for"));
    // Evidence that stays manual says why.
    mlscore()
        .args(["explain", "infra-4"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(0.5 point at most)\n      manual even when CI runs it: a diff posted for a person to read",
        ));
    mlscore()
        .args(["explain", "modle-5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `model-5`"));
}

#[test]
fn init_writes_a_fitted_config_and_refuses_to_overwrite() {
    let repo = repo_with(&[
        (".github/workflows/ci.yml", WORKFLOW),
        ("data/train.csv", "a,b\n1,2\n"),
        ("dvc.yaml", "stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n      - reports/metrics.json:\n          cache: false\n"),
    ]);
    mlscore()
        .arg("init")
        .arg(repo.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("1 datasets, 1 metric files"));
    let text = std::fs::read_to_string(repo.path().join("mlscore.yaml")).unwrap();
    assert!(text.contains("#   data/train.csv"));
    assert!(text.contains("#   reports/metrics.json"));
    assert!(text.contains("GitHub Actions (.github/workflows/ci.yml: 1 jobs)"));
    mlscore()
        .arg("init")
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    mlscore()
        .args(["init", "--force"])
        .arg(repo.path())
        .assert()
        .success();
    // What init writes, check reads.
    let report = json_report(repo.path());
    assert_eq!(report["config"]["path"], "mlscore.yaml");
}

/// The reports say why evidence a CI job reaches is still manual: the job
/// waits for a person, or the rule counts what the job does as something a
/// person acts on (a metrics diff posted to a pull request).
#[test]
fn manual_evidence_says_whether_its_job_is_manual_or_the_rule_counts_it_by_hand() {
    let repo = repo_with(&[
        (
            ".github/workflows/metrics.yml",
            "on: pull_request\njobs:\n  diff:\n    runs-on: ubuntu-latest\n    steps:\n      - run: dvc metrics diff --md main\n      - run: dvc exp diff main\n",
        ),
        (
            ".github/workflows/data.yml",
            "on: workflow_dispatch\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests/data\n",
        ),
        ("tests/data/test_schema.py", "import pandera as pa\n"),
    ]);
    let report = json_report(repo.path());
    let evidence_of = |id: &str| {
        let test = report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap();
        test["evidence"][0].clone()
    };
    let diff = evidence_of("infra-4");
    assert_eq!(diff["automated"], false);
    assert_eq!(diff["ci"]["automatic"], true);
    let why = "a diff posted for a person to read informs the merge; it does not stop a worse model by itself";
    assert_eq!(diff["ci"]["manual_because"], why);
    let schema = evidence_of("data-1");
    assert_eq!(schema["automated"], false);
    assert_eq!(schema["ci"]["automatic"], false);
    // A manual job is reason enough.
    assert!(schema["ci"].get("manual_because").is_none());

    let rendered = |args: &[&str]| {
        let out = mlscore()
            .arg("check")
            .args(args)
            .arg(repo.path())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let human = rendered(&["--color", "never"]);
    assert!(
        human.contains("counted as manual, though run by GitHub Actions › metrics.yml › diff"),
        "{human}"
    );
    // Said once, under the first of the two commands it explains.
    assert_eq!(human.matches(&format!("why: {why}")).count(), 1, "{human}");
    assert!(
        human.contains("reached only by a manual job GitHub Actions › data.yml › check"),
        "{human}"
    );

    let junit = rendered(&["--format", "junit"]);
    assert!(
        junit.contains("(counted as manual, though run by GitHub Actions › metrics.yml › diff at"),
        "{junit}"
    );
    assert!(
        junit.contains(":6: a diff posted for a person to read informs the merge"),
        "{junit}"
    );

    // The pull-request comment says the same.
    let markdown = rendered(&["--format", "markdown"]);
    assert!(
        markdown.contains(&format!(
            "· counted as manual, though run by GitHub Actions › metrics.yml › diff ({why})"
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains("· reached only by a manual job: GitHub Actions › data.yml › check"),
        "{markdown}"
    );
}
