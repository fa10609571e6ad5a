//! `mlscore hook install|uninstall`: the pre-push hook is written where git
//! looks, really runs on `git push` to a local bare remote, refuses a push when
//! the gate fails, chains another tool's hook instead of overwriting it, and
//! uninstalls only its own.

use crate::common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use common::{commit_all, git, mlscore, repo_with, write};
use tempfile::TempDir;

const MARKER: &str = "# mlscore:pre-push-hook";

/// PATH with the mlscore under test first: the hook calls `mlscore` from PATH.
fn path_with_mlscore() -> OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_mlscore"))
        .parent()
        .expect("binary folder")
        .to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest)))
        .expect("joinable PATH")
}

/// Runs `git push ARGS` in `dir` with mlscore on PATH; the caller judges it.
fn push(dir: &Path, args: &[&str]) -> Output {
    StdCommand::new("git")
        .arg("push")
        .args(args)
        .current_dir(dir)
        .env("PATH", path_with_mlscore())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("git push runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A bare repository made `origin` of `repo`.
fn bare_origin(repo: &Path) -> TempDir {
    let remote = TempDir::new().expect("temp dir");
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    git(
        repo,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    remote
}

fn hook_path(repo: &Path) -> PathBuf {
    repo.join(".git/hooks/pre-push")
}

fn chained_path(repo: &Path) -> PathBuf {
    repo.join(".git/hooks/pre-push.mlscore-chained")
}

fn install(repo: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    mlscore()
        .args(["hook", "install"])
        .arg(repo)
        .args(extra)
        .assert()
}

fn uninstall(repo: &Path) -> assert_cmd::assert::Assert {
    mlscore().args(["hook", "uninstall"]).arg(repo).assert()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A hook of another tool that records its arguments and standard input in
/// `log` and exits with `code`.
fn foreign_hook(log: &Path, code: i32) -> String {
    format!(
        "#!/bin/sh\n# another tool's hook\nprintf 'args: %s\\n' \"$*\" > '{log}'\ncat >> '{log}'\nexit {code}\n",
        log = log.display()
    )
}

fn put_hook(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    set_mode(path, 0o755);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_writes_an_executable_hook_marked_as_mlscores() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    install(repo.path(), &[])
        .success()
        .stdout(predicates::str::contains(
            "installed mlscore's pre-push hook",
        ))
        .stdout(predicates::str::contains("git push --no-verify"));
    let hook = hook_path(repo.path());
    let text = read(&hook);
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(text.lines().any(|l| l == MARKER), "{text}");
    assert!(text.contains("\nscope='.'\n"), "{text}");
    assert_eq!(mode(&hook), 0o755);

    // Installing again finds its own hook: no chaining of itself.
    install(repo.path(), &[])
        .success()
        .stdout(predicates::str::contains("up to date"));
    assert!(!chained_path(repo.path()).exists());

    // An older version of mlscore's hook is updated in place.
    std::fs::write(&hook, format!("#!/bin/sh\n{MARKER}\nexit 0\n")).unwrap();
    install(repo.path(), &[])
        .success()
        .stdout(predicates::str::contains("updated mlscore's pre-push hook"));
    assert_eq!(read(&hook), text);
    assert!(!chained_path(repo.path()).exists());
}

#[test]
fn the_hook_runs_on_push_and_refuses_a_failing_gate() {
    let repo = repo_with(&[
        ("README.md", "# model\n"),
        ("metrics.json", "{\"auc\": 0.9}\n"),
    ]);
    let _remote = bare_origin(repo.path());
    install(repo.path(), &[]).success();

    // The first push has no upstream yet: the score alone, which passes.
    let out = push(repo.path(), &["-q", "-u", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("checking . alone"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Gate: passed"), "{}", stderr(&out));

    // A change that keeps the gate passing is checked against the upstream.
    write(repo.path(), "metrics.json", "{\"auc\": 0.91}\n");
    commit_all(repo.path(), "better model");
    let out = push(repo.path(), &["-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("checking . against origin/main"),
        "{}",
        stderr(&out)
    );

    // A gate that cannot pass refuses the push, and says how to skip it.
    write(repo.path(), "mlscore.yaml", "gate:\n  min_score: 7\n");
    commit_all(repo.path(), "strict gate");
    let out = push(repo.path(), &["-q"]);
    assert!(!out.status.success(), "the push went through");
    let err = stderr(&out);
    assert!(err.contains("Gate: failed"), "{err}");
    assert!(
        err.contains("the gate failed, so the push was refused"),
        "{err}"
    );
    assert!(err.contains("git push --no-verify"), "{err}");
    let local = git(repo.path(), &["rev-parse", "HEAD"]);
    let pushed = git(repo.path(), &["rev-parse", "origin/main"]);
    assert_ne!(local, pushed, "the refused commit reached the remote");

    // --no-verify skips the hook, as the message says.
    let out = push(repo.path(), &["-q", "--no-verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_failing_probe_refuses_the_push_unless_probes_are_skipped_for_it() {
    let repo = repo_with(&[
        ("eval/metrics.json", "{\"auc\": NaN}\n"),
        (
            "mlscore.yaml",
            "probes:\n  stability:\n    - files: eval/metrics.json\n",
        ),
    ]);
    let _remote = bare_origin(repo.path());
    install(repo.path(), &[]).success();
    let out = push(repo.path(), &["-q", "-u", "origin", "main"]);
    assert!(!out.status.success(), "a NaN metric went through");
    let err = stderr(&out);
    assert!(err.contains("✗ stability"), "{err}");
    assert!(err.contains("eval/metrics.json: auc = NaN"), "{err}");

    let out = StdCommand::new("git")
        .args(["push", "-q", "-u", "origin", "main"])
        .current_dir(repo.path())
        .env("PATH", path_with_mlscore())
        .env("NO_COLOR", "1")
        .env("MLSCORE_PRE_PUSH_ARGS", "--no-probes")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("✗ stability"), "{err}");
    assert!(
        err.contains("stability probe configured for mlscore"),
        "{err}"
    );
}

#[test]
fn another_hook_is_refused_without_force_then_chained_and_restored() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    let _remote = bare_origin(repo.path());
    let logs = TempDir::new().unwrap();
    let log = logs.path().join("foreign-ran");
    let foreign = foreign_hook(&log, 0);
    let hook = hook_path(repo.path());
    put_hook(&hook, &foreign);

    install(repo.path(), &[])
        .code(2)
        .stderr(predicates::str::contains("another tool's pre-push hook"))
        .stderr(predicates::str::contains("--force"));
    assert_eq!(read(&hook), foreign, "a refused install changed the hook");

    install(repo.path(), &["--force"])
        .success()
        .stdout(predicates::str::contains("moved to"))
        .stdout(predicates::str::contains("pre-push.mlscore-chained"));
    assert_eq!(read(&chained_path(repo.path())), foreign);
    assert!(read(&hook).contains(MARKER));

    // Both hooks run: the chained one first, with git's arguments and input.
    let out = push(repo.path(), &["-q", "-u", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Gate: passed"), "{}", stderr(&out));
    let ran = read(&log);
    let head = git(repo.path(), &["rev-parse", "HEAD"]);
    assert!(ran.starts_with("args: origin "), "{ran}");
    assert!(
        ran.contains(&format!(
            "refs/heads/main {} refs/heads/main {}",
            head.trim(),
            "0".repeat(40)
        )),
        "{ran}"
    );

    // Reinstalling keeps the chain as it is.
    install(repo.path(), &["--force"])
        .success()
        .stdout(predicates::str::contains("up to date"));
    assert_eq!(read(&chained_path(repo.path())), foreign);

    uninstall(repo.path())
        .success()
        .stdout(predicates::str::contains("put back the hook it chained"));
    assert_eq!(read(&hook), foreign);
    assert_eq!(mode(&hook), 0o755);
    assert!(!chained_path(repo.path()).exists());

    // The hook left is not mlscore's: uninstall leaves it alone.
    uninstall(repo.path())
        .success()
        .stdout(predicates::str::contains(
            "is not mlscore's hook; left it in place",
        ));
    assert_eq!(read(&hook), foreign);
}

#[test]
fn a_failing_chained_hook_refuses_the_push_before_mlscore_runs() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    let remote = bare_origin(repo.path());
    let logs = TempDir::new().unwrap();
    put_hook(
        &hook_path(repo.path()),
        &foreign_hook(&logs.path().join("ran"), 3),
    );
    install(repo.path(), &["--force"]).success();

    let out = push(repo.path(), &["-q", "origin", "main"]);
    assert!(!out.status.success(), "the push went through");
    let err = stderr(&out);
    assert!(err.contains("the chained pre-push hook"), "{err}");
    assert!(err.contains("(exit 3)"), "{err}");
    assert!(!err.contains("mlscore: checking"), "{err}");
    let refs = git(remote.path(), &["for-each-ref"]);
    assert!(refs.trim().is_empty(), "the remote got {refs}");
}

#[test]
fn a_chained_hook_that_is_not_executable_stays_off() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    let logs = TempDir::new().unwrap();
    let log = logs.path().join("ran");
    let hook = hook_path(repo.path());
    put_hook(&hook, &foreign_hook(&log, 1));
    set_mode(&hook, 0o644);
    install(repo.path(), &["--force"])
        .success()
        .stdout(predicates::str::contains("is not executable"));
    let _remote = bare_origin(repo.path());
    let out = push(repo.path(), &["-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !log.exists(),
        "git never ran that hook; neither should mlscore's"
    );
}

#[test]
fn uninstall_without_a_hook_does_nothing_and_says_so() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    uninstall(repo.path())
        .success()
        .stdout(predicates::str::contains("no mlscore pre-push hook"))
        .stdout(predicates::str::contains("nothing to do"));
    assert!(!hook_path(repo.path()).exists());

    install(repo.path(), &[]).success();
    uninstall(repo.path())
        .success()
        .stdout(predicates::str::contains("removed mlscore's pre-push hook"));
    assert!(!hook_path(repo.path()).exists());
}

#[test]
fn core_hooks_path_is_honoured() {
    let repo = repo_with(&[("README.md", "# model\n")]);
    git(repo.path(), &["config", "core.hooksPath", ".githooks"]);
    install(repo.path(), &[]).success();
    let hook = repo.path().join(".githooks/pre-push");
    assert!(read(&hook).contains(MARKER));
    assert!(!hook_path(repo.path()).exists());

    // Installing from a subfolder still finds the hooks folder at the top.
    std::fs::create_dir_all(repo.path().join("sub")).unwrap();
    install(&repo.path().join("sub"), &[]).success();
    assert!(!repo.path().join("sub/.githooks").exists());

    let _remote = bare_origin(repo.path());
    let out = push(repo.path(), &["-q", "origin", "main"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The last install, from the subfolder, scoped the hook to it.
    assert!(
        stderr(&out).contains("checking sub alone"),
        "{}",
        stderr(&out)
    );

    uninstall(repo.path()).success();
    assert!(!hook.exists());
}

#[test]
fn installed_from_a_subfolder_the_hook_checks_that_folder() {
    let repo = repo_with(&[
        ("README.md", "# monorepo\n"),
        ("models/churn/mlscore.yaml", "gate:\n  min_score: 7\n"),
    ]);
    install(&repo.path().join("models/churn"), &[])
        .success()
        .stdout(predicates::str::contains("on models/churn"));
    assert!(read(&hook_path(repo.path())).contains("\nscope='models/churn'\n"));

    let _remote = bare_origin(repo.path());
    let out = push(repo.path(), &["-q", "origin", "main"]);
    assert!(
        !out.status.success(),
        "the churn model's gate was not applied"
    );
    assert!(
        stderr(&out).contains("checking models/churn"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outside_a_repository_or_without_a_writable_hooks_folder_it_fails_clearly() {
    let plain = TempDir::new().unwrap();
    mlscore()
        .args(["hook", "install"])
        .arg(plain.path())
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not inside a git work tree"));
    mlscore()
        .args(["hook", "uninstall"])
        .arg(plain.path().join("missing"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not inside a git work tree"));

    // A hooks path below a file cannot be created, even by root.
    let repo = repo_with(&[("README.md", "# model\n"), ("blocker", "a file\n")]);
    git(repo.path(), &["config", "core.hooksPath", "blocker/hooks"]);
    install(repo.path(), &[])
        .code(2)
        .stderr(predicates::str::contains("cannot create the hooks folder"));
}
