//! CloudFormation and SAM templates: EventBridge rules and Scheduler
//! schedules with a `ScheduleExpression`, CloudWatch alarms, SageMaker
//! monitoring schedules, and SAM functions with `Schedule` events (whose
//! handler module is reached).

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::super::job::JobSpec;
use super::super::{lines, paths, yaml, CiSystem, CiWarning};
use super::{resource_job, MAX_RESOURCES};

/// Every schedule and alarm in the repository's templates.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    for entry in index.files_with(&["yaml", "yml", "json", "template"]) {
        let Some(text) = index.source(entry) else {
            continue;
        };
        let interesting = [
            "AWS::Events::Rule",
            "AWS::Scheduler::Schedule",
            "AWS::CloudWatch::Alarm",
            "AWS::SageMaker::MonitoringSchedule",
            "AWS::Serverless::Function",
        ];
        if !text.contains("Resources") || !interesting.iter().any(|t| text.contains(t)) {
            continue;
        }
        let path = entry.path.as_str();
        let doc = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                warnings.push(CiWarning {
                    path: path.to_string(),
                    line: err.line,
                    message: format!("this CloudFormation template does not parse ({}); its schedules and alarms are not counted", err.message),
                });
                continue;
            }
        };
        read_template(index, path, text, &doc, &mut out);
        if out.len() >= MAX_RESOURCES {
            break;
        }
    }
    out
}

fn read_template(index: &RepoIndex, path: &str, text: &str, doc: &Value, out: &mut Vec<JobSpec>) {
    let Some(resources) = yaml::get(doc, "Resources").and_then(Value::as_mapping) else {
        return;
    };
    let resources_line = lines::find_key_line(text, "Resources", 1, 0).unwrap_or(1);
    for (id, resource) in resources {
        let Some(id) = yaml::scalar(id) else {
            continue;
        };
        let kind = yaml::get_str(resource, "Type").unwrap_or("");
        let props = yaml::get(resource, "Properties");
        let line = lines::find_key_line(text, &id, resources_line, 1).unwrap_or(resources_line);
        let prop = |key: &str| props.and_then(|p| yaml::get(p, key));
        let name = format!("{} › {id}", paths::file_name(path));
        // The schedule of a resource that runs on its own; a SAM function
        // adds a job per scheduled event instead.
        let every = match kind {
            "AWS::Events::Rule" | "AWS::Scheduler::Schedule" => {
                prop("ScheduleExpression").and_then(yaml::scalar)
            }
            "AWS::CloudWatch::Alarm" => {
                let period = prop("Period")
                    .and_then(yaml::scalar)
                    .unwrap_or_else(|| "60".into());
                Some(format!("alarm, every {period}s"))
            }
            "AWS::SageMaker::MonitoringSchedule" => Some(
                prop("MonitoringScheduleConfig")
                    .and_then(|c| yaml::get(c, "ScheduleConfig"))
                    .and_then(|c| yaml::get(c, "ScheduleExpression"))
                    .and_then(yaml::scalar)
                    .unwrap_or_else(|| "monitoring schedule".into()),
            ),
            "AWS::Serverless::Function" => {
                let Some(events) = prop("Events").and_then(Value::as_mapping) else {
                    continue;
                };
                for (_, event) in events {
                    if !matches!(
                        yaml::get_str(event, "Type"),
                        Some("Schedule" | "ScheduleV2")
                    ) {
                        continue;
                    }
                    let every = yaml::get(event, "Properties")
                        .and_then(|p| {
                            yaml::get(p, "Schedule").or_else(|| yaml::get(p, "ScheduleExpression"))
                        })
                        .and_then(yaml::scalar)
                        .unwrap_or_else(|| "schedule".into());
                    let handler = handler_module(
                        index,
                        path,
                        prop("CodeUri").and_then(yaml::scalar),
                        prop("Handler").and_then(yaml::scalar),
                    );
                    out.push(resource_job(
                        CiSystem::Cloudformation,
                        name.clone(),
                        path,
                        line,
                        every,
                        handler.into_iter().collect(),
                    ));
                }
                None
            }
            _ => None,
        };
        if let Some(every) = every {
            out.push(resource_job(
                CiSystem::Cloudformation,
                name,
                path,
                line,
                every,
                Vec::new(),
            ));
        }
    }
}

/// The module of a Python handler (`app.lambda_handler` in `CodeUri`).
fn handler_module(
    index: &RepoIndex,
    template: &str,
    code_uri: Option<String>,
    handler: Option<String>,
) -> Option<String> {
    let handler = handler?;
    let module = handler.rsplit_once('.').map(|(m, _)| m)?.replace('.', "/");
    let dir = paths::join(paths::parent(template), code_uri.as_deref().unwrap_or("."))?;
    let file = paths::join(&dir, &format!("{module}.py"))?;
    index.is_file(&file).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::iac::named_schedules;

    #[test]
    fn rules_alarms_monitoring_and_sam_schedules() {
        let template = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Nightly:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: rate(1 day)\n      Targets:\n        - Arn: !GetAtt Pipeline.Arn\n  OnChange:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: {}\n  Latency:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Period: 300\n  Drift:\n    Type: AWS::SageMaker::MonitoringSchedule\n    Properties:\n      MonitoringScheduleConfig:\n        ScheduleConfig:\n          ScheduleExpression: cron(0 * ? * * *)\n  Retrain:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/retrain/\n      Handler: app.handler\n      Events:\n        Weekly:\n          Type: Schedule\n          Properties:\n            Schedule: cron(0 3 ? * MON *)\n";
        let index = RepoIndex::from_memory([
            ("infra/template.yaml", template),
            ("infra/functions/retrain/app.py", ""),
            (
                "infra/broken.yaml",
                "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n   bad: [\n",
            ),
        ]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(
            named_schedules(&jobs),
            [
                ("template.yaml › Nightly", 3, "rate(1 day)"),
                ("template.yaml › Latency", 13, "alarm, every 300s"),
                ("template.yaml › Drift", 17, "cron(0 * ? * * *)"),
                ("template.yaml › Retrain", 23, "cron(0 3 ? * MON *)"),
            ]
        );
        assert!(jobs.iter().all(|j| j.automatic));
        assert_eq!(
            jobs[3].commands[0].step_files.as_deref(),
            Some(
                &[
                    "infra/template.yaml".to_string(),
                    "infra/functions/retrain/app.py".to_string()
                ][..]
            )
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "infra/broken.yaml");
    }
}
