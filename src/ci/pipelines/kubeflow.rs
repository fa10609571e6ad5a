//! Kubeflow Pipelines and Vertex AI Pipelines: `@dsl.pipeline` functions
//! whose steps are calls of components (`@dsl.component` functions, loaded
//! or wrapped components, `dsl.ContainerOp`), and compiled specs
//! (`pipelineSpec`/`deploymentSpec`). A pipeline is submitted by a file that
//! defines or imports it and calls a client (`create_run_from_pipeline_func`,
//! `aiplatform.PipelineJob(…).submit()`); one with a recurring run or a
//! Vertex schedule created in code is scheduled.

use std::collections::HashMap;

use rayon::prelude::*;
use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{paths, yaml, CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{
    api_submitters, imports_file, optional_container_command, pipeline_job, python_files, resolve,
    skipped, PyFile, MAX_PIPELINES,
};
use crate::text::find::contains;

/// Calls that run a pipeline.
const SUBMIT: &[&str] = &[
    "create_run_from_pipeline_func(",
    "create_run_from_pipeline_package(",
    "create_run_from_job_spec(",
    "create_recurring_run(",
    "run_pipeline(",
    "PipelineJob(",
    "create_schedule(",
];
/// Decorators and wrappers that make a function a component.
const COMPONENT_DECORATORS: &[&str] = &[
    "component",
    "container_component",
    "create_component_from_func",
    "func_to_container_op",
];

/// Every KFP / Vertex AI pipeline of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(index, "Kubeflow Pipelines", "kfp", |_| true, warnings);
    let components = components(index, &files);
    let mut out = Vec::new();
    for file in &files {
        for def in file.defs.iter().filter(|d| !d.is_class) {
            let Some(decorator) = def.decorated(&["pipeline"]) else {
                continue;
            };
            if out.len() >= MAX_PIPELINES {
                break;
            }
            let name = pysrc::calls(decorator, &["pipeline"])
                .first()
                .and_then(|c| c.kwarg("name"))
                .and_then(pysrc::string)
                .unwrap_or_else(|| def.name.clone());
            let mut job = file.defined_pipeline(CiSystem::Kubeflow, def.line, "pipeline", &name);
            for stmt in file.body(def) {
                for call in pysrc::calls(&stmt.text, &[]) {
                    if let Some(step) = component_step(index, file, stmt.line, &call, &components) {
                        job.commands.push(step);
                    }
                }
            }
            job.submitted_by = schedules_for(index, file.path, warnings);
            job.submitted_by
                .extend(api_submitters(index, file.path, SUBMIT));
            out.push(job);
        }
    }
    out.extend(compiled_specs(index, warnings));
    out
}

/// Component names of the repository and the files that define them.
fn components(index: &RepoIndex, files: &[PyFile<'_>]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for file in files {
        for def in &file.defs {
            if def.decorated(COMPONENT_DECORATORS).is_some() {
                out.insert(def.name.clone(), vec![file.path.to_string()]);
            }
        }
        // `train_op = create_component_from_func(train)`,
        // `load_op = load_component_from_file("component.yaml")`.
        for stmt in file.source.stmts.iter().filter(|s| s.indent == 0) {
            let Some((left, right)) = stmt.text.split_once('=') else {
                continue;
            };
            let left = left.trim();
            if !left.chars().all(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some(call) = pysrc::calls(right, &[]).into_iter().next() else {
                continue;
            };
            let found = match call.name() {
                "create_component_from_func" | "func_to_container_op" | "component" => call
                    .positional(0)
                    .map(|f| resolve::callable(index, file.path, &file.source, f))
                    .unwrap_or_default(),
                "load_component_from_file" => call
                    .positional(0)
                    .and_then(pysrc::string)
                    .and_then(|p| resolve::path(index, file.path, "", &p))
                    .into_iter()
                    .collect(),
                _ => continue,
            };
            if !found.is_empty() {
                out.insert(left.to_string(), found);
            }
        }
    }
    out
}

/// The step a call in a pipeline body stands for, if it is a component.
fn component_step(
    index: &RepoIndex,
    file: &PyFile<'_>,
    line: usize,
    call: &Call<'_>,
    components: &HashMap<String, Vec<String>>,
) -> Option<Pending> {
    let name = call.name();
    if name == "ContainerOp" {
        let step = call
            .kwarg("name")
            .and_then(pysrc::string)
            .unwrap_or_else(|| "ContainerOp".into());
        let words: Vec<String> = ["command", "arguments"]
            .iter()
            .filter_map(|k| call.kwarg(k))
            .flat_map(|v| pysrc::string_list(v).unwrap_or_default())
            .collect();
        if words.is_empty() {
            return Some(Pending::step(
                format!("{step}: ContainerOp"),
                file.path,
                line,
                Vec::new(),
            ));
        }
        return Some(optional_container_command(&words, file.path, line));
    }
    // A component named directly, or through the module it lives in.
    let known = components
        .get(call.callee)
        .or_else(|| components.get(name))?;
    let files = match resolve::callable(index, file.path, &file.source, call.callee) {
        found if !found.is_empty() => found,
        _ => known.clone(),
    };
    Some(Pending::step(
        format!("{}: component", call.callee),
        file.path,
        line,
        files,
    ))
}

/// Recurring runs and Vertex schedules created in files that define or
/// import `def_file`: each schedules the pipeline once CI runs its file.
fn schedules_for(
    index: &RepoIndex,
    def_file: &str,
    warnings: &mut Vec<CiWarning>,
) -> Vec<Submitter> {
    let files: Vec<(&str, &str)> = index
        .with_extension("py")
        .par_iter()
        .map(|&at| index.entry_at(at))
        .filter(|e| !super::is_test_file(&e.path))
        .filter_map(|e| {
            let text = index.source(e)?;
            let creates = text.contains("create_recurring_run(")
                || text.contains("create_schedule(")
                || text.contains("PipelineJobSchedule(");
            (creates && imports_file(index, &e.path, text, def_file))
                .then_some((e.path.as_str(), text))
        })
        .collect();
    let mut out = Vec::new();
    for (path, text) in files {
        let source = pysrc::parse(text);
        for stmt in &source.stmts {
            for call in pysrc::calls(
                &stmt.text,
                &["create_recurring_run", "create_schedule", "create"],
            ) {
                let cron = call.kwarg("cron_expression").or_else(|| call.kwarg("cron"));
                let interval = call.kwarg("interval_second");
                match (cron.and_then(pysrc::string), interval) {
                    (Some(cron), _) => out.push(Submitter::creates(path, cron)),
                    (None, Some(seconds)) => out.push(Submitter::creates(path, format!("every {seconds}s"))),
                    (None, None) if call.name() != "create" => warnings.push(skipped(
                        path,
                        stmt.line,
                        "a pipeline schedule is created here but its cron is not a literal mlscore can read; it is not counted".into(),
                    )),
                    _ => {}
                }
            }
        }
    }
    out
}

/// Compiled pipeline specs (`pipeline.json` with `pipelineSpec`, or the
/// KFP v2 YAML IR with `deploymentSpec`): one job each, executors as steps.
fn compiled_specs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    for entry in index.files_with(&["json", "yaml", "yml"]) {
        if contains(&entry.path, "node_modules/") {
            continue;
        }
        let Some(text) = index.source(entry) else {
            continue;
        };
        if !(contains(text, "pipelineSpec")
            || (contains(text, "deploymentSpec") && contains(text, "executors")))
        {
            continue;
        }
        let path = entry.path.as_str();
        let doc: Value = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                warnings.push(super::super::CiWarning {
                    path: path.to_string(),
                    line: err.line,
                    message: format!("this compiled pipeline spec does not parse ({}); its steps are not counted", err.message),
                });
                continue;
            }
        };
        let spec = yaml::get(&doc, "pipelineSpec").unwrap_or(&doc);
        let Some(executors) = yaml::get(spec, "deploymentSpec")
            .and_then(|d| yaml::get(d, "executors"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        let name = yaml::get(spec, "pipelineInfo")
            .and_then(|p| yaml::get_str(p, "name"))
            .unwrap_or(paths::file_name(path));
        let mut job = pipeline_job(
            CiSystem::Kubeflow,
            format!("{} › {name}", paths::file_name(path)),
            path,
            1,
        );
        for (key, executor) in executors {
            let Some(container) = yaml::get(executor, "container") else {
                continue;
            };
            let words: Vec<String> = ["command", "args"]
                .iter()
                .filter_map(|k| yaml::get(container, k))
                .flat_map(yaml::string_list)
                .collect();
            let line = yaml::scalar(key)
                .and_then(|k| super::super::lines::find_key_line(text, &k, 1, 0))
                .unwrap_or(1);
            job.commands
                .push(optional_container_command(&words, path, line));
        }
        // Submitted by a script that names the compiled file and runs it.
        let file_name = paths::file_name(path).to_string();
        job.submitted_by = index
            .files_with(&["py"])
            .filter(|e| !super::is_test_file(&e.path))
            .filter(|e| {
                index
                    .source(e)
                    .is_some_and(|t| t.contains(&file_name) && SUBMIT.iter().any(|m| t.contains(m)))
            })
            .map(|e| Submitter::file(&e.path))
            .collect();
        out.push(job);
        if out.len() >= MAX_PIPELINES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENTS: &str = "from kfp import dsl\n\n@dsl.component(base_image='python:3.11')\ndef train(data: str) -> str:\n    return data\n";
    const PIPELINE: &str = "from kfp import dsl\nfrom components.train import train\n\n@dsl.pipeline(name='training')\ndef pipeline(data: str):\n    model = train(data=data)\n    op = dsl.ContainerOp(name='evaluate', image='x', command=['python', 'src/evaluate.py'])\n";
    const SUBMITTER: &str = "from google.cloud import aiplatform\nfrom kfp import compiler\nfrom pipelines.pipeline import pipeline\n\ncompiler.Compiler().compile(pipeline, 'pipeline.json')\njob = aiplatform.PipelineJob(display_name='t', template_path='pipeline.json')\njob.submit()\n";

    #[test]
    fn pipelines_components_and_submitters() {
        let index = RepoIndex::from_memory([
            ("components/train.py", COMPONENTS),
            ("pipelines/pipeline.py", PIPELINE),
            ("pipelines/run.py", SUBMITTER),
            ("src/evaluate.py", ""),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(
            (job.name.as_str(), job.line, job.automatic),
            ("pipeline.py › training", 4, false)
        );
        assert_eq!(job.submitted_by, [Submitter::file("pipelines/run.py")]);
        assert_eq!(job.commands[1].text, "train: component");
        assert_eq!(
            job.commands[1].step_files.as_deref(),
            Some(&["components/train.py".to_string()][..])
        );
        assert_eq!(job.commands[2].text, "python src/evaluate.py");
    }

    #[test]
    fn recurring_runs_schedule_the_pipeline() {
        let schedule = "import kfp\nfrom pipelines.pipeline import pipeline\nclient = kfp.Client()\nclient.create_recurring_run(experiment_id='e', job_name='nightly', cron_expression='0 0 3 * * *', pipeline_func=pipeline)\n";
        let index = RepoIndex::from_memory([
            ("components/train.py", COMPONENTS),
            ("pipelines/pipeline.py", PIPELINE),
            ("pipelines/schedule.py", schedule),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(
            !jobs[0].automatic,
            "a schedule made by a script is made when CI runs it"
        );
        assert_eq!(
            jobs[0].submitted_by[0],
            Submitter::creates("pipelines/schedule.py", "0 0 3 * * *".into())
        );
    }

    #[test]
    fn compiled_specs_are_pipelines_and_bad_ones_warn() {
        let spec = "{\"pipelineSpec\": {\"pipelineInfo\": {\"name\": \"train\"}, \"deploymentSpec\": {\"executors\": {\"exec-train\": {\"container\": {\"command\": [\"python\", \"src/train.py\"]}}}}}}";
        let bad = "pipelineSpec: [\n";
        let index = RepoIndex::from_memory([
            ("build/pipeline.json", spec),
            ("build/bad.yaml", bad),
            ("src/train.py", ""),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].name, "pipeline.json › train");
        assert_eq!(jobs[0].commands[0].text, "python src/train.py");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "build/bad.yaml");
    }
}
