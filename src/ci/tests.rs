//! Whole-model tests: realistic repositories in memory, from CI definitions to
//! the files they reach.

use super::*;

fn build(files: &[(&str, &str)]) -> CiModel {
    CiModel::build(&RepoIndex::from_memory(files.iter().copied()))
}

/// (command text, file, line, depth, job name) of a reach.
fn reached<'m>(
    model: &'m CiModel,
    path: &str,
) -> Option<(&'m str, &'m str, usize, usize, &'m str)> {
    let reach = model.reach(path)?;
    let command = &model.commands[reach.command];
    assert_eq!(command.job, reach.job);
    Some((
        command.text.as_str(),
        command.file.as_str(),
        command.line,
        command.depth,
        model.jobs[reach.job].name.as_str(),
    ))
}

fn commands(model: &CiModel, job: usize) -> Vec<(&str, &str, usize, usize)> {
    model
        .commands_of(job)
        .map(|c| (c.text.as_str(), c.file.as_str(), c.line, c.depth))
        .collect()
}

const DEPLOY_WORKFLOW: &str = "\
name: deploy
on:
  push:
    branches: [main]
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: kubectl apply -f deploy/jobs/workloads.yaml
";

const WORKLOADS_YAML: &str = "\
name: workloads
entrypoint: bash deploy/jobs/workloads.sh
working_dir: .
compute_config: gpu-cluster
";

const WORKLOADS_SH: &str = "\
#!/bin/bash
set -euo pipefail
export RESULTS_FILE=/tmp/results.txt
pytest tests/data --verbose
python -m pytest tests/code
";

fn deploy_repo() -> Vec<(&'static str, &'static str)> {
    vec![
        (".github/workflows/deploy.yml", DEPLOY_WORKFLOW),
        ("deploy/jobs/workloads.yaml", WORKLOADS_YAML),
        ("deploy/jobs/workloads.sh", WORKLOADS_SH),
        (
            "tests/data/test_x.py",
            "from madewithml.data import clean\n",
        ),
        ("tests/data/expectations.json", "{}"),
        ("tests/code/test_y.py", "import madewithml.train\n"),
        ("madewithml/__init__.py", ""),
        ("madewithml/data.py", "import pandas as pd\n"),
        ("madewithml/train.py", "from madewithml import utils\n"),
        ("madewithml/utils.py", ""),
        ("madewithml/serve.py", ""),
        ("README.md", ""),
    ]
}

#[test]
fn a_workflow_reaches_tests_through_a_job_spec_and_a_script() {
    let model = build(&deploy_repo());
    assert!(model.warnings.is_empty(), "{:?}", model.warnings);
    assert_eq!(model.jobs.len(), 1);
    assert_eq!(
        (model.jobs[0].name.as_str(), model.jobs[0].line),
        ("deploy.yml › train", 6)
    );
    assert_eq!(
        commands(&model, 0),
        [
            (
                "kubectl apply -f deploy/jobs/workloads.yaml",
                ".github/workflows/deploy.yml",
                10,
                0
            ),
            (
                "bash deploy/jobs/workloads.sh",
                "deploy/jobs/workloads.yaml",
                2,
                1
            ),
            (
                "export RESULTS_FILE=/tmp/results.txt",
                "deploy/jobs/workloads.sh",
                3,
                2
            ),
            (
                "pytest tests/data --verbose",
                "deploy/jobs/workloads.sh",
                4,
                2
            ),
            (
                "python -m pytest tests/code",
                "deploy/jobs/workloads.sh",
                5,
                2
            ),
        ]
    );
    assert_eq!(
        reached(&model, "tests/data/test_x.py"),
        Some((
            "pytest tests/data --verbose",
            "deploy/jobs/workloads.sh",
            4,
            2,
            "deploy.yml › train"
        ))
    );
    assert_eq!(
        reached(&model, "tests/data/expectations.json").map(|r| r.3),
        Some(2)
    );
    assert_eq!(
        reached(&model, "tests/code/test_y.py"),
        Some((
            "python -m pytest tests/code",
            "deploy/jobs/workloads.sh",
            5,
            2,
            "deploy.yml › train"
        ))
    );
    // Modules the tests import, transitively, are reached by the same command.
    assert_eq!(reached(&model, "madewithml/data.py").map(|r| r.2), Some(4));
    assert_eq!(reached(&model, "madewithml/utils.py").map(|r| r.2), Some(5));
    assert_eq!(
        reached(&model, "madewithml/__init__.py").map(|r| r.3),
        Some(2)
    );
    assert_eq!(
        reached(&model, "deploy/jobs/workloads.sh").map(|r| (r.1, r.3)),
        Some(("deploy/jobs/workloads.yaml", 1))
    );
    assert_eq!(
        reached(&model, "deploy/jobs/workloads.yaml").map(|r| r.3),
        Some(0)
    );
    assert_eq!(model.reach("madewithml/serve.py").map(|r| r.job), None);
    assert!(model.reach("README.md").is_none());
    assert!(model.scheduled_reach("tests/data/test_x.py").is_none());
    assert_eq!(model.systems(), [CiSystem::GithubActions]);
}

#[test]
fn anyscale_job_submission_is_followed_too() {
    let mut files = deploy_repo();
    files[0] = (
        ".github/workflows/deploy.yml",
        "on: [push]\njobs:\n  submit:\n    steps:\n      - run: anyscale job submit deploy/jobs/workloads.yaml --wait\n",
    );
    let model = build(&files);
    assert_eq!(
        reached(&model, "tests/code/test_y.py").map(|r| (r.2, r.3)),
        Some((5, 2))
    );
}

#[test]
fn script_cycles_terminate() {
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  loop:\n    steps:\n      - run: ./scripts/a.sh\n",
        ),
        (
            "scripts/a.sh",
            "#!/usr/bin/env bash\nbash scripts/b.sh\necho a\n",
        ),
        ("scripts/b.sh", "source scripts/a.sh\n"),
    ]);
    assert_eq!(
        commands(&model, 0),
        [
            ("./scripts/a.sh", ".github/workflows/ci.yml", 5, 0),
            ("bash scripts/b.sh", "scripts/a.sh", 2, 1),
            ("echo a", "scripts/a.sh", 3, 1),
            ("source scripts/a.sh", "scripts/b.sh", 1, 2),
        ]
    );
    assert_eq!(reached(&model, "scripts/b.sh").map(|r| r.3), Some(1));
    assert!(model.warnings.is_empty());
}

#[test]
fn the_depth_bound_stops_and_warns() {
    let scripts: Vec<(String, String)> = (0..9)
        .map(|i| (format!("s{i}.sh"), format!("bash s{}.sh\n", i + 1)))
        .collect();
    let mut files: Vec<(&str, &str)> = scripts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    files.push((
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  deep:\n    steps:\n      - run: bash s0.sh\n",
    ));
    let model = build(&files);
    assert_eq!(
        reached(&model, "s6.sh").map(|r| (r.1, r.3)),
        Some(("s5.sh", 6))
    );
    assert!(model.reach("s7.sh").is_none());
    assert_eq!(model.warnings.len(), 1);
    assert_eq!(
        (model.warnings[0].path.as_str(), model.warnings[0].line),
        ("s5.sh", Some(1))
    );
    assert!(model.warnings[0].message.contains("6 levels"));
}

const MAKEFILE: &str = "\
PYTHON ?= python3
.PHONY: test lint data

test: lint data
\t$(PYTHON) -m pytest tests/unit
\t$(MAKE) -C ml train

lint:
\truff check src

data:
\t@python -m pipeline.validate --schema schemas/train.yaml
";

#[test]
fn make_targets_are_followed_into_recipes() {
    let model = build(&[
        (".github/workflows/ci.yml", "on: pull_request\njobs:\n  test:\n    steps:\n      - run: make test\n      - run: make nope\n"),
        ("Makefile", MAKEFILE),
        ("ml/Makefile", "train:\n\tpython train.py --epochs 1\n"),
        ("ml/train.py", "from features import build\n"),
        ("ml/features.py", ""),
        ("tests/unit/test_model.py", ""),
        ("pipeline/__init__.py", ""),
        ("pipeline/validate.py", ""),
        ("schemas/train.yaml", "columns:\n  age: int\n"),
        ("src/app.py", ""),
    ]);
    assert_eq!(
        commands(&model, 0),
        [
            ("make test", ".github/workflows/ci.yml", 5, 0),
            ("make nope", ".github/workflows/ci.yml", 6, 0),
            ("ruff check src", "Makefile", 9, 1),
            (
                "python -m pipeline.validate --schema schemas/train.yaml",
                "Makefile",
                12,
                1
            ),
            ("python3 -m pytest tests/unit", "Makefile", 5, 1),
            ("make -C ml train", "Makefile", 6, 1),
            ("python train.py --epochs 1", "ml/Makefile", 2, 2),
        ]
    );
    assert_eq!(
        reached(&model, "tests/unit/test_model.py").map(|r| (r.0, r.3)),
        Some(("python3 -m pytest tests/unit", 1))
    );
    assert_eq!(
        reached(&model, "pipeline/validate.py").map(|r| r.2),
        Some(12)
    );
    assert_eq!(reached(&model, "schemas/train.yaml").map(|r| r.2), Some(12));
    assert_eq!(
        reached(&model, "ml/train.py").map(|r| (r.1, r.3)),
        Some(("ml/Makefile", 2))
    );
    // `python train.py` puts ml/ on the import path.
    assert_eq!(reached(&model, "ml/features.py").map(|r| r.3), Some(2));
    assert_eq!(
        reached(&model, "src/app.py").map(|r| r.0),
        Some("ruff check src")
    );
    assert_eq!(model.warnings.len(), 1);
    assert_eq!(
        (
            model.warnings[0].line,
            model.warnings[0].message.contains("`nope`")
        ),
        (Some(6), true)
    );
}

const TOX_INI: &str = "\
[tox]
envlist = py311

[testenv]
commands =
    pytest {posargs:tests/unit}
    python -m pipeline.validate
";

const NOXFILE: &str = "\
import nox

@nox.session
def drift(session):
    session.run(\"python\", \"monitoring/drift.py\", \"--window\", \"7d\")
";

const PRE_COMMIT: &str = "\
repos:
  - repo: local
    hooks:
      - id: schema
        entry: python scripts/check_schema.py
        language: system
";

const DVC_YAML: &str = "\
stages:
  prepare:
    cmd: python src/prepare.py
    outs: [data/prepared]
  train:
    cmd: python src/train.py
    deps: [data/prepared]
  report:
    cmd: great_expectations checkpoint run nightly
";

const GITLAB: &str = "\
stages: [test, nightly]
unit:
  script:
    - tox -e py311 -- tests/data
lint:
  script: pre-commit run --all-files
  when: manual
drift:
  script:
    - nox -s drift
  rules:
    - if: $CI_PIPELINE_SOURCE == \"schedule\"
retrain:
  only: [schedules]
  script:
    - dvc repro train
";

fn runners_repo() -> Vec<(&'static str, &'static str)> {
    vec![
        (".gitlab-ci.yml", GITLAB),
        ("tox.ini", TOX_INI),
        ("noxfile.py", NOXFILE),
        (".pre-commit-config.yaml", PRE_COMMIT),
        ("dvc.yaml", DVC_YAML),
        ("tests/data/test_schema.py", ""),
        ("tests/unit/test_model.py", ""),
        ("pipeline/validate.py", ""),
        ("monitoring/drift.py", ""),
        ("scripts/check_schema.py", ""),
        ("src/prepare.py", ""),
        ("src/train.py", ""),
        ("src/report.py", ""),
        ("great_expectations/expectations/nightly.json", "{}"),
    ]
}

#[test]
fn task_runners_are_followed() {
    let model = build(&runners_repo());
    assert!(model.warnings.is_empty(), "{:?}", model.warnings);
    let jobs: Vec<(&str, bool, bool)> = model
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.automatic, j.is_scheduled()))
        .collect();
    assert_eq!(
        jobs,
        [
            (".gitlab-ci.yml › unit", true, false),
            (".gitlab-ci.yml › lint", false, false),
            (".gitlab-ci.yml › drift", true, true),
            (".gitlab-ci.yml › retrain", true, true),
        ]
    );
    // tox: posargs replace the default test path.
    assert_eq!(
        reached(&model, "tests/data/test_schema.py"),
        Some((
            "pytest tests/data",
            "tox.ini",
            6,
            1,
            ".gitlab-ci.yml › unit"
        ))
    );
    assert!(model.reach("tests/unit/test_model.py").is_none());
    assert_eq!(
        reached(&model, "pipeline/validate.py").map(|r| (r.1, r.2)),
        Some(("tox.ini", 7))
    );
    // pre-commit: a manual job still reaches, but never on a schedule.
    assert_eq!(
        reached(&model, "scripts/check_schema.py").map(|r| (r.1, r.2, r.3)),
        Some((".pre-commit-config.yaml", 5, 1))
    );
    assert!(!model.jobs[model.reach("scripts/check_schema.py").unwrap().job].automatic);
    // nox and dvc run from scheduled jobs.
    assert_eq!(
        model
            .scheduled_reach("monitoring/drift.py")
            .map(|r| model.commands[r.command].line),
        Some(5)
    );
    assert_eq!(
        reached(&model, "src/prepare.py").map(|r| (r.1, r.2, r.4)),
        Some(("dvc.yaml", 3, ".gitlab-ci.yml › retrain"))
    );
    assert_eq!(reached(&model, "src/train.py").map(|r| r.2), Some(6));
    // `dvc repro train` runs train and what it depends on, not `report`.
    assert!(model
        .reach("great_expectations/expectations/nightly.json")
        .is_none());
    assert!(model.scheduled_reach("dvc.yaml").is_some());
    assert!(model.scheduled_reach("tox.ini").is_none());
}

#[test]
fn great_expectations_checkpoints_cover_their_folder() {
    let mut files = runners_repo();
    files[0] = (".gitlab-ci.yml", "nightly:\n  script: dvc repro\n");
    let model = build(&files);
    assert_eq!(
        reached(&model, "great_expectations/expectations/nightly.json").map(|r| (r.0, r.1, r.3)),
        Some(("great_expectations checkpoint run nightly", "dvc.yaml", 1))
    );
}

#[test]
fn missing_runner_files_warn() {
    let model = build(&[(".gitlab-ci.yml", "a:\n  script:\n    - dvc repro nope\n    - tox\n    - nox\n    - make\n    - great_expectations checkpoint run x\n")]);
    let lines: Vec<Option<usize>> = model.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [Some(3), Some(4), Some(5), Some(6), Some(7)]);
    assert!(model.warnings.iter().all(|w| w.path == ".gitlab-ci.yml"));
}

#[test]
fn pytest_without_paths_uses_configured_testpaths() {
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  test:\n    steps:\n      - run: uv run pytest -q --cov=src\n",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"pkg\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
        ),
        ("tests/test_model.py", "from pkg.model import Model\n"),
        ("tests/fixtures/train.csv", "a,b\n"),
        ("other/test_elsewhere.py", ""),
        ("conftest.py", ""),
        ("src/pkg/__init__.py", ""),
        ("src/pkg/model.py", "from .layers import Dense\n"),
        ("src/pkg/layers.py", ""),
    ]);
    let via = |path| reached(&model, path).map(|r| r.0);
    assert_eq!(
        via("tests/test_model.py"),
        Some("uv run pytest -q --cov=src")
    );
    assert_eq!(
        via("tests/fixtures/train.csv"),
        Some("uv run pytest -q --cov=src")
    );
    assert_eq!(via("conftest.py"), Some("uv run pytest -q --cov=src"));
    assert_eq!(via("pyproject.toml"), Some("uv run pytest -q --cov=src"));
    assert_eq!(via("src/pkg/layers.py"), Some("uv run pytest -q --cov=src"));
    assert_eq!(via("other/test_elsewhere.py"), None);
}

#[test]
fn pytest_ini_and_collection_under_the_working_directory() {
    let files = [
        (".github/workflows/ci.yml", "on: push\njobs:\n  test:\n    defaults:\n      run:\n        working-directory: ml\n    steps:\n      - run: python -m pytest\n"),
        ("ml/pytest.ini", "[pytest]\ntestpaths = checks\n"),
        ("ml/checks/check_data.py", ""),
        ("ml/checks/test_data.py", ""),
        ("ml/test_top.py", ""),
    ];
    let model = build(&files);
    assert!(
        model.reach("ml/checks/check_data.py").is_some(),
        "testpaths cover their whole folder"
    );
    assert!(model.reach("ml/test_top.py").is_none());
    let mut files = files;
    files[1] = ("ml/pytest.ini", "[pytest]\naddopts = -q\n");
    let model = build(&files);
    assert!(model.reach("ml/test_top.py").is_some());
    assert!(model.reach("ml/checks/test_data.py").is_some());
    assert!(
        model.reach("ml/checks/check_data.py").is_none(),
        "without testpaths only test modules are collected"
    );
}

#[test]
fn python_modules_resolve_to_files() {
    let model = build(&[
        (".github/workflows/ci.yml", "on: push\njobs:\n  run:\n    steps:\n      - run: |\n          python -m pipeline.train --config configs/train.yaml\n          python -m serve\n          python -m unittest discover -s tests -p 'check_*.py'\n"),
        ("pipeline/__init__.py", ""),
        ("pipeline/train.py", ""),
        ("configs/train.yaml", "epochs: 3\n"),
        ("src/serve/__init__.py", ""),
        ("src/serve/__main__.py", ""),
        ("tests/check_model.py", ""),
        ("tests/test_other.py", ""),
    ]);
    assert_eq!(reached(&model, "pipeline/train.py").map(|r| r.2), Some(6));
    assert_eq!(
        reached(&model, "pipeline/__init__.py").map(|r| r.2),
        Some(6)
    );
    assert_eq!(reached(&model, "configs/train.yaml").map(|r| r.2), Some(6));
    assert_eq!(
        reached(&model, "src/serve/__main__.py").map(|r| r.2),
        Some(7)
    );
    assert_eq!(
        reached(&model, "tests/check_model.py").map(|r| r.2),
        Some(8)
    );
    assert!(model.reach("tests/test_other.py").is_none());
}

#[test]
fn reach_prefers_automatic_jobs_and_schedules_are_separate() {
    let model = build(&[
        (".github/workflows/a-manual.yml", "on: workflow_dispatch\njobs:\n  by-hand:\n    steps:\n      - run: python train.py\n      - run: mlscore check\n"),
        (".github/workflows/b-ci.yml", "on: push\njobs:\n  ci:\n    steps:\n      - run: bash run.sh\n"),
        (".github/workflows/c-nightly.yml", "on:\n  schedule:\n    - cron: '0 4 * * *'\njobs:\n  nightly:\n    steps:\n      - run: ./bin/mlscore ci --config mlscore.yaml\n"),
        ("run.sh", "python train.py\n"),
        ("train.py", ""),
        ("mlscore.yaml", "version: 1\n"),
    ]);
    let reach = model.reach("train.py").unwrap();
    assert_eq!(model.jobs[reach.job].name, "b-ci.yml › ci");
    assert_eq!(model.commands[reach.command].depth, 1);
    assert!(model.scheduled_reach("train.py").is_none());
    assert_eq!(
        model
            .scheduled_reach("mlscore.yaml")
            .map(|r| model.jobs[r.job].schedules.clone()),
        Some(vec!["0 4 * * *".to_string()])
    );
    let mlscore = model.mlscore_command().unwrap();
    assert_eq!(
        (mlscore.text.as_str(), mlscore.line),
        ("./bin/mlscore ci --config mlscore.yaml", 7)
    );
}

#[test]
fn the_mlscore_action_counts_as_running_mlscore() {
    let model = build(&[(
        ".github/workflows/score.yml",
        "on: pull_request\njobs:\n  score:\n    steps:\n      - uses: acme/mlscore@v1\n",
    )]);
    assert_eq!(
        model.mlscore_command().map(|c| (c.text.as_str(), c.line)),
        Some(("uses: acme/mlscore@v1", 5))
    );
    let model = build(&[(
        ".github/workflows/x.yml",
        "on: push\njobs:\n  x:\n    steps:\n      - run: echo mlscore\n",
    )]);
    assert!(model.mlscore_command().is_none());
}

#[test]
fn every_system_is_listed() {
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  a:\n    steps:\n      - run: make\n",
        ),
        (
            "Jenkinsfile",
            "pipeline { stages { stage('Test') { steps { sh 'make' } } } }",
        ),
        (".gitlab-ci.yml", "test:\n  script: make\n"),
        ("Makefile", "all:\n\techo hi\n"),
    ]);
    assert_eq!(
        model.systems(),
        [
            CiSystem::GithubActions,
            CiSystem::Jenkins,
            CiSystem::GitlabCi
        ]
    );
    assert_eq!(
        model.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(model
        .jobs
        .iter()
        .all(|j| model.commands_of(j.id).count() == 2));
}

#[test]
fn malformed_files_warn_and_never_panic() {
    let model = build(&[
        (
            ".github/workflows/bad.yml",
            "on: push\njobs:\n  test:\n    steps:\n      - run: [unclosed\n",
        ),
        (
            ".github/workflows/good.yml",
            "on: push\njobs:\n  ok:\n    steps:\n      - run: echo ok\n",
        ),
    ]);
    assert_eq!(model.jobs.len(), 1);
    assert_eq!(model.warnings.len(), 1);
    assert_eq!(
        (model.warnings[0].path.as_str(), model.warnings[0].line),
        (".github/workflows/bad.yml", Some(6))
    );

    let garbage = [
        "", "---", "- a\n- b", "on: 3\njobs: 4", "jobs:\n  x: 1\n  y: [1]\n  z:\n    steps: 5",
        "jobs:\n  x:\n    steps:\n      - run: 7\n      - uses: 8\n      - run: \"'\\\\\"", "\u{0}\u{1}", "{{{{",
        "jobs:\n  x:\n    strategy: {matrix: {a: [[1]], include: 3}}\n    steps: [{run: '${{ matrix.a }}'}]",
        "repos: 3\nstages: {a: 1}",
    ];
    for text in garbage {
        let files = [
            (".github/workflows/g.yml", text),
            (".gitlab-ci.yml", text),
            ("Jenkinsfile", text),
            ("dvc.yaml", text),
            (".pre-commit-config.yaml", text),
            ("tox.ini", text),
            ("noxfile.py", text),
            ("Makefile", text),
            ("run.sh", text),
            ("k8s.yaml", text),
        ];
        let mut files = files.to_vec();
        files.push((
            ".github/workflows/runner.yml",
            "on: push\njobs:\n  r:\n    steps:\n      - run: |\n          dvc repro; tox; nox; make; pre-commit run; bash run.sh; kubectl apply -f k8s.yaml\n",
        ));
        let model = build(&files);
        assert!(!model.jobs.is_empty());
    }
}

/// A GitHub job that calls a task of each runner by name.
const TASKS_WORKFLOW: &str = "\
on: [push, pull_request]
jobs:
  checks:
    runs-on: ubuntu-latest
    steps:
      - run: just test tests/data
      - run: task lint -- --fix
      - run: mise run train
      - run: uv run poe validate
      - run: hatch run ci:e2e
      - run: pdm run nightly
      - run: pixi run drift
      - run: hatch test tests/unit
      - run: mise run nothing-here
";

const JUSTFILE: &str = "\
set dotenv-load

default: test

# Runs the tests given, or all of them.
test target='tests':
    uv run pytest {{target}}
";

const TASKFILE_YML: &str = "\
version: '3'
tasks:
  lint:
    dir: ml
    cmds:
      - python lint.py {{.CLI_ARGS}}
";

const MISE_TOML: &str = "\
[tasks.install]
run = \"uv sync\"

[tasks.train]
depends = [\"install\"]
run = [\"python src/train.py\"]
";

const TASKS_PYPROJECT: &str = "\
[project]
name = \"pkg\"

[tool.poe.tasks]
validate = { script = \"pkg.validate:main\" }

[tool.hatch.envs.ci.scripts]
e2e = \"python -m pkg.e2e\"

[tool.pdm.scripts]
nightly = { shell = \"python scripts/nightly.py\" }
";

const PIXI_TOML: &str = "\
[workspace]
name = \"pkg\"

[tasks]
drift = { cmd = [\"python\", \"monitoring/drift.py\"], cwd = \".\" }
";

#[test]
fn named_tasks_of_every_runner_are_followed() {
    let model = build(&[
        (".github/workflows/ci.yml", TASKS_WORKFLOW),
        ("justfile", JUSTFILE),
        ("Taskfile.yml", TASKFILE_YML),
        ("mise.toml", MISE_TOML),
        ("pyproject.toml", TASKS_PYPROJECT),
        ("pixi.toml", PIXI_TOML),
        ("tests/data/test_schema.py", ""),
        ("tests/other/test_other.py", ""),
        ("tests/unit/test_model.py", ""),
        ("ml/lint.py", ""),
        ("src/train.py", ""),
        ("src/pkg/__init__.py", ""),
        ("src/pkg/validate.py", ""),
        ("src/pkg/e2e.py", ""),
        ("scripts/nightly.py", ""),
        ("monitoring/drift.py", ""),
    ]);
    let via = |path| reached(&model, path).map(|r| (r.0, r.1, r.2, r.3));
    // just: the recipe's parameter takes the argument given.
    assert_eq!(
        via("tests/data/test_schema.py"),
        Some(("uv run pytest tests/data", "justfile", 7, 1))
    );
    assert_eq!(via("tests/other/test_other.py"), None);
    // Taskfile: the task's folder, and the words after `--`.
    assert_eq!(
        via("ml/lint.py"),
        Some(("python lint.py --fix", "Taskfile.yml", 6, 1))
    );
    // mise: dependencies first, each command at its line.
    assert_eq!(
        via("src/train.py"),
        Some(("python src/train.py", "mise.toml", 6, 1))
    );
    assert!(model
        .commands
        .iter()
        .any(|c| c.text == "uv sync" && c.file == "mise.toml" && c.line == 2));
    // poe `script`: the module it calls.
    assert_eq!(
        via("src/pkg/validate.py").map(|r| r.0),
        Some("uv run poe validate")
    );
    // hatch `env:script`, pdm and pixi scripts.
    assert_eq!(
        via("src/pkg/e2e.py"),
        Some(("python -m pkg.e2e", "pyproject.toml", 8, 1))
    );
    assert_eq!(
        via("scripts/nightly.py"),
        Some(("python scripts/nightly.py", "pyproject.toml", 11, 1))
    );
    assert_eq!(
        via("monitoring/drift.py"),
        Some(("python monitoring/drift.py", "pixi.toml", 5, 1))
    );
    // `hatch test` is pytest.
    assert_eq!(
        via("tests/unit/test_model.py"),
        Some(("hatch test tests/unit", ".github/workflows/ci.yml", 13, 0))
    );
    // A task no file defines is named, at the command that asks for it.
    let warnings: Vec<(&str, Option<usize>, &str)> = model
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.line, w.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [(
            ".github/workflows/ci.yml",
            Some(14),
            "mise task `nothing-here` is not defined in mise.toml; add it or fix the command"
        )]
    );
}

#[test]
fn task_files_that_do_not_parse_are_named_with_their_line() {
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  a:\n    steps:\n      - run: mise run test\n      - run: task test\n      - run: poe test\n",
        ),
        ("mise.toml", "[tasks.test]\nrun = \"pytest\n"),
        ("Taskfile.yml", "tasks:\n  test:\n    cmds: [\n"),
        ("pyproject.toml", "[tool.poe.tasks]\ntest = [\n"),
    ]);
    let mut got: Vec<(&str, Option<usize>)> = model
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.line))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("Taskfile.yml", Some(4)),
            ("mise.toml", Some(2)),
            ("pyproject.toml", Some(2)),
        ]
    );
    assert!(model.warnings.iter().any(|w| w.path == "mise.toml"
        && w.message
            .starts_with("could not read this mise configuration file")));
}

#[test]
fn a_job_calling_one_task_many_ways_is_bounded() {
    // 1,000 calls of a 50-command recipe, each with its own argument: every
    // call is a new plan, so the job's task commands are capped.
    let body: String = (0..50)
        .map(|i| format!("    echo {{{{x}}}} {i}\n"))
        .collect();
    let justfile = format!("r x:\n{body}");
    let calls: String = (0..1000)
        .map(|i| format!("          just r arg{i}\n"))
        .collect();
    let workflow = format!("on: push\njobs:\n  a:\n    steps:\n      - run: |\n{calls}");
    let model = build(&[
        (".github/workflows/ci.yml", &workflow),
        ("justfile", &justfile),
    ]);
    let stopped: Vec<_> = model
        .warnings
        .iter()
        .filter(|w| w.message.contains("stopped following its tasks"))
        .collect();
    assert_eq!(stopped.len(), 1, "{:?}", model.warnings);
    let from_tasks = model
        .commands
        .iter()
        .filter(|c| c.file == "justfile")
        .count();
    assert!(from_tasks < 20_000, "{from_tasks} task commands");
    assert!(from_tasks >= 19_000, "{from_tasks} task commands");
}

#[test]
fn console_scripts_of_the_package_run_their_modules() {
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  train:\n    steps:\n      - run: uv run train --epochs 1\n      - run: docker build .\n",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"bikes\"\n\n[project.scripts]\ntrain = \"bikes.jobs.training:main\"\n",
        ),
        ("src/bikes/__init__.py", ""),
        ("src/bikes/jobs/__init__.py", ""),
        ("src/bikes/jobs/training.py", "from bikes.core import models\n"),
        ("src/bikes/core/__init__.py", ""),
        ("src/bikes/core/models.py", ""),
        ("src/bikes/unused.py", ""),
    ]);
    assert!(model.warnings.is_empty(), "{:?}", model.warnings);
    let via = |path| reached(&model, path).map(|r| r.0);
    assert_eq!(
        via("src/bikes/jobs/training.py"),
        Some("uv run train --epochs 1")
    );
    // Its imports are followed, as for `python -m`.
    assert_eq!(
        via("src/bikes/core/models.py"),
        Some("uv run train --epochs 1")
    );
    assert_eq!(via("src/bikes/unused.py"), None);
}

#[test]
fn a_large_test_suite_covers_what_its_tests_import() {
    // Enough test files that their imports are read on every core first.
    let tests: Vec<(String, String)> = (0..400)
        .map(|i| {
            (
                format!("tests/test_{i}.py"),
                format!("from pkg import mod{}\nimport numpy\n", i % 3),
            )
        })
        .collect();
    let mut files: Vec<(&str, &str)> = tests
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    files.extend([
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  t:\n    steps:\n      - run: pytest tests\n",
        ),
        ("pkg/__init__.py", ""),
        ("pkg/mod0.py", "from pkg import deep\n"),
        ("pkg/mod1.py", ""),
        ("pkg/mod2.py", ""),
        ("pkg/deep.py", ""),
        ("pkg/unused.py", ""),
    ]);
    let model = build(&files);
    for module in ["pkg/mod0.py", "pkg/mod1.py", "pkg/mod2.py", "pkg/deep.py"] {
        assert_eq!(
            reached(&model, module).map(|r| r.0),
            Some("pytest tests"),
            "{module}"
        );
    }
    assert!(model.reach("pkg/unused.py").is_none());
}

#[test]
fn invoke_tasks_run_in_the_folder_invoke_runs_in() {
    let tasks_py = "from invoke import task\n\n@task\ndef lint(c):\n    c.run(\"ruff check .\")\n\n@task(pre=[lint])\ndef unit_tests(c):\n    c.run(\"pytest tests\")\n";
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  t:\n    steps:\n      - run: |\n          cd ml\n          invoke unit-tests --verbose\n          inv deploy\n",
        ),
        ("tasks.py", tasks_py),
        ("ml/tests/test_model.py", ""),
        ("tests/test_root.py", ""),
    ]);
    // tasks.py is found above `ml`, and its commands run in `ml`.
    assert_eq!(
        reached(&model, "ml/tests/test_model.py").map(|r| (r.0, r.1, r.2, r.3)),
        Some(("pytest tests", "tasks.py", 9, 1))
    );
    assert!(model.reach("tests/test_root.py").is_none());
    assert!(model
        .commands
        .iter()
        .any(|c| c.text == "ruff check ." && c.line == 5));
    let warnings: Vec<(&str, Option<usize>)> = model
        .warnings
        .iter()
        .map(|w| (w.message.as_str(), w.line))
        .collect();
    assert_eq!(
        warnings,
        [(
            "invoke task `deploy` is not defined in tasks.py; add it or fix the command",
            Some(8)
        )]
    );
}

#[test]
fn a_broken_pyproject_does_not_stop_other_programs_being_followed() {
    // Every program mlscore does not know is looked up among the package's
    // console scripts; a pyproject.toml that does not parse is warned about
    // once and the commands are followed as the programs they name.
    let model = build(&[
        (
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  a:\n    steps:\n      - run: kubectl apply -f deploy/job.yaml\n      - run: hatch run scripts/check.sh\n",
        ),
        (
            "pyproject.toml",
            "[project.scripts\ntrain = \"x:y\"\n[tool.hatch.envs.default.scripts]\n",
        ),
        ("deploy/job.yaml", "command: pytest tests/data\n"),
        ("tests/data/test_schema.py", ""),
        ("scripts/check.sh", "pytest tests/unit\n"),
        ("tests/unit/test_model.py", ""),
    ]);
    assert_eq!(
        reached(&model, "tests/data/test_schema.py").map(|r| (r.0, r.1)),
        Some(("pytest tests/data", "deploy/job.yaml"))
    );
    assert_eq!(
        reached(&model, "tests/unit/test_model.py").map(|r| (r.0, r.1)),
        Some(("pytest tests/unit", "scripts/check.sh"))
    );
    let warned: Vec<(&str, Option<usize>)> = model
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.line))
        .collect();
    assert_eq!(warned, [("pyproject.toml", Some(1))]);
}
