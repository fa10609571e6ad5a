//! ML pipelines and infrastructure as code as automation, end to end: real
//! git repositories shaped like the pipeline repositories studied (Airflow
//! DAGs, KFP/Vertex, SageMaker, Azure ML, TFX, Prefect, Dagster, Metaflow,
//! ZenML, Flyte, Kedro, CloudFormation, CDK, Terraform), `mlscore check --format
//! json`, and what the report says about the pipelines' jobs and the
//! evidence in the files their steps run.
//!
//! The probe evidence is a Great Expectations expectation written in code
//! (data-1): automated exactly when an automatic job reaches its file.

use serde_json::Value;

use crate::common::{json_report, repo_with};

/// A step file holding data-1 evidence.
const VALIDATE: &str = "def validate(df):\n    df.expect_column_values_to_not_be_null('age')\n";
/// A workflow that runs a command on every push.
fn workflow(command: &str) -> String {
    format!("on: [push]\njobs:\n  pipeline:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {command}\n")
}

/// The report's job with this name.
fn job<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["ci"]["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job `{name}` in {:#}", report["ci"]["jobs"]))
}

fn systems(report: &Value) -> Vec<String> {
    report["ci"]["systems"]
        .as_array()
        .expect("systems")
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether the evidence in `path` counts as automated, and the job behind it.
fn evidence(report: &Value, path: &str) -> (bool, Option<String>) {
    let found = report["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["evidence"].as_array().into_iter().flatten())
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no evidence in {path}"));
    (
        found["automated"].as_bool().unwrap_or(false),
        found["ci"]["job"].as_str().map(str::to_string),
    )
}

fn warned(report: &Value, path: &str, line: u64) -> bool {
    report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w["path"] == path && w["line"] == line)
}

#[test]
fn airflow_scheduled_dags_are_automated_and_manual_ones_are_not() {
    let scheduled = "from airflow import DAG\nfrom airflow.operators.python import PythonOperator\nfrom tasks import validate\n\nwith DAG(dag_id='nightly', schedule='0 3 * * *') as dag:\n    check = PythonOperator(task_id='validate', python_callable=validate)\n";
    let manual = "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\nwith DAG(dag_id='adhoc', schedule=None) as dag:\n    run = BashOperator(task_id='check', bash_command='python jobs/check.py')\n";
    let broken =
        "from airflow import DAG\nwith DAG(dag_id='broken', schedule='@daily' as dag:\n    pass\n";
    let repo = repo_with(&[
        ("dags/nightly.py", scheduled),
        ("dags/tasks.py", VALIDATE),
        ("dags/adhoc.py", manual),
        ("jobs/check.py", VALIDATE),
        ("dags/broken.py", broken),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"airflow".to_string()));
    let nightly = job(&report, "nightly.py › nightly");
    assert_eq!(
        (nightly["file"].as_str(), nightly["line"].as_u64()),
        (Some("dags/nightly.py"), Some(5))
    );
    assert_eq!(
        (
            nightly["scheduled"].as_bool(),
            nightly["automatic"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let adhoc = job(&report, "adhoc.py › adhoc");
    assert_eq!(
        (adhoc["scheduled"].as_bool(), adhoc["automatic"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        evidence(&report, "dags/tasks.py"),
        (true, Some("nightly.py › nightly".into()))
    );
    assert!(!evidence(&report, "jobs/check.py").0);
    assert!(
        warned(&report, "dags/broken.py", 2),
        "{:#}",
        report["warnings"]
    );
}

#[test]
fn kubeflow_pipeline_submitted_by_ci_automates_its_components() {
    let component = format!("from kfp import dsl\n\n@dsl.component\ndef check(df: str):\n    validate(df)\n\n{VALIDATE}");
    let pipeline = "from kfp import dsl\nfrom components.check import check\n\n@dsl.pipeline(name='training')\ndef training():\n    check(df='x')\n";
    let run = "from google.cloud import aiplatform\nfrom kfp import compiler\nfrom pipelines.training import training\n\ncompiler.Compiler().compile(training, 'p.json')\naiplatform.PipelineJob(display_name='t', template_path='p.json').submit()\n";
    let other = "from kfp import dsl\nfrom components.other import other\n\n@dsl.pipeline(name='manual')\ndef manual():\n    other()\n";
    let other_component =
        format!("from kfp import dsl\n\n@dsl.component\ndef other():\n    pass\n\n{VALIDATE}");
    let repo = repo_with(&[
        (
            ".github/workflows/pipeline.yml",
            &workflow("python pipelines/run.py"),
        ),
        ("components/check.py", &component),
        ("components/other.py", &other_component),
        ("pipelines/training.py", pipeline),
        ("pipelines/run.py", run),
        ("pipelines/manual.py", other),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"kubeflow".to_string()));
    let training = job(&report, "training.py › training");
    assert_eq!(
        (training["line"].as_u64(), training["automatic"].as_bool()),
        (Some(4), Some(true))
    );
    assert_eq!(job(&report, "manual.py › manual")["automatic"], false);
    // The workflow reaches the component through the submitting script's
    // imports too; either way the evidence is automated.
    assert!(evidence(&report, "components/check.py").0);
    assert!(!evidence(&report, "components/other.py").0);
}

#[test]
fn a_pipeline_only_imported_by_tests_is_not_submitted() {
    let component = format!("from kfp import dsl\n\n@dsl.component\ndef check(df: str):\n    validate(df)\n\n{VALIDATE}");
    let pipeline = "from kfp import dsl\nfrom components.check import check\n\n@dsl.pipeline(name='training')\ndef training():\n    check(df='x')\n\nif __name__ == '__main__':\n    import kfp\n    kfp.Client().create_run_from_pipeline_func(training)\n";
    let test = "from pipelines.training import training\n\ndef test_compiles():\n    assert training is not None\n";
    let repo = repo_with(&[
        (".github/workflows/test.yml", &workflow("pytest tests")),
        ("components/check.py", &component),
        ("pipelines/training.py", pipeline),
        ("tests/test_pipeline.py", test),
    ]);
    let report = json_report(repo.path());
    assert_eq!(job(&report, "training.py › training")["automatic"], false);
}

#[test]
fn sagemaker_pipeline_upserted_by_ci_and_monitor_schedule() {
    let pipeline = "import os\nfrom sagemaker.workflow.pipeline import Pipeline\nfrom sagemaker.workflow.steps import ProcessingStep\nBASE_DIR = os.path.dirname(__file__)\n\ndef get_pipeline():\n    step = ProcessingStep(name='Validate', code=os.path.join(BASE_DIR, 'validate.py'))\n    return Pipeline(name='abalone', steps=[step])\n";
    let run = "from pipelines.pipeline import get_pipeline\np = get_pipeline()\np.upsert(role_arn='r')\np.start()\n";
    let monitor = "from sagemaker.model_monitor import CronExpressionGenerator\nmonitor.create_monitoring_schedule(\n    monitor_schedule_name='drift',\n    schedule_cron_expression=CronExpressionGenerator.daily(),\n)\n";
    let repo = repo_with(&[
        (
            ".github/workflows/deploy.yml",
            &workflow("python pipelines/run.py"),
        ),
        ("pipelines/pipeline.py", pipeline),
        ("pipelines/validate.py", VALIDATE),
        ("pipelines/run.py", run),
        ("monitoring/schedule.py", monitor),
        (
            "monitoring/backfill.py",
            &monitor.replace("drift", "backfill"),
        ),
        (
            ".github/workflows/monitor.yml",
            &workflow("python monitoring/schedule.py"),
        ),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"sagemaker".to_string()));
    assert_eq!(job(&report, "pipeline.py › abalone")["automatic"], true);
    assert_eq!(
        evidence(&report, "pipelines/validate.py"),
        (true, Some("pipeline.py › abalone".into()))
    );
    // A schedule made by a script is made when CI runs the script.
    let drift = job(&report, "schedule.py › drift");
    assert_eq!(
        (drift["scheduled"].as_bool(), drift["line"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(job(&report, "backfill.py › backfill")["scheduled"], false);
}

#[test]
fn azure_ml_yaml_pipeline_created_by_ci_and_scheduled() {
    let pipeline = "type: pipeline\ndisplay_name: train\njobs:\n  validate:\n    type: command\n    code: ../src\n    command: python validate.py\n";
    let manual = "type: pipeline\ndisplay_name: backfill\njobs:\n  check:\n    type: command\n    code: ../jobs\n    command: python check.py\n";
    let schedule = "name: nightly\ntrigger:\n  type: recurrence\n  frequency: day\n  interval: 1\ncreate_job: ./scheduled.yml\n";
    let scheduled = "type: pipeline\ndisplay_name: scoring\njobs:\n  score:\n    type: command\n    command: echo score\n";
    let repo = repo_with(&[
        (
            ".github/workflows/aml.yml",
            &workflow("az ml job create --file ml/pipeline.yml"),
        ),
        ("ml/pipeline.yml", pipeline),
        ("ml/backfill.yml", manual),
        ("ml/schedule.yml", schedule),
        (
            ".github/workflows/schedule.yml",
            &workflow("az ml schedule create --file ml/schedule.yml"),
        ),
        ("ml/scheduled.yml", scheduled),
        ("src/validate.py", VALIDATE),
        ("jobs/check.py", VALIDATE),
        ("ml/broken.yml", "type: pipeline\njobs: [\n"),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"azure-ml".to_string()));
    assert_eq!(job(&report, "pipeline.yml › train")["automatic"], true);
    assert_eq!(job(&report, "backfill.yml › backfill")["automatic"], false);
    assert_eq!(job(&report, "scheduled.yml › scoring")["scheduled"], true);
    assert_eq!(
        evidence(&report, "src/validate.py"),
        (true, Some("pipeline.yml › train".into()))
    );
    assert!(!evidence(&report, "jobs/check.py").0);
    assert!(report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["path"] == "ml/broken.yml"));
}

#[test]
fn tfx_pipeline_run_by_a_runner_ci_calls() {
    let pipeline = "from tfx.orchestration import pipeline\nfrom tfx.v1.components import ExampleValidator, Trainer\n\ndef create_pipeline():\n    validator = ExampleValidator(statistics=s)\n    trainer = Trainer(module_file='src/model.py')\n    return pipeline.Pipeline(pipeline_name='train', components=[validator, trainer])\n";
    let runner = "from tfx.orchestration.local.local_dag_runner import LocalDagRunner\nfrom pipelines import training\nLocalDagRunner().run(training.create_pipeline())\n";
    let repo = repo_with(&[
        (
            ".github/workflows/e2e.yml",
            &workflow("python -m pipelines.run_local"),
        ),
        ("pipelines/__init__.py", ""),
        ("pipelines/training.py", pipeline),
        ("pipelines/run_local.py", runner),
        ("src/model.py", VALIDATE),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"tfx".to_string()));
    assert_eq!(job(&report, "training.py › train")["automatic"], true);
    assert_eq!(
        evidence(&report, "src/model.py"),
        (true, Some("training.py › train".into()))
    );
}

#[test]
fn prefect_flow_scheduled_once_ci_deploys_it() {
    let flow = "from prefect import flow\nfrom steps.check import validate\n\n@flow\ndef monitor():\n    validate(None)\n";
    let deploy = "deployments:\n  - name: hourly\n    entrypoint: flows/monitor.py:monitor\n    schedules:\n      - cron: '0 * * * *'\n";
    for deployed in [true, false] {
        let mut files = vec![
            ("flows/monitor.py", flow.to_string()),
            ("steps/check.py", VALIDATE.to_string()),
            ("prefect.yaml", deploy.to_string()),
        ];
        if deployed {
            files.push((
                ".github/workflows/deploy.yml",
                workflow("prefect deploy --all"),
            ));
        }
        let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let repo = repo_with(&borrowed);
        let report = json_report(repo.path());
        assert!(systems(&report).contains(&"prefect".to_string()));
        let monitor = job(&report, "monitor.py › monitor");
        assert_eq!(
            (
                monitor["scheduled"].as_bool(),
                monitor["automatic"].as_bool()
            ),
            (Some(deployed), Some(deployed))
        );
        assert_eq!(evidence(&report, "steps/check.py").0, deployed);
    }
}

#[test]
fn dagster_job_with_a_schedule_and_one_without() {
    let jobs = "from dagster import job, op, ScheduleDefinition\nfrom ops.check import validate\n\n@job\ndef nightly():\n    validate()\n\n@job\ndef adhoc():\n    pass\n\nschedule = ScheduleDefinition(job=nightly, cron_schedule='0 1 * * *')\n";
    let repo = repo_with(&[("ml/jobs.py", jobs), ("ops/check.py", VALIDATE)]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"dagster".to_string()));
    assert_eq!(job(&report, "jobs.py › nightly")["scheduled"], true);
    assert_eq!(job(&report, "jobs.py › adhoc")["automatic"], false);
    assert_eq!(
        evidence(&report, "ops/check.py"),
        (true, Some("jobs.py › nightly".into()))
    );
}

#[test]
fn metaflow_schedule_counts_only_once_ci_deploys_the_flow() {
    let flow = |name: &str| {
        format!("from metaflow import FlowSpec, step, schedule\nfrom checks import validate\n\n@schedule(daily=True)\nclass {name}(FlowSpec):\n    @step\n    def start(self):\n        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n")
    };
    let repo = repo_with(&[
        (
            ".github/workflows/deploy.yml",
            &workflow("python flows/deployed.py step-functions create"),
        ),
        ("flows/deployed.py", &flow("DeployedFlow")),
        ("flows/local.py", &flow("LocalFlow")),
        ("flows/checks.py", VALIDATE),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"metaflow".to_string()));
    let deployed = job(&report, "deployed.py › DeployedFlow");
    assert_eq!(
        (
            deployed["scheduled"].as_bool(),
            deployed["automatic"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let local = job(&report, "local.py › LocalFlow");
    assert_eq!(
        (local["scheduled"].as_bool(), local["automatic"].as_bool()),
        (Some(false), Some(false))
    );
}

#[test]
fn zenml_pipeline_run_by_a_script_ci_calls() {
    let pipeline = "from zenml import pipeline\nfrom steps.check import validate\n\n@pipeline\ndef training():\n    validate()\n";
    let run =
        "from pipelines.training import training\n\nif __name__ == '__main__':\n    training()\n";
    let repo = repo_with(&[
        (".github/workflows/train.yml", &workflow("python run.py")),
        ("pipelines/training.py", pipeline),
        ("steps/check.py", VALIDATE),
        ("run.py", run),
    ]);
    let report = json_report(repo.path());
    assert!(systems(&report).contains(&"zenml".to_string()));
    assert_eq!(job(&report, "training.py › training")["automatic"], true);
    assert!(evidence(&report, "steps/check.py").0);
}

#[test]
fn kedro_nodes_run_by_kedro_run_in_ci() {
    let pipeline = "from kedro.pipeline import node, pipeline\nfrom .nodes import validate\n\ndef create_pipeline(**kwargs):\n    return pipeline([\n        node(validate, 'raw', 'clean', name='validate'),\n    ])\n";
    let files = |ci: bool| {
        let mut files = vec![
            (
                "src/proj/pipelines/quality/pipeline.py",
                pipeline.to_string(),
            ),
            ("src/proj/pipelines/quality/nodes.py", VALIDATE.to_string()),
        ];
        if ci {
            files.push((".github/workflows/kedro.yml", workflow("kedro run")));
        }
        files
    };
    for ci in [true, false] {
        let owned = files(ci);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let repo = repo_with(&borrowed);
        let report = json_report(repo.path());
        assert!(systems(&report).contains(&"kedro".to_string()));
        assert_eq!(
            job(&report, "src/proj/pipelines/quality/pipeline.py › quality")["automatic"],
            ci
        );
        assert_eq!(
            evidence(&report, "src/proj/pipelines/quality/nodes.py").0,
            ci
        );
    }
}

#[test]
fn infrastructure_as_code_schedules_and_alarms() {
    let template = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Retrain:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: rate(7 days)\n  Errors:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Period: 300\n";
    let cdk = "from aws_cdk import aws_events as events\n\nclass Stack:\n    def __init__(self):\n        events.Rule(self, 'Nightly', schedule=events.Schedule.expression('rate(1 day)'))\n";
    let tf = "resource \"google_cloud_scheduler_job\" \"retrain\" {\n  schedule = \"0 6 * * *\"\n}\nresource \"aws_cloudwatch_metric_alarm\" \"broken\" {\n";
    let repo = repo_with(&[
        ("infra/template.yaml", template),
        ("infra/stack.py", cdk),
        ("infra/main.tf", tf),
    ]);
    let report = json_report(repo.path());
    let found = systems(&report);
    for id in ["cloudformation", "cdk", "terraform"] {
        assert!(found.contains(&id.to_string()), "{id} not in {found:?}");
    }
    assert_eq!(job(&report, "template.yaml › Retrain")["scheduled"], true);
    assert_eq!(job(&report, "template.yaml › Errors")["line"], 7);
    assert_eq!(job(&report, "stack.py › Nightly")["scheduled"], true);
    assert_eq!(
        job(&report, "main.tf › google_cloud_scheduler_job.retrain")["scheduled"],
        true
    );
    assert!(
        warned(&report, "infra/main.tf", 4),
        "{:#}",
        report["warnings"]
    );
}

#[test]
fn flyte_workflow_run_by_ci_and_scheduled_once_activated() {
    let flows = "from flytekit import task, workflow, LaunchPlan, CronSchedule\nfrom steps.check import validate\n\n@task\ndef check() -> None:\n    validate(None)\n\n@workflow\ndef monitor() -> None:\n    check()\n\nLaunchPlan.get_or_create(workflow=monitor, name='hourly', schedule=CronSchedule(schedule='0 * * * *'))\n";
    // (CI command, automatic, scheduled): a registered schedule is off
    // until activated.
    let cases = [
        (None, false, false),
        (
            Some("pyflyte run --remote flows/monitor.py monitor"),
            true,
            false,
        ),
        (Some("pyflyte register flows"), false, false),
        (
            Some("flytectl update launchplan -p ml -d prod hourly --version v1 --activate"),
            true,
            true,
        ),
    ];
    for (command, automatic, scheduled) in cases {
        let mut files = vec![
            ("flows/monitor.py", flows.to_string()),
            ("steps/check.py", VALIDATE.to_string()),
        ];
        if let Some(command) = command {
            files.push((".github/workflows/flyte.yml", workflow(command)));
        }
        let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let repo = repo_with(&borrowed);
        let report = json_report(repo.path());
        assert!(systems(&report).contains(&"flyte".to_string()));
        let monitor = job(&report, "monitor.py › monitor");
        assert_eq!(
            (
                monitor["automatic"].as_bool(),
                monitor["scheduled"].as_bool()
            ),
            (Some(automatic), Some(scheduled)),
            "{command:?}"
        );
        assert_eq!(
            evidence(&report, "steps/check.py").0,
            automatic,
            "{command:?}"
        );
    }
}
