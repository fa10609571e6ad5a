//! The `baseline` probe (model-5): the model beats a simpler model on the
//! metrics that matter, read from the metric files both write.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{num, Context, Judgement, Probe, Unrunnable};
use crate::metrics::Direction;

/// `probes.baseline[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The model's metrics file.
    pub model: String,
    /// The simpler model's metrics file (a linear model, a heuristic, the
    /// majority class), evaluated on the same data.
    pub baseline: String,
    /// The metrics to compare, each with the direction that is better:
    /// `{accuracy: higher, log_loss: lower}`.
    pub metrics: BTreeMap<String, Direction>,
    /// How much better the model must be, in the metric's units. Default: 0
    /// (at least as good).
    #[serde(default)]
    pub min_margin: f64,
}

impl Probe for BaselineProbe {
    const EXAMPLE: &'static str = "probes:\n  baseline:\n    - model: reports/metrics.json\n      baseline: reports/baseline_metrics.json\n      metrics: {auc: higher}\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        format!("{} vs {}", self.model, self.baseline)
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        if self.metrics.is_empty() {
            return Err(Unrunnable::new(
                "baseline: no metrics to compare",
                "list them with their direction, e.g. `metrics: {accuracy: higher}`",
            ));
        }
        let (model_file, model) = ctx.metrics(&self.model)?;
        let (baseline_file, baseline) = ctx.metrics(&self.baseline)?;
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        for (metric, direction) in &self.metrics {
            let value = |set: &BTreeMap<String, crate::metrics::MetricValue>, file: &str| {
                set.get(metric).and_then(|v| v.as_number()).ok_or_else(|| {
                    let known: Vec<&str> = set.keys().map(String::as_str).take(12).collect();
                    Unrunnable::new(
                        format!("{file} has no numeric metric `{metric}`"),
                        format!("its metrics are: {}", known.join(", ")),
                    )
                    .at(file)
                })
            };
            let m = value(&model, &model_file)?;
            let b = value(&baseline, &baseline_file)?;
            let margin = match direction {
                Direction::Higher => m - b,
                Direction::Lower => b - m,
            };
            let line = format!(
                "{metric} ({} is better): model {}, baseline {}, margin {} (min {})",
                match direction {
                    Direction::Higher => "higher",
                    Direction::Lower => "lower",
                },
                num(m),
                num(b),
                num(margin),
                num(self.min_margin)
            );
            if margin.is_nan() || margin < self.min_margin {
                failures.push(line);
            } else {
                notes.push(line);
            }
        }
        let summary = format!(
            "{model_file} against {baseline_file} on {} metric{}: {}",
            self.metrics.len(),
            if self.metrics.len() == 1 { "" } else { "s" },
            if failures.is_empty() {
                "the model beats the baseline".to_string()
            } else {
                format!("the baseline is as good or better on {}", failures.len())
            }
        );
        Ok(Judgement::from_lists(
            summary,
            failures,
            notes,
            Some(model_file),
        ))
    }
}
