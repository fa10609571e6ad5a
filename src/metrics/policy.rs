//! The `metrics:` section of `mlscore.yaml`: which files hold metrics and the
//! policy that judges each metric's change, with their validation.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::yaml_span::SettingError;

/// The `metrics:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Metric files to read; discovered when empty and `discover` is on.
    #[serde(default)]
    pub files: Vec<MetricFileConfig>,
    /// Also read metric files found in the repository (dvc.yaml `metrics:`,
    /// `*metrics*.{json,yaml,toml,csv,tsv}`, `mlruns/`). Default: true.
    #[serde(default = "yes")]
    pub discover: bool,
    /// Policies by metric name or glob (`eval.auc`, `*.auc`, `metrics.json:loss`).
    #[serde(default)]
    pub policies: BTreeMap<String, MetricPolicy>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            discover: true,
            policies: BTreeMap::new(),
        }
    }
}

/// A metrics file: a path, or a path with the CSV column that keys its rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MetricFileConfig {
    Path(String),
    Keyed {
        path: String,
        #[serde(default)]
        key: Option<String>,
    },
}

impl MetricFileConfig {
    /// The file's path, repository-relative.
    pub fn path(&self) -> &str {
        match self {
            MetricFileConfig::Path(p) | MetricFileConfig::Keyed { path: p, .. } => p,
        }
    }

    /// The CSV key column, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            MetricFileConfig::Path(_) => None,
            MetricFileConfig::Keyed { key, .. } => key.as_deref(),
        }
    }
}

/// Which way a metric should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher is better (accuracy, AUC, throughput).
    Higher,
    /// Lower is better (loss, error, latency, memory).
    Lower,
}

/// What a metric measures, which decides the rubric test it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// Prediction quality: monitor-7 and infra-4.
    Quality,
    /// Serving or training latency: monitor-6.
    Latency,
    /// Throughput: monitor-6.
    Throughput,
    /// Memory use: monitor-6.
    Memory,
}

/// The policy of one metric (or of every metric a glob matches).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricPolicy {
    /// Which way is better; needed for the regression limits.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// The head value must be at least this.
    #[serde(default)]
    pub min: Option<f64>,
    /// The head value must be at most this.
    #[serde(default)]
    pub max: Option<f64>,
    /// The largest change in the bad direction allowed, in the metric's units.
    #[serde(default)]
    pub max_regression: Option<f64>,
    /// The largest change in the bad direction allowed, in percent of the base.
    #[serde(default)]
    pub max_regression_pct: Option<f64>,
    /// Changes this small are noise: shown as unchanged, never a regression.
    #[serde(default)]
    pub noise: Option<f64>,
    /// Fail when the metric is missing at head.
    #[serde(default)]
    pub required: bool,
    /// What the metric measures; guessed from its name when absent.
    #[serde(default)]
    pub kind: Option<MetricKind>,
}

fn yes() -> bool {
    true
}

impl MetricsConfig {
    /// Checks what serde cannot: globs compile, limits are sane, formats are
    /// known. Paths are relative to the `metrics:` section.
    pub fn validate(&self) -> Result<(), SettingError> {
        for (pattern, policy) in &self.policies {
            let at = |key: &'static str| vec!["policies", pattern.as_str(), key];
            if let Err(why) = crate::glob::compile(pattern) {
                return Err(SettingError::at(
                    &["policies", pattern],
                    format!("metrics.policies: `{pattern}` is not a valid metric name or glob ({why})"),
                    "this name",
                    "name a metric (`eval.auc`), a glob (`*.auc`) or a file and metric (`metrics.json:eval.auc`)",
                ));
            }
            if (policy.max_regression.is_some() || policy.max_regression_pct.is_some())
                && policy.direction.is_none()
            {
                let key = if policy.max_regression.is_some() {
                    "max_regression"
                } else {
                    "max_regression_pct"
                };
                return Err(SettingError::at(
                    &at(key),
                    format!("metrics.policies.{pattern}: a regression limit needs a direction"),
                    "which way is a regression?",
                    "add `direction: higher` (accuracy, AUC) or `direction: lower` (loss, latency)",
                ));
            }
            for (key, value) in [
                ("max_regression", policy.max_regression),
                ("max_regression_pct", policy.max_regression_pct),
                ("noise", policy.noise),
            ] {
                if value.is_some_and(|v| v < 0.0 || !v.is_finite()) {
                    return Err(SettingError::at(
                        &at(key),
                        format!("metrics.policies.{pattern}.{key} must be a finite number ≥ 0"),
                        "negative or not finite",
                        format!(
                            "write the allowed amount as a positive number, e.g. `{key}: 0.01`"
                        ),
                    ));
                }
            }
            if let (Some(min), Some(max)) = (policy.min, policy.max) {
                if min > max {
                    return Err(SettingError::at(
                        &at("min"),
                        format!("metrics.policies.{pattern}: min {min} is above max {max}"),
                        "no value can pass",
                        "swap the bounds or remove one",
                    ));
                }
            }
        }
        for (i, file) in self.files.iter().enumerate() {
            if super::Format::of(file.path()).is_none()
                && !file.path().trim_end_matches('/').ends_with("mlruns")
            {
                return Err(SettingError::at(
                    &["files", &i.to_string()],
                    format!("metrics.files: cannot tell the format of `{}`", file.path()),
                    "unknown format",
                    "metric files are .json, .yaml, .yml, .toml, .csv, .tsv, or an `mlruns` folder",
                ));
            }
        }
        Ok(())
    }
}
