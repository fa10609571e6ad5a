//! Bitbucket Pipelines: `bitbucket-pipelines.yml`. Every step of the
//! `default`, `branches`, `pull-requests` and `tags` pipelines is a job that
//! runs on pushes; `custom` pipelines are started by hand (their schedules
//! are set in the web UI), and so is a step with `trigger: manual`. Steps
//! inside `parallel` and `stage` blocks count too; YAML anchors shared
//! through `definitions:` are resolved by the parser. `pipe:` items run
//! published pipes, not repository code, and are skipped.

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::JobSpec;
use super::script::{self, warning, Placer};
use super::yaml::{self, get, get_str};
use super::{CiSystem, CiWarning};

const FILE: &str = "bitbucket-pipelines.yml";
/// How deeply `parallel`/`stage` blocks nest.
const MAX_NESTING: usize = 4;

/// Every step of `bitbucket-pipelines.yml`.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    if !index.is_file(FILE) {
        return Vec::new();
    }
    let Some((text, doc)) = script::read_doc(index, FILE, "Bitbucket Pipelines file", warnings)
    else {
        return Vec::new();
    };
    let Some(pipelines) = get(&doc, "pipelines").and_then(Value::as_mapping) else {
        warnings.push(warning(FILE, None, "this file has no `pipelines:` mapping"));
        return Vec::new();
    };
    let mut reader = Reader {
        placer: Placer::new(index, FILE, text, 1),
        out: Vec::new(),
    };
    for (section, value) in pipelines {
        let Some(section) = yaml::scalar(section) else {
            continue;
        };
        let manual = section == "custom";
        if section == "default" {
            reader.items(value, &section, manual, 0);
            continue;
        }
        for (pattern, list) in value.as_mapping().into_iter().flatten() {
            let label = format!("{section} › {}", yaml::scalar(pattern).unwrap_or_default());
            reader.items(list, &label, manual, 0);
        }
    }
    reader.out
}

struct Reader<'a> {
    placer: Placer<'a>,
    out: Vec<JobSpec>,
}

impl Reader<'_> {
    fn items(&mut self, list: &Value, label: &str, manual: bool, nesting: usize) {
        if nesting > MAX_NESTING {
            return;
        }
        let items: Vec<&Value> = match list {
            Value::Sequence(items) => items.iter().collect(),
            // `parallel: {steps: [...]}`, `stage: {steps: [...]}`.
            Value::Mapping(_) => get(list, "steps")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
        for item in items {
            if let Some(step) = get(item, "step") {
                self.step(step, label, manual);
            } else if let Some(inner) = get(item, "parallel").or_else(|| get(item, "stage")) {
                self.items(inner, label, manual, nesting + 1);
            }
        }
    }

    fn step(&mut self, step: &Value, label: &str, manual: bool) {
        let name = get_str(step, "name").map(str::to_string);
        let line = match &name {
            Some(name) => self.placer.seek(name),
            None => self.placer.seek("step:"),
        };
        let scripts: Vec<String> = ["script", "after-script"]
            .iter()
            .filter_map(|k| get(step, k))
            .filter_map(Value::as_sequence)
            .flatten()
            .filter_map(yaml::scalar)
            .collect();
        let mut commands = Vec::new();
        self.placer.blocks(&scripts, "", &mut commands);
        let step_manual = get_str(step, "trigger") == Some("manual");
        self.out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Bitbucket,
            name: format!(
                "{FILE} › {label} › {}",
                name.unwrap_or_else(|| format!("step {}", self.out.len() + 1))
            ),
            file: FILE.to_string(),
            line,
            schedules: Vec::new(),
            automatic: !manual && !step_manual,
            on_change: None,
            commands,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINES: &str = r#"definitions:
  steps:
    - step: &test
        name: Unit tests
        script:
          - pip install -r requirements.txt
          - pytest tests
pipelines:
  default:
    - step: *test
  branches:
    main:
      - parallel:
          - step:
              name: Lint
              script:
                - flake8 .
                - pipe: atlassian/slack-notify:2.0.0
      - step:
          name: Deploy
          trigger: manual
          script:
            - ./deploy.sh
  custom:
    retrain:
      - step:
          name: Retrain
          script:
            - python train.py
"#;

    #[test]
    fn sections_steps_and_manual_triggers() {
        let index = RepoIndex::from_memory([(FILE, PIPELINES)]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<(&str, usize, bool, Vec<&str>)> = specs
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.line,
                    s.automatic,
                    s.commands.iter().map(|c| c.text.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "bitbucket-pipelines.yml › default › Unit tests",
                    4,
                    true,
                    vec!["pip install -r requirements.txt", "pytest tests"]
                ),
                (
                    "bitbucket-pipelines.yml › branches › main › Lint",
                    15,
                    true,
                    vec!["flake8 ."]
                ),
                (
                    "bitbucket-pipelines.yml › branches › main › Deploy",
                    20,
                    false,
                    vec!["./deploy.sh"]
                ),
                (
                    "bitbucket-pipelines.yml › custom › retrain › Retrain",
                    27,
                    false,
                    vec!["python train.py"]
                ),
            ]
        );
        assert_eq!(specs[0].commands[1].line, 7);
    }
}
