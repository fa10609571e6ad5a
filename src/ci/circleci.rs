//! CircleCI: `.circleci/config.yml`. Jobs run when a workflow lists them
//! (without `workflows:`, the `build` job runs on every push); a workflow
//! with `triggers: - schedule:` runs on its cron expressions; one gated by a
//! pipeline parameter that defaults to off is started by hand or by the API.
//! `run:` steps are the commands, in the job's checkout (`working_directory`
//! is where the repository is checked out); reusable `commands:` are
//! expanded with their parameters; orb commands and orb jobs are defined
//! outside the repository and are skipped with a warning.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::{Mapping, Value};

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::script::{self, warning, Placer};
use super::yaml::{self, get, get_str};
use super::{lines, paths, CiSystem, CiWarning};

const FILES: &[&str] = &[".circleci/config.yml", ".circleci/config.yaml"];

/// The schedule of a workflow run by a scheduled pipeline: CircleCI keeps
/// those cron expressions in project settings, not in the repository.
pub const CIRCLECI_SCHEDULE: &str = "circleci scheduled pipeline";

/// How deeply reusable commands may call each other.
const MAX_NESTING: usize = 6;

/// Steps that run nothing from the repository.
const BUILTIN_STEPS: &[&str] = &[
    "checkout",
    "setup_remote_docker",
    "add_ssh_keys",
    "restore_cache",
    "save_cache",
    "store_artifacts",
    "store_test_results",
    "persist_to_workspace",
    "attach_workspace",
];

/// How workflows start a job.
#[derive(Debug, Default, Clone)]
struct Usage {
    automatic: bool,
    schedules: Vec<String>,
    /// Parameter values the first workflow entry passes.
    params: Mapping,
}

/// Every CircleCI job of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let Some(path) = FILES.iter().copied().find(|p| index.is_file(p)) else {
        return Vec::new();
    };
    let Some((text, doc)) = script::read_doc(index, path, "CircleCI config", warnings) else {
        return Vec::new();
    };
    let Some(job_map) = get(&doc, "jobs").and_then(Value::as_mapping) else {
        warnings.push(warning(
            path,
            None,
            "this CircleCI config has no `jobs:` mapping",
        ));
        return Vec::new();
    };
    let pipeline_params = declared(get(&doc, "parameters"));
    let usage = workflow_usage(path, text, &doc, job_map, &pipeline_params, warnings);
    let jobs_line = lines::find_top_key(text, "jobs").unwrap_or(1);
    let commands_line = lines::find_top_key(text, "commands").unwrap_or(1);
    let mut out = Vec::new();
    for (key, job) in job_map {
        let Some(name) = yaml::scalar(key) else {
            continue;
        };
        let line = lines::find_key_line(text, &name, jobs_line + 1, 1).unwrap_or(jobs_line);
        let used = usage.get(&name).cloned().unwrap_or_default();
        let mut params = declared(get(job, "parameters"));
        for (k, v) in &used.params {
            params.insert(k.clone(), v.clone());
        }
        let mut reader = Reader {
            index,
            warnings,
            file: path,
            text,
            doc: &doc,
            commands_line,
            pipeline_params: &pipeline_params,
            job_wd: get_str(job, "working_directory")
                .unwrap_or("~/project")
                .trim_end_matches('/')
                .to_string(),
        };
        let mut commands = Vec::new();
        let mut placer = Placer::new(index, path, text, line);
        reader.steps(
            get(job, "steps"),
            &params,
            &mut placer,
            &mut Vec::new(),
            &mut commands,
        );
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Circleci,
            name: format!("{} › {name}", paths::file_name(path)),
            file: path.to_string(),
            line,
            schedules: used.schedules,
            automatic: used.automatic,
            on_change: None,
            commands,
        });
    }
    out
}

/// The parameters a job, command or the pipeline declares, with defaults.
fn declared(params: Option<&Value>) -> Mapping {
    params
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), get(v, "default")?.clone())))
        .collect()
}

/// How each job is started, from the workflows that list it.
fn workflow_usage(
    path: &str,
    text: &str,
    doc: &Value,
    job_map: &Mapping,
    pipeline_params: &Mapping,
    warnings: &mut Vec<CiWarning>,
) -> HashMap<String, Usage> {
    let mut usage: HashMap<String, Usage> = HashMap::new();
    let Some(workflows) = get(doc, "workflows").and_then(Value::as_mapping) else {
        // Config 2.0 without workflows runs the `build` job on every push.
        usage.insert(
            "build".into(),
            Usage {
                automatic: true,
                ..Usage::default()
            },
        );
        return usage;
    };
    for (name, workflow) in workflows {
        if name.as_str() == Some("version") || !workflow.is_mapping() {
            continue;
        }
        let (automatic, schedules) = workflow_triggers(workflow, pipeline_params);
        let entries = get(workflow, "jobs").and_then(Value::as_sequence);
        for entry in entries.into_iter().flatten() {
            let (job, settings) = match entry {
                Value::Mapping(map) if map.len() == 1 => {
                    let (k, v) = map.iter().next().expect("one entry");
                    (yaml::scalar(k).unwrap_or_default(), Some(v))
                }
                other => (yaml::scalar(other).unwrap_or_default(), None),
            };
            if settings.is_some_and(|s| get_str(s, "type") == Some("approval")) {
                continue;
            }
            if !job_map.contains_key(job.as_str()) {
                let line = lines::find_line(text, &job, 1);
                let message = if job.contains('/') {
                    format!("orb job `{job}` is defined outside the repository; what it runs is not counted")
                } else {
                    format!("workflow job `{job}` names no job of this config")
                };
                warnings.push(warning(path, line, message));
                continue;
            }
            let entry = usage.entry(job).or_default();
            if entry.params.is_empty() {
                if let Some(map) = settings.and_then(Value::as_mapping) {
                    entry.params = map.clone();
                }
            }
            entry.automatic |= automatic;
            for cron in &schedules {
                if !entry.schedules.contains(cron) {
                    entry.schedules.push(cron.clone());
                }
            }
        }
    }
    usage
}

/// (automatic, schedules) of a workflow.
fn workflow_triggers(workflow: &Value, pipeline_params: &Mapping) -> (bool, Vec<String>) {
    let crons: Vec<String> = get(workflow, "triggers")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|t| get(t, "schedule").and_then(|s| get_str(s, "cron")))
        .map(str::to_string)
        .collect();
    if !crons.is_empty() {
        return (true, crons);
    }
    for (key, runs_when_on) in [("when", true), ("unless", false)] {
        let Some(condition) = get(workflow, key) else {
            continue;
        };
        let written = serde_yaml::to_string(condition).unwrap_or_default();
        if written.contains("scheduled_pipeline") {
            return (true, vec![CIRCLECI_SCHEDULE.to_string()]);
        }
        if let Some(caps) = PIPELINE_PARAM.captures(&written) {
            // Gated by a pipeline parameter: automatic only when its default
            // lets the workflow run on a push.
            let default = lookup(pipeline_params, &caps[1]).and_then(Value::as_bool);
            let bare = written.trim().trim_matches(['\'', '"']).trim() == caps[0].trim();
            let automatic = bare && default == Some(runs_when_on);
            return (automatic, Vec::new());
        }
    }
    (true, Vec::new())
}

static PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<<\s*parameters\.([A-Za-z0-9_.-]+)\s*>>").expect("valid regex"));
static PIPELINE_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<<\s*pipeline\.parameters\.([A-Za-z0-9_.-]+)\s*>>").expect("valid regex")
});

fn lookup<'v>(params: &'v Mapping, name: &str) -> Option<&'v Value> {
    params.get(name)
}

/// Reads the steps of one job.
struct Reader<'a, 'w> {
    index: &'a RepoIndex,
    warnings: &'w mut Vec<CiWarning>,
    file: &'a str,
    text: &'a str,
    doc: &'a Value,
    commands_line: usize,
    pipeline_params: &'a Mapping,
    /// Where the job checks the repository out.
    job_wd: String,
}

impl<'a> Reader<'a, '_> {
    fn steps(
        &mut self,
        steps: Option<&Value>,
        params: &Mapping,
        placer: &mut Placer<'a>,
        stack: &mut Vec<String>,
        out: &mut Vec<Pending>,
    ) {
        for step in steps.and_then(Value::as_sequence).into_iter().flatten() {
            let (name, body) = match step {
                Value::Mapping(map) if map.len() == 1 => {
                    let (k, v) = map.iter().next().expect("one entry");
                    (yaml::scalar(k).unwrap_or_default(), Some(v))
                }
                other => (yaml::scalar(other).unwrap_or_default(), None),
            };
            match name.as_str() {
                "run" | "deploy" => {
                    let (command, wd) = match body {
                        Some(Value::Mapping(_)) => (
                            body.and_then(|b| get(b, "command")).and_then(yaml::scalar),
                            body.and_then(|b| get_str(b, "working_directory")),
                        ),
                        Some(other) => (yaml::scalar(other), None),
                        None => (None, None),
                    };
                    if let Some(command) = command {
                        let command = self.fill(&command, params);
                        let cwd = self.workdir(wd.map(|w| self.fill(w, params)).as_deref());
                        placer.block(&command, &cwd, out);
                    }
                }
                "when" | "unless" => {
                    // Conditions are on parameters; the steps count as run,
                    // as GitHub steps with `if:` do.
                    let inner = body.and_then(|b| get(b, "steps"));
                    self.steps(inner, params, placer, stack, out);
                }
                _ if BUILTIN_STEPS.contains(&name.as_str()) || name.is_empty() => {}
                _ => self.command(&name, body, params, placer, stack, out),
            }
        }
    }

    /// A reusable command of this config, or an orb command.
    fn command(
        &mut self,
        name: &str,
        args: Option<&Value>,
        params: &Mapping,
        placer: &mut Placer<'a>,
        stack: &mut Vec<String>,
        out: &mut Vec<Pending>,
    ) {
        let line = Some(placer.seek(&format!("- {name}")));
        let Some(def) = get(self.doc, "commands").and_then(|c| get(c, name)) else {
            let message = if name.contains('/') {
                format!("orb command `{name}` runs steps defined outside the repository; they are not counted")
            } else {
                format!("step `{name}` is not a command of this config; it is not counted")
            };
            self.warnings.push(warning(self.file, line, message));
            return;
        };
        if stack.len() >= MAX_NESTING || stack.iter().any(|s| s == name) {
            self.warnings.push(warning(self.file, line, format!("command `{name}` calls itself or nests too deeply; mlscore stopped expanding it here")));
            return;
        }
        let mut inner_params = declared(get(def, "parameters"));
        for (k, v) in args.and_then(Value::as_mapping).into_iter().flatten() {
            let v = match v {
                Value::String(s) => Value::String(self.fill(s, params)),
                other => other.clone(),
            };
            inner_params.insert(k.clone(), v);
        }
        let def_line = lines::find_key_line(self.text, name, self.commands_line + 1, 1)
            .unwrap_or(self.commands_line);
        let mut inner = Placer::new(self.index, self.file, self.text, def_line);
        stack.push(name.to_string());
        self.steps(get(def, "steps"), &inner_params, &mut inner, stack, out);
        stack.pop();
    }

    /// `<< parameters.x >>` and `<< pipeline.parameters.x >>` filled in.
    fn fill(&self, text: &str, params: &Mapping) -> String {
        if !text.contains("<<") {
            return text.to_string();
        }
        let with = |table: &Mapping, caps: &regex::Captures<'_>| {
            lookup(table, &caps[1])
                .and_then(yaml::scalar)
                .unwrap_or_else(|| caps[0].to_string())
        };
        let once = PIPELINE_PARAM.replace_all(text, |caps: &regex::Captures<'_>| {
            with(self.pipeline_params, caps)
        });
        PARAM
            .replace_all(&once, |caps: &regex::Captures<'_>| with(params, caps))
            .into_owned()
    }

    /// A step's `working_directory`, relative to the checkout.
    fn workdir(&self, wd: Option<&str>) -> String {
        let Some(wd) = wd.map(str::trim) else {
            return String::new();
        };
        let inside = [self.job_wd.as_str(), "~/project"]
            .iter()
            .find_map(|root| {
                wd.strip_prefix(root)
                    .filter(|r| r.is_empty() || r.starts_with('/'))
            })
            .map(|rest| rest.trim_start_matches('/'));
        match inside {
            Some(rest) => paths::join("", rest).unwrap_or_default(),
            // Elsewhere on the machine: not the repository; commands there
            // are read from the checkout root.
            None => paths::join("", wd).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"version: 2.1
orbs:
  python: circleci/python@2.1
parameters:
  run-release:
    type: boolean
    default: false
commands:
  install:
    parameters:
      extras:
        type: string
        default: ""
    steps:
      - run: pip install -e .<< parameters.extras >>
      - install
jobs:
  test:
    working_directory: ~/repo
    docker:
      - image: cimg/python:3.11
    parameters:
      suite:
        type: string
        default: tests
    steps:
      - checkout
      - python/install-packages:
          pkg-manager: pip
      - install:
          extras: "[dev]"
      - run:
          name: Tests
          working_directory: ~/repo/ml
          command: |
            cd pipeline
            pytest << parameters.suite >>
  retrain:
    docker:
      - image: cimg/python:3.11
    steps:
      - run: python train.py
  release:
    docker:
      - image: cimg/python:3.11
    steps:
      - run: make release
  unused:
    docker:
      - image: cimg/python:3.11
    steps:
      - run: echo never
workflows:
  ci:
    jobs:
      - test:
          suite: tests/unit
      - hold:
          type: approval
      - python/test
  nightly:
    triggers:
      - schedule:
          cron: "0 4 * * *"
          filters:
            branches:
              only: main
    jobs:
      - retrain
  release:
    when: << pipeline.parameters.run-release >>
    jobs:
      - release
"#;

    fn index() -> RepoIndex {
        RepoIndex::from_memory([(".circleci/config.yml", CONFIG), ("ml/pipeline/x.py", "")])
    }

    #[test]
    fn jobs_workflows_schedules_and_manual_gates() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        let summary: Vec<(&str, usize, bool, &[String])> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.line, s.automatic, s.schedules.as_slice()))
            .collect();
        let cron = ["0 4 * * *".to_string()];
        assert_eq!(
            summary,
            [
                ("config.yml › test", 18, true, &[][..]),
                ("config.yml › retrain", 38, true, &cron[..]),
                ("config.yml › release", 43, false, &[][..]),
                ("config.yml › unused", 48, false, &[][..]),
            ]
        );
        let mut lines: Vec<(Option<usize>, bool)> = warnings
            .iter()
            .map(|w| (w.line, w.message.contains("orb")))
            .collect();
        lines.sort();
        // The orb job, the orb command, and the command that calls itself.
        assert_eq!(
            lines,
            [(Some(16), false), (Some(28), true), (Some(60), true)],
            "{warnings:#?}"
        );
    }

    #[test]
    fn run_steps_commands_parameters_and_directories() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        assert_eq!(
            specs[0].command_places(),
            [
                ("pip install -e .[dev]", 15, ""),
                ("cd pipeline", 36, "ml"),
                ("pytest tests/unit", 37, "ml/pipeline"),
            ]
        );
    }

    #[test]
    fn config_without_workflows_runs_build() {
        let index = RepoIndex::from_memory([(
            ".circleci/config.yml",
            "version: 2\njobs:\n  build:\n    steps:\n      - run: nosetests\n  other:\n    steps:\n      - run: make x\n",
        )]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let flags: Vec<bool> = specs.iter().map(|s| s.automatic).collect();
        assert_eq!(flags, [true, false]);
        assert_eq!(specs[0].commands[0].text, "nosetests");
        assert_eq!(specs[0].commands[0].line, 5);
    }
}
