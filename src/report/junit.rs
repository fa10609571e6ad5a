//! JUnit XML, for Jenkins' `junit` step and other CI test reports.
//!
//! Suites: `mlscore rubric` (one case per rubric test and custom check; the
//! score is informational, so a test without evidence is skipped, not failed),
//! `mlscore metrics` (one case per metric with a policy), `mlscore gate` (one
//! case per gate condition) and, when probes ran, `mlscore probes` (one case
//! per probe).
//!
//! Written by hand rather than with quick-junit: quick-junit always writes a
//! `skipped` attribute on `<testsuites>`, which the Jenkins/Ant schema most
//! consumers follow (`tests/schemas/junit.xsd`) does not allow.

use std::fmt::Write as _;

use super::Report;
use crate::rubric::{Status, TestResult};

/// One `<testcase>`.
struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
    system_out: Option<String>,
}

enum Outcome {
    Passed,
    Skipped(String),
    Failed {
        message: String,
        kind: &'static str,
        text: String,
    },
}

/// One `<testsuite>`.
struct Suite {
    name: &'static str,
    properties: Vec<(&'static str, String)>,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }
}

/// Renders the JUnit XML report.
pub fn render(report: &Report) -> String {
    let mut suites = vec![rubric(report), metrics(report), gate(report)];
    let probes = probes(report);
    if !probes.cases.is_empty() {
        suites.push(probes);
    }
    write(&suites)
}

fn rubric(report: &Report) -> Suite {
    let cases = report
        .tests
        .iter()
        .chain(&report.custom_checks)
        .map(test_case)
        .collect();
    Suite {
        name: "mlscore rubric",
        properties: vec![
            ("score", super::human::points(report.score.final_score)),
            ("band", report.score.band_range.to_string()),
            ("band_meaning", report.score.band_meaning.to_string()),
            (
                "maturity_level",
                format!("{} ({})", report.maturity.level, report.maturity.name),
            ),
            ("maturity_missing", report.maturity.missing.join("; ")),
        ],
        cases,
    }
}

fn test_case(test: &TestResult) -> Case {
    let outcome = match (&test.status, &test.waiver) {
        (Status::Missing, _) => Outcome::Skipped("not done".into()),
        (Status::Waived, Some(waiver)) => Outcome::Skipped(format!("waived: {}", waiver.reason)),
        (Status::Waived, None) => Outcome::Skipped("waived".into()),
        _ => Outcome::Passed,
    };
    let points = if test.points == 1.0 {
        "1 point".to_string()
    } else {
        format!("{} points", super::human::points(test.points))
    };
    let mut out = format!("{points}, {}\n", test.status.label());
    for evidence in &test.evidence {
        let place = match evidence.line {
            Some(line) => format!("{}:{line}", evidence.path),
            None => evidence.path.clone(),
        };
        let _ = write!(out, "{place}  {}", evidence.what);
        if let Some((how, ci)) = evidence.ci_relation() {
            let _ = write!(
                out,
                " ({how} {} › {} at {}:{}",
                ci.system.display_name(),
                ci.job,
                ci.command_file,
                ci.command_line
            );
            if let Some(why) = &ci.manual_because {
                let _ = write!(out, ": {why}");
            }
            out.push(')');
        }
        out.push('\n');
    }
    if test.evidence_total > test.evidence.len() {
        let _ = writeln!(
            out,
            "… and {} more (see --format json)",
            test.evidence_total - test.evidence.len()
        );
    }
    Case {
        classname: format!("mlscore.{}", test.section.id()),
        name: format!("{} {}", test.id, test.title),
        outcome,
        system_out: Some(out),
    }
}

fn metrics(report: &Report) -> Suite {
    let show = |v: &Option<crate::metrics::MetricValue>| {
        v.as_ref().map_or("missing".to_string(), |v| v.display())
    };
    let cases = report
        .metrics
        .iter()
        .filter(|r| !r.checks.is_empty())
        .map(|row| {
            let mut text = format!("base {}, head {}\n", show(&row.base), show(&row.head));
            for check in &row.checks {
                let _ = writeln!(
                    text,
                    "{} {}: {}",
                    if check.passed { "ok" } else { "FAIL" },
                    check.rule,
                    check.message
                );
            }
            let failed = row.failures();
            let outcome = if failed.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    message: format!("{} = {}: {}", row.name, show(&row.head), failed.join("; ")),
                    kind: "metric policy",
                    text: text.clone(),
                }
            };
            Case {
                classname: "mlscore.metrics".into(),
                name: format!("{}:{}", row.file, row.name),
                outcome,
                system_out: Some(text),
            }
        })
        .collect();
    Suite {
        name: "mlscore metrics",
        properties: Vec::new(),
        cases,
    }
}

fn gate(report: &Report) -> Suite {
    let Some(verdict) = &report.verdict else {
        return Suite {
            name: "mlscore gate",
            properties: Vec::new(),
            cases: Vec::new(),
        };
    };
    let cases = verdict
        .conditions
        .iter()
        .map(|c| {
            let outcome = if c.passed {
                Outcome::Passed
            } else {
                Outcome::Failed {
                    message: format!("{} (threshold {}): {}", c.value, c.threshold, c.message),
                    kind: "gate condition",
                    text: c.message.clone(),
                }
            };
            Case {
                classname: "mlscore.gate".into(),
                name: c.name.clone(),
                outcome,
                system_out: None,
            }
        })
        .collect();
    Suite {
        name: "mlscore gate",
        properties: vec![
            ("passed", verdict.passed.to_string()),
            ("advisory", verdict.advisory.to_string()),
        ],
        cases,
    }
}

/// One case per probe that ran: passed, failed (`probe`), or an error when it
/// could not run (`probe input`).
fn probes(report: &Report) -> Suite {
    use crate::probes::configured::ProbeStatus;
    let cases = report
        .probes
        .iter()
        .map(|p| {
            let text = std::iter::once(p.summary.clone())
                .chain(p.details.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n");
            let failed = |kind| Outcome::Failed {
                message: p.summary.clone(),
                kind,
                text: text.clone(),
            };
            Case {
                classname: format!("mlscore.probes.{}", p.probe),
                name: format!("{} {} ({})", p.probe, p.name, p.tests.join(", ")),
                outcome: match p.status {
                    ProbeStatus::Passed => Outcome::Passed,
                    ProbeStatus::Failed => failed("probe"),
                    ProbeStatus::Error => failed("probe input"),
                },
                system_out: (p.status == ProbeStatus::Passed).then(|| text.clone()),
            }
        })
        .collect();
    Suite {
        name: "mlscore probes",
        properties: Vec::new(),
        cases,
    }
}

fn write(suites: &[Suite]) -> String {
    let failed = |o: &Outcome| matches!(o, Outcome::Failed { .. });
    let skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(|s| s.count(failed)).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mlscore\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    for suite in suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
            attr(suite.name),
            suite.cases.len(),
            suite.count(failed),
            suite.count(skipped)
        );
        if !suite.properties.is_empty() {
            out.push_str("    <properties>\n");
            for (name, value) in &suite.properties {
                let _ = writeln!(
                    out,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    attr(name),
                    attr(value)
                );
            }
            out.push_str("    </properties>\n");
        }
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                attr(&case.classname),
                attr(&case.name)
            );
            if matches!(case.outcome, Outcome::Passed) && case.system_out.is_none() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            match &case.outcome {
                Outcome::Passed => {}
                Outcome::Skipped(message) => {
                    let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(message));
                }
                Outcome::Failed {
                    message,
                    kind,
                    text,
                } => {
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        attr(message),
                        attr(kind),
                        text_node(text)
                    );
                }
            }
            if let Some(system_out) = &case.system_out {
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    text_node(system_out)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Characters XML 1.0 cannot hold at all (most C0 controls, U+FFFE, U+FFFF)
/// become U+FFFD, so repository text can never make the file unparseable;
/// so do the other hazards of [`crate::text::inert`].
fn xml_char(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        // Terminal escapes, bidirectional controls and invisible characters
        // from the repository would reach Jenkins' test pages as they are.
        c if crate::text::inert::is_hazard(c) => '\u{FFFD}',
        c => c,
    }
}

/// Escapes element text. A line of it that would start with `::` (which a
/// CI log reads as a workflow command) has that colon written `&#58;`, and
/// `##[` markers lose their second `#` to `&#35;`: the same text to any XML
/// reader, inert in a log.
fn text_node(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for c in text.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            ':' if line_start => out.push_str("&#58;"),
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && c.is_whitespace());
    }
    break_markers(out)
}

fn break_markers(text: String) -> String {
    if text.contains("##[") || text.contains("##vso[") {
        text.replace("##[", "#&#35;[")
            .replace("##vso[", "#&#35;vso[")
    } else {
        text
    }
}

/// Escapes an attribute value; line breaks and tabs are kept as references,
/// since a parser would otherwise normalise them to spaces.
fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    break_markers(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::markdown::fixture;

    #[test]
    fn suites_count_their_cases() {
        let xml = render(&fixture::report());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mlscore\" tests=\"32\" failures=\"2\" errors=\"0\">"), "{xml}");
        assert!(xml.contains("<testsuite name=\"mlscore rubric\" tests=\"28\" failures=\"0\" errors=\"0\" skipped=\"17\">"), "{xml}");
        assert!(xml.contains("<testsuite name=\"mlscore metrics\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"));
        assert!(xml.contains("<testsuite name=\"mlscore gate\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"));
        assert!(!xml.contains("mlscore probes"), "no probes ran, no suite");
    }

    #[test]
    fn missing_is_skipped_waived_says_why_and_evidence_is_listed() {
        let xml = render(&fixture::report());
        assert!(xml.contains("<testcase classname=\"mlscore.data\" name=\"data-3 Title of data-3\">\n      <skipped message=\"not done\"/>"));
        assert!(xml.contains("<skipped message=\"waived: Batch only | no @serving\"/>"));
        assert!(xml.contains("tests/data/test_schema.py:1  pandera schema (run by GitHub Actions › ci.yml › test at .github/workflows/ci.yml:8)"));
        assert!(xml
            .contains("<failure message=\"eval.auc = 0.75: 0.75 ≥ 0.8\" type=\"metric policy\">"));
        assert!(xml.contains("<failure message=\"1.5 (threshold ≥ 2): final score 1.5 must be at least 2\" type=\"gate condition\">"));
    }

    #[test]
    fn every_probe_that_ran_is_a_case() {
        use crate::probes::configured::{ProbeOutcome, ProbeStatus};
        let outcome = |probe: &'static str, status, failures| ProbeOutcome {
            probe,
            name: "data/train.csv".into(),
            tests: vec!["data-1".into()],
            status,
            summary: format!("{probe} summary"),
            details: vec!["age: max 130 (allowed 120)".into()],
            failures,
            path: Some("data/train.csv".into()),
            config_line: Some(3),
        };
        let mut report = fixture::report();
        report.set_probes(vec![
            outcome("schema", ProbeStatus::Failed, 1),
            outcome("features", ProbeStatus::Passed, 0),
            outcome("pii", ProbeStatus::Error, 1),
        ]);
        let xml = render(&report);
        assert!(
            xml.contains("<testsuite name=\"mlscore probes\" tests=\"3\" failures=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("name=\"schema data/train.csv (data-1)\""));
        assert!(xml.contains("<failure message=\"schema summary\" type=\"probe\">"));
        assert!(xml.contains("<failure message=\"pii summary\" type=\"probe input\">"));
        assert!(xml.contains("features summary\nage: max 130 (allowed 120)</system-out>"));
    }

    #[test]
    fn repository_text_cannot_break_the_xml() {
        assert_eq!(
            attr("a\"b<c>&'\n\u{1}"),
            "a&quot;b&lt;c&gt;&amp;&apos;&#10;\u{FFFD}"
        );
        assert_eq!(
            text_node("]]></system-out>\u{0}"),
            "]]&gt;&lt;/system-out&gt;\u{FFFD}"
        );
    }
}
