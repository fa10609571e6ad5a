//! Google Cloud Build: `cloudbuild*.yaml` anywhere and `build/*.yaml` files
//! shaped like a build (`steps:` of `name:` images). Each config is a job
//! whose commands are its steps: `script:`, `entrypoint` + `args`
//! (`bash -c` scripts split into commands), or the `args` of a
//! `gcr.io/cloud-builders/<tool>` image. A config runs without a person only
//! when a trigger in the repository names it (`gcloud builds triggers create
//! github … --build-config=…` in a script, a Terraform
//! `google_cloudbuild_trigger` with a repository or Pub/Sub event); otherwise
//! it is a manual job (`gcloud builds submit` run by hand).

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::script::{self, warning, Placer};
use super::yaml::{self, get, get_str};
use super::{lines, paths, shell, CiSystem, CiWarning};

const WHAT: &str = "Cloud Build config";

/// Bytes of one Terraform trigger block read at most.
const MAX_TF_BLOCK: usize = 64 * 1024;

/// Every Cloud Build config of the repository, as one job each.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let configs: Vec<&str> = index
        .files()
        .iter()
        .filter(|f| is_config_name(f.name()) || is_build_dir_yaml(&f.path))
        .map(|f| f.path.as_str())
        .collect();
    if configs.is_empty() {
        return Vec::new();
    }
    let triggers = find_triggers(index);
    let mut out = Vec::new();
    for path in configs {
        let named = is_named_config(path);
        let (text, doc) = if named {
            match script::read_doc(index, path, WHAT, warnings) {
                Some(found) => found,
                None => continue,
            }
        } else {
            // A `build/` YAML file that is not a build config is no concern.
            match index
                .text(path)
                .and_then(|t| Some((t, yaml::parse(t).ok()?)))
            {
                Some(found) => found,
                None => continue,
            }
        };
        let Some(steps) = build_steps(&doc) else {
            if named {
                warnings.push(warning(path, None, "this Cloud Build config has no `steps:` list of `name:` images; it is not counted"));
            }
            continue;
        };
        let line = lines::find_top_key(text, "steps").unwrap_or(1);
        let mut placer = Placer::new(index, path, text, line);
        let mut commands = Vec::new();
        for step in steps {
            step_commands(index, step, &mut placer, &mut commands);
        }
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::CloudBuild,
            name: path.to_string(),
            file: path.to_string(),
            line,
            schedules: Vec::new(),
            automatic: triggers.get(path).copied().unwrap_or(false),
            on_change: None,
            commands,
        });
    }
    out
}

fn is_named_config(path: &str) -> bool {
    is_config_name(paths::file_name(path))
}

fn is_config_name(name: &str) -> bool {
    crate::text::case::starts_with_ignore_case(name, "cloudbuild")
        && (script::is_yaml(name) || crate::text::case::ends_with_ignore_case(name, ".json"))
}

fn is_build_dir_yaml(path: &str) -> bool {
    // The suffix first: it rules out most paths before their folder is found.
    script::is_yaml(path) && paths::file_name(paths::parent(path)) == "build"
}

/// The steps of a document shaped like a build: a `steps:` list whose items
/// name the image they run in.
fn build_steps(doc: &Value) -> Option<&Vec<Value>> {
    let steps = get(doc, "steps")?.as_sequence()?;
    (!steps.is_empty() && steps.iter().all(|s| get_str(s, "name").is_some())).then_some(steps)
}

/// The commands of one build step.
fn step_commands(index: &RepoIndex, step: &Value, placer: &mut Placer<'_>, out: &mut Vec<Pending>) {
    // Steps run in /workspace; a `dir` that is not a folder of the repository
    // is almost always a fresh clone of it (`git clone … repo`, `dir: repo`).
    let cwd = get_str(step, "dir")
        .and_then(|d| paths::join("", d))
        .filter(|d| index.is_dir(d))
        .unwrap_or_default();
    let image = get_str(step, "name").unwrap_or("");
    placer.seek(image);
    if let Some(body) = get(step, "script").and_then(yaml::scalar) {
        placer.block(&body, &cwd, out);
        return;
    }
    let args = script::scripts(get(step, "args"));
    let entrypoint = get_str(step, "entrypoint").map(str::to_string);
    let program = entrypoint.or_else(|| builder_tool(image));
    match program {
        Some(p) if is_shell(&p) && args.first().is_some_and(|a| a == "-c") => {
            placer.block(&args[1..].join("\n"), &cwd, out);
        }
        Some(p) => {
            let mut words = vec![p];
            words.extend(args);
            placer.argv(&words, &cwd, out);
        }
        None => placer.argv(&args, &cwd, out),
    }
}

fn is_shell(program: &str) -> bool {
    matches!(paths::file_name(program), "bash" | "sh")
}

/// The tool a `gcr.io/cloud-builders/<tool>` image runs as its entrypoint.
fn builder_tool(image: &str) -> Option<String> {
    let rest = image.strip_prefix("gcr.io/cloud-builders/")?;
    let tool = rest.split([':', '@', '/']).next()?;
    (!tool.is_empty()).then(|| tool.to_string())
}

static TF_TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"resource\s+"google_cloudbuild_trigger"\s+"[^"]*"\s*\{"#).expect("valid regex")
});
static TF_FILENAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"filename\s*=\s*"([^"]+)""#).expect("valid regex"));

/// Config paths that triggers in the repository name, and whether an event
/// (push, pull request, Pub/Sub, webhook) starts them rather than a person.
fn find_triggers(index: &RepoIndex) -> HashMap<String, bool> {
    let mut found: HashMap<String, bool> = HashMap::new();
    let mut add = |path: String, automatic: bool| {
        *found.entry(path).or_default() |= automatic;
    };
    for entry in index.files() {
        let ext = entry.extension().map(str::to_ascii_lowercase);
        let is_script = matches!(ext.as_deref(), Some("sh" | "bash")) || entry.name() == "Makefile";
        let is_tf = ext.as_deref() == Some("tf");
        if !is_script && !is_tf {
            continue;
        }
        let Some(text) = index.entry_text(entry) else {
            continue;
        };
        if is_script && text.contains("triggers create") {
            for command in shell::split_commands(text, 1) {
                if let Some((config, automatic)) = gcloud_trigger(&command.text) {
                    if let Some(path) = paths::join("", &config) {
                        add(path, automatic);
                    }
                }
            }
        }
        if is_tf && text.contains("google_cloudbuild_trigger") {
            for block in TF_TRIGGER.find_iter(text) {
                let body = braced(&text[block.end()..]);
                let Some(file) = TF_FILENAME.captures(body).map(|c| c[1].to_string()) else {
                    continue;
                };
                let automatic = [
                    "github",
                    "trigger_template",
                    "pubsub_config",
                    "webhook_config",
                    "repository_event_config",
                    "bitbucket_server_trigger_config",
                ]
                .iter()
                .any(|k| body.contains(k));
                if let Some(path) = paths::join("", &file) {
                    add(path, automatic);
                }
            }
        }
    }
    found
}

/// (config, automatic) of `gcloud builds triggers create <kind> … --build-config X`.
fn gcloud_trigger(command: &str) -> Option<(String, bool)> {
    let words = shlex::split(command)
        .unwrap_or_else(|| command.split_whitespace().map(str::to_string).collect());
    let at = words
        .windows(3)
        .position(|w| w[0] == "builds" && w[1] == "triggers" && w[2] == "create")?;
    let kind = words.get(at + 3).map(String::as_str).unwrap_or("");
    let mut config = None;
    for (i, word) in words.iter().enumerate() {
        if let Some(value) = word.strip_prefix("--build-config=") {
            config = Some(value.to_string());
        } else if word == "--build-config" {
            config = words.get(i + 1).cloned();
        }
    }
    Some((config?, kind != "manual"))
}

/// The text of a `{ … }` block whose opening brace was just read, up to the
/// matching closing brace (or a size cap).
fn braced(text: &str) -> &str {
    let mut depth = 1usize;
    for (i, c) in text.char_indices().take(MAX_TF_BLOCK) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    &text[..text.len().min(MAX_TF_BLOCK)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: &str = r#"steps:
- name: 'gcr.io/cloud-builders/git'
  args: ['clone', '$_REPO_URL', 'checkout']
- name: '$_IMAGE'
  entrypoint: 'pytest'
  args: ['src/tests/model_tests.py', '-s']
  dir: 'checkout'
- name: python:3.11
  entrypoint: bash
  args:
  - -c
  - |
    cd src
    python train.py --smoke
- name: gcr.io/cloud-builders/gcloud
  script: |
    gcloud ai models upload --region=$_REGION
"#;

    fn index() -> RepoIndex {
        RepoIndex::from_memory([
            ("build/pipeline-deployment.yaml", BUILD),
            ("build/model-deployment.yaml", "steps:\n- name: gcr.io/cloud-builders/docker\n  args: [build, '.']\n"),
            ("build/settings.yaml", "region: europe-west4\n"),
            ("cloudbuild.yaml", "steps: [\n"),
            ("src/train.py", ""),
            ("src/tests/model_tests.py", ""),
            ("scripts/triggers.sh", "gcloud builds triggers create github \\\n  --repo-name=x --branch-pattern=main \\\n  --build-config=build/pipeline-deployment.yaml\ngcloud builds triggers create manual --build-config build/other.yaml\n"),
            ("infra/main.tf", "resource \"google_cloudbuild_trigger\" \"deploy\" {\n  source_to_build {\n    uri = \"x\"\n  }\n  filename = \"build/model-deployment.yaml\"\n}\n"),
        ])
    }

    #[test]
    fn configs_steps_and_triggers() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        let summary: Vec<(&str, bool)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.automatic))
            .collect();
        // The pushed pipeline config is automatic; the one only a manual
        // trigger names is not; `build/settings.yaml` is no build.
        assert_eq!(
            summary,
            [
                ("build/model-deployment.yaml", false),
                ("build/pipeline-deployment.yaml", true)
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            (warnings[0].path.as_str(), warnings[0].line),
            ("cloudbuild.yaml", Some(2))
        );
        assert_eq!(
            specs[1].command_places(),
            [
                ("git clone '$_REPO_URL' checkout", 2, ""),
                ("pytest src/tests/model_tests.py -s", 5, ""),
                ("cd src", 13, ""),
                ("python train.py --smoke", 14, "src"),
                ("gcloud ai models upload --region=$_REGION", 17, ""),
            ]
        );
    }

    #[test]
    fn gcloud_trigger_kinds() {
        assert_eq!(
            gcloud_trigger("gcloud builds triggers create pubsub --topic=t --build-config=a.yaml"),
            Some(("a.yaml".into(), true))
        );
        assert_eq!(gcloud_trigger("gcloud builds submit --config a.yaml"), None);
        assert_eq!(braced("a { b } } c"), "a { b } ");
    }
}
