//! The `fairness` probe (model-7): whether the model treats the groups of a
//! sensitive attribute alike, from a predictions file.
//!
//! - Demographic parity difference: the largest gap between two groups' rates
//!   of positive predictions (selection rates).
//! - Equal opportunity difference: the largest gap between two groups' true
//!   positive rates (recall on the truly positive rows).
//!
//! Both are 0 for a model that treats the groups alike; both follow
//! fairlearn's definitions (`demographic_parity_difference`,
//! `equal_opportunity_difference`).

use serde::Deserialize;

use super::predictions::{self, GroupCounts, PredictionColumns};
use super::{num, Context, Judgement, Probe, Unrunnable};

/// `probes.fairness[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FairnessProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The predictions file: one row per evaluation example.
    pub predictions: String,
    #[serde(default = "predictions::default_label")]
    pub label: String,
    #[serde(default = "predictions::default_prediction")]
    pub prediction: String,
    /// The favourable outcome (a loan approved, a job ad shown). Default: 1.
    #[serde(default)]
    pub positive: Option<serde_yaml::Value>,
    /// The sensitive attributes, each judged on its own (`gender`, `age_band`).
    pub sensitive: Vec<String>,
    /// Default: 0.1.
    #[serde(default = "tenth")]
    pub max_demographic_parity_difference: f64,
    /// Default: 0.1.
    #[serde(default = "tenth")]
    pub max_equal_opportunity_difference: f64,
    /// Groups with fewer rows are listed but not compared. Default: 30.
    #[serde(default = "thirty")]
    pub min_rows: u64,
}

fn tenth() -> f64 {
    0.1
}

fn thirty() -> u64 {
    30
}

/// The lowest and the highest group on one metric.
struct Spread<'a> {
    low: (&'a str, f64),
    high: (&'a str, f64),
}

impl Spread<'_> {
    fn gap(&self) -> f64 {
        self.high.1 - self.low.1
    }
}

/// The groups with the lowest and the highest value, when any has one.
fn spread(
    groups: &[GroupCounts],
    value: impl Fn(&GroupCounts) -> Option<f64>,
) -> Option<Spread<'_>> {
    let values: Vec<(&str, f64)> = groups
        .iter()
        .filter_map(|g| value(g).map(|v| (g.group.as_str(), v)))
        .collect();
    let low = values.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let high = values.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Spread { low, high })
}

impl Probe for FairnessProbe {
    const EXAMPLE: &'static str = "probes:\n  fairness:\n    - predictions: reports/predictions.csv\n      sensitive: [gender]\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        format!("{} across {}", self.predictions, self.sensitive.join(", "))
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        if self.sensitive.is_empty() {
            return Err(Unrunnable::new(
                "sensitive is empty",
                "name the sensitive attribute columns, e.g. `sensitive: [gender]`",
            ));
        }
        let columns = PredictionColumns {
            predictions: &self.predictions,
            label: &self.label,
            prediction: &self.prediction,
            positive: self.positive.as_ref(),
        };
        let predictions::Counts { file, groups, .. } =
            predictions::counts(ctx, &columns, &self.sensitive, true)?;
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        let mut worst = 0.0f64;
        for (attribute, all) in &groups {
            let (judged, small): (Vec<GroupCounts>, Vec<GroupCounts>) =
                all.iter().cloned().partition(|g| g.rows >= self.min_rows);
            for g in &small {
                notes.push(format!(
                    "{attribute}={}: {} rows, under min_rows {}: not compared",
                    g.group, g.rows, self.min_rows
                ));
            }
            if judged.len() < 2 {
                notes.push(format!(
                    "{attribute}: fewer than two groups with {} rows or more; nothing to compare",
                    self.min_rows
                ));
                continue;
            }
            for (metric, limit, value) in [
                (
                    "demographic parity difference",
                    self.max_demographic_parity_difference,
                    &GroupCounts::selection_rate as &dyn Fn(&GroupCounts) -> Option<f64>,
                ),
                (
                    "equal opportunity difference",
                    self.max_equal_opportunity_difference,
                    &GroupCounts::recall,
                ),
            ] {
                let Some(found) = spread(&judged, value) else {
                    notes.push(format!("{attribute}: {metric} undefined (no positives)"));
                    continue;
                };
                let (gap, (low, lv), (high, hv)) = (found.gap(), found.low, found.high);
                worst = worst.max(gap);
                let line = format!(
                    "{attribute}: {metric} {} (max {}); {high} {} vs {low} {}",
                    num(gap),
                    num(limit),
                    num(hv),
                    num(lv)
                );
                if gap > limit {
                    failures.push(line);
                } else {
                    notes.push(line);
                }
            }
        }
        let summary = format!(
            "{} across {}: {}",
            file,
            self.sensitive.join(", "),
            if failures.is_empty() {
                format!("largest difference {}, within limits", num(worst))
            } else {
                format!(
                    "{} difference{} over the limit",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" }
                )
            }
        );
        Ok(Judgement::from_lists(summary, failures, notes, Some(file)))
    }
}
