//! The merge gate: a policy turned into a verdict, and the verdict into an
//! exit code. Every condition evaluated is listed with its value and threshold.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::GateConfig;
use crate::report::{FindingKind, Level, Report};

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

/// One condition of the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// Stable name: `min_score`, `min_section.data`, `no_score_drop`, `metric:<file>:<name>`, `no_errors`.
    pub name: String,
    pub passed: bool,
    /// The observed value, as shown.
    pub value: String,
    /// The threshold, as shown.
    pub threshold: String,
    /// A sentence for the reader.
    pub message: String,
}

/// The gate's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// When true the exit code is 0 whatever `passed` says.
    pub advisory: bool,
    pub conditions: Vec<Condition>,
}

impl Verdict {
    /// The process exit code the verdict asks for.
    pub fn exit_code(&self) -> i32 {
        if self.passed || self.advisory {
            crate::error::EXIT_OK
        } else {
            crate::error::EXIT_GATE_FAILED
        }
    }
}

fn pts(v: f64) -> String {
    crate::report::human::points(v)
}

/// Evaluates the policy against a report.
pub fn evaluate(report: &Report, policy: &GatePolicy) -> Verdict {
    let mut conditions = Vec::new();
    let score = report.score.final_score;
    if let Some(min) = policy.min_score {
        conditions.push(Condition {
            name: "min_score".into(),
            passed: score >= min,
            value: pts(score),
            threshold: format!("≥ {}", pts(min)),
            message: format!("final score {} must be at least {}", pts(score), pts(min)),
        });
    }
    for (section, min) in &policy.min_section {
        let Some(found) = report.sections.iter().find(|s| s.section.id() == section) else {
            continue;
        };
        conditions.push(Condition {
            name: format!("min_section.{section}"),
            passed: found.score >= *min,
            value: pts(found.score),
            threshold: format!("≥ {}", pts(*min)),
            message: format!(
                "{} section {} must be at least {}",
                found.title,
                pts(found.score),
                pts(*min)
            ),
        });
    }
    if policy.no_score_drop {
        match &report.base {
            Some(base) => {
                conditions.push(Condition {
                    name: "no_score_drop".into(),
                    passed: score >= base.score,
                    value: pts(score),
                    threshold: format!("≥ {} (base)", pts(base.score)),
                    message: format!(
                        "final score {} must not drop below the base's {}",
                        pts(score),
                        pts(base.score)
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
                                value: pts(section.score),
                                threshold: format!("≥ {} (base)", pts(before.score)),
                                message: format!(
                                    "{} section dropped from {} to {}",
                                    section.title,
                                    pts(before.score),
                                    pts(section.score)
                                ),
                            });
                        }
                    }
                }
            }
            None => conditions.push(Condition {
                name: "no_score_drop".into(),
                passed: true,
                value: pts(score),
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
