//! Travis CI: `.travis.yml`. Its phases (`before_install`, `install`,
//! `before_script`, `script`, `after_success`, …) run in one shell from the
//! repository root. Each `jobs.include` (or `matrix.include`) entry is a job
//! that inherits the top-level phases it does not set; without entries the
//! file is one job. Travis runs on pushes and pull requests; its cron jobs
//! are set in the web UI, so nothing here is counted as scheduled.

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::JobSpec;
use super::script::{self, Placer};
use super::yaml::{self, get};
use super::{lines, CiSystem, CiWarning};

const FILE: &str = ".travis.yml";

/// The phases that run commands, in the order Travis runs them.
const PHASES: &[&str] = &[
    "before_install",
    "install",
    "before_script",
    "script",
    "after_success",
    "after_failure",
    "after_script",
    "before_deploy",
];

/// The jobs of `.travis.yml`.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    if !index.is_file(FILE) {
        return Vec::new();
    }
    let Some((text, doc)) = script::read_doc(index, FILE, "Travis CI file", warnings) else {
        return Vec::new();
    };
    let include: Vec<&Value> = ["jobs", "matrix"]
        .iter()
        .filter_map(|k| get(&doc, k))
        .filter_map(|j| get(j, "include"))
        .filter_map(Value::as_sequence)
        .flatten()
        .filter(|e| e.is_mapping())
        .collect();
    let spec = |name: String, line: usize, job: Option<&Value>| {
        let mut placer = Placer::new(index, FILE, text, 1);
        let mut commands = Vec::new();
        // An entry's own phases replace the top-level ones.
        let blocks: Vec<String> = PHASES
            .iter()
            .flat_map(|phase| {
                let own = job.and_then(|j| get(j, phase));
                script::scripts(own.or_else(|| get(&doc, phase)))
            })
            .collect();
        placer.blocks(&blocks, "", &mut commands);
        JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Travis,
            name,
            file: FILE.to_string(),
            line,
            schedules: Vec::new(),
            automatic: true,
            on_change: None,
            commands,
        }
    };
    if include.is_empty() {
        let line = lines::find_top_key(text, "script").unwrap_or(1);
        return vec![spec(FILE.to_string(), line, None)];
    }
    let include_line = lines::find_line(text, "include:", 1).unwrap_or(1);
    let mut cursor = include_line;
    include
        .into_iter()
        .enumerate()
        .map(|(i, job)| {
            let label = ["name", "stage", "env"]
                .iter()
                .find_map(|k| get(job, k).and_then(yaml::scalar));
            if let Some(line) = label
                .as_deref()
                .and_then(|l| lines::find_line(text, l, cursor))
            {
                cursor = line;
            }
            let name = format!(
                "{FILE} › {}",
                label.unwrap_or_else(|| format!("job {}", i + 1))
            );
            spec(name, cursor, Some(job))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job as the assertions see it.
    type Summary<'a> = (&'a str, usize, Vec<(&'a str, usize)>);

    #[test]
    fn phases_and_included_jobs() {
        let text = "language: python\ninstall:\n  - pip install -r requirements.txt\nscript:\n  - mkdir model/logs\n  - python3 model/train.py\n  - pytest\njobs:\n  include:\n    - name: lint\n      script: flake8 .\n    - stage: deploy\n      install: skip\n";
        let index = RepoIndex::from_memory([(FILE, text)]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let got: Vec<Summary<'_>> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.line, s.command_lines()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    ".travis.yml › lint",
                    10,
                    vec![("pip install -r requirements.txt", 3), ("flake8 .", 11)]
                ),
                (
                    ".travis.yml › deploy",
                    12,
                    vec![
                        ("skip", 13),
                        ("mkdir model/logs", 5),
                        ("python3 model/train.py", 6),
                        ("pytest", 7)
                    ]
                ),
            ]
        );
        assert!(warnings.is_empty());

        let index = RepoIndex::from_memory([(FILE, "script:\n  - pytest\n  - [\n")]);
        let specs = jobs(&index, &mut warnings);
        assert!(specs.is_empty());
        assert_eq!(
            (warnings[0].path.as_str(), warnings[0].line.is_some()),
            (FILE, true)
        );
    }
}
