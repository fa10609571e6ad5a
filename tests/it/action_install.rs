//! The Action's install steps, run for real: the `run:` scripts of action.yml's
//! `resolve` and `install` steps (which call `.github/install.sh`), with the
//! environment the runner gives them, against a release archive made from the
//! current `mlscore` binary and served from 127.0.0.1. The action's checkout is
//! a temp copy of the files the script reads, with a pin table per test. The
//! from-source path runs a stub `cargo` that records its arguments and drops
//! the real binary where `cargo install` would; nothing is compiled.
//!
//! The scripts run with PATH holding only symlinks to the tools they need
//! (and, where a test says so, the stub cargo), so that no test can reach a
//! real cargo, a real mlscore or the network.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::crate_dir;

/// The target the runner variables below select.
const TARGET: &str = "x86_64-unknown-linux-musl";

fn own_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A release archive as the release workflow makes it:
/// `mlscore-TARGET.tar.gz` holding `mlscore-TARGET/mlscore` and the license,
/// built once per test run from the binary under test.
struct Archive {
    bytes: Vec<u8>,
    sha256: String,
}

fn archive() -> &'static Archive {
    static ARCHIVE: OnceLock<Archive> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let folder = dir.path().join(format!("mlscore-{TARGET}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_mlscore"), folder.join("mlscore")).unwrap();
        std::fs::write(folder.join("LICENSE"), "Apache-2.0\n").unwrap();
        let name = format!("mlscore-{TARGET}.tar.gz");
        // gzip -1: the debug binary is large and the level does not matter here.
        let status = Command::new("tar")
            .arg("-C")
            .arg(dir.path())
            .args(["-I", "gzip -1", "-cf", &name, &format!("mlscore-{TARGET}")])
            .current_dir(dir.path())
            .status()
            .expect("tar runs");
        assert!(status.success(), "tar failed");
        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
        let sha256 = sha256_of(&dir.path().join(&name));
        Archive { bytes, sha256 }
    })
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A static file server on 127.0.0.1 that records every path asked for.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(files: HashMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, &files, &seen);
            }
        });
        Server {
            base: format!("http://127.0.0.1:{}", addr.port()),
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>, seen: &Mutex<Vec<String>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    // The headers, up to the blank line; no request here has a body.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    seen.lock().unwrap().push(path.clone());
    let response = match files.get(&path) {
        Some(body) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
                .to_vec()
        }
    };
    let _ = stream.write_all(&response);
    let _ = stream.flush();
    let mut rest = Vec::new();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = reader.read_to_end(&mut rest);
}

/// The step of action.yml with this id: its `run:` script and its `env:` names.
fn action_step(id: &str) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(crate_dir().join("action.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = doc["runs"]["steps"].as_sequence().expect("composite steps");
    let step = steps
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("action.yml has no step with id {id}"));
    assert_eq!(step["shell"].as_str(), Some("bash"), "step {id}'s shell");
    let run = step["run"].as_str().expect("a run script").to_string();
    let env = step["env"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (run, env)
}

/// A checkout of the action (the files install.sh reads) with its own pin
/// table, a runner's folders, and PATH holding only the tools the scripts use.
struct Runner {
    tmp: TempDir,
    action: PathBuf,
    tools: PathBuf,
    download_base: String,
}

/// What one step printed and wrote.
struct StepRun {
    output: Output,
    outputs: HashMap<String, String>,
}

impl StepRun {
    fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
}

impl Runner {
    fn new(pins: &str, download_base: &str) -> Runner {
        let tmp = TempDir::new().unwrap();
        let action = tmp.path().join("_actions/mlscore/mlscore/v0");
        for file in [
            "action.yml",
            "Cargo.toml",
            "Cargo.lock",
            ".github/install.sh",
        ] {
            let to = action.join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(crate_dir().join(file), &to).unwrap();
        }
        for folder in ["src", "checks", "templates"] {
            copy_tree(&crate_dir().join(folder), &action.join(folder));
        }
        std::fs::write(action.join(".github/pins.txt"), pins).unwrap();
        let tools = tmp.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        for tool in [
            "bash",
            "sh",
            "curl",
            "tar",
            "gzip",
            "sha256sum",
            "awk",
            "sed",
            "find",
            "sort",
            "cut",
            "head",
            "mkdir",
            "rm",
            "mv",
            "chmod",
            "cat",
            "paste",
            "tr",
            "dirname",
            "uname",
            "cp",
        ] {
            let found = which(tool).unwrap_or_else(|| panic!("{tool} is needed on PATH"));
            std::os::unix::fs::symlink(found, tools.join(tool)).unwrap();
        }
        for dir in ["temp", "tool-cache", "home"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        }
        Runner {
            tmp,
            action,
            tools,
            download_base: download_base.to_string(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// Puts a stub `cargo` on PATH: it records its arguments (one a line, then
    /// `--`) and CARGO_TARGET_DIR, and puts the binary under test where
    /// `cargo install --root ROOT` would.
    fn with_stub_cargo(&self) -> PathBuf {
        let log = self.path("cargo.log");
        let stub = format!(
            r#"#!/bin/bash
set -eu
root=
prev=
for a in "$@"; do
  printf '%s\n' "$a" >>'{log}'
  if [ "$prev" = --root ]; then root=$a; fi
  prev=$a
done
printf 'CARGO_TARGET_DIR=%s\n--\n' "${{CARGO_TARGET_DIR:-}}" >>'{log}'
echo "   Compiling mlscore v0.1.0 (stub)" >&2
mkdir -p "$root/bin"
cp '{bin}' "$root/bin/mlscore"
"#,
            log = log.display(),
            bin = env!("CARGO_BIN_EXE_mlscore"),
        );
        let path = self.tools.join("cargo");
        std::fs::write(&path, stub).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        log
    }

    /// The calls the stub cargo recorded, each as its arguments.
    fn cargo_calls(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(self.path("cargo.log")).unwrap_or_default();
        text.split("--\n")
            .filter(|c| !c.is_empty())
            .map(|c| c.lines().map(str::to_string).collect())
            .collect()
    }

    /// Runs action.yml's step `id` as the runner does (`bash --noprofile
    /// --norc -eo pipefail`), with the step's env filled in from `inputs`.
    fn step(&self, id: &str, inputs: &[(&str, &str)]) -> StepRun {
        let (run, env_names) = action_step(id);
        let output_file = self.path(&format!("output-{id}"));
        let _ = std::fs::remove_file(&output_file);
        let mut cmd = Command::new(self.tools.join("bash"));
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &run])
            .env_clear()
            .env("PATH", &self.tools)
            .env("HOME", self.path("home"))
            .env("GITHUB_ACTION_PATH", &self.action)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", "acme/models")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", self.path("github-path"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.path("temp"))
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            // Not an input: a job-level variable (a mirror for GitHub
            // Enterprise); here, the loopback server.
            .env("MLSCORE_DOWNLOAD_BASE", &self.download_base)
            .current_dir(self.tmp.path());
        for name in &env_names {
            let value = inputs
                .iter()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("step {id} takes env {name}; the test gives no value"))
                .1;
            cmd.env(name, value);
        }
        let output = cmd.output().expect("bash runs");
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StepRun { output, outputs }
    }

    /// resolve, then (the cache step being the folder itself) install.
    fn install(&self, version: &str) -> (StepRun, StepRun) {
        let resolve = self.step("resolve", &[("MLSCORE_VERSION", version)]);
        if resolve.code() != 0 {
            let failed = StepRun {
                output: resolve.output.clone(),
                outputs: HashMap::new(),
            };
            return (resolve, failed);
        }
        let resolved = resolve.outputs["version"].clone();
        let install = self.step(
            "install",
            &[
                ("MLSCORE_VERSION", &resolved),
                ("MLSCORE_ACTION_REPOSITORY", "mlscore/mlscore"),
            ],
        );
        (resolve, install)
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn pins(lines: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("# version target sha256\n");
    for (version, target, sha) in lines {
        text.push_str(&format!("{version} {target} {sha}\n"));
    }
    text
}

fn release_server() -> Server {
    let mut files = HashMap::new();
    files.insert(
        format!("/v{}/mlscore-{TARGET}.tar.gz", own_version()),
        archive().bytes.clone(),
    );
    Server::start(files)
}

/// Runs the installed binary as a later step of the job would.
fn run_installed(path: &str, args: &[&str]) -> Output {
    Command::new(path)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("the installed mlscore runs")
}

#[test]
fn a_pinned_archive_is_downloaded_checked_cached_and_runs() {
    let server = release_server();
    let sha = archive().sha256.clone();
    let runner = Runner::new(&pins(&[(own_version(), TARGET, &sha)]), &server.base);
    let cargo_log = runner.with_stub_cargo();

    // From nothing: an empty cache, the action's default version ("").
    let started = Instant::now();
    let (resolve, install) = runner.install("");
    assert_eq!(resolve.code(), 0, "{}", resolve.text());
    assert_eq!(resolve.outputs["mode"], "download", "{}", resolve.text());
    assert_eq!(resolve.outputs["version"], own_version());
    assert_eq!(resolve.outputs["target"], TARGET);
    assert!(
        resolve.outputs["cache-key"].contains(&sha),
        "the cache key names the pinned sha256: {:?}",
        resolve.outputs
    );
    assert_eq!(install.code(), 0, "{}", install.text());
    let bin = install.outputs["path"].clone();
    let version = run_installed(&bin, &["--version"]);
    let elapsed = started.elapsed();
    eprintln!(
        "action download path, from nothing to `mlscore --version`: {:.2} s ({} MB archive)",
        elapsed.as_secs_f64(),
        archive().bytes.len() / 1_000_000
    );
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("mlscore {}", own_version())
    );
    assert!(
        Path::new(&bin).starts_with(&resolve.outputs["cache-dir"]),
        "installed under the cached folder: {bin}"
    );
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_mlscore")).unwrap(),
        "the binary from the archive"
    );
    let github_path = std::fs::read_to_string(runner.path("github-path")).unwrap();
    assert_eq!(
        github_path.trim(),
        Path::new(&bin).parent().unwrap().to_str().unwrap()
    );
    assert_eq!(
        server.requests(),
        vec![format!("/v{}/mlscore-{TARGET}.tar.gz", own_version())]
    );

    // It runs: a check of the bundled mature example.
    let check = run_installed(
        &bin,
        &[
            "check",
            crate_dir().join("examples/mature").to_str().unwrap(),
            "--no-probes",
        ],
    );
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("ML Test Score:"),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // A warm cache (the folder restored by actions/cache): no download, the
    // archive is checked against the pin again.
    std::fs::remove_file(&bin).unwrap();
    let (_, again) = runner.install("");
    assert_eq!(again.code(), 0, "{}", again.text());
    assert!(again.text().contains("from the cache"), "{}", again.text());
    assert_eq!(server.requests().len(), 1, "no second download");
    assert!(Path::new(&again.outputs["path"]).is_file());

    // A cache entry that no longer matches its pin is thrown away and
    // downloaded again.
    let cached = Path::new(&resolve.outputs["cache-dir"]).join(format!("mlscore-{TARGET}.tar.gz"));
    std::fs::write(&cached, b"tampered").unwrap();
    let (_, refetched) = runner.install("");
    assert_eq!(refetched.code(), 0, "{}", refetched.text());
    assert_eq!(server.requests().len(), 2, "downloaded again");
    assert_eq!(sha256_of(&cached), sha);

    assert!(
        !cargo_log.exists(),
        "cargo is never called on the download path"
    );
}

#[test]
fn an_archive_that_does_not_match_its_pin_is_refused() {
    let server = release_server();
    let wrong = "ab".repeat(32);
    let runner = Runner::new(&pins(&[(own_version(), TARGET, &wrong)]), &server.base);
    runner.with_stub_cargo();
    let (resolve, install) = runner.install("");
    assert_eq!(resolve.outputs["mode"], "download");
    assert_eq!(install.code(), 1, "{}", install.text());
    assert!(
        install.text().contains(&format!(
            "is {}, not the pinned {wrong}; refusing to run it",
            archive().sha256
        )),
        "{}",
        install.text()
    );
    assert!(!install.outputs.contains_key("path"));
    let bin_dir = Path::new(&resolve.outputs["cache-dir"]).join("bin");
    assert!(
        std::fs::read_dir(&bin_dir).map(|d| d.count()).unwrap_or(0) == 0,
        "nothing installed"
    );
    assert!(
        runner.cargo_calls().is_empty(),
        "a refused archive is not replaced by a build"
    );
    assert!(!runner.path("github-path").exists());
}

#[test]
fn without_a_pin_the_action_builds_its_own_checkout_locked_and_caches_it() {
    let server = release_server();
    let runner = Runner::new(&pins(&[]), &server.base);
    runner.with_stub_cargo();

    let (resolve, install) = runner.install("");
    assert_eq!(resolve.outputs["mode"], "source", "{}", resolve.text());
    assert_eq!(install.code(), 0, "{}", install.text());
    assert!(
        install
            .text()
            .contains("building it from the action's checkout"),
        "{}",
        install.text()
    );
    assert!(
        install.text().contains("Compiling mlscore"),
        "cargo's progress is shown: {}",
        install.text()
    );
    let dir = resolve.outputs["cache-dir"].clone();
    let calls = runner.cargo_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0],
        vec![
            "install".to_string(),
            "--locked".into(),
            "--path".into(),
            runner.action.to_str().unwrap().into(),
            "--root".into(),
            dir.clone(),
            "--force".into(),
            format!("CARGO_TARGET_DIR={dir}/target"),
        ],
        "cargo install --locked from the action's own path, never a crate from a registry"
    );
    assert!(server.requests().is_empty(), "nothing downloaded");
    let bin = install.outputs["path"].clone();
    assert_eq!(bin, format!("{dir}/bin/mlscore"));
    let version = run_installed(&bin, &["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("mlscore {}", own_version())
    );

    // Warm cache: the same sources, the same key; cargo is not called again.
    let (resolve2, warm) = runner.install("");
    assert_eq!(resolve2.outputs["cache-key"], resolve.outputs["cache-key"]);
    assert_eq!(warm.code(), 0, "{}", warm.text());
    assert!(warm.text().contains("from the cache"), "{}", warm.text());
    assert_eq!(runner.cargo_calls().len(), 1, "no second build");

    // Other sources (the action's ref moved): another key, a new build.
    let main_rs = runner.action.join("src/main.rs");
    let mut text = std::fs::read_to_string(&main_rs).unwrap();
    text.push_str("\n// changed\n");
    std::fs::write(&main_rs, text).unwrap();
    let (resolve3, rebuilt) = runner.install("");
    assert_ne!(resolve3.outputs["cache-key"], resolve.outputs["cache-key"]);
    assert_eq!(rebuilt.code(), 0, "{}", rebuilt.text());
    assert_eq!(runner.cargo_calls().len(), 2, "rebuilt");
}

#[test]
fn without_a_pin_and_without_cargo_the_install_fails_with_a_clear_message() {
    let server = release_server();
    let runner = Runner::new(&pins(&[]), &server.base);
    let (resolve, install) = runner.install(own_version());
    assert_eq!(resolve.outputs["mode"], "source");
    assert_eq!(install.code(), 1, "{}", install.text());
    assert!(
        install
            .text()
            .contains("there is no cargo to build it from the action's checkout"),
        "{}",
        install.text()
    );
}

#[test]
fn a_pin_for_another_target_does_not_apply() {
    let server = release_server();
    let sha = archive().sha256.clone();
    let runner = Runner::new(
        &pins(&[(own_version(), "aarch64-apple-darwin", &sha)]),
        &server.base,
    );
    let resolve = runner.step("resolve", &[("MLSCORE_VERSION", own_version())]);
    assert_eq!(resolve.outputs["mode"], "source", "{}", resolve.text());
}

#[test]
fn an_unknown_version_fails_at_once() {
    let server = release_server();
    let sha = archive().sha256.clone();
    let runner = Runner::new(&pins(&[(own_version(), TARGET, &sha)]), &server.base);
    runner.with_stub_cargo();

    let started = Instant::now();
    let resolve = runner.step("resolve", &[("MLSCORE_VERSION", "9.9.9")]);
    assert_eq!(resolve.code(), 2, "{}", resolve.text());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        resolve.text().contains(&format!(
            "::error title=mlscore install::mlscore 9.9.9 is not a version this action knows: it pins archives of {v} and can build its own checkout, {v}.",
            v = own_version()
        )),
        "{}",
        resolve.text()
    );
    assert!(resolve.outputs.is_empty());

    // The install step alone says the same (the action runs it only after
    // resolve succeeded).
    let install = runner.step(
        "install",
        &[
            ("MLSCORE_VERSION", "9.9.9"),
            ("MLSCORE_ACTION_REPOSITORY", "mlscore/mlscore"),
        ],
    );
    assert_eq!(install.code(), 2, "{}", install.text());

    // Not a release number at all: refused before it reaches a URL or a path.
    let odd = runner.step("resolve", &[("MLSCORE_VERSION", "0.1.0; touch pwned")]);
    assert_eq!(odd.code(), 2, "{}", odd.text());
    assert!(
        odd.text().contains("must be a release number"),
        "{}",
        odd.text()
    );
    assert!(!runner.path("pwned").exists());

    assert!(server.requests().is_empty(), "nothing fetched");
    assert!(runner.cargo_calls().is_empty(), "nothing built");
}

#[test]
fn the_committed_pin_table_is_well_formed() {
    let text = std::fs::read_to_string(crate_dir().join(".github/pins.txt")).unwrap();
    let targets = [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ];
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "version target sha256: {line}");
        assert!(
            fields[0].split('.').count() == 3,
            "a release number: {line}"
        );
        assert!(targets.contains(&fields[1]), "a released target: {line}");
        assert!(
            fields[2].len() == 64
                && fields[2]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "a sha256 in lowercase hex: {line}"
        );
    }
}
