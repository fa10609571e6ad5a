//! Build script: embeds every `checks/**/*.yaml` file and every template, so
//! that adding a check is adding a data file, never editing engine code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut out = String::from("/// Embedded files: (repository-relative path, text).\npub static EMBEDDED_CHECKS: &[(&str, &str)] = &[\n");
    for path in yaml_files(&root.join("checks")) {
        let rel = path
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("string write");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded_checks.rs");
    std::fs::write(dest, out).expect("write embedded_checks.rs");
    println!("cargo:rerun-if-changed=checks");
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Directory mtimes change when files are added or removed; watch each.
            if path.is_dir() {
                println!("cargo:rerun-if-changed={}", path.display());
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                println!("cargo:rerun-if-changed={}", path.display());
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
