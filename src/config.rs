//! `mlscore.yaml`: the sections composed, loading, and turning each stage's
//! validation into a diagnostic that points at the offending line. Each
//! section's types and rules live with the stage that reads them: `scan:` in
//! `repo`, `waivers:` in `rubric`, `metrics:` in `metrics`, `gate:` in `gate`,
//! `probes:` beside each probe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use serde::Deserialize;

use crate::gate::GateConfig;
use crate::metrics::MetricsConfig;
use crate::repo::ScanConfig;
use crate::rubric::Waiver;
use crate::yaml_span::{self, SettingError};

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
    #[diagnostic(code(mlscore::config::read))]
    Read {
        path: String,
        reason: String,
        #[help]
        help: String,
    },

    #[error("refusing to read {path}: {reason}")]
    #[diagnostic(code(mlscore::config::outside))]
    Outside {
        path: String,
        reason: String,
        #[help]
        help: String,
    },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(yaml_span::YamlError),
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
        // Anything by that name counts: a folder or FIFO called mlscore.yaml
        // is an error, not a silent "no config" that drops probes and gate.
        None => CONFIG_NAMES
            .iter()
            .map(|name| root.join(name))
            .find(|p| p.symlink_metadata().is_ok()),
    };
    let Some(path) = path else {
        return Ok(LoadedConfig::default());
    };
    if explicit.is_none() {
        // The repository's own config is repository text: a link to a file
        // outside it would print that file's lines in a parse error.
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        crate::repo::contain::inside(root, &name).map_err(|err| ConfigError::Outside {
            path: path.display().to_string(),
            reason: err.to_string(),
            help: "mlscore.yaml must be a file of the repository; replace the link with the file itself".into(),
        })?;
    }
    let text = crate::repo::read_text_file(&path).map_err(|err| ConfigError::Read {
        path: path.display().to_string(),
        reason: err.to_string(),
        help: if explicit.is_some() {
            "check the path given to --config".into()
        } else {
            "mlscore.yaml must be a regular YAML file; remove or rename what is there".into()
        },
    })?;
    let config = parse(&path.display().to_string(), &text, known_ids)?;
    Ok(LoadedConfig {
        config,
        path: Some(path),
    })
}

/// Parses and validates config text; `name` is used in messages.
pub fn parse(name: &str, text: &str, known_ids: &[&str]) -> Result<Config, ConfigError> {
    let text = crate::repo::strip_bom(text);
    let doc = yaml_span::Document {
        code: "mlscore::config::invalid",
        name,
        text,
    };
    let invalid = |message, span, label: &str, help| {
        ConfigError::Invalid(doc.error(message, span, label, help))
    };
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let config: Config = yaml_span::parse_document(
        "mlscore::config::invalid",
        name,
        text,
        ("keys", "config reference"),
    )
    .map_err(ConfigError::Invalid)?;

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
    let sections = [
        config.scan.validate().map_err(|e| e.under("scan")),
        crate::rubric::waiver::validate(&config.waivers, known_ids).map_err(|e| e.under("waivers")),
        config.metrics.validate().map_err(|e| e.under("metrics")),
        config.gate.validate().map_err(|e| e.under("gate")),
        config.probes.validate().map_err(|e| e.under("probes")),
    ];
    for result in sections {
        result.map_err(|e: SettingError| {
            let path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            invalid(
                e.message,
                yaml_span::key_span(text, &path),
                &e.label,
                e.help,
            )
        })?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::ByteSize;

    const IDS: &[&str] = &["data-1", "infra-6", "monitor-7"];

    fn message(err: ConfigError) -> (String, String, usize) {
        match err {
            ConfigError::Invalid(yaml_span::YamlError {
                message,
                help,
                source_code,
                ..
            }) => (message, help, source_code.line()),
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
