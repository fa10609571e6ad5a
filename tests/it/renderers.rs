//! The Markdown, SARIF and JUnit reports, written by the real binary for real
//! git repositories: what a reviewer sees is snapshotted, what a machine reads
//! is validated against its published schema, and repository text that tries
//! to inject Markdown, HTML or mentions comes out inert.

use crate::common;

use std::path::{Path, PathBuf};

use common::{commit_all, crate_dir, git, mlscore, write};
use tempfile::TempDir;

const WORKFLOW: &str = "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest tests/data\n";

const CONFIG: &str = "version: 1\nmetrics:\n  files: [metrics.json]\n  policies:\n    eval.auc: {direction: higher, min: 0.8, max_regression: 0.01}\n    latency_p99_ms: {direction: lower, max_regression_pct: 10}\n";

/// The reports of one run, read back from their files.
struct Outputs {
    _dir: TempDir,
    comment: String,
    summary: String,
    sarif: String,
    junit: PathBuf,
    github: String,
    code: i32,
}

/// Runs `mlscore check` on `repo` (plus `args`), writing every report format
/// to a folder outside the repository.
fn check(repo: &Path, args: &[&str]) -> Outputs {
    let dir = TempDir::new().unwrap();
    let file = |name: &str| dir.path().join(name);
    let mut cmd = mlscore();
    cmd.arg("check").arg(repo).args(args);
    for (format, name) in [
        ("markdown", "comment.md"),
        ("summary", "summary.md"),
        ("sarif", "mlscore.sarif"),
        ("junit", "report.xml"),
        ("github", "github.txt"),
    ] {
        cmd.arg("-o")
            .arg(format!("{format}={}", file(name).display()));
    }
    let out = cmd.output().expect("mlscore runs");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "mlscore failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| {
        std::fs::read_to_string(file(name)).unwrap_or_else(|e| panic!("{name} not written: {e}"))
    };
    Outputs {
        comment: read("comment.md"),
        summary: read("summary.md"),
        sarif: read("mlscore.sarif"),
        github: read("github.txt"),
        junit: file("report.xml"),
        _dir: dir,
        code,
    }
}

/// Snapshot filters: commit ids, temp dirs and mlscore's version change
/// between runs; the report's content does not.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b[0-9a-f]{40}\b", "[SHA]"),
        (r"\b[0-9a-f]{12}\b", "[SHORT-SHA]"),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
        (r"mlscore \d+\.\d+\.\d+\S*", "mlscore [VERSION]"),
    ]
}

/// The official schema's BCP-47 pattern for `language` has a stray `]`; with
/// format checks on, the schema itself fails the `regex` format. mlscore never
/// writes `language`, so the test drops that one keyword, as other SARIF
/// producers' tests do, and keeps the committed schema as published.
const BROKEN_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn drop_broken_pattern(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("pattern").and_then(|p| p.as_str()) == Some(BROKEN_LANGUAGE_PATTERN) {
                map.remove("pattern");
            }
            map.values_mut().for_each(drop_broken_pattern);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_broken_pattern),
        _ => {}
    }
}

/// Validates a SARIF log against the committed SARIF 2.1.0 schema, formats included.
fn assert_valid_sarif(text: &str) {
    let schema_text =
        std::fs::read_to_string(crate_dir().join("tests/schemas/sarif-2.1.0.json")).unwrap();
    let mut schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    drop_broken_pattern(&mut schema);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let log: serde_json::Value = serde_json::from_str(text).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not match the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

/// The cells of a Markdown table row, split on unescaped pipes.
fn cells(row: &str) -> usize {
    let mut count: usize = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count.saturating_sub(1)
}

/// Asserts every table keeps its header's column count.
fn assert_tables_intact(markdown: &str) {
    let mut columns = None;
    for line in markdown.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let n = cells(line);
        match columns {
            None => columns = Some(n),
            Some(expected) => assert_eq!(
                n, expected,
                "table row has {n} cells, header {expected}: {line}"
            ),
        }
    }
}

/// A repository whose metrics regress between two commits: the base commit,
/// then the head. Returns the repository and the base commit's id.
fn regressing_repo() -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".github/workflows/ci.yml", WORKFLOW);
    write(
        root,
        "tests/data/test_schema.py",
        "import pandera as pa\n\nschema = pa.DataFrameSchema({})\n",
    );
    write(root, "mlscore.yaml", CONFIG);
    write(
        root,
        "metrics.json",
        "{\"eval\": {\"auc\": 0.91}, \"latency_p99_ms\": 120}\n",
    );
    commit_all(root, "base");
    let base = git(root, &["rev-parse", "HEAD"]).trim().to_string();
    write(
        root,
        "metrics.json",
        "{\"eval\": {\"auc\": 0.85}, \"latency_p99_ms\": 150}\n",
    );
    commit_all(root, "head");
    (dir, base)
}

#[test]
fn a_regression_is_reported_in_every_format() {
    let (repo, base) = regressing_repo();
    let out = check(repo.path(), &["--base", &base]);
    assert_eq!(out.code, 1, "failing metric policies fail the gate");

    assert_eq!(out.comment.lines().next(), Some("<!-- mlscore:report -->"));
    assert!(
        out.comment
            .contains("| eval.auc | 0.91 | 0.85 | -0.06 | -6.59% | ❌"),
        "{}",
        out.comment
    );
    assert!(
        out.comment
            .contains("| latency\\_p99\\_ms | 120 | 150 | +30 | +25% | ❌"),
        "{}",
        out.comment
    );
    assert!(out.comment.contains("Gate: ❌ failed"));
    assert_tables_intact(&out.comment);
    assert_tables_intact(&out.summary);
    assert_eq!(
        out.comment.matches("<details>").count(),
        out.comment.matches("</details>").count()
    );

    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("regression_comment", out.comment);
        insta::assert_snapshot!("regression_summary", out.summary);
    });

    assert_valid_sarif(&out.sarif);
    let log: serde_json::Value = serde_json::from_str(&out.sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let regressions: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "regression")
        .collect();
    assert_eq!(regressions.len(), 2, "one per failing metric");
    assert_eq!(regressions[0]["level"], "error");
    assert_eq!(
        regressions[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "metrics.json"
    );
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "gate" && r["level"] == "error"));

    assert_valid_junit(&out.junit);
    let xml = std::fs::read_to_string(&out.junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"mlscore metrics\" tests=\"2\" failures=\"2\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"mlscore.data\" name=\"data-1 "));

    assert!(
        out.github
            .contains("::error file=metrics.json,title=mlscore regression::"),
        "{}",
        out.github
    );
}

#[test]
fn without_a_base_the_reports_have_no_deltas() {
    let (repo, _) = regressing_repo();
    let out = check(repo.path(), &[]);
    assert!(!out.comment.contains("vs base"));
    assert!(
        out.comment.contains("| eval.auc | — | 0.85 | added |"),
        "{}",
        out.comment
    );
    assert_valid_sarif(&out.sarif);
    assert_valid_junit(&out.junit);
}

#[test]
fn repository_text_cannot_inject_markup_or_mentions() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".github/workflows/ci.yml", "name: ci\non: push\njobs:\n  \"<b>@everyone</b>\":\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests\n");
    write(root, "tests/data/test_a|b`c`.py", "import pandera as pa\n");
    write(root, "mlscore.yaml", "version: 1\nmetrics:\n  files: [metrics.json, \"odd|`metrics`.json\"]\n  policies:\n    \"@everyone\": {min: 1}\n");
    write(
        root,
        "metrics.json",
        "{\"<img src=x onerror=alert(1)>\": 0.5, \"@everyone\": 0.25, \"x|y\": \"a|b\\nc\"}\n",
    );
    write(
        root,
        "odd|`metrics`.json",
        "{\"[link](https://evil.example)\": 1, \"*bold* _it_ ~~s~~\": 2}\n",
    );
    commit_all(root, "fixture");
    let out = check(root, &[]);

    for (name, text) in [("comment", &out.comment), ("summary", &out.summary)] {
        assert!(!text.contains("<img"), "{name} holds a raw <img");
        assert!(!text.contains("<b>"), "{name} holds a raw <b>");
        assert!(!text.contains("@everyone"), "{name} pings @everyone");
        assert!(
            text.contains("@\u{200d}everyone"),
            "{name} lost the metric named @everyone"
        );
        assert!(
            text.contains("\\[link\\](https://evil.example)"),
            "{name} holds a link from the repository"
        );
        assert_tables_intact(text);
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }
    assert!(
        out.summary.contains("tests/data/test\\_a\\|b\\`c\\`.py"),
        "{}",
        out.summary
    );
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!("injection_comment", out.comment);
    });
    assert_valid_sarif(&out.sarif);
    assert_valid_junit(&out.junit);
}

#[test]
fn an_oversized_comment_is_truncated_not_rejected() {
    let metrics: Vec<String> = (0..5000)
        .map(|i| format!("\"metric_{i:05}_with_a_long_descriptive_name\": {}.5", i))
        .collect();
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "metrics.json",
        &format!("{{{}}}\n", metrics.join(", ")),
    );
    write(
        dir.path(),
        "mlscore.yaml",
        "version: 1\nmetrics:\n  files: [metrics.json]\n",
    );
    commit_all(dir.path(), "fixture");
    let out = check(dir.path(), &[]);

    let size = out.comment.chars().count();
    assert!(size <= 65_536, "comment is {size} characters");
    assert!(out.comment.starts_with("<!-- mlscore:report -->\n"));
    assert!(
        out.comment
            .trim_end()
            .ends_with("the full report is in the job's artifacts (--format json)"),
        "{}",
        &out.comment[out.comment.len() - 500..]
    );
    assert!(out.comment.contains("Report truncated: "));
    assert!(out.comment.contains("more rows"));
    assert_eq!(
        out.comment.matches("<details>").count(),
        out.comment.matches("</details>").count()
    );
    assert_tables_intact(&out.comment);
    // The summary's limit is 1 MiB: all 5,000 rows fit.
    assert!(out.summary.len() <= 1024 * 1024);
    assert!(out.summary.contains("metric\\_04999"));
    assert!(!out.summary.contains("Report truncated"));
}

#[test]
fn a_broken_repository_template_names_its_file_and_line() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "README.md", "# x\n");
    write(
        dir.path(),
        ".mlscore/templates/comment.md.j2",
        "Score {{ report.score.final|points }}\n{{ report.score.final|nosuchfilter }}\n",
    );
    commit_all(dir.path(), "fixture");
    let out = mlscore()
        .args(["check", "--format", "markdown"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".mlscore/templates/comment.md.j2"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");
}

/// Validates a JUnit file against the committed Jenkins schema
/// (tests/schemas/junit.xsd), in process: see [`junit_xsd`].
fn assert_valid_junit(path: &Path) {
    let xml = std::fs::read_to_string(path).expect("JUnit report is UTF-8");
    if let Err(e) = junit_xsd::validate(&xml) {
        panic!("JUnit XML does not match tests/schemas/junit.xsd: {e}\n{xml}");
    }
}

#[test]
fn the_junit_validator_rejects_invalid_reports() {
    let valid = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<testsuites name="mlscore" tests="2" failures="1" errors="0" time="0.125">
  <testsuite name="mlscore data" tests="2" failures="1" errors="0" time="1,234.5">
    <properties><property name="score" value="1.5"/></properties>
    <testcase classname="mlscore.data" name="data-1 &amp; &lt;more&gt; &#233;&#x41;">
      <failure message="missing" type="missing"><![CDATA[no <schema> test]]></failure>
      <system-out>evidence</system-out>
    </testcase>
    <testcase classname="mlscore.data" name="data-2"/>
  </testsuite>
</testsuites>
"#;
    junit_xsd::validate(valid).expect("the valid report passes");
    let broken = [
        (
            "a testcase without its required name",
            r#"<testcase classname="mlscore.data" name="data-2"/>"#,
            r#"<testcase classname="mlscore.data"/>"#,
        ),
        (
            "an element the schema does not declare",
            "<system-out>evidence</system-out>",
            "<stdout>evidence</stdout>",
        ),
        (
            "an attribute the schema does not declare",
            r#"name="data-2"/>"#,
            r#"name="data-2" points="1"/>"#,
        ),
        (
            "a time that is not SUREFIRE_TIME",
            r#"time="1,234.5""#,
            r#"time="1.5s""#,
        ),
        (
            "a testsuite directly in a testcase",
            "<system-out>evidence</system-out>",
            r#"<testsuite name="x" tests="0" failures="0" errors="0"/>"#,
        ),
        (
            "text where the content is not mixed",
            "<properties>",
            "<properties>text",
        ),
        ("an unclosed element", "</testsuite>", ""),
        ("a mismatched end tag", "</testsuites>", "</testsuite>"),
        ("a raw ampersand", "&amp; &lt;", "& &lt;"),
        ("an unknown entity", "&amp;", "&nbsp;"),
        ("a control character", "evidence", "evi\u{1b}[31mdence"),
        (
            "a duplicate attribute",
            r#"name="data-2"/>"#,
            r#"name="data-2" name="again"/>"#,
        ),
        (
            "two root elements",
            "</testsuites>\n",
            "</testsuites>\n<testsuites/>\n",
        ),
        (
            "an unquoted attribute",
            r#"errors="0" time="0.125""#,
            r#"errors=0 time="0.125""#,
        ),
        (
            "a root that is no declared element",
            "<testsuites ",
            "<results ",
        ),
    ];
    for (what, from, to) in broken {
        assert!(valid.contains(from), "{what}: {from:?} is in the report");
        let mut bad = valid.replacen(from, to, 1);
        if what == "a root that is no declared element" {
            bad = bad.replace("</testsuites>", "</results>");
        }
        assert!(
            junit_xsd::validate(&bad).is_err(),
            "{what}: accepted\n{bad}"
        );
    }
}

/// An XML reader and a validator for the XSD subset that junit.xsd uses
/// (global elements, `ref`s, local elements, named and anonymous complex
/// types, `sequence` and `choice` with occurrence bounds, `mixed`, required
/// and typed attributes, simple types restricted by a `pattern`). It reads
/// the schema from tests/schemas/junit.xsd itself, so the rules are the XSD's,
/// and refuses any XSD construct outside that subset rather than ignoring it.
/// In process, so that the README's test command needs no xmllint.
mod junit_xsd {
    use std::collections::{BTreeSet, HashMap};

    use crate::common::crate_dir;

    #[derive(Debug)]
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub children: Vec<Element>,
        /// Non-whitespace character data directly inside.
        pub has_text: bool,
    }

    impl Element {
        fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A strict XML 1.0 reader: one root; comments, processing instructions
    /// and CDATA; the five predefined entities and character references; no
    /// DTD; every character allowed by XML 1.0.
    pub fn parse(text: &str) -> Result<Element, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        if let Some(c) = text.chars().find(|&c| !is_xml_char(c)) {
            return Err(format!(
                "character U+{:04X} is not allowed in XML",
                c as u32
            ));
        }
        p.misc()?;
        if !p.at("<") {
            return Err("no root element".into());
        }
        let root = p.element()?;
        p.misc()?;
        if p.i != p.s.len() {
            return Err(format!("content after the root element at byte {}", p.i));
        }
        Ok(root)
    }

    fn is_xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
        text: &'a str,
    }

    impl Parser<'_> {
        fn at(&self, lit: &str) -> bool {
            self.s[self.i..].starts_with(lit.as_bytes())
        }
        fn expect(&mut self, lit: &str) -> Result<(), String> {
            if self.at(lit) {
                self.i += lit.len();
                Ok(())
            } else {
                Err(format!("expected {lit:?} at byte {}", self.i))
            }
        }
        fn until(&mut self, end: &str) -> Result<&str, String> {
            let from = self.i;
            match self.text[from..].find(end) {
                Some(n) => {
                    self.i = from + n + end.len();
                    Ok(&self.text[from..from + n])
                }
                None => Err(format!("unterminated construct at byte {from}, no {end:?}")),
            }
        }
        fn space(&mut self) -> bool {
            let from = self.i;
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
            self.i > from
        }
        /// Comments, processing instructions and whitespace outside the root.
        fn misc(&mut self) -> Result<(), String> {
            loop {
                self.space();
                if self.at("<!--") {
                    self.comment()?;
                } else if self.at("<?") {
                    self.i += 2;
                    self.until("?>")?;
                } else if self.at("<!") {
                    return Err(format!("DTDs are not accepted (byte {})", self.i));
                } else {
                    return Ok(());
                }
            }
        }
        fn comment(&mut self) -> Result<(), String> {
            self.i += 4;
            let body = self.until("-->")?;
            if body.contains("--") || body.ends_with('-') {
                return Err("`--` inside a comment".into());
            }
            Ok(())
        }
        fn name(&mut self) -> Result<String, String> {
            let from = self.i;
            while self.i < self.s.len() {
                let b = self.s[self.i];
                let ok = b.is_ascii_alphabetic()
                    || b == b'_'
                    || b == b':'
                    || b >= 0x80
                    || (self.i > from && (b.is_ascii_digit() || b == b'-' || b == b'.'));
                if !ok {
                    break;
                }
                self.i += 1;
            }
            if self.i == from {
                return Err(format!("expected a name at byte {from}"));
            }
            Ok(self.text[from..self.i].to_string())
        }
        fn element(&mut self) -> Result<Element, String> {
            self.expect("<")?;
            let name = self.name()?;
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let spaced = self.space();
                if self.at("/>") {
                    self.i += 2;
                    return Ok(Element {
                        name,
                        attrs,
                        children: vec![],
                        has_text: false,
                    });
                }
                if self.at(">") {
                    self.i += 1;
                    break;
                }
                if !spaced {
                    return Err(format!(
                        "expected whitespace before an attribute at byte {}",
                        self.i
                    ));
                }
                let key = self.name()?;
                self.space();
                self.expect("=")?;
                self.space();
                let quote = match self.s.get(self.i) {
                    Some(b'"') => "\"",
                    Some(b'\'') => "'",
                    _ => return Err(format!("attribute {key} of <{name}> is not quoted")),
                };
                self.i += 1;
                let raw = self.until(quote)?.to_string();
                if raw.contains('<') {
                    return Err(format!("`<` in attribute {key} of <{name}>"));
                }
                let value = unescape(&raw)?;
                if attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("attribute {key} twice on <{name}>"));
                }
                attrs.push((key, value));
            }
            let mut children = Vec::new();
            let mut has_text = false;
            loop {
                if self.at("</") {
                    self.i += 2;
                    let end = self.name()?;
                    if end != name {
                        return Err(format!("</{end}> closes <{name}>"));
                    }
                    self.space();
                    self.expect(">")?;
                    return Ok(Element {
                        name,
                        attrs,
                        children,
                        has_text,
                    });
                } else if self.at("<!--") {
                    self.comment()?;
                } else if self.at("<![CDATA[") {
                    self.i += 9;
                    has_text |= !self.until("]]>")?.trim().is_empty();
                } else if self.at("<?") {
                    self.i += 2;
                    self.until("?>")?;
                } else if self.at("<") {
                    children.push(self.element()?);
                } else if self.i >= self.s.len() {
                    return Err(format!("<{name}> is never closed"));
                } else {
                    let from = self.i;
                    let n = self.text[from..].find('<').unwrap_or(self.s.len() - from);
                    self.i = from + n;
                    let raw = &self.text[from..self.i];
                    if raw.contains("]]>") {
                        return Err("`]]>` in character data".into());
                    }
                    has_text |= !unescape(raw)?.trim().is_empty();
                }
            }
        }
    }

    fn unescape(raw: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..]
                .find(';')
                .ok_or_else(|| format!("a bare `&` in {raw:?}"))?;
            let entity = &rest[at + 1..at + end];
            let c = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) = entity.strip_prefix("#x") {
                        u32::from_str_radix(hex, 16).ok()
                    } else if let Some(dec) = entity.strip_prefix('#') {
                        dec.parse().ok()
                    } else {
                        None
                    };
                    code.and_then(char::from_u32)
                        .filter(|&c| is_xml_char(c))
                        .ok_or_else(|| format!("unknown or invalid entity &{entity};"))?
                }
            };
            out.push(c);
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A content model.
    #[derive(Debug)]
    enum Particle {
        /// An element by name: a `ref` to a global one, or a local declaration.
        Element {
            name: String,
            decl: Option<Box<Decl>>,
            min: usize,
            max: usize,
        },
        Sequence {
            items: Vec<Particle>,
            min: usize,
            max: usize,
        },
        Choice {
            items: Vec<Particle>,
            min: usize,
            max: usize,
        },
    }

    /// What an element may hold.
    #[derive(Debug)]
    enum Decl {
        /// xs:string: text only, no attributes, no elements.
        Text,
        Complex {
            mixed: bool,
            /// name → (required, simple type name)
            attrs: HashMap<String, (bool, String)>,
            content: Option<Particle>,
        },
    }

    struct Schema {
        elements: HashMap<String, Decl>,
        /// Named simple types: their pattern, anchored.
        patterns: HashMap<String, regex::Regex>,
    }

    fn occurs(e: &Element) -> Result<(usize, usize), String> {
        let min = e
            .attr("minOccurs")
            .unwrap_or("1")
            .parse()
            .map_err(|_| "minOccurs")?;
        let max = match e.attr("maxOccurs").unwrap_or("1") {
            "unbounded" => usize::MAX,
            n => n.parse().map_err(|_| "maxOccurs")?,
        };
        Ok((min, max))
    }

    fn unsupported(e: &Element) -> String {
        format!(
            "junit.xsd uses <{}>, which this validator does not support",
            e.name
        )
    }

    fn check_attrs(e: &Element, allowed: &[&str]) -> Result<(), String> {
        match e.attrs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => Err(format!(
                "junit.xsd: attribute {k} of <{}> is not supported",
                e.name
            )),
            None => Ok(()),
        }
    }

    fn particle(e: &Element, named: &HashMap<String, &Element>) -> Result<Particle, String> {
        let (min, max) = occurs(e)?;
        match e.name.as_str() {
            "xs:element" => {
                check_attrs(e, &["ref", "name", "type", "minOccurs", "maxOccurs"])?;
                if let Some(r) = e.attr("ref") {
                    Ok(Particle::Element {
                        name: r.to_string(),
                        decl: None,
                        min,
                        max,
                    })
                } else {
                    let name = e.attr("name").ok_or("a local element without a name")?;
                    Ok(Particle::Element {
                        name: name.to_string(),
                        decl: Some(Box::new(decl(e, named)?)),
                        min,
                        max,
                    })
                }
            }
            "xs:sequence" | "xs:choice" => {
                check_attrs(e, &["minOccurs", "maxOccurs"])?;
                let items = e
                    .children
                    .iter()
                    .map(|c| particle(c, named))
                    .collect::<Result<_, _>>()?;
                Ok(if e.name == "xs:sequence" {
                    Particle::Sequence { items, min, max }
                } else {
                    Particle::Choice { items, min, max }
                })
            }
            _ => Err(unsupported(e)),
        }
    }

    fn complex(t: &Element, named: &HashMap<String, &Element>) -> Result<Decl, String> {
        check_attrs(t, &["name", "mixed"])?;
        let mut attrs = HashMap::new();
        let mut content = None;
        for c in &t.children {
            match c.name.as_str() {
                "xs:attribute" => {
                    check_attrs(c, &["name", "type", "use"])?;
                    let required = match c.attr("use").unwrap_or("optional") {
                        "required" => true,
                        "optional" => false,
                        other => return Err(format!("junit.xsd: use={other} is not supported")),
                    };
                    attrs.insert(
                        c.attr("name")
                            .ok_or("an attribute without a name")?
                            .to_string(),
                        (required, c.attr("type").unwrap_or("xs:string").to_string()),
                    );
                }
                "xs:sequence" | "xs:choice" if content.is_none() => {
                    content = Some(particle(c, named)?)
                }
                _ => return Err(unsupported(c)),
            }
        }
        Ok(Decl::Complex {
            mixed: t.attr("mixed") == Some("true"),
            attrs,
            content,
        })
    }

    /// The declaration of an `xs:element`: its `type`, or its anonymous complex type.
    fn decl(e: &Element, named: &HashMap<String, &Element>) -> Result<Decl, String> {
        match (e.attr("type"), e.children.as_slice()) {
            (Some("xs:string"), []) => Ok(Decl::Text),
            (Some(t), []) => complex(
                named
                    .get(t)
                    .ok_or_else(|| format!("junit.xsd: no complexType {t}"))?,
                named,
            ),
            (None, [t]) if t.name == "xs:complexType" => complex(t, named),
            _ => Err(format!(
                "junit.xsd: element {:?} has a form this validator does not support",
                e.attr("name")
            )),
        }
    }

    fn schema() -> Result<Schema, String> {
        let text = std::fs::read_to_string(crate_dir().join("tests/schemas/junit.xsd"))
            .map_err(|e| e.to_string())?;
        let root = parse(&text)?;
        if root.name != "xs:schema" {
            return Err("junit.xsd: the root is not xs:schema".into());
        }
        let mut named = HashMap::new();
        let mut patterns = HashMap::new();
        for c in &root.children {
            match c.name.as_str() {
                "xs:complexType" => {
                    named.insert(
                        c.attr("name")
                            .ok_or("an unnamed global complexType")?
                            .to_string(),
                        c,
                    );
                }
                "xs:simpleType" => {
                    let name = c.attr("name").ok_or("an unnamed simpleType")?;
                    let pattern = match c.children.as_slice() {
                        [r] if r.name == "xs:restriction"
                            && r.attr("base") == Some("xs:string") =>
                        {
                            match r.children.as_slice() {
                                [p] if p.name == "xs:pattern" => {
                                    p.attr("value").ok_or("a pattern without a value")?
                                }
                                _ => return Err(unsupported(r)),
                            }
                        }
                        _ => return Err(unsupported(c)),
                    };
                    // XSD patterns match the whole value.
                    let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                        .map_err(|e| e.to_string())?;
                    patterns.insert(name.to_string(), re);
                }
                "xs:element" => {}
                _ => return Err(unsupported(c)),
            }
        }
        let mut elements = HashMap::new();
        for c in root.children.iter().filter(|c| c.name == "xs:element") {
            check_attrs(c, &["name", "type"])?;
            elements.insert(
                c.attr("name")
                    .ok_or("an unnamed global element")?
                    .to_string(),
                decl(c, &named)?,
            );
        }
        Ok(Schema { elements, patterns })
    }

    /// Where a content model can end when matched from `start`.
    fn ends(p: &Particle, kids: &[&str], start: usize) -> BTreeSet<usize> {
        let (min, max) = match p {
            Particle::Element { min, max, .. }
            | Particle::Sequence { min, max, .. }
            | Particle::Choice { min, max, .. } => (*min, *max),
        };
        let once = |from: usize| -> BTreeSet<usize> {
            match p {
                Particle::Element { name, .. } => {
                    if kids.get(from) == Some(&name.as_str()) {
                        BTreeSet::from([from + 1])
                    } else {
                        BTreeSet::new()
                    }
                }
                Particle::Sequence { items, .. } => {
                    items.iter().fold(BTreeSet::from([from]), |at, item| {
                        at.iter().flat_map(|&s| ends(item, kids, s)).collect()
                    })
                }
                Particle::Choice { items, .. } => items
                    .iter()
                    .flat_map(|item| ends(item, kids, from))
                    .collect(),
            }
        };
        let mut result = BTreeSet::new();
        if min == 0 {
            result.insert(start);
        }
        let mut frontier = BTreeSet::from([start]);
        let mut n = 0;
        // Every useful repetition consumes a child: kids.len() + 1 rounds suffice.
        while n < max && n <= kids.len() && !frontier.is_empty() {
            n += 1;
            frontier = frontier.iter().flat_map(|&s| once(s)).collect();
            if n >= min {
                result.extend(frontier.iter().copied());
            }
        }
        result
    }

    fn find_local<'p>(p: &'p Particle, name: &str) -> Option<&'p Option<Box<Decl>>> {
        match p {
            Particle::Element { name: n, decl, .. } => (n == name).then_some(decl),
            Particle::Sequence { items, .. } | Particle::Choice { items, .. } => {
                items.iter().find_map(|i| find_local(i, name))
            }
        }
    }

    fn check(e: &Element, d: &Decl, schema: &Schema, path: &str) -> Result<(), String> {
        let path = format!("{path}/{}", e.name);
        match d {
            Decl::Text => {
                if let Some((k, _)) = e.attrs.first() {
                    return Err(format!("{path}: attribute {k} is not allowed (text only)"));
                }
                if let Some(c) = e.children.first() {
                    return Err(format!(
                        "{path}: element <{}> is not allowed (text only)",
                        c.name
                    ));
                }
                Ok(())
            }
            Decl::Complex {
                mixed,
                attrs,
                content,
            } => {
                for (k, v) in &e.attrs {
                    let (_, ty) = attrs
                        .get(k)
                        .ok_or_else(|| format!("{path}: attribute {k} is not declared"))?;
                    if let Some(re) = schema.patterns.get(ty) {
                        if !re.is_match(v) {
                            return Err(format!("{path}: {k}={v:?} is not a valid {ty}"));
                        }
                    } else if ty != "xs:string" {
                        return Err(format!("junit.xsd: attribute type {ty} is not supported"));
                    }
                }
                for (k, (required, _)) in attrs {
                    if *required && e.attr(k).is_none() {
                        return Err(format!("{path}: required attribute {k} is missing"));
                    }
                }
                if e.has_text && !mixed {
                    return Err(format!("{path}: text is not allowed here"));
                }
                let kids: Vec<&str> = e.children.iter().map(|c| c.name.as_str()).collect();
                let fits = match content {
                    Some(p) => ends(p, &kids, 0).contains(&kids.len()),
                    None => kids.is_empty(),
                };
                if !fits {
                    return Err(format!(
                        "{path}: children {kids:?} do not fit the content model"
                    ));
                }
                for c in &e.children {
                    let local = content.as_ref().and_then(|p| find_local(p, &c.name));
                    let decl = match local {
                        Some(Some(local)) => local.as_ref(),
                        _ => schema
                            .elements
                            .get(&c.name)
                            .ok_or_else(|| format!("{path}: <{}> is not declared", c.name))?,
                    };
                    check(c, decl, schema, &path)?;
                }
                Ok(())
            }
        }
    }

    /// Checks that `xml` is well-formed and valid against junit.xsd.
    pub fn validate(xml: &str) -> Result<(), String> {
        let schema = schema().map_err(|e| format!("the schema: {e}"))?;
        let root = parse(xml)?;
        let decl = schema
            .elements
            .get(&root.name)
            .ok_or_else(|| format!("the root <{}> is not an element of junit.xsd", root.name))?;
        check(&root, decl, &schema, "")
    }
}
