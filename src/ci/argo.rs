//! Argo Workflows: `Workflow`, `WorkflowTemplate`, `ClusterWorkflowTemplate`
//! and `CronWorkflow` resources in any YAML file. Each is a job whose
//! commands are its templates' container `command`/`args` and shell
//! `script.source`, plus those of the templates it references
//! (`workflowTemplateRef`, `templateRef`). A `CronWorkflow` runs on its
//! schedule; the others run when someone (or CI, which mlscore follows
//! separately through `argo submit x.yaml`) submits them: manual.

use std::collections::{HashMap, HashSet};

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::script::{self, Placer};
use super::yaml::{self, get, get_str};
use super::{CiSystem, CiWarning};

const KINDS: &[&str] = &[
    "Workflow",
    "WorkflowTemplate",
    "ClusterWorkflowTemplate",
    "CronWorkflow",
];
/// How many referenced templates one workflow pulls in.
const MAX_REFS: usize = 32;
/// How deeply a YAML value is searched for references.
const MAX_VALUE_DEPTH: usize = 32;

/// One Argo resource and where it is.
struct Resource<'a> {
    path: &'a str,
    text: &'a str,
    line: usize,
    kind: String,
    name: String,
    doc: Value,
}

/// Every Argo workflow of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut resources = Vec::new();
    for (entry, text) in script::yaml_texts(index, |_| false) {
        if !text.contains("argoproj.io") || !KINDS.iter().any(|k| text.contains(k)) {
            continue;
        }
        let Some((text, docs)) =
            script::read_docs(index, &entry.path, "Argo workflow file", warnings)
        else {
            continue;
        };
        let mut cursor = 1;
        for doc in docs {
            let is_argo =
                get_str(&doc, "apiVersion").is_some_and(|v| v.starts_with("argoproj.io/"));
            let Some(kind) = get_str(&doc, "kind").filter(|k| is_argo && KINDS.contains(k)) else {
                continue;
            };
            let line =
                super::lines::find_line(text, &format!("kind: {kind}"), cursor).unwrap_or(cursor);
            cursor = line + 1;
            let meta = get(&doc, "metadata");
            let name = meta
                .and_then(|m| get_str(m, "name").or_else(|| get_str(m, "generateName")))
                .unwrap_or(kind)
                .to_string();
            resources.push(Resource {
                path: &entry.path,
                text,
                line,
                kind: kind.to_string(),
                name,
                doc,
            });
        }
    }
    let by_name: HashMap<&str, usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind.ends_with("WorkflowTemplate"))
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (i, resource) in resources.iter().enumerate() {
        let cron = resource.kind == "CronWorkflow";
        let spec = get(&resource.doc, "spec");
        let schedules: Vec<String> = if cron {
            spec.map(|s| {
                let mut all = script::scripts(get(s, "schedules"));
                all.extend(get_str(s, "schedule").map(str::to_string));
                all
            })
            .unwrap_or_default()
        } else {
            Vec::new()
        };
        // The resource itself, then the templates it references.
        let mut queue = vec![i];
        let mut seen = HashSet::from([i]);
        let mut commands = Vec::new();
        while let Some(current) = queue.pop() {
            let r = &resources[current];
            let mut placer = Placer::new(index, r.path, r.text, r.line);
            placer.depth = usize::from(current != i);
            let mut refs = Vec::new();
            references(&r.doc, &mut refs, 0);
            workflow_commands(&r.doc, &mut placer, &mut commands);
            for name in refs {
                if let Some(&found) = by_name.get(name.as_str()) {
                    if seen.len() < MAX_REFS && seen.insert(found) {
                        queue.push(found);
                    }
                }
            }
        }
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Argo,
            name: format!("{} › {}", resource.path, resource.name),
            file: resource.path.to_string(),
            line: resource.line,
            automatic: cron && !schedules.is_empty(),
            on_change: None,
            schedules,
            commands,
        });
    }
    out
}

/// Names of the workflow templates `value` references.
fn references(value: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match value {
        Value::Mapping(map) => {
            for (key, item) in map {
                if matches!(key.as_str(), Some("workflowTemplateRef" | "templateRef")) {
                    out.extend(get_str(item, "name").map(str::to_string));
                }
                references(item, out, depth + 1);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| references(i, out, depth + 1)),
        _ => {}
    }
}

/// The container and script commands of a resource's templates.
fn workflow_commands(doc: &Value, placer: &mut Placer<'_>, out: &mut Vec<Pending>) {
    let spec = get(doc, "spec");
    let spec = spec.and_then(|s| get(s, "workflowSpec")).or(spec);
    let templates = spec
        .and_then(|s| get(s, "templates"))
        .and_then(Value::as_sequence);
    for template in templates.into_iter().flatten() {
        let containers = get(template, "containerSet")
            .and_then(|c| get(c, "containers"))
            .and_then(Value::as_sequence)
            .map(|c| c.iter().collect())
            .unwrap_or_else(|| get(template, "container").into_iter().collect::<Vec<_>>());
        for container in containers {
            container_command(container, placer, out);
        }
        if let Some(script_def) = get(template, "script") {
            let runner = script::scripts(get(script_def, "command"));
            let shell = runner
                .first()
                .is_some_and(|r| matches!(super::paths::file_name(r), "bash" | "sh"));
            if let (true, Some(source)) = (shell, get(script_def, "source").and_then(yaml::scalar))
            {
                placer.block(&source, "", out);
            }
        }
    }
}

/// `command` + `args` of a container; `sh -c '…'` scripts are split.
pub(crate) fn container_command(
    container: &Value,
    placer: &mut Placer<'_>,
    out: &mut Vec<Pending>,
) {
    let command = script::scripts(get(container, "command"));
    let args = script::scripts(get(container, "args"));
    let mut words = command;
    words.extend(args);
    let shell = words
        .first()
        .is_some_and(|w| matches!(super::paths::file_name(w), "bash" | "sh"));
    if shell
        && words
            .get(1)
            .is_some_and(|w| w == "-c" || w == "-ec" || w == "-xc")
    {
        placer.block(&words[2..].join("\n"), "", out);
    } else if !words.is_empty() {
        placer.argv(&words, "", out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata:\n  name: training\nspec:\n  templates:\n    - name: train\n      container:\n        image: trainer\n        command: [python, train.py]\n        args: [\"--epochs\", \"{{inputs.parameters.epochs}}\"]\n    - name: check\n      script:\n        image: alpine\n        command: [sh]\n        source: |\n          pytest tests/model\n    - name: inline-python\n      script:\n        command: [python]\n        source: |\n          print('not shell')\n";

    const CRON: &str = "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 3 * * *\"\n  workflowSpec:\n    workflowTemplateRef:\n      name: training\n---\napiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: evaluate-\nspec:\n  templates:\n    - name: eval\n      container:\n        command: [sh, -c]\n        args: [\"cd eval && python evaluate.py\"]\n";

    #[test]
    fn workflows_templates_and_cron() {
        let index = RepoIndex::from_memory([
            ("workflows/training.yaml", TEMPLATE),
            ("workflows/schedules.yaml", CRON),
            (
                "workflows/broken.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: [\n",
            ),
            ("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let got: Vec<_> = specs.iter().map(JobSpec::summary).collect();
        let cron = ["0 3 * * *".to_string()];
        assert_eq!(
            got,
            [
                (
                    "workflows/schedules.yaml › nightly",
                    2,
                    true,
                    &cron[..],
                    vec![
                        "python train.py --epochs '{{inputs.parameters.epochs}}'",
                        "pytest tests/model"
                    ]
                ),
                (
                    "workflows/schedules.yaml › evaluate-",
                    12,
                    false,
                    &[][..],
                    vec!["cd eval", "python evaluate.py"]
                ),
                (
                    "workflows/training.yaml › training",
                    2,
                    false,
                    &[][..],
                    vec![
                        "python train.py --epochs '{{inputs.parameters.epochs}}'",
                        "pytest tests/model"
                    ]
                ),
            ]
        );
        // The cron job reaches the template's commands in the template's file.
        assert_eq!(specs[0].commands[0].file, "workflows/training.yaml");
        assert_eq!(specs[0].commands[1].line, 17);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "workflows/broken.yaml");
    }
}
