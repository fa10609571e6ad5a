//! Fuzz targets for every reader of repository text, run by proptest: each
//! target mutates small valid files (inserting tokens that the format gives
//! meaning to, repeating and cutting slices) and asserts that the reader
//! returns, never panics. A second kind of target feeds each reader inputs of
//! growing size built to be worst cases (deep nesting, long lines, long
//! chains) and prints the time per byte at each size; `fuzz/run.sh` runs both
//! with many cases and summarises. Times are printed, never asserted: speed is
//! measured, not tested.
//!
//! `PROPTEST_CASES` sets the cases per target (default 64, so the ordinary
//! test run stays short).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::repo::RepoIndex;

/// What one target saw: cases run, and the slowest case per byte.
#[derive(Default)]
struct Seen {
    runs: u64,
    slowest_ns_per_byte: f64,
    slowest_len: usize,
}

/// Runs `read` on inputs from `inputs`, and prints one summary line that the
/// fuzz script collects. A panic fails the test with the (shrunk) input.
fn fuzz(name: &str, inputs: impl Strategy<Value = String>, read: impl Fn(&str)) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = RefCell::new(Seen::default());
    let result = runner.run(&inputs, |text| {
        let start = Instant::now();
        read(&text);
        let per_byte = start.elapsed().as_nanos() as f64 / text.len().max(64) as f64;
        let mut seen = seen.borrow_mut();
        seen.runs += 1;
        if per_byte > seen.slowest_ns_per_byte {
            seen.slowest_ns_per_byte = per_byte;
            seen.slowest_len = text.len();
        }
        Ok::<(), TestCaseError>(())
    });
    let seen = seen.into_inner();
    let panics = u64::from(result.is_err());
    eprintln!(
        "fuzz {name}: runs={} panics={panics} slowest={:.0}ns/byte (at {} bytes)",
        seen.runs, seen.slowest_ns_per_byte, seen.slowest_len
    );
    if let Err(err) = result {
        panic!("fuzz target {name} failed: {err}");
    }
}

/// Times `read` on `make(n)` for growing `n` and prints the time per byte at
/// each size: flat when the reader is linear, growing when it is not.
fn scaling(name: &str, make: impl Fn(usize) -> String, read: impl Fn(&str)) {
    let max: usize = std::env::var("MLSCORE_FUZZ_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16 << 10);
    let mut n = 1usize;
    let mut points = Vec::new();
    loop {
        let text = make(n);
        if text.len() > max {
            break;
        }
        if text.len() >= 1024 {
            // The fastest of three runs, so a busy machine adds less noise.
            let best = (0..3)
                .map(|_| {
                    let start = Instant::now();
                    read(&text);
                    start.elapsed()
                })
                .min()
                .unwrap_or(Duration::ZERO);
            points.push((text.len(), best.as_nanos() as f64 / text.len() as f64));
        }
        n *= 2;
    }
    let shown: Vec<String> = points
        .iter()
        .map(|(len, ns)| format!("{len}B:{ns:.0}"))
        .collect();
    let growth = match (points.first(), points.last()) {
        (Some((_, first)), Some((_, last))) if *first > 0.0 => last / first,
        _ => 1.0,
    };
    eprintln!(
        "scaling {name}: growth={growth:.1} ns/byte {}",
        shown.join(" ")
    );
}

/// Small valid files mutated a few times: a token of the format inserted, a
/// slice repeated or cut, a character replaced. Most mutants stay close to
/// valid, so they reach past the first syntax check.
fn mutants(
    seeds: &'static [&'static str],
    tokens: &'static [&'static str],
) -> BoxedStrategy<String> {
    let edit = (
        0usize..4,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0usize..tokens.len(),
        1usize..64,
        any::<char>(),
    );
    let mutated =
        (0..seeds.len(), prop::collection::vec(edit, 0..12)).prop_map(move |(seed, edits)| {
            let mut text: Vec<char> = seeds[seed].chars().collect();
            for (kind, at, to, token, times, c) in edits {
                let at = at.index(text.len() + 1);
                match kind {
                    0 => {
                        let token: Vec<char> = tokens[token].chars().collect();
                        for _ in 0..times {
                            text.splice(at..at, token.iter().copied());
                        }
                    }
                    1 => {
                        let end = (at + to.index(64)).min(text.len());
                        let slice: Vec<char> = text[at..end].to_vec();
                        for _ in 0..times.min(16) {
                            text.splice(at..at, slice.iter().copied());
                        }
                    }
                    2 => {
                        let end = (at + to.index(64)).min(text.len());
                        text.drain(at..end);
                    }
                    _ => {
                        if at < text.len() {
                            text[at] = c;
                        }
                    }
                }
            }
            text.into_iter().collect::<String>()
        });
    prop_oneof![8 => mutated, 1 => any::<String>()].boxed()
}

const YAML_TOKENS: &[&str] = &[
    "\n",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "'",
    "\"",
    "#",
    "|",
    ">",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "---\n",
    "  ",
    "\t",
    "\u{feff}",
    "\\",
    "\u{0}",
    "? ",
    "%YAML 1.2\n",
    "é",
];

const CONFIG_SEEDS: &[&str] = &[
    "version: 1\ngate: {min_score: 2}\n",
    "version: 1\nwaivers:\n  data-9:\n    reason: no data\nscan:\n  exclude:\n    - a/**\nmetrics:\n  files: [metrics.json]\n  policies:\n    eval.auc: {direction: higher, max_regression: 0.01}\n",
    "gate:\n  min_section:\n    data: 1\nprobes:\n  - kind: schema\n    schema: s.yaml\n    data: [d.csv]\n",
];

#[test]
fn fuzz_config() {
    fuzz("config", mutants(CONFIG_SEEDS, YAML_TOKENS), |text| {
        let err = crate::config::parse("mlscore.yaml", text, &["data-1", "data-9"]).err();
        // Rendering is where miette used to panic: render every error.
        if let Some(err) = err {
            let _ = format!("{:?}", miette::Report::new(err));
        }
    });
}

const CHECK_SEEDS: &[&str] = &[
    "id: team-oncall\nsection: custom\ntitle: On call\nasks: An on-call page.\nevidence:\n  - what: page\n    files: [\"**/ONCALL.md\"]\n",
    "id: team-x\nsection: custom\ntitle: X\nasks: x\nevidence:\n  - what: regex\n    files: [\"*.py\"]\n    contains: 'import (foo|bar)'\n",
];

#[test]
fn fuzz_check_file() {
    let catalogue = crate::rubric::Catalogue::embedded().expect("embedded checks parse");
    fuzz("check-file", mutants(CHECK_SEEDS, YAML_TOKENS), |text| {
        let mut catalogue = catalogue.clone();
        if let Err(err) = catalogue.add_custom(".mlscore/checks/x.yaml", text) {
            let _ = format!("{:?}", miette::Report::new(err));
        }
    });
}

const SCHEMA_SEEDS: &[&str] = &[
    "rows: {min: 1}\ncolumns:\n  age: {type: int, nullable: false, min: 0}\n  country: {type: string, allowed: [DE, FR], unseen_tolerance: 0.01}\n",
    "columns:\n  email: {type: string, pattern: '[a-z]+@[a-z.]+'}\nskew:\n  psi: 0.2\n",
];

#[test]
fn fuzz_schema() {
    fuzz("schema", mutants(SCHEMA_SEEDS, YAML_TOKENS), |text| {
        if let Err(err) = crate::probes::data::schema::parse("schema.yaml", text) {
            let _ = format!("{:?}", miette::Report::new(err));
        }
    });
}

const METRIC_SEEDS: &[&str] = &[
    "{\"eval\": {\"auc\": 0.91, \"loss\": NaN}, \"n\": [1, 2]}",
    "eval:\n  auc: 0.91\n  f1: .nan\n",
    "[eval]\nauc = 0.91\nloss = inf\n",
    "step,auc,loss\n1,0.8,0.5\n2,0.9,0.4\n",
    "1700000000 0.5 0\n1700000900 0.4 1\n",
];
const METRIC_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "NaN",
    "Infinity",
    "-",
    "1e999",
    "\n",
    "=",
    "\t",
    "123456789012345678901234",
    "\u{feff}",
    "\\u0000",
    "[[",
    "]]",
];

#[test]
fn fuzz_metrics() {
    use crate::metrics::parse::{parse, Format};
    fuzz("metrics", mutants(METRIC_SEEDS, METRIC_TOKENS), |text| {
        for format in [
            Format::Json,
            Format::Yaml,
            Format::Toml,
            Format::Csv,
            Format::Tsv,
            Format::Mlflow,
        ] {
            let _ = parse(format, text, None);
            let _ = parse(format, text, Some("step"));
        }
    });
}

/// The CI model of a repository holding `files` plus `path: text`.
fn ci_of(files: &[(&str, &str)], path: &str, text: &str) {
    let mut all: Vec<(&str, &str)> = files.to_vec();
    all.push((path, text));
    let index = RepoIndex::from_memory(all);
    let _ = crate::ci::CiModel::build(&index);
}

const WORKFLOW_SEEDS: &[&str] = &[
    "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        py: ['3.10', '3.11']\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          cd ml\n          pytest tests ${{ matrix.py }}\n      - uses: ./.github/actions/setup\n  call:\n    uses: ./.github/workflows/ci.yml\n",
    "on:\n  schedule:\n    - cron: '0 2 * * *'\njobs:\n  nightly:\n    defaults:\n      run:\n        working-directory: ml\n    steps:\n      - run: make train && dvc repro\n",
];

#[test]
fn fuzz_workflow() {
    let action =
        "runs:\n  using: composite\n  steps:\n    - run: pip install -e .\n      shell: bash\n";
    fuzz("workflow", mutants(WORKFLOW_SEEDS, YAML_TOKENS), |text| {
        ci_of(
            &[(".github/actions/setup/action.yml", action)],
            ".github/workflows/ci.yml",
            text,
        );
    });
}

const JENKINS_SEEDS: &[&str] = &[
    "pipeline {\n  triggers { cron('H 2 * * *') }\n  stages {\n    stage('Test') {\n      steps {\n        dir('ml') { sh 'pytest tests' }\n        sh(script: \"make lint ${env.X}\", returnStdout: true)\n        sh label: 'l', script: '''\n          python train.py\n        '''\n        load 'ci/steps.groovy'\n      }\n    }\n  }\n}\n",
    "node {\n  stage 'Build'\n  sh \"\"\"pytest ${params.get(\"dir\")}\"\"\"\n}\n",
];
const GROOVY_TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "sh(script: ",
    "sh ",
    "'",
    "\"",
    "'''",
    "\"\"\"",
    "${",
    "//",
    "/*",
    "*/",
    "\\",
    "\n",
    "dir('a') {",
    "stage('s') {",
    ",",
    ":",
    "load 'x'",
    "#!",
];

#[test]
fn fuzz_jenkinsfile() {
    fuzz(
        "jenkinsfile",
        mutants(JENKINS_SEEDS, GROOVY_TOKENS),
        |text| {
            ci_of(&[("ci/steps.groovy", "sh 'pytest'\n")], "Jenkinsfile", text);
        },
    );
}

const RUNS_MAKE: &str = "on: push\njobs:\n  t:\n    steps:\n      - run: make test\n";

const MAKE_SEEDS: &[&str] = &[
    "PY ?= python3\ninclude common.mk\n.PHONY: test\ntest: lint data\n\t$(PY) -m pytest tests\n\t-$(MAKE) -C docs check\nlint:\n\truff check src\ndata: raw/%.csv\n\t@echo $@ $< $^ $$HOME\n",
    "test: a\na: b\n\t$(MAKE) b\nb: a\n\techo loop\ndefine X\nfoo\nendef\n",
];
const MAKE_TOKENS: &[&str] = &[
    "$(MAKE) ", "$(", ")", "${", "}", "$@", "$^", "$<", "$$", ":", "\n\t", "\n", "=", "?=", "+=",
    "include ", "define ", "endef\n", "\\\n", "test", "a", "b", ";", "|", "%",
];

#[test]
fn fuzz_makefile() {
    fuzz("makefile", mutants(MAKE_SEEDS, MAKE_TOKENS), |text| {
        ci_of(
            &[
                (".github/workflows/ci.yml", RUNS_MAKE),
                ("common.mk", "X = 1\n"),
            ],
            "Makefile",
            text,
        );
    });
}

const RUNS_TOX: &str = "on: push\njobs:\n  t:\n    steps:\n      - run: tox -e py311,lint -- -x\n";

const INI_SEEDS: &[&str] = &[
    "[tox]\nenvlist = py311, lint\n\n[testenv]\ndeps = pytest\ncommands =\n    pytest {posargs} tests\n    python -m pipeline.validate\n\n[testenv:lint]\ncommands = ruff check src\n",
    "[testenv:py{310,311}-{a,b}]\ncommands = {[testenv]commands}\nchangedir = ml\n",
];
const INI_TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "=",
    ":",
    "\n",
    "    ",
    "#",
    ";",
    ",",
    "{posargs}",
    "{[testenv]commands}",
    "\\\n",
    "-",
    "py3{10,11,12}",
];

#[test]
fn fuzz_tox_ini() {
    fuzz("tox-ini", mutants(INI_SEEDS, INI_TOKENS), |text| {
        ci_of(&[(".github/workflows/ci.yml", RUNS_TOX)], "tox.ini", text);
    });
}

const NOTEBOOK_SEEDS: &[&str] = &[
    "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\n    \"import pandas as pd\\n\",\n    \"from sklearn.model_selection import (train_test_split, KFold)\\n\"\n]}]}\n",
    "import os, sys\nfrom a.b import c as d, *\n",
];

#[test]
fn fuzz_notebook() {
    let catalogue = crate::rubric::Catalogue::embedded().expect("embedded checks parse");
    fuzz("notebook", mutants(NOTEBOOK_SEEDS, METRIC_TOKENS), |text| {
        let _ = crate::rubric::python::imports(text);
        let index = RepoIndex::from_memory([("nb/eda.ipynb", text)]);
        let ci = crate::ci::CiModel::build(&index);
        let _ = crate::rubric::assess(&catalogue, &index, &ci, &Default::default());
    });
}

// ---------------------------------------------------------------------------
// Growing worst cases: printed time per byte, for the fuzz script.

#[test]
fn scaling_yaml_nesting() {
    scaling(
        "yaml-flow-nesting",
        |n| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n)),
        |text| {
            let _ = crate::config::parse("mlscore.yaml", text, &[]);
        },
    );
    scaling(
        "yaml-dash-nesting",
        |n| format!("{}x\n", "- ".repeat(n)),
        |text| {
            let _ = crate::probes::data::schema::parse("s.yaml", text);
        },
    );
}

#[test]
fn scaling_long_line_errors() {
    scaling(
        "config-long-line",
        |n| format!("version: 1\ngate: {{min_score: {}high}}\n", " ".repeat(n)),
        |text| {
            if let Err(err) = crate::config::parse("mlscore.yaml", text, &[]) {
                let _ = format!("{:?}", miette::Report::new(err));
            }
        },
    );
}

#[test]
fn scaling_jenkins_nesting() {
    scaling(
        "jenkins-nested-sh",
        |n| format!("{}'x'{}", "sh(script: ".repeat(n), ")".repeat(n)),
        |text| ci_of(&[], "Jenkinsfile", text),
    );
    scaling(
        "jenkins-nested-blocks",
        |n| {
            format!(
                "{}{}{}",
                "dir('a') {".repeat(n),
                "sh 'pytest'\n".repeat(n),
                "}".repeat(n)
            )
        },
        |text| ci_of(&[], "Jenkinsfile", text),
    );
}

#[test]
fn scaling_make_chain() {
    scaling(
        "make-chain",
        |n| {
            (0..n)
                .map(|i| format!("t{i}: t{} t{}\n\t$(MAKE) t{}\n", i + 1, i + 2, i + 1))
                .collect::<String>()
                .replacen("t0:", "test:", 1)
        },
        |text| ci_of(&[(".github/workflows/ci.yml", RUNS_MAKE)], "Makefile", text),
    );
    scaling(
        "make-variable-bomb",
        |n| {
            let mut text: String = (0..8)
                .map(|i| format!("V{i} = {}\n", format!("$(V{})", i + 1).repeat(n.min(64))))
                .collect();
            text.push_str(&"test:\n\techo $(V0)\n".repeat(n.div_ceil(64)));
            text
        },
        |text| ci_of(&[(".github/workflows/ci.yml", RUNS_MAKE)], "Makefile", text),
    );
}

#[test]
fn scaling_workflow_jobs() {
    scaling(
        "workflow-jobs",
        |n| {
            let jobs: String = (0..n)
                .map(|i| format!("  j{i}:\n    steps:\n      - run: pytest tests/t{i}.py\n"))
                .collect();
            format!("on: push\njobs:\n{jobs}")
        },
        |text| ci_of(&[], ".github/workflows/ci.yml", text),
    );
}

#[test]
fn scaling_metrics() {
    use crate::metrics::parse::{parse, Format};
    scaling(
        "metrics-json-keys",
        |n| {
            let keys: Vec<String> = (0..n).map(|i| format!("\"m{i}\": {i}.5")).collect();
            format!("{{{}}}", keys.join(","))
        },
        |text| {
            let _ = parse(Format::Json, text, None);
        },
    );
    scaling(
        "metrics-csv-columns",
        |n| {
            let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let row: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            format!("{}\n{}\n", header.join(","), row.join(","))
        },
        |text| {
            let _ = parse(Format::Csv, text, None);
        },
    );
}

#[test]
fn scaling_tox_envs() {
    scaling(
        "tox-envs",
        |n| {
            let envs: String = (0..n)
                .map(|i| format!("[testenv:e{i}]\ncommands = pytest t{i}\n"))
                .collect();
            format!(
                "[tox]\nenvlist = {}\n{envs}",
                (0..n)
                    .map(|i| format!("e{i}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        },
        |text| {
            ci_of(
                &[(
                    ".github/workflows/ci.yml",
                    "on: push\njobs:\n  t:\n    steps:\n      - run: tox\n",
                )],
                "tox.ini",
                text,
            )
        },
    );
}

/// A workflow calling a task of every runner by name.
const RUNS_TASKS: &str = "on: push\njobs:\n  t:\n    steps:\n      - run: |\n          just test tests/unit\n          just\n          mise run ci ::: lint\n          task default lint -- -x\n          uv run poe check\n          hatch run test:cov\n          pdm run all\n          pixi run -e py311 test\n          uv run train\n          invoke test --coverage build-docs\n";

const JUST_SEEDS: &[&str] = &[
    "set working-directory := 'ml'\nroot := 'tests'\n\n# the default\ndefault: (test root) && report\n\n[private]\n@test target='tests' *flags:\n    -uv run pytest {{target}} {{flags}}\n    python -m pkg.validate \\\n      --strict\n\nalias t := test\n\nreport:\n    #!/usr/bin/env bash\n    set -eu\n    python scripts/report.py\n",
    "[working-directory('src')]\n[script('python3')]\nlint +files:\n    print('x')\n\nimport? 'other.just'\nmod deploy\n",
];
const JUST_TOKENS: &[&str] = &[
    "\n", "    ", ":", " := ", "{{", "}}", "{{{{", "'", "\"", "`", "(", ")", "&&", "@", "-", "*",
    "+", "=", "[", "]", "#!", "\\\n", "alias ", "set ", "é", "\t",
];

const TOML_TASK_SEEDS: &[&str] = &[
    "[tasks.ci]\ndepends = [\"lint\", \"test args\"]\nrun = [\"uv run pytest\", { task = \"report\" }]\ndir = \"{{config_root}}/ml\"\nalias = [\"c\"]\n\n[tasks]\nlint = \"ruff check .\"\nreport = { file = \"scripts/report.sh\" }\n",
    "[project]\nname = \"pkg\"\n\n[project.scripts]\ntrain = \"pkg.train:main\"\n\n[tool.poe.tasks]\ncheck = [\"lint\", { cmd = \"pytest\" }]\nlint = { shell = \"ruff check .\", deps = [\"_x\"], cwd = \"src\" }\n_x = { script = \"pkg.x:run(1)\" }\n\n[tool.hatch.envs.test.scripts]\ncov = [\"pytest {args:tests}\", \"cov\"]\n\n[tool.pdm.scripts]\nall = { composite = [\"pre_all\", \"test -x\"] }\npre_all = \"python p.py\"\n\n[tool.pixi.feature.py311.tasks]\ntest = { cmd = [\"pytest\", \"-x\"], depends-on = [{ task = \"test\" }] }\n",
];
const TOML_TOKENS: &[&str] = &[
    "\n",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    "\"",
    "'",
    "\"\"\"",
    ",",
    ".",
    "#",
    "{args}",
    "{{config_root}}",
    "tasks.",
    "tool.poe.tasks.",
    " = [",
    "é",
];

const TASKFILE_SEEDS: &[&str] = &[
    "version: '3'\nvars:\n  T: tests\ntasks:\n  default:\n    deps: [lint, {task: test}]\n    cmds:\n      - task: test\n      - cmd: pytest {{.T}} {{.CLI_ARGS}}\n      - defer: echo done\n  lint: ruff check .\n  test:\n    dir: ml\n    aliases: [t]\n    cmds: [pytest]\n",
];

const INVOKE_SEEDS: &[&str] = &[
    "from invoke import task\n\n@task\ndef lint(c):\n    c.run(\"ruff check .\")\n\n@task(pre=[lint], post=[docs], aliases=['t'])\ndef test(c, coverage=False):\n    c.run('pytest tests', pty=True)\n    lint(c)\n\n@task(lint)\ndef build_docs(c):\n    c.sudo(\"make docs\")\n",
];
const PYTHON_TOKENS: &[&str] = &[
    "\n", "    ", "(", ")", "[", "]", ",", "'", "\"", "\"\"\"", "@task", "@task(", "def ",
    "c.run(", "pre=[", "=", ":", "#", "\\\n", "é",
];

#[test]
fn fuzz_task_files() {
    let just_ci = [(".github/workflows/ci.yml", RUNS_TASKS)];
    fuzz("justfile", mutants(JUST_SEEDS, JUST_TOKENS), |text| {
        ci_of(&just_ci, "justfile", text);
    });
    fuzz("mise-toml", mutants(TOML_TASK_SEEDS, TOML_TOKENS), |text| {
        ci_of(&just_ci, "mise.toml", text);
    });
    fuzz(
        "pyproject-tasks",
        mutants(TOML_TASK_SEEDS, TOML_TOKENS),
        |text| {
            ci_of(&just_ci, "pyproject.toml", text);
        },
    );
    fuzz("taskfile", mutants(TASKFILE_SEEDS, YAML_TOKENS), |text| {
        ci_of(&just_ci, "Taskfile.yml", text);
    });
    fuzz(
        "invoke-tasks",
        mutants(INVOKE_SEEDS, PYTHON_TOKENS),
        |text| {
            ci_of(&just_ci, "tasks.py", text);
        },
    );
}

#[test]
fn scaling_task_chains() {
    let ci = [(".github/workflows/ci.yml", RUNS_TASKS)];
    scaling(
        "just-chain",
        |n| {
            (0..n)
                .map(|i| {
                    format!(
                        "r{i} x='{i}': (r{} x) r{}\n    echo {{{{x}}}}\n",
                        i + 1,
                        i + 2
                    )
                })
                .collect::<String>()
                .replacen("r0 x", "test x", 1)
        },
        |text| ci_of(&ci, "justfile", text),
    );
    scaling(
        "mise-chain",
        |n| {
            (0..n)
                .map(|i| {
                    format!(
                        "[tasks.t{i}]\ndepends = [\"t{}\", \"t{}\"]\nrun = \"echo {i}\"\n",
                        i + 1,
                        i + 2
                    )
                })
                .collect::<String>()
                .replacen("[tasks.t0]", "[tasks.ci]", 1)
        },
        |text| ci_of(&ci, "mise.toml", text),
    );
    scaling(
        "taskfile-chain",
        |n| {
            let tasks: String = (0..n)
                .map(|i| format!("  t{i}:\n    deps: [t{}]\n    cmds:\n      - task: t{}\n      - echo {i}\n", i + 1, i + 2))
                .collect();
            format!(
                "version: '3'\ntasks:\n{}",
                tasks.replacen("  t0:", "  default:", 1)
            )
        },
        |text| ci_of(&ci, "Taskfile.yml", text),
    );
}
