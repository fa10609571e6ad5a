//! A small blocking GitHub REST client over octocrab.
//!
//! Requests go through octocrab's raw `_get`/`_post`/`_patch`, because the
//! answer's headers matter (`Link` for pages, `retry-after` and
//! `x-ratelimit-*` for waits) and octocrab's typed methods drop them. Bodies
//! are small serde structs of mlscore's own: octocrab's models require many
//! fields that neither GitHub Enterprise versions nor test servers all send.
//! Retries are [`super::retry`]'s, octocrab's retry layer is off.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{ApiError, ForgeError};
use super::retry::{self, Answer, Decision, RetryPolicy};
use super::token::Token;

/// Pages followed at most when listing (100 items each).
const MAX_PAGES: usize = 100;

/// A connected client for one API root.
pub struct GitHub {
    // Declared before the runtime so that it is dropped first.
    crab: Octocrab,
    runtime: tokio::runtime::Runtime,
    retry: RetryPolicy,
    /// Waiting done so far, against the policy's cap.
    waited: Cell<Duration>,
    /// `scheme://host[:port]` of the API: pagination links must stay on it.
    origin: String,
    /// When all network work of the run must be over.
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// One answer, read whole.
struct Reply {
    answer: Answer,
    link: Option<String>,
    body: String,
}

impl GitHub {
    /// A client for `api_url` (e.g. `https://api.github.com`, or
    /// `https://HOST/api/v3` on GitHub Enterprise Server, whose path prefix is
    /// kept) authenticated with `token`.
    pub fn new(api_url: &str, token: &Token, retry: RetryPolicy) -> Result<GitHub, ForgeError> {
        if !token.is_valid() {
            return Err(ForgeError::InvalidToken {
                var: token.source(),
            });
        }
        let client_error = |reason: String, help: &str| ForgeError::Client {
            reason,
            help: help.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                client_error(e.to_string(), "this is a bug in mlscore; please report it")
            })?;
        let builder = Octocrab::builder()
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .set_write_timeout(Some(Duration::from_secs(30)))
            .personal_token(token.expose().to_string())
            .base_uri(api_url)
            .map_err(|_| {
                client_error(
                    format!("`{api_url}` is not a URL"),
                    "pass the API root, e.g. `--api-url https://github.example.com/api/v3`",
                )
            })?;
        // The connector is made inside the runtime, which hyper expects.
        let crab = {
            let _inside = runtime.enter();
            builder.build().map_err(|e| {
                client_error(
                    chain(&e),
                    "install the system's CA certificates (Debian/Ubuntu: `apt-get install ca-certificates`) or point SSL_CERT_FILE at a PEM bundle",
                )
            })?
        };
        Ok(GitHub {
            crab,
            runtime,
            waited: Cell::new(Duration::ZERO),
            origin: origin(api_url),
            deadline: Instant::now() + retry.deadline,
            retry,
        })
    }

    /// `GET path`, decoded.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ForgeError> {
        let reply = self.send(Method::Get, path, None::<&()>, true)?;
        decode(Method::Get, path, &reply.body)
    }

    /// Every item of a list, following `Link: <…>; rel="next"` 100 at a time.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut target = format!("{path}{sep}per_page=100");
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self.send(Method::Get, &target, None::<&()>, true)?;
            let page: Vec<T> = decode(Method::Get, &target, &reply.body)?;
            items.extend(page);
            match reply.link.as_deref().and_then(next_link) {
                Some(next) if next.starts_with(&self.origin) => target = next,
                Some(next) => {
                    return Err(ForgeError::Decode {
                        method: "GET".into(),
                        path: path.into(),
                        reason: format!("the next page is on another host ({next})"),
                    })
                }
                None => break,
            }
        }
        Ok(items)
    }

    /// `POST path` with a JSON body. `idempotent`: whether sending it twice
    /// is harmless, which allows retrying after a server error.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotent: bool,
    ) -> Result<T, ForgeError> {
        let reply = self.send(Method::Post, path, Some(body), idempotent)?;
        decode(Method::Post, path, &reply.body)
    }

    /// `PATCH path` with a JSON body (PATCH sets fields: safe to repeat).
    pub fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ForgeError> {
        let reply = self.send(Method::Patch, path, Some(body), true)?;
        decode(Method::Patch, path, &reply.body)
    }

    /// Sends until success, a final error, or the retry policy gives up.
    fn send<B: Serialize>(
        &self,
        method: Method,
        target: &str,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<Reply, ForgeError> {
        let shown = self.shown(target);
        let past_deadline = || ForgeError::Deadline {
            method: method.name().into(),
            path: shown.clone(),
            deadline_secs: self.retry.deadline.as_secs(),
        };
        let mut attempt = 0;
        loop {
            // Each request gets what is left of the run's deadline, so a
            // server that accepts and never answers costs the deadline once,
            // not the read timeout times every retry and every post.
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(past_deadline());
            }
            let result = match self.runtime.block_on(async {
                tokio::time::timeout(left, self.send_once(method, target, body)).await
            }) {
                Ok(result) => result,
                Err(_elapsed) => return Err(past_deadline()),
            };
            let answer = match &result {
                Ok(reply) if reply.answer.status < 400 => return result,
                Ok(reply) => Some(&reply.answer),
                Err(_) => None,
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match retry::decide(
                &self.retry,
                answer,
                attempt,
                self.waited.get(),
                now,
                idempotent,
            ) {
                Decision::RetryAfter(wait) => {
                    if Instant::now() + wait >= self.deadline {
                        return Err(past_deadline());
                    }
                    std::thread::sleep(wait);
                    self.waited.set(self.waited.get() + wait);
                    attempt += 1;
                }
                Decision::RateLimitTooLong { wait } => {
                    return Err(ForgeError::RateLimited {
                        method: method.name().into(),
                        path: shown,
                        wait_secs: wait.as_secs(),
                        budget_secs: self.retry.max_total_wait.as_secs(),
                    })
                }
                Decision::Stop => {
                    return match result {
                        Ok(reply) => Err(ForgeError::Api(ApiError::from_body(
                            method.name(),
                            &shown,
                            reply.answer.status,
                            &reply.body,
                        ))),
                        Err(err) => Err(err),
                    }
                }
            }
        }
    }

    async fn send_once<B: Serialize>(
        &self,
        method: Method,
        target: &str,
        body: Option<&B>,
    ) -> Result<Reply, ForgeError> {
        let transport = |err: octocrab::Error| ForgeError::Transport {
            method: method.name().into(),
            path: self.shown(target),
            reason: chain(&err),
        };
        let response = match method {
            Method::Get => self.crab._get(target).await,
            Method::Post => self.crab._post(target, body).await,
            Method::Patch => self.crab._patch(target, body).await,
        }
        .map_err(transport)?;
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        let answer = Answer {
            status: response.status().as_u16(),
            retry_after: number("retry-after"),
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset"),
        };
        let link = header("link");
        let body = self
            .crab
            .body_to_string(response)
            .await
            .map_err(transport)?;
        Ok(Reply { answer, link, body })
    }

    /// A target as shown in messages: the path, without the API's origin.
    fn shown(&self, target: &str) -> String {
        target
            .strip_prefix(&self.origin)
            .unwrap_or(target)
            .to_string()
    }
}

fn decode<T: DeserializeOwned>(method: Method, path: &str, body: &str) -> Result<T, ForgeError> {
    // An empty body (204) reads as null, which `()` and `Option` accept.
    let text = if body.trim().is_empty() { "null" } else { body };
    serde_json::from_str(text).map_err(|e| ForgeError::Decode {
        method: method.name().into(),
        path: path.into(),
        reason: e.to_string(),
    })
}

/// An error and its causes on one line (octocrab's own Display is often a
/// single word).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{authority}")
        }
        None => url.to_string(),
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_page() {
        let header = r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        let last = r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
    }

    #[test]
    fn origins() {
        assert_eq!(origin("https://ghe.corp/api/v3"), "https://ghe.corp");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn empty_bodies_decode_as_unit() {
        let unit: Result<(), _> = decode(Method::Post, "/", "");
        assert!(unit.is_ok());
    }
}
