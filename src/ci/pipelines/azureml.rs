//! Azure Machine Learning pipelines and schedules: SDK v1 `Pipeline(steps=…)`
//! with `PythonScriptStep(script_name=…, source_directory=…)` and
//! `Schedule.create(…)`; SDK v2 `@pipeline` functions; CLI v2 YAML jobs with
//! `type: pipeline` (child jobs' `command:` run in their `code:` folder) and
//! schedule YAML (`trigger: type: cron|recurrence`, `create_job:`). A
//! pipeline is submitted by a file that defines or imports it and submits,
//! publishes or creates it, by a defining module run as a script, or by
//! `az ml job create --file <pipeline.yml>` in CI.

use std::collections::HashMap;

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{lines, paths, yaml, CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{
    api_submitters, pipeline_job, pipeline_name, python_files, resolve, skipped, PyFile,
    MAX_PIPELINES,
};
use crate::text::find::contains;

/// Calls that submit, publish or schedule a pipeline.
const SUBMIT: &[&str] = &[
    ".submit(",
    ".publish(",
    "PipelineEndpoint",
    "Schedule.create(",
    "jobs.create_or_update(",
    "create_or_update(pipeline",
];

/// Every Azure ML pipeline of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "Azure ML",
        "azure",
        |t| contains(t, "azureml") || contains(t, "azure.ai.ml"),
        warnings,
    );
    let mut out = Vec::new();
    for file in &files {
        if out.len() >= MAX_PIPELINES {
            break;
        }
        v1_pipelines(index, file, warnings, &mut out);
        v2_pipelines(index, file, &mut out);
    }
    out.extend(yaml_pipelines(index, warnings));
    out
}

fn v1_pipelines(
    index: &RepoIndex,
    file: &PyFile<'_>,
    warnings: &mut Vec<CiWarning>,
    out: &mut Vec<JobSpec>,
) {
    if !file.text.contains("azureml") {
        return;
    }
    for (i, stmt, _) in file.pipeline_calls("steps") {
        let (enclosing, scope) = file.scope_of(i);
        let name = pipeline_name(None, enclosing);
        let mut job =
            file.defined_pipeline(CiSystem::AzureMl, stmt.line, "Azure ML pipeline", &name);
        for inner in scope {
            for step in pysrc::calls(&inner.text, &[])
                .into_iter()
                .filter(|c| c.name().ends_with("Step"))
            {
                job.commands
                    .push(v1_step(index, file, inner.line, &step, warnings));
            }
        }
        job.submitted_by = submitters(index, file);
        out.push(job);
    }
}

/// One SDK v1 step: a script step runs `source_directory/script_name`.
fn v1_step(
    index: &RepoIndex,
    file: &PyFile<'_>,
    line: usize,
    call: &Call<'_>,
    warnings: &mut Vec<CiWarning>,
) -> Pending {
    let step = call
        .kwarg("name")
        .and_then(pysrc::string)
        .unwrap_or_else(|| call.name().to_string());
    let text = format!("{step}: {}", call.name());
    let Some(script) = call.kwarg("script_name") else {
        return Pending::step(text, file.path, line, Vec::new());
    };
    let dir = call
        .kwarg("source_directory")
        .and_then(pysrc::string)
        .unwrap_or_default();
    let found = pysrc::string(script).and_then(|s| {
        let cwd = resolve::path(index, file.path, "", &dir).unwrap_or(dir.clone());
        resolve::path(index, file.path, &cwd, &s)
    });
    match found {
        Some(found) => Pending::step(text, file.path, line, vec![found]),
        None => {
            warnings.push(skipped(
                file.path,
                line,
                format!("step `{step}` runs `{script}`, which mlscore cannot find in the repository (not a literal path); the script is not followed"),
            ));
            Pending::step(text, file.path, line, Vec::new())
        }
    }
}

/// `Schedule.create(…, recurrence=ScheduleRecurrence(frequency="Day", interval=1))`.
fn v1_schedules(file: &PyFile<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &file.source.stmts {
        for call in pysrc::calls(
            &stmt.text,
            &["ScheduleRecurrence", "RecurrenceTrigger", "CronTrigger"],
        ) {
            let every = match call.kwarg("expression").and_then(pysrc::string) {
                Some(cron) => cron,
                None => {
                    let frequency = call
                        .kwarg("frequency")
                        .and_then(pysrc::string)
                        .unwrap_or_else(|| "?".into());
                    let interval = call.kwarg("interval").unwrap_or("1");
                    format!("every {interval} {frequency}")
                }
            };
            out.push(every);
        }
    }
    out
}

/// SDK v2: `@pipeline`/`@dsl.pipeline` functions of `azure.ai.ml`.
fn v2_pipelines(index: &RepoIndex, file: &PyFile<'_>, out: &mut Vec<JobSpec>) {
    if !file.text.contains("azure.ai.ml") {
        return;
    }
    for def in file.defs.iter().filter(|d| !d.is_class) {
        if def.decorated(&["pipeline"]).is_none() {
            continue;
        }
        let mut job =
            file.defined_pipeline(CiSystem::AzureMl, def.line, "Azure ML pipeline", &def.name);
        for stmt in &file.source.stmts {
            for call in pysrc::calls(&stmt.text, &["load_component"]) {
                let source = call
                    .kwarg("source")
                    .or_else(|| call.positional(0))
                    .and_then(pysrc::string);
                if let Some(found) = source.and_then(|s| resolve::path(index, file.path, "", &s)) {
                    job.commands.extend(component_commands(index, &found));
                }
            }
        }
        job.submitted_by = submitters(index, file);
        out.push(job);
    }
}

/// What submits a Python-defined pipeline: the schedules its file creates
/// (`Schedule.create`), the files that submit it, and the defining module
/// itself when it runs as a script and is not among those files (a schedule
/// created there does not count as one of them).
fn submitters(index: &RepoIndex, file: &PyFile<'_>) -> Vec<Submitter> {
    let mut found = api_submitters(index, file.path, SUBMIT);
    let script = file.text.contains("__name__ == \"__main__\"")
        || file.text.contains("__name__ == '__main__'");
    if script && !found.iter().any(|s| s.file.as_deref() == Some(file.path)) {
        found.push(Submitter::file(file.path));
    }
    let mut out: Vec<Submitter> = v1_schedules(file)
        .into_iter()
        .map(|every| Submitter::creates(file.path, every))
        .collect();
    out.extend(found);
    out
}

/// The commands of a component YAML, run in its `code:` folder.
fn component_commands(index: &RepoIndex, path: &str) -> Vec<Pending> {
    let Some(text) = index.text(path) else {
        return Vec::new();
    };
    let Ok(doc) = yaml::parse(text) else {
        return Vec::new();
    };
    child_command(index, path, text, &doc, 1)
        .into_iter()
        .collect()
}

/// A child job's or component's `command:` in its `code:` folder.
fn child_command(
    index: &RepoIndex,
    path: &str,
    text: &str,
    job: &Value,
    from: usize,
) -> Option<Pending> {
    let command = yaml::get_str(job, "command")?;
    let dir = paths::parent(path);
    let code = yaml::get_str(job, "code").map(|c| c.trim_start_matches("file:"));
    let cwd = code
        .and_then(|c| paths::join(dir, c))
        .filter(|c| index.is_dir(c))
        .unwrap_or_else(|| dir.to_string());
    let first = command.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = lines::find_line(text, first, from).unwrap_or(from);
    Some(Pending::new(command.trim(), path, line, 0, &cwd))
}

/// CLI v2 YAML: pipeline jobs and the schedules that create them.
fn yaml_pipelines(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut pipelines = Vec::new();
    // Pipeline file → (schedule YAML, schedule) of the schedules that
    // create it: `az ml schedule create --file` in CI makes them.
    let mut scheduled: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for entry in index.files_with(&["yml", "yaml"]) {
        let Some(text) = index.entry_text(entry) else {
            continue;
        };
        let pipeline = contains(text, "type: pipeline") && contains(text, "jobs:");
        let schedule_doc = contains(text, "create_job:") && contains(text, "trigger:");
        if !pipeline && !schedule_doc {
            continue;
        }
        let path = entry.path.as_str();
        let doc = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                warnings.push(CiWarning {
                    path: path.to_string(),
                    line: err.line,
                    message: format!(
                        "this Azure ML job file does not parse ({}); its steps are not counted",
                        err.message
                    ),
                });
                continue;
            }
        };
        if schedule_doc {
            if let Some((target, every)) = yaml_schedule(path, &doc) {
                scheduled
                    .entry(target)
                    .or_default()
                    .push((path.to_string(), every));
            }
            continue;
        }
        if yaml::get_str(&doc, "type") != Some("pipeline") {
            continue;
        }
        let name = yaml::get_str(&doc, "display_name")
            .or_else(|| yaml::get_str(&doc, "experiment_name"))
            .unwrap_or(paths::file_name(path));
        let mut job = pipeline_job(
            CiSystem::AzureMl,
            format!("{} › {name}", paths::file_name(path)),
            path,
            1,
        );
        let jobs_line = lines::find_top_key(text, "jobs").unwrap_or(1);
        if let Some(children) = yaml::get(&doc, "jobs").and_then(Value::as_mapping) {
            for (key, child) in children {
                let key = yaml::scalar(key).unwrap_or_default();
                let from = lines::find_key_line(text, &key, jobs_line, 1).unwrap_or(jobs_line);
                if let Some(pending) = child_command(index, path, text, child, from) {
                    job.commands.push(pending);
                } else if let Some(component) = yaml::get_str(child, "component") {
                    let component = component.trim_start_matches("file:");
                    match paths::join(paths::parent(path), component).filter(|p| index.is_file(p)) {
                        Some(found) => job.commands.extend(component_commands(index, &found)),
                        None => job.commands.push(Pending::step(
                            format!("{key}: {component}"),
                            path,
                            from,
                            Vec::new(),
                        )),
                    }
                }
            }
        }
        job.submitted_by = vec![Submitter::file(path)];
        pipelines.push(job);
        if pipelines.len() >= MAX_PIPELINES {
            break;
        }
    }
    for job in &mut pipelines {
        for (file, every) in scheduled.remove(&job.file).unwrap_or_default() {
            job.submitted_by.push(Submitter::creates(&file, every));
        }
    }
    pipelines
}

/// The pipeline file a schedule YAML creates, and its schedule.
fn yaml_schedule(path: &str, doc: &Value) -> Option<(String, String)> {
    let trigger = yaml::get(doc, "trigger")?;
    let every = match yaml::get_str(trigger, "type")? {
        "cron" => yaml::get_str(trigger, "expression")?.to_string(),
        "recurrence" => format!(
            "every {} {}",
            yaml::get(trigger, "interval")
                .and_then(yaml::scalar)
                .unwrap_or_else(|| "1".into()),
            yaml::get_str(trigger, "frequency").unwrap_or("?")
        ),
        _ => return None,
    };
    let create = yaml::get(doc, "create_job")?;
    let target =
        yaml::scalar(create).or_else(|| yaml::get_str(create, "job").map(str::to_string))?;
    let target = paths::join(paths::parent(path), target.trim_start_matches("file:"))?;
    Some((target, every))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_v1_pipelines_steps_and_schedules() {
        let build = "from azureml.pipeline.core import Pipeline\nfrom azureml.pipeline.steps import PythonScriptStep\n\ndef main():\n    train = PythonScriptStep(name='Train', script_name='train.py', source_directory='src/training')\n    evaluate = PythonScriptStep(name='Evaluate', script_name=e.evaluate_script, source_directory='src')\n    pipeline = Pipeline(workspace=ws, steps=[train, evaluate])\n    pipeline.publish(name='train')\n    Schedule.create(ws, name='nightly', recurrence=ScheduleRecurrence(frequency='Day', interval=1))\n";
        let index = RepoIndex::from_memory([
            ("ml_service/build.py", build),
            ("src/training/train.py", ""),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!((job.name.as_str(), job.line), ("build.py › main", 7));
        assert_eq!(
            job.submitted_by[0],
            Submitter::creates("ml_service/build.py", "every 1 Day".into())
        );
        assert_eq!(
            job.commands[1].step_files.as_deref(),
            Some(&["src/training/train.py".to_string()][..])
        );
        assert_eq!(job.submitted_by[1], Submitter::file("ml_service/build.py"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            (warnings[0].path.as_str(), warnings[0].line),
            ("ml_service/build.py", Some(6))
        );
    }

    #[test]
    fn cli_v2_pipelines_and_schedules() {
        let pipeline = "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\ndisplay_name: train\njobs:\n  prep:\n    type: command\n    code: ../src\n    command: python prep.py --out ${{outputs.data}}\n  train:\n    component: ./train.yml\n";
        let component = "type: command\ncode: ../src\ncommand: >-\n  python train.py\n";
        let sched = "name: nightly\ntrigger:\n  type: cron\n  expression: \"0 2 * * *\"\ncreate_job: ./pipeline.yml\n";
        let index = RepoIndex::from_memory([
            ("ml/pipeline.yml", pipeline),
            ("ml/train.yml", component),
            ("ml/schedule.yml", sched),
            ("src/prep.py", ""),
            ("src/train.py", ""),
            ("ml/broken.yml", "type: pipeline\njobs: [\n"),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(job.name, "pipeline.yml › train");
        assert!(job.schedules.is_empty());
        let commands: Vec<(&str, &str, usize)> = job
            .commands
            .iter()
            .map(|c| (c.text.as_str(), c.cwd.as_str(), c.line))
            .collect();
        assert_eq!(
            commands[0],
            ("python prep.py --out ${{outputs.data}}", "src", 8)
        );
        assert_eq!(commands[1].0, "python train.py");
        assert_eq!(
            job.submitted_by,
            [
                Submitter::file("ml/pipeline.yml"),
                Submitter::creates("ml/schedule.yml", "0 2 * * *".into())
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "ml/broken.yml");
    }
}
