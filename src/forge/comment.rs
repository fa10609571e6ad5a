//! The sticky pull-request comment: one per pull request, found by the hidden
//! marker on its first line and by its author, edited in place, never
//! duplicated.
//!
//! The author is matched when it is known: `github-actions[bot]` for Actions'
//! own `GITHUB_TOKEN`, or the login in `MLSCORE_COMMENT_AUTHOR`. Otherwise
//! (a personal token in Jenkins) the marker alone decides: mlscore does not
//! call `GET /user` to learn its login, which installation tokens may not.
//! Several marked comments (left by an old bug, or by a copy-paste) are not
//! cleaned up: the newest is edited and the rest left alone.

use serde::{Deserialize, Serialize};

use super::context::RepoSlug;
use super::error::ForgeError;
use super::github::GitHub;
use crate::report::markdown::COMMENT_MARKER;

/// An issue comment, as much of it as mlscore reads.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub user: Option<Login>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A user reference.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

/// What happened to the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Edited,
    /// Found with the same body: nothing sent.
    Unchanged,
}

/// The comment after posting.
#[derive(Debug, Clone)]
pub struct Posted {
    pub action: Action,
    pub id: u64,
    pub url: Option<String>,
}

/// Whether a body is one of mlscore's reports: the marker is its first line.
pub fn is_marked(body: &str) -> bool {
    body.lines().next().map(str::trim_end) == Some(COMMENT_MARKER)
}

/// The comment to edit: the newest marked one by `author` (any author when
/// `None`).
pub fn find_sticky<'a>(
    comments: &'a [IssueComment],
    author: Option<&str>,
) -> Option<&'a IssueComment> {
    comments
        .iter()
        .filter(|c| c.body.as_deref().is_some_and(is_marked))
        .filter(|c| match (author, &c.user) {
            (None, _) => true,
            (Some(want), Some(user)) => user.login.eq_ignore_ascii_case(want),
            (Some(_), None) => false,
        })
        .max_by_key(|c| c.id)
}

/// Whether two bodies are the same as GitHub stores them (it keeps CRLF
/// from some clients and may trim the end).
fn same_body(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim_end().to_string();
    norm(a) == norm(b)
}

/// Creates or edits the pull request's sticky comment.
pub fn upsert(
    github: &GitHub,
    repo: &RepoSlug,
    pr: u64,
    body: &str,
    author: Option<&str>,
) -> Result<Posted, ForgeError> {
    let list = format!("/repos/{repo}/issues/{pr}/comments");
    let mut tries = 0;
    loop {
        let comments: Vec<IssueComment> = github.get_all(&list)?;
        if let Some(existing) = find_sticky(&comments, author) {
            if existing
                .body
                .as_deref()
                .is_some_and(|old| same_body(old, body))
            {
                return Ok(Posted {
                    action: Action::Unchanged,
                    id: existing.id,
                    url: existing.html_url.clone(),
                });
            }
            // octocrab's update_comment sends POST; GitHub edits with PATCH.
            let edited: IssueComment = github.patch(
                &format!("/repos/{repo}/issues/comments/{}", existing.id),
                &CommentBody { body },
            )?;
            return Ok(Posted {
                action: Action::Edited,
                id: edited.id,
                url: edited.html_url.or_else(|| existing.html_url.clone()),
            });
        }
        match github.post::<_, IssueComment>(&list, &CommentBody { body }, false) {
            Ok(created) => {
                return Ok(Posted {
                    action: Action::Created,
                    id: created.id,
                    url: created.html_url,
                })
            }
            // A create that failed with a server error may have been carried
            // out all the same: list again before creating a second comment.
            Err(err) if err.status().is_some_and(|s| s >= 500) && tries < 2 => tries += 1,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: u64, login: &str, body: &str) -> IssueComment {
        IssueComment {
            id,
            body: Some(body.to_string()),
            user: Some(Login {
                login: login.to_string(),
            }),
            html_url: None,
        }
    }

    fn marked(text: &str) -> String {
        format!("{COMMENT_MARKER}\n{text}")
    }

    #[test]
    fn the_marker_must_be_the_first_line() {
        assert!(is_marked(&marked("score")));
        assert!(is_marked(&format!("{COMMENT_MARKER}\r\nscore")));
        assert!(!is_marked(&format!("quoting:\n{COMMENT_MARKER}")));
        assert!(!is_marked("LGTM"));
    }

    #[test]
    fn matches_author_when_known_and_takes_the_newest() {
        let comments = vec![
            comment(1, "github-actions[bot]", &marked("old")),
            comment(2, "mallory", &marked("fake")),
            comment(3, "github-actions[bot]", &marked("newer")),
            comment(4, "github-actions[bot]", "unrelated"),
            comment(5, "alice", &format!("> {COMMENT_MARKER}")),
        ];
        assert_eq!(
            find_sticky(&comments, Some("github-actions[bot]")).map(|c| c.id),
            Some(3)
        );
        assert!(find_sticky(&comments, Some("ML-Bot")).is_none());
        // Marker only: the newest marked comment, whoever wrote it.
        assert_eq!(find_sticky(&comments, None).map(|c| c.id), Some(3));
    }

    #[test]
    fn bodies_compare_modulo_line_endings() {
        assert!(same_body("a\r\nb\n", "a\nb"));
        assert!(!same_body("a\nb", "a\nc"));
    }
}
