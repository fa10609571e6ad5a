//! Runs every evidence rule over the repository index in one parallel pass and
//! decides, with the CI model, which hits are automated.

use std::collections::HashMap;

use globset::GlobSet;
use rayon::prelude::*;
use regex::Regex;
use serde::Serialize;

use super::catalogue::{Automated, CheckDef, RuleDef, ToolDef};
use super::{manifest, python};
use crate::ci::{CiModel, CiSystem, Reach};
use crate::repo::RepoIndex;

/// Lines reported per rule and file; more would only repeat the point.
const HITS_PER_FILE: usize = 3;

/// A piece of evidence: what was found, where, and whether CI runs it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// The rule's label.
    pub what: String,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiLink>,
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
}

impl CiLink {
    /// The link for a command of the CI model.
    pub fn new(ci: &CiModel, reach: &Reach) -> Option<CiLink> {
        let job = ci.jobs.get(reach.job)?;
        let command = ci.commands.get(reach.command)?;
        Some(CiLink {
            system: job.system,
            job: job.name.clone(),
            job_file: job.file.clone(),
            job_line: job.line,
            command: command.text.clone(),
            command_file: command.file.clone(),
            command_line: command.line,
            scheduled: job.is_scheduled(),
        })
    }
}

/// A rule flattened from a check (tools expanded), ready to match.
struct FlatRule {
    check: usize,
    what: String,
    automated: Automated,
    kind: FlatKind,
}

enum FlatKind {
    Files { contains: Option<Regex> },
    Import(Vec<String>),
    Dependency(Vec<String>),
    CiRuns(Regex),
}

/// A hit before the automation decision.
struct Hit {
    rule: usize,
    path: String,
    line: Option<usize>,
    excerpt: Option<String>,
}

/// Matches all checks' rules; `evidence[i]` belongs to `checks[i]`.
pub fn find_evidence(
    checks: &[&CheckDef],
    tools: &std::collections::BTreeMap<String, ToolDef>,
    index: &RepoIndex,
    ci: &CiModel,
) -> Vec<Vec<Evidence>> {
    let mut rules = Vec::new();
    let mut globs = Vec::new();
    let mut glob_rule = Vec::new();
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
                        flatten(
                            check,
                            what,
                            automated,
                            sub,
                            &mut rules,
                            &mut globs,
                            &mut glob_rule,
                        );
                    }
                }
                None => flatten(
                    check,
                    rule.what.clone(),
                    rule.automation(),
                    rule,
                    &mut rules,
                    &mut globs,
                    &mut glob_rule,
                ),
            }
        }
    }
    let glob_set = build_set(&globs);
    let prefilter = Prefilter::new(&rules);
    let import_rules: Vec<usize> = (0..rules.len())
        .filter(|&r| matches!(rules[r].kind, FlatKind::Import(_)))
        .collect();

    let mut hits: Vec<Hit> = index
        .files()
        .par_iter()
        .flat_map_iter(|entry| {
            let mut found = Vec::new();
            let mut matched: Vec<usize> = glob_set
                .matches(&entry.path)
                .into_iter()
                .map(|g| glob_rule[g])
                .collect();
            matched.sort_unstable();
            matched.dedup();
            // One pass over the text tells which content rules can match at all;
            // most files match none, so the per-rule searches rarely run.
            let mut possible: Option<Vec<bool>> = None;
            for rule in matched {
                let FlatKind::Files { contains } = &rules[rule].kind else {
                    continue;
                };
                match contains {
                    None => found.push(Hit {
                        rule,
                        path: entry.path.clone(),
                        line: None,
                        excerpt: None,
                    }),
                    Some(re) => {
                        let Some(text) = index.entry_text(entry) else {
                            continue;
                        };
                        let possible = possible.get_or_insert_with(|| prefilter.possible(text));
                        if !possible[rule] {
                            continue;
                        }
                        for (line, excerpt) in matching_lines(re, text).take(HITS_PER_FILE) {
                            found.push(Hit {
                                rule,
                                path: entry.path.clone(),
                                line: Some(line),
                                excerpt: Some(excerpt),
                            });
                        }
                    }
                }
            }
            let is_python = matches!(entry.extension(), Some("py" | "ipynb"));
            if is_python && !import_rules.is_empty() {
                if let Some(text) = index.entry_text(entry) {
                    let imports = python::imports(text);
                    for &rule in &import_rules {
                        let FlatKind::Import(modules) = &rules[rule].kind else {
                            continue;
                        };
                        let mut taken = 0;
                        for import in &imports {
                            if taken < HITS_PER_FILE
                                && modules.iter().any(|m| python::matches(&import.module, m))
                            {
                                found.push(Hit {
                                    rule,
                                    path: entry.path.clone(),
                                    line: Some(import.line),
                                    excerpt: Some(format!("import {}", import.module)),
                                });
                                taken += 1;
                            }
                        }
                    }
                }
            }
            found.into_iter()
        })
        .collect();

    let declared = manifest::declared(index);
    for (rule, def) in rules.iter().enumerate() {
        match &def.kind {
            FlatKind::Dependency(packages) => {
                for dep in declared.iter().filter(|d| packages.contains(&d.name)) {
                    hits.push(Hit {
                        rule,
                        path: dep.path.clone(),
                        line: Some(dep.line),
                        excerpt: Some(dep.name.clone()),
                    });
                }
            }
            FlatKind::CiRuns(re) => {
                for command in ci.commands.iter().filter(|c| re.is_match(&c.text)) {
                    hits.push(Hit {
                        rule,
                        path: command.file.clone(),
                        line: Some(command.line),
                        excerpt: Some(shorten(&command.text)),
                    });
                }
            }
            _ => {}
        }
    }

    let mut evidence: Vec<Vec<Evidence>> = vec![Vec::new(); checks.len()];
    let mut seen: HashMap<(usize, String, Option<usize>), ()> = HashMap::new();
    for hit in hits {
        let rule = &rules[hit.rule];
        // Two rules of one check may find the same line; keep the first.
        if seen
            .insert((rule.check, hit.path.clone(), hit.line), ())
            .is_some()
        {
            continue;
        }
        let (automated, link) = decide(rule, &hit, ci);
        evidence[rule.check].push(Evidence {
            what: rule.what.clone(),
            path: hit.path,
            line: hit.line,
            excerpt: hit.excerpt,
            automated,
            ci: link,
        });
    }
    for list in &mut evidence {
        list.sort_by(|a, b| {
            b.automated
                .cmp(&a.automated)
                .then_with(|| a.path.cmp(&b.path))
                .then(a.line.cmp(&b.line))
        });
    }
    evidence
}

/// All content regexes in one set, to learn in a single pass which rules may
/// match a file.
struct Prefilter {
    set: Option<regex::RegexSet>,
    /// For each set pattern, the rule it belongs to.
    rule_of: Vec<usize>,
    rules: usize,
}

impl Prefilter {
    fn new(rules: &[FlatRule]) -> Prefilter {
        let mut patterns = Vec::new();
        let mut rule_of = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if let FlatKind::Files { contains: Some(re) } = &rule.kind {
                patterns.push(re.as_str().to_string());
                rule_of.push(i);
            }
        }
        // A set too large to build only costs speed: every rule is searched.
        let set = regex::RegexSetBuilder::new(&patterns)
            .multi_line(true)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .ok();
        Prefilter {
            set,
            rule_of,
            rules: rules.len(),
        }
    }

    /// `possible[rule]` is false only when the rule's regex cannot match `text`.
    fn possible(&self, text: &str) -> Vec<bool> {
        match &self.set {
            None => vec![true; self.rules],
            Some(set) => {
                let mut possible = vec![false; self.rules];
                for pattern in set.matches(text).iter() {
                    possible[self.rule_of[pattern]] = true;
                }
                possible
            }
        }
    }
}

fn flatten(
    check: usize,
    what: String,
    automated: Automated,
    rule: &RuleDef,
    rules: &mut Vec<FlatRule>,
    globs: &mut Vec<String>,
    glob_rule: &mut Vec<usize>,
) {
    // Patterns were validated with the catalogue; an invalid one cannot reach here.
    let compile = |p: &str| regex::RegexBuilder::new(p).multi_line(true).build().ok();
    let kind = if let Some(files) = &rule.files {
        for glob in files {
            globs.push(glob.clone());
            glob_rule.push(rules.len());
        }
        FlatKind::Files {
            contains: rule.contains.as_deref().and_then(compile),
        }
    } else if let Some(modules) = &rule.import {
        FlatKind::Import(modules.clone())
    } else if let Some(packages) = &rule.dependency {
        FlatKind::Dependency(packages.iter().map(|p| manifest::normalize(p)).collect())
    } else if let Some(Some(re)) = rule.ci_runs.as_deref().map(compile) {
        FlatKind::CiRuns(re)
    } else {
        return;
    };
    rules.push(FlatRule {
        check,
        what,
        automated,
        kind,
    });
}

/// Every rule glob in one matcher. The globs become one byte-regex set, so a
/// path is matched against all of them in a single automaton pass; globset's
/// own strategies would run one regex per glob sharing the path's extension,
/// which dominated the scan of large repositories.
struct PathMatcher {
    set: Option<regex::bytes::RegexSet>,
    fallback: GlobSet,
}

impl PathMatcher {
    fn matches(&self, path: &str) -> Vec<usize> {
        match &self.set {
            Some(set) => set.matches(path.as_bytes()).into_iter().collect(),
            None => self.fallback.matches(path),
        }
    }
}

fn build_set(globs: &[String]) -> PathMatcher {
    let mut builder = globset::GlobSetBuilder::new();
    let mut patterns = Vec::with_capacity(globs.len());
    for glob in globs {
        // Globs were validated with the catalogue; a bad one here never matches.
        let compiled = crate::glob::compile(glob)
            .unwrap_or_else(|_| globset::Glob::new("\u{0}never\u{0}").expect("literal glob"));
        patterns.push(compiled.regex().to_string());
        builder.add(compiled);
    }
    let set = regex::bytes::RegexSetBuilder::new(&patterns)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .ok();
    PathMatcher {
        set,
        fallback: builder.build().unwrap_or_else(|_| GlobSet::empty()),
    }
}

/// 1-based line numbers and excerpts of the lines a regex matches.
fn matching_lines<'a>(re: &'a Regex, text: &'a str) -> impl Iterator<Item = (usize, String)> + 'a {
    let mut line = 1;
    let mut counted = 0;
    let mut last_line = 0;
    re.find_iter(text).filter_map(move |m| {
        line += text[counted..m.start()]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        counted = m.start();
        if line == last_line {
            return None;
        }
        last_line = line;
        let start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[m.start()..]
            .find('\n')
            .map_or(text.len(), |i| m.start() + i);
        Some((line, shorten(text[start..end].trim())))
    })
}

/// Shortens a line for display, on a character boundary.
fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    let text = text.trim();
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

fn decide(rule: &FlatRule, hit: &Hit, ci: &CiModel) -> (bool, Option<CiLink>) {
    let automatic = |reach: &Reach| ci.jobs.get(reach.job).is_some_and(|j| j.automatic);
    let scheduled = |reach: &Reach| {
        ci.jobs
            .get(reach.job)
            .is_some_and(|j| j.automatic && j.is_scheduled())
    };
    let reach = match rule.kind {
        // The hit is a CI command itself: its own job runs it.
        FlatKind::CiRuns(_) => ci
            .commands
            .iter()
            .position(|c| c.file == hit.path && Some(c.line) == hit.line)
            .map(|command| Reach {
                job: ci.commands[command].job,
                command,
            }),
        _ => match rule.automated {
            Automated::Always | Automated::Never => None,
            Automated::Ci => ci.reach(&hit.path),
            Automated::Scheduled => ci
                .scheduled_reach(&hit.path)
                .or_else(|| ci.reach(&hit.path)),
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
    (automated, reach.and_then(|r| CiLink::new(ci, &r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_lines_reports_each_line_once_with_numbers() {
        let re = regex::RegexBuilder::new(r"seed")
            .multi_line(true)
            .build()
            .unwrap();
        let text = "a\nnp.random.seed(1); torch.manual_seed(1)\nb\nrandom.seed(2)\n";
        let found: Vec<(usize, String)> = matching_lines(&re, text).collect();
        assert_eq!(
            found,
            vec![
                (2, "np.random.seed(1); torch.manual_seed(1)".into()),
                (4, "random.seed(2)".into())
            ]
        );
    }

    #[test]
    fn shorten_cuts_long_lines_on_char_boundaries() {
        let long = "é".repeat(200);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), 120);
        assert!(short.ends_with('…'));
    }
}
