//! The commit status: the gate as `success` or `failure` under the context
//! `mlscore`. Unlike a check run it works with a personal token, which makes
//! it the gate to require from Jenkins and other CI.

use serde::Serialize;

use super::check_run;
use super::error::ForgeError;
use super::github::GitHub;
use super::remote::RepoSlug;
use crate::report::Report;

/// GitHub's limit for a status description, in characters.
pub const DESCRIPTION_LIMIT: usize = 140;

#[derive(Serialize)]
struct Status<'a> {
    state: &'static str,
    context: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_url: Option<&'a str>,
}

/// `success` when the gate passed or is advisory, else `failure`: a status
/// has no neutral state, and an advisory gate must not block a merge.
pub fn state(report: &Report) -> &'static str {
    match check_run::conclusion(report) {
        "failure" => "failure",
        _ => "success",
    }
}

/// The score and the verdict in at most 140 characters.
pub fn description(report: &Report) -> String {
    let text = format!(
        "{} — {}",
        check_run::title(report),
        report.score.band_meaning
    );
    check_run::cut(&text, DESCRIPTION_LIMIT)
}

/// Posts the status on `sha`. `target_url` is where "Details" leads: the
/// comment or the CI run.
pub fn post(
    github: &GitHub,
    repo: &RepoSlug,
    sha: &str,
    report: &Report,
    target_url: Option<&str>,
    context: &str,
) -> Result<(), ForgeError> {
    let description = description(report);
    // Only web links: GitHub rejects anything else with a 422.
    let target_url = target_url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let _: serde_json::Value = github.post(
        &format!("/repos/{repo}/statuses/{sha}"),
        &Status {
            state: state(report),
            context,
            description: &description,
            target_url,
        },
        // A status with the same context replaces the last: safe to repeat.
        true,
    )?;
    Ok(())
}
