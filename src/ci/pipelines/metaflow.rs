//! Metaflow: `FlowSpec` subclasses and their `@step`s. A flow runs when CI
//! runs `python flow.py run`; its `@schedule` only takes effect once the flow
//! is deployed (`python flow.py step-functions create`, `argo-workflows
//! create`, `airflow create`), so a scheduled flow that CI deploys is
//! scheduled and one that nothing deploys is manual.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Pending, Submitter};
use super::super::{paths, CiSystem, CiWarning};
use super::pysrc;
use super::{pipeline_job, python_files, MAX_PIPELINES};

/// Every Metaflow flow of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "Metaflow",
        "metaflow",
        |t| t.contains("FlowSpec"),
        warnings,
    );
    let mut out = Vec::new();
    for file in &files {
        for class in file
            .defs
            .iter()
            .filter(|d| d.is_class && d.params.contains("FlowSpec"))
        {
            if out.len() >= MAX_PIPELINES {
                return out;
            }
            let mut job = pipeline_job(
                CiSystem::Metaflow,
                format!("{} › {}", paths::file_name(file.path), class.name),
                file.path,
                class.line,
            );
            job.commands
                .push(file.definition_step(class.line, &format!("flow `{}`", class.name)));
            for step in file.defs.iter().filter(|d| {
                class.body.contains(&d.body.start.saturating_sub(1))
                    && d.decorated(&["step"]).is_some()
            }) {
                job.commands.push(Pending::step(
                    format!("{}: step", step.name),
                    file.path,
                    step.line,
                    vec![file.path.to_string()],
                ));
            }
            let grants: Vec<String> = class
                .decorated(&["schedule"])
                .map(schedule_of)
                .into_iter()
                .collect();
            for orchestrator in ["step-functions", "argo-workflows", "airflow"] {
                job.submitted_by.push(Submitter {
                    file: Some(file.path.to_string()),
                    program: None,
                    words: vec![orchestrator.to_string(), "create".to_string()],
                    grants: grants.clone(),
                });
            }
            job.submitted_by.push(Submitter {
                file: Some(file.path.to_string()),
                program: None,
                words: vec!["run".to_string()],
                grants: Vec::new(),
            });
            out.push(job);
        }
    }
    out
}

/// `schedule(daily=True)` → `@daily`, `schedule(cron='0 3 * * ? *')` → the cron.
fn schedule_of(decorator: &str) -> String {
    let call = pysrc::calls(decorator, &["schedule"]).into_iter().next();
    if let Some(cron) = call
        .as_ref()
        .and_then(|c| c.kwarg("cron"))
        .and_then(pysrc::string)
    {
        return cron;
    }
    for period in ["hourly", "daily", "weekly"] {
        if call.as_ref().and_then(|c| c.kwarg(period)) == Some("True") {
            return format!("@{period}");
        }
    }
    // `@schedule` alone is daily.
    "@daily".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_steps_and_deployment_schedules() {
        let flow = "from metaflow import FlowSpec, step, schedule\n\n@schedule(cron='0 3 * * ? *')\nclass TrainFlow(FlowSpec):\n    @step\n    def start(self):\n        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n\nif __name__ == '__main__':\n    TrainFlow()\n";
        let index = RepoIndex::from_memory([("flows/train.py", flow)]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 1);
        let job = &jobs[0];
        assert_eq!(
            (job.name.as_str(), job.line, job.automatic),
            ("train.py › TrainFlow", 3, false)
        );
        assert!(
            job.schedules.is_empty(),
            "a @schedule is not a schedule until deployed"
        );
        let steps: Vec<&str> = job.commands[1..].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(steps, ["start: step", "end: step"]);
        assert_eq!(job.submitted_by[0].words, ["step-functions", "create"]);
        assert_eq!(job.submitted_by[0].grants, ["0 3 * * ? *"]);
        assert_eq!(job.submitted_by[3].words, ["run"]);
        assert!(job.submitted_by[3].grants.is_empty());
    }
}
