//! `mlscore data infer`, `mlscore data validate` and `mlscore data skew`:
//! schemas for data files, and drift between two of them.

use std::path::Path;

use crate::cli::{DataArgs, DataCommand, DataFormatArg};
use crate::error::{Error, EXIT_GATE_FAILED, EXIT_OK};
use crate::probes::data::skew::{
    ColumnSkew, ColumnVerdict, DriftWhen, SkewReport, SkewThresholds, StatisticResult, Threshold,
};
use crate::probes::data::validate::{FileReport, Level, Violation};
use crate::probes::data::{infer, schema, skew, validate, DataError};
use crate::text::number::{plural, thousands, STATISTIC};

/// Runs a `mlscore data` subcommand.
pub fn run(args: &DataArgs) -> Result<i32, Error> {
    match &args.command {
        DataCommand::Infer {
            file,
            output,
            max_categories,
        } => run_infer(file, output.as_deref(), *max_categories),
        DataCommand::Validate {
            schema,
            files,
            format,
        } => run_validate(schema, files, *format),
        DataCommand::Skew {
            reference,
            current,
            schema,
            format,
        } => run_skew(reference, current, schema.as_deref(), *format),
    }
}

fn run_infer(file: &Path, output: Option<&Path>, max_categories: usize) -> Result<i32, Error> {
    let inferred = infer::infer(file, max_categories)?;
    let header = format!(
        "mlscore data schema, inferred from {} ({} rows) — review before committing",
        file.display(),
        thousands(inferred.rows)
    );
    let text = schema::to_yaml(&inferred.schema, &header);
    match output {
        Some(path) => std::fs::write(path, &text).map_err(|err| DataError::Write {
            path: path.display().to_string(),
            reason: err.to_string(),
        })?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

fn run_validate(
    schema_path: &Path,
    files: &[std::path::PathBuf],
    format: DataFormatArg,
) -> Result<i32, Error> {
    let name = schema_path.display().to_string();
    let schema = read_schema(schema_path)?;
    let reports = files
        .iter()
        .map(|file| validate::validate(file, &schema))
        .collect::<Result<Vec<_>, _>>()?;
    let failed: usize = reports.iter().map(|r| r.count(Level::Error)).sum();
    match format {
        DataFormatArg::Json => {
            let json = serde_json::json!({
                "schema": name,
                "violations": failed,
                "files": reports,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        DataFormatArg::Human => print!("{}", crate::text::inert::terminal(&human(&reports))),
    }
    Ok(if failed > 0 {
        EXIT_GATE_FAILED
    } else {
        EXIT_OK
    })
}

/// Reads and parses a schema file.
fn read_schema(path: &Path) -> Result<schema::DataSchema, DataError> {
    let name = path.display().to_string();
    let text = crate::repo::read_text_file(path).map_err(|err| DataError::Read {
        path: name.clone(),
        reason: err.to_string(),
        help: "pass the schema written by `mlscore data infer FILE -o schema.yaml`".into(),
    })?;
    schema::parse(&name, &text)
}

fn run_skew(
    reference: &Path,
    current: &Path,
    schema_path: Option<&Path>,
    format: DataFormatArg,
) -> Result<i32, Error> {
    let schema = schema_path.map(read_schema).transpose()?;
    let report = skew::skew(
        reference,
        current,
        schema.as_ref(),
        &SkewThresholds::default(),
    )?;
    match format {
        DataFormatArg::Json => {
            // A struct, not `json!`, so keys keep the report's order.
            #[derive(serde::Serialize)]
            struct SkewJson<'a> {
                schema: Option<String>,
                drifted: usize,
                #[serde(flatten)]
                report: &'a SkewReport,
            }
            let json = SkewJson {
                schema: schema_path.map(|p| p.display().to_string()),
                drifted: report.drifted(),
                report: &report,
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        DataFormatArg::Human => print!("{}", crate::text::inert::terminal(&human_skew(&report))),
    }
    Ok(if report.drifted() > 0 {
        EXIT_GATE_FAILED
    } else {
        EXIT_OK
    })
}

/// The readable skew report: the two files, one block per column with each
/// statistic beside its threshold, then the verdict.
fn human_skew(report: &SkewReport) -> String {
    let mut out = String::new();
    for (role, file) in [
        ("reference", &report.reference),
        ("current", &report.current),
    ] {
        out.push_str(&format!(
            "{role:<9} {}: {} rows, {} columns\n",
            file.path,
            thousands(file.rows),
            file.columns
        ));
    }
    out.push('\n');
    for column in &report.columns {
        out.push_str(&skew_column(column));
    }
    let summary = &report.summary;
    let mut tail = Vec::new();
    if summary.missing > 0 {
        tail.push(format!("{} missing from current", summary.missing));
    }
    if summary.empty > 0 {
        tail.push(format!("{} without usable values", summary.empty));
    }
    if summary.new > 0 {
        tail.push(format!("{} new in current (not compared)", summary.new));
    }
    if summary.skipped > 0 {
        tail.push(format!("{} skipped", summary.skipped));
    }
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("; {}", tail.join(", "))
    };
    if report.drifted() == 0 {
        out.push_str(&format!(
            "\nok: no drift in {} column{} compared{tail}\n",
            summary.compared,
            plural(summary.compared)
        ));
    } else {
        let failed: Vec<&str> = report
            .columns
            .iter()
            .filter(|c| c.failed)
            .map(|c| c.column.as_str())
            .collect();
        out.push_str(&format!(
            "\nDRIFT: {} failing column{} ({}): {} of {} compared drifted{tail}\n",
            failed.len(),
            plural(failed.len()),
            failed.join(", "),
            summary.drifted,
            summary.compared,
        ));
    }
    out
}

/// One column's block: a heading line, one line per statistic, then notes.
fn skew_column(column: &ColumnSkew) -> String {
    let kind = column.kind.map_or(String::new(), |k| format!(" ({k})"));
    let name = &column.column;
    let heading = match column.verdict {
        ColumnVerdict::Stable => "ok",
        ColumnVerdict::Drifted => "DRIFTED",
        ColumnVerdict::Missing => "MISSING from the current file",
        ColumnVerdict::New => "new in the current file, not compared",
        ColumnVerdict::Empty if column.failed => "NO USABLE VALUE in the current file",
        ColumnVerdict::Empty => "no usable value to compare",
        ColumnVerdict::Skipped => "skipped",
    };
    let mut out = format!("{name}{kind}: {heading}");
    if matches!(
        column.verdict,
        ColumnVerdict::Stable | ColumnVerdict::Drifted | ColumnVerdict::Empty
    ) {
        out.push_str(&format!(
            " — values {} → {}",
            thousands(column.values.reference),
            thousands(column.values.current)
        ));
        if let Some(numeric) = &column.numeric {
            out.push_str(&format!(
                ", mean {} → {}",
                crate::text::number::number(numeric.mean.reference, STATISTIC),
                crate::text::number::number(numeric.mean.current, STATISTIC)
            ));
        }
    }
    out.push('\n');
    for statistic in &column.statistics {
        let line = format!(
            "    {:<13} {:>10}  {:<9} {:<5}{}",
            statistic.statistic.key(),
            crate::text::number::number(statistic.value, STATISTIC),
            threshold(statistic),
            match (statistic.threshold, statistic.drifted) {
                (Threshold::Off, _) => "",
                (_, true) => "drift",
                (_, false) => "ok",
            },
            statistic_detail(column, statistic),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let mut details = Vec::new();
    if column.nulls.reference + column.nulls.current > 0 {
        details.push(format!(
            "nulls {} → {}",
            thousands(column.nulls.reference),
            thousands(column.nulls.current)
        ));
    }
    if column.dropped.reference + column.dropped.current > 0 {
        details.push(format!(
            "NaN/±Inf dropped {} → {}",
            thousands(column.dropped.reference),
            thousands(column.dropped.current)
        ));
    }
    if !details.is_empty() {
        out.push_str(&format!("    {}\n", details.join(", ")));
    }
    for note in &column.notes {
        out.push_str(&format!("    note: {note}\n"));
    }
    out
}

/// A threshold as the condition that means drift: `> 0.2`, `< 0.05`, `off`.
fn threshold(statistic: &StatisticResult) -> String {
    match statistic.threshold {
        Threshold::Off => "off".into(),
        Threshold::Limit(limit) => match statistic.drift_when {
            DriftWhen::Above => format!("> {limit}"),
            DriftWhen::Below => format!("< {limit}"),
        },
    }
}

/// The figures behind a statistic, where there are some worth a glance.
fn statistic_detail(column: &ColumnSkew, statistic: &StatisticResult) -> String {
    use crate::probes::data::skew::SkewStatistic as S;
    let details = match statistic.statistic {
        S::KsPValue => column
            .numeric
            .as_ref()
            .map(|n| format!("{:?}", n.ks_method).to_lowercase()),
        S::Wasserstein => column.numeric.as_ref().map(|n| {
            format!(
                "distance {} / reference std {}",
                crate::text::number::number(n.wasserstein_distance, STATISTIC),
                crate::text::number::number(n.reference_std, STATISTIC)
            )
        }),
        S::Chi2PValue => column.categorical.as_ref().and_then(|c| {
            Some(format!(
                "statistic {}, df {}",
                crate::text::number::number(c.chi2_statistic?, STATISTIC),
                c.chi2_df?
            ))
        }),
        S::Linf => column
            .categorical
            .as_ref()
            .map(|c| format!("at level {}", c.linf_level)),
        S::Unseen => column.unseen.as_ref().filter(|u| u.levels > 0).map(|u| {
            format!(
                "{} level{}, {} value{}: {}",
                u.levels,
                plural(u.levels),
                thousands(u.count),
                plural(u.count as usize),
                u.examples.join(", ")
            )
        }),
        S::Psi | S::JsDistance | S::KsStatistic => None,
    };
    details.map_or(String::new(), |d| format!(" ({d})"))
}

/// The readable report: per file a summary line, then one line per finding.
fn human(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let errors = report.count(Level::Error);
        let warnings = report.count(Level::Warning);
        let verdict = if errors == 0 { "ok" } else { "FAILED" };
        out.push_str(&format!(
            "{}: {} rows, {} columns — {verdict}: {errors} violation{}, {warnings} warning{}\n",
            report.path,
            thousands(report.rows),
            report.columns,
            plural(errors),
            plural(warnings),
        ));
        for v in &report.violations {
            out.push_str(&format!("  {}\n", line(v)));
        }
    }
    out
}

fn line(v: &Violation) -> String {
    let level = match v.level {
        Level::Error => "error  ",
        Level::Warning => "warning",
    };
    let mut s = format!(
        "{level} {:<20} {:<18} observed {} (threshold {})",
        v.column.as_deref().unwrap_or("(table)"),
        v.rule,
        text(&v.observed),
        text(&v.threshold),
    );
    if v.count > 0 {
        s.push_str(&format!(
            ", {} row{}",
            thousands(v.count),
            plural(v.count as usize)
        ));
    }
    if !v.examples.is_empty() {
        s.push_str(&format!(", e.g. {}", v.examples.join(", ")));
    }
    s
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}
