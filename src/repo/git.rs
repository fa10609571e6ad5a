//! Reading a repository at a git revision without a checkout: `git ls-tree`
//! lists the files and one long-lived `git cat-file --batch` reads them.
//! Only git itself runs; nothing from the repository is executed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

/// Why git could not give what was asked.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
pub enum GitError {
    #[error("{path} is not inside a git repository")]
    #[diagnostic(
        code(mlscore::git::not_a_repo),
        help("run mlscore inside a git clone; comparing with a base revision reads it from git")
    )]
    NotARepository { path: PathBuf },

    #[error("git could not be run: {reason}")]
    #[diagnostic(
        code(mlscore::git::unavailable),
        help("install git and make sure it is on PATH")
    )]
    Unavailable { reason: String },

    #[error("the base revision `{rev}` is not in this shallow clone")]
    #[diagnostic(code(mlscore::git::shallow))]
    Shallow {
        rev: String,
        #[help]
        help: String,
    },

    #[error("`{rev}` is not a commit in this repository")]
    #[diagnostic(code(mlscore::git::unknown_revision))]
    UnknownRevision {
        rev: String,
        #[help]
        help: String,
    },

    #[error("git {command} failed: {stderr}")]
    #[diagnostic(code(mlscore::git::failed))]
    Failed { command: String, stderr: String },
}

/// A file in a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path relative to the scanned root, with `/`.
    pub path: String,
    pub size: u64,
    pub oid: String,
}

/// A git work tree and the path of the scanned root inside it.
#[derive(Debug)]
pub struct GitRepo {
    toplevel: PathBuf,
    /// The scanned root relative to the top level (`""` at the top), with `/`.
    prefix: String,
    batch: Mutex<Option<Batch>>,
}

#[derive(Debug)]
struct Batch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs git in `dir` and returns its standard output: the one place mlscore
/// starts git, never with a terminal to prompt on.
pub fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError::Unavailable {
            reason: e.to_string(),
        })?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitError::Failed {
            command: args.first().copied().unwrap_or("").to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_string()
}

impl GitRepo {
    /// The git repository holding `root`.
    pub fn discover(root: &Path) -> Result<GitRepo, GitError> {
        let not_a_repo = || GitError::NotARepository {
            path: root.to_path_buf(),
        };
        let toplevel = match run(root, &["rev-parse", "--show-toplevel"]) {
            Ok(out) => PathBuf::from(text(out)),
            Err(GitError::Failed { .. }) => return Err(not_a_repo()),
            Err(other) => return Err(other),
        };
        let prefix = text(run(root, &["rev-parse", "--show-prefix"]).map_err(|_| not_a_repo())?);
        Ok(GitRepo {
            toplevel,
            prefix: prefix.trim_end_matches('/').to_string(),
            batch: Mutex::new(None),
        })
    }

    /// The scanned root's path inside the repository (`""` at the top).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The commit id of `rev`, or an error saying how to fetch it.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let spec = format!("{rev}^{{commit}}");
        match run(&self.toplevel, &["rev-parse", "--verify", "--quiet", &spec]) {
            Ok(out) => Ok(text(out)),
            Err(GitError::Failed { .. }) => {
                let shallow = run(&self.toplevel, &["rev-parse", "--is-shallow-repository"])
                    .map(|o| text(o) == "true")
                    .unwrap_or(false);
                let fetch = if looks_like_sha(rev) {
                    format!("git fetch --no-tags --depth=1 origin {rev}")
                } else {
                    format!(
                        "git fetch --no-tags origin {}",
                        rev.trim_start_matches("origin/")
                    )
                };
                if shallow {
                    Err(GitError::Shallow {
                        rev: rev.to_string(),
                        help: format!(
                            "fetch it with `{fetch}` (or the whole history with `git fetch --unshallow`); in GitHub Actions set `fetch-depth: 0` on actions/checkout"
                        ),
                    })
                } else {
                    Err(GitError::UnknownRevision {
                        rev: rev.to_string(),
                        help: format!("check the name, or fetch it with `{fetch}`"),
                    })
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Every file of the commit under the scanned root.
    pub fn list_files(&self, commit: &str) -> Result<Vec<TreeFile>, GitError> {
        let mut args = vec!["ls-tree", "-r", "-l", "-z", "--full-tree", commit];
        if !self.prefix.is_empty() {
            args.push("--");
            args.push(&self.prefix);
        }
        let out = run(&self.toplevel, &args)?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut files = Vec::new();
        for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            // "<mode> SP <type> SP <oid> SP+ <size> TAB <path>"
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split_whitespace();
            let (_mode, kind, oid, size) = (parts.next(), parts.next(), parts.next(), parts.next());
            if kind != Some("blob") {
                continue;
            }
            let Some(path) = path.strip_prefix(strip.as_str()) else {
                continue;
            };
            files.push(TreeFile {
                path: path.to_string(),
                size: size.and_then(|s| s.parse().ok()).unwrap_or(0),
                oid: oid.unwrap_or_default().to_string(),
            });
        }
        Ok(files)
    }

    /// The bytes of a blob, through one long-lived `git cat-file --batch`.
    pub fn read_blob(&self, oid: &str) -> Result<Vec<u8>, GitError> {
        let mut guard = self
            .batch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            let mut child = Command::new("git")
                .args(["cat-file", "--batch"])
                .current_dir(&self.toplevel)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| GitError::Unavailable {
                    reason: e.to_string(),
                })?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(GitError::Unavailable {
                    reason: "no pipe to git cat-file".into(),
                });
            };
            *guard = Some(Batch {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            });
        }
        let failed = |why: String| GitError::Failed {
            command: "cat-file".into(),
            stderr: why,
        };
        let batch = guard.as_mut().ok_or_else(|| failed("not started".into()))?;
        writeln!(batch.stdin, "{oid}")
            .and_then(|_| batch.stdin.flush())
            .map_err(|e| failed(e.to_string()))?;
        let mut header = String::new();
        batch
            .stdout
            .read_line(&mut header)
            .map_err(|e| failed(e.to_string()))?;
        // "<oid> <type> <size>" or "<oid> missing"
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| failed(format!("object {oid}: {}", header.trim())))?;
        let mut body = vec![0; size + 1];
        batch
            .stdout
            .read_exact(&mut body)
            .map_err(|e| failed(e.to_string()))?;
        body.truncate(size);
        Ok(body)
    }

    /// The bytes of `path` (relative to the scanned root) at `commit`, or `None`
    /// when the file does not exist there.
    pub fn read_path(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let full = if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        };
        match run(
            &self.toplevel,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{commit}:{full}"),
            ],
        ) {
            Ok(oid) => self.read_blob(&text(oid)).map(Some),
            Err(GitError::Failed { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

fn looks_like_sha(rev: &str) -> bool {
    rev.len() >= 7 && rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}
