//! The files GitHub Actions hands a step: `$GITHUB_STEP_SUMMARY`, whose
//! Markdown is shown on the run's page, and `$GITHUB_OUTPUT`, which carries
//! the step's outputs to later steps.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends `markdown` to the step summary file.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    append(path, markdown)
}

/// Appends outputs to the `$GITHUB_OUTPUT` file: `name=value` on one line, or
/// `name<<DELIMITER` … `DELIMITER` for values with line breaks, with a
/// delimiter that does not occur in the value.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        text.push_str(&output_line(name, value));
    }
    append(path, &text)
}

/// One output in the file's syntax.
pub fn output_line(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    let mut delimiter = format!("ghadelimiter_{seed:08x}");
    while value.contains(&delimiter) {
        delimiter.push('_');
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line_outputs() {
        assert_eq!(output_line("score", "2.5"), "score=2.5\n");
        let multi = output_line("notes", "a\nb");
        let (head, rest) = multi.split_once('\n').unwrap();
        let delimiter = head.strip_prefix("notes<<").unwrap();
        assert_eq!(rest, format!("a\nb\n{delimiter}\n"));
    }

    #[test]
    fn the_delimiter_never_occurs_in_the_value() {
        let sneaky = output_line("x", "line\nghadelimiter_");
        let delimiter = sneaky.lines().next().unwrap().strip_prefix("x<<").unwrap();
        assert!(!"line\nghadelimiter_".lines().any(|l| l == delimiter));
    }

    #[test]
    fn appends() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("out");
        write_outputs(&path, &[("score", "1".into())]).unwrap();
        write_outputs(&path, &[("verdict", "passed".into())]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "score=1\nverdict=passed\n"
        );
    }
}
