//! Dagster: `@job`/`@graph` functions wiring `@op`s, asset jobs
//! (`define_asset_job`) over `@asset`s. A job is scheduled by a
//! `ScheduleDefinition(job=…, cron_schedule=…)`, a `@schedule(…, job=…)`, a
//! `build_schedule_from_partitioned_job(…)` or a sensor targeting it; a file
//! that calls `execute_in_process()` on it, or `dagster job execute -j
//! <name>` in CI, runs it.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{paths, CiSystem, CiWarning};
use super::pysrc::{self, Call};
use super::{
    api_submitters, function_pipeline, pipeline_job, python_files, schedule, PyFile, MAX_PIPELINES,
};

/// Every Dagster job of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(index, "Dagster", "dagster", |_| true, warnings);
    let triggers: Vec<(String, String)> = files.iter().flat_map(triggers).collect();
    let assets: Vec<Pending> = files
        .iter()
        .flat_map(|f| {
            f.defs
                .iter()
                .filter(|d| {
                    d.decorated(&["asset", "multi_asset", "graph_asset"])
                        .is_some()
                })
                .map(|d| {
                    Pending::step(
                        format!("{}: asset", d.name),
                        f.path,
                        d.line,
                        vec![f.path.to_string()],
                    )
                })
        })
        .collect();
    let mut out = Vec::new();
    for file in &files {
        for def in file
            .defs
            .iter()
            .filter(|d| !d.is_class && d.decorated(&["job", "graph"]).is_some())
        {
            let mut job =
                function_pipeline(index, file, def, CiSystem::Dagster, &def.name, "job", "op");
            finish(index, file, &def.name, &def.name, &triggers, &mut job);
            out.push(job);
        }
        for stmt in &file.source.stmts {
            for call in pysrc::calls(&stmt.text, &["define_asset_job"]) {
                let name = call
                    .kwarg("name")
                    .or_else(|| call.positional(0))
                    .and_then(pysrc::string)
                    .unwrap_or_else(|| "asset_job".into());
                let var = stmt
                    .text
                    .split_once('=')
                    .map(|(v, _)| v.trim().to_string())
                    .unwrap_or_default();
                let mut job = pipeline_job(
                    CiSystem::Dagster,
                    format!("{} › {name}", paths::file_name(file.path)),
                    file.path,
                    stmt.line,
                );
                // A selection is not resolved: the job materializes the
                // repository's assets.
                job.commands.extend(assets.iter().cloned());
                finish(index, file, &name, &var, &triggers, &mut job);
                out.push(job);
            }
        }
        if out.len() >= MAX_PIPELINES {
            break;
        }
    }
    out
}

/// Adds schedules and submitters to a job known as `name` (or `var` in code).
fn finish(
    index: &RepoIndex,
    file: &PyFile<'_>,
    name: &str,
    var: &str,
    triggers: &[(String, String)],
    job: &mut JobSpec,
) {
    for (target, every) in triggers {
        if target == name || (!var.is_empty() && target == var) {
            schedule(job, every.clone());
        }
    }
    job.submitted_by = api_submitters(index, file.path, &["execute_in_process("]);
    job.submitted_by
        .push(Submitter::program("dagster", &["execute", name]));
}

/// Schedules and sensors of a file: (job name or variable, schedule).
fn triggers(file: &PyFile<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |call: &Call<'_>, every: String| {
        let target = call
            .kwarg("job")
            .or_else(|| call.kwarg("job_name"))
            .or_else(|| call.positional(0))
            .unwrap_or("");
        let target = pysrc::string(target).unwrap_or_else(|| target.to_string());
        if !target.is_empty() {
            out.push((target, every));
        }
    };
    for stmt in &file.source.stmts {
        for call in pysrc::calls(
            &stmt.text,
            &[
                "ScheduleDefinition",
                "schedule",
                "build_schedule_from_partitioned_job",
                "sensor",
                "asset_sensor",
                "SensorDefinition",
                "run_status_sensor",
            ],
        ) {
            let every = match call.name() {
                "ScheduleDefinition" | "schedule" => {
                    match call.kwarg("cron_schedule").and_then(pysrc::string) {
                        Some(cron) => cron,
                        None => continue,
                    }
                }
                "build_schedule_from_partitioned_job" => "every partition".into(),
                _ => format!(
                    "sensor `{}`",
                    call.kwarg("name")
                        .and_then(pysrc::string)
                        .unwrap_or_else(|| "sensor".into())
                ),
            };
            add(&call, every);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_ops_assets_and_schedules() {
        let jobs_py = "from dagster import job, op, ScheduleDefinition, define_asset_job\n\n@op\ndef train():\n    pass\n\n@job\ndef training():\n    train()\n\nnightly = ScheduleDefinition(job=training, cron_schedule='0 2 * * *')\nassets_job = define_asset_job('refresh')\n";
        let assets_py = "from dagster import asset\n\n@asset\ndef features():\n    pass\n";
        let index = RepoIndex::from_memory([("ml/jobs.py", jobs_py), ("ml/assets.py", assets_py)]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 2);
        let names: Vec<(&str, bool)> = jobs
            .iter()
            .map(|j| (j.name.as_str(), j.automatic))
            .collect();
        assert_eq!(
            names,
            [("jobs.py › training", true), ("jobs.py › refresh", false)]
        );
        assert_eq!(jobs[0].schedules, ["0 2 * * *"]);
        assert_eq!(jobs[0].commands[1].text, "train: op");
        assert_eq!(jobs[1].commands[0].text, "features: asset");
        assert!(jobs[1]
            .submitted_by
            .contains(&Submitter::program("dagster", &["execute", "refresh"])));
    }
}
