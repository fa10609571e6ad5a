//! Buildkite: `.buildkite/pipeline.yml` (and the other YAML files under
//! `.buildkite/`, or `buildkite.yml` at the root). Each command step is a
//! job; `command`/`commands` are its commands. Buildkite runs pipelines on
//! pushes; steps after a `block` or `input` step wait for a person and are
//! manual. `group` steps are read through.

use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::JobSpec;
use super::script::{self, Placer};
use super::yaml::{self, get};
use super::{paths, CiSystem, CiWarning};

/// How deeply `group` steps nest.
const MAX_NESTING: usize = 4;

/// Every command step of the repository's Buildkite pipelines.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut files: Vec<&str> = paths::files_under(index, ".buildkite")
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| script::is_yaml(p))
        .collect();
    files.extend(
        ["buildkite.yml", "buildkite.yaml"]
            .into_iter()
            .filter(|p| index.is_file(p)),
    );
    let mut out = Vec::new();
    for path in files {
        let Some((text, doc)) = script::read_doc(index, path, "Buildkite pipeline", warnings)
        else {
            continue;
        };
        // A bare list of steps is a pipeline too.
        let steps = get(&doc, "steps").unwrap_or(&doc);
        let mut reader = Reader {
            path,
            placer: Placer::new(index, path, text, 1),
            gated: false,
            out: &mut out,
        };
        reader.steps(steps, 0);
    }
    out
}

struct Reader<'a, 'o> {
    path: &'a str,
    placer: Placer<'a>,
    /// A `block` or `input` step came before: later steps wait for a person.
    gated: bool,
    out: &'o mut Vec<JobSpec>,
}

impl Reader<'_, '_> {
    fn steps(&mut self, steps: &Value, nesting: usize) {
        if nesting > MAX_NESTING {
            return;
        }
        for step in steps.as_sequence().into_iter().flatten() {
            if get(step, "block").is_some()
                || get(step, "input").is_some()
                || matches!(step.as_str(), Some("block" | "input"))
            {
                self.gated = true;
            } else if let Some(group) = get(step, "group").and(get(step, "steps")) {
                self.steps(group, nesting + 1);
            } else if let Some(command) = get(step, "command").or_else(|| get(step, "commands")) {
                let label = ["label", "name", "key"]
                    .iter()
                    .find_map(|k| get(step, k).and_then(yaml::scalar));
                let line = match &label {
                    Some(label) => self.placer.seek(label),
                    None => self.placer.seek("command"),
                };
                let mut commands = Vec::new();
                self.placer
                    .blocks(&yaml::string_list(command), "", &mut commands);
                let name = label.unwrap_or_else(|| format!("step {}", self.out.len() + 1));
                self.out.push(JobSpec {
                    submitted_by: Vec::new(),
                    system: CiSystem::Buildkite,
                    name: format!("{} › {name}", self.path),
                    file: self.path.to_string(),
                    line,
                    schedules: Vec::new(),
                    automatic: !self.gated,
                    on_change: None,
                    commands,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_steps_groups_and_blocks() {
        let text = "steps:\n  - label: \":pytest: tests\"\n    commands:\n      - pip install -e .\n      - pytest tests\n  - wait\n  - group: checks\n    steps:\n      - command: make lint\n  - block: \"Release?\"\n  - label: release\n    command: ./release.sh\n";
        let index = RepoIndex::from_memory([
            (".buildkite/pipeline.yml", text),
            (".buildkite/broken.yml", "steps: [\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let got: Vec<(&str, usize, bool, usize)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.line, s.automatic, s.commands.len()))
            .collect();
        assert_eq!(
            got,
            [
                (".buildkite/pipeline.yml › :pytest: tests", 2, true, 2),
                (".buildkite/pipeline.yml › step 2", 9, true, 1),
                (".buildkite/pipeline.yml › release", 11, false, 1),
            ]
        );
        assert_eq!(specs[0].commands[1].line, 5);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, ".buildkite/broken.yml");
    }
}
