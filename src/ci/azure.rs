//! Azure Pipelines: `azure-pipelines*.yml` and the YAML files under
//! `.azure-pipelines/`, `.pipelines/` and `.azuredevops/`. A file that another
//! one includes with `template:` is a template, not a pipeline. Stages, jobs,
//! deployment jobs and steps are read through step, job, stage, variable and
//! `extends` templates, with `${{ parameters.x }}` and `$(variable)` values
//! filled in; `script`/`bash`/`pwsh` steps and the script tasks (`Bash`,
//! `CmdLine`, `PowerShell`, `PythonScript`, `AzureCLI`, `ShellScript`) are
//! the commands. `trigger: none` with `pr: none` and no schedule or pipeline
//! resource trigger is a pipeline run only by hand.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::{Mapping, Value};

use crate::repo::RepoIndex;

use super::job::{JobSpec, Pending};
use super::script::{self, warning, Placer};
use super::yaml::{self, get, get_str};
use super::{lines, paths, CiSystem, CiWarning};

/// Folders whose YAML files are Azure pipelines or their templates.
const DIRS: &[&str] = &[".azure-pipelines", ".pipelines", ".azuredevops", ".ado"];
/// Template nesting mlscore follows (Azure allows 20; real ones use 2–3).
const MAX_DEPTH: usize = 8;
/// Templates expanded per pipeline: a template used many times by templates
/// that are themselves used many times must not grow without bound.
const MAX_EXPANSIONS: usize = 256;
/// How deep a YAML value is walked when filling in parameters.
const MAX_VALUE_DEPTH: usize = 64;

const WHAT: &str = "Azure Pipelines file";

/// Every Azure Pipelines job of the repository.
pub(crate) fn jobs(index: &RepoIndex, warnings: &mut Vec<CiWarning>) -> Vec<JobSpec> {
    let candidates: Vec<&str> = index
        .files()
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| is_candidate(p))
        .collect();
    let mut parsed = Vec::new();
    for path in candidates {
        if let Some((text, doc)) = script::read_doc(index, path, WHAT, warnings) {
            parsed.push((path, text, doc));
        }
    }
    let mut referenced = HashSet::new();
    for (path, _, doc) in &parsed {
        template_refs(doc, path, &mut referenced, 0);
    }
    let mut out = Vec::new();
    for (path, text, doc) in &parsed {
        if referenced.contains(*path) || !is_pipeline(path, doc) {
            continue;
        }
        let mut walker = Walker {
            index,
            warnings,
            root_name: paths::file_name(path).to_string(),
            expansions: 0,
            drafts: Vec::new(),
        };
        walker.pipeline(path, text, doc);
        let (automatic, schedules) = triggers(doc);
        out.extend(walker.drafts.into_iter().map(|d| JobSpec {
            submitted_by: Vec::new(),
            system: CiSystem::AzurePipelines,
            name: d.name,
            file: d.file,
            line: d.line,
            schedules: schedules.clone(),
            automatic,
            on_change: None,
            commands: d.commands,
        }));
    }
    out
}

fn is_candidate(path: &str) -> bool {
    if !script::is_yaml(path) || path.contains("node_modules/") {
        return false;
    }
    crate::text::case::starts_with_ignore_case(paths::file_name(path), "azure-pipelines")
        || paths::parent(path)
            .split('/')
            .any(|dir| DIRS.iter().any(|known| dir.eq_ignore_ascii_case(known)))
}

/// Whether a parsed candidate is a pipeline rather than a template.
fn is_pipeline(path: &str, doc: &Value) -> bool {
    let has = |key: &str| get(doc, key).is_some();
    if !["stages", "jobs", "steps", "extends"]
        .iter()
        .any(|k| has(k))
    {
        return false;
    }
    let triggered = has("trigger") || has("pr") || has("schedules");
    // Templates nobody in this repository includes (used from other
    // repositories) still read as templates by their name.
    triggered || !path.to_ascii_lowercase().contains("template")
}

/// (automatic, cron expressions) of a pipeline.
fn triggers(doc: &Value) -> (bool, Vec<String>) {
    let disabled = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("none"))
    };
    // An absent `trigger:` or `pr:` means every branch triggers the pipeline.
    let ci = !disabled(get(doc, "trigger"));
    let pr = !disabled(get(doc, "pr"));
    let resources = get(doc, "resources");
    let resource_trigger = ["pipelines", "repositories"].iter().any(|kind| {
        resources
            .and_then(|r| get(r, kind))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .any(|res| get(res, "trigger").is_some_and(|t| !disabled(Some(t)) && !t.is_null()))
    });
    let crons: Vec<String> = get(doc, "schedules")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|s| get_str(s, "cron"))
        .map(str::to_string)
        .collect();
    (ci || pr || resource_trigger || !crons.is_empty(), crons)
}

/// Adds the repository paths that `template:` keys under `value` name.
fn template_refs(value: &Value, file: &str, out: &mut HashSet<String>, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match value {
        Value::Mapping(map) => {
            for (key, item) in map {
                if key.as_str() == Some("template") {
                    if let Some(path) = item.as_str().and_then(|t| resolve(file, t)) {
                        out.insert(path);
                    }
                }
                template_refs(item, file, out, depth + 1);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                template_refs(item, file, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The repository path of `template: x` written in `file`: relative to the
/// including file, or to the root with a leading `/`. `None` for templates
/// in other repositories (`x.yml@repo`).
fn resolve(file: &str, template: &str) -> Option<String> {
    let template = template.trim();
    if template.contains('@') {
        return None;
    }
    match template.strip_prefix('/') {
        Some(rooted) => paths::join("", rooted),
        None => paths::join(paths::parent(file), template),
    }
}

/// A job as read, before the pipeline's triggers are applied.
struct Draft {
    name: String,
    file: String,
    line: usize,
    commands: Vec<Pending>,
}

/// Where definitions are being read: a pipeline or template file, with the
/// parameters and variables in force there.
struct Scope<'a> {
    file: String,
    text: &'a str,
    vars: HashMap<String, String>,
    depth: usize,
    /// The including files, outermost first (cycle guard and where scripts
    /// passed as parameters are written).
    chain: Vec<(String, &'a str)>,
}

struct Walker<'a, 'w> {
    index: &'a RepoIndex,
    warnings: &'w mut Vec<CiWarning>,
    root_name: String,
    expansions: usize,
    drafts: Vec<Draft>,
}

/// Which list a template fills.
#[derive(Clone, Copy)]
enum Level {
    Stages,
    Jobs,
    Steps,
}

impl Level {
    fn key(self) -> &'static str {
        match self {
            Level::Stages => "stages",
            Level::Jobs => "jobs",
            Level::Steps => "steps",
        }
    }
}

impl<'a> Walker<'a, '_> {
    fn pipeline(&mut self, path: &str, text: &'a str, doc: &Value) {
        let params = declared_parameters(doc);
        let doc = substitute(doc, &params, 0);
        let mut scope = Scope {
            file: path.to_string(),
            text,
            vars: HashMap::new(),
            depth: 0,
            chain: Vec::new(),
        };
        self.read_vars(get(&doc, "variables"), &mut scope);
        self.body(&doc, &scope);
    }

    /// The stages, jobs or steps of a pipeline or `extends` template.
    fn body(&mut self, doc: &Value, scope: &Scope<'a>) {
        if let Some(extends) = get(doc, "extends") {
            if let Some((inner, inner_scope)) = self.expand(extends, scope) {
                self.body(&inner, &inner_scope);
            }
        } else if let Some(stages) = get(doc, "stages") {
            self.stages(stages, scope);
        } else if let Some(jobs) = get(doc, "jobs") {
            self.jobs(jobs, scope, None);
        } else if let Some(steps) = get(doc, "steps") {
            let line = lines::find_top_key(scope.text, "steps").unwrap_or(1);
            let commands = self.job_steps(steps, scope, line);
            self.drafts.push(Draft {
                name: self.root_name.clone(),
                file: scope.file.clone(),
                line,
                commands,
            });
        }
    }

    fn stages(&mut self, stages: &Value, scope: &Scope<'a>) {
        for item in self.items(stages, Level::Stages, scope) {
            let Some((item, scope)) = item else { continue };
            let Some(id) = get(&item, "stage").and_then(yaml::scalar) else {
                continue;
            };
            let name = get_str(&item, "displayName").map_or(id, str::to_string);
            let mut stage_scope = scope.child_vars();
            self.read_vars(get(&item, "variables"), &mut stage_scope);
            if let Some(jobs) = get(&item, "jobs") {
                self.jobs(jobs, &stage_scope, Some(&name));
            }
        }
    }

    fn jobs(&mut self, jobs: &Value, scope: &Scope<'a>, stage: Option<&str>) {
        for item in self.items(jobs, Level::Jobs, scope) {
            let Some((item, scope)) = item else { continue };
            let (key, id) = match (get(&item, "job"), get(&item, "deployment")) {
                (Some(id), _) => ("job", yaml::scalar(id).unwrap_or_default()),
                (None, Some(id)) => ("deployment", yaml::scalar(id).unwrap_or_default()),
                _ => continue,
            };
            let name = get_str(&item, "displayName").map_or(id.clone(), str::to_string);
            let line = job_line(scope.text, key, &id).unwrap_or(1);
            let mut job_scope = scope.child_vars();
            self.read_vars(get(&item, "variables"), &mut job_scope);
            let mut commands = Vec::new();
            for steps in job_step_lists(&item) {
                let mut found = self.job_steps(steps, &job_scope, line);
                commands.append(&mut found);
            }
            let full = match stage {
                Some(stage) => format!("{} › {stage} › {name}", self.root_name),
                None => format!("{} › {name}", self.root_name),
            };
            self.drafts.push(Draft {
                name: full,
                file: scope.file.clone(),
                line,
                commands,
            });
        }
    }

    fn job_steps(&mut self, steps: &Value, scope: &Scope<'a>, line: usize) -> Vec<Pending> {
        let mut out = Vec::new();
        let mut placer = Placer::new(self.index, &scope.file, scope.text, line);
        placer.depth = scope.depth;
        placer.fallback = scope.chain.iter().map(|(f, t)| (f.as_str(), *t)).collect();
        for item in self.items(steps, Level::Steps, scope) {
            let Some((step, step_scope)) = item else {
                continue;
            };
            if step_scope.file == scope.file {
                step_command(&step, &step_scope, &mut placer, &mut out);
            } else {
                let mut inner = Placer::new(self.index, &step_scope.file, step_scope.text, 1);
                inner.depth = step_scope.depth;
                inner.fallback = step_scope
                    .chain
                    .iter()
                    .map(|(f, t)| (f.as_str(), *t))
                    .collect();
                step_command(&step, &step_scope, &mut inner, &mut out);
            }
        }
        out
    }

    /// The items of a stage, job or step list with templates expanded in
    /// place, each with the scope it was written in. `${{ if }}` blocks are
    /// read as if their condition held; `${{ each }}` loops are skipped.
    fn items(
        &mut self,
        list: &Value,
        level: Level,
        scope: &Scope<'a>,
    ) -> Vec<Option<(Value, Scope<'a>)>> {
        let mut out = Vec::new();
        self.collect_items(list, level, scope, &mut out, 0);
        out
    }

    fn collect_items(
        &mut self,
        list: &Value,
        level: Level,
        scope: &Scope<'a>,
        out: &mut Vec<Option<(Value, Scope<'a>)>>,
        nesting: usize,
    ) {
        let Some(items) = list.as_sequence() else {
            return;
        };
        if nesting > MAX_VALUE_DEPTH {
            return;
        }
        for item in items {
            match item {
                // A `stepList` parameter inserted as one item.
                Value::Sequence(_) => self.collect_items(item, level, scope, out, nesting + 1),
                Value::Mapping(map) => {
                    if get(item, "template").is_some() {
                        if let Some((doc, inner)) = self.expand(item, scope) {
                            if let Some(list) = get(&doc, level.key()) {
                                self.collect_items(list, level, &inner, out, nesting + 1);
                            }
                        }
                        continue;
                    }
                    let expression = map.iter().find_map(|(k, v)| {
                        k.as_str().filter(|k| k.starts_with("${{")).map(|k| (k, v))
                    });
                    if let Some((key, value)) = expression {
                        if key.contains("each") {
                            let line = lines::find_line(scope.text, key, 1);
                            self.warnings.push(warning(&scope.file, line, format!("`{key}` loops are not expanded by mlscore; the {} it inserts are not counted", level.key())));
                        } else {
                            self.collect_items(value, level, scope, out, nesting + 1);
                        }
                        continue;
                    }
                    out.push(Some((item.clone(), scope.same())));
                }
                _ => {}
            }
        }
    }

    /// Loads the template an item names, with its parameters filled in.
    fn expand(&mut self, item: &Value, scope: &Scope<'a>) -> Option<(Value, Scope<'a>)> {
        let name = get_str(item, "template")?;
        let line = lines::find_line(scope.text, name, 1);
        let Some(path) = resolve(&scope.file, name) else {
            self.warnings.push(warning(
                &scope.file,
                line,
                format!(
                    "template `{name}` lives in another repository; what it runs is not counted"
                ),
            ));
            return None;
        };
        if !self.index.is_file(&path) {
            self.warnings.push(warning(
                &scope.file,
                line,
                format!("template `{name}` is not in the repository; what it runs is not counted"),
            ));
            return None;
        }
        let cycle = path == scope.file || scope.chain.iter().any(|(f, _)| *f == path);
        if cycle || scope.depth >= MAX_DEPTH || self.expansions >= MAX_EXPANSIONS {
            self.warnings.push(warning(&scope.file, line, format!("template `{name}` nests too deeply or includes itself; mlscore stopped expanding it here")));
            return None;
        }
        self.expansions += 1;
        let (text, doc) = script::read_doc(self.index, &path, WHAT, self.warnings)?;
        let mut params = declared_parameters(&doc);
        if let Some(given) = get(item, "parameters").and_then(Value::as_mapping) {
            for (key, value) in given {
                params.insert(key.clone(), value.clone());
            }
        }
        let doc = substitute(&doc, &params, 0);
        let mut chain = scope.chain.clone();
        chain.push((scope.file.clone(), scope.text));
        let mut inner = Scope {
            file: path,
            text,
            vars: scope.vars.clone(),
            depth: scope.depth + 1,
            chain,
        };
        self.read_vars(get(&doc, "variables"), &mut inner);
        Some((doc, inner))
    }

    /// Adds `variables:` (a mapping, or a list of `name`/`value` pairs and
    /// variable templates) to the scope. Groups live in Azure DevOps.
    fn read_vars(&mut self, value: Option<&Value>, scope: &mut Scope<'a>) {
        match value {
            Some(Value::Mapping(map)) => {
                for (key, value) in map {
                    if let (Some(key), Some(value)) = (yaml::scalar(key), yaml::scalar(value)) {
                        scope.vars.insert(key.to_ascii_lowercase(), value);
                    }
                }
            }
            Some(Value::Sequence(items)) => {
                for item in items {
                    if get(item, "template").is_some() {
                        if let Some((_, inner)) = self.expand(item, scope) {
                            scope.vars = inner.vars;
                        }
                    } else if let (Some(name), Some(value)) = (
                        get_str(item, "name"),
                        get(item, "value").and_then(yaml::scalar),
                    ) {
                        scope.vars.insert(name.to_ascii_lowercase(), value);
                    }
                }
            }
            _ => {}
        }
    }
}

impl<'a> Scope<'a> {
    fn same(&self) -> Scope<'a> {
        Scope {
            file: self.file.clone(),
            text: self.text,
            vars: self.vars.clone(),
            depth: self.depth,
            chain: self.chain.clone(),
        }
    }

    fn child_vars(&self) -> Scope<'a> {
        self.same()
    }

    /// `$(name)` and `${{ variables.name }}` replaced where the variable is
    /// known; other `$(…)` are left to the shell (command substitution).
    fn expand_vars(&self, text: &str) -> String {
        if !text.contains('$') || self.vars.is_empty() {
            return text.to_string();
        }
        let lookup = |caps: &regex::Captures<'_>| {
            let name = caps.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
            self.vars
                .get(&name)
                .cloned()
                .unwrap_or_else(|| caps.get(0).map_or("", |m| m.as_str()).to_string())
        };
        let once = MACRO.replace_all(text, lookup);
        COMPILE_VAR.replace_all(&once, lookup).into_owned()
    }

    /// The repository directory a `workingDirectory` names (the root when
    /// absent). An unknown variable leaves a path that names nothing.
    fn workdir(&self, wd: Option<&str>) -> String {
        wd.map(|wd| self.expand_vars(wd))
            .and_then(|wd| paths::join("", &wd))
            .unwrap_or_default()
    }
}

static MACRO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)").expect("valid regex"));
static COMPILE_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\{\s*variables\.([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}").expect("valid regex")
});
static PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}").expect("valid regex")
});

/// The step lists of a job: `steps`, or a deployment strategy's hooks.
fn job_step_lists(job: &Value) -> Vec<&Value> {
    if let Some(steps) = get(job, "steps") {
        return vec![steps];
    }
    let mut out = Vec::new();
    let Some(strategy) = get(job, "strategy").and_then(Value::as_mapping) else {
        return out;
    };
    for kind in strategy.values() {
        for hook in ["preDeploy", "deploy", "routeTraffic", "postRouteTraffic"] {
            if let Some(steps) = get(kind, hook).and_then(|h| get(h, "steps")) {
                out.push(steps);
            }
        }
        for outcome in ["success", "failure"] {
            if let Some(steps) = get(kind, "on")
                .and_then(|on| get(on, outcome))
                .and_then(|h| get(h, "steps"))
            {
                out.push(steps);
            }
        }
    }
    out
}

/// The 1-based line of `job: id` (or `deployment: id`), quoted or not.
fn job_line(text: &str, key: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
            trimmed
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest.trim().trim_matches(['"', '\'']) == id)
        })
        .map(|i| i + 1)
}

/// The commands of one step.
fn step_command(step: &Value, scope: &Scope<'_>, placer: &mut Placer<'_>, out: &mut Vec<Pending>) {
    let step_wd = get_str(step, "workingDirectory");
    for key in ["script", "bash", "pwsh", "powershell"] {
        if let Some(body) = get(step, key).and_then(yaml::scalar) {
            placer.block(&scope.expand_vars(&body), &scope.workdir(step_wd), out);
            return;
        }
    }
    if let Some(task) = get_str(step, "task") {
        task_command(task, step, scope, placer, out);
    }
}

/// The script tasks: inline scripts are commands; script files run with
/// their arguments.
fn task_command(
    task: &str,
    step: &Value,
    scope: &Scope<'_>,
    placer: &mut Placer<'_>,
    out: &mut Vec<Pending>,
) {
    let inputs = get(step, "inputs").and_then(Value::as_mapping);
    // Task inputs are case-insensitive.
    let input = |name: &str| -> Option<String> {
        inputs?
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| yaml::scalar(v))
            .map(|v| scope.expand_vars(&v))
    };
    let cwd = scope.workdir(
        input("workingDirectory")
            .or_else(|| input("cwd"))
            .as_deref()
            .or(get_str(step, "workingDirectory")),
    );
    let base = task.split('@').next().unwrap_or(task).to_ascii_lowercase();
    let inline = |target: Option<String>, default_inline: bool| {
        target.map_or(default_inline, |t| t.eq_ignore_ascii_case("inline"))
    };
    let args = |names: &[&str]| names.iter().find_map(|n| input(n)).unwrap_or_default();
    let file_command = |runner: &str, path: Option<String>, args: String| {
        path.map(|path| (format!("{runner} {path} {args}").trim().to_string(), path))
    };
    let (script, file) = match base.as_str() {
        "bash" => {
            if inline(input("targetType"), false) {
                (input("script"), None)
            } else {
                (
                    None,
                    file_command("bash", input("filePath"), args(&["arguments"])),
                )
            }
        }
        "cmdline" => (input("script"), None),
        "powershell" => {
            if inline(input("targetType"), false) {
                (input("script"), None)
            } else {
                (
                    None,
                    file_command("pwsh", input("filePath"), args(&["arguments"])),
                )
            }
        }
        "shellscript" => (
            None,
            file_command("bash", input("scriptPath"), args(&["args"])),
        ),
        "pythonscript" => {
            // Inline Python is not shell text; the file form runs a script.
            if input("scriptSource").is_some_and(|s| s.eq_ignore_ascii_case("inline")) {
                (None, None)
            } else {
                (
                    None,
                    file_command("python", input("scriptPath"), args(&["arguments"])),
                )
            }
        }
        "azurecli" => {
            let location = input("scriptLocation").unwrap_or_default();
            if location.eq_ignore_ascii_case("inlineScript")
                || (location.is_empty() && input("inlineScript").is_some())
            {
                (input("inlineScript"), None)
            } else {
                let runner = match input("scriptType").as_deref() {
                    Some("ps" | "pscore") => "pwsh",
                    _ => "bash",
                };
                (
                    None,
                    file_command(
                        runner,
                        input("scriptPath"),
                        args(&["arguments", "scriptArguments"]),
                    ),
                )
            }
        }
        "azurepowershell" => match input("ScriptType").as_deref() {
            Some(t) if t.eq_ignore_ascii_case("InlineScript") => (input("Inline"), None),
            _ => (
                None,
                file_command("pwsh", input("ScriptPath"), args(&["ScriptArguments"])),
            ),
        },
        _ => (None, None),
    };
    if let Some(script) = script {
        placer.block(&script, &cwd, out);
    } else if let Some((text, path)) = file {
        placer.command(text, &path, &cwd, out);
    }
}

/// The parameters a pipeline or template declares, with their defaults:
/// a list of `name`/`default` (current syntax) or a `name: default` mapping.
fn declared_parameters(doc: &Value) -> Mapping {
    let mut params = Mapping::new();
    match get(doc, "parameters") {
        Some(Value::Sequence(items)) => {
            for item in items {
                if let Some(name) = get(item, "name") {
                    params.insert(
                        name.clone(),
                        get(item, "default").cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
        Some(Value::Mapping(map)) => params = map.clone(),
        _ => {}
    }
    params
}

/// `value` with `${{ parameters.x }}` filled in: a string that is only the
/// expression takes the parameter's value (a step list stays a list); one
/// inside text takes its scalar text. Unknown parameters are left as written.
fn substitute(value: &Value, params: &Mapping, depth: usize) -> Value {
    if depth > MAX_VALUE_DEPTH || params.is_empty() {
        return value.clone();
    }
    match value {
        Value::String(s) if s.contains("${{") => {
            let trimmed = s.trim();
            if let Some(caps) = PARAM.captures(trimmed) {
                if caps.get(0).is_some_and(|m| m.len() == trimmed.len()) {
                    if let Some(found) = lookup(params, &caps[1]) {
                        return found.clone();
                    }
                }
            }
            let replaced = PARAM.replace_all(s, |caps: &regex::Captures<'_>| {
                lookup(params, &caps[1])
                    .and_then(yaml::scalar)
                    .unwrap_or_else(|| caps[0].to_string())
            });
            Value::String(replaced.into_owned())
        }
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|item| substitute(item, params, depth + 1))
                .collect(),
        ),
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, params, depth + 1)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `a.b.c` looked up through nested mappings.
fn lookup<'v>(params: &'v Mapping, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = params.get(parts.next()?)?;
    for part in parts {
        current = get(current, part)?;
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = r#"trigger:
  branches:
    include: [main]
pr: none
variables:
- template: vars.yml
- name: TESTS
  value: tests/unit
stages:
- stage: Test
  displayName: Unit tests
  jobs:
  - job: "Unit"
    steps:
    - template: .pipelines/templates/quality.yml
      parameters:
        suite: $(TESTS)
    - task: AzureCLI@2
      inputs:
        scriptLocation: inlineScript
        workingDirectory: $(Build.SourcesDirectory)/$(SRC_DIR)
        inlineScript: |
          python train.py --smoke
- stage: Deploy
  jobs:
  - deployment: Ship
    strategy:
      runOnce:
        deploy:
          steps:
          - bash: ./deploy.sh
  - template: .pipelines/templates/jobs.yml
"#;

    const QUALITY: &str = "parameters:\n- name: suite\n  default: tests\nsteps:\n- script: pytest ${{ parameters.suite }}\n  displayName: tests\n- task: PythonScript@0\n  inputs:\n    scriptPath: tools/check.py\n    arguments: --strict\n- template: /.pipelines/templates/quality.yml\n";

    const JOBS: &str = "jobs:\n- job: lint\n  steps:\n  - ${{ if eq(1, 1) }}:\n    - script: flake8 .\n  - ${{ each s in parameters.extra }}:\n    - script: ${{ s }}\n";

    const NIGHTLY: &str = "trigger: none\npr: none\nschedules:\n- cron: '0 2 * * *'\n  branches:\n    include: [main]\nsteps:\n- script: python -m monitoring.drift\n";

    const MANUAL: &str = "trigger: none\npr: none\nparameters:\n- name: env\n  default: prod\njobs:\n- job: release\n  steps:\n  - template: missing.yml\n  - template: common.yml@templates\n  - task: Bash@3\n    inputs:\n      filePath: scripts/release.sh\n      arguments: ${{ parameters.env }}\n";

    fn index() -> RepoIndex {
        RepoIndex::from_memory([
            ("azure-pipelines.yml", CI),
            ("vars.yml", "variables:\n  SRC_DIR: ml\n"),
            (".pipelines/templates/quality.yml", QUALITY),
            (".pipelines/templates/jobs.yml", JOBS),
            (".pipelines/nightly.yml", NIGHTLY),
            (".pipelines/release.yml", MANUAL),
            (".pipelines/broken.yml", "steps:\n- script: [\n"),
            ("ml/train.py", ""),
        ])
    }

    fn summary(specs: &[JobSpec]) -> Vec<(&str, &str, usize, bool, usize)> {
        specs
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.file.as_str(),
                    s.line,
                    s.automatic,
                    s.schedules.len(),
                )
            })
            .collect()
    }

    #[test]
    fn stages_jobs_templates_and_triggers() {
        let index = index();
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        assert_eq!(
            summary(&specs),
            [
                ("nightly.yml", ".pipelines/nightly.yml", 7, true, 1),
                (
                    "release.yml › release",
                    ".pipelines/release.yml",
                    7,
                    false,
                    0
                ),
                (
                    "azure-pipelines.yml › Unit tests › Unit",
                    "azure-pipelines.yml",
                    13,
                    true,
                    0
                ),
                (
                    "azure-pipelines.yml › Deploy › Ship",
                    "azure-pipelines.yml",
                    26,
                    true,
                    0
                ),
                (
                    "azure-pipelines.yml › Deploy › lint",
                    ".pipelines/templates/jobs.yml",
                    2,
                    true,
                    0
                ),
            ]
        );
        let mut messages: Vec<(String, Option<usize>)> =
            warnings.iter().map(|w| (w.path.clone(), w.line)).collect();
        messages.sort();
        assert_eq!(
            messages,
            [
                (".pipelines/broken.yml".to_string(), Some(3)),
                (".pipelines/release.yml".to_string(), Some(9)),
                (".pipelines/release.yml".to_string(), Some(10)),
                (".pipelines/templates/jobs.yml".to_string(), Some(6)),
                (".pipelines/templates/quality.yml".to_string(), Some(11)),
            ],
            "{warnings:#?}"
        );
    }

    #[test]
    fn commands_with_parameters_variables_and_tasks() {
        let index = index();
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let cmds = |i: usize| -> Vec<(String, String, usize, String, usize)> {
            specs[i]
                .commands
                .iter()
                .map(|c| {
                    (
                        c.text.clone(),
                        c.file.clone(),
                        c.line,
                        c.cwd.clone(),
                        c.depth,
                    )
                })
                .collect()
        };
        let c = |t: &str, f: &str, l: usize, cwd: &str, d: usize| {
            (t.to_string(), f.to_string(), l, cwd.to_string(), d)
        };
        let quality = ".pipelines/templates/quality.yml";
        assert_eq!(
            cmds(2),
            [
                c("pytest tests/unit", quality, 5, "", 1),
                c("python tools/check.py --strict", quality, 9, "", 1),
                c(
                    "python train.py --smoke",
                    "azure-pipelines.yml",
                    23,
                    "ml",
                    0
                ),
            ]
        );
        assert_eq!(
            cmds(3),
            [c("./deploy.sh", "azure-pipelines.yml", 31, "", 0)]
        );
        assert_eq!(
            cmds(4),
            [c("flake8 .", ".pipelines/templates/jobs.yml", 5, "", 1)]
        );
        assert_eq!(
            cmds(1),
            [c(
                "bash scripts/release.sh prod",
                ".pipelines/release.yml",
                13,
                "",
                0
            )]
        );
        assert_eq!(specs[0].schedules, ["0 2 * * *"]);
    }

    #[test]
    fn templates_that_include_each_other_stop() {
        let index = RepoIndex::from_memory([
            ("azure-pipelines.yml", "steps:\n- template: a.yml\n"),
            ("a.yml", "steps:\n- template: b.yml\n- script: make a\n"),
            ("b.yml", "steps:\n- template: a.yml\n- script: make b\n"),
        ]);
        let mut warnings = Vec::new();
        let specs = jobs(&index, &mut warnings);
        let texts: Vec<&str> = specs[0].commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["make b", "make a"]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            (warnings[0].path.as_str(), warnings[0].line),
            ("b.yml", Some(2))
        );
    }
}
