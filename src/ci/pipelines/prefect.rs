//! Prefect: `@flow` functions, their `@task`s and the repository functions
//! they call. A flow is scheduled by a deployment with a schedule —
//! `prefect.yaml` (`entrypoint: flows/train.py:train`, `schedule(s):` with
//! `cron`/`interval`/`rrule`), `flow.serve(cron=…)`/`.deploy(cron=…)`, or
//! `Deployment.build_from_flow(flow=…, schedule=…)`; a file that calls the
//! flow (`python flows/train.py` in CI) runs it.

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::super::job::{JobSpec, Submitter};
use super::super::{paths, yaml, CiSystem, CiWarning};
use super::pysrc;
use super::{callers, function_pipeline, python_files, MAX_PIPELINES};

/// Every Prefect flow of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let files = python_files(
        index,
        "Prefect",
        "prefect",
        |t| t.contains("@flow"),
        warnings,
    );
    let deployments = yaml_deployments(index, warnings);
    let code_schedules = code_schedules(index);
    let mut out = Vec::new();
    for file in &files {
        for def in file.defs.iter().filter(|d| !d.is_class) {
            let Some(decorator) = def.decorated(&["flow"]) else {
                continue;
            };
            if out.len() >= MAX_PIPELINES {
                return out;
            }
            let name = pysrc::calls(decorator, &["flow"])
                .first()
                .and_then(|c| c.kwarg("name"))
                .and_then(pysrc::string)
                .unwrap_or_else(|| def.name.clone());
            let mut job =
                function_pipeline(index, file, def, CiSystem::Prefect, &name, "flow", "task");
            let entrypoint = format!("{}:{}", file.path, def.name);
            // `prefect deploy` in CI makes a prefect.yaml deployment; a script
            // that serves or deploys the flow makes it when CI runs it.
            for (target, every) in &deployments {
                if *target == entrypoint {
                    let mut deploy = Submitter::program("prefect", &["deploy"]);
                    deploy.grants.push(every.clone());
                    job.submitted_by.push(deploy);
                }
            }
            for (flow, every, path) in &code_schedules {
                if *flow == def.name {
                    job.submitted_by
                        .push(Submitter::creates(path, every.clone()));
                }
            }
            job.submitted_by
                .extend(callers(index, file.path, &def.name));
            out.push(job);
        }
    }
    out
}

/// `prefect.yaml` deployments with a schedule: (`path:function`, schedule).
fn yaml_deployments(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in index.files().iter().filter(|e| e.name() == "prefect.yaml") {
        let Some(text) = index.source(entry) else {
            continue;
        };
        let doc = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                warnings.push(CiWarning {
                    path: entry.path.clone(),
                    line: err.line,
                    message: format!("this prefect.yaml does not parse ({}); its deployments' schedules are not counted", err.message),
                });
                continue;
            }
        };
        let dir = paths::parent(&entry.path);
        for deployment in yaml::get(&doc, "deployments")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let Some(entrypoint) = yaml::get_str(deployment, "entrypoint") else {
                continue;
            };
            let Some((file, function)) = entrypoint.rsplit_once(':') else {
                continue;
            };
            let Some(file) = paths::join(dir, file) else {
                continue;
            };
            let mut schedules: Vec<&Value> = yaml::get(deployment, "schedules")
                .and_then(Value::as_sequence)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            schedules.extend(yaml::get(deployment, "schedule").filter(|v| !v.is_null()));
            for s in schedules {
                let active = yaml::get(s, "active")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let every = ["cron", "interval", "rrule"].iter().find_map(|k| {
                    yaml::get(s, k).and_then(yaml::scalar).map(|v| {
                        if *k == "interval" {
                            format!("every {v}s")
                        } else {
                            v
                        }
                    })
                });
                if let (true, Some(every)) = (active, every) {
                    out.push((format!("{file}:{function}"), every));
                }
            }
        }
    }
    out
}

/// Schedules given in code: `train.serve(cron=…)`, `train.deploy(interval=…)`,
/// `Deployment.build_from_flow(flow=train, schedule=…)`: (flow function,
/// schedule, file).
fn code_schedules(index: &RepoIndex) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let prefect = memchr::memmem::Finder::new("prefect");
    for entry in index.files_with(&["py"]) {
        let Some(text) = index.source(entry) else {
            continue;
        };
        if prefect.find(text.as_bytes()).is_none()
            || !(text.contains(".serve(")
                || text.contains(".deploy(")
                || text.contains("build_from_flow("))
        {
            continue;
        }
        for stmt in pysrc::parse(text).stmts {
            for call in pysrc::calls(&stmt.text, &["serve", "deploy", "build_from_flow"]) {
                let flow = if call.name() == "build_from_flow" {
                    call.kwarg("flow")
                        .or_else(|| call.positional(0))
                        .unwrap_or("")
                } else {
                    call.callee.rsplit_once('.').map_or("", |(flow, _)| flow)
                };
                let every = call
                    .kwarg("cron")
                    .and_then(pysrc::string)
                    .or_else(|| call.kwarg("interval").map(|i| format!("every {i}")))
                    .or_else(|| {
                        call.kwarg("schedule")
                            .and_then(|s| pysrc::literals(s).first().map(|c| c.to_string()))
                    })
                    .or_else(|| call.kwarg("schedule").map(|s| s.chars().take(80).collect()));
                if let Some(every) = every {
                    if flow.chars().all(|c| c.is_alphanumeric() || c == '_') && !flow.is_empty() {
                        out.push((flow.to_string(), every, entry.path.clone()));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_tasks_and_schedules() {
        let flow = "from prefect import flow, task\nfrom steps.train import fit\n\n@task\ndef load():\n    pass\n\n@flow(name='training')\ndef train():\n    load()\n    fit()\n\n@flow\ndef report():\n    pass\n\nif __name__ == '__main__':\n    train()\n";
        let deploy = "deployments:\n  - name: nightly\n    entrypoint: flows/train.py:train\n    schedules:\n      - cron: '0 4 * * *'\n";
        let serve = "from prefect import flow\nfrom flows.train import report\nreport.serve(name='r', interval=3600)\n";
        let index = RepoIndex::from_memory([
            ("flows/train.py", flow),
            ("steps/train.py", "def fit():\n    pass\n"),
            ("prefect.yaml", deploy),
            ("serve.py", serve),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            (jobs[0].name.as_str(), jobs[0].line),
            ("train.py › training", 8)
        );
        let mut deploy = Submitter::program("prefect", &["deploy"]);
        deploy.grants.push("0 4 * * *".into());
        assert_eq!(jobs[0].submitted_by[0], deploy);
        assert!(!jobs[0].automatic, "a deployment counts once CI deploys it");
        let steps: Vec<&str> = jobs[0].commands[1..]
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(steps, ["load: task", "fit: task"]);
        assert_eq!(
            jobs[0].commands[2].step_files.as_deref(),
            Some(&["steps/train.py".to_string()][..])
        );
        assert_eq!(jobs[0].submitted_by[1], Submitter::file("flows/train.py"));
        assert_eq!(
            jobs[1].submitted_by[0],
            Submitter::creates("serve.py", "every 3600".into())
        );
    }
}
