//! The terminal report: sections first, then every test with its evidence.

use std::fmt::Write as _;

use owo_colors::{OwoColorize, Style};

use super::context::RenderContext;
use super::{Level, Report};
use crate::metrics::Change;
use crate::rubric::{Evidence, Status, TestResult};
use crate::text::inert;
pub use crate::text::number::points;

/// Repository text on a line of the report: shown, never obeyed.
fn t(text: &str) -> std::borrow::Cow<'_, str> {
    inert::line(text)
}

/// Evidence lines shown per test; the JSON report has the rest.
const SHOWN_EVIDENCE: usize = 3;

/// Renders the report for a terminal as the context asks: the whole
/// scorecard, or (for `diff`) the metrics and the verdict first. No line of it
/// can be taken by a CI runner for a workflow command.
pub fn render_with(report: &Report, ctx: &RenderContext) -> String {
    inert::guard_lines(&compose(report, ctx)).into_owned()
}

fn compose(report: &Report, ctx: &RenderContext) -> String {
    if ctx.metrics_first {
        let mut out = metrics_table(report, ctx.color);
        out.push_str(&format!(
            "\nML Test Score: {}{}\n",
            points(report.score.final_score),
            delta(report.score.delta)
        ));
        out.push_str(&verdict(report, ctx.color));
        return out;
    }
    let mut out = render(report, ctx.color);
    if !report.metrics.is_empty() {
        out.push('\n');
        out.push_str(&metrics_table(report, ctx.color));
    }
    out.push_str(&verdict(report, ctx.color));
    out
}

fn delta(value: Option<f64>) -> String {
    match value {
        Some(d) if d > 0.0 => format!(" (+{} vs base)", points(d)),
        Some(d) if d < 0.0 => format!(" (−{} vs base)", points(-d)),
        Some(_) => " (unchanged vs base)".into(),
        None => String::new(),
    }
}

/// The metric diff as an aligned table.
pub fn metrics_table(report: &Report, color: bool) -> String {
    let paint = |text: &str, style: Style| {
        if color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let base = report
        .base
        .as_ref()
        .map(|b| t(&b.rev))
        .unwrap_or("base".into());
    if report.metrics.is_empty() {
        if report.metric_files.is_empty() {
            out.push_str("Metrics: none found (declare files under `metrics:` in mlscore.yaml)\n");
        } else {
            out.push_str(&format!(
                "Metrics: no values in {}\n",
                report.metric_files.join(", ")
            ));
        }
        return out;
    }
    let head = t(report.head.as_deref().unwrap_or("working tree"));
    let compared = report.base.is_some();
    if !compared {
        out.push_str(&paint(
            &format!("Metrics ({head}; pass --base REV to compare with a base)\n"),
            Style::new().bold(),
        ));
    } else {
        out.push_str(&paint(
            &format!("Metrics ({base} → {head})\n"),
            Style::new().bold(),
        ));
    }
    let rows: Vec<[String; 7]> = report
        .metrics
        .iter()
        .map(|r| {
            // Without a base every metric would read "added": say nothing instead.
            let change = match r.change {
                _ if !compared => "",
                Change::Added => "added",
                Change::Removed => "removed",
                Change::Changed => "changed",
                Change::Unchanged => "unchanged",
            };
            let show = |v: &Option<crate::metrics::MetricValue>| {
                v.as_ref()
                    .map_or("—".to_string(), |v| t(&v.display()).into_owned())
            };
            let abs = r.abs_change.map_or(String::new(), |d| {
                format!(
                    "{}{}",
                    if d > 0.0 { "+" } else { "" },
                    crate::metrics::value::format_number(d)
                )
            });
            // Percentages to two decimals: more digits are noise to a reader.
            let rel = r.rel_change.map_or(String::new(), |d| {
                let pct = format!("{:.2}", d * 100.0);
                let pct = pct.trim_end_matches('0').trim_end_matches('.');
                format!("{}{pct}%", if d > 0.0 { "+" } else { "" })
            });
            let verdict = if r.checks.is_empty() {
                if r.regressed {
                    "regressed".into()
                } else {
                    String::new()
                }
            } else if r.passed() {
                "ok".into()
            } else {
                format!("FAIL: {}", t(&r.failures().join("; ")))
            };
            [
                format!("{}:{}", t(&r.file), t(&r.name)),
                show(&r.base),
                show(&r.head),
                abs,
                rel,
                change.to_string(),
                verdict,
            ]
        })
        .collect();
    let headers = ["metric", "base", "head", "change", "%", "", ""];
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 7]| {
        let mut text = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if (1..=4).contains(&i) {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
            text.push_str("  ");
        }
        text.trim_end().to_string()
    };
    out.push_str(&line(&headers.map(str::to_string)));
    out.push('\n');
    for row in &rows {
        let text = line(row);
        let styled = if row[6].starts_with("FAIL") {
            paint(&text, Style::new().red())
        } else {
            text
        };
        out.push_str(&styled);
        out.push('\n');
    }
    if !report.metric_files.is_empty() {
        out.push_str(&format!("  read: {}\n", report.metric_files.join(", ")));
    }
    out
}

/// The probes that ran: one line each, then what failed, indented.
pub fn probes(report: &Report, color: bool) -> String {
    use crate::probes::configured::ProbeStatus;
    let paint = |text: &str, style: Style| {
        if color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = paint("Probes", Style::new().bold());
    out.push('\n');
    for p in &report.probes {
        let mark = match p.status {
            ProbeStatus::Passed => paint("✓", Style::new().green()),
            ProbeStatus::Failed => paint("✗", Style::new().red()),
            ProbeStatus::Error => paint("!", Style::new().red().bold()),
        };
        let _ = writeln!(
            out,
            "  {mark} {:<13}{} ({}): {}",
            p.probe,
            t(&p.name),
            p.tests.join(", "),
            t(&p.summary)
        );
        for detail in p.details.iter().take(p.failures.min(10)) {
            let _ = writeln!(out, "      {}", t(detail));
        }
        if p.failures > 10 {
            let _ = writeln!(out, "      … {} more (see --format json)", p.failures - 10);
        }
    }
    out
}

/// The gate's verdict, each condition with its value and threshold.
pub fn verdict(report: &Report, color: bool) -> String {
    let Some(verdict) = &report.verdict else {
        return String::new();
    };
    let paint = |text: &str, style: Style| {
        if color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let head = match (verdict.passed, verdict.advisory) {
        (true, _) => paint("Gate: passed", Style::new().green().bold()),
        (false, true) => paint(
            "Gate: failed (advisory: exit code 0)",
            Style::new().yellow().bold(),
        ),
        (false, false) => paint("Gate: failed", Style::new().red().bold()),
    };
    out.push_str(&format!("\n{head}\n"));
    if verdict.conditions.is_empty() {
        out.push_str("  no conditions configured (see `gate:` in mlscore.yaml or --min-score)\n");
    }
    for c in &verdict.conditions {
        let mark = if c.passed {
            paint("✓", Style::new().green())
        } else {
            paint("✗", Style::new().red())
        };
        out.push_str(&format!(
            "  {mark} {}: {} (threshold {})\n",
            t(&c.name),
            t(&c.value),
            t(&c.threshold)
        ));
    }
    out
}

/// Renders the scorecard for a terminal; `color` adds ANSI styles.
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

    let _ = writeln!(
        out,
        "{}",
        paint(
            &format!(
                "ML Test Score: {}{}",
                points(report.score.final_score),
                delta(report.score.delta)
            ),
            bold
        )
    );
    let _ = writeln!(
        out,
        "  band {}: {}",
        report.score.band_range, report.score.band_meaning
    );
    let _ = writeln!(out, "  the final score is the lowest of the four sections");
    let maturity = &report.maturity;
    let _ = writeln!(
        out,
        "  MLOps maturity: level {}, {}",
        maturity.level, maturity.name
    );
    for missing in &maturity.missing {
        let _ = writeln!(out, "    level {} needs: {missing}", maturity.level + 1);
    }
    out.push('\n');
    for section in &report.sections {
        let marker = if section.is_minimum {
            "  ◀ lowest"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<16}{:>4} / {}{}   {} automated, {} manual, {} missing{}{}",
            section.title,
            points(section.score),
            points(section.max),
            delta(section.delta),
            section.automated,
            section.manual,
            section.missing,
            if section.waived > 0 {
                format!(", {} waived", section.waived)
            } else {
                String::new()
            },
            paint(marker, Style::new().yellow().bold()),
        );
    }

    for section in &report.sections {
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                &format!(
                    "{} ({} / {})",
                    section.title,
                    points(section.score),
                    points(section.max)
                ),
                bold
            )
        );
        for test in report.tests.iter().filter(|t| t.section == section.section) {
            write_test(&mut out, test, &paint, dim);
        }
    }

    if !report.custom_checks.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint("Custom checks (not part of the score)", bold)
        );
        for test in &report.custom_checks {
            write_test(&mut out, test, &paint, dim);
        }
    }

    if !report.probes.is_empty() {
        out.push('\n');
        out.push_str(&probes(report, color));
    }

    if !report.next_steps.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint("Next steps for the lowest section", bold)
        );
        for step in &report.next_steps {
            let _ = writeln!(
                out,
                "  +{} {} ({}): {}",
                points(step.gain),
                t(&step.test),
                t(&step.title),
                t(&step.action)
            );
        }
    }

    let systems: Vec<&str> = report.ci.systems.iter().map(|s| s.display_name()).collect();
    let _ = writeln!(
        out,
        "\nCI: {} ({} jobs{}){}",
        if systems.is_empty() {
            "none found".to_string()
        } else {
            systems.join(", ")
        },
        report.ci.jobs.len(),
        match report.ci.jobs.iter().filter(|j| j.scheduled).count() {
            0 => String::new(),
            n => format!(", {n} scheduled"),
        },
        if report.ci.runs_mlscore {
            "; runs mlscore"
        } else {
            ""
        },
    );
    let _ = writeln!(out, "Files indexed: {}", report.files_indexed);

    for finding in &report.findings {
        let (word, style) = match finding.level {
            Level::Error => ("error", Style::new().red().bold()),
            Level::Warning => ("warning", Style::new().yellow().bold()),
            Level::Note => ("note", Style::new().cyan()),
        };
        let place = match (&finding.path, finding.line) {
            (Some(p), Some(l)) => format!("{}:{l}: ", t(p)),
            (Some(p), None) => format!("{}: ", t(p)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}: {place}{}",
            paint(word, style),
            t(&finding.message)
        );
    }
    for warning in &report.warnings {
        let place = match warning.line {
            Some(l) => format!("{}:{l}", t(&warning.path)),
            None => t(&warning.path).into_owned(),
        };
        let _ = writeln!(
            out,
            "{}: {place}: {}",
            paint("warning", Style::new().yellow().bold()),
            t(&warning.message)
        );
    }
    out
}

fn write_test(
    out: &mut String,
    test: &TestResult,
    paint: &dyn Fn(&str, Style) -> String,
    dim: Style,
) {
    let style = match test.status {
        Status::Automated => Style::new().green(),
        Status::Manual => Style::new().yellow(),
        Status::Missing => Style::new().red(),
        Status::Waived => Style::new().cyan(),
    };
    let _ = writeln!(
        out,
        "  {:<10}{:>4}  {}  {}",
        t(&test.id),
        points(test.points),
        paint(&format!("{:<9}", test.status.label()), style),
        t(&test.title)
    );
    if let Some(waiver) = &test.waiver {
        let _ = writeln!(out, "              waived: {}", t(&waiver.reason));
    }
    // A reason is said once per test, not under every line it explains.
    let mut said: Option<&str> = None;
    for evidence in test.evidence.iter().take(SHOWN_EVIDENCE) {
        let _ = writeln!(
            out,
            "              {}  {}",
            location(evidence),
            paint(&t(&evidence.what), dim)
        );
        if let Some((how, ci)) = evidence.ci_relation() {
            let _ = writeln!(
                out,
                "                {} {} › {} ({}:{})",
                paint(how, dim),
                ci.system.display_name(),
                t(&ci.job),
                t(&ci.command_file),
                ci.command_line
            );
            if let Some(why) = ci.manual_because.as_deref() {
                if said != Some(why) {
                    let _ = writeln!(
                        out,
                        "                {}",
                        paint(&format!("why: {}", t(why)), dim)
                    );
                    said = Some(why);
                }
            }
        }
    }
    if test.evidence_total > SHOWN_EVIDENCE {
        let _ = writeln!(
            out,
            "              {}",
            paint(
                &format!(
                    "… and {} more (see --format json)",
                    test.evidence_total - SHOWN_EVIDENCE
                ),
                dim
            )
        );
    }
}

fn location(evidence: &Evidence) -> String {
    match evidence.line {
        Some(line) => format!("{}:{line}", t(&evidence.path)),
        None => t(&evidence.path).into_owned(),
    }
}
