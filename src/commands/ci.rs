//! `mlscore ci`: detect the CI context, check against the pull request's base,
//! write the reports, post them to GitHub, and exit with the gate's code.
//!
//! The order is what keeps a run from losing anything: the local reports and
//! the job summary are written before the first network call, and a post
//! GitHub refuses (a fork's read-only token, a missing permission) only warns
//! and falls back to the job summary and workflow-command annotations; the
//! gate alone decides the exit code unless `--strict-forge` is given.

/// A line on standard error, which in CI is the job's log: whatever it quotes
/// (branch names, GitHub's messages, file names) is shown, never obeyed.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", crate::text::inert::terminal(&format!($($arg)*)))
    };
}

use std::path::Path;

use crate::cli::{CiArgs, Format, PostKind};
use crate::error::Error;
use crate::forge::context::{self, Flags, ProcessEnv};
use crate::forge::name::ReportName;
use crate::forge::retry::RetryPolicy;
use crate::forge::{
    actions_env, check_run, comment, review, status, CiContext, Env, ForgeError, GitHub, Head,
    Provider, RepoSlug,
};
use crate::repo::GitRepo;
use crate::report::markdown::{self, Kind};
use crate::report::render::RenderContext;
use crate::report::{github as workflow_commands, human, Report};

use super::output::{self, Destination};
use super::pipeline::{self, Revisions};

/// Runs `mlscore ci` and returns the exit code: the gate's, or 2 when a post
/// failed under `--strict-forge`.
pub fn run(args: &CiArgs) -> Result<i32, Error> {
    // Validate the outputs before the work, so a typo costs nothing.
    let planned = output::plan(&args.report)?;
    let env = ProcessEnv;
    let git = GitRepo::discover(&args.source.path).ok();
    let resolve = |rev: &str| git.as_ref().and_then(|g| g.resolve(rev).ok());
    let flags = Flags {
        repo: args.repo.as_deref(),
        pr: args.pr,
        sha: args.sha.as_deref(),
        base: args.base.as_deref(),
        api_url: args.api_url.as_deref(),
    };
    let ctx = context::detect(&env, &flags, &resolve)?;
    let name = ReportName::parse(args.name.as_deref())?;
    say!("{}", ctx.describe());
    for note in &ctx.notes {
        say!("note: {note}");
    }

    let revs = Revisions {
        base: ctx.base.as_deref(),
        head: None,
        run_probes: true,
    };
    let report = pipeline::run(&args.source, &revs, &args.gate)?;
    let prefix = git
        .as_ref()
        .map(|g| g.prefix().to_string())
        .unwrap_or_default();
    let link_base = ctx.link_base(&prefix);

    // Local first: whatever GitHub does next, these are written.
    output::write_with(
        &report,
        &args.report,
        &args.source.path,
        false,
        link_base.clone(),
    )?;
    let render = RenderContext {
        color: false,
        repo_root: Some(args.source.path.clone()),
        link_base,
        metrics_first: false,
    };
    if let Some(path) = env.var("GITHUB_STEP_SUMMARY") {
        let summary = markdown::render(Kind::Summary, &report, &render)?;
        if let Err(err) = actions_env::append_summary(Path::new(&path), &summary) {
            say!("warning: cannot append the job summary to {path}: {err}");
        }
    }

    let commands = Commands::new(&ctx, &planned);
    let kinds = post_kinds(args, &ctx);
    let posting = if kinds.is_empty() {
        Posting::default()
    } else {
        let body = name.mark(&markdown::render(Kind::Comment, &report, &render)?);
        let outgoing = Outgoing {
            report: &report,
            body: &body,
            prefix: &prefix,
            name: &name,
        };
        publish(&ctx, &kinds, &outgoing, &env, commands)
    };

    if let Some(path) = env.var("GITHUB_OUTPUT") {
        let outputs = step_outputs(&report, &planned, posting.comment_url.as_deref());
        if let Err(err) = actions_env::write_outputs(Path::new(&path), &outputs) {
            say!("warning: cannot write the step outputs to {path}: {err}");
        }
    }

    let printed = planned
        .iter()
        .any(|(f, d)| *f == Format::Github && *d == Destination::Stdout);
    // Annotations need no permission: they stand in for posts that failed,
    // and are the whole review when nothing is posted (`post: none`).
    if !printed && (kinds.is_empty() || !posting.failed.is_empty()) {
        commands.emit(&workflow_commands::render(&report));
    }
    if !posting.failed.is_empty() && args.strict_forge {
        return Err(ForgeError::Refused {
            what: posting.failed.join(", "),
        }
        .into());
    }
    Ok(report.exit_code())
}

/// Where workflow commands go, in GitHub Actions only: standard output,
/// unless a machine-readable report is printed there (`--format json` piped
/// to a file must stay JSON); the runner reads commands on both streams.
#[derive(Debug, Clone, Copy)]
struct Commands {
    enabled: bool,
    to_stderr: bool,
}

impl Commands {
    fn new(ctx: &CiContext, planned: &[(Format, Destination)]) -> Commands {
        Commands {
            enabled: ctx.provider == Provider::GitHubActions,
            to_stderr: planned.iter().any(|(f, d)| {
                *d == Destination::Stdout && !matches!(f, Format::Human | Format::Github)
            }),
        }
    }

    fn emit(self, text: &str) {
        if !self.enabled {
            return;
        }
        if self.to_stderr {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
}

/// What to post: `--post` as given, else by context — in GitHub Actions a
/// comment (on a pull request) and a check run; elsewhere a comment (on a
/// pull request) and a commit status, which works with a personal token;
/// nothing locally.
fn post_kinds(args: &CiArgs, ctx: &CiContext) -> Vec<PostKind> {
    if args.no_post {
        return Vec::new();
    }
    let order = [
        PostKind::Comment,
        PostKind::Check,
        PostKind::Status,
        PostKind::Review,
    ];
    if !args.post.is_empty() {
        // The comment goes first: its URL is the status's link.
        return order
            .into_iter()
            .filter(|k| args.post.contains(k))
            .collect();
    }
    let on_pr = ctx.pr.is_some();
    let gate = match ctx.provider {
        Provider::Local => return Vec::new(),
        Provider::GitHubActions => PostKind::Check,
        Provider::Jenkins | Provider::Generic => PostKind::Status,
    };
    if on_pr {
        vec![PostKind::Comment, gate]
    } else {
        vec![gate]
    }
}

/// What the posts came to.
#[derive(Debug, Default)]
struct Posting {
    comment_url: Option<String>,
    /// The posts that failed, e.g. `comment (403)`.
    failed: Vec<String>,
}

fn kind_name(kind: PostKind) -> &'static str {
    match kind {
        PostKind::Comment => "pull-request comment",
        PostKind::Check => "check run",
        PostKind::Status => "commit status",
        PostKind::Review => "review comments",
    }
}

/// What is posted: the report, the comment's Markdown, the scanned folder's
/// path in the repository (for annotations), and the report's name.
#[derive(Clone, Copy)]
struct Outgoing<'a> {
    report: &'a Report,
    body: &'a str,
    prefix: &'a str,
    name: &'a ReportName,
}

/// Posts each kind, reporting each outcome on stderr; a failure of one does
/// not stop the others.
fn publish(
    ctx: &CiContext,
    kinds: &[PostKind],
    outgoing: &Outgoing<'_>,
    env: &dyn Env,
    commands: Commands,
) -> Posting {
    let Outgoing {
        report,
        body,
        prefix,
        name,
    } = *outgoing;
    let mut posting = Posting::default();
    let client = ready(ctx, env);
    let (repo, github) = match client {
        Ok(ready) => ready,
        Err(err) => {
            for &kind in kinds {
                fail(ctx, &mut posting, kind, &err, commands);
            }
            return posting;
        }
    };
    let mut head: Option<Result<String, ForgeError>> = None;
    let mut head_sha = |github: &GitHub| {
        head.get_or_insert_with(|| resolve_head(github, repo, ctx))
            .clone()
    };
    let mut out_of_time = false;
    for &kind in kinds {
        if out_of_time {
            skip(kind, "the network deadline has passed");
            continue;
        }
        let result = match kind {
            PostKind::Comment => match ctx.pr {
                None => {
                    skip(kind, "there is no pull request (pass --pr)");
                    continue;
                }
                Some(pr) => {
                    let author = ctx
                        .comment_author
                        .clone()
                        .or_else(|| comment::whoami(&github, &ctx.api_url));
                    if author.is_none() {
                        say!("note: GitHub does not say whose token this is (GET /user and GraphQL viewer refused), so mlscore cannot prove which marked comment is its own; it posts a new comment instead of editing one. Set MLSCORE_COMMENT_AUTHOR to the token's login to keep one comment.");
                    }
                    comment::upsert(&github, repo, pr, body, author.as_deref()).map(
                        |posted| {
                            let url = posted.url.clone().unwrap_or_default();
                            let action = match posted.action {
                                comment::Action::Created => "created",
                                comment::Action::Edited => "edited",
                                comment::Action::Unchanged => "unchanged",
                            };
                            say!("mlscore ci: comment {action}: {url}");
                            posting.comment_url = posted.url;
                        },
                    )
                }
            },
            PostKind::Check => head_sha(&github).and_then(|sha| {
                let annotations = check_run::annotations(report, prefix);
                let summary = check_run::summary(body);
                let posted = check_run::post(
                    &github,
                    repo,
                    &sha,
                    report,
                    &summary,
                    &annotations,
                    &name.check(),
                )?;
                say!(
                    "mlscore ci: check run `{}` posted on {} with {} annotation(s)",
                    name.check(),
                    context::short(&sha),
                    posted.annotations
                );
                Ok(())
            }),
            PostKind::Status => head_sha(&github).and_then(|sha| {
                let target = posting.comment_url.as_deref().or(ctx.run_url.as_deref());
                status::post(&github, repo, &sha, report, target, &name.check())?;
                say!(
                    "mlscore ci: commit status `{}` {} posted on {}",
                    name.check(),
                    status::state(report),
                    context::short(&sha)
                );
                Ok(())
            }),
            PostKind::Review => match ctx.pr {
                None => {
                    skip(kind, "there is no pull request (pass --pr)");
                    continue;
                }
                Some(pr) => head_sha(&github).and_then(|sha| {
                    let outcome = review::post(&github, repo, pr, &sha, report, prefix)?;
                    say!(
                        "mlscore ci: review: {} comment(s) posted, {} already there, {} finding(s) outside the diff",
                        outcome.posted, outcome.repeated, outcome.off_diff
                    );
                    Ok(())
                }),
            },
        };
        if let Err(err) = result {
            out_of_time |= matches!(err, ForgeError::Deadline { .. });
            fail(ctx, &mut posting, kind, &err, commands);
        }
    }
    posting
}

/// The repository and a client, or why there are none.
fn ready<'a>(ctx: &'a CiContext, env: &dyn Env) -> Result<(&'a RepoSlug, GitHub), ForgeError> {
    let repo = ctx
        .repo
        .as_ref()
        .ok_or_else(|| ForgeError::InvalidContext {
            message: "no GitHub repository to post to".into(),
            help: "pass --repo OWNER/NAME, or set CI_REPO_OWNER and CI_REPO_NAME".into(),
        })?;
    let token = ctx.token.as_ref().ok_or(ForgeError::NoToken)?;
    let github = GitHub::new(&ctx.api_url, token, RetryPolicy::from_env(env))?;
    Ok((repo, github))
}

/// The commit to post to; asks GitHub for the pull request's head when the
/// checkout cannot say (a Jenkins build without a merge commit).
fn resolve_head(github: &GitHub, repo: &RepoSlug, ctx: &CiContext) -> Result<String, ForgeError> {
    #[derive(serde::Deserialize)]
    struct Pull {
        head: PullHead,
    }
    #[derive(serde::Deserialize)]
    struct PullHead {
        sha: String,
    }
    match (&ctx.head, ctx.pr) {
        (Head::Sha(sha), _) => Ok(sha.clone()),
        (Head::FromPullRequest { fallback }, Some(pr)) => {
            match github.get::<Pull>(&format!("/repos/{repo}/pulls/{pr}")) {
                Ok(pull) => Ok(pull.head.sha),
                Err(err) => match fallback {
                    Some(sha) => {
                        say!(
                            "note: cannot read the pull request's head ({}); posting to the checked-out commit {}",
                            redact(ctx, &err.to_string()),
                            context::short(sha)
                        );
                        Ok(sha.clone())
                    }
                    None => Err(err),
                },
            }
        }
        (
            Head::FromPullRequest {
                fallback: Some(sha),
            },
            None,
        ) => Ok(sha.clone()),
        _ => Err(ForgeError::NoHead),
    }
}

fn skip(kind: PostKind, why: &str) {
    say!("note: the {} is not posted: {why}", kind_name(kind));
}

/// Reports a failed post: a warning with GitHub's words and the fix, on
/// stderr and, in GitHub Actions, as a warning annotation on the run.
fn fail(
    ctx: &CiContext,
    posting: &mut Posting,
    kind: PostKind,
    err: &ForgeError,
    commands: Commands,
) {
    let what = kind_name(kind);
    let message = redact(ctx, &format!("could not post the {what}: {err}"));
    let help = redact(ctx, &advice(ctx, kind, err));
    say!("warning: {message}");
    if !help.is_empty() {
        say!("  help: {help}");
    }
    let text = if help.is_empty() {
        message
    } else {
        format!("{message}\n{help}")
    };
    commands.emit(&format!(
        "::warning title=mlscore could not post::{}\n",
        workflow_commands::escape_data(&text)
    ));
    posting.failed.push(match err.status() {
        Some(status) => format!("{what} ({status})"),
        None => what.to_string(),
    });
}

/// The fix for a failed post, naming the permission to grant.
fn advice(ctx: &CiContext, kind: PostKind, err: &ForgeError) -> String {
    if let Some(help) = miette::Diagnostic::help(err) {
        if !matches!(err, ForgeError::Api(_)) {
            return help.to_string();
        }
    }
    let actions = ctx.provider == Provider::GitHubActions;
    let permission = match kind {
        PostKind::Comment | PostKind::Review => "pull-requests: write",
        PostKind::Check => "checks: write",
        PostKind::Status => "statuses: write",
    };
    let grant = if actions {
        format!("grant the job `permissions: {permission}`")
    } else {
        "give the token's account write access to the repository".to_string()
    };
    match err.status() {
        Some(401) => "the token is invalid or expired: renew it".into(),
        Some(403) => {
            let app_only = matches!(err, ForgeError::Api(api) if api.message.contains("GitHub App"));
            if kind == PostKind::Check && app_only {
                return "check runs need a GitHub App token such as Actions' GITHUB_TOKEN; with a personal token use `--post status` instead".into();
            }
            let mut text = grant;
            if actions && matches!(kind, PostKind::Comment | PostKind::Review) {
                text.push_str("; a pull request from a fork gets a read-only token: post from a `workflow_run` workflow instead (see the README)");
            }
            text
        }
        Some(404) => format!(
            "{grant}; GitHub answers 404 when the token cannot see the repository or pull request — check --repo, --pr and the API URL"
        ),
        Some(422) => "GitHub rejected the request as invalid: its message above says why".into(),
        Some(status) if status >= 500 => {
            "GitHub kept failing after retries: run the job again".into()
        }
        _ => String::new(),
    }
}

fn redact(ctx: &CiContext, text: &str) -> String {
    match &ctx.token {
        Some(token) => token.redact(text),
        None => text.to_string(),
    }
}

/// The step's outputs: `score`, `verdict`, `report` (the JSON report's path,
/// when one was written) and `comment-url`.
fn step_outputs(
    report: &Report,
    planned: &[(Format, Destination)],
    comment_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let passed = report.verdict.as_ref().is_none_or(|v| v.passed);
    let mut outputs = vec![
        ("score", human::points(report.score.final_score)),
        (
            "verdict",
            if passed { "passed" } else { "failed" }.to_string(),
        ),
    ];
    let json = planned.iter().find_map(|(f, d)| match d {
        Destination::File(path) if *f == Format::Json => Some(path),
        _ => None,
    });
    if let Some(path) = json {
        outputs.push(("report", path.display().to_string()));
    }
    if let Some(url) = comment_url {
        outputs.push(("comment-url", url.to_string()));
    }
    outputs
}
