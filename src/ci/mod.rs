//! What CI runs: jobs parsed from GitHub Actions, Jenkins, GitLab CI and the
//! task runners they call, followed through scripts and YAML to the files they
//! reach; ML pipelines (`pipelines`) and schedules made by infrastructure as
//! code (`iac`) are jobs too, automatic when CI submits them or a schedule
//! runs them. The rubric asks this model one question per piece of evidence: does a
//! CI job run or reach this file, and is that job scheduled?

mod argo;
mod azure;
mod bitbucket;
mod buildkite;
mod buildspec;
mod circleci;
mod cloudbuild;
mod codebuild;
mod codepipeline;
mod coverage;
mod drone;
mod dvc;
mod follow;
mod github;
mod gitlab;
mod groovy;
mod iac;
mod ini;
mod invocation;
mod jenkins;
mod job;
mod lines;
mod makefile;
mod nox;
mod paths;
mod pipelines;
mod precommit;
mod programs;
mod pytest;
mod python;
mod script;
mod shell;
mod submit;
mod tasks;
mod tekton;
#[cfg(test)]
mod tests;
mod tox;
mod travis;
mod workflow_env;
mod yaml;

use serde::Serialize;

use crate::repo::RepoIndex;

use coverage::CoverageTable;

pub use gitlab::GITLAB_SCHEDULE;

/// A CI system mlscore understands. Everything about one system lives in its
/// [`CiSystemDef`] in [`SYSTEMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiSystem {
    GithubActions,
    Jenkins,
    GitlabCi,
    AzurePipelines,
    #[serde(rename = "circleci")]
    Circleci,
    CloudBuild,
    Codebuild,
    Codepipeline,
    Bitbucket,
    Buildkite,
    Drone,
    Woodpecker,
    Travis,
    Tekton,
    Argo,
    Kubeflow,
    Tfx,
    Sagemaker,
    AzureMl,
    Airflow,
    Prefect,
    Dagster,
    Metaflow,
    Zenml,
    Flyte,
    Kedro,
    Cloudformation,
    Cdk,
    Terraform,
}

/// What kind of automation a system is: all of them run without a person,
/// which is what makes the rubric's tests automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    /// A CI service that runs jobs on pushes, pull requests and schedules.
    Ci,
    /// An ML pipeline or workflow orchestrator (Kubeflow, Airflow, …): its
    /// steps are automated when CI submits the pipeline or a schedule runs it.
    Pipeline,
    /// Infrastructure as code that creates schedules and alarms.
    Infrastructure,
}

/// One CI system: its id in reports, the name users know, the files that
/// define its jobs, and the reader of those files. Adding a CI system is one
/// reader module and one entry in [`SYSTEMS`]; `ci`, the reports and `forge`
/// all read it from here.
pub struct CiSystemDef {
    pub system: CiSystem,
    pub kind: SystemKind,
    /// The id in JSON reports and in `checks/` rules (`github-actions`).
    pub id: &'static str,
    /// The name users know the system by.
    pub display_name: &'static str,
    /// Where its job definitions live, for the README and `explain`.
    pub files: &'static str,
    /// Reads its jobs from the repository; problems become warnings.
    pub(crate) jobs: fn(&RepoIndex, &mut Vec<CiWarning>) -> Vec<job::JobSpec>,
}

/// Every CI system mlscore reads, in the order their jobs are listed.
pub const SYSTEMS: &[CiSystemDef] = &[
    CiSystemDef {
        system: CiSystem::GithubActions,
        kind: SystemKind::Ci,
        id: "github-actions",
        display_name: "GitHub Actions",
        files: ".github/workflows/*.yml",
        jobs: github::jobs,
    },
    CiSystemDef {
        system: CiSystem::Jenkins,
        kind: SystemKind::Ci,
        id: "jenkins",
        display_name: "Jenkins",
        files: "Jenkinsfile, Jenkinsfile.*, *.jenkinsfile",
        jobs: jenkins::jobs,
    },
    CiSystemDef {
        system: CiSystem::GitlabCi,
        kind: SystemKind::Ci,
        id: "gitlab-ci",
        display_name: "GitLab CI",
        files: ".gitlab-ci.yml and the files it includes",
        jobs: gitlab::jobs,
    },
    CiSystemDef {
        system: CiSystem::AzurePipelines,
        kind: SystemKind::Ci,
        id: "azure-pipelines",
        display_name: "Azure Pipelines",
        files: "azure-pipelines*.yml, .azure-pipelines/, .pipelines/, .azuredevops/ and the templates they include",
        jobs: azure::jobs,
    },
    CiSystemDef {
        system: CiSystem::Circleci,
        kind: SystemKind::Ci,
        id: "circleci",
        display_name: "CircleCI",
        files: ".circleci/config.yml",
        jobs: circleci::jobs,
    },
    CiSystemDef {
        system: CiSystem::CloudBuild,
        kind: SystemKind::Ci,
        id: "cloud-build",
        display_name: "Google Cloud Build",
        files: "cloudbuild*.yaml, build/*.yaml shaped like a build; triggers in scripts and Terraform",
        jobs: cloudbuild::jobs,
    },
    CiSystemDef {
        system: CiSystem::Codebuild,
        kind: SystemKind::Ci,
        id: "codebuild",
        display_name: "AWS CodeBuild",
        files: "buildspec*.yml",
        jobs: codebuild::jobs,
    },
    CiSystemDef {
        system: CiSystem::Codepipeline,
        kind: SystemKind::Ci,
        id: "codepipeline",
        display_name: "AWS CodePipeline",
        files: "CloudFormation templates (AWS::CodePipeline::Pipeline), CDK apps beside a cdk.json",
        jobs: codepipeline::jobs,
    },
    CiSystemDef {
        system: CiSystem::Bitbucket,
        kind: SystemKind::Ci,
        id: "bitbucket",
        display_name: "Bitbucket Pipelines",
        files: "bitbucket-pipelines.yml",
        jobs: bitbucket::jobs,
    },
    CiSystemDef {
        system: CiSystem::Buildkite,
        kind: SystemKind::Ci,
        id: "buildkite",
        display_name: "Buildkite",
        files: ".buildkite/*.yml, buildkite.yml",
        jobs: buildkite::jobs,
    },
    CiSystemDef {
        system: CiSystem::Drone,
        kind: SystemKind::Ci,
        id: "drone",
        display_name: "Drone",
        files: ".drone.yml",
        jobs: drone::drone_jobs,
    },
    CiSystemDef {
        system: CiSystem::Woodpecker,
        kind: SystemKind::Ci,
        id: "woodpecker",
        display_name: "Woodpecker",
        files: ".woodpecker.yml, .woodpecker/*.yml",
        jobs: drone::woodpecker_jobs,
    },
    CiSystemDef {
        system: CiSystem::Travis,
        kind: SystemKind::Ci,
        id: "travis",
        display_name: "Travis CI",
        files: ".travis.yml",
        jobs: travis::jobs,
    },
    CiSystemDef {
        system: CiSystem::Tekton,
        kind: SystemKind::Ci,
        id: "tekton",
        display_name: "Tekton",
        files: "Task and Pipeline resources in any YAML file; TriggerTemplate/EventListener and CronJob starters",
        jobs: tekton::jobs,
    },
    CiSystemDef {
        system: CiSystem::Argo,
        kind: SystemKind::Ci,
        id: "argo",
        display_name: "Argo Workflows",
        files: "Workflow, WorkflowTemplate and CronWorkflow resources in any YAML file",
        jobs: argo::jobs,
    },
    CiSystemDef {
        system: CiSystem::Kubeflow,
        kind: SystemKind::Pipeline,
        id: "kubeflow",
        display_name: "Kubeflow / Vertex AI Pipelines",
        files: "*.py with `@dsl.pipeline`; compiled specs with `pipelineSpec`/`deploymentSpec`",
        jobs: pipelines::kubeflow::jobs,
    },
    CiSystemDef {
        system: CiSystem::Tfx,
        kind: SystemKind::Pipeline,
        id: "tfx",
        display_name: "TFX",
        files: "*.py building `pipeline.Pipeline(components=[…])`",
        jobs: pipelines::tfx::jobs,
    },
    CiSystemDef {
        system: CiSystem::Sagemaker,
        kind: SystemKind::Pipeline,
        id: "sagemaker",
        display_name: "SageMaker Pipelines",
        files: "*.py with `Pipeline(steps=[…])`, Model Monitor schedules",
        jobs: pipelines::sagemaker::jobs,
    },
    CiSystemDef {
        system: CiSystem::AzureMl,
        kind: SystemKind::Pipeline,
        id: "azure-ml",
        display_name: "Azure ML pipelines",
        files: "*.py (SDK v1/v2), `type: pipeline` job YAML, schedule YAML",
        jobs: pipelines::azureml::jobs,
    },
    CiSystemDef {
        system: CiSystem::Airflow,
        kind: SystemKind::Pipeline,
        id: "airflow",
        display_name: "Airflow",
        files: "*.py defining `DAG(…)` or `@dag`",
        jobs: pipelines::airflow::jobs,
    },
    CiSystemDef {
        system: CiSystem::Prefect,
        kind: SystemKind::Pipeline,
        id: "prefect",
        display_name: "Prefect",
        files: "*.py with `@flow`; prefect.yaml deployments",
        jobs: pipelines::prefect::jobs,
    },
    CiSystemDef {
        system: CiSystem::Dagster,
        kind: SystemKind::Pipeline,
        id: "dagster",
        display_name: "Dagster",
        files: "*.py with `@job`, `define_asset_job`, schedules and sensors",
        jobs: pipelines::dagster::jobs,
    },
    CiSystemDef {
        system: CiSystem::Metaflow,
        kind: SystemKind::Pipeline,
        id: "metaflow",
        display_name: "Metaflow",
        files: "*.py with `FlowSpec` subclasses",
        jobs: pipelines::metaflow::jobs,
    },
    CiSystemDef {
        system: CiSystem::Zenml,
        kind: SystemKind::Pipeline,
        id: "zenml",
        display_name: "ZenML",
        files: "*.py with `@pipeline` (zenml)",
        jobs: pipelines::zenml::jobs,
    },
    CiSystemDef {
        system: CiSystem::Flyte,
        kind: SystemKind::Pipeline,
        id: "flyte",
        display_name: "Flyte",
        files: "*.py with `@workflow` (flytekit); `LaunchPlan` schedules",
        jobs: pipelines::flyte::jobs,
    },
    CiSystemDef {
        system: CiSystem::Kedro,
        kind: SystemKind::Pipeline,
        id: "kedro",
        display_name: "Kedro",
        files: "*.py with `create_pipeline()` and `node(…)`",
        jobs: pipelines::kedro::jobs,
    },
    CiSystemDef {
        system: CiSystem::Cloudformation,
        kind: SystemKind::Infrastructure,
        id: "cloudformation",
        display_name: "CloudFormation / SAM",
        files: "templates with `Resources:` (*.yaml, *.json, *.template)",
        jobs: iac::cloudformation::jobs,
    },
    CiSystemDef {
        system: CiSystem::Cdk,
        kind: SystemKind::Infrastructure,
        id: "cdk",
        display_name: "AWS CDK",
        files: "*.py, *.ts importing aws_cdk / aws-cdk-lib",
        jobs: iac::cdk::jobs,
    },
    CiSystemDef {
        system: CiSystem::Terraform,
        kind: SystemKind::Infrastructure,
        id: "terraform",
        display_name: "Terraform",
        files: "*.tf `resource` blocks",
        jobs: iac::terraform::jobs,
    },
];

impl CiSystem {
    /// The system's descriptor.
    pub fn def(self) -> &'static CiSystemDef {
        SYSTEMS
            .iter()
            .find(|d| d.system == self)
            .expect("every CiSystem has an entry in SYSTEMS")
    }

    /// The name users know the system by.
    pub fn display_name(self) -> &'static str {
        self.def().display_name
    }

    /// The system with this report id (`github-actions`).
    pub fn from_id(id: &str) -> Option<CiSystem> {
        SYSTEMS.iter().find(|d| d.id == id).map(|d| d.system)
    }
}

/// One CI job (a GitHub Actions job, a Jenkins stage, a GitLab job).
#[derive(Debug, Clone, Serialize)]
pub struct CiJob {
    /// Position in [`CiModel::jobs`].
    pub id: usize,
    pub system: CiSystem,
    /// Human name, e.g. `ci.yml › test` or `Jenkinsfile › Unit tests`.
    pub name: String,
    /// File that defines the job, repository-relative.
    pub file: String,
    /// 1-based line where the job is defined.
    pub line: usize,
    /// Cron expressions that trigger the job (empty when not scheduled).
    pub schedules: Vec<String>,
    /// False when the job only ever runs by hand (e.g. `workflow_dispatch` only,
    /// GitLab `when: manual`).
    pub automatic: bool,
    /// A change to the repository (a push, a pull or merge request) starts
    /// it, whether or not a schedule does too.
    pub on_change: bool,
    /// For an ML pipeline: the automatic job (index into [`CiModel::jobs`])
    /// that submits it, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<usize>,
}

impl CiJob {
    /// Whether a cron schedule triggers this job.
    pub fn is_scheduled(&self) -> bool {
        !self.schedules.is_empty()
    }
}

/// One command that CI runs, directly or through files it reaches.
#[derive(Debug, Clone, Serialize)]
pub struct CiCommand {
    /// The job that (transitively) runs it.
    pub job: usize,
    /// The command text, one logical shell command (continuations joined).
    pub text: String,
    /// The file the command is written in (a workflow, a script, a Makefile…).
    pub file: String,
    /// 1-based line of the command in `file`.
    pub line: usize,
    /// How many hops from the CI definition: 0 in the workflow itself, 1 in a
    /// script or Makefile target it calls, and so on.
    pub depth: usize,
}

/// How a CI job reaches a repository file.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// The job.
    pub job: usize,
    /// The command (index into [`CiModel::commands`]) that runs or names it.
    pub command: usize,
}

/// A problem met while reading CI files; never fatal.
#[derive(Debug, Clone, Serialize)]
pub struct CiWarning {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Everything mlscore knows about what CI runs.
#[derive(Debug, Default)]
pub struct CiModel {
    /// The CI jobs found.
    pub jobs: Vec<CiJob>,
    /// Every command run, including those reached through scripts.
    pub commands: Vec<CiCommand>,
    /// Problems met while parsing; shown as warnings.
    pub warnings: Vec<CiWarning>,
    /// Best reach of each covered file and directory, any job.
    coverage: CoverageTable,
    /// The same, through scheduled automatic jobs only.
    scheduled_coverage: CoverageTable,
    /// Commands that run mlscore, in order.
    mlscore_commands: Vec<usize>,
    /// `(command, file)` for every repository file a command runs or names
    /// directly (not through imports), in command order: what a job runs,
    /// step by step, for the rubric's role rules.
    pub(crate) named: Vec<(usize, String)>,
}

impl CiModel {
    /// Reads every CI definition in the index and follows what it runs.
    ///
    /// Only files that CI names are read, so building stays cheap on a large
    /// repository. Nothing here fails: problems become [`CiModel::warnings`].
    pub fn build(index: &RepoIndex) -> CiModel {
        let mut warnings = Vec::new();
        let specs = SYSTEMS
            .iter()
            .flat_map(|def| {
                crate::timing::span(def.display_name, || (def.jobs)(index, &mut warnings))
            })
            .collect();
        crate::timing::span("follow", || {
            follow::Follower::new(index, warnings).run(specs)
        })
    }

    /// The CI systems found, in a stable order.
    pub fn systems(&self) -> Vec<CiSystem> {
        let mut systems: Vec<CiSystem> = self.jobs.iter().map(|j| j.system).collect();
        systems.sort();
        systems.dedup();
        systems
    }

    /// How CI reaches a repository file, preferring automatic jobs and then the
    /// shallowest command; `None` when no CI job runs or reaches it.
    ///
    /// A file is reached when a command names it, when it lies in a directory a
    /// command names, when a test runner collects it, or when a Python file
    /// that CI runs or tests imports it.
    pub fn reach(&self, path: &str) -> Option<Reach> {
        self.coverage.lookup(path)
    }

    /// Like [`CiModel::reach`], but only through jobs that run on a schedule.
    pub fn scheduled_reach(&self, path: &str) -> Option<Reach> {
        self.scheduled_coverage.lookup(path)
    }

    /// The first command of an automatic job that runs `mlscore` itself.
    /// Falls back to a manual job's command when no automatic job runs it.
    pub fn mlscore_command(&self) -> Option<&CiCommand> {
        let automatic = |&&id: &&usize| {
            self.commands
                .get(id)
                .and_then(|c| self.jobs.get(c.job))
                .is_some_and(|j| j.automatic)
        };
        let id = self
            .mlscore_commands
            .iter()
            .find(automatic)
            .or(self.mlscore_commands.first())?;
        self.commands.get(*id)
    }

    /// The commands of one job, in the order they were followed.
    pub fn commands_of(&self, job: usize) -> impl Iterator<Item = &CiCommand> {
        self.commands.iter().filter(move |c| c.job == job)
    }

    /// The repository files command `command` runs or names directly.
    pub fn files_named_by(&self, command: usize) -> impl Iterator<Item = &str> {
        let start = self.named.partition_point(|(c, _)| *c < command);
        self.named[start..]
            .iter()
            .take_while(move |(c, _)| *c == command)
            .map(|(_, path)| path.as_str())
    }

    /// How many files and directories CI reaches (for summaries and benchmarks).
    pub fn covered_len(&self) -> usize {
        self.coverage.len()
    }
}
