//! GitHub Actions: workflows under `.github/workflows/`, their triggers and
//! jobs, `run:` steps with working directories and matrix values, local
//! composite actions (`uses: ./path`) and local reusable workflows (job-level
//! `uses: ./.github/workflows/x.yml`), whose commands belong to the calling job
//! one level deeper.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::Value;

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::workflow_env::Env;
use super::yaml::{self, get, get_str};
use super::{lines, paths, shell, CiSystem, CiWarning};

/// Largest number of commands one matrix expansion yields.
const MAX_MATRIX: usize = 16;
/// How deep local actions and reusable workflows nest (GitHub allows 4 for
/// reusable workflows; composite actions may nest further).
const MAX_NESTING: usize = 6;

const WORKFLOWS: &str = ".github/workflows";

/// Every GitHub Actions job of the repository. Workflows triggered only by
/// `workflow_call` are not listed on their own: their jobs run as part of the
/// jobs that call them.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let mut out = Vec::new();
    let mut parsed = HashMap::new();
    for entry in paths::files_under(index, WORKFLOWS) {
        let path = entry.path.as_str();
        let is_workflow =
            paths::parent(path) == WORKFLOWS && (path.ends_with(".yml") || path.ends_with(".yaml"));
        if !is_workflow {
            continue;
        }
        let Some(text) = index.entry_text(entry) else {
            warnings.push(warning(
                path,
                None,
                "could not read this workflow; its jobs are not counted".into(),
            ));
            continue;
        };
        let doc = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                warnings.push(warning(
                    path,
                    err.line,
                    format!(
                        "could not parse this workflow ({}); its jobs are not counted",
                        err.message
                    ),
                ));
                continue;
            }
        };
        let triggers = Triggers::read(&doc);
        if triggers.only_call {
            continue;
        }
        let Some(job_map) = get(&doc, "jobs").and_then(Value::as_mapping) else {
            warnings.push(warning(
                path,
                None,
                "this workflow has no `jobs:` mapping".into(),
            ));
            continue;
        };
        let file_name = paths::file_name(path);
        let workflow_wd = defaults_wd(&doc).unwrap_or_default();
        let workflow_env = Env::default().over(&doc);
        let jobs_line = lines::find_top_key(text, "jobs").unwrap_or(1);
        // Jobs come in file order: each is looked for after the previous one,
        // so a workflow's lines are scanned once, not once per job.
        let mut cursor = jobs_line + 1;
        for (key, job) in job_map {
            let Some(id) = yaml::scalar(key) else {
                continue;
            };
            let line = match lines::find_key_line(text, &id, cursor, 1) {
                Some(line) => {
                    cursor = line + 1;
                    line
                }
                None => jobs_line,
            };
            let name = get_str(job, "name").unwrap_or(&id).to_string();
            let mut reader = Reader {
                index,
                warnings,
                visited: HashSet::from([path.to_string()]),
                parsed: &mut parsed,
            };
            let mut commands = Vec::new();
            let inherited = (workflow_wd.as_str(), &workflow_env);
            reader.job_commands(path, text, job, line, inherited, 0, &mut commands);
            out.push(JobSpec {
                system: CiSystem::GithubActions,
                name: format!("{file_name} › {name}"),
                file: path.to_string(),
                line,
                schedules: triggers.crons.clone(),
                automatic: triggers.automatic,
                on_change: Some(triggers.on_change),
                commands,
                submitted_by: Vec::new(),
            });
        }
    }
    warn_nested_workflows(index, warnings);
    out
}

/// Workflows in a `.github/workflows` folder below the root (a template's,
/// a seed repository's, a vendored project's): GitHub never runs them, so
/// they are not read, and the folder is named once so that a reader who
/// expected them counted learns why they are not.
fn warn_nested_workflows(index: &RepoIndex, warnings: &mut Vec<CiWarning>) {
    let nested = format!("/{WORKFLOWS}");
    // By folder, in path order; a map, since a hostile tree may hold many.
    let mut folders: std::collections::BTreeMap<&str, usize> = Default::default();
    for extension in ["yml", "yaml"] {
        for &at in index.with_extension(extension) {
            let folder = paths::parent(&index.entry_at(at).path);
            if folder.ends_with(&nested) {
                *folders.entry(folder).or_default() += 1;
            }
        }
    }
    for (folder, count) in folders {
        let these = if count == 1 {
            "the workflow here is".to_string()
        } else {
            format!("the {count} workflows here are")
        };
        warnings.push(warning(
            folder,
            None,
            format!("GitHub Actions runs only the workflows in the root's `{WORKFLOWS}`: {these} not counted (if the folder above is a repository of its own, a template or a seed, run mlscore on it)"),
        ));
    }
}

fn warning(path: &str, line: Option<usize>, message: String) -> CiWarning {
    CiWarning {
        path: path.to_string(),
        line,
        message,
    }
}

/// What starts a workflow.
#[derive(Debug, Default, PartialEq, Eq)]
struct Triggers {
    /// Some event other than `workflow_dispatch`/`workflow_call` starts it.
    automatic: bool,
    /// A push, a pull request or a merge queue starts it.
    on_change: bool,
    /// `schedule:` cron expressions.
    crons: Vec<String>,
    /// It is only ever called by other workflows.
    only_call: bool,
}

impl Triggers {
    fn read(doc: &Value) -> Triggers {
        // YAML 1.1 readers turn a bare `on` key into `true`; accept both.
        let on = get(doc, "on").or_else(|| doc.as_mapping().and_then(|m| m.get(Value::Bool(true))));
        let mut crons = Vec::new();
        let events: Vec<String> = match on {
            None => {
                return Triggers {
                    automatic: true,
                    on_change: true,
                    ..Triggers::default()
                }
            }
            Some(Value::Mapping(map)) => {
                if let Some(schedule) = map.get("schedule").and_then(Value::as_sequence) {
                    crons.extend(
                        schedule
                            .iter()
                            .filter_map(|s| get_str(s, "cron"))
                            .map(str::to_string),
                    );
                }
                map.keys().filter_map(yaml::scalar).collect()
            }
            Some(other) => yaml::string_list(other),
        };
        let manual = |e: &String| e == "workflow_dispatch" || e == "workflow_call";
        let change = |e: &String| {
            matches!(
                e.as_str(),
                "push" | "pull_request" | "pull_request_target" | "merge_group"
            )
        };
        Triggers {
            automatic: events.iter().any(|e| !manual(e)),
            on_change: events.iter().any(change),
            only_call: !events.is_empty() && events.iter().all(|e| e == "workflow_call"),
            crons,
        }
    }
}

/// `defaults.run.working-directory` of a workflow or job.
fn defaults_wd(value: &Value) -> Option<String> {
    get(value, "defaults")
        .and_then(|d| get(d, "run"))
        .and_then(|r| get_str(r, "working-directory"))
        .map(str::to_string)
}

/// Reads one job's commands, following local actions and reusable workflows.
struct Reader<'a> {
    index: &'a RepoIndex,
    warnings: &'a mut Vec<CiWarning>,
    /// Workflow and action files already expanded for this job (cycle guard).
    visited: HashSet<String>,
    /// Called workflows and actions parsed so far, for every job: 3,600 jobs
    /// calling one reusable workflow parse it once.
    parsed: &'a mut HashMap<String, Option<Rc<Value>>>,
}

/// Where commands are being read from.
struct Place<'t> {
    file: &'t str,
    text: &'t str,
    depth: usize,
}

impl Reader<'_> {
    /// `inherited`: the workflow's default working directory and `env:`.
    #[allow(clippy::too_many_arguments)]
    fn job_commands(
        &mut self,
        file: &str,
        text: &str,
        job: &Value,
        job_line: usize,
        inherited: (&str, &Env),
        depth: usize,
        out: &mut Vec<Pending>,
    ) {
        if let Some(uses) = get_str(job, "uses") {
            if let Some(local) = uses.strip_prefix("./") {
                self.reusable_workflow(file, job_line, local, depth, out);
            }
            return;
        }
        let (inherited_wd, inherited_env) = inherited;
        let job_wd = defaults_wd(job).unwrap_or_else(|| inherited_wd.to_string());
        let matrix = Matrix::read(job);
        let env = inherited_env.over(job);
        let place = Place { file, text, depth };
        self.steps(
            &place,
            get(job, "steps"),
            job_line,
            (&job_wd, &env),
            &matrix,
            out,
        );
    }

    /// `defaults`: the job's working directory and `env:`.
    fn steps(
        &mut self,
        place: &Place<'_>,
        steps: Option<&Value>,
        from_line: usize,
        defaults: (&str, &Env),
        matrix: &Matrix,
        out: &mut Vec<Pending>,
    ) {
        let Some(steps) = steps.and_then(Value::as_sequence) else {
            return;
        };
        let (default_wd, job_env) = defaults;
        let mut cursor = from_line;
        for step in steps {
            let env = job_env.over(step);
            let wd = env.expand(get_str(step, "working-directory").unwrap_or(default_wd));
            let wd = wd.as_ref();
            if let Some(run) = get(step, "run").and_then(yaml::scalar) {
                // `shell: python` steps hold Python, not shell commands.
                if get_str(step, "shell").is_some_and(|s| s.contains("python")) {
                    continue;
                }
                self.run_block(place, &run, (wd, &env), matrix, &mut cursor, out);
            } else if let Some(uses) = get_str(step, "uses") {
                if let Some(line) = lines::find_line(place.text, uses, cursor) {
                    cursor = line;
                }
                if let Some(local) = uses.strip_prefix("./").or((uses == ".").then_some("")) {
                    self.local_action(place, cursor, local, out);
                } else {
                    self.remote_action(place, step, uses, (wd, &env), matrix, &mut cursor, out);
                }
            }
        }
    }

    /// The commands of one `run:` block, in `scope` (its working directory
    /// and `env:`); `cd` carries over within the block.
    fn run_block(
        &mut self,
        place: &Place<'_>,
        run: &str,
        scope: (&str, &Env),
        matrix: &Matrix,
        cursor: &mut usize,
        out: &mut Vec<Pending>,
    ) {
        let (wd, env) = scope;
        let mut env = env.clone();
        let mut cd: Option<String> = None;
        for command in shell::split_commands(run, 1) {
            if let Some(line) = lines::find_line(place.text, &command.source_line, *cursor) {
                *cursor = line;
            }
            let expansions = matrix.expand(&env.expand(&command.text), wd);
            env.forget_assigned(&command.text);
            for (text, wd) in &expansions {
                let cwd = cd
                    .clone()
                    .unwrap_or_else(|| paths::join("", wd).unwrap_or_default());
                out.push(Pending::new(
                    text.clone(),
                    place.file,
                    *cursor,
                    place.depth,
                    &cwd,
                ));
            }
            if let Some((text, wd)) = expansions.first() {
                let cwd = cd
                    .clone()
                    .unwrap_or_else(|| paths::join("", wd).unwrap_or_default());
                if let Some(dir) = shell::cd_target(self.index, &cwd, text) {
                    cd = Some(dir);
                }
            }
        }
    }

    /// `uses: ./path`: the `runs.steps` of a composite action, one level deeper.
    fn local_action(&mut self, place: &Place<'_>, line: usize, dir: &str, out: &mut Vec<Pending>) {
        let Some(dir) = paths::join("", dir) else {
            return;
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let candidates = [
            format!("{prefix}action.yml"),
            format!("{prefix}action.yaml"),
        ];
        let Some(path) = candidates.into_iter().find(|p| self.index.is_file(p)) else {
            self.warnings.push(warning(place.file, Some(line), format!("`uses: ./{dir}` names no action.yml in the repository; its steps are not counted")));
            return;
        };
        if place.depth + 1 > MAX_NESTING || !self.visited.insert(path.clone()) {
            return;
        }
        let Some(doc) = self.read_yaml(&path) else {
            return;
        };
        let Some(text) = self.index.text(&path) else {
            return;
        };
        let Some(runs) = get(&doc, "runs") else {
            return;
        };
        if get_str(runs, "using") != Some("composite") {
            return;
        }
        let runs_line = lines::find_top_key(text, "runs").unwrap_or(1);
        let inner = Place {
            file: &path,
            text,
            depth: place.depth + 1,
        };
        // Composite steps run from the workspace root: job defaults do not apply.
        self.steps(
            &inner,
            get(runs, "steps"),
            runs_line,
            ("", &Env::default()),
            &Matrix::default(),
            out,
        );
    }

    /// Job-level `uses: ./.github/workflows/x.yml`: the called workflow's jobs
    /// run as part of this job, one level deeper.
    fn reusable_workflow(
        &mut self,
        file: &str,
        line: usize,
        local: &str,
        depth: usize,
        out: &mut Vec<Pending>,
    ) {
        let Some(path) = paths::join("", local.split('@').next().unwrap_or(local)) else {
            return;
        };
        if !self.index.is_file(&path) {
            self.warnings.push(warning(file, Some(line), format!("`uses: ./{local}` names no workflow file of the repository; its jobs are not counted")));
            return;
        }
        if depth + 1 > MAX_NESTING || !self.visited.insert(path.clone()) {
            return;
        }
        let Some(doc) = self.read_yaml(&path) else {
            return;
        };
        let Some(text) = self.index.text(&path) else {
            return;
        };
        let wd = defaults_wd(&doc).unwrap_or_default();
        // A called workflow sees its own `env:`, not its caller's.
        let env = Env::default().over(&doc);
        let jobs_line = lines::find_top_key(text, "jobs").unwrap_or(1);
        let Some(jobs) = get(&doc, "jobs").and_then(Value::as_mapping) else {
            return;
        };
        let mut cursor = jobs_line + 1;
        for (key, job) in jobs.iter() {
            let Some(id) = yaml::scalar(key) else {
                continue;
            };
            let job_line = match lines::find_key_line(text, &id, cursor, 1) {
                Some(line) => {
                    cursor = line + 1;
                    line
                }
                None => jobs_line,
            };
            self.job_commands(&path, text, job, job_line, (&wd, &env), depth + 1, out);
        }
    }

    /// Remote actions that run commands mlscore can see: `pre-commit/action`,
    /// the mlscore action itself, and actions taking a `run`/`command` input.
    #[allow(clippy::too_many_arguments)]
    fn remote_action(
        &mut self,
        place: &Place<'_>,
        step: &Value,
        uses: &str,
        scope: (&str, &Env),
        matrix: &Matrix,
        cursor: &mut usize,
        out: &mut Vec<Pending>,
    ) {
        let wd = scope.0;
        let name = uses.split('@').next().unwrap_or(uses).to_ascii_lowercase();
        let with = get(step, "with");
        let cwd = paths::join("", wd).unwrap_or_default();
        if name == "pre-commit/action" {
            let extra = with
                .and_then(|w| get_str(w, "extra_args"))
                .unwrap_or("--all-files");
            out.push(Pending::new(
                format!("pre-commit run {extra}"),
                place.file,
                *cursor,
                place.depth,
                &cwd,
            ));
            return;
        }
        let last = name.rsplit('/').next().unwrap_or("");
        if last == "mlscore" || last == "mlscore-action" {
            let mut pending = Pending::new(
                format!("uses: {uses}"),
                place.file,
                *cursor,
                place.depth,
                &cwd,
            );
            pending.runs_mlscore = true;
            out.push(pending);
            return;
        }
        // Actions that run a shell script given as an input, in the
        // checkout: retry wrappers (`run:`, `command:`) and the Azure CLI
        // action (`inlineScript:`, in a container that mounts the checkout
        // as its working directory), with which Azure ML pipelines are
        // submitted.
        let script = with.and_then(|w| {
            get(w, "run")
                .or_else(|| get(w, "command"))
                .or_else(|| get(w, "inlineScript").filter(|_| name == "azure/cli"))
        });
        if let Some(run) = script.and_then(yaml::scalar) {
            self.run_block(place, &run, scope, matrix, cursor, out);
        }
    }

    fn read_yaml(&mut self, path: &str) -> Option<Rc<Value>> {
        if let Some(known) = self.parsed.get(path) {
            return known.clone();
        }
        let doc = self.parse_yaml(path).map(Rc::new);
        self.parsed.insert(path.to_string(), doc.clone());
        doc
    }

    fn parse_yaml(&mut self, path: &str) -> Option<Value> {
        let Some(text) = self.index.text(path) else {
            self.warnings.push(warning(
                path,
                None,
                "could not read this file; its steps are not counted".into(),
            ));
            return None;
        };
        match yaml::parse(text) {
            Ok(doc) => Some(doc),
            Err(err) => {
                self.warnings.push(warning(
                    path,
                    err.line,
                    format!(
                        "could not parse this file ({}); its steps are not counted",
                        err.message
                    ),
                ));
                None
            }
        }
    }
}

static MATRIX_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}").expect("valid regex"));

/// The list axes of `strategy.matrix` (plus values added by `include`).
#[derive(Debug, Default)]
struct Matrix {
    axes: Vec<(String, Vec<String>)>,
}

impl Matrix {
    fn read(job: &Value) -> Matrix {
        let mut matrix = Matrix::default();
        let Some(map) = get(job, "strategy")
            .and_then(|s| get(s, "matrix"))
            .and_then(Value::as_mapping)
        else {
            return matrix;
        };
        for (key, value) in map {
            let Some(key) = yaml::scalar(key) else {
                continue;
            };
            if key == "include" || key == "exclude" {
                continue;
            }
            if let Some(items) = value.as_sequence() {
                matrix
                    .axes
                    .push((key, items.iter().filter_map(yaml::scalar).collect()));
            }
        }
        for extra in map
            .get("include")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for (key, value) in extra.as_mapping().into_iter().flatten() {
                let (Some(key), Some(value)) = (yaml::scalar(key), yaml::scalar(value)) else {
                    continue;
                };
                match matrix.axes.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, values)) if !values.contains(&value) => values.push(value),
                    Some(_) => {}
                    None => matrix.axes.push((key, vec![value])),
                }
            }
        }
        matrix
    }

    /// One (command, working directory) per combination of the matrix values
    /// they mention, at most [`MAX_MATRIX`]; unchanged when they mention none.
    fn expand(&self, text: &str, wd: &str) -> Vec<(String, String)> {
        let mut keys: Vec<&(String, Vec<String>)> = Vec::new();
        for caps in MATRIX_REF
            .captures_iter(text)
            .chain(MATRIX_REF.captures_iter(wd))
        {
            let Some(name) = caps.get(1).map(|m| m.as_str()) else {
                continue;
            };
            if let Some(axis) = self.axes.iter().find(|(k, v)| k == name && !v.is_empty()) {
                if !keys.iter().any(|(k, _)| k == name) {
                    keys.push(axis);
                }
            }
        }
        if keys.is_empty() {
            return vec![(text.to_string(), wd.to_string())];
        }
        let mut combos: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
        for (key, values) in &keys {
            let mut next = Vec::new();
            for combo in &combos {
                for value in values {
                    if next.len() >= MAX_MATRIX {
                        break;
                    }
                    let mut extended = combo.clone();
                    extended.push((key.as_str(), value.as_str()));
                    next.push(extended);
                }
            }
            combos = next;
        }
        combos
            .iter()
            .map(|combo| {
                let substitute = |s: &str| {
                    MATRIX_REF
                        .replace_all(s, |caps: &regex::Captures<'_>| {
                            let name = caps.get(1).map_or("", |m| m.as_str());
                            combo.iter().find(|(k, _)| *k == name).map_or_else(
                                || caps.get(0).map_or("", |m| m.as_str()).to_string(),
                                |(_, v)| v.to_string(),
                            )
                        })
                        .into_owned()
                };
                (substitute(text), substitute(wd))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = r#"name: CI
on:
  push:
    branches: [main]
  pull_request:
defaults:
  run:
    working-directory: ml
jobs:
  test:
    name: Unit tests
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.10", "3.11"]
        suite: [data, code]
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: |
          pip install -r requirements.txt && \
            pip install -e .
          # comment
          make setup; echo ok
      - run: pytest tests/${{ matrix.suite }} --py ${{ matrix.python }}
      - uses: ./.github/actions/validate
      - uses: pre-commit/action@v3.0.1
      - run: python -m pipeline.train
        working-directory: .
  nightly-eval:
    uses: ./.github/workflows/eval.yml
  score:
    runs-on: ubuntu-latest
    steps:
      - uses: acme/mlscore@v1
        with:
          config: mlscore.yaml
"#;

    const ACTION: &str = "name: validate\nruns:\n  using: composite\n  steps:\n    - run: bash scripts/validate.sh\n      shell: bash\n    - uses: ./.github/actions/validate\n";

    const EVAL: &str = "on:\n  workflow_call:\njobs:\n  eval:\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n        working-directory: ml\n    steps:\n      - run: |\n          cd eval\n          python evaluate.py\n";

    const NIGHTLY: &str = "on:\n  schedule:\n    - cron: '0 3 * * *'\n    - cron: '0 15 * * 0'\n  workflow_dispatch:\njobs:\n  retrain:\n    runs-on: ubuntu-latest\n    steps:\n      - run: dvc repro\n";

    const MANUAL: &str = "on: workflow_dispatch\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make deploy\n      - shell: python\n        run: print('x')\n";

    fn index() -> RepoIndex {
        RepoIndex::from_memory([
            (".github/workflows/ci.yml", CI),
            (".github/workflows/eval.yml", EVAL),
            (".github/workflows/nightly.yaml", NIGHTLY),
            (".github/workflows/manual.yml", MANUAL),
            (".github/workflows/broken.yml", "jobs:\n  x: [\n"),
            (".github/actions/validate/action.yml", ACTION),
            ("ml/eval/evaluate.py", ""),
        ])
    }

    fn commands(spec: &JobSpec) -> Vec<(&str, usize, &str, usize, &str)> {
        spec.commands
            .iter()
            .map(|c| {
                (
                    c.text.as_str(),
                    c.line,
                    c.cwd.as_str(),
                    c.depth,
                    c.file.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn reads_jobs_triggers_and_names() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        // Name, line, automatic, started by a change, schedules.
        type Read<'a> = (&'a str, usize, bool, Option<bool>, &'a [String]);
        let names: Vec<Read> = specs
            .iter()
            .map(|s| {
                let schedules = s.schedules.as_slice();
                (s.name.as_str(), s.line, s.automatic, s.on_change, schedules)
            })
            .collect();
        let crons = ["0 3 * * *".to_string(), "0 15 * * 0".to_string()];
        assert_eq!(
            names,
            [
                ("ci.yml › Unit tests", 10, true, Some(true), &[][..]),
                ("ci.yml › nightly-eval", 30, true, Some(true), &[][..]),
                ("ci.yml › score", 32, true, Some(true), &[][..]),
                ("manual.yml › deploy", 3, false, Some(false), &[][..]),
                ("nightly.yaml › retrain", 7, true, Some(false), &crons[..]),
            ]
        );
        // A push, a pull request or a merge queue is a change; a schedule,
        // a release or a run by hand is not.
        for (on, change) in [
            ("[push, schedule]", true),
            ("{pull_request_target: {}}", true),
            ("[merge_group]", true),
            ("[release, schedule, workflow_dispatch]", false),
        ] {
            let doc: Value = serde_yaml::from_str(&format!("on: {on}\n")).unwrap();
            assert_eq!(Triggers::read(&doc).on_change, change, "{on}");
        }
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            (warnings[0].path.as_str(), warnings[0].line),
            (".github/workflows/broken.yml", Some(3))
        );
        assert_eq!(
            commands(&specs[3]),
            [("make deploy", 6, "", 0, ".github/workflows/manual.yml")]
        );
    }

    #[test]
    fn run_blocks_matrix_actions_and_working_directories() {
        let mut warnings = Vec::new();
        let specs = jobs(&index(), &mut warnings);
        let ci = ".github/workflows/ci.yml";
        let action = ".github/actions/validate/action.yml";
        assert_eq!(
            commands(&specs[0]),
            [
                ("pip install -r requirements.txt", 21, "ml", 0, ci),
                ("pip install -e .", 22, "ml", 0, ci),
                ("make setup", 24, "ml", 0, ci),
                ("echo ok", 24, "ml", 0, ci),
                ("pytest tests/data --py 3.10", 25, "ml", 0, ci),
                ("pytest tests/data --py 3.11", 25, "ml", 0, ci),
                ("pytest tests/code --py 3.10", 25, "ml", 0, ci),
                ("pytest tests/code --py 3.11", 25, "ml", 0, ci),
                ("bash scripts/validate.sh", 5, "", 1, action),
                ("pre-commit run --all-files", 27, "ml", 0, ci),
                ("python -m pipeline.train", 28, "", 0, ci),
            ]
        );
        // The reusable workflow's commands belong to the calling job, with its own defaults and `cd`.
        let eval = ".github/workflows/eval.yml";
        assert_eq!(
            commands(&specs[1]),
            [
                ("cd eval", 11, "ml", 1, eval),
                ("python evaluate.py", 12, "ml/eval", 1, eval)
            ]
        );
        assert_eq!(specs[2].commands.len(), 1);
        assert!(specs[2].commands[0].runs_mlscore);
        assert_eq!(specs[2].commands[0].text, "uses: acme/mlscore@v1");
    }

    /// `env:` values of the workflow, the job and the step place `cd` and
    /// `working-directory` and fill commands; a value computed by an
    /// expression, or assigned in the block, is left as written.
    #[test]
    fn env_values_place_and_fill_commands() {
        let workflow = r#"on: [push]
env:
  APP: ${{ github.workspace }}/app
  SUITE: unit
jobs:
  t:
    runs-on: ubuntu-latest
    env:
      SUITE: data
    steps:
      - run: |
          cd "${APP}"
          pytest tests/$SUITE
      - run: pytest ${{ env.SUITE }}
        working-directory: ${{ env.APP }}
      - env:
          APP: ${{ secrets.DIR }}
        run: cd $APP && pytest
      - run: |
          export SUITE=code
          pytest $SUITE
      - run: |
          cd ${{ github.workspace }}/app
          pytest tests
"#;
        let file = ".github/workflows/t.yml";
        let index = RepoIndex::from_memory([(file, workflow), ("app/tests/data/test_a.py", "")]);
        let specs = jobs(&index, &mut Vec::new());
        assert_eq!(
            commands(&specs[0]),
            [
                ("cd \"$GITHUB_WORKSPACE/app\"", 12, "", 0, file),
                ("pytest tests/data", 13, "app", 0, file),
                ("pytest data", 14, "app", 0, file),
                ("cd $APP", 18, "", 0, file),
                ("pytest", 18, paths::UNKNOWN_DIR, 0, file),
                ("export SUITE=code", 20, "", 0, file),
                ("pytest $SUITE", 21, "", 0, file),
                ("cd $GITHUB_WORKSPACE/app", 23, "", 0, file),
                ("pytest tests", 24, "app", 0, file),
            ]
        );
    }

    /// The Azure CLI action runs its `inlineScript` in the checkout; another
    /// action's input of that name is its own business.
    #[test]
    fn azure_cli_inline_scripts_are_run_blocks() {
        let workflow = r#"on: [push]
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - uses: azure/cli@v1
        with:
          inlineScript: |
            set -e
            python -m mlops.pipeline \
              --name x
      - uses: someone/deploy@v2
        with:
          inlineScript: python deploy.py
"#;
        let file = ".github/workflows/t.yml";
        let index = RepoIndex::from_memory([(file, workflow), ("mlops/pipeline.py", "")]);
        let specs = jobs(&index, &mut Vec::new());
        assert_eq!(
            commands(&specs[0]),
            [("python -m mlops.pipeline --name x", 10, "", 0, file)]
        );
    }

    /// A `.github/workflows` below the root is not GitHub's: its workflows
    /// are not read, and each such folder is named once.
    #[test]
    fn workflows_below_the_root_are_named_not_read() {
        let workflow = "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n";
        let index = RepoIndex::from_memory([
            ("seed/.github/workflows/build.yml", workflow),
            ("seed/.github/workflows/deploy.yaml", workflow),
            ("seed/.github/workflows/notes.md", ""),
            ("a/.github/workflows/x.yml", workflow),
            ("docs/github/workflows/y.yml", workflow),
        ]);
        let mut warnings = Vec::new();
        assert!(jobs(&index, &mut warnings).is_empty());
        let named: Vec<(&str, bool)> = warnings
            .iter()
            .map(|w| {
                (
                    w.path.as_str(),
                    w.message.contains("the 2 workflows here are"),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                ("a/.github/workflows", false),
                ("seed/.github/workflows", true)
            ]
        );
        assert!(warnings[0]
            .message
            .contains("the workflow here is not counted"));
    }

    #[test]
    fn matrix_caps_and_missing_locals() {
        let job: Value = serde_yaml::from_str("strategy:\n  matrix:\n    a: [1,2,3,4,5]\n    b: [1,2,3,4,5]\n    include:\n      - a: 9\n        c: x\n").unwrap();
        let matrix = Matrix::read(&job);
        assert_eq!(matrix.axes[0].1.len(), 6);
        assert_eq!(
            matrix.expand("${{ matrix.a }}-${{matrix.b}}", "").len(),
            MAX_MATRIX
        );
        assert_eq!(
            matrix.expand("${{ matrix.c }} ${{ matrix.zzz }}", ""),
            [("x ${{ matrix.zzz }}".to_string(), String::new())]
        );

        let index = RepoIndex::from_memory([(
            ".github/workflows/a.yml",
            "on: [push]\njobs:\n  a:\n    steps:\n      - uses: ./missing\n  b:\n    uses: ./.github/workflows/none.yml\n",
        )]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert_eq!(specs.len(), 2);
        let lines: Vec<Option<usize>> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [Some(5), Some(6)]);
    }
}
