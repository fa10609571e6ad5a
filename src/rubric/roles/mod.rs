//! Evidence by role. Repository Python code is classified by what it does
//! (trains and saves a model, evaluates it on held-out data, gates on a
//! metric, builds features, defines a model, serves, deploys), and check files
//! judge with rules over those roles, the tests that import them and the CI
//! jobs that run them, rather than over keywords. The rules are data
//! (`role:` in `checks/`); this module only knows how to evaluate them.

mod classify;
mod imports;
mod order;

use foldhash::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::catalogue::Automated;
use super::hollow::{is_test_path, HollowIndex};
use super::matcher::{CiLink, Evidence};
use super::pylines::{logical_lines, LogicalLine};
use crate::ci::{CiModel, Reach};
use crate::repo::RepoIndex;
use classify::IDENT;

pub use classify::RoleHit;

/// What a piece of repository code does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Fits a model and saves it.
    Training,
    /// Computes metrics on held-out data.
    Evaluation,
    /// Compares a metric with a threshold, or a pipeline condition on one.
    EvaluationGate,
    /// Builds features: transforms, encoders, preprocessing.
    Feature,
    /// Defines a model: a network, an estimator or a pipeline of them.
    Model,
    /// Serves predictions (FastAPI, Flask, BentoML, KServe…).
    Serving,
    /// Registers, deploys or pushes a model.
    Deploy,
    /// Defines an ML pipeline (Kubeflow, TFX, SageMaker, Airflow…).
    Pipeline,
}

impl Role {
    /// The role in plain words, for `explain` and evidence.
    pub fn words(self) -> &'static str {
        match self {
            Role::Training => "training code (fits and saves a model)",
            Role::Evaluation => "evaluation code (metrics on held-out data)",
            Role::EvaluationGate => {
                "an evaluation gate (a metric compared with a threshold, or a pipeline condition on one)"
            }
            Role::Feature => "feature or preprocessing code",
            Role::Model => "model definition code",
            Role::Serving => "serving code",
            Role::Deploy => "a deployment step (register, deploy or push a model)",
            Role::Pipeline => "an ML pipeline definition",
        }
    }

    /// The short name used in check files.
    pub fn id(self) -> &'static str {
        match self {
            Role::Training => "training",
            Role::Evaluation => "evaluation",
            Role::EvaluationGate => "evaluation_gate",
            Role::Feature => "feature",
            Role::Model => "model",
            Role::Serving => "serving",
            Role::Deploy => "deploy",
            Role::Pipeline => "pipeline",
        }
    }
}

/// Where an ordered role rule looks for its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Within {
    /// CI jobs (one job, or jobs chained by `needs:` or sequential stages)
    /// and single Python files.
    #[default]
    Any,
    /// ML pipeline definitions only (a file importing a pipeline framework).
    Pipeline,
}

/// A rule over roles, written under `role:` in a check file. Exactly one of
/// the three kinds is set.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// Test modules with at least one test that can fail, importing code of
    /// one of these roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests_import: Option<Vec<Role>>,
    /// Code of these roles run in this order by one CI job (or chained jobs),
    /// or written in this order in one file or pipeline definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_in_order: Option<Vec<Role>>,
    /// Code of one of these roles that a CI job triggered by changes (pushes,
    /// pull requests) runs, or runs tests of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_by_ci: Option<Vec<Role>>,
    /// Narrows `runs_in_order` to pipeline definitions.
    #[serde(default, skip_serializing_if = "is_any")]
    pub within: Within,
}

fn is_any(within: &Within) -> bool {
    *within == Within::Any
}

impl RoleRule {
    /// Checks that exactly one kind is set with at least one role.
    pub fn validate(&self) -> Result<(), String> {
        let kinds = [&self.tests_import, &self.runs_in_order, &self.checked_by_ci];
        let set = kinds.iter().filter(|k| k.is_some()).count();
        if set != 1 {
            return Err(format!(
                "a role rule has exactly one of tests_import, runs_in_order, checked_by_ci (it has {set})"
            ));
        }
        if kinds.iter().any(|k| k.as_ref().is_some_and(Vec::is_empty)) {
            return Err("a role rule names at least one role".into());
        }
        if self.within == Within::Pipeline && self.runs_in_order.is_none() {
            return Err("`within: pipeline` only narrows `runs_in_order`".into());
        }
        Ok(())
    }

    /// The rule in plain words, for `explain`.
    pub fn describe(&self) -> String {
        let either = |roles: &[Role]| {
            roles
                .iter()
                .map(|r| r.words())
                .collect::<Vec<_>>()
                .join(", or ")
        };
        if let Some(roles) = &self.tests_import {
            format!(
                "a test module with at least one test that can fail, importing {}",
                either(roles)
            )
        } else if let Some(roles) = &self.runs_in_order {
            let steps = roles
                .iter()
                .map(|r| r.words())
                .collect::<Vec<_>>()
                .join(", then ");
            match self.within {
                Within::Any => format!("{steps}, in that order, run by one CI job or by CI jobs that wait for each other (`needs:`, stages), or written in that order in one script or pipeline"),
                Within::Pipeline => format!("{steps}, in that order, in one ML pipeline definition (Kubeflow, TFX, SageMaker, Azure ML, Airflow, …), which every model it trains goes through"),
            }
        } else if let Some(roles) = &self.checked_by_ci {
            format!(
                "{} that a CI job started by pushes or pull requests runs or tests",
                either(roles)
            )
        } else {
            String::new()
        }
    }
}

/// The roles of every non-test Python file, and what imports what.
#[derive(Debug, Default)]
pub struct CodeRoles {
    /// Role hits per file, by line; in path order, which every rule walks
    /// them in (sorting 20,000 paths per rule was most of role evidence).
    files: std::collections::BTreeMap<String, Vec<RoleHit>>,
    /// For each test file, the repository files it imports and the line.
    test_imports: Vec<(String, Vec<(String, usize)>)>,
    /// For each non-test file, the repository files it imports.
    imports: HashMap<String, Vec<String>>,
}

/// One Python file as read: its roles, and the repository files it imports.
/// Paths are borrowed from the index: most files have no roles and import
/// nothing, and are dropped without their path ever being copied.
enum ReadFile<'a> {
    /// A test: the files it imports, each with its import's line.
    Test {
        path: &'a str,
        imports: Vec<(String, usize)>,
    },
    /// Other code: its roles, and the files it imports.
    Code {
        path: &'a str,
        hits: Vec<RoleHit>,
        imports: Vec<String>,
    },
}

/// A file's top-level definitions: where each starts and which of the file's
/// other definitions its body names.
#[derive(Debug, Default)]
struct Layout {
    /// `(line, Some(name))` where a `def` or `class` starts, `(line, None)`
    /// where other top-level code starts, in line order.
    starts: Vec<(usize, Option<String>)>,
    /// For each definition, the file's definitions its body names.
    names: HashMap<String, HashSet<String>>,
}

impl Layout {
    fn of(lines: &[LogicalLine]) -> Layout {
        let mut starts: Vec<(usize, Option<String>)> = Vec::new();
        for line in lines.iter().filter(|l| l.indent == 0) {
            let name = DEFINITION.captures(line.code()).map(|c| c[1].to_string());
            if name.is_some() || starts.last().is_none_or(|(_, last)| last.is_some()) {
                starts.push((line.line, name));
            }
        }
        let mut layout = Layout {
            starts,
            names: HashMap::default(),
        };
        let defined: HashSet<&str> = layout
            .starts
            .iter()
            .filter_map(|(_, n)| n.as_deref())
            .collect();
        let mut names: HashMap<String, HashSet<String>> = HashMap::default();
        for line in lines.iter().filter(|l| l.indent > 0) {
            let Some(def) = layout.definition_at(line.line) else {
                continue;
            };
            for word in IDENT.find_iter(line.code()) {
                if word != def && defined.contains(word) {
                    names
                        .entry(def.to_string())
                        .or_default()
                        .insert(word.to_string());
                }
            }
        }
        layout.names = names;
        layout
    }

    /// The definition around line `line`; `None` for top-level code.
    fn definition_at(&self, line: usize) -> Option<&str> {
        let at = self.starts.partition_point(|(start, _)| *start <= line);
        self.starts.get(at.checked_sub(1)?)?.1.as_deref()
    }

    /// Whether calling `name` may run `target`: `name` is `target` or its
    /// body names a definition that may.
    fn reaches(&self, name: &str, targets: &HashSet<&str>) -> bool {
        let mut seen: HashSet<&str> = HashSet::default();
        let mut stack = vec![name];
        while let Some(next) = stack.pop() {
            if targets.contains(next) {
                return true;
            }
            if !seen.insert(next) {
                continue;
            }
            if let Some(called) = self.names.get(next) {
                stack.extend(called.iter().map(String::as_str));
            }
        }
        false
    }
}

/// A top-level definition and its name.
static DEFINITION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")
        .expect("valid regex")
});

/// The names a file's code uses, import statements left out.
fn used_names(lines: &[LogicalLine]) -> HashSet<String> {
    lines
        .iter()
        .filter(|l| !l.is_import())
        .flat_map(|l| IDENT.find_iter(l.code()).map(str::to_string))
        .collect()
}

impl CodeRoles {
    /// Classifies the repository's Python files.
    pub fn build(index: &RepoIndex) -> CodeRoles {
        if !index.with_extension("py").is_empty() {
            classify::prepare();
        }
        let resolver = imports::Resolver::new(index);
        let read: Vec<ReadFile> = index
            .with_extension("py")
            .par_iter()
            // Small pieces: the last ones then spread over the cores.
            .with_max_len(512)
            .map(|&at| index.entry_at(at))
            .filter_map(|entry| {
                let text = index.source(entry)?;
                let path = entry.path.as_str();
                let lines = logical_lines(text);
                let found = resolver.imports(path, &lines);
                // Made ready here, on every core: the loop below, on one,
                // only moves them into place.
                Some(if is_test_path(path) {
                    ReadFile::Test {
                        path,
                        imports: found,
                    }
                } else {
                    ReadFile::Code {
                        path,
                        hits: classify::classify(path, text, &lines),
                        imports: found.into_iter().map(|(f, _)| f).collect(),
                    }
                })
            })
            .collect();
        let mut roles = CodeRoles::default();
        // In path order already (the index's): built in bulk, the map costs
        // one pass instead of a search of the tree per file.
        let mut files: Vec<(String, Vec<RoleHit>)> = Vec::new();
        for file in read {
            match file {
                ReadFile::Test { path, imports } => {
                    if !imports.is_empty() {
                        roles.test_imports.push((path.to_string(), imports));
                    }
                }
                ReadFile::Code {
                    path,
                    hits,
                    imports,
                } => {
                    // Most files import no repository file; an absent entry
                    // reads as none, and 60,000 empty entries were 5 MB.
                    if !imports.is_empty() {
                        roles.imports.insert(path.to_string(), imports);
                    }
                    if !hits.is_empty() {
                        files.push((path.to_string(), hits));
                    }
                }
            }
        }
        roles.files = files.into_iter().collect();
        roles.test_imports.sort();
        roles
    }

    /// The role hits of a file (empty when it has none or is a test).
    pub fn of(&self, path: &str) -> &[RoleHit] {
        self.files.get(path).map_or(&[], Vec::as_slice)
    }

    /// Whether a test exercises `role` in `file` (whose `layout` is given):
    /// the test uses a function or class of `file` that shows the role or
    /// calls one that does (within the file), or the role is shown by
    /// top-level code that importing `file` runs. A test that imports a
    /// training module for a helper and never calls the training is not a
    /// test of training. `used` gives the names the test's code uses outside
    /// imports; they are read from its source only when needed (keeping them
    /// for every test file was 20 MB on a 100,000-file repository).
    fn exercises<'u>(
        &self,
        used: &dyn Fn() -> &'u HashSet<String>,
        layout: &Layout,
        file: &str,
        role: Role,
    ) -> bool {
        let mut targets: HashSet<&str> = HashSet::default();
        for hit in self.of(file).iter().filter(|h| h.role == role) {
            match layout.definition_at(hit.line) {
                None => return true,
                Some(name) => {
                    targets.insert(name);
                }
            }
        }
        if targets.is_empty() {
            return false;
        }
        let uses = used();
        !uses.is_empty()
            && layout
                .starts
                .iter()
                .filter_map(|(_, name)| name.as_deref())
                .filter(|name| uses.contains(*name))
                .any(|name| layout.reaches(name, &targets))
    }

    /// The repository files `file` imports, transitively up to `hops` deep.
    fn imported_by(&self, file: &str, hops: usize) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut frontier = vec![file.to_string()];
        for _ in 0..hops {
            let mut next = Vec::new();
            for f in &frontier {
                for imported in self.imports.get(f).into_iter().flatten() {
                    if imported != file && !seen.contains(imported) {
                        seen.push(imported.clone());
                        next.push(imported.clone());
                    }
                }
            }
            frontier = next;
        }
        seen
    }

    /// Files with roles and their hits, in path order (walked by each
    /// ordered and CI rule: no lookup of each path's hits again).
    fn entries(&self) -> impl Iterator<Item = (&String, &[RoleHit])> {
        self.files
            .iter()
            .map(|(path, hits)| (path, hits.as_slice()))
    }
}

/// What role rules are judged against: the code's roles, its hollow tests,
/// one CI model and the index, with what ordered rules share about that
/// model's jobs.
pub struct Judge<'a> {
    roles: &'a CodeRoles,
    hollow: &'a HollowIndex,
    ci: &'a CiModel,
    index: &'a RepoIndex,
    jobs: order::JobEvents,
}

impl<'a> Judge<'a> {
    pub fn new(
        roles: &'a CodeRoles,
        hollow: &'a HollowIndex,
        ci: &'a CiModel,
        index: &'a RepoIndex,
    ) -> Judge<'a> {
        Judge {
            roles,
            hollow,
            ci,
            index,
            jobs: order::JobEvents::default(),
        }
    }

    /// The evidence one role rule finds, labelled `what`.
    /// `automation`: the rule's, and why its evidence stays manual when it
    /// is `never`.
    pub fn evidence(
        &self,
        rule: &RoleRule,
        what: &str,
        automation: (Automated, Option<&str>),
    ) -> Vec<Evidence> {
        let (automated, manual_because) = automation;
        let Judge {
            roles,
            hollow,
            ci,
            index,
            ref jobs,
        } = *self;
        let mut found = if let Some(wanted) = &rule.tests_import {
            tests_import(wanted, what, roles, hollow, ci, index)
        } else if let Some(sequence) = &rule.runs_in_order {
            order::runs_in_order(sequence, rule.within, what, roles, ci, index, jobs)
        } else if let Some(wanted) = &rule.checked_by_ci {
            checked_by_ci(wanted, what, roles, ci)
        } else {
            Vec::new()
        };
        match automated {
            Automated::Never => found.iter_mut().for_each(|e| e.automated = false),
            Automated::Always => found.iter_mut().for_each(|e| e.automated = true),
            Automated::Scheduled => found
                .iter_mut()
                .for_each(|e| e.automated &= e.ci.as_ref().is_some_and(|c| c.scheduled)),
            Automated::Ci => {}
        }
        let because = match automated {
            Automated::Ci if rule.checked_by_ci.is_some() => Some(NEEDS_CHANGE),
            _ => automated.why_manual(manual_because),
        };
        for evidence in &mut found {
            evidence.explain_manual(because);
            evidence.automated_when = automated;
        }
        found
    }
}

/// Whether CI reaches `path` through an automatic job, and how.
fn automatic_reach(ci: &CiModel, path: &str) -> (bool, Option<Box<CiLink>>) {
    let reach: Option<Reach> = ci.reach(path);
    let automatic = reach
        .as_ref()
        .and_then(|r| ci.jobs.get(r.job))
        .is_some_and(|j| j.automatic);
    (automatic, reach.and_then(|r| CiLink::new(ci, &r)))
}

fn tests_import(
    wanted: &[Role],
    what: &str,
    roles: &CodeRoles,
    hollow: &HollowIndex,
    ci: &CiModel,
    index: &RepoIndex,
) -> Vec<Evidence> {
    let what: Arc<str> = what.into();
    // Layouts of the files with a wanted role that some test imports: the
    // only ones `exercises` reads, made once here rather than for every file.
    let mut layouts: HashMap<&str, Layout> = HashMap::default();
    for (_, imported) in &roles.test_imports {
        for (file, _) in imported {
            let shows_role = roles.of(file).iter().any(|h| wanted.contains(&h.role));
            if shows_role && !layouts.contains_key(file.as_str()) {
                let layout = index
                    .source_of(file)
                    .map(|text| Layout::of(&logical_lines(text)))
                    .unwrap_or_default();
                layouts.insert(file.as_str(), layout);
            }
        }
    }
    let no_layout = Layout::default();
    let mut out = Vec::new();
    for (test, imported) in &roles.test_imports {
        if !hollow.has_real_tests(test) {
            continue;
        }
        let uses: std::cell::OnceCell<HashSet<String>> = std::cell::OnceCell::new();
        let used = || {
            uses.get_or_init(|| {
                index
                    .source_of(test)
                    .map(|text| used_names(&logical_lines(text)))
                    .unwrap_or_default()
            })
        };
        let Some((file, line, role)) = imported.iter().find_map(|(file, line)| {
            let layout = layouts.get(file.as_str()).unwrap_or(&no_layout);
            wanted
                .iter()
                .find(|r| roles.exercises(&used, layout, file, **r))
                .map(|r| (file, *line, *r))
        }) else {
            continue;
        };
        let (automated, link) = automatic_reach(ci, test);
        out.push(Evidence {
            what: what.clone(),
            path: test.clone(),
            line: Some(line),
            excerpt: Some(format!("imports {file} ({})", role.id())),
            automated,
            ci: link,
            automated_when: Automated::Ci,
        });
    }
    out
}

/// Why code a job runs is not checked on each change by it.
const NEEDS_CHANGE: &str =
    "a check on each change counts, and no push or pull request starts this job";

fn checked_by_ci(wanted: &[Role], what: &str, roles: &CodeRoles, ci: &CiModel) -> Vec<Evidence> {
    let what: Arc<str> = what.into();
    let mut out = Vec::new();
    for (path, hits) in roles.entries() {
        let Some(hit) = hits.iter().find(|h| wanted.contains(&h.role)) else {
            continue;
        };
        let reach = ci.reach(path);
        // Review is about changes: a job only a schedule starts reviews
        // nothing; one that a push starts too does.
        let on_change = reach
            .as_ref()
            .and_then(|r| ci.jobs.get(r.job))
            .is_some_and(|j| j.on_change);
        out.push(Evidence {
            what: what.clone(),
            path: path.clone(),
            line: Some(hit.line),
            excerpt: Some(format!("{} — {}", hit.role.id(), hit.excerpt)),
            automated: on_change,
            ci: reach.and_then(|r| CiLink::new(ci, &r)),
            automated_when: Automated::Ci,
        });
    }
    out
}
