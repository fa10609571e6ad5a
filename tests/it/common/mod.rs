//! Shared helpers of the integration tests: fixture repositories made into
//! real git repositories in temp dirs, and the real mlscore binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use tempfile::TempDir;

/// The mlscore binary, with colour and terminal width fixed for snapshots.
pub fn mlscore() -> Command {
    let mut cmd = Command::cargo_bin("mlscore").expect("binary built by cargo test");
    cmd.env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("GITHUB_ACTIONS");
    cmd
}

/// The folder of the crate (for examples/ and tests/fixtures/).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs git in `dir`, failing the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = StdCommand::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes `dir` a git repository with everything committed.
pub fn commit_all(dir: &Path, message: &str) {
    if !dir.join(".git").exists() {
        git(dir, &["init", "-q", "-b", "main"]);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// A git repository holding the given files, committed.
pub fn repo_with(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    commit_all(dir.path(), "fixture");
    dir
}

/// A git repository holding a copy of a folder of the crate (e.g. `examples/mature`).
pub fn repo_from(folder: &str) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    copy_tree(&crate_dir().join(folder), dir.path());
    commit_all(dir.path(), "fixture");
    dir
}

/// Writes a file, creating its folders.
pub fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).expect("create dirs");
    }
    std::fs::write(full, text).expect("write file");
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk fixture");
        let rel = entry.path().strip_prefix(from).expect("under root");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Runs `mlscore check --format json` on `dir` and parses the report.
pub fn json_report(dir: &Path) -> serde_json::Value {
    let out = mlscore()
        .args(["check", "--format", "json"])
        .arg(dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON report")
}

/// The points of each test in a JSON report, as `(id, points, status)`.
pub fn points(report: &serde_json::Value) -> Vec<(String, f64, String)> {
    report["tests"]
        .as_array()
        .expect("tests array")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_string(),
                t["points"].as_f64().unwrap_or(-1.0),
                t["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
