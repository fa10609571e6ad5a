//! DVC: the commands of `dvc.yaml` stages that `dvc repro` and `dvc exp run`
//! run, with their working directories and upstream stages.

use serde_yaml::Value;

use super::lines;
use super::yaml::{self, YamlError};

/// The arguments of `dvc repro` / `dvc exp run`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DvcArgs {
    /// Whether the subcommand reproduces stages at all.
    pub runs: bool,
    /// Targets: stage names, `dvc.yaml` paths, `path:stage`, directories.
    pub targets: Vec<String>,
    /// `-R`: directory targets mean every `dvc.yaml` under them.
    pub recursive: bool,
    /// `-P`: every pipeline of the repository.
    pub all_pipelines: bool,
    /// `-s`: only the named stage, not what it depends on.
    pub single_item: bool,
}

impl DvcArgs {
    /// Reads dvc's command-line arguments (after `dvc`).
    pub(crate) fn parse(args: &[String]) -> DvcArgs {
        let mut out = DvcArgs::default();
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let rest = match words.as_slice() {
            ["repro", rest @ ..] => rest,
            ["exp" | "experiments", "run", rest @ ..] => rest,
            _ => return out,
        };
        out.runs = true;
        let mut i = 0;
        while i < rest.len() {
            let arg = rest[i];
            i += 1;
            match arg {
                "-R" | "--recursive" => out.recursive = true,
                "-P" | "--all-pipelines" => out.all_pipelines = true,
                "-s" | "--single-item" => out.single_item = true,
                "--dry" => out.runs = false,
                "-S" | "--set-param" | "-n" | "--name" | "-j" | "--jobs" | "-m" | "--message"
                | "--cwd" | "-w" => i += 1,
                _ if arg.starts_with('-') => {}
                _ => out.targets.push(arg.to_string()),
            }
        }
        out
    }
}

/// One stage of a `dvc.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stage {
    pub name: String,
    /// Commands with their 1-based lines.
    pub cmds: Vec<(String, usize)>,
    /// `wdir`, relative to the `dvc.yaml` directory.
    pub wdir: Option<String>,
    deps: Vec<String>,
    outs: Vec<String>,
}

/// The stages of a `dvc.yaml`, in file order.
pub(crate) fn stages(text: &str) -> Result<Vec<Stage>, YamlError> {
    let doc = yaml::parse(text)?;
    let Some(stages) = yaml::get(&doc, "stages").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    let stages_line = lines::find_key_line(text, "stages", 1, 0).unwrap_or(1);
    let mut out = Vec::new();
    for (key, stage) in stages {
        let Some(name) = yaml::scalar(key) else {
            continue;
        };
        // `foreach`/`do` stages keep their template under `do`.
        let body = yaml::get(stage, "do").unwrap_or(stage);
        let stage_line = lines::find_key_line(text, &name, stages_line, 1).unwrap_or(stages_line);
        let mut cursor = stage_line;
        let cmds = yaml::get(body, "cmd")
            .map(yaml::string_list)
            .unwrap_or_default()
            .into_iter()
            .map(|cmd| {
                let first = cmd
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .to_string();
                let line = lines::find_line(text, &first, cursor).unwrap_or(stage_line);
                cursor = line;
                (cmd, line)
            })
            .collect();
        out.push(Stage {
            name,
            cmds,
            wdir: yaml::get_str(body, "wdir").map(str::to_string),
            deps: paths_of(yaml::get(body, "deps")),
            outs: ["outs", "metrics", "plots"]
                .iter()
                .flat_map(|k| paths_of(yaml::get(body, k)))
                .collect(),
        });
    }
    Ok(out)
}

/// Paths of a `deps:`/`outs:` list whose items are strings or one-key maps.
fn paths_of(value: Option<&Value>) -> Vec<String> {
    let Some(items) = value.and_then(Value::as_sequence) else {
        return Vec::new();
    };
    items
        .iter()
        .flat_map(|item| match item {
            Value::Mapping(_) => yaml::keys(item),
            other => yaml::scalar(other).into_iter().collect(),
        })
        .collect()
}

/// The stages to run for `wanted` names (all when empty), upstream stages
/// first unless `single`; names that match no stage are returned apart.
pub(crate) fn select<'a>(
    stages: &'a [Stage],
    wanted: &[String],
    single: bool,
) -> (Vec<&'a Stage>, Vec<String>) {
    if wanted.is_empty() {
        return (stages.iter().collect(), Vec::new());
    }
    let mut chosen: Vec<usize> = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        match stages.iter().position(|s| &s.name == name) {
            Some(i) => add_with_upstream(stages, i, single, &mut chosen, 0),
            None => missing.push(name.clone()),
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    (chosen.into_iter().map(|i| &stages[i]).collect(), missing)
}

/// Adds stage `i` and, transitively, the stages whose outputs it depends on.
fn add_with_upstream(
    stages: &[Stage],
    i: usize,
    single: bool,
    chosen: &mut Vec<usize>,
    depth: usize,
) {
    if chosen.contains(&i) || depth > 64 {
        return;
    }
    chosen.push(i);
    if single {
        return;
    }
    for dep in &stages[i].deps {
        for (j, other) in stages.iter().enumerate() {
            let produces = other
                .outs
                .iter()
                .any(|out| dep == out || dep.starts_with(&format!("{out}/")));
            if produces {
                add_with_upstream(stages, j, single, chosen, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DVC_YAML: &str = "\
stages:
  prepare:
    cmd: python src/prepare.py data/raw.csv
    deps: [data/raw.csv, src/prepare.py]
    outs: [data/prepared]
  validate:
    wdir: checks
    cmd:
      - python validate.py ../data/prepared
      - great_expectations checkpoint run prepared
    deps: [data/prepared/train.csv]
  train:
    cmd: python src/train.py
    deps:
      - data/prepared
    outs:
      - models/model.pkl:
          cache: false
    metrics:
      - metrics.json
";

    #[test]
    fn reads_stages_with_lines() {
        let got = stages(DVC_YAML).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].cmds,
            [("python src/prepare.py data/raw.csv".to_string(), 3)]
        );
        assert_eq!(got[1].wdir.as_deref(), Some("checks"));
        assert_eq!(
            got[1].cmds[1],
            ("great_expectations checkpoint run prepared".to_string(), 10)
        );
        assert_eq!(got[2].outs, ["models/model.pkl", "metrics.json"]);
        assert!(stages("stages: [").is_err());
        assert!(stages("other: 1").unwrap().is_empty());
    }

    #[test]
    fn selects_upstream_stages() {
        let all = stages(DVC_YAML).unwrap();
        let (chosen, missing) = select(&all, &["train".to_string(), "nope".to_string()], false);
        let names: Vec<&str> = chosen.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["prepare", "train"]);
        assert_eq!(missing, ["nope"]);
        let (chosen, _) = select(&all, &["validate".to_string()], true);
        assert_eq!(chosen.len(), 1);
        assert_eq!(select(&all, &[], false).0.len(), 3);
    }

    #[test]
    fn parses_arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let args = DvcArgs::parse(&s(&["repro", "-s", "train", "-R", "pipelines"]));
        assert!(args.runs && args.single_item && args.recursive);
        assert_eq!(args.targets, ["train", "pipelines"]);
        let exp = DvcArgs::parse(&s(&["exp", "run", "-S", "lr=0.1", "--name", "x"]));
        assert!(exp.runs && exp.targets.is_empty());
        assert!(!DvcArgs::parse(&s(&["pull"])).runs);
    }
}
