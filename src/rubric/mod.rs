//! The rubric: the catalogue of checks, evidence matching and scoring.

pub mod catalogue;
mod content;
pub mod manifest;
pub mod matcher;
pub mod python;
pub mod score;
pub mod waiver;

use std::collections::BTreeMap;

pub use catalogue::{Catalogue, CheckDef, Section};
pub use matcher::{CiLink, Evidence};
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
    let mut evidence = matcher::find_evidence(&all, &catalogue.tools, index, ci).into_iter();
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
    Assessment {
        scorecard: Scorecard::new(tests),
        custom,
    }
}
