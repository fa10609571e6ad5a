//! The merge gate: a policy read from the report, turned into a verdict that
//! is written into the report (the report owns what a verdict is; the gate
//! decides it). Every condition evaluated is listed with its value and
//! threshold.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::report::{Condition, FindingKind, Level, Report, Verdict};
use crate::yaml_span::SettingError;

/// The `gate:` section: conditions that fail the run (exit code 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// The final score must be at least this.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Per-section minimums: `data`, `model`, `infra`, `monitor`.
    #[serde(default)]
    pub min_section: BTreeMap<String, f64>,
    /// The final score and no section may drop below the base revision's.
    #[serde(default)]
    pub no_score_drop: bool,
    /// Every metric policy must pass. Default: true.
    #[serde(default = "yes")]
    pub metrics: bool,
    /// No finding of level error (a failing probe). Default: true.
    #[serde(default = "yes")]
    pub no_errors: bool,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            min_score: None,
            min_section: BTreeMap::new(),
            no_score_drop: false,
            metrics: true,
            no_errors: true,
        }
    }
}

fn yes() -> bool {
    true
}

impl GateConfig {
    /// Checks the bounds serde cannot; paths are relative to `gate:`.
    pub fn validate(&self) -> Result<(), SettingError> {
        for (section, minimum) in &self.min_section {
            if !crate::rubric::Section::RUBRIC
                .iter()
                .any(|s| s.id() == section.as_str())
            {
                return Err(SettingError::at(
                    &["min_section", section],
                    format!("gate.min_section: `{section}` is not a section"),
                    "unknown section",
                    "the sections are data, model, infra and monitor",
                ));
            }
            if !(0.0..=7.0).contains(minimum) {
                return Err(SettingError::at(
                    &["min_section", section],
                    format!("gate.min_section.{section}: {minimum} is outside 0 … 7"),
                    "out of range",
                    "a section scores 0 to 7",
                ));
            }
        }
        if let Some(min) = self.min_score {
            if !(0.0..=7.0).contains(&min) {
                return Err(SettingError::at(
                    &["min_score"],
                    format!("gate.min_score: {min} is outside 0 … 7"),
                    "out of range",
                    "the final score is the lowest section, 0 to 7",
                ));
            }
        }
        Ok(())
    }
}

/// The gate's conditions, from mlscore.yaml and overriding flags.
#[derive(Debug, Clone, Default)]
pub struct GatePolicy {
    pub min_score: Option<f64>,
    pub min_section: BTreeMap<String, f64>,
    pub no_score_drop: bool,
    pub metrics: bool,
    pub no_errors: bool,
    /// Report the verdict but always exit 0.
    pub advisory: bool,
}

impl GatePolicy {
    /// The policy of a config file.
    pub fn from_config(config: &GateConfig) -> GatePolicy {
        GatePolicy {
            min_score: config.min_score,
            min_section: config.min_section.clone(),
            no_score_drop: config.no_score_drop,
            metrics: config.metrics,
            no_errors: config.no_errors,
            advisory: false,
        }
    }
}

/// Evaluates the policy against a report.
pub fn evaluate(report: &Report, policy: &GatePolicy) -> Verdict {
    let mut conditions = Vec::new();
    let score = report.score.final_score;
    if let Some(min) = policy.min_score {
        conditions.push(Condition {
            name: "min_score".into(),
            passed: score >= min,
            value: crate::text::number::points(score),
            threshold: format!("≥ {}", crate::text::number::points(min)),
            message: format!(
                "final score {} must be at least {}",
                crate::text::number::points(score),
                crate::text::number::points(min)
            ),
        });
    }
    for (section, min) in &policy.min_section {
        let Some(found) = report.sections.iter().find(|s| s.section.id() == section) else {
            continue;
        };
        conditions.push(Condition {
            name: format!("min_section.{section}"),
            passed: found.score >= *min,
            value: crate::text::number::points(found.score),
            threshold: format!("≥ {}", crate::text::number::points(*min)),
            message: format!(
                "{} section {} must be at least {}",
                found.title,
                crate::text::number::points(found.score),
                crate::text::number::points(*min)
            ),
        });
    }
    if policy.no_score_drop {
        match &report.base {
            Some(base) => {
                conditions.push(Condition {
                    name: "no_score_drop".into(),
                    passed: score >= base.score,
                    value: crate::text::number::points(score),
                    threshold: format!("≥ {} (base)", crate::text::number::points(base.score)),
                    message: format!(
                        "final score {} must not drop below the base's {}",
                        crate::text::number::points(score),
                        crate::text::number::points(base.score)
                    ),
                });
                for section in &report.sections {
                    if let Some(before) =
                        base.sections.iter().find(|s| s.section == section.section)
                    {
                        if section.score < before.score {
                            conditions.push(Condition {
                                name: format!("no_score_drop.{}", section.section.id()),
                                passed: false,
                                value: crate::text::number::points(section.score),
                                threshold: format!(
                                    "≥ {} (base)",
                                    crate::text::number::points(before.score)
                                ),
                                message: format!(
                                    "{} section dropped from {} to {}",
                                    section.title,
                                    crate::text::number::points(before.score),
                                    crate::text::number::points(section.score)
                                ),
                            });
                        }
                    }
                }
            }
            None => conditions.push(Condition {
                name: "no_score_drop".into(),
                passed: true,
                value: crate::text::number::points(score),
                threshold: "no base revision".into(),
                message: "no base revision was given (--base), so there is nothing to compare"
                    .into(),
            }),
        }
    }
    if policy.metrics {
        for row in report.metrics.iter().filter(|r| !r.checks.is_empty()) {
            let failed = row.failures();
            let shown = row
                .head
                .as_ref()
                .map(|v| v.display())
                .unwrap_or_else(|| "missing".into());
            conditions.push(Condition {
                name: format!("metric:{}:{}", row.file, row.name),
                passed: failed.is_empty(),
                value: shown,
                threshold: row
                    .checks
                    .iter()
                    .map(|c| match c.threshold {
                        Some(t) if c.rule == "max_regression_pct" => {
                            format!("{} {}%", c.rule, crate::metrics::value::format_number(t))
                        }
                        Some(t) => {
                            format!("{} {}", c.rule, crate::metrics::value::format_number(t))
                        }
                        None => c.rule.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                message: if failed.is_empty() {
                    format!("{} meets its policy", row.name)
                } else {
                    format!("{} fails its policy: {}", row.name, failed.join("; "))
                },
            });
        }
    }
    if policy.no_errors {
        // Failing metrics are conditions of their own above; count the rest.
        let errors = report
            .findings
            .iter()
            .filter(|f| f.level == Level::Error && f.kind != FindingKind::Metric)
            .count();
        conditions.push(Condition {
            name: "no_errors".into(),
            passed: errors == 0,
            value: errors.to_string(),
            threshold: "0".into(),
            message: format!(
                "{errors} error finding(s); failing probes and unreadable inputs are errors"
            ),
        });
    }
    let passed = conditions.iter().all(|c| c.passed);
    Verdict {
        passed,
        advisory: policy.advisory,
        conditions,
    }
}
