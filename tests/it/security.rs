//! A hostile repository cannot make mlscore read outside it, nor forge a CI
//! runner's workflow command or hide text from a reviewer through its reports.
//! Each test plants the attack in a real git repository and reads every
//! output a user or a runner would.

use std::os::unix::fs::symlink;
use std::path::Path;

use tempfile::TempDir;

use crate::common::{commit_all, mlscore, write};

/// What a secret outside the repository holds; it must never be printed.
const SECRET: &str = "hunter2-outside-secret";

/// A folder beside the repository with a secret CSV in it.
fn outside() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "secret.csv",
        &format!("token,email\n{SECRET},ceo@example.com\n{SECRET},cfo@example.com\n"),
    );
    dir
}

/// Every output of `mlscore check` for `repo`: the human report, the
/// Markdown comment, JSON, SARIF and JUnit, and standard error.
fn all_outputs(repo: &Path) -> (i32, String) {
    let reports = TempDir::new().unwrap();
    let out = mlscore()
        .arg("check")
        .arg(repo)
        .args(["--color", "never", "-f", "human"])
        .arg("-o")
        .arg(format!(
            "markdown={}",
            reports.path().join("c.md").display()
        ))
        .arg("-o")
        .arg(format!("json={}", reports.path().join("r.json").display()))
        .arg("-o")
        .arg(format!(
            "sarif={}",
            reports.path().join("r.sarif").display()
        ))
        .arg("-o")
        .arg(format!("junit={}", reports.path().join("r.xml").display()))
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    for name in ["c.md", "r.json", "r.sarif", "r.xml"] {
        text.push_str(&std::fs::read_to_string(reports.path().join(name)).unwrap_or_default());
    }
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn probes_never_read_through_links_or_paths_outside_the_repository() {
    let away = outside();
    let repo = TempDir::new().unwrap();
    let root = repo.path();
    write(root, "data/train.csv", "a,label\n1,0\n2,1\n3,0\n");
    symlink(away.path().join("secret.csv"), root.join("data/creds.csv")).unwrap();
    symlink(away.path(), root.join("data/away")).unwrap();
    let relative = format!(
        "../{}/secret.csv",
        away.path().file_name().unwrap().to_string_lossy()
    );
    write(
        root,
        "mlscore.yaml",
        &format!(
            "probes:\n  features:\n    - data: data/creds.csv\n    - data: \"{relative}\"\n    - data: data/away/secret.csv\n  pii:\n    - paths: [data/creds.csv, \"{relative}\", \"data/**/*.csv\"]\n  stability:\n    - files: [data/creds.csv]\n"
        ),
    );
    commit_all(root, "links");
    let (code, text) = all_outputs(root);
    assert!(
        !text.contains(SECRET),
        "a secret from outside leaked:\n{text}"
    );
    assert!(!text.contains("ceo@"), "{text}");
    assert!(
        text.contains("is a symbolic link to a file outside the repository"),
        "the refusal is said: {text}"
    );
    assert!(text.contains("points outside the repository"), "{text}");
    assert_ne!(code, 101, "no panic");
}

#[test]
fn git_internals_are_never_read_as_data() {
    let repo = TempDir::new().unwrap();
    let root = repo.path();
    write(root, "data/train.csv", "a\n1\n");
    commit_all(root, "init");
    // git's config holds remotes with credentials, and hooks.
    let config = root.join(".git/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[remote \"origin\"]\n\turl = https://x:{SECRET}@example.com/r.git\n"
    ));
    std::fs::write(&config, text).unwrap();
    symlink(root.join(".git/config"), root.join("data/config.csv")).unwrap();
    symlink("../.git", root.join("data/gitdir")).unwrap();
    write(
        root,
        "mlscore.yaml",
        "probes:\n  pii:\n    - paths: [data/config.csv, \"data/**\", .git/config, data/gitdir/config]\n  features:\n    - data: .git/config\n",
    );
    commit_all(root, "links into .git");
    let (_, text) = all_outputs(root);
    assert!(!text.contains(SECRET), "git's config leaked:\n{text}");
    assert!(text.contains("inside git's own `.git` folder"), "{text}");
}

#[test]
fn a_config_linked_from_outside_is_refused() {
    let away = outside();
    write(
        away.path(),
        "mlscore.yaml",
        &format!("version: 1\n{SECRET}: [\n"),
    );
    let repo = TempDir::new().unwrap();
    symlink(
        away.path().join("mlscore.yaml"),
        repo.path().join("mlscore.yaml"),
    )
    .unwrap();
    commit_all(repo.path(), "linked config");
    let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
    assert!(stderr.contains("outside the repository"), "{stderr}");
}

/// Text a repository can choose: a line break then a workflow command, an
/// Azure Pipelines logging command, a terminal escape, a carriage return and
/// a right-to-left override.
const PAYLOAD: &str =
    "x\n::warning file=README.md::INJECTED\r\u{1b}[2J##vso[task.setvariable variable=A]1 \u{202e}gpj.exe";

/// No line of `text` is a command a CI runner would obey, and no hazard
/// character survives.
fn assert_inert(what: &str, text: &str) {
    for line in text.lines() {
        let start = line.trim_start();
        assert!(
            !(start.starts_with("::") && start.contains("INJECTED")),
            "{what}: forged command: {line:?}"
        );
        assert!(!line.contains("##vso["), "{what}: {line:?}");
        assert!(!line.contains("##["), "{what}: {line:?}");
        assert!(
            !line
                .chars()
                .any(|c| c == '\u{1b}' || c == '\r' || c == '\u{202e}'),
            "{what}: hazard in {line:?}"
        );
    }
}

#[test]
fn repository_text_never_becomes_a_workflow_command_or_an_escape() {
    let repo = TempDir::new().unwrap();
    let root = repo.path();
    let key = serde_json::to_string(PAYLOAD).unwrap();
    write(
        root,
        "metrics.json",
        &format!("{{{key}: 1, \"auc\": 0.9}}\n"),
    );
    write(
        root,
        "mlscore.yaml",
        &format!(
            "waivers:\n  infra-6:\n    reason: {}\n",
            serde_json::to_string(PAYLOAD).unwrap()
        ),
    );
    // A folder named like a command: evidence paths start report lines.
    write(
        root,
        "::error::INJECTED/test_model.py",
        "import pytest\n\ndef test_fit():\n    assert train(1) > 0\n",
    );
    commit_all(root, "hostile names");
    write(
        root,
        "metrics.json",
        &format!("{{{key}: 2, \"auc\": 0.8}}\n"),
    );

    let (_, text) = all_outputs(root);
    assert_inert("check", &text);

    let out = mlscore()
        .arg("diff")
        .arg(root)
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert_inert("diff stdout", &String::from_utf8_lossy(&out.stdout));
    assert_inert("diff stderr", &String::from_utf8_lossy(&out.stderr));

    // In GitHub Actions with nothing posted: the human report and the
    // annotations mlscore emits itself, on one log.
    let out = mlscore()
        .arg("ci")
        .arg(root)
        .args(["--no-post", "--color", "never"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/models")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_SHA", "1111111111111111111111111111111111111111")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_inert("ci log", &log);
    assert!(
        log.contains("INJECTED"),
        "the text is shown, not dropped: {log}"
    );
}

#[test]
fn config_errors_quote_repository_text_inertly() {
    let repo = TempDir::new().unwrap();
    write(
        repo.path(),
        "mlscore.yaml",
        &format!(
            "version: 1\n{}: true\n",
            serde_json::to_string(PAYLOAD).unwrap()
        ),
    );
    commit_all(repo.path(), "bad key");
    let out = mlscore().arg("check").arg(repo.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_inert("config error", &stderr);
}
