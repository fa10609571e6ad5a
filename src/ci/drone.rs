//! Drone (`.drone.yml`) and Woodpecker (`.woodpecker.yml`,
//! `.woodpecker/*.yml`): each pipeline is a job whose commands are its
//! steps' `commands`. A pipeline whose trigger (`trigger:` in Drone, `when:`
//! in Woodpecker) names the `cron` event runs on a schedule kept in the
//! server's settings; one started only by `custom`/`promote`/`manual`
//! events is started by hand.

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::JobSpec;
use super::script::{self, Placer};
use super::yaml::{self, get, get_str};
use super::{paths, CiSystem, CiWarning};

/// The schedule of a cron-triggered pipeline: Drone and Woodpecker keep
/// cron expressions in the server, not in the repository.
pub const SERVER_CRON: &str = "server cron";

/// Events that only a person starts.
const MANUAL_EVENTS: &[&str] = &["custom", "promote", "rollback", "manual", "deployment"];

/// Every Drone pipeline of the repository.
pub(crate) fn drone_jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    if index.is_file(".drone.yml") {
        read(index, ".drone.yml", CiSystem::Drone, warnings, &mut out);
    }
    out
}

/// Every Woodpecker workflow of the repository.
pub(crate) fn woodpecker_jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut files: Vec<&str> = [".woodpecker.yml", ".woodpecker.yaml"]
        .into_iter()
        .filter(|p| index.is_file(p))
        .collect();
    files.extend(
        paths::files_under(index, ".woodpecker")
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| script::is_yaml(p) && paths::parent(p) == ".woodpecker"),
    );
    let mut out = Vec::new();
    for path in files {
        read(index, path, CiSystem::Woodpecker, warnings, &mut out);
    }
    out
}

fn read(
    index: &RepoIndex,
    path: &str,
    system: CiSystem,
    warnings: &mut Vec<CiWarning>,
    out: &mut Vec<JobSpec>,
) {
    let what = match system {
        CiSystem::Drone => "Drone pipeline",
        _ => "Woodpecker workflow",
    };
    let Some((text, docs)) = script::read_docs(index, path, what, warnings) else {
        return;
    };
    let mut placer = Placer::new(index, path, text, 1);
    for (i, doc) in docs.iter().enumerate() {
        if get_str(doc, "kind").is_some_and(|k| k != "pipeline") {
            continue;
        }
        // Steps are a list (Drone, Woodpecker 1.x+) or a name → step map
        // (older Woodpecker `pipeline:`).
        let steps: Vec<&Value> = match get(doc, "steps").or_else(|| get(doc, "pipeline")) {
            Some(Value::Sequence(items)) => items.iter().collect(),
            Some(Value::Mapping(map)) => map.values().collect(),
            _ => continue,
        };
        let name = get_str(doc, "name").map_or_else(
            || {
                if docs.len() > 1 {
                    format!("pipeline {}", i + 1)
                } else {
                    paths::file_name(path).to_string()
                }
            },
            str::to_string,
        );
        let line = match get_str(doc, "name") {
            Some(n) => placer.seek(n),
            None => placer.seek("steps:"),
        };
        let mut commands = Vec::new();
        for step in steps {
            let scripts = script::scripts(get(step, "commands"));
            placer.blocks(&scripts, "", &mut commands);
        }
        let trigger = get(doc, "trigger").or_else(|| get(doc, "when"));
        let events = trigger.map(events).unwrap_or_default();
        let cron =
            events.iter().any(|e| e == "cron") || trigger.and_then(|t| get(t, "cron")).is_some();
        let automatic = cron
            || events.is_empty()
            || events.iter().any(|e| !MANUAL_EVENTS.contains(&e.as_str()));
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system,
            name: format!("{path} › {name}"),
            file: path.to_string(),
            line,
            schedules: if cron {
                vec![SERVER_CRON.to_string()]
            } else {
                Vec::new()
            },
            automatic,
            on_change: None,
            commands,
        });
    }
}

/// The `event` values of a trigger (a mapping, or Woodpecker's list of them).
fn events(trigger: &Value) -> Vec<String> {
    match trigger {
        Value::Sequence(items) => items.iter().flat_map(events).collect(),
        other => get(other, "event")
            .map(|e| match get(e, "include") {
                Some(include) => yaml::string_list(include),
                None => yaml::string_list(e),
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drone_pipelines_and_triggers() {
        let text = "kind: pipeline\nname: test\nsteps:\n- name: test\n  image: python:3.11\n  commands:\n  - pip install -e .\n  - pytest tests\n---\nkind: pipeline\nname: nightly\ntrigger:\n  event: [cron]\n  cron: [nightly]\nsteps:\n- name: retrain\n  commands: [python train.py]\n---\nkind: pipeline\nname: release\ntrigger:\n  event: [promote]\nsteps:\n- name: ship\n  commands: [make release]\n---\nkind: secret\nname: token\n";
        let index = RepoIndex::from_memory([(".drone.yml", text)]);
        let mut warnings = Vec::new();
        let specs = drone_jobs(&index, &mut warnings);
        let got: Vec<(&str, usize, bool, usize, usize)> = specs
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.line,
                    s.automatic,
                    s.schedules.len(),
                    s.commands.len(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (".drone.yml › test", 2, true, 0, 2),
                (".drone.yml › nightly", 11, true, 1, 1),
                (".drone.yml › release", 20, false, 0, 1),
            ]
        );
        assert_eq!(specs[0].commands[1].line, 8);
    }

    #[test]
    fn woodpecker_workflows() {
        let index = RepoIndex::from_memory([
            (".woodpecker/test.yml", "when:\n  - event: [push, pull_request]\nsteps:\n  test:\n    image: python\n    commands:\n      - pytest\n"),
            (".woodpecker/deploy.yaml", "when:\n  event: manual\nsteps:\n  - name: deploy\n    commands: [./deploy.sh]\n"),
            (".woodpecker/bad.yml", "steps: [\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = woodpecker_jobs(&index, &mut warnings);
        let got: Vec<(&str, bool)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.automatic))
            .collect();
        assert_eq!(
            got,
            [
                (".woodpecker/deploy.yaml › deploy.yaml", false),
                (".woodpecker/test.yml › test.yml", true)
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, ".woodpecker/bad.yml");
    }
}
