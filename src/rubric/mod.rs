//! The rubric: the catalogue of checks, evidence matching and scoring.

pub mod catalogue;
mod content;
mod globs;
pub mod hollow;
pub mod manifest;
pub mod matcher;
pub mod maturity;
pub mod pylines;
pub mod python;
pub mod roles;
pub mod score;
pub mod waiver;

use foldhash::HashMap;
use std::collections::BTreeMap;

pub use catalogue::{Catalogue, CheckDef, Section};
pub use hollow::{HollowTest, Hollowness};
pub use matcher::{CiLink, Evidence};
pub use maturity::Maturity;
pub use score::{Band, Prose, Scorecard, SectionScore, Status, TestResult};
pub use waiver::Waiver;

use crate::ci::CiModel;
use crate::repo::RepoIndex;

/// The result of assessing a repository.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The 28 rubric tests and their score.
    pub scorecard: Scorecard,
    /// The repository's own checks, scored the same way but apart.
    pub custom: Vec<TestResult>,
    /// Tests and suites that cannot fail; their hits are not evidence.
    pub hollow: Vec<HollowTest>,
    /// The MLOps maturity level the scored tests show.
    pub maturity: Maturity,
}

/// A check's evidence as reports show it: the first pieces in report order
/// (automated first, then by path and line), at most [`score::MAX_EVIDENCE`]
/// automated and as many manual ones, and how many were found in all.
/// Only these are made into [`Evidence`]: a rule can hit every file of a
/// monorepo.
#[derive(Debug, Default)]
pub struct Found {
    pub shown: Vec<Evidence>,
    pub total: usize,
}

/// The part of finding evidence that needs no CI model: every file matched
/// against the rules, hollow tests found, code roles read. It reads the whole
/// repository, so `mlscore check` lays it while the CI model is built.
pub struct Groundwork {
    files: matcher::FileHits,
    hollow: hollow::HollowIndex,
    code: Option<roles::CodeRoles>,
}

impl Groundwork {
    /// The groundwork for every check of `catalogue`, its own checks included.
    pub fn lay(catalogue: &Catalogue, index: &RepoIndex) -> Groundwork {
        Groundwork::lay_for(&all_checks(catalogue), catalogue, index)
    }

    fn lay_for(checks: &[&CheckDef], catalogue: &Catalogue, index: &RepoIndex) -> Groundwork {
        let has_roles = checks
            .iter()
            .any(|c| c.evidence.iter().any(|r| r.role.is_some()));
        // Side by side: each pass is parallel, but its last files run on
        // one core, and the index-wide tables of the others (hollow tests,
        // the import resolver) are built on one; the other pass fills the
        // core left idle.
        let (files, (hollow, code)) = rayon::join(
            || {
                crate::timing::span("keyword evidence", || {
                    matcher::match_files(checks, &catalogue.tools, index)
                })
            },
            || {
                rayon::join(
                    || crate::timing::span("hollow tests", || hollow::HollowIndex::build(index)),
                    || {
                        has_roles.then(|| {
                            crate::timing::span("code roles", || roles::CodeRoles::build(index))
                        })
                    },
                )
            },
        );
        Groundwork {
            files,
            hollow,
            code,
        }
    }
}

fn all_checks(catalogue: &Catalogue) -> Vec<&CheckDef> {
    catalogue.checks.iter().chain(&catalogue.custom).collect()
}

/// Evidence for each of `checks` (`found[i]` belongs to `checks[i]`): the
/// matcher's hits and the role rules' findings, without anything that
/// stands only on hollow tests.
pub fn find_evidence(
    checks: &[&CheckDef],
    catalogue: &Catalogue,
    index: &RepoIndex,
    ci: &CiModel,
) -> (Vec<Found>, Vec<HollowTest>) {
    let ground = Groundwork::lay_for(checks, catalogue, index);
    evidence_on(checks, ground, index, ci)
}

/// [`find_evidence`] on groundwork laid for `checks`.
fn evidence_on(
    checks: &[&CheckDef],
    ground: Groundwork,
    index: &RepoIndex,
    ci: &CiModel,
) -> (Vec<Found>, Vec<HollowTest>) {
    let Groundwork {
        files,
        hollow,
        code,
    } = ground;
    use rayon::prelude::*;
    // Role evidence needs none of the keyword decisions: both are made side
    // by side, and merged check by check after.
    let (keyword, added) = rayon::join(
        || crate::timing::span("decide", || files.decide(index, ci)),
        || {
            crate::timing::span("role evidence", || {
                let judge = code
                    .as_ref()
                    .map(|code| roles::Judge::new(code, &hollow, ci, index));
                checks
                    .par_iter()
                    .map(|check| match &judge {
                        Some(judge) => check
                            .evidence
                            .iter()
                            .filter_map(|rule| Some((rule, rule.role.as_ref()?)))
                            .flat_map(|(rule, role)| {
                                judge.evidence(
                                    role,
                                    &rule.what,
                                    (rule.automation(), rule.manual_because.as_deref()),
                                )
                            })
                            .collect(),
                        None => Vec::new(),
                    })
                    .collect::<Vec<Vec<Evidence>>>()
            })
        },
    );
    debug_assert_eq!(
        checks.len(),
        keyword.cites.len(),
        "groundwork laid for another catalogue"
    );
    let found = keyword
        .cites
        .par_iter()
        .zip(added)
        .map(|(cites, added)| assemble(&keyword, cites, added, &hollow, index, ci))
        .collect();
    let mut hollow = hollow;
    let hollow_found = std::mem::take(&mut hollow.found);
    // Freeing the tables of a large tree, entry by entry, takes milliseconds
    // the report need not wait for.
    rayon::spawn(move || drop((keyword, code, hollow)));
    (found, hollow_found)
}

/// What the merge by line and the report order read of a piece of
/// evidence, keyword or role.
struct Cited<'a> {
    path: &'a str,
    line: Option<usize>,
    what: &'a str,
    automated: bool,
}

/// One check's keyword cites and role evidence, merged by line, without
/// what hollow tests void, in report order; only the pieces shown are made
/// into [`Evidence`].
fn assemble(
    keyword: &matcher::Keyword,
    cites: &[matcher::Cite],
    added: Vec<Evidence>,
    hollow: &hollow::HollowIndex,
    index: &RepoIndex,
    ci: &CiModel,
) -> Found {
    let found: Vec<Cited> = cites
        .iter()
        .map(|c| Cited {
            path: keyword.path(c, index),
            line: c.line,
            what: keyword.what(c),
            automated: c.automated,
        })
        .collect();
    let roles: Vec<Cited> = added
        .iter()
        .map(|e| Cited {
            path: &e.path,
            line: e.line,
            what: &e.what,
            automated: e.automated,
        })
        .collect();
    let (keep_found, keep_added) = merge_by_line(&found, &roles);
    // Keyword cites first, so that of two pieces on one line and of one
    // kind the keyword one leads; the stable sort keeps that.
    #[derive(Clone, Copy)]
    enum Item {
        Keyword(usize),
        Role(usize),
    }
    let cited = |item: Item| match item {
        Item::Keyword(i) => &found[i],
        Item::Role(j) => &roles[j],
    };
    let mut items: Vec<Item> = (0..found.len())
        .filter(|&i| keep_found[i])
        .map(Item::Keyword)
        .chain((0..roles.len()).filter(|&j| keep_added[j]).map(Item::Role))
        .filter(|&item| !hollow.voids(cited(item).path, cited(item).line))
        .collect();
    items.sort_by(|&a, &b| {
        let (a, b) = (cited(a), cited(b));
        b.automated
            .cmp(&a.automated)
            .then_with(|| a.path.cmp(b.path))
            .then(a.line.cmp(&b.line))
    });
    let (mut automated, mut manual) = (0, 0);
    let mut shown = Vec::new();
    for &item in &items {
        let count = if cited(item).automated {
            &mut automated
        } else {
            &mut manual
        };
        if *count == score::MAX_EVIDENCE {
            continue;
        }
        *count += 1;
        shown.push(match item {
            Item::Keyword(i) => keyword.evidence(&cites[i], index, ci),
            Item::Role(j) => added[j].clone(),
        });
    }
    Found {
        shown,
        total: items.len(),
    }
}

/// Which keyword and role pieces of a check to keep when both cite a line:
/// a keyword rule may already cite a line a role rule finds; the role rule
/// says more (what is imported, which job runs the chain), so it takes the
/// line's place. Lines are looked up in a map (a scan of the list per
/// finding was quadratic) whose keys borrow the paths.
fn merge_by_line(found: &[Cited], added: &[Cited]) -> (Vec<bool>, Vec<bool>) {
    #[derive(Clone, Copy)]
    enum Slot {
        Found(usize),
        Added(usize),
    }
    let mut keep_found = vec![true; found.len()];
    let mut keep_added = vec![false; added.len()];
    if added.is_empty() {
        return (keep_found, keep_added);
    }
    let mut at: HashMap<(&str, Option<usize>), Vec<Slot>> = HashMap::default();
    for (i, e) in found.iter().enumerate() {
        at.entry((e.path, e.line)).or_default().push(Slot::Found(i));
    }
    for (j, item) in added.iter().enumerate() {
        let same_line = at.entry((item.path, item.line)).or_default();
        let mut kept = false;
        for &slot in same_line.iter() {
            let (alive, e) = match slot {
                Slot::Found(i) => (&mut keep_found[i], &found[i]),
                Slot::Added(i) => (&mut keep_added[i], &added[i]),
            };
            if !*alive {
                continue;
            }
            if e.what == item.what || (e.automated && !item.automated) {
                kept = true;
            } else {
                *alive = false;
            }
        }
        if !kept {
            same_line.push(Slot::Added(j));
            keep_added[j] = true;
        }
    }
    (keep_found, keep_added)
}

/// Scores a repository: finds evidence for every check and applies waivers.
pub fn assess(
    catalogue: &Catalogue,
    index: &RepoIndex,
    ci: &CiModel,
    waivers: &BTreeMap<String, Waiver>,
) -> Assessment {
    assess_with(catalogue, index, ci, waivers, Vec::new())
}

/// Like [`assess`], with evidence found elsewhere (mlscore's own probes) added
/// to the tests it names.
pub fn assess_with(
    catalogue: &Catalogue,
    index: &RepoIndex,
    ci: &CiModel,
    waivers: &BTreeMap<String, Waiver>,
    extra: Vec<(String, Evidence)>,
) -> Assessment {
    let ground = Groundwork::lay(catalogue, index);
    assess_on(ground, catalogue, index, ci, waivers, extra)
}

/// Like [`assess_with`], on groundwork already laid for `catalogue` and
/// `index`.
pub fn assess_on(
    ground: Groundwork,
    catalogue: &Catalogue,
    index: &RepoIndex,
    ci: &CiModel,
    waivers: &BTreeMap<String, Waiver>,
    extra: Vec<(String, Evidence)>,
) -> Assessment {
    let all = all_checks(catalogue);
    let (evidence, hollow) = evidence_on(&all, ground, index, ci);
    let mut evidence = evidence.into_iter();
    let mut score = |check: &CheckDef| {
        let Found {
            shown: mut found,
            mut total,
        } = evidence.next().unwrap_or_default();
        let mut probes: Vec<Evidence> = extra
            .iter()
            .filter(|(id, _)| *id == check.id)
            .map(|(_, e)| e.clone())
            .collect();
        if !probes.is_empty() {
            total += probes.len();
            probes.append(&mut found);
            probes.sort_by_key(|e| std::cmp::Reverse(e.automated));
            found = probes;
        }
        TestResult::score_shown(
            &check.id,
            check.section,
            &check.title,
            found,
            total,
            waivers.get(&check.id),
        )
        .with_prose(Prose {
            asks: check.asks.clone(),
            why: check.why.clone(),
            earn_half: check.earn_half.clone(),
            earn_full: check.earn_full.clone(),
        })
    };
    let tests: Vec<TestResult> = catalogue.checks.iter().map(&mut score).collect();
    let custom: Vec<TestResult> = catalogue.custom.iter().map(&mut score).collect();
    let maturity = Maturity::of(&tests);
    Assessment {
        scorecard: Scorecard::new(tests),
        custom,
        hollow,
        maturity,
    }
}
