//! Infrastructure as code that creates schedules and alarms: CloudFormation
//! and SAM templates, CDK apps, Terraform. Each schedule or alarm is a job
//! that runs without a person; its step is the file that declares it, so
//! evidence written there (a monitoring query, a threshold) is scheduled.

pub(crate) mod cdk;
pub(crate) mod cloudformation;
pub(crate) mod terraform;

use super::job::{JobSpec, Pending};
use super::CiSystem;

/// Schedules and alarms read per system at most.
const MAX_RESOURCES: usize = 2_000;

/// A job for one schedule or alarm declared at `file:line`.
fn resource_job(
    system: CiSystem,
    name: String,
    file: &str,
    line: usize,
    every: String,
    mut files: Vec<String>,
) -> JobSpec {
    files.insert(0, file.to_string());
    JobSpec {
        system,
        commands: vec![Pending::step(name.clone(), file, line, files)],
        name,
        file: file.to_string(),
        line,
        schedules: vec![every],
        automatic: true,
        on_change: None,
        submitted_by: Vec::new(),
    }
}

/// Each job as (name, line, schedule), for the readers' tests to compare
/// whole: a [`resource_job`] has exactly one schedule.
#[cfg(test)]
fn named_schedules(jobs: &[JobSpec]) -> Vec<(&str, usize, &str)> {
    jobs.iter()
        .map(|j| (j.name.as_str(), j.line, j.schedules[0].as_str()))
        .collect()
}
