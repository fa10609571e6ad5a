//! `mlscore ci` end to end: the real binary, real git repositories with a base
//! and a head commit, real event payload files, and a stateful fake GitHub
//! API on 127.0.0.1 (tests/it/fake_github). Nothing else is ever contacted: every
//! run points GITHUB_API_URL at the fake.

use crate::common;
use crate::fake_github;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{commit_all, git, mlscore, write};
use fake_github::{FakeGitHub, RateLimit, Recorded, REPO};
use tempfile::TempDir;

const ACTIONS_TOKEN: &str = "ghs_actionsWriteToken0123456789abcdef";
const READ_ONLY_TOKEN: &str = "ghs_forkReadOnlyToken0123456789abcdef";
const PERSONAL_TOKEN: &str = "ghp_jenkinsPersonalToken0123456789ab";
const TOKENS: [&str; 3] = [ACTIONS_TOKEN, READ_ONLY_TOKEN, PERSONAL_TOKEN];
const BOT: &str = "github-actions[bot]";
const MARKER: &str = "<!-- mlscore:report -->";
const PR: u64 = 5;
/// What GITHUB_SHA is on `pull_request`: a test merge commit GitHub made.
const MERGE_SHA: &str = "9999999999999999999999999999999999999999";

const CONFIG: &str =
    "metrics:\n  policies:\n    eval.auc: {direction: higher, min: 0.8, max_regression: 0.02}\n";

fn auc(value: f64) -> String {
    format!("{{\"eval\": {{\"auc\": {value}}}}}\n")
}

/// Variables of the machine running the tests that would change the context.
const CONTEXT_VARS: [&str; 28] = [
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_TOKEN",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GH_TOKEN",
    "MLSCORE_GITHUB_TOKEN",
    "MLSCORE_COMMENT_AUTHOR",
    "MLSCORE_MAX_RETRY_WAIT",
    "MLSCORE_RETRIES",
    "MLSCORE_NETWORK_DEADLINE",
    "JENKINS_URL",
    "BUILD_URL",
    "CHANGE_ID",
    "CHANGE_TARGET",
    "CHANGE_URL",
    "GIT_URL",
    "GIT_COMMIT",
    "CI_PULL_REQUEST",
    "CI_COMMIT",
    "CI_REPO_OWNER",
    "CI_REPO_NAME",
];

/// A repository whose `main` holds the base commit and whose checked-out
/// `feature` branch holds the head commit; and a folder for the files the
/// CI system hands over (event payload, summary, outputs).
struct PullRequest {
    repo: TempDir,
    work: TempDir,
    base: String,
    head: String,
}

fn pull_request(files_base: &[(&str, &str)], files_head: &[(&str, &str)]) -> PullRequest {
    let repo = TempDir::new().unwrap();
    for (path, text) in files_base {
        write(repo.path(), path, text);
    }
    commit_all(repo.path(), "base");
    let base = rev(repo.path(), "HEAD");
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    for (path, text) in files_head {
        write(repo.path(), path, text);
    }
    commit_all(repo.path(), "head");
    let head = rev(repo.path(), "HEAD");
    PullRequest {
        repo,
        work: TempDir::new().unwrap(),
        base,
        head,
    }
}

/// The usual pull request: AUC from `base` to `head` under [`CONFIG`].
fn auc_pull_request(base: f64, head: f64) -> PullRequest {
    pull_request(
        &[("mlscore.yaml", CONFIG), ("metrics.json", &auc(base))],
        &[("metrics.json", &auc(head))],
    )
}

fn rev(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", rev]).trim().to_string()
}

impl PullRequest {
    fn file(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// A `pull_request` payload, shaped as GitHub sends it.
    fn pull_request_event(&self) -> PathBuf {
        let payload = serde_json::json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "state": "open",
                "head": {"ref": "feature", "sha": self.head, "repo": {"full_name": "contributor/models", "fork": true}},
                "base": {"ref": "main", "sha": self.base, "repo": {"full_name": REPO}},
                "user": {"login": "contributor", "type": "User"}
            },
            "repository": {"full_name": REPO, "default_branch": "main"},
            "sender": {"login": "contributor", "type": "User"}
        });
        let path = self.file("event.json");
        std::fs::write(&path, payload.to_string()).unwrap();
        path
    }

    /// A command in GitHub Actions on `event` (payload written by the caller).
    fn actions(&self, server: &FakeGitHub, token: &str, event: &str, payload: &Path) -> Command {
        let mut cmd = hermetic(server);
        cmd.arg("ci")
            .arg(self.repo.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", payload)
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SHA", MERGE_SHA)
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "42")
            .env("GITHUB_TOKEN", token)
            .env("GITHUB_STEP_SUMMARY", self.file("summary.md"))
            .env("GITHUB_OUTPUT", self.file("output.txt"));
        cmd
    }

    /// `mlscore ci` on a `pull_request` event.
    fn on_pull_request(&self, server: &FakeGitHub, token: &str) -> Command {
        let payload = self.pull_request_event();
        self.actions(server, token, "pull_request", &payload)
    }
}

/// The binary with no context of the machine running the tests, the API at
/// the fake, and retries kept fast.
fn hermetic(server: &FakeGitHub) -> Command {
    let mut cmd = mlscore();
    for var in CONTEXT_VARS {
        cmd.env_remove(var);
    }
    cmd.env("GITHUB_API_URL", &server.url)
        .env("MLSCORE_MAX_RETRY_WAIT", "3");
    cmd
}

/// A server with the Actions token, the read-only token and a personal token.
fn server() -> FakeGitHub {
    let server = FakeGitHub::start();
    server.token(ACTIONS_TOKEN, BOT, true, true);
    server.token(READ_ONLY_TOKEN, BOT, false, true);
    server.token(PERSONAL_TOKEN, "jenkins-ci", true, false);
    server
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the command; whatever happened, no token may appear in its output.
fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("mlscore runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for token in TOKENS {
        assert!(
            !run.stdout.contains(token) && !run.stderr.contains(token),
            "a token was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

fn count(log: &[Recorded], method: &str, path_start: &str) -> usize {
    log.iter()
        .filter(|r| r.method == method && r.path.starts_with(path_start))
        .count()
}

fn comments_path() -> String {
    format!("/repos/{REPO}/issues/{PR}/comments")
}

/// 150 comments of others (two pages of 100), one of them an impostor with
/// mlscore's marker.
fn seed_conversation(server: &FakeGitHub) -> u64 {
    for i in 0..20 {
        server.seed_comment(PR, &format!("reviewer{}", i % 7), &format!("comment {i}"));
    }
    let impostor = server.seed_comment(PR, "mallory", &format!("{MARKER}\nscore 7 / 7, merge me"));
    for i in 20..149 {
        server.seed_comment(PR, &format!("reviewer{}", i % 7), &format!("comment {i}"));
    }
    impostor
}

fn ours(server: &FakeGitHub) -> Vec<fake_github::Comment> {
    server
        .comments(PR)
        .into_iter()
        .filter(|c| c.login == BOT)
        .collect()
}

#[test]
fn two_runs_leave_one_comment_edited_and_an_identical_run_edits_nothing() {
    let server = server();
    let impostor = seed_conversation(&server);
    let pr = auc_pull_request(0.90, 0.91);
    server.with(|s| s.known_shas = [pr.head.clone()].into());

    let first = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mine = ours(&server);
    assert_eq!(mine.len(), 1, "one comment after the first run");
    assert!(mine[0].body.starts_with(MARKER));
    let log = server.log();
    assert!(
        log.iter()
            .any(|r| r.method == "GET"
                && r.path == format!("{}?per_page=100&page=2", comments_path())),
        "the listing follows Link to page 2: {:#?}",
        log.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(count(&log, "POST", &comments_path()), 1);
    assert_eq!(count(&log, "GET", "/user"), 0, "never asks who it is");
    assert!(
        log.iter()
            .all(|r| !r.path.contains(MERGE_SHA) && !r.body.contains(MERGE_SHA)),
        "never posts to the merge commit"
    );
    let runs = server.with(|s| s.check_runs.clone());
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].head_sha.as_str(),
            runs[0].conclusion.as_str(),
            runs[0].name.as_str()
        ),
        (pr.head.as_str(), "success", "mlscore")
    );
    // Links in the comment point at the head's files.
    assert!(
        mine[0]
            .body
            .contains(&format!("https://github.com/{REPO}/blob/{}/", pr.head)),
        "{}",
        mine[0].body
    );

    // Changed metrics: the same comment is edited.
    write(pr.repo.path(), "metrics.json", &auc(0.93));
    let second = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let edited = ours(&server);
    assert_eq!(edited.len(), 1, "still one comment");
    assert_eq!(edited[0].id, mine[0].id);
    assert_ne!(edited[0].body, mine[0].body);
    let log = server.log();
    let patch_path = format!("/repos/{REPO}/issues/comments/{}", mine[0].id);
    assert_eq!(count(&log, "PATCH", &patch_path), 1);
    assert_eq!(count(&log, "POST", &comments_path()), 1);
    assert_eq!(
        count(
            &log,
            "PATCH",
            &format!("/repos/{REPO}/issues/comments/{impostor}")
        ),
        0
    );
    let impostor_body = server
        .comments(PR)
        .into_iter()
        .find(|c| c.id == impostor)
        .unwrap()
        .body;
    assert!(
        impostor_body.contains("merge me"),
        "someone else's comment is left alone"
    );

    // The same again: nothing to edit.
    let before = server.log().len();
    let third = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(
        third.stderr.contains("comment unchanged"),
        "{}",
        third.stderr
    );
    let later = &server.log()[before..];
    assert_eq!(
        count(later, "PATCH", "/repos/acme/models/issues/comments/"),
        0
    );
    assert_eq!(count(later, "POST", &comments_path()), 0);
    assert_eq!(ours(&server).len(), 1);

    // The step summary got one report per run; the outputs name the comment.
    let summary = pr.read("summary.md");
    assert!(summary.matches("ML Test Score").count() >= 3, "{summary}");
    let outputs = pr.read("output.txt");
    assert!(outputs.contains("verdict=passed\n"), "{outputs}");
    assert!(outputs.contains("score="), "{outputs}");
    assert!(
        outputs.contains(&format!(
            "comment-url=https://github.com/{REPO}/pull/{PR}#issuecomment-{}\n",
            mine[0].id
        )),
        "{outputs}"
    );
}

#[test]
fn a_fork_token_degrades_to_summary_and_annotations_and_exits_by_the_gate() {
    let server = server();
    seed_conversation(&server);
    let before = server.comments(PR).len();

    // Passing gate: exit 0 all the same.
    let pr = auc_pull_request(0.90, 0.91);
    let passed = run(pr.on_pull_request(&server, READ_ONLY_TOKEN));
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    assert_eq!(server.comments(PR).len(), before, "no comment was added");
    assert!(server.with(|s| s.check_runs.is_empty()));
    assert!(pr.read("summary.md").contains("ML Test Score"));
    assert!(
        passed
            .stdout
            .contains("::warning title=mlscore could not post::"),
        "{}",
        passed.stdout
    );
    assert!(
        passed
            .stdout
            .contains("::notice title=mlscore::ML Test Score"),
        "{}",
        passed.stdout
    );
    assert!(passed
        .stderr
        .contains("Resource not accessible by integration"));
    assert!(passed
        .stderr
        .contains("`permissions: pull-requests: write`"));
    assert!(passed.stderr.contains("`permissions: checks: write`"));
    assert!(passed.stderr.contains("workflow_run"));
    insta::with_settings!({ filters => vec![(r"\b[0-9a-f]{12}\b", "[sha]")] }, {
        insta::assert_snapshot!("read_only_stderr", passed.stderr);
    });

    // Failing gate: exit 1, and the failure shows as an error annotation.
    let regressed = auc_pull_request(0.90, 0.85);
    let failed = run(regressed.on_pull_request(&server, READ_ONLY_TOKEN));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stdout.contains("::error "), "{}", failed.stdout);
    assert!(regressed.read("summary.md").contains("ML Test Score"));
    assert!(regressed.read("output.txt").contains("verdict=failed\n"));

    // --strict-forge: the refusal fails the run.
    let mut strict = pr.on_pull_request(&server, READ_ONLY_TOKEN);
    strict.arg("--strict-forge");
    let strict = run(strict);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(
        strict.stderr.contains("GitHub did not take the report"),
        "{}",
        strict.stderr
    );
    assert_eq!(server.comments(PR).len(), before);
}

#[test]
fn the_local_reports_are_written_before_the_network_fails() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let report = pr.file("report.json");
    let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
    // Nothing listens there: every post fails after its retries.
    cmd.env("GITHUB_API_URL", "http://127.0.0.1:9/api/v3")
        .env("MLSCORE_MAX_RETRY_WAIT", "0.2")
        .arg("-o")
        .arg(format!("json={}", report.display()));
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("cannot reach GitHub"), "{}", out.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["verdict"]["passed"], true);
    assert!(pr
        .read("output.txt")
        .contains(&format!("report={}\n", report.display())));
}

#[test]
fn more_than_fifty_annotations_go_in_batches_of_fifty() {
    let server = server();
    let metrics: Vec<String> = (0..120).map(|i| format!("\"m{i:03}\": 0.1")).collect();
    let metrics = format!("{{{}}}\n", metrics.join(", "));
    let config = "metrics:\n  policies:\n    \"m*\": {min: 0.5}\n";
    let pr = pull_request(
        &[("mlscore.yaml", config), ("metrics.json", &metrics)],
        &[("README.md", "# models\n")],
    );
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(
        out.code, 1,
        "the failing metrics fail the gate: {}",
        out.stderr
    );
    let runs = server.with(|s| s.check_runs.clone());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conclusion, "failure");
    let total = runs[0].annotations.len();
    assert!(total >= 120, "{total} annotations");
    let log = server.log();
    let sizes: Vec<usize> = log
        .iter()
        .filter(|r| r.path.starts_with("/repos/acme/models/check-runs"))
        .map(|r| {
            r.json()["output"]["annotations"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(count(&log, "POST", "/repos/acme/models/check-runs"), 1);
    assert_eq!(sizes.iter().sum::<usize>(), total);
    assert!(sizes.iter().all(|&n| n <= 50), "{sizes:?}");
    assert_eq!(sizes.len(), total.div_ceil(50), "{sizes:?}");
    let first = &runs[0].annotations[0];
    assert_eq!(first["path"], "metrics.json");
    assert_eq!(first["annotation_level"], "failure");
    assert_eq!(first["start_line"], 1);
}

#[test]
fn a_server_error_then_success_is_retried() {
    let server = server();
    server.with(|s| s.server_errors = 1);
    let pr = auc_pull_request(0.90, 0.91);
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = server.log();
    assert_eq!(log[0].status, 500);
    assert_eq!(
        (log[1].path.as_str(), log[1].status),
        (log[0].path.as_str(), 200)
    );
    assert_eq!(ours(&server).len(), 1);
    assert_eq!(server.with(|s| s.check_runs.len()), 1);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn a_create_that_failed_after_it_was_done_is_not_repeated() {
    let server = server();
    server.with(|s| s.ghost_create = true);
    let pr = auc_pull_request(0.90, 0.91);
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        ours(&server).len(),
        1,
        "the 502'd create is found, not repeated"
    );
    assert_eq!(count(&server.log(), "POST", &comments_path()), 1);
}

fn waited_after_rate_limit(server: &FakeGitHub) -> Duration {
    let log = server.log();
    let limited = log
        .iter()
        .position(|r| r.status == 403 || r.status == 429)
        .expect("a rate-limited request");
    let retry = log[limited + 1..]
        .iter()
        .find(|r| r.path == log[limited].path && r.method == log[limited].method)
        .expect("the request was sent again");
    assert!(retry.status < 300, "the retry succeeded: {}", retry.status);
    retry.at - log[limited].at
}

#[test]
fn a_rate_limit_is_waited_out() {
    // 403 with x-ratelimit-remaining: 0 and retry-after: 1.
    let server = server();
    server.with(|s| {
        s.rate_limited_writes = 1;
        s.rate_limit = RateLimit::Forbidden { retry_after: 1 };
    });
    let pr = auc_pull_request(0.90, 0.91);
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(waited_after_rate_limit(&server) >= Duration::from_millis(900));
    assert_eq!(ours(&server).len(), 1);

    // 429 with x-ratelimit-reset a second ahead.
    let server = self::server();
    server.with(|s| {
        s.rate_limited_writes = 1;
        s.rate_limit = RateLimit::TooMany { reset_in: 1 };
    });
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(waited_after_rate_limit(&server) >= Duration::from_millis(900));
    assert_eq!(ours(&server).len(), 1);
}

#[test]
fn a_rate_limit_longer_than_the_cap_is_not_waited_for() {
    let server = server();
    server.with(|s| {
        s.rate_limited_writes = 10;
        s.rate_limit = RateLimit::Forbidden { retry_after: 600 };
    });
    let pr = auc_pull_request(0.90, 0.91);
    let started = Instant::now();
    let out = run(pr.on_pull_request(&server, ACTIONS_TOKEN));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("rate limit is exhausted"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("MLSCORE_MAX_RETRY_WAIT"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_422_is_reported_with_githubs_message() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    let unknown = "deadbeef".repeat(5);
    let mut cmd = hermetic(&server);
    cmd.args([
        "ci", "--repo", REPO, "--pr", "5", "--post", "status", "--sha", &unknown,
    ])
    .arg(pr.repo.path())
    .env("GITHUB_TOKEN", PERSONAL_TOKEN);
    let out = run(cmd);
    assert_eq!(out.code, 0, "the gate passed: {}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "GitHub answered 422 Unprocessable Entity to POST /repos/{REPO}/statuses/{unknown}: No commit found for SHA: {unknown}"
        )),
        "{}",
        out.stderr
    );
    assert!(server.with(|s| s.statuses.is_empty()));
}

#[test]
fn a_personal_token_cannot_make_check_runs_but_can_post_statuses() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let mut cmd = hermetic(&server);
    cmd.args([
        "ci",
        "--repo",
        REPO,
        "--sha",
        &pr.head,
        "--post",
        "check,status",
    ])
    .arg(pr.repo.path())
    .env("MLSCORE_GITHUB_TOKEN", PERSONAL_TOKEN);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("You must authenticate via a GitHub App"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--post status"), "{}", out.stderr);
    let statuses = server.with(|s| s.statuses.clone());
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        (
            statuses[0].sha.as_str(),
            statuses[0].state.as_str(),
            statuses[0].context.as_str()
        ),
        (pr.head.as_str(), "success", "mlscore")
    );
}

/// A Jenkins merge build: HEAD is a local merge of the pull request's head
/// into `origin/main`; returns the merge commit.
fn jenkins_merge(pr: &PullRequest) -> String {
    let dir = pr.repo.path();
    git(dir, &["update-ref", "refs/remotes/origin/main", &pr.base]);
    git(dir, &["checkout", "-q", "--detach", &pr.base]);
    git(
        dir,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge commit by Jenkins",
            "feature",
        ],
    );
    rev(dir, "HEAD")
}

fn jenkins(server: &FakeGitHub, pr: &PullRequest, git_commit: &str) -> Command {
    let mut cmd = hermetic(server);
    cmd.arg("ci")
        .arg(pr.repo.path())
        .env("GITHUB_API_URL", format!("{}/api/v3", server.url))
        .env("JENKINS_URL", "https://jenkins.example/")
        .env(
            "BUILD_URL",
            "https://jenkins.example/job/models/job/PR-7/3/",
        )
        .env("CHANGE_ID", "7")
        .env("CHANGE_TARGET", "main")
        .env("CHANGE_URL", "https://ghe.example.com/acme/models/pull/7")
        .env("GIT_URL", "git@ghe.example.com:acme/models.git")
        .env("GIT_COMMIT", git_commit)
        .env("GITHUB_TOKEN", PERSONAL_TOKEN);
    cmd
}

#[test]
fn jenkins_posts_a_status_and_a_comment_to_the_pull_requests_head() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let merge = jenkins_merge(&pr);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    let out = run(jenkins(&server, &pr, &merge));
    assert_eq!(out.code, 0, "{}", out.stderr);

    let statuses = server.with(|s| s.statuses.clone());
    assert_eq!(statuses.len(), 1, "{}", out.stderr);
    assert_eq!(statuses[0].sha, pr.head, "the head, not the merge commit");
    assert_eq!(statuses[0].state, "success");
    assert!(statuses[0].description.starts_with("ML Test Score"));
    let comments = server.comments(7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].login, "jenkins-ci");
    assert!(comments[0].body.starts_with(MARKER));
    assert_eq!(
        statuses[0].target_url.as_deref(),
        Some(
            format!(
                "https://github.com/{REPO}/pull/7#issuecomment-{}",
                comments[0].id
            )
            .as_str()
        ),
        "Details leads to the comment"
    );
    // GitHub Enterprise: the /api/v3 prefix is kept, links use the web host.
    let log = server.log();
    assert!(log.iter().all(|r| r.enterprise_prefix));
    assert!(log
        .iter()
        .all(|r| !r.path.contains(&merge) && !r.body.contains(&merge)));
    assert!(comments[0]
        .body
        .contains(&format!("https://ghe.example.com/{REPO}/blob/{}/", pr.head)));
    // The diff is against origin/main.
    assert!(comments[0].body.contains("0.91"), "{}", comments[0].body);
    // A second build edits the comment: GET /user says whose token it is.
    write(pr.repo.path(), "metrics.json", &auc(0.95));
    let again = run(jenkins(&server, &pr, &merge));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(server.comments(7).len(), 1);
    assert_eq!(server.with(|s| s.statuses.len()), 2);
}

#[test]
fn jenkins_without_a_merge_commit_asks_github_for_the_head() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    git(
        pr.repo.path(),
        &["update-ref", "refs/remotes/origin/main", &pr.base],
    );
    server.with(|s| {
        s.known_shas = [pr.head.clone()].into();
        s.pulls.insert(
            7,
            fake_github::Pull {
                head_sha: pr.head.clone(),
                base_sha: pr.base.clone(),
                files: Vec::new(),
            },
        );
    });
    let out = run(jenkins(&server, &pr, &pr.head));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(&server.log(), "GET", "/repos/acme/models/pulls/7"), 1);
    let statuses = server.with(|s| s.statuses.clone());
    assert_eq!(statuses.len(), 1, "{}", out.stderr);
    assert_eq!(statuses[0].sha, pr.head);
}

#[test]
fn locally_nothing_is_posted() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let report = pr.file("report.json");
    let mut cmd = hermetic(&server);
    cmd.arg("ci")
        .arg(pr.repo.path())
        .arg("-o")
        .arg(format!("json={}", report.display()))
        .env("GITHUB_TOKEN", ACTIONS_TOKEN);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.log().is_empty(), "{:?}", server.log());
    assert!(report.is_file());
    assert!(
        out.stderr.starts_with("mlscore ci: local"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_push_posts_a_check_run_on_the_pushed_commit_only() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let payload = pr.file("push.json");
    std::fs::write(
        &payload,
        serde_json::json!({"ref": "refs/heads/feature", "before": pr.base, "after": pr.head,
                           "repository": {"full_name": REPO}})
        .to_string(),
    )
    .unwrap();
    let mut cmd = pr.actions(&server, ACTIONS_TOKEN, "push", &payload);
    cmd.env("GITHUB_SHA", &pr.head);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = server.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].path, format!("/repos/{REPO}/check-runs"));
    assert_eq!(log[0].json()["head_sha"], pr.head.as_str());
}

#[test]
fn workflow_run_posts_for_the_pr_number_it_is_given() {
    // The fork-safe pattern: a second workflow with write access posts; a
    // fork's run lists no pull requests, so the number comes from outside.
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let payload = pr.file("workflow_run.json");
    std::fs::write(
        &payload,
        serde_json::json!({"action": "completed",
            "workflow_run": {"id": 77, "event": "pull_request", "head_sha": pr.head,
                             "head_branch": "feature", "pull_requests": []},
            "repository": {"full_name": REPO}})
        .to_string(),
    )
    .unwrap();
    let mut cmd = pr.actions(&server, ACTIONS_TOKEN, "workflow_run", &payload);
    cmd.args(["--pr", "5", "--base", &pr.base]);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ours(&server).len(), 1);
    let runs = server.with(|s| s.check_runs.clone());
    assert_eq!(runs[0].head_sha, pr.head);
}

#[test]
fn review_comments_go_only_on_added_lines_and_are_not_repeated() {
    let server = server();
    // A workflow step that uses a local action missing from the repository
    // draws a warning on its line; one in a file the PR does not touch too.
    let workflow = |name: &str| {
        format!("name: {name}\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./missing-{name}\n")
    };
    let old = workflow("old");
    let new = workflow("new");
    let pr = pull_request(
        &[
            ("mlscore.yaml", CONFIG),
            ("metrics.json", &auc(0.9)),
            (".github/workflows/old.yml", &old),
        ],
        &[(".github/workflows/new.yml", &new)],
    );
    let added: String = new.lines().map(|l| format!("+{l}\n")).collect();
    let patch = format!("@@ -0,0 +1,{} @@\n{added}", new.lines().count());
    server.with(|s| {
        s.pulls.insert(
            PR,
            fake_github::Pull {
                head_sha: pr.head.clone(),
                base_sha: pr.base.clone(),
                files: vec![(".github/workflows/new.yml".into(), patch)],
            },
        );
    });
    let report = pr.file("report.json");
    let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
    cmd.args(["--post", "review", "-o"])
        .arg(format!("json={}", report.display()));
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let warned: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["line"].is_u64())
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert!(warned.contains(&".github/workflows/old.yml"), "{warned:?}");
    assert!(warned.contains(&".github/workflows/new.yml"), "{warned:?}");

    let reviews = server.with(|s| s.reviews.clone());
    assert_eq!(reviews.len(), 1, "{}", out.stderr);
    assert_eq!(reviews[0].commit_id, pr.head);
    let paths: Vec<&str> = reviews[0]
        .comments
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec![".github/workflows/new.yml"]);
    assert_eq!(reviews[0].comments[0]["side"], "RIGHT");

    let again = run({
        let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
        cmd.args(["--post", "review"]);
        cmd
    });
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(server.with(|s| s.reviews.len()), 1, "{}", again.stderr);
}

#[test]
fn a_token_that_is_no_token_is_refused_without_being_printed() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let mut cmd = pr.on_pull_request(&server, "ghs_half of a token");
    cmd.env("MLSCORE_GITHUB_TOKEN", "ghs_half of a token");
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(server.log().is_empty());
    assert!(
        out.stderr.contains("holds characters a token cannot have"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("half of") && !out.stderr.contains("half of"));
}

#[test]
fn json_on_standard_output_stays_json_when_posting_fails() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let mut cmd = pr.on_pull_request(&server, READ_ONLY_TOKEN);
    cmd.args(["--format", "json"]);
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is the JSON report");
    assert_eq!(json["verdict"]["passed"], true);
    // The runner reads workflow commands on standard error too.
    assert!(
        out.stderr
            .contains("::warning title=mlscore could not post::"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("::notice title=mlscore::"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_malformed_repository_flag_is_a_usage_error_with_the_fix() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let mut cmd = hermetic(&server);
    cmd.args(["ci", "--repo", "models"]).arg(pr.repo.path());
    let out = run(cmd);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--repo `models` is not OWNER/NAME"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--repo acme/models"), "{}", out.stderr);
    assert!(server.log().is_empty());
}

/// A comment with mlscore's marker written by someone else is never taken
/// over, whatever the token: only the token's own identity's comment is edited.
#[test]
fn another_users_marked_comment_is_never_edited_with_a_personal_token() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let merge = jenkins_merge(&pr);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    let impostor = server.seed_comment(7, "mallory", &format!("{MARKER}\nscore 7 / 7, merge me"));

    for round in 0..2 {
        let out = run(jenkins(&server, &pr, &merge));
        assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
    }
    let comments = server.comments(7);
    let by = |login: &str| comments.iter().filter(|c| c.login == login).count();
    assert_eq!(
        by("jenkins-ci"),
        1,
        "one comment of its own, edited in round 2"
    );
    let mallory = comments.iter().find(|c| c.id == impostor).unwrap();
    assert_eq!(mallory.body, format!("{MARKER}\nscore 7 / 7, merge me"));
    assert!(server
        .log()
        .iter()
        .all(|r| !(r.method == "PATCH" && r.path.ends_with(&impostor.to_string()))));
}

/// An installation token (a GitHub App's, not Actions' own) is refused by
/// `GET /user`; GraphQL's `viewer` names its bot, whose comment is then the
/// only one edited.
#[test]
fn an_installation_token_learns_its_bot_login_from_graphql() {
    let server = server();
    server.token("ghs_app_install", "ml-app[bot]", true, true);
    let pr = auc_pull_request(0.90, 0.91);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    let impostor = server.seed_comment(PR, "github-actions[bot]", &format!("{MARKER}\nold"));

    for _ in 0..2 {
        let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
        cmd.env("MLSCORE_GITHUB_TOKEN", "ghs_app_install");
        let out = run(cmd);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let comments = server.comments(PR);
    assert_eq!(
        comments.iter().filter(|c| c.login == "ml-app[bot]").count(),
        1
    );
    let other = comments.iter().find(|c| c.id == impostor).unwrap();
    assert_eq!(other.body, format!("{MARKER}\nold"), "not its comment");
    let log = server.log();
    assert!(count(&log, "POST", "/graphql") >= 1);
}

/// When GitHub will not say whose token it is, mlscore cannot prove a marked
/// comment is its own: it creates a new one each run and says why.
#[test]
fn an_unknown_identity_creates_instead_of_editing() {
    let server = server();
    server.token("ghs_app_install", "ml-app[bot]", true, true);
    server.with(|s| s.graphql_viewer = false);
    let pr = auc_pull_request(0.90, 0.91);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    let earlier = server.seed_comment(PR, "ml-app[bot]", &format!("{MARKER}\nold"));

    let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
    cmd.env("MLSCORE_GITHUB_TOKEN", "ghs_app_install");
    let out = run(cmd);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("MLSCORE_COMMENT_AUTHOR"),
        "{}",
        out.stderr
    );
    let comments = server.comments(PR);
    assert_eq!(comments.len(), 2, "a new comment beside the old one");
    assert_eq!(
        comments.iter().find(|c| c.id == earlier).unwrap().body,
        format!("{MARKER}\nold")
    );
    assert_eq!(count(&server.log(), "PATCH", "/repos"), 0);
}

/// A server that accepts connections and never answers costs the network
/// deadline once, not a read timeout per try and per post; the reports are
/// written and the gate decides the exit code.
#[test]
fn a_dead_api_is_given_up_at_the_deadline_with_the_reports_written() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        // Accept and keep every connection open, answering nothing.
        let mut held = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    let report = pr.file("report.json");
    let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
    cmd.env("GITHUB_API_URL", &dead)
        .env("MLSCORE_NETWORK_DEADLINE", "2")
        .arg("--post")
        .arg("comment,check,status")
        .arg("-o")
        .arg(format!("json={}", report.display()));
    let started = Instant::now();
    let out = run(cmd);
    let took = started.elapsed();
    assert_eq!(out.code, 0, "the gate passed: {}", out.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(
        out.stderr.contains("network deadline of 2 s"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the network deadline has passed"),
        "{}",
        out.stderr
    );
    assert!(report.is_file(), "the local report is written");
    drop(hold);
}

/// Two mlscore runs in one pull request (a monorepo) with `--name` keep two
/// comments, two check runs; each edits only its own.
#[test]
fn named_reports_keep_their_own_comment_and_check_run() {
    let server = server();
    let pr = auc_pull_request(0.90, 0.91);
    server.with(|s| s.known_shas = [pr.head.clone()].into());
    for round in 0..2 {
        for name in ["ranker", "search/embedder"] {
            let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
            cmd.args(["--name", name]);
            let out = run(cmd);
            assert_eq!(out.code, 0, "{round} {name}: {}", out.stderr);
        }
    }
    let mine = ours(&server);
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert!(mine
        .iter()
        .any(|c| c.body.starts_with("<!-- mlscore:report name=ranker -->\n")));
    assert!(mine.iter().any(|c| c
        .body
        .starts_with("<!-- mlscore:report name=search/embedder -->\n")));
    let names: std::collections::BTreeSet<String> =
        server.with(|s| s.check_runs.iter().map(|r| r.name.clone()).collect());
    assert_eq!(
        names,
        ["mlscore (ranker)", "mlscore (search/embedder)"]
            .map(String::from)
            .into()
    );
    let mut bad = pr.on_pull_request(&server, ACTIONS_TOKEN);
    bad.args(["--name", "x-->y"]);
    let out = run(bad);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("is not a report name"),
        "{}",
        out.stderr
    );
}

/// `--no-post` (the Action's `post: none`) in GitHub Actions still gives the
/// findings as annotations: they need no permission.
#[test]
fn posting_nothing_in_actions_still_annotates() {
    let server = server();
    let pr = pull_request(
        &[("metrics.json", &auc(0.90)), ("mlscore.yaml", CONFIG)],
        &[("metrics.json", &auc(0.70))],
    );
    let mut cmd = pr.on_pull_request(&server, ACTIONS_TOKEN);
    cmd.arg("--no-post");
    let out = run(cmd);
    assert_eq!(
        out.code, 1,
        "the gate fails on the regression: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("::error title=mlscore gate failed::"),
        "{}",
        out.stdout
    );
    assert!(server.log().is_empty(), "nothing sent");
}
