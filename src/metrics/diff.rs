//! Base-versus-head comparison of metrics, and the policies that judge it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::policy::{Direction, MetricPolicy};
use super::value::MetricValue;

/// How a metric changed between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
    Unchanged,
}

/// One policy condition evaluated on one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyCheck {
    /// `min`, `max`, `max_regression`, `max_regression_pct` or `finite`.
    pub rule: &'static str,
    /// The threshold from the policy (absent for `finite`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The observed value the rule compared (absent when not a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    pub passed: bool,
    /// A sentence saying what was compared.
    pub message: String,
}

/// One metric's row of the diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// The metrics file, repository-relative.
    pub file: String,
    /// The dotted metric name inside the file.
    pub name: String,
    pub base: Option<MetricValue>,
    pub head: Option<MetricValue>,
    pub change: Change,
    /// head − base, when both are finite numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs_change: Option<f64>,
    /// (head − base) / |base|, when both are finite numbers and base ≠ 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel_change: Option<f64>,
    /// The direction of the policy that applies, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Whether the change goes the wrong way (beyond the noise floor).
    pub regressed: bool,
    /// The policy conditions evaluated; empty without a policy.
    pub checks: Vec<PolicyCheck>,
}

impl MetricRow {
    /// Whether every policy condition passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The messages of the policy conditions that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.message.as_str())
            .collect()
    }
}

/// Compares two flattened metric sets of one file.
pub fn diff_file(
    file: &str,
    base: &BTreeMap<String, MetricValue>,
    head: &BTreeMap<String, MetricValue>,
    policy_for: &dyn Fn(&str, &str) -> Option<MetricPolicy>,
) -> Vec<MetricRow> {
    let mut names: Vec<&String> = base.keys().chain(head.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            row(
                file,
                name,
                base.get(name),
                head.get(name),
                policy_for(file, name).as_ref(),
            )
        })
        .collect()
}

fn row(
    file: &str,
    name: &str,
    base: Option<&MetricValue>,
    head: Option<&MetricValue>,
    policy: Option<&MetricPolicy>,
) -> MetricRow {
    let noise = policy.and_then(|p| p.noise).unwrap_or(0.0);
    let numbers = match (
        base.and_then(MetricValue::as_number),
        head.and_then(MetricValue::as_number),
    ) {
        (Some(b), Some(h)) if b.is_finite() && h.is_finite() => Some((b, h)),
        _ => None,
    };
    let change = match (base, head) {
        (None, Some(_)) => Change::Added,
        (Some(_), None) => Change::Removed,
        (None, None) => Change::Unchanged,
        (Some(b), Some(h)) => match numbers {
            Some((b, h)) if (h - b).abs() <= noise => Change::Unchanged,
            Some(_) => Change::Changed,
            // NaN equals NaN here: a metric that stays NaN did not change.
            None if same(b, h) => Change::Unchanged,
            None => Change::Changed,
        },
    };
    let abs_change = numbers.map(|(b, h)| h - b);
    let rel_change = numbers
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, h)| (h - b) / b.abs());
    let direction = policy.and_then(|p| p.direction);
    let worse = |delta: f64| match direction {
        Some(Direction::Higher) => -delta,
        Some(Direction::Lower) => delta,
        None => 0.0,
    };
    let regressed = change == Change::Changed && abs_change.is_some_and(|d| worse(d) > 0.0);
    let checks = policy
        .map(|p| {
            evaluate(
                p,
                head,
                numbers,
                abs_change.map(worse),
                rel_change.map(worse),
            )
        })
        .unwrap_or_default();
    MetricRow {
        file: file.to_string(),
        name: name.to_string(),
        base: base.cloned(),
        head: head.cloned(),
        change,
        abs_change,
        rel_change,
        direction,
        regressed,
        checks,
    }
}

fn same(a: &MetricValue, b: &MetricValue) -> bool {
    match (a.as_number(), b.as_number()) {
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// Evaluates a policy's conditions. `worse_abs`/`worse_rel` are the change in
/// the bad direction (positive = regression).
fn evaluate(
    policy: &MetricPolicy,
    head: Option<&MetricValue>,
    numbers: Option<(f64, f64)>,
    worse_abs: Option<f64>,
    worse_rel: Option<f64>,
) -> Vec<PolicyCheck> {
    let mut checks = Vec::new();
    let value = head.and_then(MetricValue::as_number);
    let has_bounds = policy.min.is_some() || policy.max.is_some();
    match (head, value) {
        (None, _) => {
            if has_bounds || policy.required {
                checks.push(PolicyCheck {
                    rule: "present",
                    threshold: None,
                    observed: None,
                    passed: false,
                    message: "the metric is missing at head".into(),
                });
            }
            return checks;
        }
        (Some(v), None) => {
            if has_bounds || policy.direction.is_some() {
                checks.push(PolicyCheck {
                    rule: "numeric",
                    threshold: None,
                    observed: None,
                    passed: false,
                    message: format!("`{}` is not a number", v.display()),
                });
            }
            return checks;
        }
        (Some(_), Some(v)) if !v.is_finite() => {
            checks.push(PolicyCheck {
                rule: "finite",
                threshold: None,
                observed: Some(v),
                passed: false,
                message: format!("the value is {}", super::value::format_number(v)),
            });
            return checks;
        }
        _ => {}
    }
    let v = value.unwrap_or_default();
    let fmt = super::value::format_number;
    if let Some(min) = policy.min {
        checks.push(PolicyCheck {
            rule: "min",
            threshold: Some(min),
            observed: Some(v),
            passed: v >= min,
            message: format!("{} ≥ {}", fmt(v), fmt(min)),
        });
    }
    if let Some(max) = policy.max {
        checks.push(PolicyCheck {
            rule: "max",
            threshold: Some(max),
            observed: Some(v),
            passed: v <= max,
            message: format!("{} ≤ {}", fmt(v), fmt(max)),
        });
    }
    if numbers.is_some() {
        let noise = policy.noise.unwrap_or(0.0);
        if let (Some(limit), Some(worse)) = (policy.max_regression, worse_abs) {
            let worse = if worse.abs() <= noise { 0.0 } else { worse };
            checks.push(PolicyCheck {
                rule: "max_regression",
                threshold: Some(limit),
                observed: Some(worse.max(0.0)),
                passed: worse <= limit,
                message: format!("regression {} ≤ {}", fmt(worse.max(0.0)), fmt(limit)),
            });
        }
        if let (Some(limit), Some(worse)) = (policy.max_regression_pct, worse_rel) {
            let pct = worse * 100.0;
            let pct = if worse_abs.is_some_and(|a| a.abs() <= noise) {
                0.0
            } else {
                pct
            };
            checks.push(PolicyCheck {
                rule: "max_regression_pct",
                threshold: Some(limit),
                observed: Some(pct.max(0.0)),
                passed: pct <= limit,
                message: format!("regression {}% ≤ {}%", fmt(pct.max(0.0)), fmt(limit)),
            });
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(direction: Direction) -> MetricPolicy {
        MetricPolicy {
            direction: Some(direction),
            ..MetricPolicy::default()
        }
    }

    fn n(v: f64) -> MetricValue {
        MetricValue::Number(v)
    }

    #[test]
    fn classifies_added_removed_changed_unchanged() {
        let base = BTreeMap::from([
            ("a".into(), n(1.0)),
            ("b".into(), n(2.0)),
            ("c".into(), n(3.0)),
        ]);
        let head = BTreeMap::from([
            ("a".into(), n(1.0)),
            ("b".into(), n(2.5)),
            ("d".into(), n(4.0)),
        ]);
        let rows = diff_file("m.json", &base, &head, &|_, _| None);
        let changes: Vec<(&str, Change)> =
            rows.iter().map(|r| (r.name.as_str(), r.change)).collect();
        assert_eq!(
            changes,
            vec![
                ("a", Change::Unchanged),
                ("b", Change::Changed),
                ("c", Change::Removed),
                ("d", Change::Added)
            ]
        );
        assert_eq!(rows[1].abs_change, Some(0.5));
        assert_eq!(rows[1].rel_change, Some(0.25));
    }

    #[test]
    fn direction_decides_regression_and_noise_hides_jitter() {
        let p = MetricPolicy {
            noise: Some(0.001),
            max_regression: Some(0.01),
            ..policy(Direction::Higher)
        };
        let r = row("m", "auc", Some(&n(0.90)), Some(&n(0.85)), Some(&p));
        assert!(r.regressed);
        assert!(!r.passed());
        assert_eq!(r.checks[0].rule, "max_regression");
        let r = row("m", "auc", Some(&n(0.90)), Some(&n(0.8995)), Some(&p));
        assert_eq!(r.change, Change::Unchanged);
        assert!(r.passed());
        let lower = MetricPolicy {
            max_regression_pct: Some(10.0),
            ..policy(Direction::Lower)
        };
        let r = row(
            "m",
            "latency",
            Some(&n(100.0)),
            Some(&n(120.0)),
            Some(&lower),
        );
        assert!(r.regressed && !r.passed());
        assert!((r.checks[0].observed.unwrap() - 20.0).abs() < 1e-9);
        let r = row(
            "m",
            "latency",
            Some(&n(100.0)),
            Some(&n(80.0)),
            Some(&lower),
        );
        assert!(!r.regressed && r.passed());
    }

    #[test]
    fn bounds_nan_text_and_missing_metrics_fail_the_policy() {
        let p = MetricPolicy {
            min: Some(0.8),
            ..MetricPolicy::default()
        };
        assert!(!row("m", "auc", None, Some(&n(0.7)), Some(&p)).passed());
        assert!(row("m", "auc", None, Some(&n(0.9)), Some(&p)).passed());
        let nan = row("m", "auc", Some(&n(0.9)), Some(&n(f64::NAN)), Some(&p));
        assert_eq!(
            (nan.change, nan.checks[0].rule, nan.passed()),
            (Change::Changed, "finite", false)
        );
        let text = row(
            "m",
            "auc",
            Some(&n(0.9)),
            Some(&MetricValue::Text("n/a".into())),
            Some(&p),
        );
        assert_eq!(text.checks[0].rule, "numeric");
        let removed = row("m", "auc", Some(&n(0.9)), None, Some(&p));
        assert_eq!((removed.change, removed.passed()), (Change::Removed, false));
        let both_nan = row("m", "x", Some(&n(f64::NAN)), Some(&n(f64::NAN)), None);
        assert_eq!(both_nan.change, Change::Unchanged);
    }
}
