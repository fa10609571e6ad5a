//! `mlscore init`: a commented starter mlscore.yaml fitted to the repository.

use std::fmt::Write as _;

use crate::ci::CiModel;
use crate::cli::InitArgs;
use crate::config::CONFIG_NAMES;
use crate::error::{Error, EXIT_OK};
use crate::metrics;
use crate::metrics::MetricsConfig;
use crate::repo::{RepoIndex, ScanOptions};

/// Data file extensions recognised as datasets.
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "parquet", "pq", "jsonl", "ndjson", "feather", "arrow",
];

/// Listed per kind in the starter file; the rest are counted.
const LISTED: usize = 10;

pub fn run(args: &InitArgs) -> Result<i32, Error> {
    for name in CONFIG_NAMES {
        let existing = args.path.join(name);
        if existing.exists() && !args.force {
            return Err(Error::ConfigExists { path: existing });
        }
    }
    let index = RepoIndex::scan(&args.path, &ScanOptions::default())?;
    let ci = CiModel::build(&index);
    let found = Detected::from(&index, &ci);
    let text = starter(&found);
    let path = args.path.join(CONFIG_NAMES[0]);
    std::fs::write(&path, &text).map_err(|e| Error::io("write", &path, &e))?;
    println!(
        "wrote {} ({} datasets, {} metric files, CI: {})",
        path.display(),
        found.datasets.len(),
        found.metrics.len(),
        if found.ci.is_empty() {
            "none found".to_string()
        } else {
            found.ci.join(", ")
        }
    );
    println!("next: review it, commit it, and run `mlscore check`");
    Ok(EXIT_OK)
}

/// What the starter config is fitted to.
#[derive(Debug, Default)]
pub struct Detected {
    pub datasets: Vec<String>,
    pub metrics: Vec<String>,
    pub ci: Vec<String>,
    /// Folders holding many data files, proposed for `scan.exclude`.
    pub data_dirs: Vec<String>,
    /// A few numeric metric names, for the example policies.
    pub metric_names: Vec<String>,
}

impl Detected {
    pub fn from(index: &RepoIndex, ci: &CiModel) -> Detected {
        let mut found = Detected::default();
        let mut per_dir: std::collections::BTreeMap<String, usize> = Default::default();
        for entry in index.files() {
            let name = entry.name().to_ascii_lowercase();
            let base = name.trim_end_matches(".gz");
            let ext = base.rsplit('.').next().unwrap_or("");
            if base.contains('.') && DATA_EXTENSIONS.contains(&ext) {
                found.datasets.push(entry.path.clone());
                if let Some((dir, _)) = entry.path.rsplit_once('/') {
                    *per_dir.entry(dir.to_string()).or_default() += 1;
                }
            }
        }
        // The same discovery `check` and `diff` use, so what init lists is what they read.
        let files = metrics::files(index, &MetricsConfig::default());
        let (sets, _) = metrics::read(index, &files);
        for file in &files {
            found
                .metrics
                .push(if file.format == metrics::Format::Mlflow {
                    format!("{}/", file.path)
                } else {
                    file.path.clone()
                });
        }
        found.metric_names = sets
            .values()
            .flat_map(|values| {
                values
                    .iter()
                    .filter(|(_, v)| v.as_number().is_some_and(f64::is_finite))
                    .map(|(name, _)| name.clone())
            })
            .take(3)
            .collect();
        found.data_dirs = per_dir
            .into_iter()
            .filter(|(_, n)| *n >= 20)
            .map(|(d, _)| format!("{d}/**"))
            .collect();
        for system in ci.systems() {
            let jobs = ci.jobs.iter().filter(|j| j.system == system);
            let files: std::collections::BTreeSet<&str> =
                jobs.clone().map(|j| j.file.as_str()).collect();
            let scheduled = jobs.clone().filter(|j| j.is_scheduled()).count();
            let mut text = format!(
                "{} ({}: {} jobs",
                system.display_name(),
                files.into_iter().collect::<Vec<_>>().join(", "),
                jobs.count()
            );
            if scheduled > 0 {
                let _ = write!(text, ", {scheduled} scheduled");
            }
            text.push(')');
            found.ci.push(text);
        }
        found
    }
}

/// The starter file's text.
pub fn starter(found: &Detected) -> String {
    let mut out = String::new();
    out.push_str(
        "# mlscore.yaml: configuration of `mlscore check` (the README has the full reference).\n",
    );
    out.push_str("# Written by `mlscore init` from what it found in this repository; review and commit it.\n");
    out.push_str("version: 1\n\n");
    if found.ci.is_empty() {
        out.push_str(
            "# CI: none found. Evidence earns at most 0.5 per test until a CI job runs it.\n",
        );
    } else {
        out.push_str("# CI found (evidence these jobs run or reach earns the full point):\n");
        for ci in &found.ci {
            let _ = writeln!(out, "#   {ci}");
        }
    }
    for (title, list) in [
        ("Datasets found", &found.datasets),
        ("Metric files found", &found.metrics),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# {title} ({}):", list.len());
        for path in list.iter().take(LISTED) {
            let _ = writeln!(out, "#   {path}");
        }
        if list.len() > LISTED {
            let _ = writeln!(out, "#   … and {} more", list.len() - LISTED);
        }
    }
    out.push_str("\nscan:\n");
    out.push_str("  # Paths indexed even when .gitignore ignores them:\n  include: []\n");
    out.push_str("  # Paths never indexed (raw data, vendored code):\n");
    if found.data_dirs.is_empty() {
        out.push_str("  exclude: []\n");
    } else {
        out.push_str("  exclude:\n");
        for dir in &found.data_dirs {
            let _ = writeln!(out, "    - {}", yaml_quote(dir));
        }
    }
    out.push_str("  # Files larger than this are indexed by name only:\n  max_file_size: 2MiB\n\n");
    out.push_str("# A test that does not apply to this repository can be waived with a reason.\n");
    out.push_str(
        "# The reason is shown in every report; the test scores `points` (0 unless set).\n",
    );
    out.push_str("waivers: {}\n");
    out.push_str("#  infra-6:\n#    reason: \"Batch predictions written to a table; no model is served online.\"\n#    points: 0\n");
    out.push_str("\n# Metric files compared by `mlscore diff` and `mlscore check --base REV`.\n");
    out.push_str(
        "metrics:\n  discover: true   # also files named *metrics*, dvc.yaml metrics and mlruns/\n",
    );
    let listed: Vec<&String> = found
        .metrics
        .iter()
        .filter(|m| !m.ends_with('/'))
        .take(LISTED)
        .collect();
    if listed.is_empty() {
        out.push_str("  files: []\n");
    } else {
        out.push_str("  files:\n");
        for path in listed {
            let _ = writeln!(out, "    - {}", yaml_quote(path));
        }
    }
    out.push_str("  # A policy per metric (a name, `file:name`, or a glob) turns a regression into a failed gate.\n");
    if found.metric_names.is_empty() {
        out.push_str(
            "  policies: {}\n  #  eval.auc: {direction: higher, min: 0.8, max_regression: 0.01}\n",
        );
    } else {
        out.push_str("  policies: {}\n");
        for name in &found.metric_names {
            let _ = writeln!(
                out,
                "  #  {}: {{direction: {}, max_regression_pct: 2}}",
                yaml_quote(name),
                guess_direction(name)
            );
        }
    }
    let dataset = found
        .datasets
        .first()
        .map_or("data/train.csv".to_string(), |d| yaml_quote(d));
    let metrics = found
        .metrics
        .first()
        .map_or("reports/metrics.json".to_string(), |m| yaml_quote(m));
    out.push_str(
        "\n# mlscore's own probes run rubric tests on your data, predictions, metrics and\n",
    );
    out.push_str(
        "# models; a failing probe fails the gate. Uncomment what applies (README: Probes).\n",
    );
    out.push_str("probes: {}\n");
    let catalogue = crate::rubric::Catalogue::embedded().ok();
    for probe in crate::probes::configured::REGISTRY {
        let Some((what, entry)) = probe.starter else {
            continue;
        };
        let tests = catalogue
            .as_ref()
            .map(|c| c.tests_served(probe.name, &[]).join(", "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "#  {:<14} # {tests}: {what}",
            format!("{}:", probe.name)
        );
        let entry = entry
            .replace("{dataset}", &dataset)
            .replace("{metrics}", &metrics);
        let _ = writeln!(out, "#    - {entry}");
    }
    out.push_str(
        "\n# When the run fails (exit code 1). Flags such as --min-score override these.\n",
    );
    out.push_str("gate:\n  metrics: true      # every metric policy passes\n  no_errors: true    # no error finding\n");
    out.push_str("  # min_score: 1\n  # min_section: {data: 2}\n  # no_score_drop: true\n");
    out
}

/// Which way a metric is probably better, from its name; the user reviews it.
fn guess_direction(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let worse_when_high = [
        "loss",
        "error",
        "err",
        "rmse",
        "mae",
        "mse",
        "latency",
        "_ms",
        "time",
        "memory",
        "perplexity",
    ];
    if worse_when_high.iter().any(|w| lower.contains(w)) {
        "lower"
    } else {
        "higher"
    }
}

/// Quotes a YAML scalar when it would otherwise be misread.
fn yaml_quote(text: &str) -> String {
    if text.starts_with(['*', '&', '!', '[', '{', '"', '\'', '@', '`'])
        || text.contains(": ")
        || text.contains(" #")
    {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_parses_as_a_valid_config() {
        let found = Detected {
            datasets: (0..25).map(|i| format!("data/raw/part-{i}.csv")).collect(),
            metrics: vec!["metrics.json".into()],
            ci: vec!["GitHub Actions (.github/workflows/ci.yml: 2 jobs)".into()],
            data_dirs: vec!["data/raw/**".into(), "*weird: dir/**".into()],
            metric_names: vec!["eval.auc".into()],
        };
        let text = starter(&found);
        let config =
            crate::config::parse("mlscore.yaml", &text, &["infra-6"]).expect("starter parses");
        assert_eq!(config.scan.exclude, vec!["data/raw/**", "*weird: dir/**"]);
        assert!(text.contains("# Datasets found (25):"));
        assert!(text.contains("… and 15 more"));
        assert!(text.contains("#    - {data: data/raw/part-0.csv, schema: schemas/train.yaml}"));
        // The commented probes, uncommented, are a valid config too.
        let block = text
            .split("probes: {}\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .expect("a probes block");
        let uncommented = format!("probes:\n{}\n", block.replace("#  ", "  "));
        let config = crate::config::parse("mlscore.yaml", &uncommented, &["infra-6"])
            .expect("uncommented probes parse");
        assert_eq!(config.probes.schema.len(), 1);
        assert_eq!(config.probes.staleness.len(), 1);
    }

    #[test]
    fn metrics_and_example_policies_come_from_the_repository() {
        let index = RepoIndex::from_memory([
            ("dvc.yaml", "stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n      - reports/scores.json:\n          cache: false\n"),
            ("reports/scores.json", "{\"eval\": {\"auc\": 0.9, \"loss\": 0.3}}"),
        ]);
        let found = Detected::from(&index, &CiModel::default());
        assert_eq!(found.metrics, vec!["reports/scores.json"]);
        let text = starter(&found);
        assert!(
            text.contains("  files:\n    - reports/scores.json\n"),
            "{text}"
        );
        assert!(
            text.contains("#  eval.auc: {direction: higher, max_regression_pct: 2}"),
            "{text}"
        );
        assert!(
            text.contains("#  eval.loss: {direction: lower, max_regression_pct: 2}"),
            "{text}"
        );
        crate::config::parse("mlscore.yaml", &text, &[]).expect("starter parses");
    }
}
