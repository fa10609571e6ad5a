//! GitLab CI: `.gitlab-ci.yml` and its local `include:` files. Every top-level
//! key that is not a keyword or a hidden `.template` is a job; `extends`
//! merges templates in; `before_script`/`script`/`after_script` are its
//! commands; `when: manual` makes it manual; `rules`/`only` that mention
//! pipeline schedules make it scheduled.

use std::collections::HashSet;

use serde_yaml::{Mapping, Value};

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::yaml::{self, get, get_str};
use super::{lines, paths, shell, CiSystem, CiWarning};

const ROOT: &str = ".gitlab-ci.yml";

/// The schedule GitLab jobs get: GitLab keeps cron expressions in project
/// settings, not in the repository.
pub const GITLAB_SCHEDULE: &str = "gitlab schedule";

/// Top-level keys that configure the pipeline rather than name a job.
const KEYWORDS: &[&str] = &[
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// One top-level definition and the file it came from.
struct Def {
    name: String,
    value: Value,
    file: String,
}

/// Every GitLab CI job of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    if !index.is_file(ROOT) {
        return Vec::new();
    }
    let mut defs: Vec<Def> = Vec::new();
    let mut visited = HashSet::new();
    load(index, ROOT, &mut defs, &mut visited, warnings, 0);
    let default = defs
        .iter()
        .rev()
        .find(|d| d.name == "default")
        .map(|d| d.value.clone());
    let global = |key: &str| {
        default
            .as_ref()
            .and_then(|d| get(d, key).cloned())
            .or_else(|| {
                defs.iter()
                    .rev()
                    .find(|d| d.name == key)
                    .map(|d| d.value.clone())
            })
    };
    let mut sources: Vec<(&str, &str)> = visited
        .iter()
        .filter_map(|p| Some((p.as_str(), index.text(p)?)))
        .collect();
    sources.sort_by_key(|(p, _)| (*p != ROOT, *p));
    let default_before = global("before_script");
    let default_after = global("after_script");
    let mut out = Vec::new();
    for def in &defs {
        if KEYWORDS.contains(&def.name.as_str())
            || def.name.starts_with('.')
            || !def.value.is_mapping()
        {
            continue;
        }
        let Some(text) = index.text(&def.file) else {
            continue;
        };
        let job = resolve_extends(&defs, &def.value, 0);
        let job_line = lines::find_top_key(text, &def.name).unwrap_or(1);
        let (scheduled, automatic) = triggers(&job);
        let before = job
            .get("before_script")
            .cloned()
            .or_else(|| default_before.clone());
        let after = job
            .get("after_script")
            .cloned()
            .or_else(|| default_after.clone());
        let mut locator = Locator {
            index,
            file: &def.file,
            text,
            sources: &sources,
            cursor: job_line,
        };
        let mut commands = Vec::new();
        // before_script and script share one shell; after_script gets a fresh one.
        let main: Vec<String> = [before.as_ref(), job.get("script")]
            .into_iter()
            .flatten()
            .flat_map(yaml::string_list)
            .collect();
        locator.commands(&main, &mut commands);
        let after: Vec<String> = after.iter().flat_map(yaml::string_list).collect();
        locator.commands(&after, &mut commands);
        out.push(JobSpec {
            system: CiSystem::GitlabCi,
            name: format!("{ROOT} › {}", def.name),
            file: def.file.clone(),
            line: job_line,
            schedules: if scheduled {
                vec![GITLAB_SCHEDULE.to_string()]
            } else {
                Vec::new()
            },
            automatic,
            on_change: None,
            commands,
            submitted_by: Vec::new(),
        });
    }
    out
}

/// Reads a CI file and its local includes into `defs`; later files override.
fn load(
    index: &RepoIndex,
    path: &str,
    defs: &mut Vec<Def>,
    visited: &mut HashSet<String>,
    warnings: &mut Vec<CiWarning>,
    depth: usize,
) {
    if depth > 4 || !visited.insert(path.to_string()) {
        return;
    }
    let Some(text) = index.text(path) else {
        warnings.push(CiWarning {
            path: path.to_string(),
            line: None,
            message: "could not read this GitLab CI file; its jobs are not counted".into(),
        });
        return;
    };
    // A `spec:` header document may precede the configuration.
    let doc = match yaml::parse_all(text) {
        Ok(docs) => docs.into_iter().last().unwrap_or(Value::Null),
        Err(err) => {
            warnings.push(CiWarning {
                path: path.to_string(),
                line: err.line,
                message: format!(
                    "could not parse this GitLab CI file ({}); its jobs are not counted",
                    err.message
                ),
            });
            return;
        }
    };
    let mut doc = doc;
    let _ = doc.apply_merge();
    let Some(map) = doc.as_mapping() else { return };
    for include in local_includes(map.get("include")) {
        match paths::join("", include.trim_start_matches('/')) {
            Some(included) if index.is_file(&included) => {
                load(index, &included, defs, visited, warnings, depth + 1)
            }
            _ => warnings.push(CiWarning {
                path: path.to_string(),
                line: lines::find_line(text, &include, 1),
                message: format!(
                    "included file `{include}` is not in the repository; its jobs are not counted"
                ),
            }),
        }
    }
    for (key, value) in map {
        let Some(name) = yaml::scalar(key) else {
            continue;
        };
        defs.retain(|d| d.name != name);
        defs.push(Def {
            name,
            value: value.clone(),
            file: path.to_string(),
        });
    }
}

/// Paths of `include:` entries that are local files (`/ci/x.yml`, `local:`).
fn local_includes(value: Option<&Value>) -> Vec<String> {
    let items: Vec<&Value> = match value {
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => return Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            Value::String(s) if !s.contains("://") => Some(s.clone()),
            Value::Mapping(_) => get_str(item, "local").map(str::to_string),
            _ => None,
        })
        .filter(|p| !p.contains('*'))
        .collect()
}

/// The job with its `extends` templates merged underneath it.
fn resolve_extends(defs: &[Def], job: &Value, depth: usize) -> Mapping {
    let mut merged = Mapping::new();
    if depth < 4 {
        for parent in get(job, "extends")
            .map(yaml::string_list)
            .unwrap_or_default()
        {
            if let Some(def) = defs.iter().find(|d| d.name == parent) {
                for (key, value) in resolve_extends(defs, &def.value, depth + 1) {
                    merged.insert(key, value);
                }
            }
        }
    }
    for (key, value) in job.as_mapping().into_iter().flatten() {
        if key.as_str() != Some("extends") {
            merged.insert(key.clone(), value.clone());
        }
    }
    merged
}

/// (scheduled, automatic) from `rules`, `only` and `when`.
fn triggers(job: &Mapping) -> (bool, bool) {
    let job_when = job
        .get("when")
        .and_then(Value::as_str)
        .unwrap_or("on_success");
    if let Some(rules) = job.get("rules").and_then(Value::as_sequence) {
        let when_of = |rule: &Value| get_str(rule, "when").unwrap_or(job_when).to_string();
        let scheduled = rules.iter().any(|rule| {
            get_str(rule, "if").is_some_and(is_schedule_condition) && when_of(rule) != "never"
        });
        let automatic = rules
            .iter()
            .any(|rule| !matches!(when_of(rule).as_str(), "manual" | "never"));
        return (scheduled, automatic);
    }
    let only = job.get("only");
    let refs = only.and_then(|o| get(o, "refs")).or(only);
    let scheduled = refs
        .map(yaml::string_list)
        .unwrap_or_default()
        .iter()
        .any(|r| r == "schedules");
    (scheduled, job_when != "manual")
}

/// Whether a rule's `if:` holds for pipelines started by a schedule.
fn is_schedule_condition(condition: &str) -> bool {
    let compact: String = condition.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("CI_PIPELINE_SOURCE")
        && (compact.contains("==\"schedule\"")
            || compact.contains("=='schedule'")
            || compact.contains("=~/schedule/"))
}

/// Finds script lines in the CI files and tracks `cd` between them.
struct Locator<'a> {
    index: &'a RepoIndex,
    /// The file defining the job, and its text.
    file: &'a str,
    text: &'a str,
    /// Every CI file read (templates and `default:` may live in another).
    sources: &'a [(&'a str, &'a str)],
    cursor: usize,
}

impl Locator<'_> {
    fn commands(&mut self, scripts: &[String], out: &mut Vec<Pending>) {
        let mut cwd = String::new();
        let job_line = self.cursor;
        for script in scripts {
            for command in shell::split_commands(script, 1) {
                // Search the job first, then its whole file, then the other CI
                // files (templates and `default:` live elsewhere), else point
                // at the job.
                let needle = command.source_line.as_str();
                let (file, line) = if let Some(line) =
                    lines::find_line(self.text, needle, self.cursor)
                {
                    self.cursor = line;
                    (self.file, line)
                } else if let Some(line) = lines::find_line(self.text, needle, 1) {
                    (self.file, line)
                } else {
                    self.sources
                        .iter()
                        .find_map(|(path, text)| Some((*path, lines::find_line(text, needle, 1)?)))
                        .unwrap_or((self.file, job_line))
                };
                out.push(Pending::new(command.text.clone(), file, line, 0, &cwd));
                if let Some(dir) = shell::cd_target(self.index, &cwd, &command.text) {
                    cwd = dir;
                }
            }
        }
        self.cursor = job_line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITLAB: &str = r#"stages: [test, train, deploy]
include:
  - local: /ci/templates.yml
  - project: other/group
    file: x.yml
default:
  before_script:
    - pip install -r requirements.txt
variables:
  PIP_CACHE_DIR: .cache
.python:
  image: python:3.11
  script:
    - pytest tests
unit:
  extends: .python
  stage: test
nightly-train:
  stage: train
  script:
    - cd ml
    - python train.py
  rules:
    - if: '$CI_PIPELINE_SOURCE == "schedule"'
    - if: $CI_COMMIT_BRANCH == "main"
      when: manual
deploy:
  stage: deploy
  before_script: []
  script: make deploy
  when: manual
drift:
  only: [schedules]
  script:
    - |
      python -m monitoring.drift \
        --window 7d
"#;

    fn index() -> RepoIndex {
        RepoIndex::from_memory([
            (".gitlab-ci.yml", GITLAB),
            ("ci/templates.yml", "lint:\n  script:\n    - ruff check .\n"),
            ("ml/train.py", ""),
        ])
    }

    #[test]
    fn jobs_commands_and_triggers() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let summary: Vec<(&str, &str, usize, bool, bool)> = specs
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.file.as_str(),
                    s.line,
                    s.automatic,
                    !s.schedules.is_empty(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (".gitlab-ci.yml › lint", "ci/templates.yml", 1, true, false),
                (".gitlab-ci.yml › unit", ".gitlab-ci.yml", 15, true, false),
                (
                    ".gitlab-ci.yml › nightly-train",
                    ".gitlab-ci.yml",
                    18,
                    true,
                    true
                ),
                (
                    ".gitlab-ci.yml › deploy",
                    ".gitlab-ci.yml",
                    27,
                    false,
                    false
                ),
                (".gitlab-ci.yml › drift", ".gitlab-ci.yml", 32, true, true),
            ]
        );
        assert_eq!(specs[2].schedules, [GITLAB_SCHEDULE]);
        let first = &specs[0].commands[0];
        assert_eq!(
            (first.text.as_str(), first.file.as_str(), first.line),
            ("pip install -r requirements.txt", ".gitlab-ci.yml", 8)
        );
        let cmds = |i: usize| -> Vec<(String, usize, String)> {
            specs[i]
                .commands
                .iter()
                .map(|c| (c.text.clone(), c.line, c.cwd.clone()))
                .collect()
        };
        let s = |t: &str, l: usize, c: &str| (t.to_string(), l, c.to_string());
        assert_eq!(
            cmds(1),
            [
                s("pip install -r requirements.txt", 8, ""),
                s("pytest tests", 14, "")
            ]
        );
        assert_eq!(
            cmds(2),
            [
                s("pip install -r requirements.txt", 8, ""),
                s("cd ml", 21, ""),
                s("python train.py", 22, "ml")
            ]
        );
        assert_eq!(cmds(3), [s("make deploy", 30, "")]);
        assert_eq!(
            cmds(4)[1],
            s("python -m monitoring.drift --window 7d", 36, "")
        );
    }

    #[test]
    fn broken_files_warn() {
        let index = RepoIndex::from_memory([(
            ".gitlab-ci.yml",
            "include: /missing.yml\njob: {script: [\n",
        )]);
        let mut warnings = Vec::new();
        assert!(jobs(&index, &mut warnings).is_empty());
        assert_eq!(warnings.len(), 1);
        let index = RepoIndex::from_memory([(
            ".gitlab-ci.yml",
            "include: /missing.yml\njob:\n  script: make\n",
        )]);
        let mut warnings = Vec::new();
        assert_eq!(jobs(&index, &mut warnings).len(), 1);
        assert_eq!(warnings[0].line, Some(1));
    }
}
