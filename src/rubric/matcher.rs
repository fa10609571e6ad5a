//! Runs every evidence rule over the repository index in one parallel pass (each
//! file read once, on every core) and decides, with the CI model, which hits are
//! automated.

use foldhash::HashSet;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::catalogue::{Automated, CheckDef, RuleDef, ToolDef};
use super::content::{ContentSet, Wanted};
use super::globs::{GlobRoom, PathMatcher};
use super::{manifest, python};
use crate::ci::{CiModel, CiSystem, Reach};
use crate::repo::RepoIndex;

/// Lines reported per rule and file; more would only repeat the point.
const HITS_PER_FILE: usize = 3;

/// A piece of evidence: what was found, where, and whether CI runs it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// The rule's label, shared by all the evidence the rule finds (a rule
    /// can find tens of thousands of lines on a monorepo).
    #[serde(serialize_with = "serialize_shared")]
    pub what: Arc<str>,
    /// Repository-relative path.
    pub path: String,
    /// 1-based line, when the rule matched a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The matching line, trimmed and shortened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// Whether this evidence earns the full point.
    pub automated: bool,
    /// The CI job and command that run it, when one does.
    /// Boxed: most evidence has none, and the link is four strings wide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<Box<CiLink>>,
    /// When its rule counts it as automated: what the next steps may ask a
    /// user to change (running it from CI helps only a `ci` rule).
    #[serde(skip)]
    pub automated_when: Automated,
}

fn serialize_shared<S: serde::Serializer>(text: &Arc<str>, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(text)
}

/// The CI job and command behind automated evidence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CiLink {
    pub system: CiSystem,
    /// Job name, e.g. `ci.yml › test`.
    pub job: String,
    /// File and line defining the job.
    pub job_file: String,
    pub job_line: usize,
    /// The command that runs or names the evidence.
    pub command: String,
    pub command_file: String,
    pub command_line: usize,
    /// Whether the job runs on a schedule.
    pub scheduled: bool,
    /// Whether the job runs without a person starting it (a push, a pull
    /// request, a schedule).
    pub automatic: bool,
    /// Why evidence this automatic job runs still counts as manual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_because: Option<String>,
}

impl CiLink {
    /// The link for a command of the CI model.
    pub fn new(ci: &CiModel, reach: &Reach) -> Option<Box<CiLink>> {
        let job = ci.jobs.get(reach.job)?;
        let command = ci.commands.get(reach.command)?;
        Some(Box::new(CiLink {
            system: job.system,
            job: job.name.clone(),
            job_file: job.file.clone(),
            job_line: job.line,
            command: command.text.clone(),
            command_file: command.file.clone(),
            command_line: command.line,
            scheduled: job.is_scheduled(),
            automatic: job.automatic,
            manual_because: None,
        }))
    }
}

impl Evidence {
    /// How the evidence's CI job relates to it, for the reports' "… by
    /// System › job" line. Evidence a CI job runs may still count as manual:
    /// a rule can ask for a scheduled job, or count what CI produces as
    /// something a person acts on (a metrics diff posted to a pull request).
    pub fn ci_relation(&self) -> Option<(&'static str, &CiLink)> {
        let ci = self.ci.as_deref()?;
        let how = if self.automated {
            "run by"
        } else if ci.automatic {
            "counted as manual, though run by"
        } else {
            "reached only by a manual job"
        };
        Some((how, ci))
    }

    /// Notes why this evidence is manual though an automatic job runs it;
    /// nothing when it is automated or its job is manual (which says why).
    pub fn explain_manual(&mut self, because: Option<&str>) {
        if self.automated {
            return;
        }
        if let (Some(ci), Some(because)) = (self.ci.as_deref_mut(), because) {
            if ci.automatic {
                ci.manual_because = Some(because.to_string());
            }
        }
    }
}

/// A rule flattened from a check (tools expanded), ready to match.
struct FlatRule {
    check: usize,
    what: Arc<str>,
    automated: Automated,
    /// Why its evidence stays manual when an automatic job runs it.
    manual_because: Option<Arc<str>>,
    kind: FlatKind,
}

/// Patterns are indices into the scan's [`ContentSet`].
enum FlatKind {
    Files { contains: Option<usize> },
    Import(Vec<String>),
    Dependency(Vec<String>),
    CiRuns(usize),
}

/// Where a hit is: an indexed file, by its place in [`RepoIndex::files`], or
/// a path the index may not hold (a manifest or CI file found by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place {
    File(u32),
    Path(Box<str>),
}

impl Place {
    fn path<'a>(&'a self, index: &'a RepoIndex) -> &'a str {
        match self {
            Place::File(i) => &index.files()[*i as usize].path,
            Place::Path(path) => path,
        }
    }
}

/// A hit before the automation decision.
struct Hit {
    rule: u32,
    place: Place,
    line: Option<usize>,
    excerpt: Option<Box<str>>,
    /// For a hit that is a CI command: that command and its job.
    command: Option<Reach>,
}

/// One piece of keyword evidence, decided but kept compact: a rule can hit
/// every file of a monorepo, and reports show 25 pieces per test, so the
/// path, the label and the CI link are looked up only for the pieces shown
/// ([`Keyword::evidence`]).
pub struct Cite {
    rule: u32,
    place: Place,
    /// 1-based line, when the rule matched a line.
    pub line: Option<usize>,
    excerpt: Option<Box<str>>,
    /// Whether this evidence earns the full point.
    pub automated: bool,
    reach: Option<Reach>,
}

/// Every check's keyword evidence, as [`Cite`]s.
pub struct Keyword {
    rules: Vec<FlatRule>,
    /// `cites[i]` belongs to `checks[i]`, one per line and check, in no
    /// particular order: the report order is made once, with the role
    /// evidence (`rubric::assemble`).
    pub cites: Vec<Vec<Cite>>,
}

impl Keyword {
    /// The repository-relative path of a cite.
    pub fn path<'a>(&'a self, cite: &'a Cite, index: &'a RepoIndex) -> &'a str {
        cite.place.path(index)
    }

    /// The label of the rule that found a cite.
    pub fn what(&self, cite: &Cite) -> &Arc<str> {
        &self.rules[cite.rule as usize].what
    }

    /// A cite as reports show it.
    pub fn evidence(&self, cite: &Cite, index: &RepoIndex, ci: &CiModel) -> Evidence {
        let rule = &self.rules[cite.rule as usize];
        let mut evidence = Evidence {
            what: self.what(cite).clone(),
            path: self.path(cite, index).to_string(),
            line: cite.line,
            excerpt: cite.excerpt.as_deref().map(str::to_string),
            automated: cite.automated,
            ci: cite.reach.as_ref().and_then(|r| CiLink::new(ci, r)),
            automated_when: rule.automated,
        };
        evidence.explain_manual(rule.automated.why_manual(rule.manual_because.as_deref()));
        evidence
    }
}

/// The hits of every rule that looks at files, names and manifests, found
/// without the CI model: this pass reads every file and can run while the CI
/// model is built; [`FileHits::decide`] adds what needs it.
pub struct FileHits {
    rules: Vec<FlatRule>,
    content: ContentSet,
    hits: Vec<Hit>,
    checks: usize,
}

/// Matches every rule of `checks` against the index, in one parallel pass
/// (each file read once); [`FileHits::decide`] then makes `checks[i]`'s
/// hits into `Keyword::cites[i]`.
pub fn match_files(
    checks: &[&CheckDef],
    tools: &std::collections::BTreeMap<String, ToolDef>,
    index: &RepoIndex,
) -> FileHits {
    let mut flat = Flattened::default();
    for (check, def) in checks.iter().enumerate() {
        for rule in &def.evidence {
            match &rule.tool {
                Some(name) => {
                    let Some(tool) = tools.get(name) else {
                        continue;
                    };
                    for sub in &tool.evidence {
                        let what = format!("{} ({})", rule.what, sub.what);
                        let automated = rule.automated.unwrap_or(sub.automation());
                        let because = rule.manual_because.as_deref();
                        let because = because.or(sub.manual_because.as_deref());
                        flat.add(check, what, (automated, because), sub);
                    }
                }
                None => {
                    let because = rule.manual_because.as_deref();
                    flat.add(check, rule.what.clone(), (rule.automation(), because), rule)
                }
            }
        }
    }
    let Flattened {
        rules,
        globs,
        glob_rule,
        patterns,
    } = flat;
    let glob_set = PathMatcher::new(&globs);
    let content = ContentSet::new(patterns.iter().map(String::as_str));
    // The import rules by the module they name: an import matches a rule
    // that names it or a package it is in (`ray.tune` matches `ray`).
    let mut import_rules: foldhash::HashMap<&str, Vec<usize>> = Default::default();
    for (rule, def) in rules.iter().enumerate() {
        if let FlatKind::Import(modules) = &def.kind {
            for module in modules {
                let named_by = import_rules.entry(module.as_str()).or_default();
                if named_by.last() != Some(&rule) {
                    named_by.push(rule);
                }
            }
        }
    }

    let import_words = first_components(import_rules.keys().copied());

    let mut hits: Vec<Hit> = index
        .files()
        .par_iter()
        .enumerate()
        // Pieces small enough that a core freed by other work finds some
        // left to take, large enough that each piece's plans serve many files.
        .with_max_len(PIECE)
        .map_init(Scratch::default, |scratch, (at, entry)| {
            let place = || Place::File(at as u32);
            let mut found = Vec::new();
            let Scratch {
                key,
                plans,
                spare,
                possible,
                globs,
                room,
                pairs,
            } = scratch;
            glob_set.key_into(&entry.path, entry.name(), key, globs);
            let plan = match plans.get(key.as_slice()) {
                Some(plan) => plan,
                None if plans.len() < MAX_PLANS => {
                    let plan = Plan::new(glob_set.places(key), &glob_rule, &rules, &content);
                    plans.entry(key.as_slice().into()).or_insert(plan)
                }
                None => {
                    *spare = Plan::new(glob_set.places(key), &glob_rule, &rules, &content);
                    &*spare
                }
            };
            found.extend(plan.present.iter().map(|&rule| Hit {
                rule,
                place: place(),
                line: None,
                excerpt: None,
                command: None,
            }));
            let Plan {
                wanted,
                content: prepared,
                ..
            } = plan;
            let is_python = matches!(entry.extension(), Some("py" | "ipynb"));
            let wants_imports = is_python && !import_rules.is_empty();
            if wanted.is_empty() && !wants_imports {
                return found;
            }
            // The one read of this file; a notebook arrives as its cell sources.
            let Some(view) = index.scan_view(entry) else {
                return found;
            };
            let text = view.text();
            content.candidates_into(prepared, text, possible, room);
            // Most files can match none of the tens of rules their path asks for.
            let can_match = if possible.is_empty() {
                &[][..]
            } else {
                &wanted[..]
            };
            for &(rule, pattern) in can_match {
                if !possible.contains(&pattern) {
                    continue;
                }
                for (line, excerpt) in content.rule(pattern).matching_lines(text, HITS_PER_FILE) {
                    found.push(Hit {
                        rule: rule as u32,
                        place: place(),
                        line: Some(view.file_line(line)),
                        excerpt: Some(excerpt.into()),
                        command: None,
                    });
                }
            }
            if wants_imports
                && import_words
                    .as_ref()
                    .is_none_or(|w| python::import_lines_hold(text, w))
            {
                // Imports in a notebook's Markdown cells are prose, not code.
                let imports: Vec<python::Import> = python::imports(text)
                    .into_iter()
                    .filter(|i| view.is_code(i.line - 1))
                    .collect();
                // (rule, import) for each import a rule names, looked up by
                // the import's dotted prefixes; in rule order, then import
                // order, the first few per rule.
                pairs.clear();
                for (at, import) in imports.iter().enumerate() {
                    for prefix in python::dotted_prefixes(&import.module) {
                        if let Some(named_by) = import_rules.get(prefix) {
                            pairs.extend(named_by.iter().map(|&rule| (rule, at)));
                        }
                    }
                }
                pairs.sort_unstable();
                pairs.dedup();
                let mut taken = (usize::MAX, 0);
                for &(rule, at) in pairs.iter() {
                    if rule != taken.0 {
                        taken = (rule, 0);
                    }
                    if taken.1 < HITS_PER_FILE {
                        let import = &imports[at];
                        found.push(Hit {
                            rule: rule as u32,
                            place: place(),
                            line: Some(view.file_line(import.line - 1)),
                            excerpt: Some(format!("import {}", import.module).into()),
                            command: None,
                        });
                        taken.1 += 1;
                    }
                }
            }
            found
        })
        .flat_map_iter(|found| found)
        .collect();

    let declared = manifest::declared(index);
    for (rule, def) in rules.iter().enumerate() {
        if let FlatKind::Dependency(packages) = &def.kind {
            for dep in declared.iter().filter(|d| packages.contains(&d.name)) {
                hits.push(Hit {
                    rule: rule as u32,
                    place: place_of(index, &dep.path),
                    line: Some(dep.line),
                    excerpt: Some(dep.name.as_str().into()),
                    command: None,
                });
            }
        }
    }
    FileHits {
        rules,
        content,
        hits,
        checks: checks.len(),
    }
}

impl FileHits {
    /// Adds the hits among CI commands and decides which hits CI automates.
    pub fn decide(self, index: &RepoIndex, ci: &CiModel) -> Keyword {
        let FileHits {
            rules,
            content,
            mut hits,
            checks,
        } = self;
        for (rule, def) in rules.iter().enumerate() {
            let FlatKind::CiRuns(pattern) = &def.kind else {
                continue;
            };
            if ci.commands.is_empty() {
                continue;
            }
            let Some(re) = content.rule(*pattern).regex() else {
                continue;
            };
            for (at, command) in ci
                .commands
                .iter()
                .enumerate()
                .filter(|(_, c)| re.is_match(c.text.as_bytes()))
            {
                hits.push(Hit {
                    rule: rule as u32,
                    place: place_of(index, &command.file),
                    line: Some(command.line),
                    excerpt: Some(shorten(&command.text).into()),
                    // The hit is a CI command itself: its own job runs it.
                    command: Some(Reach {
                        job: command.job,
                        command: at,
                    }),
                });
            }
        }

        // Two rules of one check may find the same line; keep the first.
        // Places compare as paths do: an indexed path is always its entry's
        // place (`place_of`), and entries' paths are distinct.
        let firsts: Vec<bool> = {
            let mut seen: HashSet<(usize, &Place, Option<usize>)> =
                HashSet::with_capacity_and_hasher(hits.len(), Default::default());
            hits.iter()
                .map(|hit| {
                    let check = rules[hit.rule as usize].check;
                    seen.insert((check, &hit.place, hit.line))
                })
                .collect()
        };
        // Each decision is a few lookups in the CI tables; a monorepo has
        // a hundred thousand hits to decide.
        let decided: Vec<Option<(bool, Option<Reach>)>> = hits
            .par_iter()
            .zip(firsts.par_iter())
            .map(|(hit, &first)| {
                let rule = &rules[hit.rule as usize];
                first.then(|| decide(rule, hit.place.path(index), hit.command.clone(), ci))
            })
            .collect();
        let mut cites: Vec<Vec<Cite>> = (0..checks).map(|_| Vec::new()).collect();
        for (hit, decided) in hits.into_iter().zip(decided) {
            let Some((automated, reach)) = decided else {
                continue;
            };
            let rule = &rules[hit.rule as usize];
            cites[rule.check].push(Cite {
                rule: hit.rule,
                place: hit.place,
                line: hit.line,
                excerpt: hit.excerpt,
                automated,
                reach,
            });
        }
        Keyword { rules, cites }
    }
}

/// The first dotted component of each of `modules`, as one searcher: an
/// import matches a rule only when its module is one the rule names or lies
/// inside one (`ray.tune` for `ray`), so it holds that module's first
/// component, and a file whose import lines hold none of them has no import
/// worth reading (most files of a large tree). `None` when there are none,
/// or past what a searcher can hold: every file is then read.
fn first_components<'a>(
    modules: impl Iterator<Item = &'a str>,
) -> Option<aho_corasick::AhoCorasick> {
    let mut words: Vec<&str> = modules
        .map(|module| module.split('.').next().unwrap_or(module))
        .collect();
    if words.is_empty() {
        return None;
    }
    words.sort_unstable();
    words.dedup();
    python::try_line_searcher(&words)
}

/// The place of a path found by name: its index entry when it has one.
fn place_of(index: &RepoIndex, path: &str) -> Place {
    match index.position(path) {
        Some(i) => Place::File(i as u32),
        None => Place::Path(path.into()),
    }
}

/// The rules of all checks, flattened, with their globs and patterns.
#[derive(Default)]
struct Flattened {
    rules: Vec<FlatRule>,
    globs: Vec<String>,
    /// For each glob, the rule it belongs to.
    glob_rule: Vec<usize>,
    /// Every `contains` and `ci_runs` pattern; compiled when first needed.
    patterns: Vec<String>,
}

impl Flattened {
    fn add(
        &mut self,
        check: usize,
        what: String,
        (automated, manual_because): (Automated, Option<&str>),
        rule: &RuleDef,
    ) {
        let mut pattern = |p: &str| {
            self.patterns.push(p.to_string());
            self.patterns.len() - 1
        };
        let kind = if let Some(files) = &rule.files {
            let contains = rule.contains.as_deref().map(&mut pattern);
            for glob in files {
                self.globs.push(glob.clone());
                self.glob_rule.push(self.rules.len());
            }
            FlatKind::Files { contains }
        } else if let Some(modules) = &rule.import {
            FlatKind::Import(modules.clone())
        } else if let Some(packages) = &rule.dependency {
            FlatKind::Dependency(packages.iter().map(|p| manifest::normalize(p)).collect())
        } else if let Some(re) = rule.ci_runs.as_deref() {
            FlatKind::CiRuns(pattern(re))
        } else {
            return;
        };
        self.rules.push(FlatRule {
            check,
            what: what.into(),
            automated,
            manual_because: manual_because.map(Arc::from),
            kind,
        });
    }
}

/// Room one piece of the scan (at most [`PIECE`] files, on one thread)
/// reuses from file to file.
#[derive(Default)]
struct Scratch {
    /// The globs the file's path matches.
    key: Vec<usize>,
    /// What each set of globs asks for, by key.
    plans: foldhash::HashMap<Box<[usize]>, Plan>,
    /// The plan of a key met after [`MAX_PLANS`] others.
    spare: Plan,
    possible: Vec<usize>,
    globs: GlobRoom,
    room: super::content::CandidateRoom,
    /// (import rule, import) pairs of the file.
    pairs: Vec<(usize, usize)>,
}

/// Files per piece of the parallel pass at most.
const PIECE: usize = 1024;
/// Sets of globs a piece keeps plans for; a tree of deliberately varied
/// names makes the others be worked out file by file. Unit tests keep two,
/// so that their small trees take both ways (the binary's tests the first).
#[cfg(not(test))]
const MAX_PLANS: usize = 4096;
#[cfg(test)]
const MAX_PLANS: usize = 2;

/// What the rules ask of a file whose path matches one set of globs. Files
/// share sets (every plain `.py` file matches the same dozen globs, which
/// serve some fifty rules), so a plan is worked out once per set and piece
/// rather than once per file.
#[derive(Default)]
struct Plan {
    /// Rules the path alone satisfies.
    present: Vec<u32>,
    /// (flat rule, content rule) for the content rules the path asks for.
    wanted: Vec<(usize, usize)>,
    /// The content rules of `wanted`, as the literal prefilter takes them.
    content: Wanted,
}

impl Plan {
    fn new(
        places: impl Iterator<Item = usize>,
        glob_rule: &[usize],
        rules: &[FlatRule],
        content: &ContentSet,
    ) -> Plan {
        let mut matched: Vec<usize> = places.map(|place| glob_rule[place]).collect();
        matched.sort_unstable();
        matched.dedup();
        let mut plan = Plan::default();
        for rule in matched {
            match rules[rule].kind {
                FlatKind::Files { contains: None } => plan.present.push(rule as u32),
                FlatKind::Files {
                    contains: Some(pattern),
                } => plan.wanted.push((rule, pattern)),
                _ => {}
            }
        }
        plan.content = content.wanted(plan.wanted.iter().map(|&(_, p)| p));
        plan
    }
}

/// Shortens a line for display, on a character boundary.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    let text = text.trim();
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

/// Whether a hit of `rule` at `path` is automated, and the CI job and
/// command that reach it (`command` when the hit is a CI command).
fn decide(
    rule: &FlatRule,
    path: &str,
    command: Option<Reach>,
    ci: &CiModel,
) -> (bool, Option<Reach>) {
    let automatic = |reach: &Reach| ci.jobs.get(reach.job).is_some_and(|j| j.automatic);
    let scheduled = |reach: &Reach| {
        ci.jobs
            .get(reach.job)
            .is_some_and(|j| j.automatic && j.is_scheduled())
    };
    let reach = match rule.kind {
        FlatKind::CiRuns(_) => command,
        _ => match rule.automated {
            Automated::Always | Automated::Never => None,
            Automated::Ci => ci.reach(path),
            Automated::Scheduled => ci.scheduled_reach(path).or_else(|| ci.reach(path)),
        },
    };
    let automated = match rule.automated {
        Automated::Never => false,
        Automated::Always => match (&rule.kind, &reach) {
            (FlatKind::CiRuns(_), Some(r)) => automatic(r),
            _ => true,
        },
        Automated::Ci => reach.as_ref().is_some_and(automatic),
        Automated::Scheduled => reach.as_ref().is_some_and(scheduled),
    };
    (automated, reach)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file is read for imports when a line of it holding `import` holds
    /// the first component of a module a rule names, in every form an import
    /// of it takes (dotted, `from … import`, aliased, in parentheses over
    /// lines); a file whose import lines hold none is not.
    #[test]
    fn import_words_are_the_first_components_of_rule_modules() {
        let words = first_components(["ray.tune", "mlflow", "great_expectations.core"].into_iter())
            .unwrap();
        for text in [
            "import ray.tune as tune\n",
            "from ray import tune\n",
            "from mlflow.tracking import (\n    MlflowClient,\n)\n",
            "import great_expectations as gx\n",
            "import numpy as np, mlflow\n",
        ] {
            assert!(python::import_lines_hold(text, &words), "{text}");
        }
        assert!(!python::import_lines_hold(
            "import numpy as np\nfrom sklearn import tree\n",
            &words
        ));
        assert!(first_components(std::iter::empty()).is_none());
    }

    #[test]
    fn shorten_cuts_long_lines_on_char_boundaries() {
        let long = "é".repeat(200);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 120);
        assert!(short.ends_with('…'));
    }
}
