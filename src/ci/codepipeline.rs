//! AWS CodePipeline, defined in CloudFormation (`AWS::CodePipeline::Pipeline`
//! in a YAML or JSON template) or in CDK code (`codepipeline.Pipeline`,
//! `pipelines.CodePipeline` in an app beside a `cdk.json`). A pipeline with
//! a source stage runs on source changes; its CodeBuild actions run the
//! buildspec of their project (`Source.BuildSpec`, `buildspec.yml` by
//! default), which makes that buildspec automatic. Each pipeline is a job;
//! its own commands are the inline buildspecs and CDK `commands=[…]` it
//! holds.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::buildspec;
use super::job::{JobSpec, Pending};
use super::script::{self, warning, Placer};
use super::yaml::{self, get, get_str};
use super::{lines, paths, CiSystem, CiWarning};
use crate::text::find::contains;

const PIPELINE_TYPE: &str = "AWS::CodePipeline::Pipeline";
const PROJECT_TYPE: &str = "AWS::CodeBuild::Project";
/// Characters of one CDK `commands=[…]` list read at most.
const MAX_LIST: usize = 8 * 1024;

/// A pipeline as read from a template or CDK code.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub name: String,
    pub file: String,
    pub line: usize,
    /// A source stage starts it on every change.
    pub automatic: bool,
    /// Buildspec files of the repository its CodeBuild actions run.
    pub buildspecs: Vec<String>,
    /// Commands written in the definition itself.
    pub commands: Vec<Pending>,
}

/// What the repository's AWS definitions say about automation.
#[derive(Debug, Default)]
pub(crate) struct AwsDefs {
    pub pipelines: Vec<Pipeline>,
    /// Buildspecs of CodeBuild projects that a webhook starts.
    pub webhook_buildspecs: Vec<String>,
}

impl AwsDefs {
    /// Whether a source-triggered pipeline or a webhook runs this buildspec.
    pub(crate) fn runs_automatically(&self, buildspec: &str) -> bool {
        self.webhook_buildspecs.iter().any(|b| b == buildspec)
            || self
                .pipelines
                .iter()
                .any(|p| p.automatic && p.buildspecs.iter().any(|b| b == buildspec))
    }
}

/// Every CodePipeline of the repository, as one job each.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    find(index, warnings)
        .pipelines
        .into_iter()
        .map(|p| JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Codepipeline,
            name: p.name,
            file: p.file,
            line: p.line,
            schedules: Vec::new(),
            automatic: p.automatic,
            on_change: None,
            commands: p.commands,
        })
        .collect()
}

/// Reads the CloudFormation templates and CDK apps of the repository.
pub(crate) fn find(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> AwsDefs {
    let mut defs = AwsDefs::default();
    for (entry, text) in script::yaml_texts(index, may_be_template) {
        if !may_be_template(&entry.path) {
            continue;
        }
        if text.contains(PIPELINE_TYPE) || text.contains(PROJECT_TYPE) {
            read_template(index, &entry.path, text, warnings, &mut defs);
        }
    }
    for entry in index.files().iter().filter(|f| f.name() == "cdk.json") {
        read_cdk_app(index, paths::parent(&entry.path), &mut defs);
    }
    defs
}

/// YAML templates anywhere; JSON only with a name that says template (JSON
/// data files are many and large).
fn may_be_template(path: &str) -> bool {
    // The name first: asked of every path, it rules out nearly all of them
    // before the path is searched.
    let name = paths::file_name(path);
    let by_name = script::is_yaml(name)
        || crate::text::case::ends_with_ignore_case(name, ".template")
        || (crate::text::case::ends_with_ignore_case(name, ".json")
            && ["template", "pipeline", "cfn", "stack"]
                .iter()
                .any(|k| crate::text::case::contains_ignore_case(name, k)));
    by_name && !contains(path, "node_modules/") && !contains(path, "cdk.out/")
}

/// A CodeBuild project of a template.
struct Project {
    buildspec: Option<String>,
    webhook: bool,
}

fn read_template(
    index: &RepoIndex,
    path: &str,
    text: &str,
    warnings: &mut Vec<CiWarning>,
    defs: &mut AwsDefs,
) {
    let docs = match yaml::parse_all(text) {
        Ok(docs) => docs,
        Err(err) => {
            warnings.push(warning(path, err.line, format!("could not parse this CloudFormation template ({}); its pipelines are not counted", err.message)));
            return;
        }
    };
    for doc in &docs {
        let Some(resources) = get(doc, "Resources").and_then(Value::as_mapping) else {
            continue;
        };
        let mut projects = HashMap::new();
        for (name, resource) in resources {
            if get_str(resource, "Type") != Some(PROJECT_TYPE) {
                continue;
            }
            let props = get(resource, "Properties");
            let buildspec = props
                .and_then(|p| get(p, "Source"))
                .and_then(|s| get(s, "BuildSpec"))
                .and_then(yaml::scalar);
            let webhook = props
                .and_then(|p| get(p, "Triggers"))
                .and_then(|t| get(t, "Webhook"))
                .and_then(yaml::scalar)
                .is_some_and(|w| w == "true");
            let name = yaml::scalar(name).unwrap_or_default();
            if webhook {
                if let Some(Spec::File(file)) = resolve_spec(index, path, buildspec.as_deref()) {
                    defs.webhook_buildspecs.push(file);
                }
            }
            projects.insert(name, Project { buildspec, webhook });
        }
        let resources_line = lines::find_top_key(text, "Resources")
            .or_else(|| lines::find_line(text, "\"Resources\"", 1))
            .unwrap_or(1);
        for (name, resource) in resources {
            if get_str(resource, "Type") != Some(PIPELINE_TYPE) {
                continue;
            }
            let name = yaml::scalar(name).unwrap_or_default();
            let line =
                lines::find_key_line(text, &name, resources_line, 1).unwrap_or(resources_line);
            let mut pipeline = Pipeline {
                name: format!("{} › {name}", paths::file_name(path)),
                file: path.to_string(),
                line,
                automatic: false,
                buildspecs: Vec::new(),
                commands: Vec::new(),
            };
            let stages = get(resource, "Properties")
                .and_then(|p| get(p, "Stages"))
                .and_then(Value::as_sequence);
            for action in stages
                .into_iter()
                .flatten()
                .filter_map(|s| get(s, "Actions"))
                .filter_map(Value::as_sequence)
                .flatten()
            {
                let kind = get(action, "ActionTypeId");
                if kind.and_then(|k| get_str(k, "Category")) == Some("Source") {
                    pipeline.automatic = true;
                }
                if kind.and_then(|k| get_str(k, "Provider")) != Some("CodeBuild") {
                    continue;
                }
                let project = get(action, "Configuration")
                    .and_then(|c| get(c, "ProjectName"))
                    .and_then(reference)
                    .and_then(|r| projects.get(&r));
                let Some(project) = project else {
                    continue;
                };
                match resolve_spec(index, path, project.buildspec.as_deref()) {
                    Some(Spec::File(file)) => pipeline.buildspecs.push(file),
                    Some(Spec::Inline(body)) => {
                        inline_commands(index, path, text, &body, line, &mut pipeline.commands)
                    }
                    None => {
                        let spec = project
                            .buildspec
                            .clone()
                            .unwrap_or_else(|| "buildspec.yml".into());
                        warnings.push(warning(path, lines::find_line(text, &spec, 1).or(Some(line)), format!("the CodeBuild project runs `{spec}`, which is not in the repository; what it runs is not counted")));
                    }
                }
                let _ = project.webhook;
            }
            defs.pipelines.push(pipeline);
        }
    }
}

/// The resource a `!Ref X`, `{Ref: X}` or plain name points at.
fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => yaml::scalar(&tagged.value),
        Value::Mapping(_) => get(value, "Ref").and_then(yaml::scalar),
        other => yaml::scalar(other),
    }
}

/// Where a project's buildspec is.
enum Spec {
    File(String),
    Inline(String),
}

fn resolve_spec(index: &RepoIndex, template: &str, buildspec: Option<&str>) -> Option<Spec> {
    let buildspec = buildspec.unwrap_or("buildspec.yml");
    if buildspec.contains('\n') || buildspec.contains("phases") {
        return Some(Spec::Inline(buildspec.to_string()));
    }
    [
        paths::join("", buildspec),
        paths::join(paths::parent(template), buildspec),
    ]
    .into_iter()
    .flatten()
    .find(|p| index.is_file(p))
    .map(Spec::File)
}

/// The commands of an inline buildspec, placed in the template.
fn inline_commands(
    index: &RepoIndex,
    path: &str,
    text: &str,
    body: &str,
    line: usize,
    out: &mut Vec<Pending>,
) {
    let Ok(doc) = yaml::parse(body) else {
        return;
    };
    let mut placer = Placer::new(index, path, text, line);
    buildspec::phase_commands(&doc, &mut placer, out);
}

static CDK_PIPELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:codepipeline\.Pipeline|pipelines\.CodePipeline|CodePipeline)\s*\(")
        .expect("valid regex")
});
static CDK_SOURCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"SourceAction\s*\(|CodePipelineSource\.").expect("valid regex"));
static CDK_BUILDSPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:from_source_filename|fromSourceFilename)\(\s*["']([^"']+)["']"#)
        .expect("valid regex")
});
static CDK_COMMANDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bcommands\s*[=:]\s*\[").expect("valid regex"));
static STRING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'"#).expect("valid regex")
});

/// The pipelines a CDK app's Python or TypeScript code defines.
fn read_cdk_app(index: &RepoIndex, dir: &str, defs: &mut AwsDefs) {
    for entry in paths::files_under(index, dir) {
        let path = entry.path.as_str();
        let code =
            matches!(entry.extension(), Some("py" | "ts" | "js")) && !path.ends_with(".d.ts");
        if !code || path.contains("node_modules/") || path.contains("cdk.out/") {
            continue;
        }
        let Some(text) = index.source(entry) else {
            continue;
        };
        let Some(found) = CDK_PIPELINE.find(text) else {
            continue;
        };
        let line = text[..found.start()].matches('\n').count() + 1;
        let mut buildspecs: Vec<String> = CDK_BUILDSPEC
            .captures_iter(text)
            .filter_map(|c| {
                [paths::join(dir, &c[1]), paths::join("", &c[1])]
                    .into_iter()
                    .flatten()
                    .find(|p| index.is_file(p))
            })
            .collect();
        if buildspecs.is_empty()
            && (text.contains("CodeBuildAction") || text.contains("PipelineProject"))
        {
            // A project without a buildspec of its own runs `buildspec.yml`.
            if let Some(default) = [
                paths::join(dir, "buildspec.yml"),
                Some("buildspec.yml".into()),
            ]
            .into_iter()
            .flatten()
            .find(|p| index.is_file(p))
            {
                buildspecs.push(default);
            }
        }
        let mut commands = Vec::new();
        let mut placer = Placer::new(index, path, text, line);
        for list in CDK_COMMANDS.find_iter(text) {
            let body = list_body(&text[list.end()..]);
            for caps in STRING.captures_iter(body) {
                let literal = caps.get(1).or(caps.get(2)).map_or("", |m| m.as_str());
                placer.block(
                    &literal.replace("\\\"", "\"").replace("\\'", "'"),
                    "",
                    &mut commands,
                );
            }
        }
        defs.pipelines.push(Pipeline {
            name: format!("{} › pipeline", paths::file_name(path)),
            file: path.to_string(),
            line,
            automatic: CDK_SOURCE.is_match(text),
            buildspecs,
            commands,
        });
    }
}

/// The text of a `[ … ]` list whose opening bracket was just read.
fn list_body(text: &str) -> &str {
    let mut quotes = super::pipelines::pysrc::Quotes::default();
    for (i, c) in text.char_indices().take(MAX_LIST) {
        if quotes.is_code(c) && c == ']' {
            return &text[..i];
        }
    }
    &text[..text.len().min(MAX_LIST)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDK: &str = r#"from aws_cdk import pipelines

class Stack:
    def __init__(self):
        pipeline = pipelines.CodePipeline(
            self, "Pipeline",
            synth=pipelines.CodeBuildStep(
                "Synth",
                input=pipelines.CodePipelineSource.connection("org/repo", "main"),
                commands=[
                    "pip install -r requirements.txt",
                    'pytest tests/unit',
                    "npx cdk synth",
                ],
            ),
        )
"#;

    #[test]
    fn cdk_pipelines_and_their_commands() {
        let index = RepoIndex::from_memory([
            ("infra/cdk.json", "{}"),
            ("infra/stack.py", CDK),
            ("infra/other.py", "x = 1\n"),
            ("tests/unit/test_a.py", ""),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert_eq!(specs.len(), 1);
        assert_eq!(
            (specs[0].name.as_str(), specs[0].line, specs[0].automatic),
            ("stack.py › pipeline", 5, true)
        );
        assert_eq!(
            specs[0].command_lines(),
            [
                ("pip install -r requirements.txt", 11),
                ("pytest tests/unit", 12),
                ("npx cdk synth", 13)
            ]
        );
    }

    #[test]
    fn templates_are_yaml_or_named_json_outside_generated_folders() {
        for path in [
            "infra/pipeline.yml",
            "a.YAML",
            "cfn/main.template",
            "infra/CfnStack.json",
            "deploy/pipeline-def.json",
        ] {
            assert!(may_be_template(path), "{path}");
        }
        for path in [
            "data/records.json",
            "src/train.py",
            "node_modules/x/pipeline.yml",
            "app/cdk.out/Stack.template.json",
            "cdk.out/a.yaml",
            "template",
        ] {
            assert!(!may_be_template(path), "{path}");
        }
    }

    #[test]
    fn templates_without_a_source_stage_are_manual() {
        let template = "{\"Resources\": {\"P\": {\"Type\": \"AWS::CodePipeline::Pipeline\", \"Properties\": {\"Stages\": [{\"Actions\": [{\"ActionTypeId\": {\"Category\": \"Build\", \"Provider\": \"CodeBuild\"}, \"Configuration\": {\"ProjectName\": {\"Ref\": \"B\"}}}]}]}}, \"B\": {\"Type\": \"AWS::CodeBuild::Project\", \"Properties\": {\"Source\": {\"BuildSpec\": \"version: 0.2\\nphases:\\n  build:\\n    commands:\\n      - make test\\n\"}}}}}";
        let index = RepoIndex::from_memory([
            ("pipeline-template.json", template),
            ("broken.yaml", "Type: AWS::CodeBuild::Project\na: [\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert_eq!(specs.len(), 1);
        assert!(!specs[0].automatic);
        assert_eq!(specs[0].commands[0].text, "make test");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "broken.yaml");
    }
}
