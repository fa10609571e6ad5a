//! What can go wrong between mlscore and GitHub, rendered with GitHub's own
//! words: octocrab's `Error::GitHub` displays only "GitHub", so the status,
//! message and field errors are kept and shown here.

use std::fmt;

use miette::Diagnostic;

/// A response GitHub refused, as GitHub explained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub method: String,
    /// The request path, without the API root.
    pub path: String,
    pub status: u16,
    /// GitHub's `message`.
    pub message: String,
    /// GitHub's `errors`, each as text (a field error's `message`, or its
    /// `resource`/`field`/`code`).
    pub errors: Vec<String>,
    pub documentation_url: Option<String>,
}

impl ApiError {
    /// Reads GitHub's error body; any body that is not GitHub's JSON becomes
    /// the message (trimmed, and cut short: an HTML error page is no message).
    pub fn from_body(method: &str, path: &str, status: u16, body: &str) -> ApiError {
        let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                let text = body.trim();
                if text.is_empty() {
                    reason(status).to_string()
                } else {
                    text.chars().take(200).collect()
                }
            });
        let errors = parsed
            .as_ref()
            .and_then(|v| v.get("errors"))
            .and_then(|e| e.as_array())
            .map(|items| items.iter().map(error_text).collect())
            .unwrap_or_default();
        let documentation_url = parsed
            .as_ref()
            .and_then(|v| v.get("documentation_url"))
            .and_then(|d| d.as_str())
            .map(str::to_string);
        ApiError {
            method: method.to_string(),
            path: path.to_string(),
            status,
            message,
            errors,
            documentation_url,
        }
    }
}

fn error_text(item: &serde_json::Value) -> String {
    if let Some(text) = item.as_str() {
        return text.to_string();
    }
    if let Some(message) = item.get("message").and_then(|m| m.as_str()) {
        return message.to_string();
    }
    let field = |k: &str| item.get(k).and_then(|v| v.as_str()).unwrap_or("?");
    format!(
        "{}.{} is {}",
        field("resource"),
        field("field"),
        field("code")
    )
}

/// The standard reason phrase of the statuses GitHub uses.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GitHub answered {} {} to {} {}: {}",
            self.status,
            reason(self.status),
            self.method,
            self.path,
            self.message
        )?;
        if !self.errors.is_empty() {
            write!(f, " ({})", self.errors.join("; "))?;
        }
        if let Some(url) = &self.documentation_url {
            write!(f, " [{url}]")?;
        }
        Ok(())
    }
}

/// An error talking to GitHub, or about where mlscore runs.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
pub enum ForgeError {
    /// A flag or variable describing the context is wrong.
    #[error("{message}")]
    #[diagnostic(code(mlscore::ci::context))]
    InvalidContext {
        message: String,
        #[help]
        help: String,
    },

    /// GitHub answered with an error status.
    #[error("{0}")]
    #[diagnostic(code(mlscore::ci::github))]
    Api(ApiError),

    /// The rate limit resets later than mlscore is willing to wait.
    #[error("GitHub's rate limit is exhausted for {method} {path}; it resets in {wait_secs} s, longer than mlscore waits ({budget_secs} s)")]
    #[diagnostic(
        code(mlscore::ci::rate_limited),
        help("run again later, or raise the wait with MLSCORE_MAX_RETRY_WAIT (seconds)")
    )]
    RateLimited {
        method: String,
        path: String,
        wait_secs: u64,
        budget_secs: u64,
    },

    /// The run's network deadline passed: nothing more is sent.
    #[error("GitHub did not finish answering within mlscore's network deadline of {deadline_secs} s ({method} {path} not done)")]
    #[diagnostic(
        code(mlscore::ci::deadline),
        help("the local reports are written and the gate decides the exit code; raise the deadline with MLSCORE_NETWORK_DEADLINE (seconds) if GitHub is slow rather than down")
    )]
    Deadline {
        method: String,
        path: String,
        deadline_secs: u64,
    },

    /// No answer at all: DNS, connection, TLS or timeout.
    #[error("cannot reach GitHub for {method} {path}: {reason}")]
    #[diagnostic(
        code(mlscore::ci::unreachable),
        help("check the API URL (--api-url or GITHUB_API_URL) and the network")
    )]
    Transport {
        method: String,
        path: String,
        reason: String,
    },

    /// The HTTP client could not be set up.
    #[error("cannot set up the GitHub client: {reason}")]
    #[diagnostic(code(mlscore::ci::client))]
    Client {
        reason: String,
        #[help]
        help: String,
    },

    /// An answer that is not what GitHub sends.
    #[error("unexpected answer from GitHub to {method} {path}: {reason}")]
    #[diagnostic(
        code(mlscore::ci::decode),
        help("check that the API URL points at GitHub's REST API (GitHub Enterprise Server's ends in /api/v3)")
    )]
    Decode {
        method: String,
        path: String,
        reason: String,
    },

    /// No token to post with.
    #[error("no GitHub token: set MLSCORE_GITHUB_TOKEN, GITHUB_TOKEN or GH_TOKEN")]
    #[diagnostic(
        code(mlscore::ci::no_token),
        help("in GitHub Actions add `env: GITHUB_TOKEN: ${{{{ github.token }}}}` to the step; in Jenkins bind a credential to GITHUB_TOKEN")
    )]
    NoToken,

    /// A token no HTTP header can carry (spaces, control characters).
    #[error("the GitHub token in ${var} holds characters a token cannot have")]
    #[diagnostic(
        code(mlscore::ci::bad_token),
        help("set the variable to the token alone, without quotes, spaces or a `Bearer` prefix")
    )]
    InvalidToken { var: &'static str },

    /// Posts GitHub did not take, under `--strict-forge`.
    #[error("GitHub did not take the report: {what}")]
    #[diagnostic(
        code(mlscore::ci::refused),
        help("--strict-forge fails the run when a post fails; fix the cause printed above, or drop --strict-forge to fall back to the job summary and annotations")
    )]
    Refused { what: String },

    /// The commit to post to is unknown.
    #[error("the pull request's head commit is unknown")]
    #[diagnostic(
        code(mlscore::ci::no_head),
        help("pass the head commit with --sha (or CI_COMMIT)")
    )]
    NoHead,
}

impl ForgeError {
    /// The HTTP status of a GitHub answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// Whether GitHub refused for want of rights: a missing or read-only
    /// token, a missing permission, or a repository the token cannot see
    /// (GitHub answers 404 rather than 403 for those).
    pub fn is_refusal(&self) -> bool {
        matches!(self.status(), Some(401 | 403 | 404)) || matches!(self, ForgeError::NoToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_githubs_message_and_field_errors() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"Status","field":"sha","code":"custom","message":"No commit found for SHA: abc"},{"resource":"CheckRun","field":"head_sha","code":"invalid"}],"documentation_url":"https://docs.github.com/rest","status":"422"}"#;
        let err = ApiError::from_body("POST", "/repos/o/r/statuses/abc", 422, body);
        assert_eq!(
            err.to_string(),
            "GitHub answered 422 Unprocessable Entity to POST /repos/o/r/statuses/abc: Validation Failed (No commit found for SHA: abc; CheckRun.head_sha is invalid) [https://docs.github.com/rest]"
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_the_message() {
        let err = ApiError::from_body("GET", "/x", 502, "<html>bad gateway</html>");
        assert_eq!(err.message, "<html>bad gateway</html>");
        let err = ApiError::from_body("GET", "/x", 503, "");
        assert_eq!(err.message, "Service Unavailable");
    }

    #[test]
    fn refusals_are_401_403_404() {
        let refused = |status| ForgeError::Api(ApiError::from_body("POST", "/", status, "{}"));
        assert!(refused(403).is_refusal());
        assert!(refused(404).is_refusal());
        assert!(!refused(422).is_refusal());
        assert!(!refused(500).is_refusal());
    }
}
