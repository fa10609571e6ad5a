//! Metric files: discovery, reading at any revision, flattening, base-vs-head
//! diffs and the per-metric policies that judge them.

pub mod diff;
pub mod parse;
pub mod policy;
pub mod value;

use std::collections::BTreeMap;

use serde::Serialize;

pub use diff::{Change, MetricRow, PolicyCheck};
pub use parse::Format;
pub use policy::{Direction, MetricFileConfig, MetricKind, MetricPolicy, MetricsConfig};
pub use value::MetricValue;

use crate::repo::RepoIndex;

/// A metrics file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricFile {
    /// Repository-relative path (for MLflow, the experiment folder).
    pub path: String,
    pub format: Format,
    /// CSV column keying rows.
    pub key: Option<String>,
}

/// A metrics file that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error, miette::Diagnostic)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
#[diagnostic(
    code(mlscore::metrics::unreadable),
    help("fix the file, or remove it from metrics.files in mlscore.yaml")
)]
pub struct MetricFileError {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Flattened metrics per file.
pub type MetricSets = BTreeMap<String, BTreeMap<String, MetricValue>>;

/// Folders whose JSON, YAML and TOML files are metrics when they hold numbers.
const METRIC_FOLDERS: &[&str] = &["metrics", "eval", "evaluation", "reports", "results"];

/// A file found only by its folder is taken as metrics when it holds at least
/// one number and at most this many values: beyond, it is a results dump.
const MAX_DISCOVERED_VALUES: usize = 1000;

/// The metric files of a revision: configured ones, plus discovered ones:
/// names containing `metrics` (DVCLive's `dvclive/metrics.json` among them),
/// DVC's declared metrics, MLflow runs, and JSON, YAML or TOML files with
/// numbers under a `metrics/`, `eval/`, `evaluation/`, `reports/` or
/// `results/` folder.
pub fn files(index: &RepoIndex, config: &MetricsConfig) -> Vec<MetricFile> {
    let mut found: Vec<MetricFile> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |path: String, key: Option<String>| {
        if let Some(format) = Format::of(&path) {
            if seen.insert(path.clone()) {
                found.push(MetricFile { path, format, key });
            }
        }
    };
    for file in &config.files {
        let path = crate::repo::normalize(file.path()).into_owned();
        if path.trim_end_matches('/').ends_with("mlruns") {
            continue;
        }
        add(path, file.key().map(str::to_string));
    }
    if config.discover {
        for entry in index.files() {
            if mlruns_at(&entry.path).is_some() {
                continue;
            }
            if crate::text::case::contains_ignore_case(entry.name(), "metrics")
                || in_metric_folder(index, entry)
            {
                add(entry.path.clone(), None);
            }
        }
        for entry in index.files().iter().filter(|e| e.name() == "dvc.yaml") {
            let dir = entry
                .path
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            if let Some(text) = index.entry_text(entry) {
                for metric in dvc_metrics(text) {
                    add(format!("{dir}{}", crate::repo::normalize(&metric)), None);
                }
            }
        }
    }
    let mlflow = config.discover
        || config
            .files
            .iter()
            .any(|f| f.path().trim_end_matches('/').ends_with("mlruns"));
    if mlflow {
        let mut experiments: Vec<String> = index
            .files()
            .iter()
            .filter_map(|e| mlflow_parts(&e.path).map(|(exp, _, _)| exp.to_string()))
            .collect();
        experiments.dedup();
        for exp in experiments {
            found.push(MetricFile {
                path: exp,
                format: Format::Mlflow,
                key: None,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Whether `entry` is a JSON, YAML or TOML file under a metrics-like folder
/// that holds numbers (and not too many values).
fn in_metric_folder(index: &RepoIndex, entry: &crate::repo::FileEntry) -> bool {
    // The format first: it rules out most files before their folders are
    // looked at.
    let format = Format::of(&entry.path);
    if !matches!(format, Some(Format::Json | Format::Yaml | Format::Toml)) {
        return false;
    }
    let dirs = crate::text::path::parent(&entry.path);
    if dirs.is_empty() {
        return false;
    }
    let in_folder = dirs
        .split('/')
        .any(|d| METRIC_FOLDERS.iter().any(|f| d.eq_ignore_ascii_case(f)));
    if !in_folder {
        return false;
    }
    let (Some(format), Some(text)) = (format, index.entry_text(entry)) else {
        return false;
    };
    parse::parse(format, text, None).is_ok_and(|values| {
        values.len() <= MAX_DISCOVERED_VALUES
            && values.values().any(|v| matches!(v, MetricValue::Number(_)))
    })
}

/// Where the first `mlruns/` folder of `path` starts. Asked of every path,
/// with one searcher built once (a `str::find` builds one per call).
fn mlruns_at(path: &str) -> Option<usize> {
    static INNER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"/mlruns/"));
    if path.starts_with("mlruns/") {
        return Some(0);
    }
    INNER.find(path.as_bytes()).map(|at| at + 1)
}

/// `(mlruns/<exp>, <run>, <metric>)` for an MLflow metric file path.
fn mlflow_parts(path: &str) -> Option<(&str, &str, &str)> {
    let start = mlruns_at(path)?;
    let rest = &path[start + "mlruns/".len()..];
    let mut parts = rest.splitn(4, '/');
    let (exp, run, kind, metric) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if kind != "metrics" || metric.contains('/') || exp.starts_with('.') {
        return None;
    }
    let exp_end = start + "mlruns/".len() + exp.len();
    Some((&path[..exp_end], run, metric))
}

/// Reads the files from one revision's index. A file absent from the index is
/// skipped (it shows as added or removed); one that fails to parse is an error.
pub fn read(index: &RepoIndex, files: &[MetricFile]) -> (MetricSets, Vec<MetricFileError>) {
    let mut sets = MetricSets::new();
    let mut errors = Vec::new();
    // MLflow metric files by experiment, gathered in one pass over the index
    // (one pass per experiment was quadratic in a repository of many).
    let mut runs: BTreeMap<&str, Vec<&crate::repo::FileEntry>> = BTreeMap::new();
    if files.iter().any(|f| f.format == Format::Mlflow) {
        for entry in index.files() {
            if let Some((exp, _, _)) = mlflow_parts(&entry.path) {
                runs.entry(exp).or_default().push(entry);
            }
        }
    }
    for file in files {
        if file.format == Format::Mlflow {
            let entries = runs.get(file.path.as_str()).map_or(&[][..], Vec::as_slice);
            sets.insert(file.path.clone(), read_mlflow(index, entries, &mut errors));
            continue;
        }
        let Some(entry) = index.get(&file.path) else {
            continue;
        };
        use crate::repo::FileText;
        let unreadable = |message: String| MetricFileError {
            path: file.path.clone(),
            line: None,
            message,
        };
        let text = match index.read(entry) {
            FileText::Text(text) => text,
            FileText::Binary => {
                errors.push(unreadable("not text (binary content)".into()));
                continue;
            }
            FileText::TooLarge => {
                errors.push(unreadable(
                    "larger than scan.max_file_size; raise it in mlscore.yaml".into(),
                ));
                continue;
            }
            FileText::Unreadable(why) => {
                errors.push(unreadable(format!("cannot be read: {why}")));
                continue;
            }
        };
        match parse::parse(file.format, text, file.key.as_deref()) {
            Ok(values) => {
                sets.insert(file.path.clone(), values);
            }
            Err(err) => errors.push(MetricFileError {
                path: file.path.clone(),
                line: err.line,
                message: err.message,
            }),
        }
    }
    (sets, errors)
}

/// The metrics of an experiment's latest run (the run with the newest value),
/// from the experiment's metric files `entries`.
fn read_mlflow(
    index: &RepoIndex,
    entries: &[&crate::repo::FileEntry],
    errors: &mut Vec<MetricFileError>,
) -> BTreeMap<String, MetricValue> {
    let mut runs: BTreeMap<&str, (i64, BTreeMap<String, MetricValue>)> = BTreeMap::new();
    for entry in entries {
        let Some((_, run, metric)) = mlflow_parts(&entry.path) else {
            continue;
        };
        let Some(text) = index.entry_text(entry) else {
            continue;
        };
        let latest = text
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        match parse::parse(Format::Mlflow, text, None) {
            Ok(mut values) => {
                let slot = runs.entry(run).or_default();
                slot.0 = slot.0.max(latest);
                if let Some(value) = values.remove("") {
                    slot.1.insert(metric.to_string(), value);
                }
            }
            Err(err) => errors.push(MetricFileError {
                path: entry.path.clone(),
                line: err.line,
                message: err.message,
            }),
        }
    }
    runs.into_values()
        .max_by_key(|(ts, _)| *ts)
        .map(|(_, values)| values)
        .unwrap_or_default()
}

/// Metric paths declared in a dvc.yaml (stage `metrics:` and top-level).
pub fn dvc_metrics(text: &str) -> Vec<String> {
    // dvc.yaml is repository text: the depth guard first (see yaml_span).
    if crate::yaml_span::check_depth(text).is_err() {
        return Vec::new();
    }
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Vec::new();
    };
    let top = doc
        .get("metrics")
        .and_then(|m| m.as_sequence())
        .into_iter()
        .flatten();
    let stages = doc.get("stages").and_then(|s| s.as_mapping());
    let in_stages = stages
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|stage| stage.get("metrics").and_then(|m| m.as_sequence()))
        .flatten();
    let mut found = Vec::new();
    for item in top.chain(in_stages) {
        match item {
            serde_yaml::Value::String(path) => found.push(path.clone()),
            serde_yaml::Value::Mapping(map) => {
                found.extend(map.keys().filter_map(|k| k.as_str().map(str::to_string)))
            }
            _ => {}
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The policy for a metric: an exact `file:name` or `name` key first, then the
/// first glob (in key order) matching either.
pub fn policy_for(
    policies: &BTreeMap<String, MetricPolicy>,
    file: &str,
    name: &str,
) -> Option<MetricPolicy> {
    let qualified = format!("{file}:{name}");
    if let Some(p) = policies.get(&qualified).or_else(|| policies.get(name)) {
        return Some(p.clone());
    }
    policies
        .iter()
        .find(|(pattern, _)| {
            crate::glob::compile(pattern)
                .map(|g| {
                    let m = g.compile_matcher();
                    m.is_match(&qualified) || m.is_match(name)
                })
                .unwrap_or(false)
        })
        .map(|(_, p)| p.clone())
}

/// What a metric measures: the policy's `kind`, else a guess from its name.
pub fn kind_of(name: &str, policy: Option<&MetricPolicy>) -> MetricKind {
    if let Some(kind) = policy.and_then(|p| p.kind) {
        return kind;
    }
    let lower = name.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&[
        "latency", "_ms", "p50", "p95", "p99", "duration", "seconds", "time",
    ]) {
        MetricKind::Latency
    } else if has(&[
        "throughput",
        "qps",
        "rps",
        "per_sec",
        "samples_per",
        "tokens_per",
    ]) {
        MetricKind::Throughput
    } else if has(&["memory", "rss", "ram", "_mb", "_gb", "bytes"]) {
        MetricKind::Memory
    } else {
        MetricKind::Quality
    }
}

/// Diffs base against head for every file seen on either side.
pub fn diff(
    base: &MetricSets,
    head: &MetricSets,
    policies: &BTreeMap<String, MetricPolicy>,
) -> Vec<MetricRow> {
    let empty = BTreeMap::new();
    let mut files: Vec<&String> = base.keys().chain(head.keys()).collect();
    files.sort();
    files.dedup();
    files
        .into_iter()
        .flat_map(|file| {
            diff::diff_file(
                file,
                base.get(file).unwrap_or(&empty),
                head.get(file).unwrap_or(&empty),
                &|f, n| policy_for(policies, f, n),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `mlruns/` folder at the top or below another folder, never a
    /// folder whose name only ends in `mlruns`.
    #[test]
    fn finds_mlflow_runs_at_any_depth_by_whole_folder_name() {
        assert_eq!(
            mlflow_parts("mlruns/1/aaa/metrics/rmse"),
            Some(("mlruns/1", "aaa", "rmse"))
        );
        assert_eq!(
            mlflow_parts("exp/mlruns/2/bbb/metrics/acc"),
            Some(("exp/mlruns/2", "bbb", "acc"))
        );
        assert_eq!(mlflow_parts("xmlruns/1/aaa/metrics/rmse"), None);
        assert_eq!(mlflow_parts("a/xmlruns/1/aaa/metrics/rmse"), None);
        assert_eq!(mlflow_parts("mlruns/1/aaa/params/lr"), None);
        assert_eq!(mlflow_parts("mlruns/1/aaa/metrics/sub/rmse"), None);
        assert_eq!(mlruns_at("a/b/mlruns/x"), Some(4));
        assert_eq!(mlruns_at("a/mlrunsx/y"), None);
    }

    #[test]
    fn discovers_named_dvc_and_mlflow_metrics() {
        let index = RepoIndex::from_memory([
            ("reports/metrics.json", "{\"auc\": 0.9}"),
            ("dvc.yaml", "stages:\n  eval:\n    cmd: python e.py\n    metrics:\n      - eval/scores.yaml:\n          cache: false\n"),
            ("eval/scores.yaml", "f1: 0.7\n"),
            ("mlruns/1/aaa/metrics/rmse", "1700000000 0.5 0\n"),
            ("mlruns/1/bbb/metrics/rmse", "1700000900 0.4 0\n"),
            ("mlruns/1/bbb/params/lr", "0.1"),
            ("src/train.py", "print(1)"),
        ]);
        let found = files(&index, &MetricsConfig::default());
        let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["eval/scores.yaml", "mlruns/1", "reports/metrics.json"]
        );
        let (sets, errors) = read(&index, &found);
        assert!(errors.is_empty());
        assert_eq!(sets["mlruns/1"]["rmse"], MetricValue::Number(0.4));
        assert_eq!(sets["eval/scores.yaml"]["f1"], MetricValue::Number(0.7));
    }

    #[test]
    fn unparseable_file_is_an_error_with_its_line() {
        let index = RepoIndex::from_memory([("metrics.json", "{\n\"auc\": oops\n}")]);
        let found = files(&index, &MetricsConfig::default());
        let (_, errors) = read(&index, &found);
        assert_eq!(errors[0].path, "metrics.json");
        assert_eq!(errors[0].line, Some(2));
    }

    #[test]
    fn policies_prefer_exact_names_then_globs() {
        let mut policies = BTreeMap::new();
        policies.insert(
            "*.auc".to_string(),
            MetricPolicy {
                min: Some(0.5),
                ..Default::default()
            },
        );
        policies.insert(
            "eval.auc".to_string(),
            MetricPolicy {
                min: Some(0.8),
                ..Default::default()
            },
        );
        assert_eq!(
            policy_for(&policies, "m.json", "eval.auc").unwrap().min,
            Some(0.8)
        );
        assert_eq!(
            policy_for(&policies, "m.json", "test.auc").unwrap().min,
            Some(0.5)
        );
        assert!(policy_for(&policies, "m.json", "loss").is_none());
    }

    #[test]
    fn kinds_are_guessed_from_names() {
        assert_eq!(kind_of("serving.latency_p99_ms", None), MetricKind::Latency);
        assert_eq!(kind_of("throughput_qps", None), MetricKind::Throughput);
        assert_eq!(kind_of("peak_rss_mb", None), MetricKind::Memory);
        assert_eq!(kind_of("eval.auc", None), MetricKind::Quality);
    }
}
