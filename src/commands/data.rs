//! `mlscore data infer` and `mlscore data validate`: schemas for data files.

use std::path::Path;

use crate::cli::{DataArgs, DataCommand, DataFormatArg};
use crate::error::{Error, EXIT_GATE_FAILED, EXIT_OK};
use crate::probes::data::validate::{FileReport, Level, Violation};
use crate::probes::data::{infer, schema, validate, DataError};

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
    let text = std::fs::read_to_string(schema_path).map_err(|err| DataError::Read {
        path: name.clone(),
        reason: err.to_string(),
        help: "pass the schema written by `mlscore data infer FILE -o schema.yaml`".into(),
    })?;
    let schema = schema::parse(&name, &text)?;
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
        DataFormatArg::Human => print!("{}", human(&reports)),
    }
    Ok(if failed > 0 {
        EXIT_GATE_FAILED
    } else {
        EXIT_OK
    })
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
