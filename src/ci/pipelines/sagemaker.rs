//! SageMaker Pipelines and Model Monitor: `Pipeline(steps=[…])` calls whose
//! steps (`ProcessingStep`, `TrainingStep`, `ConditionStep`, `RegisterModel`,
//! `ModelStep`…) run the scripts their processors and estimators name
//! (`code=`, `entry_point=`); monitoring schedules created in code
//! (`create_monitoring_schedule`, `MonitoringSchedule`) are scheduled jobs.
//! A pipeline is submitted by a file that defines or imports it and calls
//! `upsert()`/`start()`, or by the SageMaker project template's
//! `run-pipeline --module-name <module>`.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{paths, CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{
    api_submitters, pipeline_job, pipeline_name, python_files, resolve, skipped, PyFile,
    MAX_PIPELINES,
};

/// SageMaker pipeline step classes.
const STEPS: &[&str] = &[
    "ProcessingStep",
    "TrainingStep",
    "TuningStep",
    "TransformStep",
    "ConditionStep",
    "RegisterModel",
    "ModelStep",
    "CreateModelStep",
    "LambdaStep",
    "QualityCheckStep",
    "ClarifyCheckStep",
    "FailStep",
    "EMRStep",
    "CallbackStep",
    "NotebookJobStep",
];
/// Calls that create or run a pipeline.
const SUBMIT: &[&str] = &[".upsert(", ".start(", ".definition()", ".create(role_arn"];

/// Every SageMaker pipeline and monitoring schedule of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "SageMaker",
        "sagemaker",
        |t| {
            t.contains("Pipeline(")
                || t.contains("onitoringSchedule")
                || t.contains("create_monitoring_schedule(")
        },
        warnings,
    );
    let mut out = Vec::new();
    for file in &files {
        if out.len() >= MAX_PIPELINES {
            break;
        }
        pipelines(index, file, &mut out);
        monitoring(index, file, warnings, &mut out);
    }
    out
}

fn pipelines(index: &RepoIndex, file: &PyFile<'_>, out: &mut Vec<JobSpec>) {
    for (i, stmt, call) in file.pipeline_calls("steps") {
        let (enclosing, scope) = file.scope_of(i);
        let name = pipeline_name(call.kwarg("name").and_then(pysrc::string), enclosing);
        let mut job =
            file.defined_pipeline(CiSystem::Sagemaker, stmt.line, "SageMaker pipeline", &name);
        job.commands.extend(steps(index, file, scope));
        job.submitted_by = api_submitters(index, file.path, SUBMIT);
        job.submitted_by.extend(run_pipeline_submitters(file.path));
        out.push(job);
    }
}

/// The steps in `scope`; each takes the scripts named since the step before
/// it (a processor's `run(code=…)` is written just before its step).
fn steps(index: &RepoIndex, file: &PyFile<'_>, scope: &[pysrc::Stmt]) -> Vec<Pending> {
    let mut out = Vec::new();
    let mut scripts: Vec<String> = Vec::new();
    for stmt in scope {
        for found in resolve::scripts_in(index, file.path, "", &stmt.text) {
            if !scripts.contains(&found) {
                scripts.push(found);
            }
        }
        for call in pysrc::calls(&stmt.text, STEPS) {
            let name = call
                .kwarg("name")
                .or_else(|| call.positional(0))
                .and_then(pysrc::string)
                .unwrap_or_else(|| call.name().to_string());
            out.push(Pending::step(
                format!("{name}: {}", call.name()),
                file.path,
                stmt.line,
                std::mem::take(&mut scripts),
            ));
        }
    }
    out
}

/// `run-pipeline --module-name pipelines.x.pipeline` (the SageMaker project
/// template's runner) names the defining module by its dotted path, from
/// whichever directory the build runs in.
fn run_pipeline_submitters(path: &str) -> Vec<Submitter> {
    let stem = path.trim_end_matches(".py");
    let parts: Vec<&str> = stem.split('/').collect();
    (0..parts.len().min(4))
        .map(|skip| parts[skip..].join("."))
        .map(|module| Submitter {
            file: None,
            program: Some("run-pipeline"),
            words: vec![module],
            grants: Vec::new(),
        })
        .collect()
}

/// Model Monitor schedules created in code.
fn monitoring(
    index: &RepoIndex,
    file: &PyFile<'_>,
    warnings: &mut Vec<CiWarning>,
    out: &mut Vec<JobSpec>,
) {
    for stmt in &file.source.stmts {
        for call in pysrc::calls(
            &stmt.text,
            &[
                "create_monitoring_schedule",
                "MonitoringSchedule",
                "CfnMonitoringSchedule",
            ],
        ) {
            let name = call
                .kwarg("monitor_schedule_name")
                .or_else(|| call.kwarg("monitoring_schedule_name"))
                .and_then(pysrc::string)
                .unwrap_or_else(|| "monitoring schedule".into());
            let mut job = pipeline_job(
                CiSystem::Sagemaker,
                format!("{} › {name}", paths::file_name(file.path)),
                file.path,
                stmt.line,
            );
            match monitor_cron(&call) {
                Some(cron) => job.submitted_by.push(Submitter::creates(file.path, cron)),
                None => warnings.push(skipped(
                    file.path,
                    stmt.line,
                    "a monitoring schedule is created here but its schedule is not one mlscore can read; it is counted as unscheduled".into(),
                )),
            }
            let mut files = vec![file.path.to_string()];
            files.extend(resolve::scripts_in(index, file.path, "", call.args));
            job.commands.push(Pending::step(
                format!("{name}: {}", call.name()),
                file.path,
                stmt.line,
                files,
            ));
            out.push(job);
        }
    }
}

/// The schedule of a monitoring schedule call: a literal cron or a
/// `CronExpressionGenerator.hourly()`/`daily()`.
fn monitor_cron(call: &Call<'_>) -> Option<String> {
    let expr = call
        .kwarg("schedule_cron_expression")
        .or_else(|| call.kwarg("schedule_expression"))
        .or_else(|| call.kwarg("schedule_config"))?;
    if let Some(cron) = pysrc::string(expr) {
        return Some(cron);
    }
    if let Some(found) = pysrc::literals(expr)
        .into_iter()
        .find(|l| l.starts_with("cron(") || l.starts_with("rate("))
    {
        return Some(found.to_string());
    }
    ["hourly", "daily", "daily_every_x_hours", "now"]
        .iter()
        .find(|g| expr.contains(&format!("CronExpressionGenerator.{g}(")))
        .map(|g| format!("CronExpressionGenerator.{g}()"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "import os\nfrom sagemaker.workflow.pipeline import Pipeline\nfrom sagemaker.workflow.steps import ProcessingStep, TrainingStep\nfrom sagemaker.workflow.condition_step import ConditionStep\nBASE_DIR = os.path.dirname(os.path.realpath(__file__))\n\ndef get_pipeline(region):\n    step_process = ProcessingStep(\n        name='Preprocess',\n        processor=processor,\n        code=os.path.join(BASE_DIR, 'preprocess.py'),\n    )\n    step_train = TrainingStep(name='Train', estimator=estimator)\n    args = evaluator.run(code=os.path.join(BASE_DIR, 'evaluate.py'))\n    step_eval = ProcessingStep(name='Evaluate', step_args=args)\n    step_cond = ConditionStep(name='CheckMSE', conditions=[c], if_steps=[register])\n    return Pipeline(name='abalone', steps=[step_process, step_train, step_eval, step_cond])\n";

    #[test]
    fn pipelines_steps_and_scripts() {
        let runner = "from pipelines.abalone.pipeline import get_pipeline\np = get_pipeline('eu')\np.upsert(role_arn=r)\np.start()\n";
        let index = RepoIndex::from_memory([
            ("pipelines/abalone/pipeline.py", PIPELINE),
            ("pipelines/abalone/preprocess.py", ""),
            ("pipelines/abalone/evaluate.py", ""),
            ("pipelines/run.py", runner),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(
            (job.name.as_str(), job.line, job.automatic),
            ("pipeline.py › abalone", 17, false)
        );
        let steps: Vec<(&str, Vec<String>)> = job.commands[1..]
            .iter()
            .map(|c| (c.text.as_str(), c.step_files.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            steps[0],
            (
                "Preprocess: ProcessingStep",
                vec!["pipelines/abalone/preprocess.py".to_string()]
            )
        );
        assert_eq!(
            steps[2],
            (
                "Evaluate: ProcessingStep",
                vec!["pipelines/abalone/evaluate.py".to_string()]
            )
        );
        assert_eq!(steps[3].0, "CheckMSE: ConditionStep");
        assert_eq!(job.submitted_by[0], Submitter::file("pipelines/run.py"));
        assert!(job
            .submitted_by
            .iter()
            .any(|s| s.words == ["pipelines.abalone.pipeline"]));
    }

    #[test]
    fn monitoring_schedules_are_scheduled() {
        let monitor = "from sagemaker.model_monitor import DefaultModelMonitor, CronExpressionGenerator\nmonitor.create_monitoring_schedule(\n    monitor_schedule_name='drift',\n    schedule_cron_expression=CronExpressionGenerator.hourly(),\n)\nmonitor.create_monitoring_schedule(monitor_schedule_name='odd', schedule_cron_expression=cron)\n";
        let index = RepoIndex::from_memory([("monitor/setup.py", monitor)]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs[0].submitted_by,
            [Submitter::creates(
                "monitor/setup.py",
                "CronExpressionGenerator.hourly()".into()
            )]
        );
        assert!(!jobs[0].automatic);
        assert!(jobs[1].submitted_by.is_empty());
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(6));
    }
}
