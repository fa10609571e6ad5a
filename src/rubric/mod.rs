//! The rubric: the catalogue of checks, evidence matching and scoring.

pub mod catalogue;
mod content;
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

/// Evidence for each of `checks` (`evidence[i]` belongs to `checks[i]`):
/// the matcher's hits and the role rules' findings, without anything that
/// stands only on hollow tests.
pub fn find_evidence(
    checks: &[&CheckDef],
    catalogue: &Catalogue,
    index: &RepoIndex,
    ci: &CiModel,
) -> (Vec<Vec<Evidence>>, Vec<HollowTest>) {
    let mut evidence = crate::timing::span("keyword evidence", || {
        matcher::find_evidence(checks, &catalogue.tools, index, ci)
    });
    let hollow = crate::timing::span("hollow tests", || hollow::HollowIndex::build(index));
    let has_roles = checks
        .iter()
        .any(|c| c.evidence.iter().any(|r| r.role.is_some()));
    if has_roles {
        let code = crate::timing::span("code roles", || roles::CodeRoles::build(index));
        crate::timing::span("role evidence", || {
            for (check, found) in checks.iter().zip(evidence.iter_mut()) {
                let added: Vec<Evidence> = check
                    .evidence
                    .iter()
                    .filter_map(|rule| Some((rule, rule.role.as_ref()?)))
                    .flat_map(|(rule, role)| {
                        roles::evidence(
                            role,
                            &rule.what,
                            rule.automation(),
                            &code,
                            &hollow,
                            ci,
                            index,
                        )
                    })
                    .collect();
                if !added.is_empty() {
                    *found = merge_by_line(std::mem::take(found), added);
                }
                found.sort_by(|a, b| {
                    b.automated
                        .cmp(&a.automated)
                        .then_with(|| a.path.cmp(&b.path))
                        .then(a.line.cmp(&b.line))
                });
            }
        });
    }
    for found in &mut evidence {
        found.retain(|e| !hollow.voids(e));
    }
    (evidence, hollow.found)
}

/// A check's keyword evidence with its role evidence merged in, by line: a
/// keyword rule may already cite a line a role rule finds; the role rule says
/// more (what is imported, which job runs the chain), so it takes the line's
/// place. Lines are looked up in a map (a scan of the list per finding was
/// quadratic) whose keys borrow the paths: cloning them cost 20 MB on a
/// 50,000-file repository.
fn merge_by_line(found: Vec<Evidence>, added: Vec<Evidence>) -> Vec<Evidence> {
    #[derive(Clone, Copy)]
    enum Slot {
        Found(usize),
        Added(usize),
    }
    let mut keep_found = vec![true; found.len()];
    let mut keep_added = vec![false; added.len()];
    {
        let mut at: HashMap<(&str, Option<usize>), Vec<Slot>> = HashMap::default();
        for (i, e) in found.iter().enumerate() {
            at.entry((e.path.as_str(), e.line))
                .or_default()
                .push(Slot::Found(i));
        }
        for (j, item) in added.iter().enumerate() {
            let same_line = at.entry((item.path.as_str(), item.line)).or_default();
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
    }
    let kept = |items: Vec<Evidence>, keep: Vec<bool>| {
        items
            .into_iter()
            .zip(keep)
            .filter_map(|(e, keep)| keep.then_some(e))
    };
    kept(found, keep_found)
        .chain(kept(added, keep_added))
        .collect()
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
    let all: Vec<&CheckDef> = catalogue.checks.iter().chain(&catalogue.custom).collect();
    let (evidence, hollow) = find_evidence(&all, catalogue, index, ci);
    let mut evidence = evidence.into_iter();
    let mut score = |check: &CheckDef| {
        let mut found = evidence.next().unwrap_or_default();
        let mut probes: Vec<Evidence> = extra
            .iter()
            .filter(|(id, _)| *id == check.id)
            .map(|(_, e)| e.clone())
            .collect();
        if !probes.is_empty() {
            probes.append(&mut found);
            probes.sort_by_key(|e| std::cmp::Reverse(e.automated));
            found = probes;
        }
        TestResult::score(
            &check.id,
            check.section,
            &check.title,
            found,
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
