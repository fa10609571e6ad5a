//! What a user sees when `mlscore.yaml` or a check file is wrong: the rendered
//! diagnostic, snapshotted without colour at a fixed width, as rattler-build
//! does. Each names the file, points at the line, and says the fix; each exits 2.

use crate::common::{commit_all, mlscore, write};

/// Runs `mlscore check .` in a repository holding `files`; returns the exit
/// code and standard error.
fn check_with(files: &[(&str, &str)]) -> (i32, String) {
    let repo = tempfile::TempDir::new().unwrap();
    write(repo.path(), "train.py", "import sklearn\n");
    for (path, text) in files {
        write(repo.path(), path, text);
    }
    commit_all(repo.path(), "fixture");
    let out = mlscore()
        .current_dir(repo.path())
        .args(["check", "."])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_top_level_key_suggests_the_right_one() {
    let (code, stderr) = check_with(&[(
        "mlscore.yaml",
        "version: 1\nwaiver:\n  infra-6: {reason: batch}\n",
    )]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("unknown_top_level_key", stderr);
}

#[test]
fn a_probe_duration_typo_is_a_config_error_at_load_time() {
    let (code, stderr) = check_with(&[(
        "mlscore.yaml",
        "probes:\n  staleness:\n    - artifacts: [train.py]\n      max_age: 30dd\n",
    )]);
    assert_eq!(code, 2, "not a probe that could not run: {stderr}");
    insta::assert_snapshot!("probe_duration_typo", stderr);
}

#[test]
fn an_unknown_key_inside_a_probe_is_a_config_error_with_a_suggestion() {
    let (code, stderr) = check_with(&[(
        "mlscore.yaml",
        "probes:\n  pii:\n    - paths: [train.py]\n      alow: ['x']\n",
    )]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("./mlscore.yaml"), "{stderr}");
    assert!(stderr.contains("unknown field `alow`"), "{stderr}");
    assert!(stderr.contains("did you mean `allow`?"), "{stderr}");
    assert!(
        stderr.contains(" 4 │       alow: ['x']"),
        "points at line 4: {stderr}"
    );
}

#[test]
fn a_bad_regex_in_a_probe_is_caught_before_it_runs() {
    let (code, stderr) = check_with(&[(
        "mlscore.yaml",
        "probes:\n  pii:\n    - allow: ['(unclosed']\n",
    )]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("allow: `(unclosed` is not a regular expression"),
        "{stderr}"
    );
    assert!(
        stderr.contains(" 3 │     - allow: ['(unclosed']"),
        "{stderr}"
    );
}

#[test]
fn a_broken_custom_check_file_points_at_its_line() {
    let (code, stderr) = check_with(&[(
        ".mlscore/checks/team-1.yaml",
        "id: team-1\nsection: custom\ntitle: Model cards exist\nasks: x\nevidence:\n  - what: model card\n    filez: [\"**/MODEL_CARD.md\"]\n",
    )]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(".mlscore/checks/team-1.yaml"), "{stderr}");
    assert!(stderr.contains("unknown field `filez`"), "{stderr}");
    assert!(
        stderr.contains(" 7 │     filez:"),
        "points at line 7: {stderr}"
    );
}
