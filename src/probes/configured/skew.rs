//! The `skew` probe (monitor-3): training data against serving data (or a
//! recent batch), column by column, with the statistics and thresholds of
//! `mlscore data skew`.

use serde::Deserialize;

use super::{num, Context, Judgement, Probe, Unrunnable};
use crate::probes::data::skew::{
    self as data_skew, ColumnVerdict, DriftWhen, SkewThresholds, Threshold,
};

/// `probes.skew[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The training data, or another reference.
    pub reference: String,
    /// What the model sees in serving: logged requests, a recent sample.
    pub current: String,
    /// A data schema: compare only its columns, with their `skew:` thresholds.
    #[serde(default)]
    pub schema: Option<String>,
    /// Thresholds for every column (a schema's own `skew:` blocks win).
    #[serde(default)]
    pub thresholds: Option<SkewThresholds>,
}

impl Probe for SkewProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "training against serving data",
        "{reference: {dataset}, current: data/serving_sample.csv}",
    ));
    const EXAMPLE: &'static str = "probes:\n  skew:\n    - reference: data/train.parquet\n      current: logs/serving_sample.parquet\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        format!("{} vs {}", self.reference, self.current)
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let thresholds = self.thresholds.unwrap_or(SkewThresholds::UNSET);
        thresholds
            .check()
            .map_err(|err| Unrunnable::new(format!("thresholds.{err}"), err.help.clone()))?;
        let reference = ctx.resolve_one(&self.reference)?;
        let current = ctx.resolve_one(&self.current)?;
        let schema = match &self.schema {
            Some(pattern) => {
                let file = ctx.resolve_one(pattern)?;
                let text = crate::repo::read_text_file(&ctx.path(&file)?).map_err(|err| {
                    Unrunnable::new(format!("cannot read {file}: {err}"), "check the path")
                        .at(&file)
                })?;
                Some(crate::probes::data::schema::parse(&file, &text)?)
            }
            None => None,
        };
        let report = data_skew::skew(
            &ctx.path(&reference)?,
            &ctx.path(&current)?,
            schema.as_ref(),
            &thresholds,
        )
        .map_err(|err| {
            let mut u = Unrunnable::from(err);
            let root = format!("{}/", ctx.root.display());
            u.message = u.message.replace(&root, "");
            u
        })?;
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        for column in &report.columns {
            let stats: Vec<String> = column
                .statistics
                .iter()
                .map(|s| {
                    let limit = match (s.threshold, s.drift_when) {
                        (Threshold::Off, _) => "not judged".to_string(),
                        (Threshold::Limit(l), DriftWhen::Below) => format!("min {}", num(l)),
                        (Threshold::Limit(l), DriftWhen::Above) => format!("max {}", num(l)),
                    };
                    let mark = if s.drifted { " ✗" } else { "" };
                    format!("{} {}{mark} ({limit})", s.statistic.key(), num(s.value))
                })
                .collect();
            let verdict = match column.verdict {
                ColumnVerdict::Stable => "stable",
                ColumnVerdict::Drifted => "drifted",
                ColumnVerdict::Missing => "missing from the current file",
                ColumnVerdict::New => "only in the current file",
                ColumnVerdict::Empty => "no usable values on one side",
                ColumnVerdict::Skipped => "not compared",
            };
            let mut line = format!("{}: {verdict}", column.column);
            if !stats.is_empty() {
                line.push_str(&format!(" — {}", stats.join(", ")));
            }
            if let Some(unseen) = column.unseen.as_ref().filter(|u| u.levels > 0) {
                line.push_str(&format!(
                    "; {} unseen level{} in {} values, e.g. {}",
                    unseen.levels,
                    if unseen.levels == 1 { "" } else { "s" },
                    super::share(unseen.count, column.values.current),
                    unseen.examples.join(", ")
                ));
            }
            if column.failed {
                failures.push(line);
            } else {
                notes.push(line);
            }
        }
        let s = report.summary;
        let summary = format!(
            "{current} against {reference}: {} column{} compared, {}",
            s.compared,
            if s.compared == 1 { "" } else { "s" },
            if s.failed == 0 {
                "no drift".to_string()
            } else {
                format!(
                    "{} drifted{}",
                    s.drifted,
                    if s.failed > s.drifted {
                        format!(", {} missing or empty", s.failed - s.drifted)
                    } else {
                        String::new()
                    }
                )
            }
        );
        Ok(Judgement::from_lists(
            summary,
            failures,
            notes,
            Some(current),
        ))
    }
}
