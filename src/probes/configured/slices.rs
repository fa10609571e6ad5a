//! The `slices` probe (model-6): the model's quality on every slice of the
//! evaluation data, from a predictions file. Each slice must reach a floor and
//! may not trail the overall value by more than a gap.

use serde::Deserialize;

use super::predictions::{self, GroupCounts, PredictionColumns};
use super::{num, Context, Judgement, Probe, Unrunnable};

/// The metric computed per slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceMetric {
    Accuracy,
    ErrorRate,
    Precision,
    Recall,
    F1,
    Mae,
    Rmse,
}

impl SliceMetric {
    fn name(self) -> &'static str {
        match self {
            SliceMetric::Accuracy => "accuracy",
            SliceMetric::ErrorRate => "error_rate",
            SliceMetric::Precision => "precision",
            SliceMetric::Recall => "recall",
            SliceMetric::F1 => "f1",
            SliceMetric::Mae => "mae",
            SliceMetric::Rmse => "rmse",
        }
    }

    fn higher_is_better(self) -> bool {
        !matches!(
            self,
            SliceMetric::ErrorRate | SliceMetric::Mae | SliceMetric::Rmse
        )
    }

    fn needs_positive(self) -> bool {
        matches!(
            self,
            SliceMetric::Precision | SliceMetric::Recall | SliceMetric::F1
        )
    }

    fn of(self, c: &GroupCounts) -> Option<f64> {
        match self {
            SliceMetric::Accuracy => c.accuracy(),
            SliceMetric::ErrorRate => c.accuracy().map(|a| 1.0 - a),
            SliceMetric::Precision => c.precision(),
            SliceMetric::Recall => c.recall(),
            SliceMetric::F1 => c.f1(),
            SliceMetric::Mae => c.mae(),
            SliceMetric::Rmse => c.rmse(),
        }
    }
}

/// `probes.slices[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlicesProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The predictions file: one row per evaluation example.
    pub predictions: String,
    #[serde(default = "predictions::default_label")]
    pub label: String,
    #[serde(default = "predictions::default_prediction")]
    pub prediction: String,
    /// The positive class for precision, recall and F1.
    #[serde(default)]
    pub positive: Option<serde_yaml::Value>,
    /// The columns whose values define the slices (`country`, `device`).
    pub slice_by: Vec<String>,
    /// What to compute per slice. Default: accuracy.
    #[serde(default = "accuracy")]
    pub metric: SliceMetric,
    /// Every slice must reach this (for error_rate, mae and rmse: stay under it).
    #[serde(default)]
    pub min: Option<f64>,
    /// Every slice must stay at or under this.
    #[serde(default)]
    pub max: Option<f64>,
    /// No slice may be worse than the overall value by more than this.
    #[serde(default)]
    pub max_gap: Option<f64>,
    /// Slices with fewer rows are listed but not judged. Default: 30.
    #[serde(default = "thirty")]
    pub min_rows: u64,
}

fn accuracy() -> SliceMetric {
    SliceMetric::Accuracy
}

fn thirty() -> u64 {
    30
}

impl Probe for SlicesProbe {
    const EXAMPLE: &'static str = "probes:\n  slices:\n    - predictions: reports/predictions.csv\n      slice_by: [country]\n      min: 0.8\n      max_gap: 0.05\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        format!("{} by {}", self.predictions, self.slice_by.join(", "))
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        if self.min.is_none() && self.max.is_none() && self.max_gap.is_none() {
            return Err(Unrunnable::new(
                "the slices probe has no threshold",
                "set `min` (or `max` for error metrics) and/or `max_gap`",
            ));
        }
        if self.slice_by.is_empty() {
            return Err(Unrunnable::new(
                "slice_by is empty",
                "name the columns that define slices, e.g. `slice_by: [country]`",
            ));
        }
        let metric = self.metric;
        let columns = PredictionColumns {
            predictions: &self.predictions,
            label: &self.label,
            prediction: &self.prediction,
            positive: self.positive.as_ref(),
        };
        let predictions::Counts {
            file,
            overall,
            groups,
        } = predictions::counts(ctx, &columns, &self.slice_by, metric.needs_positive())?;
        let Some(overall_value) = metric.of(&overall) else {
            return Err(Unrunnable::new(
                format!("{file}: {} is undefined on the whole file (no rows with both a label and a prediction, or no positives)", metric.name()),
                "check the label and prediction columns",
            )
            .at(&file));
        };
        let better = |a: f64, b: f64| {
            if metric.higher_is_better() {
                a - b
            } else {
                b - a
            }
        };
        let mut failures = Vec::new();
        let mut notes = vec![format!(
            "overall {} {} on {} rows",
            metric.name(),
            num(overall_value),
            overall.rows
        )];
        let mut judged = 0;
        let mut worst: Option<(String, f64)> = None;
        for (column, slices) in &groups {
            for slice in slices {
                let what = format!("{column}={}", slice.group);
                let Some(value) = metric.of(slice) else {
                    notes.push(format!(
                        "{what}: {} undefined ({} rows)",
                        metric.name(),
                        slice.rows
                    ));
                    continue;
                };
                if slice.rows < self.min_rows {
                    notes.push(format!(
                        "{what}: {} {} on {} rows, under min_rows {}: not judged",
                        metric.name(),
                        num(value),
                        slice.rows,
                        self.min_rows
                    ));
                    continue;
                }
                judged += 1;
                if worst.as_ref().is_none_or(|(_, w)| better(value, *w) < 0.0) {
                    worst = Some((what.clone(), value));
                }
                let mut broken = Vec::new();
                let (floor, ceiling) = if metric.higher_is_better() {
                    (self.min, self.max)
                } else {
                    (None, self.max.or(self.min))
                };
                if let Some(floor) = floor.filter(|f| value < *f) {
                    broken.push(format!("below min {}", num(floor)));
                }
                if let Some(ceiling) = ceiling.filter(|c| value > *c) {
                    broken.push(format!("above max {}", num(ceiling)));
                }
                let gap = -better(value, overall_value);
                if let Some(max_gap) = self.max_gap.filter(|g| gap > *g) {
                    broken.push(format!(
                        "trails overall {} by {}, over max_gap {}",
                        num(overall_value),
                        num(gap),
                        num(max_gap)
                    ));
                }
                let line = format!(
                    "{what}: {} {} on {} rows",
                    metric.name(),
                    num(value),
                    slice.rows
                );
                if broken.is_empty() {
                    notes.push(line);
                } else {
                    failures.push(format!("{line}: {}", broken.join("; ")));
                }
            }
        }
        let summary = format!(
            "{} {} on {judged} slice{} of {file} (overall {}{}): {}",
            metric.name(),
            if metric.higher_is_better() {
                "floor"
            } else {
                "ceiling"
            },
            if judged == 1 { "" } else { "s" },
            num(overall_value),
            worst
                .map(|(w, v)| format!(", worst {w} {}", num(v)))
                .unwrap_or_default(),
            if failures.is_empty() {
                "every slice passes".to_string()
            } else {
                format!(
                    "{} slice{} fail{}",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" },
                    if failures.len() == 1 { "s" } else { "" }
                )
            }
        );
        Ok(Judgement::from_lists(summary, failures, notes, Some(file)))
    }
}
