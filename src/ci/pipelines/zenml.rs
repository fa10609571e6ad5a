//! ZenML: `@pipeline` functions wiring `@step`s. A file that defines or
//! imports a pipeline and calls it (`python run.py`) runs it; a
//! `Schedule(cron_expression=…)` (or `interval_second=`) given to it in such
//! a file schedules it.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Submitter};
use super::super::{CiSystem, CiWarning};
use super::pysrc;
use super::{callers, decorated_functions, function_pipeline, imports_file, python_files};

/// Every ZenML pipeline of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(index, "ZenML", "zenml", |_| true, warnings);
    // (file, file text, the statement creating the schedule, schedule).
    let schedules: Vec<(&str, &str, &str, String)> = files
        .iter()
        .flat_map(|f| {
            f.source.stmts.iter().flat_map(move |stmt| {
                pysrc::calls(&stmt.text, &["Schedule"])
                    .into_iter()
                    .filter_map(|call| {
                        call.kwarg("cron_expression")
                            .and_then(pysrc::string)
                            .or_else(|| call.kwarg("interval_second").map(|i| format!("every {i}")))
                    })
                    .map(move |every| (f.path, f.text, stmt.text.as_str(), every))
            })
        })
        .collect();
    let names: Vec<&str> = files
        .iter()
        .flat_map(|f| f.defs.iter())
        .filter(|d| !d.is_class && d.decorated(&["pipeline"]).is_some())
        .map(|d| d.name.as_str())
        .collect();
    let mut out = Vec::new();
    for (file, def) in decorated_functions(&files, "pipeline") {
        let mut job = function_pipeline(
            index,
            file,
            def,
            CiSystem::Zenml,
            &def.name,
            "pipeline",
            "step",
        );
        for (path, text, stmt, every) in &schedules {
            // The pipeline the schedule's statement names, else every
            // pipeline of a file that imports and names it.
            let named_here = stmt.contains(def.name.as_str());
            let names_none = !names.iter().any(|n| stmt.contains(n));
            if (named_here || (names_none && text.contains(def.name.as_str())))
                && imports_file(index, path, text, file.path)
            {
                job.submitted_by
                    .push(Submitter::creates(path, every.clone()));
            }
        }
        job.submitted_by
            .extend(callers(index, file.path, &def.name));
        out.push(job);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::job::Submitter;

    #[test]
    fn pipelines_steps_runs_and_schedules() {
        let pipeline = "from zenml import pipeline\nfrom steps.train import trainer\n\n@pipeline\ndef training():\n    model = trainer()\n\n@pipeline\ndef deploy():\n    pass\n";
        let run = "from pipelines.training import training, deploy\nfrom zenml.config.schedule import Schedule\ntraining()\ndeploy.with_options(schedule=Schedule(cron_expression='0 5 * * *'))()\n";
        let index = RepoIndex::from_memory([
            ("pipelines/training.py", pipeline),
            (
                "steps/train.py",
                "from zenml import step\n@step\ndef trainer():\n    pass\n",
            ),
            ("run.py", run),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].commands[1].text, "trainer: step");
        assert_eq!(jobs[0].submitted_by, [Submitter::file("run.py")]);
        assert_eq!(
            jobs[1].submitted_by[0],
            Submitter::creates("run.py", "0 5 * * *".into())
        );
        assert!(
            jobs[0].submitted_by.iter().all(|s| s.grants.is_empty()),
            "the schedule is given to `deploy` only"
        );
    }
}
