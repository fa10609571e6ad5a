//! `mlscore init`: a commented starter mlscore.yaml fitted to the repository.

use std::fmt::Write as _;

use crate::ci::CiModel;
use crate::cli::InitArgs;
use crate::config::CONFIG_NAMES;
use crate::error::{Error, EXIT_OK};
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
            let metric_ext = matches!(ext, "json" | "yaml" | "yml" | "toml" | "csv" | "tsv");
            if metric_ext && (base.contains("metrics") || base.starts_with("scores.")) {
                found.metrics.push(entry.path.clone());
            }
        }
        for (path, text) in index
            .files()
            .iter()
            .filter(|e| e.name() == "dvc.yaml")
            .filter_map(|e| Some((&e.path, index.entry_text(e)?)))
        {
            let dir = path
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            for metric in dvc_metrics(text) {
                let full = format!("{dir}{metric}");
                if !found.metrics.contains(&full) {
                    found.metrics.push(full);
                }
            }
        }
        if index.is_dir("mlruns") {
            found.metrics.push("mlruns/".into());
        }
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

/// Metric file paths declared under stages' `metrics:` in dvc.yaml.
fn dvc_metrics(text: &str) -> Vec<String> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let stages = doc.get("stages").and_then(|s| s.as_mapping());
    let top = doc
        .get("metrics")
        .and_then(|m| m.as_sequence())
        .into_iter()
        .flatten();
    let in_stages = stages
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|stage| stage.get("metrics").and_then(|m| m.as_sequence()))
        .flatten();
    for item in top.chain(in_stages) {
        match item {
            serde_yaml::Value::String(path) => found.push(path.clone()),
            serde_yaml::Value::Mapping(map) => {
                found.extend(map.keys().filter_map(|k| k.as_str().map(str::to_string)));
            }
            _ => {}
        }
    }
    found
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
    out
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
        };
        let text = starter(&found);
        let config =
            crate::config::parse("mlscore.yaml", &text, &["infra-6"]).expect("starter parses");
        assert_eq!(config.scan.exclude, vec!["data/raw/**", "*weird: dir/**"]);
        assert!(text.contains("# Datasets found (25):"));
        assert!(text.contains("… and 15 more"));
    }

    #[test]
    fn dvc_metrics_reads_stage_and_top_level_entries() {
        let text = "stages:\n  eval:\n    cmd: python eval.py\n    metrics:\n      - eval/metrics.json:\n          cache: false\n      - scores.yaml\nmetrics:\n  - summary.json\n";
        let mut found = dvc_metrics(text);
        found.sort();
        assert_eq!(
            found,
            vec!["eval/metrics.json", "scores.yaml", "summary.json"]
        );
    }
}
