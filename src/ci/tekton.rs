//! Tekton: `Task`/`ClusterTask` and `Pipeline` resources in any YAML file.
//! Each Pipeline is a job running its tasks' steps (`taskRef` by name or an
//! inline `taskSpec`); a Task no Pipeline uses is a job of its own. Steps'
//! `script` (unless it starts with a non-shell `#!`) and `command`/`args`
//! are the commands. A Pipeline runs without a person when a
//! `TriggerTemplate` creates its PipelineRuns behind an `EventListener`, or
//! on a schedule when a Kubernetes `CronJob` starts it; otherwise it is
//! started by hand (`tkn pipeline start`).

use std::collections::{HashMap, HashSet};

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::argo::container_command;
use super::job::{JobSpec, Pending};
use super::script::{self, Placer};
use super::yaml::{get, get_str};
use super::{lines, CiSystem, CiWarning};
use crate::text::find::contains;

/// One resource of interest and where it is.
struct Resource<'a> {
    path: &'a str,
    text: &'a str,
    line: usize,
    kind: String,
    name: String,
    doc: Value,
}

/// Every Tekton pipeline (and unused task) of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut resources: Vec<Resource<'_>> = Vec::new();
    // Texts of CronJobs that may start pipelines.
    let mut cronjobs: Vec<(Vec<String>, String)> = Vec::new();
    for (entry, text) in script::yaml_texts(index, |_| false) {
        let tekton = contains(text, "tekton.dev");
        let cron =
            contains(text, "CronJob") && (contains(text, "PipelineRun") || contains(text, "tkn "));
        if !tekton && !cron {
            continue;
        }
        let Some((text, docs)) = script::read_docs(index, &entry.path, "Tekton file", warnings)
        else {
            continue;
        };
        let mut cursor = 1;
        for doc in docs {
            let Some(kind) = get_str(&doc, "kind").map(str::to_string) else {
                continue;
            };
            if kind == "CronJob" {
                let schedule = get(&doc, "spec")
                    .and_then(|s| get_str(s, "schedule"))
                    .map(str::to_string);
                let written = serde_yaml::to_string(&doc).unwrap_or_default();
                cronjobs.push((schedule.into_iter().collect(), written));
                continue;
            }
            let is_tekton = get_str(&doc, "apiVersion").is_some_and(|v| v.contains("tekton.dev/"));
            if !is_tekton {
                continue;
            }
            let line = lines::find_line(text, &format!("kind: {kind}"), cursor).unwrap_or(cursor);
            cursor = line + 1;
            let name = get(&doc, "metadata")
                .and_then(|m| get_str(m, "name"))
                .unwrap_or(&kind)
                .to_string();
            resources.push(Resource {
                path: &entry.path,
                text,
                line,
                kind,
                name,
                doc,
            });
        }
    }
    let tasks: HashMap<&str, usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == "Task" || r.kind == "ClusterTask")
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let listener = resources.iter().any(|r| r.kind == "EventListener");
    let triggered: HashSet<String> = resources
        .iter()
        .filter(|r| r.kind == "TriggerTemplate")
        .flat_map(|r| {
            get(&r.doc, "spec")
                .and_then(|s| get(s, "resourcetemplates"))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    get(t, "spec")
                        .and_then(|s| get(s, "pipelineRef"))
                        .and_then(|p| get_str(p, "name"))
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut used_tasks = HashSet::new();
    let mut out = Vec::new();
    for r in resources.iter().filter(|r| r.kind == "Pipeline") {
        let spec = get(&r.doc, "spec");
        let mut commands = Vec::new();
        let entries = ["tasks", "finally"]
            .iter()
            .filter_map(|k| spec.and_then(|s| get(s, k)))
            .filter_map(Value::as_sequence)
            .flatten();
        for entry in entries {
            if let Some(inline) = get(entry, "taskSpec") {
                let mut placer = Placer::new(index, r.path, r.text, r.line);
                steps(inline, &mut placer, &mut commands);
            } else if let Some(&task) = get(entry, "taskRef")
                .and_then(|t| get_str(t, "name"))
                .and_then(|n| tasks.get(n))
            {
                used_tasks.insert(task);
                let t = &resources[task];
                let mut placer = Placer::new(index, t.path, t.text, t.line);
                placer.depth = 1;
                steps(
                    get(&t.doc, "spec").unwrap_or(&Value::Null),
                    &mut placer,
                    &mut commands,
                );
            }
        }
        let schedules: Vec<String> = cronjobs
            .iter()
            .filter(|(_, written)| names_word(written, &r.name))
            .flat_map(|(s, _)| s.clone())
            .collect();
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Tekton,
            name: format!("{} › {}", r.path, r.name),
            file: r.path.to_string(),
            line: r.line,
            automatic: (listener && triggered.contains(&r.name)) || !schedules.is_empty(),
            on_change: None,
            schedules,
            commands,
        });
    }
    for (i, t) in resources.iter().enumerate() {
        if !tasks.values().any(|&v| v == i) || used_tasks.contains(&i) {
            continue;
        }
        let mut placer = Placer::new(index, t.path, t.text, t.line);
        let mut commands = Vec::new();
        steps(
            get(&t.doc, "spec").unwrap_or(&Value::Null),
            &mut placer,
            &mut commands,
        );
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Tekton,
            name: format!("{} › {}", t.path, t.name),
            file: t.path.to_string(),
            line: t.line,
            schedules: Vec::new(),
            automatic: false,
            on_change: None,
            commands,
        });
    }
    out
}

/// Whether `name` appears in `text` as a whole word (`ci` is not in `circle`).
fn names_word(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .any(|word| word == name)
}

/// The commands of a task spec's steps.
fn steps(spec: &Value, placer: &mut Placer<'_>, out: &mut Vec<Pending>) {
    for step in get(spec, "steps")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        if let Some(body) = get_str(step, "script") {
            let first = body.lines().next().unwrap_or("");
            let shell = !first.starts_with("#!") || first.ends_with("sh") || first.contains("bash");
            if shell {
                placer.block(body, "", out);
            }
        } else {
            container_command(step, placer, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASKS: &str = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: unit-tests\nspec:\n  steps:\n    - name: test\n      image: python\n      script: |\n        pip install -e .\n        pytest tests\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: lonely\nspec:\n  steps:\n    - name: py\n      script: |\n        #!/usr/bin/env python3\n        print('x')\n    - name: lint\n      command: [flake8, src]\n";

    const PIPELINE: &str = "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: ci\nspec:\n  tasks:\n    - name: test\n      taskRef:\n        name: unit-tests\n    - name: train\n      taskSpec:\n        steps:\n          - name: train\n            script: python train.py\n---\napiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerTemplate\nmetadata:\n  name: on-push\nspec:\n  resourcetemplates:\n    - apiVersion: tekton.dev/v1\n      kind: PipelineRun\n      spec:\n        pipelineRef:\n          name: ci\n---\napiVersion: triggers.tekton.dev/v1beta1\nkind: EventListener\nmetadata:\n  name: listener\n";

    #[test]
    fn pipelines_tasks_and_triggers() {
        let index = RepoIndex::from_memory([
            ("tekton/tasks.yaml", TASKS),
            ("tekton/pipeline.yaml", PIPELINE),
            ("tekton/nightly.yaml", "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: retrain\nspec:\n  tasks: []\n---\napiVersion: batch/v1\nkind: CronJob\nspec:\n  schedule: \"0 1 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - args: [tkn, pipeline, start, retrain]\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<_> = specs.iter().map(JobSpec::summary).collect();
        let cron = ["0 1 * * *".to_string()];
        assert_eq!(
            got,
            [
                ("tekton/nightly.yaml › retrain", 2, true, &cron[..], vec![]),
                (
                    "tekton/pipeline.yaml › ci",
                    2,
                    true,
                    &[][..],
                    vec!["pip install -e .", "pytest tests", "python train.py"]
                ),
                (
                    "tekton/tasks.yaml › lonely",
                    14,
                    false,
                    &[][..],
                    vec!["flake8 src"]
                ),
            ]
        );
        assert_eq!(
            (
                specs[1].commands[1].file.as_str(),
                specs[1].commands[1].line
            ),
            ("tekton/tasks.yaml", 11)
        );
    }
}
