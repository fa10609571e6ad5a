//! Inline review comments on the lines a pull request adds. GitHub rejects a
//! whole review when one comment is outside the diff, so findings are first
//! filtered against the pull request's files; comments an earlier run already
//! left on the same line are not repeated.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::check_run::repo_path;
use super::error::ForgeError;
use super::github::GitHub;
use super::hunks;
use super::remote::RepoSlug;
use crate::report::markdown::escape;
use crate::report::{Level, Report};

/// The hidden first line of mlscore's review comments.
pub const FINDING_MARKER: &str = "<!-- mlscore:finding -->";

/// A comment to leave on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineComment {
    pub path: String,
    pub line: usize,
    #[serde(default = "right")]
    pub side: String,
    pub body: String,
}

fn right() -> String {
    "RIGHT".into()
}

/// The report's findings and warnings that have a line, as comments.
pub fn candidates(report: &Report, prefix: &str) -> Vec<LineComment> {
    let findings = report.findings.iter().filter_map(|f| {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        };
        Some(comment(
            prefix,
            f.path.as_deref()?,
            f.line?,
            &format!(
                "**mlscore {}** ({level}): {}",
                escape(&f.check),
                escape(&f.message)
            ),
        ))
    });
    let warnings = report.warnings.iter().filter_map(|w| {
        Some(comment(
            prefix,
            &w.path,
            w.line?,
            &format!("**mlscore** (warning): {}", escape(&w.message)),
        ))
    });
    findings.chain(warnings).collect()
}

fn comment(prefix: &str, path: &str, line: usize, text: &str) -> LineComment {
    LineComment {
        path: repo_path(prefix, path),
        line,
        side: right(),
        body: format!("{FINDING_MARKER}\n{text}"),
    }
}

/// The comments on lines the pull request adds. `added` maps a file to its
/// added lines.
pub fn on_diff(
    comments: Vec<LineComment>,
    added: &BTreeMap<String, BTreeSet<usize>>,
) -> Vec<LineComment> {
    comments
        .into_iter()
        .filter(|c| {
            added
                .get(&c.path)
                .is_some_and(|lines| lines.contains(&c.line))
        })
        .collect()
}

#[derive(Deserialize)]
struct PullFile {
    filename: String,
    #[serde(default)]
    patch: Option<String>,
}

#[derive(Deserialize)]
struct ReviewComment {
    path: String,
    #[serde(default)]
    line: Option<usize>,
    #[serde(default)]
    body: String,
}

#[derive(Serialize)]
struct Review<'a> {
    commit_id: &'a str,
    event: &'static str,
    body: String,
    comments: &'a [LineComment],
}

/// What the review did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Comments posted.
    pub posted: usize,
    /// Findings on lines the pull request does not add.
    pub off_diff: usize,
    /// Comments an earlier run already left.
    pub repeated: usize,
}

/// Posts one `COMMENT` review with a comment per finding on an added line;
/// posts nothing when none remain.
pub fn post(
    github: &GitHub,
    repo: &RepoSlug,
    pr: u64,
    head_sha: &str,
    report: &Report,
    prefix: &str,
) -> Result<Outcome, ForgeError> {
    let all = candidates(report, prefix);
    if all.is_empty() {
        return Ok(Outcome::default());
    }
    let files: Vec<PullFile> = github.get_all(&format!("/repos/{repo}/pulls/{pr}/files"))?;
    let added: BTreeMap<String, BTreeSet<usize>> = files
        .into_iter()
        .filter_map(|f| Some((f.filename, hunks::added_lines(f.patch.as_deref()?))))
        .collect();
    let total = all.len();
    let inside = on_diff(all, &added);
    let off_diff = total - inside.len();
    let existing: Vec<ReviewComment> =
        github.get_all(&format!("/repos/{repo}/pulls/{pr}/comments"))?;
    let fresh: Vec<LineComment> = inside
        .into_iter()
        .filter(|c| {
            !existing
                .iter()
                .any(|e| e.path == c.path && e.line == Some(c.line) && e.body == c.body)
        })
        .collect();
    let repeated = total - off_diff - fresh.len();
    if fresh.is_empty() {
        return Ok(Outcome {
            posted: 0,
            off_diff,
            repeated,
        });
    }
    let body = format!(
        "mlscore: {} finding(s) on lines this pull request adds; the full report is in the mlscore comment.",
        fresh.len()
    );
    let _: serde_json::Value = github.post(
        &format!("/repos/{repo}/pulls/{pr}/reviews"),
        &Review {
            commit_id: head_sha,
            event: "COMMENT",
            body,
            comments: &fresh,
        },
        false,
    )?;
    Ok(Outcome {
        posted: fresh.len(),
        off_diff,
        repeated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(path: &str, line: usize) -> LineComment {
        comment("", path, line, "x")
    }

    #[test]
    fn keeps_only_added_lines() {
        let added = BTreeMap::from([
            ("a.yml".to_string(), BTreeSet::from([3, 4])),
            ("b.py".to_string(), BTreeSet::new()),
        ]);
        let kept = on_diff(
            vec![
                line("a.yml", 3),
                line("a.yml", 5),
                line("b.py", 1),
                line("c.py", 1),
            ],
            &added,
        );
        assert_eq!(kept, vec![line("a.yml", 3)]);
    }

    #[test]
    fn bodies_carry_the_marker_and_escape_repository_text() {
        let c = comment("sub", "x.yml", 2, &escape("<img src=x>"));
        assert_eq!(c.path, "sub/x.yml");
        assert!(c.body.starts_with(FINDING_MARKER));
        assert!(!c.body.contains("<img"));
    }
}
