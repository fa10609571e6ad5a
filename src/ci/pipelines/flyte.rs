//! Flyte: `@workflow` functions (flytekit) wiring `@task`s. A workflow runs
//! when CI runs the file that defines it — `pyflyte run [--remote]
//! flows/train.py training`, or `python flows/train.py` calling it — or a
//! file that imports and calls it. A `LaunchPlan` with a `CronSchedule` or
//! `FixedRate` schedules it once it is registered on the cluster and
//! active: registered (`pyflyte register`, `flytectl register`) with
//! `auto_activate=True`, or activated by CI (`flytectl update launchplan
//! --activate`), as Flyte leaves a registered schedule off by default.
//! Registering without a schedule runs nothing.

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Submitter};
use super::super::{CiSystem, CiWarning};
use super::pysrc;
use super::{callers, decorated_functions, function_pipeline, python_files, PyFile};

/// Every Flyte workflow of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "Flyte",
        "flytekit",
        |t| t.contains("@workflow") || t.contains("LaunchPlan"),
        warnings,
    );
    // By workflow name: looked up once per workflow.
    let mut schedules: foldhash::HashMap<String, Vec<LaunchPlan>> = Default::default();
    for plan in files.iter().flat_map(launch_plans) {
        schedules
            .entry(plan.workflow.clone())
            .or_default()
            .push(plan);
    }
    let mut out = Vec::new();
    for (file, def) in decorated_functions(&files, "workflow") {
        let mut job = function_pipeline(
            index,
            file,
            def,
            CiSystem::Flyte,
            &def.name,
            "workflow",
            "task",
        );
        // `pyflyte run flows/train.py training` names the file.
        job.submitted_by.push(Submitter::file(file.path));
        job.submitted_by
            .extend(callers(index, file.path, &def.name));
        let plans = || schedules.get(&def.name).into_iter().flatten();
        let grants = |active: bool| -> Vec<String> {
            plans()
                .filter(|p| active || p.auto_activate)
                .map(|p| p.every.clone())
                .collect()
        };
        let registered = grants(false);
        if !registered.is_empty() {
            for program in ["pyflyte", "flytectl"] {
                let mut register = Submitter::program(program, &["register"]);
                register.grants = registered.clone();
                job.submitted_by.push(register);
            }
        }
        let activated = grants(true);
        if !activated.is_empty() {
            let mut activate =
                Submitter::program("flytectl", &["update", "launchplan", "--activate"]);
            activate.grants = activated;
            job.submitted_by.push(activate);
        }
        out.push(job);
    }
    out
}

/// A launch plan with a schedule.
struct LaunchPlan {
    workflow: String,
    every: String,
    /// `auto_activate=True`: registering it turns the schedule on.
    auto_activate: bool,
}

/// `LaunchPlan.get_or_create(workflow=training, schedule=CronSchedule(…))`
/// (or `LaunchPlan.create("name", training, schedule=…)`).
fn launch_plans(file: &PyFile<'_>) -> Vec<LaunchPlan> {
    let mut out = Vec::new();
    for stmt in &file.source.stmts {
        if !stmt.text.contains("LaunchPlan") {
            continue;
        }
        for call in pysrc::calls(&stmt.text, &["get_or_create", "create"]) {
            if !call.callee.contains("LaunchPlan") {
                continue;
            }
            // `create(name, workflow, …)`; `get_or_create(workflow, …)`.
            let workflow = call.kwarg("workflow").or_else(|| {
                let at = usize::from(call.name() == "create");
                call.positional(at)
            });
            let Some(workflow) = workflow
                .map(str::trim)
                .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'))
            else {
                continue;
            };
            let Some(schedule) = call.kwarg("schedule").and_then(schedule_of) else {
                continue;
            };
            out.push(LaunchPlan {
                workflow: workflow.to_string(),
                every: schedule,
                auto_activate: call.kwarg("auto_activate") == Some("True"),
            });
        }
    }
    out
}

/// `CronSchedule(schedule="0 3 * * *")` (or `cron_expression=`) → the cron;
/// `FixedRate(duration=timedelta(hours=1))` → `every timedelta(hours=1)`.
fn schedule_of(expr: &str) -> Option<String> {
    let call = pysrc::calls(expr, &["CronSchedule", "FixedRate"])
        .into_iter()
        .next()?;
    if call.name() == "FixedRate" {
        let duration = call.kwarg("duration").or_else(|| call.positional(0))?;
        return Some(format!(
            "every {}",
            duration.chars().take(80).collect::<String>()
        ));
    }
    call.kwarg("schedule")
        .or_else(|| call.kwarg("cron_expression"))
        .or_else(|| call.positional(0))
        .and_then(pysrc::string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = "\
from flytekit import task, workflow, LaunchPlan, CronSchedule
from steps.features import build

@task
def train(x: int) -> int:
    return build(x)

@task
def unused() -> None:
    pass

@workflow
def training(x: int = 1) -> int:
    return train(x=x)

@workflow
def scoring() -> None:
    pass

nightly = LaunchPlan.get_or_create(
    workflow=training,
    name=\"nightly\",
    schedule=CronSchedule(schedule=\"0 3 * * *\"),
    auto_activate=True,
)
";

    #[test]
    fn workflows_tasks_and_launch_plans() {
        let index = RepoIndex::from_memory([
            ("flows/train.py", WORKFLOW),
            ("steps/features.py", "def build(x):\n    return x\n"),
            (
                "flows/hourly.py",
                "from flytekit import LaunchPlan, FixedRate\nfrom datetime import timedelta\nfrom flows.train import scoring\n\nLaunchPlan.create('hourly', scoring, schedule=FixedRate(duration=timedelta(hours=1)))\n",
            ),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<(&str, usize)> = jobs.iter().map(|j| (j.name.as_str(), j.line)).collect();
        assert_eq!(
            names,
            [("train.py › training", 12), ("train.py › scoring", 16)]
        );
        // Steps: the tasks it calls (the follower reads their imports).
        let steps: Vec<&str> = jobs[0].commands.iter().map(|c| c.text.as_str()).collect();
        assert!(steps.iter().any(|s| s.contains("train")), "{steps:?}");
        assert!(!steps.iter().any(|s| s.contains("unused")), "{steps:?}");
        assert!(!jobs[0].automatic, "nothing runs it until CI does");
        // Run by naming the file; scheduled once registered.
        assert_eq!(jobs[0].submitted_by[0], Submitter::file("flows/train.py"));
        let mut register = Submitter::program("pyflyte", &["register"]);
        register.grants.push("0 3 * * *".into());
        assert!(jobs[0].submitted_by.contains(&register));
        // Without `auto_activate`, only an activation turns it on.
        let mut hourly = Submitter::program("flytectl", &["update", "launchplan", "--activate"]);
        hourly.grants.push("every timedelta(hours=1)".into());
        assert!(jobs[1].submitted_by.contains(&hourly));
        assert!(!jobs[1].submitted_by.iter().any(|s| s.words == ["register"]));
        // A workflow without a launch plan is not scheduled by registering.
        let plain = RepoIndex::from_memory([(
            "wf.py",
            "from flytekit import workflow\n\n@workflow\ndef wf():\n    pass\n",
        )]);
        let jobs = super::jobs(&plain, &mut warnings);
        assert_eq!(jobs[0].submitted_by, [Submitter::file("wf.py")]);
    }
}
