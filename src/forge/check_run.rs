//! The check run: the verdict as a conclusion, the report as its summary, and
//! an annotation for every finding with a location. GitHub takes at most 50
//! annotations per request: the first 50 go with the creation, the rest in
//! `PATCH` requests of 50, which append.

use serde::{Deserialize, Serialize};

use super::error::ForgeError;
use super::github::GitHub;
use super::remote::RepoSlug;
use crate::report::markdown::COMMENT_MARKER;
use crate::report::{Level, Report};

/// Annotations GitHub accepts per request.
pub const BATCH: usize = 50;

/// GitHub's limit for `output.summary`, in characters.
pub const SUMMARY_LIMIT: usize = 65_535;

/// GitHub's limit for an annotation's title, in characters.
const TITLE_LIMIT: usize = 255;

/// Long messages are cut here; GitHub's own limit (64 KB) is no reading length.
const MESSAGE_LIMIT: usize = 4_000;

/// One annotation, as GitHub takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub path: String,
    pub start_line: usize,
    pub end_line: usize,
    /// `notice`, `warning` or `failure`.
    pub annotation_level: &'static str,
    pub message: String,
    pub title: String,
}

/// The annotations of a report: its findings with a path, then its warnings.
/// `prefix` is the scanned folder inside the repository (paths in the report
/// are relative to it; GitHub's are relative to the repository).
pub fn annotations(report: &Report, prefix: &str) -> Vec<Annotation> {
    let findings = report.findings.iter().filter_map(|f| {
        let path = f.path.as_deref()?;
        let level = match f.level {
            Level::Error => "failure",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        Some(annotation(
            prefix,
            path,
            f.line,
            level,
            &format!("mlscore {}", f.check),
            &f.message,
        ))
    });
    let warnings = report
        .warnings
        .iter()
        .map(|w| annotation(prefix, &w.path, w.line, "warning", "mlscore", &w.message));
    findings.chain(warnings).collect()
}

fn annotation(
    prefix: &str,
    path: &str,
    line: Option<usize>,
    level: &'static str,
    title: &str,
    message: &str,
) -> Annotation {
    // A file-level finding is shown on its first line: GitHub needs one.
    let line = line.unwrap_or(1).max(1);
    Annotation {
        path: repo_path(prefix, path),
        start_line: line,
        end_line: line,
        annotation_level: level,
        message: cut(message, MESSAGE_LIMIT),
        title: cut(title, TITLE_LIMIT),
    }
}

/// A report path as a repository path.
pub fn repo_path(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let path = path.trim_start_matches("./").trim_start_matches('/');
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// At most `limit` characters, with an ellipsis when cut.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `success`, `failure`, or `neutral` for a failed gate in advisory mode.
pub fn conclusion(report: &Report) -> &'static str {
    match &report.verdict {
        Some(v) if !v.passed && v.advisory => "neutral",
        Some(v) if !v.passed => "failure",
        _ => "success",
    }
}

/// The check's title: the score and the verdict.
pub fn title(report: &Report) -> String {
    let score = crate::report::human::points(report.score.final_score);
    let verdict = match conclusion(report) {
        "failure" => "gate failed",
        "neutral" => "gate failed (advisory)",
        _ => "gate passed",
    };
    format!("ML Test Score {score} · {verdict}")
}

/// The summary from the comment's Markdown: without the marker line, and cut
/// at a line boundary to GitHub's limit.
pub fn summary(comment: &str) -> String {
    // The marker line, named (`<!-- mlscore:report name=… -->`) or not.
    let marker_stem = COMMENT_MARKER.trim_end_matches(" -->");
    let body = match comment.split_once('\n') {
        Some((first, rest)) if first.starts_with(marker_stem) => {
            rest.trim_start_matches(['\r', '\n'])
        }
        _ => comment,
    };
    if body.chars().count() <= SUMMARY_LIMIT {
        return body.to_string();
    }
    let note = "\n\n… (cut to GitHub's limit; the full report is in the PR comment and the job's reports)\n";
    let room = SUMMARY_LIMIT - note.chars().count();
    let mut out = String::new();
    let mut used = 0;
    for line in body.split_inclusive('\n') {
        let n = line.chars().count();
        if used + n > room {
            break;
        }
        out.push_str(line);
        used += n;
    }
    out.push_str(note);
    out
}

#[derive(Serialize)]
struct Output<'a> {
    title: &'a str,
    summary: &'a str,
    annotations: &'a [Annotation],
}

#[derive(Serialize)]
struct Create<'a> {
    name: &'a str,
    head_sha: &'a str,
    status: &'static str,
    conclusion: &'static str,
    output: Output<'a>,
}

#[derive(Serialize)]
struct Append<'a> {
    output: Output<'a>,
}

#[derive(Deserialize)]
struct CheckRun {
    id: u64,
    #[serde(default)]
    html_url: Option<String>,
}

/// The check run after posting.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: u64,
    pub url: Option<String>,
    pub annotations: usize,
}

/// Creates the completed check run on `head_sha`, then appends the
/// annotations beyond the first 50.
pub fn post(
    github: &GitHub,
    repo: &RepoSlug,
    head_sha: &str,
    report: &Report,
    summary: &str,
    annotations: &[Annotation],
    name: &str,
) -> Result<Posted, ForgeError> {
    let title = title(report);
    let mut batches = annotations.chunks(BATCH);
    let first = batches.next().unwrap_or(&[]);
    let created: CheckRun = github.post(
        &format!("/repos/{repo}/check-runs"),
        &Create {
            name,
            head_sha,
            status: "completed",
            conclusion: conclusion(report),
            output: Output {
                title: &title,
                summary,
                annotations: first,
            },
        },
        // A second run of the same name is shown in place of the first.
        true,
    )?;
    for batch in batches {
        let _: serde_json::Value = github.patch(
            &format!("/repos/{repo}/check-runs/{}", created.id),
            &Append {
                output: Output {
                    title: &title,
                    summary,
                    annotations: batch,
                },
            },
        )?;
    }
    Ok(Posted {
        id: created.id,
        url: created.html_url,
        annotations: annotations.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_the_scanned_folder() {
        assert_eq!(repo_path("", "metrics.json"), "metrics.json");
        assert_eq!(
            repo_path("ml/ranker/", "./metrics.json"),
            "ml/ranker/metrics.json"
        );
    }

    #[test]
    fn cut_counts_characters() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdé", 4), "abc…");
        assert_eq!(
            cut(&"é".repeat(300), TITLE_LIMIT).chars().count(),
            TITLE_LIMIT
        );
    }

    #[test]
    fn summary_drops_the_marker_and_fits_the_limit() {
        let comment = format!("{COMMENT_MARKER}\n## Score\n");
        assert_eq!(summary(&comment), "## Score\n");
        let long = format!(
            "{COMMENT_MARKER}\n{}",
            "a line of the report\n".repeat(5_000)
        );
        let cut = summary(&long);
        assert!(cut.chars().count() <= SUMMARY_LIMIT);
        assert!(cut.ends_with("job's reports)\n"));
    }

    #[test]
    fn batches_are_fifty() {
        let items: Vec<u32> = (0..120).collect();
        let sizes: Vec<usize> = items.chunks(BATCH).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![50, 50, 20]);
    }
}
