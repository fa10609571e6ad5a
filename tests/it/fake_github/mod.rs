//! A stateful fake of the GitHub REST API on 127.0.0.1, for driving the real
//! `mlscore ci` binary: issue comments (with `Link` pagination), check runs
//! and their annotations, commit statuses, pull requests with their files and
//! patches, review comments; tokens with and without write permission; and
//! fault modes (server errors, rate limits, a create that fails after it was
//! done). Every request is recorded for assertions.
#![allow(dead_code)]

mod http;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use http::{Request, Response};

/// The one repository the fake hosts.
pub const REPO: &str = "acme/models";

const DOCS: &str = "https://docs.github.com/rest";

/// Who a token is and what it may do.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub login: String,
    /// Writes are refused with 403 without it (a fork's read-only token).
    pub can_write: bool,
    /// A GitHub App token (Actions' GITHUB_TOKEN); check runs need one.
    pub app: bool,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query without the `/api/v3` prefix.
    pub path: String,
    /// Whether the request came with GitHub Enterprise's `/api/v3` prefix.
    pub enterprise_prefix: bool,
    pub body: String,
    pub status: u16,
    pub at: Instant,
}

impl Recorded {
    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub pr: u64,
    pub login: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub conclusion: String,
    pub title: String,
    pub summary: String,
    pub annotations: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub head_sha: String,
    pub base_sha: String,
    /// `(filename, patch)` of the changed files.
    pub files: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub pr: u64,
    pub commit_id: String,
    pub body: String,
    pub comments: Vec<Value>,
}

/// How a rate limit is announced.
#[derive(Debug, Clone, Copy)]
pub enum RateLimit {
    /// 403 with `x-ratelimit-remaining: 0` and `retry-after: N`.
    Forbidden { retry_after: u64 },
    /// 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` N seconds ahead.
    TooMany { reset_in: u64 },
}

/// Everything the fake holds.
#[derive(Debug)]
pub struct State {
    pub tokens: HashMap<String, TokenInfo>,
    pub comments: Vec<Comment>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<Status>,
    pub pulls: HashMap<u64, Pull>,
    pub reviews: Vec<Review>,
    /// Review comments, as `{path, line, body}`.
    pub review_comments: Vec<Value>,
    /// Commits statuses and check runs may name; empty: any.
    pub known_shas: HashSet<String>,
    /// Answer this many requests with 500 before serving any.
    pub server_errors: u32,
    /// Answer this many writes with a rate limit.
    pub rate_limited_writes: u32,
    pub rate_limit: RateLimit,
    /// Store the next created comment but answer 502, as GitHub may.
    pub ghost_create: bool,
    /// Whether GraphQL's `viewer` answers (it does for installation tokens
    /// on github.com; set false for a server that refuses it too).
    pub graphql_viewer: bool,
    pub log: Vec<Recorded>,
    next_id: u64,
    base_url: String,
}

/// A running fake; stops when dropped.
pub struct FakeGitHub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Starts a fake on a free port of 127.0.0.1.
    pub fn start() -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let url = format!("http://{addr}");
        let state = Arc::new(Mutex::new(State {
            tokens: HashMap::new(),
            comments: Vec::new(),
            check_runs: Vec::new(),
            statuses: Vec::new(),
            pulls: HashMap::new(),
            reviews: Vec::new(),
            review_comments: Vec::new(),
            known_shas: HashSet::new(),
            server_errors: 0,
            rate_limited_writes: 0,
            rate_limit: RateLimit::Forbidden { retry_after: 1 },
            ghost_create: false,
            graphql_viewer: true,
            log: Vec::new(),
            next_id: 1000,
            base_url: url.clone(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || serve(&listener, &state, &stop))
        };
        FakeGitHub {
            url,
            state,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    /// Adds a token.
    pub fn token(&self, token: &str, login: &str, can_write: bool, app: bool) -> &Self {
        self.with(|s| {
            s.tokens.insert(
                token.to_string(),
                TokenInfo {
                    login: login.to_string(),
                    can_write,
                    app,
                },
            )
        });
        self
    }

    /// Reads or changes the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state lock"))
    }

    /// The requests so far.
    pub fn log(&self) -> Vec<Recorded> {
        self.with(|s| s.log.clone())
    }

    /// The comments of a pull request, oldest first.
    pub fn comments(&self, pr: u64) -> Vec<Comment> {
        self.with(|s| s.comments.iter().filter(|c| c.pr == pr).cloned().collect())
    }

    /// Adds a comment as if someone had written it.
    pub fn seed_comment(&self, pr: u64, login: &str, body: &str) -> u64 {
        self.with(|s| s.add_comment(pr, login, body).id)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: &TcpListener, state: &Mutex<State>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(Some(request)) = http::read_request(&stream) else {
            continue;
        };
        let response = {
            let mut state = state.lock().expect("state lock");
            state.handle(&request)
        };
        let _ = http::write_response(&stream, &response);
    }
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn invalid(message: &str) -> Response {
    Response::json(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "Request", "code": "custom", "message": message}], "documentation_url": DOCS, "status": "422"}),
    )
}

fn query(target: &str) -> HashMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl State {
    fn add_comment(&mut self, pr: u64, login: &str, body: &str) -> Comment {
        self.next_id += 1;
        let comment = Comment {
            id: self.next_id,
            pr,
            login: login.to_string(),
            body: body.to_string(),
        };
        self.comments.push(comment.clone());
        comment
    }

    fn comment_json(&self, c: &Comment) -> Value {
        json!({
            "id": c.id,
            "body": c.body,
            "user": {"login": c.login, "type": if c.login.ends_with("[bot]") { "Bot" } else { "User" }},
            "html_url": format!("https://github.com/{REPO}/pull/{}#issuecomment-{}", c.pr, c.id),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "author_association": "NONE"
        })
    }

    fn handle(&mut self, request: &Request) -> Response {
        let (path, enterprise_prefix) = match request.target.strip_prefix("/api/v3") {
            Some(rest) => (rest.to_string(), true),
            None => (request.target.clone(), false),
        };
        let response = self.route(request, &path, enterprise_prefix);
        self.log.push(Recorded {
            method: request.method.clone(),
            path,
            enterprise_prefix,
            body: request.body.clone(),
            status: response.status,
            at: Instant::now(),
        });
        response
    }

    fn route(&mut self, request: &Request, path: &str, prefixed: bool) -> Response {
        let token = request
            .header("authorization")
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("token "))
            })
            .map(str::to_string);
        let Some(who) = token.and_then(|t| self.tokens.get(&t).cloned()) else {
            return error(401, "Bad credentials");
        };
        if self.server_errors > 0 {
            self.server_errors -= 1;
            return error(500, "Server Error");
        }
        let write = matches!(request.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE");
        if write && self.rate_limited_writes > 0 {
            self.rate_limited_writes -= 1;
            let limited = error(403, "API rate limit exceeded for installation.")
                .with_header("x-ratelimit-limit", "1000")
                .with_header("x-ratelimit-remaining", "0");
            return match self.rate_limit {
                RateLimit::Forbidden { retry_after } => limited
                    .with_header("retry-after", retry_after.to_string())
                    .with_header("x-ratelimit-reset", (now() + retry_after).to_string()),
                RateLimit::TooMany { reset_in } => {
                    let mut limited =
                        limited.with_header("x-ratelimit-reset", (now() + reset_in).to_string());
                    limited.status = 429;
                    limited
                }
            };
        }
        let bare = path.split('?').next().unwrap_or(path);
        let parts: Vec<&str> = bare.trim_matches('/').split('/').collect();
        if parts == ["graphql"] || parts == ["api", "graphql"] {
            let asks_viewer = request.body.contains("viewer");
            return if self.graphql_viewer && asks_viewer && request.method == "POST" {
                Response::json(200, json!({"data": {"viewer": {"login": who.login}}}))
            } else {
                Response::json(
                    200,
                    json!({"data": null, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]}),
                )
            };
        }
        if parts == ["user"] {
            return if who.app {
                error(403, "Resource not accessible by integration")
            } else {
                Response::json(200, json!({"login": who.login}))
            };
        }
        if parts.len() < 3 || parts[0] != "repos" || format!("{}/{}", parts[1], parts[2]) != REPO {
            return error(404, "Not Found");
        }
        if write && !who.can_write {
            return error(403, "Resource not accessible by integration");
        }
        let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
        let prefix = if prefixed { "/api/v3" } else { "" };
        match (request.method.as_str(), &parts[3..]) {
            ("GET", ["issues", n, "comments"]) => {
                let pr: u64 = n.parse().unwrap_or(0);
                let q = query(&request.target);
                let per_page: usize = q
                    .get("per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30)
                    .clamp(1, 100);
                let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
                let all: Vec<Comment> = self.comments.iter().filter(|c| c.pr == pr).cloned().collect();
                let items: Vec<Value> = all
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|c| self.comment_json(c))
                    .collect();
                let last = all.len().div_ceil(per_page).max(1);
                let mut response = Response::json(200, Value::Array(items));
                if page < last {
                    let link = |p: usize| {
                        format!(
                            "{}{prefix}/repos/{REPO}/issues/{pr}/comments?per_page={per_page}&page={p}",
                            self.base_url
                        )
                    };
                    response = response.with_header(
                        "link",
                        format!("<{}>; rel=\"next\", <{}>; rel=\"last\"", link(page + 1), link(last)),
                    );
                }
                response
            }
            ("POST", ["issues", n, "comments"]) => {
                let Some(text) = body.get("body").and_then(Value::as_str) else {
                    return invalid("body is missing");
                };
                if text.chars().count() > 65_536 {
                    return invalid("Body is too long (maximum is 65536 characters)");
                }
                let comment = self.add_comment(n.parse().unwrap_or(0), &who.login, text);
                if std::mem::take(&mut self.ghost_create) {
                    return error(502, "Server Error");
                }
                Response::json(201, self.comment_json(&comment))
            }
            ("PATCH", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let Some(text) = body.get("body").and_then(Value::as_str) else {
                    return invalid("body is missing");
                };
                let Some(comment) = self.comments.iter_mut().find(|c| c.id == id) else {
                    return error(404, "Not Found");
                };
                if comment.login != who.login {
                    return error(403, "Resource not accessible by integration");
                }
                comment.body = text.to_string();
                let comment = comment.clone();
                Response::json(200, self.comment_json(&comment))
            }
            ("POST", ["check-runs"]) => {
                if !who.app {
                    return error(403, "You must authenticate via a GitHub App.");
                }
                let head_sha = body["head_sha"].as_str().unwrap_or_default().to_string();
                if let Some(bad) = self.unknown_sha(&head_sha) {
                    return bad;
                }
                if let Some(bad) = check_output(&body["output"]) {
                    return bad;
                }
                self.next_id += 1;
                let run = CheckRun {
                    id: self.next_id,
                    name: body["name"].as_str().unwrap_or_default().into(),
                    head_sha,
                    conclusion: body["conclusion"].as_str().unwrap_or_default().into(),
                    title: body["output"]["title"].as_str().unwrap_or_default().into(),
                    summary: body["output"]["summary"].as_str().unwrap_or_default().into(),
                    annotations: body["output"]["annotations"].as_array().cloned().unwrap_or_default(),
                };
                let answer = json!({"id": run.id, "head_sha": run.head_sha, "status": "completed",
                    "conclusion": run.conclusion, "html_url": format!("https://github.com/{REPO}/runs/{}", run.id)});
                self.check_runs.push(run);
                Response::json(201, answer)
            }
            ("PATCH", ["check-runs", id]) => {
                if !who.app {
                    return error(403, "You must authenticate via a GitHub App.");
                }
                if let Some(bad) = check_output(&body["output"]) {
                    return bad;
                }
                let id: u64 = id.parse().unwrap_or(0);
                let Some(run) = self.check_runs.iter_mut().find(|r| r.id == id) else {
                    return error(404, "Not Found");
                };
                // Annotations append; title and summary replace.
                run.annotations
                    .extend(body["output"]["annotations"].as_array().cloned().unwrap_or_default());
                run.title = body["output"]["title"].as_str().unwrap_or(&run.title).into();
                Response::json(200, json!({"id": run.id, "head_sha": run.head_sha}))
            }
            ("POST", ["statuses", sha]) => {
                if let Some(bad) = self.unknown_sha(sha) {
                    return bad;
                }
                let state = body["state"].as_str().unwrap_or_default();
                if !["error", "failure", "pending", "success"].contains(&state) {
                    return invalid("state is not included in the list");
                }
                let description = body["description"].as_str().unwrap_or_default();
                if description.chars().count() > 140 {
                    return invalid("description is too long (maximum is 140 characters)");
                }
                self.statuses.push(Status {
                    sha: sha.to_string(),
                    state: state.into(),
                    context: body["context"].as_str().unwrap_or("default").into(),
                    description: description.into(),
                    target_url: body["target_url"].as_str().map(str::to_string),
                });
                Response::json(201, json!({"id": self.statuses.len(), "state": state}))
            }
            ("GET", ["pulls", n]) => match self.pulls.get(&n.parse().unwrap_or(0)) {
                Some(pull) => Response::json(
                    200,
                    json!({"number": n.parse::<u64>().unwrap_or(0), "state": "open",
                           "head": {"sha": pull.head_sha, "ref": "feature"},
                           "base": {"sha": pull.base_sha, "ref": "main"}}),
                ),
                None => error(404, "Not Found"),
            },
            ("GET", ["pulls", n, "files"]) => match self.pulls.get(&n.parse().unwrap_or(0)) {
                Some(pull) => Response::json(
                    200,
                    Value::Array(
                        pull.files
                            .iter()
                            .map(|(name, patch)| json!({"filename": name, "status": "modified", "patch": patch}))
                            .collect(),
                    ),
                ),
                None => error(404, "Not Found"),
            },
            ("GET", ["pulls", _, "comments"]) => {
                Response::json(200, Value::Array(self.review_comments.clone()))
            }
            ("POST", ["pulls", n, "reviews"]) => {
                let pr: u64 = n.parse().unwrap_or(0);
                let Some(pull) = self.pulls.get(&pr) else {
                    return error(404, "Not Found");
                };
                let comments = body["comments"].as_array().cloned().unwrap_or_default();
                for comment in &comments {
                    let path = comment["path"].as_str().unwrap_or_default();
                    let line = comment["line"].as_u64().unwrap_or(0) as usize;
                    let in_diff = pull
                        .files
                        .iter()
                        .any(|(name, patch)| name == path && diff_lines(patch).contains(&line));
                    if !in_diff || comment["side"] != "RIGHT" {
                        return Response::json(
                            422,
                            json!({"message": "Unprocessable Entity",
                                   "errors": ["Pull request review thread line must be part of the diff"],
                                   "documentation_url": DOCS, "status": "422"}),
                        );
                    }
                }
                self.review_comments.extend(comments.iter().map(|c| {
                    json!({"path": c["path"], "line": c["line"], "body": c["body"]})
                }));
                self.reviews.push(Review {
                    pr,
                    commit_id: body["commit_id"].as_str().unwrap_or_default().into(),
                    body: body["body"].as_str().unwrap_or_default().into(),
                    comments,
                });
                Response::json(200, json!({"id": self.reviews.len(), "state": "COMMENTED"}))
            }
            _ => error(404, "Not Found"),
        }
    }

    fn unknown_sha(&self, sha: &str) -> Option<Response> {
        if self.known_shas.is_empty() || self.known_shas.contains(sha) {
            return None;
        }
        Some(Response::json(
            422,
            json!({"message": format!("No commit found for SHA: {sha}"), "documentation_url": DOCS, "status": "422"}),
        ))
    }
}

/// GitHub's limits on a check run's output.
fn check_output(output: &Value) -> Option<Response> {
    let annotations = output["annotations"].as_array().map_or(0, Vec::len);
    if annotations > 50 {
        return Some(invalid("Only 50 annotations may be sent at a time"));
    }
    if output["summary"].as_str().map_or(0, |s| s.chars().count()) > 65_535 {
        return Some(invalid("summary is too long (maximum is 65535 characters)"));
    }
    let titles_ok = output["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|a| a["title"].as_str().map_or(0, |t| t.chars().count()) <= 255);
    (!titles_ok).then(|| invalid("title is too long (maximum is 255 characters)"))
}

/// RIGHT-side lines a review comment may name: added and context lines.
fn diff_lines(patch: &str) -> HashSet<usize> {
    let mut lines = HashSet::new();
    let mut next = 0;
    for line in patch.lines() {
        if let Some(header) = line.strip_prefix("@@") {
            next = header
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|w| w.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if line.starts_with('-') || line.starts_with('\\') {
        } else {
            lines.insert(next);
            next += 1;
        }
    }
    lines
}
