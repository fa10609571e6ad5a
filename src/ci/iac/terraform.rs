//! Terraform: `resource` blocks that schedule or alert — EventBridge rules
//! and Scheduler schedules with `schedule_expression`, CloudWatch metric
//! alarms, Cloud Scheduler jobs, Google and Azure monitor alerts, Logic App
//! recurrences. Blocks are found by brace counting; HCL is not evaluated.

use std::sync::LazyLock;

use regex::Regex;

use crate::repo::RepoIndex;

use super::super::job::JobSpec;
use super::super::{paths, CiSystem, CiWarning};
use super::{resource_job, MAX_RESOURCES};

static RESOURCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*resource\s+"([\w-]+)"\s+"([\w-]+)"\s*\{"#).expect("valid regex")
});
static ATTRIBUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r##"^\s*([\w]+)\s*=\s*"?([^"#]*)"?"##).expect("valid regex"));

/// What a resource type schedules: the attribute holding its schedule, or
/// `None` for an alarm evaluated continuously.
const KINDS: &[(&str, Option<&str>)] = &[
    ("aws_cloudwatch_event_rule", Some("schedule_expression")),
    ("aws_scheduler_schedule", Some("schedule_expression")),
    ("google_cloud_scheduler_job", Some("schedule")),
    ("azurerm_logic_app_trigger_recurrence", Some("frequency")),
    ("aws_cloudwatch_metric_alarm", None),
    ("google_monitoring_alert_policy", None),
    ("azurerm_monitor_metric_alert", None),
    ("azurerm_monitor_scheduled_query_rules_alert", None),
    ("azurerm_monitor_scheduled_query_rules_alert_v2", None),
];

/// Every schedule and alarm of the repository's `.tf` files.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    for entry in index.files_with(&["tf"]) {
        let Some(text) = index.entry_text(entry) else {
            continue;
        };
        if !KINDS.iter().any(|(kind, _)| text.contains(kind)) {
            continue;
        }
        read_file(&entry.path, text, warnings, &mut out);
        if out.len() >= MAX_RESOURCES {
            break;
        }
    }
    out
}

/// A resource block being read.
struct Open {
    kind: &'static str,
    /// The attribute holding its schedule; `None` for an alarm.
    attribute: Option<&'static str>,
    name: String,
    line: usize,
    depth: usize,
    every: Option<String>,
}

fn read_file(path: &str, text: &str, warnings: &mut Vec<CiWarning>, out: &mut Vec<JobSpec>) {
    let mut open: Option<Open> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if open.is_none() {
            let Some(caps) = RESOURCE.captures(line) else {
                continue;
            };
            let Some(&(kind, attribute)) = KINDS.iter().find(|(k, _)| *k == &caps[1]) else {
                continue;
            };
            open = Some(Open {
                kind,
                attribute,
                name: caps[2].to_string(),
                line: number,
                depth: 0,
                every: None,
            });
        }
        let Some(block) = open.as_mut() else {
            continue;
        };
        if let (Some(attribute), Some(caps)) = (block.attribute, ATTRIBUTE.captures(line)) {
            if &caps[1] == attribute && block.depth == 1 {
                block.every = Some(caps[2].trim().to_string());
            }
        }
        for c in line.split('#').next().unwrap_or("").chars() {
            match c {
                '{' => block.depth += 1,
                '}' => block.depth = block.depth.saturating_sub(1),
                _ => {}
            }
        }
        if block.depth == 0 {
            let job_name = format!("{} › {}.{}", paths::file_name(path), block.kind, block.name);
            let schedule = match block.attribute {
                None => Some("alarm".to_string()),
                Some(_) => block.every.take(),
            };
            if let Some(schedule) = schedule {
                out.push(resource_job(
                    CiSystem::Terraform,
                    job_name,
                    path,
                    block.line,
                    schedule,
                    Vec::new(),
                ));
            }
            open = None;
        }
    }
    if let Some(block) = open {
        warnings.push(CiWarning {
            path: path.to_string(),
            line: Some(block.line),
            message: format!(
                "the Terraform resource `{}` opened here never closes; it is not counted",
                block.name
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::iac::named_schedules;

    #[test]
    fn schedules_alarms_and_unclosed_blocks() {
        let tf = "resource \"aws_cloudwatch_event_rule\" \"retrain\" {\n  name = \"retrain\"\n  schedule_expression = \"rate(7 days)\"\n}\n\nresource \"aws_cloudwatch_event_rule\" \"on_push\" {\n  event_pattern = jsonencode({ source = [\"aws.s3\"] })\n}\n\nresource \"google_cloud_scheduler_job\" \"trigger\" {\n  schedule = \"0 6 * * *\"\n  http_target {\n    uri = \"x\"\n  }\n}\n\nresource \"aws_cloudwatch_metric_alarm\" \"latency\" {\n  threshold = 1\n}\nresource \"aws_cloudwatch_metric_alarm\" \"open\" {\n";
        let index = RepoIndex::from_memory([("infra/main.tf", tf)]);
        let mut warnings = Vec::new();
        let jobs = jobs(&index, &mut warnings);
        assert_eq!(
            named_schedules(&jobs),
            [
                (
                    "main.tf › aws_cloudwatch_event_rule.retrain",
                    1,
                    "rate(7 days)"
                ),
                (
                    "main.tf › google_cloud_scheduler_job.trigger",
                    10,
                    "0 6 * * *"
                ),
                ("main.tf › aws_cloudwatch_metric_alarm.latency", 17, "alarm"),
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(20));
    }
}
