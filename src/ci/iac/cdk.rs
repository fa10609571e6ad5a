//! AWS CDK apps (Python and TypeScript): `events.Rule` with a `schedule`
//! (`Schedule.rate/cron/expression`), CloudWatch alarms (`Alarm`,
//! `create_alarm`/`createAlarm`) and SageMaker `CfnMonitoringSchedule`s.

use crate::repo::RepoIndex;

use super::super::job::JobSpec;
use super::super::pipelines::pysrc;
use super::super::{paths, CiSystem, CiWarning};
use super::{resource_job, MAX_RESOURCES};

/// Every schedule and alarm the repository's CDK code creates.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    // Every reader takes the run's warnings; CDK code that does not read
    // as expected is passed over without one (it is ordinary Python or
    // TypeScript, most of it not about schedules).
    let _ = warnings;
    let mut out = Vec::new();
    // `aws_cdk` (Python) or `aws-cdk` (TypeScript), each searcher built once.
    let (python, typescript) = (
        memchr::memmem::Finder::new("aws_cdk"),
        memchr::memmem::Finder::new("aws-cdk"),
    );
    for entry in index.files_with(&["py", "ts"]) {
        if entry.path.ends_with(".d.ts")
            || crate::text::find::contains(&entry.path, "node_modules/")
        {
            continue;
        }
        let Some(text) = index.source(entry) else {
            continue;
        };
        if python.find(text.as_bytes()).is_none() && typescript.find(text.as_bytes()).is_none() {
            continue;
        }
        let path = entry.path.as_str();
        for stmt in pysrc::parse(text).stmts {
            for call in pysrc::calls(
                &stmt.text,
                &[
                    "Rule",
                    "Alarm",
                    "create_alarm",
                    "createAlarm",
                    "CfnMonitoringSchedule",
                ],
            ) {
                let every = match call.name() {
                    "Rule" => match schedule_in(call.args) {
                        Some(every) => every,
                        None => continue,
                    },
                    "CfnMonitoringSchedule" => pysrc::literals(call.args)
                        .into_iter()
                        .find(|l| l.starts_with("cron(") || l.starts_with("rate("))
                        .map_or_else(|| "monitoring schedule".to_string(), str::to_string),
                    _ => "alarm".to_string(),
                };
                let id = call
                    .positional(1)
                    .and_then(pysrc::string)
                    .unwrap_or_else(|| call.name().to_string());
                out.push(resource_job(
                    CiSystem::Cdk,
                    format!("{} › {id}", paths::file_name(path)),
                    path,
                    stmt.line,
                    every,
                    Vec::new(),
                ));
            }
        }
        if out.len() >= MAX_RESOURCES {
            break;
        }
    }
    out
}

/// `Schedule.rate(Duration.days(1))`, `Schedule.cron(hour="3")`,
/// `Schedule.expression("rate(1 day)")` inside a rule's arguments.
fn schedule_in(args: &str) -> Option<String> {
    let call = pysrc::calls(args, &["rate", "cron", "expression"])
        .into_iter()
        .find(|c| {
            c.callee.ends_with("Schedule.rate")
                || c.callee.ends_with("Schedule.cron")
                || c.callee.ends_with("Schedule.expression")
        })?;
    let text = format!(
        "{}({})",
        call.callee,
        call.args.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    Some(text.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::iac::named_schedules;

    #[test]
    fn rules_with_schedules_and_alarms() {
        let py = "from aws_cdk import aws_events as events, aws_cloudwatch as cloudwatch\n\nclass Stack:\n    def __init__(self):\n        events.Rule(self, 'Nightly',\n            schedule=events.Schedule.cron(hour='3', minute='0'))\n        events.Rule(self, 'OnPush', event_pattern=p)\n        cloudwatch.Alarm(self, 'Errors', metric=m, threshold=1)\n";
        let ts = "import * as events from 'aws-cdk-lib/aws-events';\nnew events.Rule(this, 'Weekly', { schedule: events.Schedule.rate(cdk.Duration.days(7)) });\n";
        let index = RepoIndex::from_memory([("infra/stack.py", py), ("lib/stack.ts", ts)]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(
            named_schedules(&jobs),
            [
                (
                    "stack.py › Nightly",
                    5,
                    "events.Schedule.cron(hour='3', minute='0')"
                ),
                ("stack.py › Errors", 8, "alarm"),
                (
                    "stack.ts › Weekly",
                    2,
                    "events.Schedule.rate(cdk.Duration.days(7))"
                ),
            ]
        );
    }
}
