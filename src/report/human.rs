//! The terminal report: sections first, then every test with its evidence.

use std::fmt::Write as _;

use owo_colors::{OwoColorize, Style};

use super::{Level, Report};
use crate::rubric::{Evidence, Status, TestResult};

/// Evidence lines shown per test; the JSON report has the rest.
const SHOWN_EVIDENCE: usize = 3;

/// Renders the report for a terminal; `color` adds ANSI styles.
pub fn render(report: &Report, color: bool) -> String {
    let paint = |text: &str, style: Style| -> String {
        if color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let mut out = String::new();

    let _ = writeln!(out, "{}", paint(&format!("ML Test Score: {}", points(report.score.final_score)), bold));
    let _ = writeln!(out, "  band {}: {}", report.score.band_range, report.score.band_meaning);
    let _ = writeln!(out, "  the final score is the lowest of the four sections\n");
    for section in &report.sections {
        let marker = if section.is_minimum { "  ◀ lowest" } else { "" };
        let _ = writeln!(
            out,
            "  {:<16}{:>4} / {}   {} automated, {} manual, {} missing{}{}",
            section.title,
            points(section.score),
            points(section.max),
            section.automated,
            section.manual,
            section.missing,
            if section.waived > 0 { format!(", {} waived", section.waived) } else { String::new() },
            paint(marker, Style::new().yellow().bold()),
        );
    }

    for section in &report.sections {
        let _ = writeln!(out, "\n{}", paint(&format!("{} ({} / {})", section.title, points(section.score), points(section.max)), bold));
        for test in report.tests.iter().filter(|t| t.section == section.section) {
            write_test(&mut out, test, &paint, dim);
        }
    }

    if !report.custom_checks.is_empty() {
        let _ = writeln!(out, "\n{}", paint("Custom checks (not part of the score)", bold));
        for test in &report.custom_checks {
            write_test(&mut out, test, &paint, dim);
        }
    }

    if !report.next_steps.is_empty() {
        let _ = writeln!(out, "\n{}", paint("Next steps for the lowest section", bold));
        for step in &report.next_steps {
            let _ = writeln!(out, "  +{} {} ({}): {}", points(step.gain), step.test, step.title, step.action);
        }
    }

    let systems: Vec<&str> = report.ci.systems.iter().map(|s| s.display_name()).collect();
    let _ = writeln!(
        out,
        "\nCI: {} ({} jobs{}){}",
        if systems.is_empty() { "none found".to_string() } else { systems.join(", ") },
        report.ci.jobs.len(),
        match report.ci.jobs.iter().filter(|j| j.scheduled).count() {
            0 => String::new(),
            n => format!(", {n} scheduled"),
        },
        if report.ci.runs_mlscore { "; runs mlscore" } else { "" },
    );
    let _ = writeln!(out, "Files indexed: {}", report.files_indexed);

    for finding in &report.findings {
        let (word, style) = match finding.level {
            Level::Error => ("error", Style::new().red().bold()),
            Level::Warning => ("warning", Style::new().yellow().bold()),
            Level::Note => ("note", Style::new().cyan()),
        };
        let place = match (&finding.path, finding.line) {
            (Some(p), Some(l)) => format!("{p}:{l}: "),
            (Some(p), None) => format!("{p}: "),
            _ => String::new(),
        };
        let _ = writeln!(out, "{}: {place}{}", paint(word, style), finding.message);
    }
    for warning in &report.warnings {
        let place = match warning.line {
            Some(l) => format!("{}:{l}", warning.path),
            None => warning.path.clone(),
        };
        let _ = writeln!(out, "{}: {place}: {}", paint("warning", Style::new().yellow().bold()), warning.message);
    }
    out
}

fn write_test(out: &mut String, test: &TestResult, paint: &dyn Fn(&str, Style) -> String, dim: Style) {
    let style = match test.status {
        Status::Automated => Style::new().green(),
        Status::Manual => Style::new().yellow(),
        Status::Missing => Style::new().red(),
        Status::Waived => Style::new().cyan(),
    };
    let _ = writeln!(
        out,
        "  {:<10}{:>4}  {}  {}",
        test.id,
        points(test.points),
        paint(&format!("{:<9}", test.status.label()), style),
        test.title
    );
    if let Some(waiver) = &test.waiver {
        let _ = writeln!(out, "              waived: {}", waiver.reason);
    }
    for evidence in test.evidence.iter().take(SHOWN_EVIDENCE) {
        let _ = writeln!(out, "              {}  {}", location(evidence), paint(&evidence.what, dim));
        if let Some(ci) = &evidence.ci {
            let how = if evidence.automated { "run by" } else { "reached only by a manual job" };
            let _ = writeln!(
                out,
                "                {} {} › {} ({}:{})",
                paint(how, dim),
                ci.system.display_name(),
                ci.job,
                ci.command_file,
                ci.command_line
            );
        }
    }
    if test.evidence_total > SHOWN_EVIDENCE {
        let _ = writeln!(out, "              {}", paint(&format!("… and {} more (see --format json)", test.evidence_total - SHOWN_EVIDENCE), dim));
    }
}

fn location(evidence: &Evidence) -> String {
    match evidence.line {
        Some(line) => format!("{}:{line}", evidence.path),
        None => evidence.path.clone(),
    }
}

/// Points as the rubric writes them: 0, 0.5, 1, 3.5.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}
