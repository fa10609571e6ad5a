//! `mlscore.yaml`: its types, loading, and validation with spans that point at
//! the offending line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;

use crate::yaml_span;

/// Names the config file may have at the repository root, in order of preference.
pub const CONFIG_NAMES: &[&str] = &["mlscore.yaml", ".mlscore.yaml"];

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version; only 1 exists.
    #[serde(default)]
    pub version: Option<u32>,
    /// What the scan indexes.
    #[serde(default)]
    pub scan: ScanConfig,
    /// Rubric tests that do not apply, each with the reason why.
    #[serde(default)]
    pub waivers: BTreeMap<String, Waiver>,
    /// Metric files and the policies that judge their changes.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// When the merge gate fails.
    #[serde(default)]
    pub gate: GateConfig,
    /// mlscore's own probes: the rubric tests it runs on the repository's data,
    /// predictions, metrics and models.
    #[serde(default)]
    pub probes: crate::probes::configured::ProbesConfig,
}

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

fn yes() -> bool {
    true
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

/// The `scan:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Globs indexed even when `.gitignore` ignores them.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs never indexed.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Files larger than this are indexed by name only: bytes, or `"5MiB"`.
    #[serde(default)]
    pub max_file_size: Option<ByteSize>,
}

/// A waiver: the test does not apply to this repository.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Why the test does not apply; shown in every report.
    pub reason: String,
    /// Points the waived test scores: 0 (the default), 0.5 or 1.
    #[serde(default)]
    pub points: f64,
}

/// A size in bytes, written as a number or with a unit (`KB`, `MB`, `KiB`, `MiB`, `GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(de)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(text) => parse_byte_size(&text).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a size; write bytes (1048576) or a number with a unit (512KiB, 2MiB, 1GB)"
                ))
            }),
        }
    }
}

fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor) as u64)
}

/// A configuration as loaded: the values and where they came from.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    pub config: Config,
    /// The file read, if any (none means defaults).
    pub path: Option<PathBuf>,
}

/// An error in the configuration, with the span that caused it.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(code(mlscore::config::read), help("check the path given to --config"))]
    Read { path: String, reason: String },

    #[error("{path}: {message}")]
    #[diagnostic(code(mlscore::config::invalid))]
    Invalid {
        path: String,
        message: String,
        #[source_code]
        source_code: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },
}

/// Finds the config for `root`: `explicit` when given, else `mlscore.yaml` or
/// `.mlscore.yaml` at the root, else defaults.
pub fn load(
    root: &Path,
    explicit: Option<&Path>,
    known_ids: &[&str],
) -> Result<LoadedConfig, ConfigError> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => CONFIG_NAMES
            .iter()
            .map(|name| root.join(name))
            .find(|p| p.is_file()),
    };
    let Some(path) = path else {
        return Ok(LoadedConfig::default());
    };
    let text = std::fs::read_to_string(&path).map_err(|err| ConfigError::Read {
        path: path.display().to_string(),
        reason: err.to_string(),
    })?;
    let config = parse(&path.display().to_string(), &text, known_ids)?;
    Ok(LoadedConfig {
        config,
        path: Some(path),
    })
}

/// Parses and validates config text; `name` is used in messages.
pub fn parse(name: &str, text: &str, known_ids: &[&str]) -> Result<Config, ConfigError> {
    let invalid =
        |message: String, span: SourceSpan, label: &str, help: String| ConfigError::Invalid {
            path: name.to_string(),
            message,
            source_code: NamedSource::new(name, text.to_string()),
            span,
            label: label.to_string(),
            help,
        };
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let config: Config = serde_yaml::from_str(text).map_err(|err| {
        let (message, help) = yaml_span::explain_error(&err, ("keys", "config reference"));
        invalid(message, yaml_span::error_span(&err), "here", help)
    })?;

    if let Some(version) = config.version {
        if version != 1 {
            return Err(invalid(
                format!("unsupported config version {version}"),
                yaml_span::key_span(text, &["version"]),
                "this version",
                "this mlscore reads version 1; write `version: 1` or upgrade mlscore".into(),
            ));
        }
    }
    for (field, globs) in [
        ("include", &config.scan.include),
        ("exclude", &config.scan.exclude),
    ] {
        for (i, glob) in globs.iter().enumerate() {
            if let Err(why) = crate::glob::compile(glob) {
                return Err(invalid(
                    format!("scan.{field}: `{glob}` is not a valid glob ({why})"),
                    yaml_span::key_span(text, &["scan", field, &i.to_string()]),
                    "this glob",
                    "globs use `*` within a folder, `**` across folders, `?` and `[abc]`; escape a literal `[` as `\\[`".into(),
                ));
            }
        }
    }
    for (pattern, policy) in &config.metrics.policies {
        let at = |key: &str| yaml_span::key_span(text, &["metrics", "policies", pattern, key]);
        if let Err(why) = crate::glob::compile(pattern) {
            return Err(invalid(
                format!("metrics.policies: `{pattern}` is not a valid metric name or glob ({why})"),
                yaml_span::key_span(text, &["metrics", "policies", pattern]),
                "this name",
                "name a metric (`eval.auc`), a glob (`*.auc`) or a file and metric (`metrics.json:eval.auc`)".into(),
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
            return Err(invalid(
                format!("metrics.policies.{pattern}: a regression limit needs a direction"),
                at(key),
                "which way is a regression?",
                "add `direction: higher` (accuracy, AUC) or `direction: lower` (loss, latency)"
                    .into(),
            ));
        }
        for (key, value) in [
            ("max_regression", policy.max_regression),
            ("max_regression_pct", policy.max_regression_pct),
            ("noise", policy.noise),
        ] {
            if value.is_some_and(|v| v < 0.0 || !v.is_finite()) {
                return Err(invalid(
                    format!("metrics.policies.{pattern}.{key} must be a finite number ≥ 0"),
                    at(key),
                    "negative or not finite",
                    format!("write the allowed amount as a positive number, e.g. `{key}: 0.01`"),
                ));
            }
        }
        if let (Some(min), Some(max)) = (policy.min, policy.max) {
            if min > max {
                return Err(invalid(
                    format!("metrics.policies.{pattern}: min {min} is above max {max}"),
                    at("min"),
                    "no value can pass",
                    "swap the bounds or remove one".into(),
                ));
            }
        }
    }
    for (section, minimum) in &config.gate.min_section {
        if !["data", "model", "infra", "monitor"].contains(&section.as_str()) {
            return Err(invalid(
                format!("gate.min_section: `{section}` is not a section"),
                yaml_span::key_span(text, &["gate", "min_section", section]),
                "unknown section",
                "the sections are data, model, infra and monitor".into(),
            ));
        }
        if !(0.0..=7.0).contains(minimum) {
            return Err(invalid(
                format!("gate.min_section.{section}: {minimum} is outside 0 … 7"),
                yaml_span::key_span(text, &["gate", "min_section", section]),
                "out of range",
                "a section scores 0 to 7".into(),
            ));
        }
    }
    if let Some(min) = config.gate.min_score {
        if !(0.0..=7.0).contains(&min) {
            return Err(invalid(
                format!("gate.min_score: {min} is outside 0 … 7"),
                yaml_span::key_span(text, &["gate", "min_score"]),
                "out of range",
                "the final score is the lowest section, 0 to 7".into(),
            ));
        }
    }
    for (i, file) in config.metrics.files.iter().enumerate() {
        if crate::metrics::Format::of(file.path()).is_none()
            && !file.path().trim_end_matches('/').ends_with("mlruns")
        {
            return Err(invalid(
                format!("metrics.files: cannot tell the format of `{}`", file.path()),
                yaml_span::key_span(text, &["metrics", "files", &i.to_string()]),
                "unknown format",
                "metric files are .json, .yaml, .yml, .toml, .csv, .tsv, or an `mlruns` folder"
                    .into(),
            ));
        }
    }
    for (id, waiver) in &config.waivers {
        if !known_ids.contains(&id.as_str()) {
            let hint = closest(id, known_ids)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            return Err(invalid(
                format!("waivers: `{id}` is not a rubric test"),
                yaml_span::key_span(text, &["waivers", id]),
                "unknown test id",
                format!("{hint}`mlscore list` prints the 28 test ids (data-1 … monitor-7)"),
            ));
        }
        if waiver.reason.trim().is_empty() {
            return Err(invalid(
                format!("waivers.{id}: the reason is empty"),
                yaml_span::key_span(text, &["waivers", id, "reason"]),
                "empty reason",
                "say why the test does not apply; the reason is shown in every report".into(),
            ));
        }
        if ![0.0, 0.5, 1.0].contains(&waiver.points) {
            return Err(invalid(
                format!("waivers.{id}: points must be 0, 0.5 or 1, not {}", waiver.points),
                yaml_span::key_span(text, &["waivers", id, "points"]),
                "not a rubric score",
                "the rubric scores a test 0, 0.5 or 1; leave `points` out to score the waived test 0".into(),
            ));
        }
    }
    Ok(config)
}

/// The known name closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["data-1", "infra-6", "monitor-7"];

    fn message(err: ConfigError) -> (String, String, usize) {
        match err {
            ConfigError::Invalid {
                message,
                help,
                span,
                source_code,
                ..
            } => {
                let text = source_code.inner().clone();
                (message, help, yaml_span::line_of(&text, span.offset()))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_config() {
        let text = "version: 1\nscan:\n  include: [data/schema/**]\n  exclude: [data/raw/**]\n  max_file_size: 5MiB\nwaivers:\n  infra-6:\n    reason: batch job, never served\n    points: 0.5\n";
        let config = parse("mlscore.yaml", text, IDS).unwrap();
        assert_eq!(config.scan.max_file_size, Some(ByteSize(5 * 1024 * 1024)));
        assert_eq!(config.waivers["infra-6"].points, 0.5);
    }

    #[test]
    fn unknown_key_suggests_the_right_one() {
        let (msg, help, line) = message(
            parse(
                "m.yaml",
                "version: 1\nwaiver:\n  data-1: {reason: x}\n",
                IDS,
            )
            .unwrap_err(),
        );
        assert!(msg.contains("unknown field `waiver`"), "{msg}");
        assert!(help.contains("did you mean `waivers`"), "{help}");
        assert_eq!(line, 2);
    }

    #[test]
    fn waiver_for_unknown_test_points_at_its_line() {
        let (msg, help, line) =
            message(parse("m.yaml", "waivers:\n  infra-66:\n    reason: x\n", IDS).unwrap_err());
        assert!(msg.contains("`infra-66` is not a rubric test"));
        assert!(help.contains("did you mean `infra-6`"));
        assert_eq!(line, 2);
    }

    #[test]
    fn waiver_needs_a_reason_and_a_rubric_score() {
        let (msg, _, line) =
            message(parse("m.yaml", "waivers:\n  data-1:\n    reason: '  '\n", IDS).unwrap_err());
        assert!(msg.contains("reason is empty"));
        assert_eq!(line, 3);
        let (msg, _, line) = message(
            parse(
                "m.yaml",
                "waivers:\n  data-1:\n    reason: r\n    points: 0.7\n",
                IDS,
            )
            .unwrap_err(),
        );
        assert!(msg.contains("0, 0.5 or 1"));
        assert_eq!(line, 4);
    }

    #[test]
    fn bad_size_and_bad_glob_are_explained() {
        let (msg, _, _) =
            message(parse("m.yaml", "scan:\n  max_file_size: lots\n", IDS).unwrap_err());
        assert!(msg.contains("not a size"), "{msg}");
        let (msg, _, line) = message(
            parse(
                "m.yaml",
                "scan:\n  exclude:\n    - ok/**\n    - bad/[\n",
                IDS,
            )
            .unwrap_err(),
        );
        assert!(msg.contains("`bad/[` is not a valid glob"), "{msg}");
        assert_eq!(line, 4);
    }

    #[test]
    fn malformed_yaml_is_a_syntax_error_with_a_position() {
        let (msg, help, line) =
            message(parse("m.yaml", "scan:\n  exclude: [a\n  include: b\n", IDS).unwrap_err());
        assert!(!msg.is_empty());
        assert!(help.contains("YAML syntax"));
        assert!(line >= 2);
    }
}
