//! The `stability` probe (monitor-5): NaN and infinite values in the model's
//! predictions and metrics, the mark of a numerically unstable model.

use polars::prelude::*;
use serde::Deserialize;

use super::{frame, share, Context, Judgement, Probe, Unrunnable};

/// `probes.stability[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// Predictions files (CSV/TSV, Parquet, NDJSON) and metric files (JSON,
    /// YAML, TOML): paths or globs.
    #[serde(deserialize_with = "super::paths")]
    pub files: Vec<String>,
    /// Columns of the data files to check; default: every float column.
    #[serde(default)]
    pub columns: Vec<String>,
}

impl StabilityProbe {
    fn check_data(
        &self,
        ctx: &Context<'_>,
        file: &str,
        failures: &mut Vec<String>,
        notes: &mut Vec<String>,
    ) -> Result<u64, Unrunnable> {
        let path = ctx.path(file)?;
        let mut lazy = crate::probes::data::read::scan(&path)?;
        let schema = crate::probes::data::read::columns(&path, &mut lazy)?;
        for wanted in &self.columns {
            if schema.get(wanted).is_none() {
                return Err(Unrunnable::new(
                    format!("{file} has no column `{wanted}`"),
                    format!(
                        "the columns are: {}",
                        schema
                            .iter_names()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at(file));
            }
        }
        let checked: Vec<String> = schema
            .iter()
            .filter(|(n, t)| {
                t.is_float()
                    && (self.columns.is_empty() || self.columns.iter().any(|c| c == n.as_str()))
            })
            .map(|(n, _)| n.to_string())
            .collect();
        for wanted in &self.columns {
            if !checked.contains(wanted) {
                notes.push(format!(
                    "{file}: `{wanted}` is not a float column, so it holds no NaN or infinity"
                ));
            }
        }
        let mut exprs = vec![len().alias("rows")];
        for (i, name) in checked.iter().enumerate() {
            exprs.push(
                col(name.as_str())
                    .is_nan()
                    .cast(DataType::UInt64)
                    .sum()
                    .alias(format!("nan{i}")),
            );
            exprs.push(
                col(name.as_str())
                    .is_infinite()
                    .cast(DataType::UInt64)
                    .sum()
                    .alias(format!("inf{i}")),
            );
        }
        let stats = frame::collect(file, lazy.select(exprs))?;
        let count = |alias: &str| frame::scalar(&stats, alias).extract::<u64>().unwrap_or(0);
        let rows = count("rows");
        let mut bad = Vec::new();
        for (i, name) in checked.iter().enumerate() {
            let (nan, inf) = (count(&format!("nan{i}")), count(&format!("inf{i}")));
            if nan > 0 {
                bad.push(format!("{name}: NaN in {}", share(nan, rows)));
            }
            if inf > 0 {
                bad.push(format!("{name}: ±infinity in {}", share(inf, rows)));
            }
        }
        if bad.is_empty() {
            notes.push(format!(
                "{file}: {} float column{} over {rows} rows, all finite",
                checked.len(),
                if checked.len() == 1 { "" } else { "s" }
            ));
        } else {
            failures.push(format!("{file}: {}", bad.join("; ")));
        }
        Ok(rows * checked.len() as u64)
    }
}

impl Probe for StabilityProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "NaN or infinity in predictions and metrics",
        "{files: [{metrics}]}",
    ));
    const EXAMPLE: &'static str =
        "probes:\n  stability:\n    - files: [reports/predictions.csv, reports/metrics.json]\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        self.files.join(", ")
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let mut files = Vec::new();
        for pattern in &self.files {
            files.extend(ctx.resolve(pattern)?);
        }
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        let mut values = 0u64;
        for file in &files {
            if crate::probes::data::read::DataFormat::of(std::path::Path::new(file)).is_some()
                && !is_metrics_name(file)
            {
                values += self.check_data(ctx, file, &mut failures, &mut notes)?;
            } else {
                let (file, metrics) = ctx.metrics(file)?;
                let bad: Vec<String> = metrics
                    .iter()
                    .filter_map(|(k, v)| v.as_number().filter(|n| !n.is_finite()).map(|n| (k, n)))
                    .map(|(k, n)| format!("{k} = {}", super::num(n)))
                    .collect();
                values += metrics.len() as u64;
                if bad.is_empty() {
                    notes.push(format!("{file}: {} metrics, all finite", metrics.len()));
                } else {
                    failures.push(format!("{file}: {}", bad.join(", ")));
                }
            }
        }
        let summary = format!(
            "{values} values in {} file{}: {}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            if failures.is_empty() {
                "no NaN or infinity".to_string()
            } else {
                format!("NaN or infinity in {}", failures.len())
            }
        );
        Ok(Judgement::from_lists(
            summary,
            failures,
            notes,
            files.first().cloned(),
        ))
    }
}

/// A `.csv` or `.tsv` named like a metrics file (`metrics.csv`) is read as
/// metrics (its last row), not as a predictions table.
fn is_metrics_name(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    name.contains("metric") || name.contains("score")
}
