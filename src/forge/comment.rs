//! The sticky pull-request comment: one per pull request, found by the hidden
//! marker on its first line and by its author, edited in place, never
//! duplicated.
//!
//! Only a comment written by the token's own identity is ever edited: anyone
//! may post a comment that starts with the marker, and editing theirs would
//! hand them mlscore's report slot (or let mlscore overwrite a person's words).
//! The identity is `MLSCORE_COMMENT_AUTHOR` when set, `github-actions[bot]` for
//! Actions' own `GITHUB_TOKEN`, else learnt from GitHub: `GET /user` answers
//! for personal and OAuth tokens; installation tokens are refused there, and
//! GraphQL's `viewer` answers with the app's bot login instead. When neither
//! answers, a new comment is created rather than one edited that cannot be
//! proven ours. Several marked comments by the same author (left by an old
//! bug) are not cleaned up: the newest is edited and the rest left alone.

use serde::{Deserialize, Serialize};

use super::error::ForgeError;
use super::github::GitHub;
use super::remote::RepoSlug;
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

/// Whether a body is the report with this `marker` as its first line.
pub fn is_marked(body: &str, marker: &str) -> bool {
    body.lines().next().map(str::trim_end) == Some(marker)
}

/// The comment to edit: the newest one by `author` that starts with `marker`.
pub fn find_sticky<'a>(
    comments: &'a [IssueComment],
    author: &str,
    marker: &str,
) -> Option<&'a IssueComment> {
    comments
        .iter()
        .filter(|c| c.body.as_deref().is_some_and(|b| is_marked(b, marker)))
        .filter(|c| {
            c.user
                .as_ref()
                .is_some_and(|user| user.login.eq_ignore_ascii_case(author))
        })
        .max_by_key(|c| c.id)
}

#[derive(Deserialize)]
struct GraphQlViewer {
    data: Option<ViewerData>,
}

#[derive(Deserialize)]
struct ViewerData {
    viewer: Option<Login>,
}

#[derive(Serialize)]
struct GraphQlQuery<'a> {
    query: &'a str,
}

/// The login comments posted with this token are authored by, when GitHub
/// will say: `GET /user`, then GraphQL's `viewer`.
pub fn whoami(github: &GitHub, api_url: &str) -> Option<String> {
    if let Ok(user) = github.get::<Login>("/user") {
        return Some(user.login);
    }
    let viewer: GraphQlViewer = github
        .post(
            &graphql_url(api_url),
            &GraphQlQuery {
                query: "query { viewer { login } }",
            },
            true,
        )
        .ok()?;
    viewer
        .data?
        .viewer
        .map(|v| v.login)
        .filter(|l| !l.is_empty())
}

/// GraphQL's endpoint beside a REST root: `https://api.github.com/graphql`,
/// and `https://HOST/api/graphql` on GitHub Enterprise Server (whose REST
/// root is `https://HOST/api/v3`).
fn graphql_url(api_url: &str) -> String {
    let root = api_url.trim_end_matches('/');
    match root.strip_suffix("/v3") {
        Some(api) if api.ends_with("/api") => format!("{api}/graphql"),
        _ => format!("{root}/graphql"),
    }
}

/// Whether two bodies are the same as GitHub stores them (it keeps CRLF
/// from some clients and may trim the end).
fn same_body(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim_end().to_string();
    norm(a) == norm(b)
}

/// Creates or edits the pull request's sticky comment, the one whose first
/// line is `body`'s. With no known `author`, always creates.
pub fn upsert(
    github: &GitHub,
    repo: &RepoSlug,
    pr: u64,
    body: &str,
    author: Option<&str>,
) -> Result<Posted, ForgeError> {
    let marker = body.lines().next().unwrap_or(COMMENT_MARKER).trim_end();
    let list = format!("/repos/{repo}/issues/{pr}/comments");
    let mut tries = 0;
    loop {
        let comments: Vec<IssueComment> = match author {
            Some(_) => github.get_all(&list)?,
            None => Vec::new(),
        };
        let sticky = author.and_then(|author| find_sticky(&comments, author, marker));
        if let Some(existing) = sticky {
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
            // out all the same: list again before creating a second comment
            // (which only helps when the author is known).
            Err(err) if err.status().is_some_and(|s| s >= 500) && tries < 2 && author.is_some() => {
                tries += 1
            }
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
        assert!(is_marked(&marked("score"), COMMENT_MARKER));
        assert!(is_marked(
            &format!("{COMMENT_MARKER}\r\nscore"),
            COMMENT_MARKER
        ));
        assert!(!is_marked(
            &format!("quoting:\n{COMMENT_MARKER}"),
            COMMENT_MARKER
        ));
        assert!(!is_marked("LGTM", COMMENT_MARKER));
        let named = "<!-- mlscore:report name=ranker -->";
        assert!(!is_marked(&marked("score"), named));
        assert!(is_marked(&format!("{named}\nscore"), named));
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
            find_sticky(&comments, "github-actions[bot]", COMMENT_MARKER).map(|c| c.id),
            Some(3)
        );
        assert_eq!(
            find_sticky(&comments, "Mallory", COMMENT_MARKER).map(|c| c.id),
            Some(2)
        );
        assert!(find_sticky(&comments, "ML-Bot", COMMENT_MARKER).is_none());
    }

    #[test]
    fn graphql_sits_beside_the_rest_root() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.corp/api/v3/"),
            "https://ghe.corp/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:9"),
            "http://127.0.0.1:9/graphql"
        );
    }

    #[test]
    fn bodies_compare_modulo_line_endings() {
        assert!(same_body("a\r\nb\n", "a\nb"));
        assert!(!same_body("a\nb", "a\nc"));
    }
}
