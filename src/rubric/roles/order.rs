//! `runs_in_order`: roles that follow one another in one unit of work — a CI
//! job (with the jobs it waits for), one script, or one ML pipeline
//! definition. A CI job's steps are ordered by command; the code a command
//! runs contributes its roles at that step, and the code it imports at that
//! step in any order.

use foldhash::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::LazyLock;

use regex::Regex;

use super::classify::DEPLOY_COMMAND;
use super::{automatic_reach, CodeRoles, Role, Within};
use crate::ci::{CiModel, CiSystem, Reach};
use crate::repo::RepoIndex;
use crate::rubric::matcher::{CiLink, Evidence};

/// How deep imports of a script a CI step runs are followed.
const IMPORT_HOPS: usize = 3;

/// One role seen at one place of a unit.
#[derive(Debug, Clone)]
struct Event {
    role: Role,
    /// Step in the unit: jobs waited for come first (0), then each command.
    step: usize,
    /// Line within the step's own file; `None` for imported code, whose
    /// order within the step is unknown.
    line: Option<usize>,
    path: String,
    at: usize,
    /// The CI command that runs it, when the unit is a job.
    command: Option<usize>,
}

/// Whether `a` can come before (or together with) `b`.
fn precedes(a: &Event, b: &Event) -> bool {
    a.step < b.step
        || (a.step == b.step
            && match (a.line, b.line) {
                (Some(x), Some(y)) => x <= y,
                _ => true,
            })
}

/// Events matching `sequence` in order, if the unit has them.
fn find_sequence<'e>(events: &'e [Event], sequence: &[Role]) -> Option<Vec<&'e Event>> {
    fn search<'e>(
        events: &'e [Event],
        sequence: &[Role],
        last: Option<&'e Event>,
        chosen: &mut Vec<&'e Event>,
    ) -> bool {
        let Some((role, rest)) = sequence.split_first() else {
            return true;
        };
        for event in events.iter().filter(|e| e.role == *role) {
            if last.is_some_and(|l| !precedes(l, event)) {
                continue;
            }
            chosen.push(event);
            if search(events, rest, Some(event), chosen) {
                return true;
            }
            chosen.pop();
        }
        false
    }
    let mut chosen = Vec::new();
    search(events, sequence, None, &mut chosen).then_some(chosen)
}

pub(super) fn runs_in_order(
    sequence: &[Role],
    within: Within,
    what: &str,
    roles: &CodeRoles,
    ci: &CiModel,
    index: &RepoIndex,
    jobs: &JobEvents,
) -> Vec<Evidence> {
    let what: Arc<str> = what.into();
    let mut out = Vec::new();
    if within == Within::Any {
        for (job, events) in jobs.get(roles, ci, index).iter().enumerate() {
            let Some(found) = find_sequence(events, sequence) else {
                continue;
            };
            // A chain that ends in a job this one waits for is that job's.
            if found.last().is_none_or(|e| e.step == 0) {
                continue;
            }
            out.push(job_evidence(&what, &found, job, ci));
        }
    }
    for (path, hits) in roles.entries() {
        let is_pipeline = hits.iter().any(|h| h.role == Role::Pipeline);
        if within == Within::Pipeline && !is_pipeline {
            continue;
        }
        // Outside a pipeline the file's own hits are all its events: one
        // missing a role of the sequence cannot hold it (most model files
        // of a large tree show one role).
        if !is_pipeline && !sequence.iter().all(|r| hits.iter().any(|h| h.role == *r)) {
            continue;
        }
        let mut events: Vec<Event> = hits
            .iter()
            .map(|h| Event {
                role: h.role,
                step: 0,
                line: Some(h.line),
                path: path.clone(),
                at: h.line,
                command: None,
            })
            .collect();
        if is_pipeline {
            events.extend(script_steps(path, roles, index));
        }
        let Some(found) = find_sequence(&events, sequence) else {
            continue;
        };
        let (automated, link) = automatic_reach(ci, path);
        out.push(Evidence {
            what: what.clone(),
            path: found[0].path.clone(),
            line: Some(found[0].at),
            excerpt: Some(chain(&found)),
            automated,
            ci: link,
            automated_when: crate::rubric::catalogue::Automated::Ci,
        });
    }
    // A job and the script it runs may find the same first step; keep one.
    let mut seen = HashSet::default();
    out.retain(|e| seen.insert((e.path.clone(), e.line, e.ci.as_ref().map(|c| c.job.clone()))));
    out
}

/// The events of every CI job, worked out by the first ordered rule that
/// asks and shared by the others: they do not depend on the sequence, and a
/// job running 20,000 tests has as many files to look up. One is made for
/// each CI model that evidence is found against (see `Judge`).
#[derive(Debug, Default)]
pub(super) struct JobEvents(std::sync::OnceLock<Vec<Vec<Event>>>);

impl JobEvents {
    fn get(&self, roles: &CodeRoles, ci: &CiModel, index: &RepoIndex) -> &[Vec<Event>] {
        self.0.get_or_init(|| {
            let units = JobUnits::new(ci, index);
            (0..ci.jobs.len())
                .map(|job| units.events(job, roles, ci))
                .collect()
        })
    }
}

/// `training (src/train.py:12) → evaluation (src/evaluate.py:8)`.
fn chain(found: &[&Event]) -> String {
    found
        .iter()
        .map(|e| format!("{} ({}:{})", e.role.id(), e.path, e.at))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn job_evidence(what: &Arc<str>, found: &[&Event], job: usize, ci: &CiModel) -> Evidence {
    let last = found.last().and_then(|e| e.command);
    let link = last.and_then(|command| CiLink::new(ci, &Reach { job, command }));
    let automatic = ci.jobs.get(job).is_some_and(|j| j.automatic);
    let job_name = ci.jobs.get(job).map_or("", |j| j.name.as_str());
    Evidence {
        what: what.clone(),
        path: found[0].path.clone(),
        line: Some(found[0].at),
        excerpt: Some(format!("{} in job `{job_name}`", chain(found))),
        automated: automatic,
        ci: link,
        automated_when: crate::rubric::catalogue::Automated::Ci,
    }
}

static SCRIPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["']([\w./-]+\.py)["']"#).expect("valid regex"));

/// Steps of a pipeline definition that name a script (`script_name=
/// "evaluate/evaluate_model.py"`): the script's roles at that line.
fn script_steps(path: &str, roles: &CodeRoles, index: &RepoIndex) -> Vec<Event> {
    let Some(text) = index.text(path) else {
        return Vec::new();
    };
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for caps in SCRIPT.captures_iter(line) {
            let named = caps[1].trim_start_matches("./");
            let under = format!("/{named}");
            let Some((script, hits)) = roles
                .entries()
                .find(|(p, _)| p.as_str() != path && (p.as_str() == named || p.ends_with(&under)))
            else {
                continue;
            };
            for hit in hits {
                events.push(Event {
                    role: hit.role,
                    step: 0,
                    line: Some(i + 1),
                    path: script.clone(),
                    at: hit.line,
                    command: None,
                });
            }
        }
    }
    events
}

/// The jobs each job waits for, and the commands of each job.
struct JobUnits {
    commands: Vec<Vec<usize>>,
    waits_for: Vec<Vec<usize>>,
}

impl JobUnits {
    fn new(ci: &CiModel, index: &RepoIndex) -> JobUnits {
        let mut commands = vec![Vec::new(); ci.jobs.len()];
        for (i, command) in ci.commands.iter().enumerate() {
            if let Some(list) = commands.get_mut(command.job) {
                list.push(i);
            }
        }
        let mut direct: Vec<Vec<usize>> = vec![Vec::new(); ci.jobs.len()];
        let mut by_file: HashMap<&str, Vec<usize>> = HashMap::default();
        for job in &ci.jobs {
            by_file.entry(job.file.as_str()).or_default().push(job.id);
        }
        for (file, jobs) in by_file {
            let system = ci.jobs[jobs[0]].system;
            if system == CiSystem::GithubActions {
                let needs = github_needs(index, file);
                for &job in &jobs {
                    let name = short_name(&ci.jobs[job].name);
                    let Some(wanted) = needs.get(name) else {
                        continue;
                    };
                    for &other in &jobs {
                        let other_name = short_name(&ci.jobs[other].name);
                        if wanted.iter().any(|w| w == other_name) {
                            direct[job].push(other);
                        }
                    }
                }
            } else if matches!(system, CiSystem::Jenkins | CiSystem::GitlabCi) {
                // Stages of one Jenkinsfile or GitLab pipeline run in order,
                // each only when the ones before it passed.
                for &job in &jobs {
                    direct[job] = jobs
                        .iter()
                        .copied()
                        .filter(|&o| ci.jobs[o].line < ci.jobs[job].line)
                        .collect();
                }
            }
        }
        // Transitive closure; workflows are small.
        let mut waits_for = Vec::with_capacity(direct.len());
        for job in 0..direct.len() {
            let mut seen = HashSet::default();
            let mut stack = direct[job].clone();
            while let Some(next) = stack.pop() {
                if next != job && seen.insert(next) {
                    stack.extend(direct[next].iter().copied());
                }
            }
            let mut list: Vec<usize> = seen.into_iter().collect();
            list.sort_unstable();
            waits_for.push(list);
        }
        JobUnits {
            commands,
            waits_for,
        }
    }

    /// The role events of `job`: the jobs it waits for at step 0, then its
    /// own commands in order.
    fn events(&self, job: usize, roles: &CodeRoles, ci: &CiModel) -> Vec<Event> {
        let mut events = Vec::new();
        for &before in &self.waits_for[job] {
            for mut event in self.own_events(before, roles, ci) {
                event.step = 0;
                event.line = None;
                events.push(event);
            }
        }
        events.extend(self.own_events(job, roles, ci));
        events
    }

    fn own_events(&self, job: usize, roles: &CodeRoles, ci: &CiModel) -> Vec<Event> {
        let mut events = Vec::new();
        for (step, &command) in self.commands[job].iter().enumerate() {
            let step = step + 1;
            let cmd = &ci.commands[command];
            if DEPLOY_COMMAND.is_match(&cmd.text) {
                events.push(Event {
                    role: Role::Deploy,
                    step,
                    line: Some(0),
                    path: cmd.file.clone(),
                    at: cmd.line,
                    command: Some(command),
                });
            }
            for file in ci.files_named_by(command) {
                for hit in roles.of(file) {
                    events.push(Event {
                        role: hit.role,
                        step,
                        line: Some(hit.line),
                        path: file.to_string(),
                        at: hit.line,
                        command: Some(command),
                    });
                }
                for imported in roles.imported_by(file, IMPORT_HOPS) {
                    for hit in roles.of(&imported) {
                        events.push(Event {
                            role: hit.role,
                            step,
                            line: None,
                            path: imported.clone(),
                            at: hit.line,
                            command: Some(command),
                        });
                    }
                }
            }
        }
        events
    }
}

/// `ci.yml › train` → `train`.
fn short_name(name: &str) -> &str {
    name.rsplit_once(" › ").map_or(name, |(_, n)| n)
}

/// For each job of a GitHub workflow, by display name (its `name:` or key),
/// the display names of the jobs it `needs:`.
fn github_needs(index: &RepoIndex, file: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::default();
    let Some(text) = index.text(file) else {
        return out;
    };
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return out;
    };
    let Some(jobs) = doc.get("jobs").and_then(|j| j.as_mapping()) else {
        return out;
    };
    let display = |key: &serde_yaml::Value| -> Option<String> {
        let id = key.as_str()?;
        Some(
            jobs.get(key)
                .and_then(|j| j.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or(id)
                .to_string(),
        )
    };
    for (key, job) in jobs {
        let Some(name) = display(key) else { continue };
        let needs: Vec<String> = match job.get("needs") {
            Some(serde_yaml::Value::String(one)) => vec![one.clone()],
            Some(serde_yaml::Value::Sequence(many)) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let needs = needs
            .iter()
            .filter_map(|id| display(&serde_yaml::Value::String(id.clone())))
            .collect();
        out.insert(name, needs);
    }
    out
}
