//! Every CI system mlscore reads besides GitHub Actions, Jenkins and GitLab,
//! driven through the real binary on real git repositories: the system is
//! detected, its jobs are listed with file and line, a test file a job runs
//! is automated, a schedule is counted, a job only a person starts does not
//! automate, and a file that does not parse is a warning with its line.

use crate::common;

use common::{json_report, repo_with};
use serde_json::Value;

/// A pandera schema test: data-1 evidence, found under `tests/data/`.
const SCHEMA_TEST: (&str, &str) = (
    "tests/data/test_schema.py",
    "import pandera as pa\n\nschema = pa.DataFrameSchema({})\n\ndef test_schema():\n    assert schema is not None\n",
);

/// What one system's fixture must show.
struct Case<'a> {
    system: &'a str,
    files: &'a [(&'a str, &'a str)],
    /// The job that runs `pytest tests/data` on pushes: (name, file, line).
    runs_tests: (&'a str, &'a str, usize),
    /// A job that runs on a schedule, when the system has them in its files.
    scheduled: Option<&'a str>,
    /// A job only a person starts.
    manual: &'a str,
    /// A malformed file of the system and the line of its warning.
    broken: (&'a str, &'a str, usize),
    /// Whether the broken file may sit beside the others (systems with one
    /// file get a repository of their own for it).
    broken_beside: bool,
}

fn job<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["ci"]["jobs"]
        .as_array()
        .expect("jobs listed")
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job `{name}` in {:#}", report["ci"]["jobs"]))
}

fn check(case: &Case<'_>) {
    let mut files = case.files.to_vec();
    files.push(SCHEMA_TEST);
    if case.broken_beside {
        files.push((case.broken.0, case.broken.1));
    }
    let repo = repo_with(&files);
    let report = json_report(repo.path());
    let systems = report["ci"]["systems"].as_array().expect("systems");
    assert!(
        systems.iter().any(|s| s == case.system),
        "{} not detected: {systems:?}",
        case.system
    );

    let (name, file, line) = case.runs_tests;
    let tests_job = job(&report, name);
    assert_eq!(tests_job["system"], case.system);
    assert_eq!(tests_job["file"], file);
    assert_eq!(tests_job["line"], line);
    assert_eq!(tests_job["automatic"], true);

    let data1 = &report["tests"][0];
    assert_eq!(data1["id"], "data-1");
    assert_eq!(data1["status"], "automated", "{data1:#}");
    assert_eq!(data1["evidence"][0]["ci"]["job"], name);

    if let Some(scheduled) = case.scheduled {
        let scheduled = job(&report, scheduled);
        assert_eq!(scheduled["scheduled"], true);
        assert_eq!(scheduled["automatic"], true);
    }
    let manual = job(&report, case.manual);
    assert_eq!(manual["automatic"], false);
    assert_eq!(manual["scheduled"], false);

    let broken_report = if case.broken_beside {
        report
    } else {
        json_report(repo_with(&[(case.broken.0, case.broken.1)]).path())
    };
    let warned = broken_report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| w["path"] == case.broken.0 && w["line"] == case.broken.2);
    assert!(
        warned,
        "no warning for {}:{} in {:#}",
        case.broken.0, case.broken.2, broken_report["warnings"]
    );
}

/// A manual job must not make evidence automated: only it runs the tests.
fn check_manual_only(files: &[(&str, &str)]) {
    let mut files = files.to_vec();
    files.push(SCHEMA_TEST);
    let report = json_report(repo_with(&files).path());
    assert_eq!(
        report["tests"][0]["status"], "manual",
        "{:#}",
        report["tests"][0]
    );
}

#[test]
fn azure_pipelines() {
    let ci = "trigger:\n  branches:\n    include: [main]\nstages:\n- stage: Test\n  jobs:\n  - job: Unit\n    steps:\n    - template: templates/tests.yml\n      parameters:\n        suite: tests/data\n";
    let tests = "parameters:\n- name: suite\n  default: tests\nsteps:\n- script: |\n    pip install -r requirements.txt\n    python -m pytest ${{ parameters.suite }}\n  displayName: Unit tests\n";
    let nightly = "trigger: none\npr: none\nschedules:\n- cron: '0 3 * * *'\n  branches:\n    include: [main]\njobs:\n- job: drift\n  steps:\n  - task: PythonScript@0\n    inputs:\n      scriptPath: monitoring/drift.py\n";
    let release =
        "trigger: none\npr: none\njobs:\n- job: release\n  steps:\n  - bash: make release\n";
    check(&Case {
        system: "azure-pipelines",
        files: &[
            (".pipelines/ci.yml", ci),
            (".pipelines/templates/tests.yml", tests),
            (".pipelines/nightly.yml", nightly),
            (".pipelines/release.yml", release),
            ("monitoring/drift.py", "print('drift')\n"),
        ],
        runs_tests: ("ci.yml › Test › Unit", ".pipelines/ci.yml", 7),
        scheduled: Some("nightly.yml › drift"),
        manual: "release.yml › release",
        broken: (".pipelines/broken.yml", "jobs:\n- job: x\n  steps: [\n", 4),
        broken_beside: true,
    });
    check_manual_only(&[(
        "azure-pipelines.yml",
        "trigger: none\npr: none\nsteps:\n- script: pytest tests/data\n",
    )]);
}

#[test]
fn circleci() {
    let config = "version: 2.1\norbs:\n  python: circleci/python@2.1\njobs:\n  test:\n    docker:\n      - image: cimg/python:3.11\n    steps:\n      - checkout\n      - python/install-packages\n      - run:\n          name: Tests\n          command: pytest tests/data\n  retrain:\n    docker:\n      - image: cimg/python:3.11\n    steps:\n      - run: python train.py\n  deploy:\n    docker:\n      - image: cimg/python:3.11\n    steps:\n      - run: make deploy\nworkflows:\n  ci:\n    jobs: [test]\n  nightly:\n    triggers:\n      - schedule:\n          cron: \"0 2 * * *\"\n          filters: {branches: {only: main}}\n    jobs: [retrain]\n";
    check(&Case {
        system: "circleci",
        files: &[(".circleci/config.yml", config), ("train.py", "")],
        runs_tests: ("config.yml › test", ".circleci/config.yml", 5),
        scheduled: Some("config.yml › retrain"),
        manual: "config.yml › deploy",
        broken: (
            ".circleci/config.yml",
            "version: 2.1\njobs:\n  test:\n    steps: [\n",
            5,
        ),
        broken_beside: false,
    });
}

#[test]
fn cloud_build() {
    let pushed =
        "steps:\n- name: python:3.11\n  entrypoint: pytest\n  args: ['tests/data', '-q']\n";
    let manual =
        "steps:\n- name: python:3.11\n  entrypoint: bash\n  args: ['-c', 'python deploy.py']\n";
    let trigger = "gcloud builds triggers create github --repo-name=ml --branch-pattern='^main$' \\\n  --build-config=build/ci.yaml\n";
    check(&Case {
        system: "cloud-build",
        files: &[
            ("build/ci.yaml", pushed),
            ("cloudbuild.yaml", manual),
            ("scripts/setup-triggers.sh", trigger),
            ("deploy.py", ""),
        ],
        runs_tests: ("build/ci.yaml", "build/ci.yaml", 1),
        scheduled: None,
        manual: "cloudbuild.yaml",
        broken: ("deploy/cloudbuild.yml", "steps:\n- name: x\n  args: [\n", 4),
        broken_beside: true,
    });
    // Without the trigger, the same config is only ever submitted by hand.
    check_manual_only(&[("build/ci.yaml", pushed)]);
}

#[test]
fn codebuild_and_codepipeline() {
    let buildspec = "version: 0.2\nphases:\n  install:\n    commands:\n      - pip install -r requirements.txt\n  build:\n    commands:\n      - pytest tests/data\n";
    let template = "Resources:\n  Tests:\n    Type: AWS::CodeBuild::Project\n    Properties:\n      Source:\n        Type: CODEPIPELINE\n        BuildSpec: ci/buildspec.yml\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Stages:\n        - Name: Source\n          Actions:\n            - Name: Git\n              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: '1'}\n        - Name: Test\n          Actions:\n            - Name: Test\n              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1'}\n              Configuration:\n                ProjectName: !Ref Tests\n";
    check(&Case {
        system: "codebuild",
        files: &[
            ("ci/buildspec.yml", buildspec),
            ("infra/pipeline.yml", template),
            (
                "buildspec-release.yml",
                "version: 0.2\nphases:\n  build:\n    commands:\n      - make release\n",
            ),
        ],
        runs_tests: ("ci/buildspec.yml", "ci/buildspec.yml", 2),
        scheduled: None,
        manual: "buildspec-release.yml",
        broken: ("buildspec-broken.yml", "version: 0.2\nphases: [\n", 3),
        broken_beside: true,
    });
    let repo = repo_with(&[
        ("ci/buildspec.yml", buildspec),
        ("infra/pipeline.yml", template),
        SCHEMA_TEST,
    ]);
    let report = json_report(repo.path());
    let pipeline = job(&report, "pipeline.yml › Pipeline");
    assert_eq!(pipeline["system"], "codepipeline");
    assert_eq!(
        (pipeline["file"].as_str(), pipeline["line"].as_u64()),
        (Some("infra/pipeline.yml"), Some(8))
    );
    assert_eq!(pipeline["automatic"], true);
    check_manual_only(&[("ci/buildspec.yml", buildspec)]);
}

#[test]
fn travis() {
    let travis = "language: python\ninstall:\n  - pip install -r requirements.txt\nscript:\n  - python3 model/train.py\n  - pytest tests/data\n";
    let repo = repo_with(&[(".travis.yml", travis), ("model/train.py", ""), SCHEMA_TEST]);
    let report = json_report(repo.path());
    assert_eq!(report["ci"]["systems"][0], "travis");
    let only = job(&report, ".travis.yml");
    assert_eq!(
        (
            only["line"].as_u64(),
            only["automatic"].as_bool(),
            only["scheduled"].as_bool()
        ),
        (Some(4), Some(true), Some(false))
    );
    assert_eq!(report["tests"][0]["status"], "automated");
    let broken = json_report(repo_with(&[(".travis.yml", "script:\n  - pytest\n  - [\n")]).path());
    assert!(
        broken["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["path"] == ".travis.yml" && w["line"] == 4),
        "{:#}",
        broken["warnings"]
    );
}

#[test]
fn bitbucket() {
    let pipelines = "pipelines:\n  default:\n    - step:\n        name: Tests\n        script:\n          - pytest tests/data\n  custom:\n    retrain:\n      - step:\n          name: Retrain\n          script:\n            - python train.py\n";
    check(&Case {
        system: "bitbucket",
        files: &[("bitbucket-pipelines.yml", pipelines)],
        runs_tests: (
            "bitbucket-pipelines.yml › default › Tests",
            "bitbucket-pipelines.yml",
            4,
        ),
        scheduled: None,
        manual: "bitbucket-pipelines.yml › custom › retrain › Retrain",
        broken: ("bitbucket-pipelines.yml", "pipelines:\n  default: [\n", 3),
        broken_beside: false,
    });
}

#[test]
fn buildkite() {
    let pipeline = "steps:\n  - label: tests\n    command: pytest tests/data\n  - block: deploy?\n  - label: deploy\n    command: make deploy\n";
    check(&Case {
        system: "buildkite",
        files: &[(".buildkite/pipeline.yml", pipeline)],
        runs_tests: (
            ".buildkite/pipeline.yml › tests",
            ".buildkite/pipeline.yml",
            2,
        ),
        scheduled: None,
        manual: ".buildkite/pipeline.yml › deploy",
        broken: (".buildkite/release.yml", "steps:\n  - command: [\n", 3),
        broken_beside: true,
    });
}

#[test]
fn drone_and_woodpecker() {
    let drone = "kind: pipeline\nname: test\nsteps:\n- name: test\n  image: python:3.11\n  commands:\n  - pytest tests/data\n---\nkind: pipeline\nname: nightly\ntrigger:\n  event: [cron]\nsteps:\n- name: retrain\n  image: python:3.11\n  commands:\n  - python train.py\n---\nkind: pipeline\nname: release\ntrigger:\n  event: [promote]\nsteps:\n- name: ship\n  image: alpine\n  commands:\n  - make release\n";
    check(&Case {
        system: "drone",
        files: &[(".drone.yml", drone)],
        runs_tests: (".drone.yml › test", ".drone.yml", 2),
        scheduled: Some(".drone.yml › nightly"),
        manual: ".drone.yml › release",
        broken: (".drone.yml", "kind: pipeline\nsteps: [\n", 3),
        broken_beside: false,
    });
    let woodpecker = "when:\n  - event: [push, pull_request]\nsteps:\n  - name: test\n    image: python:3.11\n    commands:\n      - pytest tests/data\n";
    check(&Case {
        system: "woodpecker",
        files: &[
            (".woodpecker/test.yml", woodpecker),
            (".woodpecker/nightly.yml", "when:\n  event: cron\nsteps:\n  - name: retrain\n    commands: [python train.py]\n"),
            (".woodpecker/deploy.yml", "when:\n  event: manual\nsteps:\n  - name: deploy\n    commands: [make deploy]\n"),
        ],
        runs_tests: (".woodpecker/test.yml › test.yml", ".woodpecker/test.yml", 3),
        scheduled: Some(".woodpecker/nightly.yml › nightly.yml"),
        manual: ".woodpecker/deploy.yml › deploy.yml",
        broken: (".woodpecker/broken.yml", "steps:\n  - name: x\n    commands: [\n", 4),
        broken_beside: true,
    });
}

#[test]
fn tekton() {
    let tasks = "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: unit-tests\nspec:\n  steps:\n    - name: test\n      image: python:3.11\n      script: |\n        pytest tests/data\n---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: deploy\nspec:\n  steps:\n    - name: deploy\n      image: alpine\n      command: [make, deploy]\n";
    let pipeline = "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: ci\nspec:\n  tasks:\n    - name: test\n      taskRef:\n        name: unit-tests\n---\napiVersion: triggers.tekton.dev/v1beta1\nkind: TriggerTemplate\nmetadata:\n  name: on-push\nspec:\n  resourcetemplates:\n    - apiVersion: tekton.dev/v1\n      kind: PipelineRun\n      spec:\n        pipelineRef:\n          name: ci\n---\napiVersion: triggers.tekton.dev/v1beta1\nkind: EventListener\nmetadata:\n  name: push\n";
    let nightly = "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  name: retrain\nspec:\n  tasks:\n    - name: train\n      taskSpec:\n        steps:\n          - name: train\n            script: python train.py\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 1 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: start\n              image: tkn\n              args: [tkn, pipeline, start, retrain]\n";
    check(&Case {
        system: "tekton",
        files: &[
            ("tekton/tasks.yaml", tasks),
            ("tekton/pipeline.yaml", pipeline),
            ("tekton/nightly.yaml", nightly),
        ],
        runs_tests: ("tekton/pipeline.yaml › ci", "tekton/pipeline.yaml", 2),
        scheduled: Some("tekton/nightly.yaml › retrain"),
        manual: "tekton/tasks.yaml › deploy",
        broken: (
            "tekton/broken.yaml",
            "apiVersion: tekton.dev/v1\nkind: Task\nspec: [\n",
            4,
        ),
        broken_beside: true,
    });
}

#[test]
fn argo_workflows() {
    let template = "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata:\n  name: validate\nspec:\n  templates:\n    - name: tests\n      container:\n        image: python:3.11\n        command: [pytest, tests/data]\n";
    let cron = "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata:\n  name: nightly-validation\nspec:\n  schedule: \"0 4 * * *\"\n  workflowSpec:\n    workflowTemplateRef:\n      name: validate\n";
    check(&Case {
        system: "argo",
        files: &[
            ("workflows/validate.yaml", template),
            ("workflows/nightly.yaml", cron),
        ],
        runs_tests: (
            "workflows/nightly.yaml › nightly-validation",
            "workflows/nightly.yaml",
            2,
        ),
        scheduled: Some("workflows/nightly.yaml › nightly-validation"),
        manual: "workflows/validate.yaml › validate",
        broken: (
            "workflows/broken.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: [\n",
            4,
        ),
        broken_beside: true,
    });
    // A template only ever submitted by hand does not automate its tests.
    check_manual_only(&[("workflows/validate.yaml", template)]);
}

/// A task runner a workflow calls by task name: the schema test the task
/// runs is automated, and the report shows the task's own file and line.
#[test]
fn tasks_called_by_name_reach_what_they_run() {
    let workflow = |command: &str| {
        format!("on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {command}\n")
    };
    let cases: [(&str, (&str, &str), usize); 5] = [
        (
            "mise run test",
            ("mise.toml", "[tasks.install]\nrun = \"uv sync\"\n\n[tasks.test]\ndepends = [\"install\"]\nrun = \"uv run pytest tests/data\"\n"),
            6,
        ),
        (
            "just check",
            ("justfile", "default:\n    echo hi\n\ncheck: lint\n    uv run pytest tests/data\n\nlint:\n    ruff check .\n"),
            5,
        ),
        (
            "uv run poe test",
            ("pyproject.toml", "[project]\nname = \"x\"\n\n[tool.poe.tasks]\ntest = \"pytest tests/data\"\n"),
            5,
        ),
        (
            "task test",
            ("Taskfile.yml", "version: '3'\ntasks:\n  test:\n    cmds:\n      - pytest tests/data\n"),
            5,
        ),
        (
            "invoke test",
            ("tasks.py", "from invoke import task\n\n@task\ndef test(c):\n    c.run(\"pytest tests/data\")\n"),
            5,
        ),
    ];
    for (command, task_file, line) in cases {
        let ci = workflow(command);
        let repo = repo_with(&[(".github/workflows/ci.yml", &ci), task_file, SCHEMA_TEST]);
        let report = json_report(repo.path());
        let data1 = &report["tests"][0];
        assert_eq!(data1["status"], "automated", "{command}: {data1:#}");
        let link = &data1["evidence"][0]["ci"];
        assert_eq!(link["command_file"], task_file.0, "{command}: {link:#}");
        assert_eq!(link["command_line"], line, "{command}: {link:#}");
        assert_eq!(link["job"], "ci.yml › test");
        assert_eq!(report["warnings"], serde_json::json!([]), "{command}");
        // Without the task file the test is not run by CI.
        let bare = repo_with(&[(".github/workflows/ci.yml", &ci), SCHEMA_TEST]);
        let report = json_report(bare.path());
        assert_eq!(report["tests"][0]["status"], "manual", "{command}");
    }
}
