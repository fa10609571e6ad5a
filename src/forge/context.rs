//! Where mlscore runs: the repository, pull request, head commit and base
//! revision, read from the CI system's environment.
//!
//! Each fact is taken from the first source that has it: explicit flags, then
//! the generic `CI_*` overrides, then the CI system (GitHub Actions' event
//! payload, Jenkins multibranch variables). The head commit is the one GitHub
//! shows on the pull request — never the test merge commit that GitHub
//! Actions checks out on `pull_request` (`GITHUB_SHA`) nor the local merge
//! commit a Jenkins merge build makes (`GIT_COMMIT`): a check or status posted
//! there never shows on the pull request.

use std::path::Path;

use serde_json::Value;

use super::env::Env;
use super::error::ForgeError;
use super::remote::{self, RepoSlug};
use super::token::Token;

pub use super::env::ProcessEnv;

/// The login of the comments `GITHUB_TOKEN` writes in GitHub Actions.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// The variable naming the login whose comment is mlscore's, when the token
/// is not Actions' own (a personal token, a GitHub App's).
pub const COMMENT_AUTHOR_VAR: &str = "MLSCORE_COMMENT_AUTHOR";

/// The CI system mlscore runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `GITHUB_ACTIONS=true`.
    GitHubActions,
    /// `JENKINS_URL` is set.
    Jenkins,
    /// Another CI, told the repository through `CI_*` variables or flags.
    Generic,
    /// No CI and no repository: reports only.
    Local,
}

impl Provider {
    /// The name shown to users.
    pub fn name(self) -> &'static str {
        match self.system() {
            Some(system) => system.display_name(),
            None if self == Provider::Generic => "CI",
            None => "local",
        }
    }

    /// The CI system this is, when mlscore also reads its job files.
    pub fn system(self) -> Option<crate::ci::CiSystem> {
        match self {
            Provider::GitHubActions => Some(crate::ci::CiSystem::GithubActions),
            Provider::Jenkins => Some(crate::ci::CiSystem::Jenkins),
            Provider::Generic | Provider::Local => None,
        }
    }
}

/// The commit to post checks and statuses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// Known.
    Sha(String),
    /// Ask GitHub for the pull request's head (`GET /pulls/{n}`), and use
    /// `fallback` when that fails.
    FromPullRequest { fallback: Option<String> },
    /// Not known: checks and statuses cannot be posted.
    Unknown,
}

impl Head {
    /// The sha when known without asking GitHub.
    pub fn known(&self) -> Option<&str> {
        match self {
            Head::Sha(sha) => Some(sha),
            _ => None,
        }
    }
}

/// Explicit flags; each wins over everything the environment says.
#[derive(Debug, Default, Clone)]
pub struct Flags<'a> {
    pub repo: Option<&'a str>,
    pub pr: Option<u64>,
    pub sha: Option<&'a str>,
    pub base: Option<&'a str>,
    pub api_url: Option<&'a str>,
}

/// Everything mlscore knows about where it runs.
#[derive(Debug, Clone)]
pub struct CiContext {
    pub provider: Provider,
    /// The GitHub Actions event name (`pull_request`, `push`, …).
    pub event: Option<String>,
    pub repo: Option<RepoSlug>,
    pub pr: Option<u64>,
    pub head: Head,
    /// The base revision to score and diff against.
    pub base: Option<String>,
    /// The REST API root, e.g. `https://api.github.com` or `https://HOST/api/v3`.
    pub api_url: String,
    /// The web root, e.g. `https://github.com`.
    pub server_url: String,
    /// The page of this CI run (Actions run, Jenkins build), for statuses.
    pub run_url: Option<String>,
    pub token: Option<Token>,
    /// The login whose marked comment is ours; `None` matches by marker alone.
    pub comment_author: Option<String>,
    /// What the reader should know about how the context was read.
    pub notes: Vec<String>,
}

impl CiContext {
    /// A prefix for links to the head's files, `{server}/{o}/{r}/blob/{sha}/`,
    /// with the scanned folder's path inside the repository appended.
    pub fn link_base(&self, prefix: &str) -> Option<String> {
        let repo = self.repo.as_ref()?;
        let sha = match &self.head {
            Head::Sha(sha) => sha.as_str(),
            Head::FromPullRequest {
                fallback: Some(sha),
            } => sha.as_str(),
            _ => return None,
        };
        let mut base = format!(
            "{}/{}/{}/blob/{sha}/",
            self.server_url.trim_end_matches('/'),
            repo.owner,
            repo.name
        );
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            base.push_str(prefix);
            base.push('/');
        }
        Some(base)
    }

    /// One line saying what was detected, for the log.
    pub fn describe(&self) -> String {
        let mut text = format!("mlscore ci: {}", self.provider.name());
        if let Some(event) = &self.event {
            text.push_str(&format!(" ({event})"));
        }
        if let Some(repo) = &self.repo {
            text.push_str(&format!(", {repo}"));
        }
        if let Some(pr) = self.pr {
            text.push_str(&format!(", pull request #{pr}"));
        }
        match &self.head {
            Head::Sha(sha) => text.push_str(&format!(", head {}", short(sha))),
            Head::FromPullRequest { .. } => text.push_str(", head from the pull request"),
            Head::Unknown => {}
        }
        if let Some(base) = &self.base {
            text.push_str(&format!(", base {}", short(base)));
        }
        text
    }
}

/// A sha shortened for display; other revisions stay whole.
pub fn short(rev: &str) -> &str {
    if rev.len() >= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        &rev[..12]
    } else {
        rev
    }
}

/// Whether `text` is a full commit id (SHA-1 or SHA-256).
pub fn is_full_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What one source says; later layers fill only what earlier ones left empty.
#[derive(Debug, Default)]
struct Facts {
    repo: Option<RepoSlug>,
    pr: Option<u64>,
    head: Option<Head>,
    base: Option<String>,
    /// A web host named by a remote URL (Jenkins), for GitHub Enterprise.
    host: Option<String>,
    run_url: Option<String>,
    event: Option<String>,
}

impl Facts {
    /// Fills what is empty here from `lower`.
    fn or(self, lower: Facts) -> Facts {
        Facts {
            repo: self.repo.or(lower.repo),
            pr: self.pr.or(lower.pr),
            head: self.head.or(lower.head),
            base: self.base.or(lower.base),
            host: self.host.or(lower.host),
            run_url: self.run_url.or(lower.run_url),
            event: self.event.or(lower.event),
        }
    }
}

/// Detects the context. `git` resolves a revision of the scanned repository
/// to a commit id (`None` when it cannot).
pub fn detect(
    env: &dyn Env,
    flags: &Flags<'_>,
    git: &dyn Fn(&str) -> Option<String>,
) -> Result<CiContext, ForgeError> {
    let mut notes = Vec::new();
    let explicit = from_flags(flags, git)?;
    let generic = from_generic(env, &mut notes);
    let provider_kind = if env.var("GITHUB_ACTIONS").as_deref() == Some("true") {
        Some(Provider::GitHubActions)
    } else if env.var("JENKINS_URL").is_some() {
        Some(Provider::Jenkins)
    } else {
        None
    };
    let native = match provider_kind {
        Some(Provider::GitHubActions) => from_actions(env, &mut notes),
        Some(_) => from_jenkins(env, git),
        None => Facts::default(),
    };
    let mut facts = explicit.or(generic).or(native);
    let provider = provider_kind.unwrap_or(if facts.repo.is_some() {
        Provider::Generic
    } else {
        Provider::Local
    });
    if provider == Provider::Generic && facts.head.is_none() {
        facts.head = Some(generic_head(git, facts.pr));
    }

    let api_url = flags
        .api_url
        .map(str::to_string)
        .or_else(|| env.var("GITHUB_API_URL"))
        .or_else(|| facts.host.as_deref().map(remote::api_url_for))
        .unwrap_or_else(|| "https://api.github.com".into())
        .trim_end_matches('/')
        .to_string();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(ForgeError::InvalidContext {
            message: format!("the GitHub API URL `{api_url}` is not an http(s) URL"),
            help: "pass e.g. `--api-url https://github.example.com/api/v3` for GitHub Enterprise Server".into(),
        });
    }
    let server_url = env
        .var("GITHUB_SERVER_URL")
        .or_else(|| facts.host.as_ref().map(|h| format!("https://{h}")))
        .unwrap_or_else(|| remote::server_url_for(&api_url))
        .trim_end_matches('/')
        .to_string();

    let in_pull_request = facts.pr.is_some();
    if in_pull_request && facts.base.is_none() {
        notes.push(
            "no base revision for the pull request: the report has no score delta or metric diff; pass --base"
                .into(),
        );
    }
    let token = Token::from_env(env);
    let comment_author = env.var(COMMENT_AUTHOR_VAR).or_else(|| {
        // Comments written with Actions' own GITHUB_TOKEN are authored by
        // github-actions[bot]; any other token's login is unknown without
        // GET /user, which installation tokens may not call.
        let actions_token = token
            .as_ref()
            .is_some_and(|t| t.is_value_of(env.var("GITHUB_TOKEN").as_deref()));
        (provider == Provider::GitHubActions && actions_token).then(|| ACTIONS_BOT.to_string())
    });

    Ok(CiContext {
        provider,
        event: facts.event,
        repo: facts.repo,
        pr: facts.pr,
        head: facts.head.unwrap_or(Head::Unknown),
        base: facts.base,
        api_url,
        server_url,
        run_url: facts.run_url,
        token,
        comment_author,
        notes,
    })
}

fn from_flags(
    flags: &Flags<'_>,
    git: &dyn Fn(&str) -> Option<String>,
) -> Result<Facts, ForgeError> {
    let repo = match flags.repo {
        Some(text) => Some(
            RepoSlug::parse(text).ok_or_else(|| ForgeError::InvalidContext {
                message: format!("--repo `{text}` is not OWNER/NAME"),
                help: "write the repository as on GitHub, e.g. `--repo acme/models`".into(),
            })?,
        ),
        None => None,
    };
    let head = match flags.sha {
        Some(sha) if is_full_sha(sha) => Some(Head::Sha(sha.to_ascii_lowercase())),
        Some(rev) => Some(Head::Sha(git(rev).ok_or_else(|| ForgeError::InvalidContext {
            message: format!("--sha `{rev}` is not a commit of this repository"),
            help: "pass the full commit id of the pull request's head, e.g. `--sha $(git rev-parse HEAD)`".into(),
        })?)),
        None => None,
    };
    Ok(Facts {
        repo,
        pr: flags.pr,
        head,
        base: flags.base.map(str::to_string),
        ..Facts::default()
    })
}

/// The `CI_*` overrides some CI systems set and any CI can.
fn from_generic(env: &dyn Env, notes: &mut Vec<String>) -> Facts {
    let pr = env.var("CI_PULL_REQUEST").and_then(|text| {
        let number = remote::pull_number(&text);
        if number.is_none() {
            notes.push(format!(
                "CI_PULL_REQUEST `{text}` is neither a number nor a pull-request URL; ignored"
            ));
        }
        number
    });
    let repo = match (env.var("CI_REPO_OWNER"), env.var("CI_REPO_NAME")) {
        (Some(owner), Some(name)) => RepoSlug::new(&owner, &name),
        _ => None,
    }
    .or_else(|| {
        // A pull-request URL names its repository too.
        env.var("CI_PULL_REQUEST")
            .and_then(|url| remote::parse(&url))
            .map(|r| r.repo)
    });
    let head = env
        .var("CI_COMMIT")
        .filter(|sha| is_full_sha(sha))
        .map(|sha| Head::Sha(sha.to_ascii_lowercase()));
    Facts {
        repo,
        pr,
        head,
        ..Facts::default()
    }
}

/// GitHub Actions: `GITHUB_REPOSITORY` and the event payload.
fn from_actions(env: &dyn Env, notes: &mut Vec<String>) -> Facts {
    let event = env.var("GITHUB_EVENT_NAME");
    let payload = match env.var("GITHUB_EVENT_PATH") {
        Some(path) => match read_payload(Path::new(&path)) {
            Ok(payload) => payload,
            Err(why) => {
                notes.push(format!("cannot read the event payload {path}: {why}"));
                Value::Null
            }
        },
        None => Value::Null,
    };
    let str_at = |pointer: &str| {
        payload
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (pr, head, base) = match event.as_deref() {
        Some("pull_request" | "pull_request_target") => {
            let pr = payload
                .pointer("/pull_request/number")
                .or_else(|| payload.get("number"))
                .and_then(Value::as_u64);
            // GITHUB_SHA is the test merge commit here: never post to it.
            let head = match str_at("/pull_request/head/sha") {
                Some(sha) => Head::Sha(sha),
                None if pr.is_some() => Head::FromPullRequest { fallback: None },
                None => Head::Unknown,
            };
            (pr, head, str_at("/pull_request/base/sha"))
        }
        Some("workflow_run") => {
            // A fork's run lists no pull requests: the number then comes
            // from --pr or CI_PULL_REQUEST, carried in the report artifact.
            let first = payload.pointer("/workflow_run/pull_requests/0");
            let pr = first.and_then(|p| p.get("number")).and_then(Value::as_u64);
            let base = first
                .and_then(|p| p.pointer("/base/sha"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let head = match str_at("/workflow_run/head_sha") {
                Some(sha) => Head::Sha(sha),
                None => Head::Unknown,
            };
            (pr, head, base)
        }
        _ => {
            let head = env.var("GITHUB_SHA").map_or(Head::Unknown, Head::Sha);
            (None, head, None)
        }
    };
    let repo = env
        .var("GITHUB_REPOSITORY")
        .and_then(|r| RepoSlug::parse(&r))
        .or_else(|| str_at("/repository/full_name").and_then(|r| RepoSlug::parse(&r)));
    let run_url = match (
        env.var("GITHUB_SERVER_URL"),
        &repo,
        env.var("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repo), Some(id)) => Some(format!(
            "{}/{repo}/actions/runs/{id}",
            server.trim_end_matches('/')
        )),
        _ => None,
    };
    Facts {
        repo,
        pr,
        head: Some(head),
        base,
        host: None,
        run_url,
        event,
    }
}

fn read_payload(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Jenkins multibranch: `CHANGE_*` for pull requests, the git plugin's
/// `GIT_URL`, and git itself for the head.
fn from_jenkins(env: &dyn Env, git: &dyn Fn(&str) -> Option<String>) -> Facts {
    let remote = env
        .var("CHANGE_URL")
        .and_then(|u| remote::parse(&u))
        .or_else(|| env.var("GIT_URL").and_then(|u| remote::parse(&u)));
    let pr = env
        .var("CHANGE_ID")
        .and_then(|id| id.trim().parse::<u64>().ok());
    let target = env.var("CHANGE_TARGET");
    let head = match pr {
        Some(_) => jenkins_pull_request_head(git, target.as_deref()),
        // A branch build checks out the branch tip itself.
        None => env
            .var("GIT_COMMIT")
            .filter(|s| is_full_sha(s))
            .or_else(|| git("HEAD"))
            .map_or(Head::Unknown, Head::Sha),
    };
    Facts {
        repo: remote.as_ref().map(|r| r.repo.clone()),
        pr,
        head: Some(head),
        base: pr.and(target.map(|t| format!("origin/{t}"))),
        host: remote.map(|r| r.host),
        run_url: env.var("BUILD_URL"),
        event: None,
    }
}

/// The head of a Jenkins pull-request build. With the default merge strategy
/// Jenkins checks out the target and merges the pull request into it: HEAD is
/// a local merge commit GitHub never saw, HEAD^1 the target's tip and HEAD^2
/// the head that was built. A merge commit whose first parent is not the
/// target's tip is the pull request's own merge commit, so GitHub decides.
fn jenkins_pull_request_head(git: &dyn Fn(&str) -> Option<String>, target: Option<&str>) -> Head {
    let head = git("HEAD");
    let Some(second) = git("HEAD^2") else {
        return Head::FromPullRequest { fallback: head };
    };
    let target_tip = target.and_then(|t| git(&format!("origin/{t}")));
    match target_tip {
        Some(tip) if git("HEAD^1").as_deref() != Some(tip.as_str()) => {
            Head::FromPullRequest { fallback: head }
        }
        _ => Head::Sha(second),
    }
}

/// The head in another CI: the checkout, unless it is a merge commit.
fn generic_head(git: &dyn Fn(&str) -> Option<String>, pr: Option<u64>) -> Head {
    match (git("HEAD"), git("HEAD^2"), pr) {
        (Some(head), None, _) => Head::Sha(head),
        (_, Some(_), Some(_)) => Head::FromPullRequest { fallback: None },
        _ => Head::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const BASE: &str = "2222222222222222222222222222222222222222";
    const MERGE: &str = "3333333333333333333333333333333333333333";

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_git(_: &str) -> Option<String> {
        None
    }

    /// A git whose HEAD is a local merge of `HEAD` into `BASE` (origin/main).
    fn merge_git(rev: &str) -> Option<String> {
        let map: HashMap<&str, &str> = [
            ("HEAD", MERGE),
            ("HEAD^1", BASE),
            ("HEAD^2", HEAD),
            ("origin/main", BASE),
        ]
        .into();
        map.get(rev).map(|s| s.to_string())
    }

    fn payload(json: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, json).unwrap();
        (dir, path.display().to_string())
    }

    /// The shape of a real `pull_request` payload, trimmed to what is read.
    const PULL_REQUEST_EVENT: &str = r#"{
      "action": "synchronize",
      "number": 17,
      "pull_request": {
        "number": 17,
        "state": "open",
        "head": {"ref": "feature", "sha": "1111111111111111111111111111111111111111",
                 "repo": {"full_name": "fork-owner/models"}},
        "base": {"ref": "main", "sha": "2222222222222222222222222222222222222222",
                 "repo": {"full_name": "acme/models"}}
      },
      "repository": {"full_name": "acme/models"},
      "sender": {"login": "contributor", "type": "User"}
    }"#;

    fn actions_env(event: &str, path: &str) -> BTreeMap<String, String> {
        env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_EVENT_PATH", path),
            ("GITHUB_REPOSITORY", "acme/models"),
            ("GITHUB_SHA", MERGE),
            ("GITHUB_API_URL", "https://api.github.com"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_TOKEN", "ghs_actions"),
        ])
    }

    #[test]
    fn pull_request_posts_to_the_head_not_the_merge_commit() {
        let (_dir, path) = payload(PULL_REQUEST_EVENT);
        for event in ["pull_request", "pull_request_target"] {
            let ctx = detect(&actions_env(event, &path), &Flags::default(), &no_git).unwrap();
            assert_eq!(ctx.provider, Provider::GitHubActions);
            assert_eq!(ctx.repo.as_ref().unwrap().to_string(), "acme/models");
            assert_eq!(ctx.pr, Some(17));
            assert_eq!(ctx.head, Head::Sha(HEAD.into()));
            assert_eq!(ctx.base.as_deref(), Some(BASE));
            assert_eq!(ctx.comment_author.as_deref(), Some(ACTIONS_BOT));
            assert_eq!(
                ctx.run_url.as_deref(),
                Some("https://github.com/acme/models/actions/runs/99")
            );
            assert_eq!(
                ctx.link_base("").as_deref(),
                Some(
                    "https://github.com/acme/models/blob/1111111111111111111111111111111111111111/"
                )
            );
        }
    }

    #[test]
    fn workflow_run_takes_the_runs_head_and_a_pr_number_from_outside() {
        // A fork's workflow_run lists no pull requests.
        let (_dir, path) = payload(
            r#"{"action": "completed",
                "workflow_run": {"id": 5, "event": "pull_request", "head_sha": "1111111111111111111111111111111111111111",
                                 "head_branch": "feature", "pull_requests": []},
                "repository": {"full_name": "acme/models"}}"#,
        );
        let mut vars = actions_env("workflow_run", &path);
        let ctx = detect(&vars, &Flags::default(), &no_git).unwrap();
        assert_eq!((ctx.pr, ctx.head.clone()), (None, Head::Sha(HEAD.into())));
        vars.insert("CI_PULL_REQUEST".into(), "23".into());
        let ctx = detect(&vars, &Flags::default(), &no_git).unwrap();
        assert_eq!(ctx.pr, Some(23));
        let flags = Flags {
            pr: Some(24),
            base: Some(BASE),
            ..Flags::default()
        };
        let ctx = detect(&vars, &flags, &no_git).unwrap();
        assert_eq!((ctx.pr, ctx.base.as_deref()), (Some(24), Some(BASE)));
    }

    #[test]
    fn workflow_run_of_a_same_repository_pr_lists_it() {
        let (_dir, path) = payload(
            r#"{"workflow_run": {"head_sha": "1111111111111111111111111111111111111111",
                 "pull_requests": [{"number": 8, "head": {"sha": "1111111111111111111111111111111111111111"},
                                    "base": {"ref": "main", "sha": "2222222222222222222222222222222222222222"}}]}}"#,
        );
        let ctx = detect(
            &actions_env("workflow_run", &path),
            &Flags::default(),
            &no_git,
        )
        .unwrap();
        assert_eq!((ctx.pr, ctx.base.as_deref()), (Some(8), Some(BASE)));
    }

    #[test]
    fn push_has_no_pull_request_and_posts_to_github_sha() {
        let (_dir, path) = payload(
            r#"{"ref": "refs/heads/main", "before": "2222222222222222222222222222222222222222",
                "after": "3333333333333333333333333333333333333333", "repository": {"full_name": "acme/models"}}"#,
        );
        let ctx = detect(&actions_env("push", &path), &Flags::default(), &no_git).unwrap();
        assert_eq!((ctx.pr, ctx.head.clone()), (None, Head::Sha(MERGE.into())));
        assert_eq!(ctx.base, None);
    }

    #[test]
    fn an_unreadable_payload_never_falls_back_to_the_merge_commit() {
        let ctx = detect(
            &actions_env("pull_request", "/nonexistent/event.json"),
            &Flags::default(),
            &no_git,
        )
        .unwrap();
        assert_eq!(ctx.head, Head::Unknown);
        assert!(ctx.notes[0].contains("cannot read the event payload"));
    }

    #[test]
    fn a_personal_token_in_actions_matches_by_marker_unless_told() {
        let (_dir, path) = payload(PULL_REQUEST_EVENT);
        let mut vars = actions_env("pull_request", &path);
        vars.insert("MLSCORE_GITHUB_TOKEN".into(), "ghp_personal".into());
        let ctx = detect(&vars, &Flags::default(), &no_git).unwrap();
        assert_eq!(ctx.comment_author, None);
        vars.insert(COMMENT_AUTHOR_VAR.into(), "ml-bot".into());
        let ctx = detect(&vars, &Flags::default(), &no_git).unwrap();
        assert_eq!(ctx.comment_author.as_deref(), Some("ml-bot"));
    }

    fn jenkins_env() -> BTreeMap<String, String> {
        env(&[
            ("JENKINS_URL", "https://jenkins.example/"),
            ("BUILD_URL", "https://jenkins.example/job/models/PR-7/3/"),
            ("CHANGE_ID", "7"),
            ("CHANGE_TARGET", "main"),
            ("CHANGE_URL", "https://ghe.example.com/acme/models/pull/7"),
            ("GIT_URL", "git@ghe.example.com:acme/models.git"),
            ("GIT_COMMIT", MERGE),
            ("GITHUB_TOKEN", "ghp_jenkins"),
        ])
    }

    #[test]
    fn jenkins_merge_build_posts_to_head_parent_two_on_enterprise() {
        let ctx = detect(&jenkins_env(), &Flags::default(), &merge_git).unwrap();
        assert_eq!(ctx.provider, Provider::Jenkins);
        assert_eq!(ctx.repo.unwrap().to_string(), "acme/models");
        assert_eq!(ctx.pr, Some(7));
        assert_eq!(ctx.head, Head::Sha(HEAD.into()));
        assert_eq!(ctx.base.as_deref(), Some("origin/main"));
        assert_eq!(ctx.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(ctx.server_url, "https://ghe.example.com");
        assert_eq!(ctx.comment_author, None);
        assert_eq!(
            ctx.run_url.as_deref(),
            Some("https://jenkins.example/job/models/PR-7/3/")
        );
    }

    #[test]
    fn jenkins_without_a_merge_commit_asks_github() {
        let git = |rev: &str| (rev == "HEAD").then(|| HEAD.to_string());
        let ctx = detect(&jenkins_env(), &Flags::default(), &git).unwrap();
        assert_eq!(
            ctx.head,
            Head::FromPullRequest {
                fallback: Some(HEAD.into())
            }
        );
        // The PR's own merge commit (first parent is not the target's tip).
        let git = |rev: &str| match rev {
            "HEAD" => Some(MERGE.to_string()),
            "HEAD^1" => Some(HEAD.to_string()),
            "HEAD^2" | "origin/main" => Some(BASE.to_string()),
            _ => None,
        };
        let ctx = detect(&jenkins_env(), &Flags::default(), &git).unwrap();
        assert!(matches!(ctx.head, Head::FromPullRequest { .. }));
        // --sha wins over everything.
        let flags = Flags {
            sha: Some(BASE),
            ..Flags::default()
        };
        let ctx = detect(&jenkins_env(), &flags, &merge_git).unwrap();
        assert_eq!(ctx.head, Head::Sha(BASE.into()));
    }

    #[test]
    fn jenkins_branch_build_uses_git_commit() {
        let mut vars = jenkins_env();
        for key in ["CHANGE_ID", "CHANGE_TARGET", "CHANGE_URL"] {
            vars.remove(key);
        }
        vars.insert(
            "GIT_URL".into(),
            "https://github.com/acme/models.git".into(),
        );
        let ctx = detect(&vars, &Flags::default(), &merge_git).unwrap();
        assert_eq!((ctx.pr, ctx.head.clone()), (None, Head::Sha(MERGE.into())));
        assert_eq!(ctx.api_url, "https://api.github.com");
        assert_eq!(ctx.server_url, "https://github.com");
    }

    #[test]
    fn generic_overrides_sit_between_flags_and_the_ci_system() {
        let mut vars = jenkins_env();
        vars.insert(
            "CI_PULL_REQUEST".into(),
            "https://github.com/other/repo/pull/9".into(),
        );
        vars.insert("CI_COMMIT".into(), BASE.into());
        vars.insert("CI_REPO_OWNER".into(), "acme".into());
        vars.insert("CI_REPO_NAME".into(), "forked".into());
        let ctx = detect(&vars, &Flags::default(), &merge_git).unwrap();
        assert_eq!(ctx.pr, Some(9));
        assert_eq!(ctx.head, Head::Sha(BASE.into()));
        assert_eq!(ctx.repo.as_ref().unwrap().to_string(), "acme/forked");
        let flags = Flags {
            repo: Some("acme/models"),
            pr: Some(10),
            api_url: Some("http://127.0.0.1:1/api/v3/"),
            ..Flags::default()
        };
        let ctx = detect(&vars, &flags, &merge_git).unwrap();
        assert_eq!(ctx.repo.unwrap().to_string(), "acme/models");
        assert_eq!(ctx.pr, Some(10));
        assert_eq!(ctx.api_url, "http://127.0.0.1:1/api/v3");
    }

    #[test]
    fn generic_and_local() {
        let git = |rev: &str| (rev == "HEAD").then(|| HEAD.to_string());
        let vars = env(&[
            ("CI_REPO_OWNER", "acme"),
            ("CI_REPO_NAME", "models"),
            ("CI_PULL_REQUEST", "4"),
        ]);
        let ctx = detect(&vars, &Flags::default(), &git).unwrap();
        assert_eq!(ctx.provider, Provider::Generic);
        assert_eq!(ctx.head, Head::Sha(HEAD.into()));
        assert!(ctx.notes.iter().any(|n| n.contains("no base revision")));

        let ctx = detect(&env(&[("GITHUB_TOKEN", "x")]), &Flags::default(), &git).unwrap();
        assert_eq!(ctx.provider, Provider::Local);
        assert_eq!(ctx.link_base(""), None);
    }

    #[test]
    fn bad_flags_are_errors_that_say_the_fix() {
        let flags = Flags {
            repo: Some("models"),
            ..Flags::default()
        };
        let err = detect(&env(&[]), &flags, &no_git).unwrap_err();
        assert!(err.to_string().contains("is not OWNER/NAME"));
        let flags = Flags {
            sha: Some("nope"),
            ..Flags::default()
        };
        assert!(detect(&env(&[]), &flags, &no_git).is_err());
        let flags = Flags {
            api_url: Some("api.github.com"),
            ..Flags::default()
        };
        assert!(detect(&env(&[]), &flags, &no_git).is_err());
    }

    #[test]
    fn link_base_appends_the_scanned_folder() {
        let (_dir, path) = payload(PULL_REQUEST_EVENT);
        let ctx = detect(
            &actions_env("pull_request", &path),
            &Flags::default(),
            &no_git,
        )
        .unwrap();
        assert!(ctx
            .link_base("ml/ranker")
            .unwrap()
            .ends_with("/blob/1111111111111111111111111111111111111111/ml/ranker/"));
    }
}
