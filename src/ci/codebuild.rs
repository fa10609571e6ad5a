//! AWS CodeBuild: `buildspec*.yml` files. Each buildspec is a job whose
//! commands are its phases' `commands` and `finally` blocks, in phase order,
//! in one shell from the source root (buildspec 0.2). A buildspec runs
//! without a person when a CodePipeline started by source changes runs it,
//! or a CodeBuild project with a webhook does (both read by
//! [`super::codepipeline`]); otherwise its project is started by hand.

use crate::repo::RepoIndex;

use super::buildspec::phase_commands;
use super::codepipeline;
use super::job::JobSpec;
use super::script::{self, warning, Placer};
use super::yaml::get;
use super::{lines, CiSystem, CiWarning};

/// Every buildspec of the repository, as one job each.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let specs: Vec<&str> = index
        .files()
        .iter()
        .filter(|f| is_buildspec(&f.path, f.name()))
        .map(|f| f.path.as_str())
        .collect();
    if specs.is_empty() {
        return Vec::new();
    }
    // Problems in the templates are reported by the CodePipeline reader.
    let defs = codepipeline::find(index, &mut Vec::new());
    let mut out = Vec::new();
    for path in specs {
        let Some((text, doc)) = script::read_doc(index, path, "buildspec", warnings) else {
            continue;
        };
        let Some(line) =
            lines::find_top_key(text, "phases").filter(|_| get(&doc, "phases").is_some())
        else {
            warnings.push(warning(
                path,
                None,
                "this buildspec has no `phases:`; it is not counted",
            ));
            continue;
        };
        let mut placer = Placer::new(index, path, text, line);
        let mut commands = Vec::new();
        phase_commands(&doc, &mut placer, &mut commands);
        out.push(JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::Codebuild,
            name: path.to_string(),
            file: path.to_string(),
            line,
            schedules: Vec::new(),
            automatic: defs.runs_automatically(path),
            on_change: None,
            commands,
        });
    }
    out
}

fn is_buildspec(path: &str, name: &str) -> bool {
    crate::text::case::starts_with_ignore_case(name, "buildspec")
        && script::is_yaml(name)
        && !path.contains("node_modules/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "version: 0.2\nphases:\n  install:\n    commands:\n      - pip install -r $CODEBUILD_SRC_DIR/model/requirements.txt\n  build:\n    commands:\n      - cd $CODEBUILD_SRC_DIR\n      - |\n        python model/run_pipeline.py \\\n          --role-arn=$ROLE\n    finally:\n      - echo done\n";

    #[test]
    fn phases_in_order_and_automation_from_pipelines() {
        let index = RepoIndex::from_memory([
            ("model/buildspec.yml", SPEC),
            ("model/requirements.txt", ""),
            ("model/run_pipeline.py", ""),
            ("buildspec-deploy.yml", "version: 0.2\nenv:\n  shell: bash\n"),
            ("pipeline.yml", "Resources:\n  Build:\n    Type: AWS::CodeBuild::Project\n    Properties:\n      Source:\n        BuildSpec: model/buildspec.yml\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Stages:\n        - Name: Source\n          Actions:\n            - Name: Git\n              ActionTypeId: {Category: Source, Provider: CodeCommit}\n        - Name: Build\n          Actions:\n            - Name: Build\n              ActionTypeId: {Category: Build, Provider: CodeBuild}\n              Configuration:\n                ProjectName: !Ref Build\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert_eq!(specs.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "buildspec-deploy.yml");
        assert!(specs[0].automatic);
        assert_eq!(
            specs[0].command_lines(),
            [
                (
                    "pip install -r $CODEBUILD_SRC_DIR/model/requirements.txt",
                    5
                ),
                ("cd $CODEBUILD_SRC_DIR", 8),
                ("python model/run_pipeline.py --role-arn=$ROLE", 10),
                ("echo done", 13),
            ]
        );

        // Without the pipeline, the same buildspec is started by hand.
        let index = RepoIndex::from_memory([("model/buildspec.yml", SPEC)]);
        let specs = jobs(&index, &mut Vec::new());
        assert!(!specs[0].automatic);
    }
}
