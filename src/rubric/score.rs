//! Points, sections, the final score and its band, as the paper defines them.

use serde::Serialize;

use super::catalogue::Section;
use super::matcher::Evidence;
use super::waiver::Waiver;

/// How a test earned its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Evidence that CI runs: 1 point.
    Automated,
    /// Evidence of a practice done by hand: 0.5 points.
    Manual,
    /// No evidence: 0 points.
    Missing,
    /// Waived in mlscore.yaml with a reason: the points the waiver gives.
    Waived,
}

impl Status {
    /// The word shown in reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::Automated => "automated",
            Status::Manual => "manual",
            Status::Missing => "missing",
            Status::Waived => "waived",
        }
    }
}

/// One rubric test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub points: f64,
    pub status: Status,
    /// The waiver, when the test is waived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// How many pieces of evidence were found in all.
    pub evidence_total: usize,
    /// The evidence, automated first, at most [`MAX_EVIDENCE`] items.
    pub evidence: Vec<Evidence>,
    /// What the check file says of the test, for renderers that explain it
    /// (SARIF's rule help); the JSON report leaves it to `mlscore explain`.
    #[serde(skip)]
    pub prose: Option<Prose>,
}

/// The check file's words on a test: what it asks, why, how to earn points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prose {
    pub asks: String,
    pub why: String,
    pub earn_half: String,
    pub earn_full: String,
}

/// Evidence items kept per test in reports; the total is always given.
pub const MAX_EVIDENCE: usize = 25;

impl TestResult {
    /// Scores one test from its evidence and an optional waiver.
    pub fn score(
        id: &str,
        section: Section,
        title: &str,
        evidence: Vec<Evidence>,
        waiver: Option<&Waiver>,
    ) -> TestResult {
        let total = evidence.len();
        Self::score_shown(id, section, title, evidence, total, waiver)
    }

    /// Scores one test from the evidence reports show, in report order, out
    /// of `evidence_total` found: the shown pieces must include the first
    /// automated one when any was found.
    pub fn score_shown(
        id: &str,
        section: Section,
        title: &str,
        mut evidence: Vec<Evidence>,
        evidence_total: usize,
        waiver: Option<&Waiver>,
    ) -> TestResult {
        let (points, status) = match waiver {
            Some(w) => (w.points, Status::Waived),
            None if evidence.iter().any(|e| e.automated) => (1.0, Status::Automated),
            None if evidence_total > 0 => (0.5, Status::Manual),
            None => (0.0, Status::Missing),
        };
        evidence.truncate(MAX_EVIDENCE);
        TestResult {
            id: id.to_string(),
            section,
            title: title.to_string(),
            points,
            status,
            waiver: waiver.cloned(),
            evidence_total,
            evidence,
            prose: None,
        }
    }

    /// The same result, carrying the check file's prose.
    pub fn with_prose(mut self, prose: Prose) -> TestResult {
        self.prose = Some(prose);
        self
    }
}

/// A section's sum.
#[derive(Debug, Clone, Serialize)]
pub struct SectionScore {
    pub section: Section,
    pub title: &'static str,
    /// Sum of the section's seven tests (0 … 7).
    pub score: f64,
    pub max: f64,
    /// Whether this section sets the final score (ties all count).
    pub is_minimum: bool,
    pub automated: usize,
    pub manual: usize,
    pub missing: usize,
    pub waived: usize,
    /// Change against the base revision, when one was scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
}

/// The paper's bands of the final score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Band {
    ResearchProject,
    SeriousHoles,
    FirstPass,
    ReasonablyTested,
    StrongAutomation,
    Exceptional,
}

impl Band {
    /// The band of a final score.
    pub fn of(score: f64) -> Band {
        match score {
            s if s <= 0.0 => Band::ResearchProject,
            s if s <= 1.0 => Band::SeriousHoles,
            s if s <= 2.0 => Band::FirstPass,
            s if s <= 3.0 => Band::ReasonablyTested,
            s if s <= 5.0 => Band::StrongAutomation,
            _ => Band::Exceptional,
        }
    }

    /// The score range, as the paper gives it.
    pub fn range(self) -> &'static str {
        match self {
            Band::ResearchProject => "0",
            Band::SeriousHoles => "(0, 1]",
            Band::FirstPass => "(1, 2]",
            Band::ReasonablyTested => "(2, 3]",
            Band::StrongAutomation => "(3, 5]",
            Band::Exceptional => "> 5",
        }
    }

    /// What the band means, in mlscore's words.
    pub fn meaning(self) -> &'static str {
        match self {
            Band::ResearchProject => "a research project more than a production system",
            Band::SeriousHoles => "partly tested, with serious reliability holes likely",
            Band::FirstPass => "a first pass at production readiness; more investment needed",
            Band::ReasonablyTested => "reasonably tested; more of it could be automated",
            Band::StrongAutomation => {
                "strong automated testing and monitoring, fit for critical systems"
            }
            Band::Exceptional => "exceptional automated testing and monitoring",
        }
    }
}

/// The whole score of a repository.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    /// The minimum over the four sections.
    pub final_score: f64,
    pub band: Band,
    pub sections: Vec<SectionScore>,
    /// The 28 tests, in the paper's order.
    pub tests: Vec<TestResult>,
}

impl Scorecard {
    /// Sums sections and takes their minimum.
    pub fn new(tests: Vec<TestResult>) -> Scorecard {
        let mut sections: Vec<SectionScore> = Section::RUBRIC
            .iter()
            .map(|&section| {
                let of: Vec<&TestResult> = tests.iter().filter(|t| t.section == section).collect();
                let count = |s: Status| of.iter().filter(|t| t.status == s).count();
                SectionScore {
                    section,
                    title: section.title(),
                    score: of.iter().map(|t| t.points).sum(),
                    max: of.len() as f64,
                    is_minimum: false,
                    automated: count(Status::Automated),
                    manual: count(Status::Manual),
                    missing: count(Status::Missing),
                    waived: count(Status::Waived),
                    delta: None,
                }
            })
            .collect();
        let final_score = sections
            .iter()
            .map(|s| s.score)
            .fold(f64::INFINITY, f64::min);
        let final_score = if final_score.is_finite() {
            final_score
        } else {
            0.0
        };
        for section in &mut sections {
            section.is_minimum = section.score == final_score;
        }
        Scorecard {
            final_score,
            band: Band::of(final_score),
            sections,
            tests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(automated: bool) -> Evidence {
        Evidence {
            what: "w".into(),
            path: "p".into(),
            line: Some(1),
            excerpt: None,
            automated,
            ci: None,
            automated_when: crate::rubric::catalogue::Automated::Ci,
        }
    }

    #[test]
    fn points_follow_the_best_evidence() {
        assert_eq!(
            TestResult::score("data-1", Section::Data, "t", vec![], None).points,
            0.0
        );
        assert_eq!(
            TestResult::score("data-1", Section::Data, "t", vec![evidence(false)], None).points,
            0.5
        );
        let full = TestResult::score(
            "data-1",
            Section::Data,
            "t",
            vec![evidence(false), evidence(true)],
            None,
        );
        assert_eq!((full.points, full.status), (1.0, Status::Automated));
    }

    #[test]
    fn a_waiver_overrides_evidence() {
        let waiver = Waiver {
            reason: "never served".into(),
            points: 0.0,
        };
        let result = TestResult::score(
            "infra-6",
            Section::Infra,
            "t",
            vec![evidence(true)],
            Some(&waiver),
        );
        assert_eq!((result.points, result.status), (0.0, Status::Waived));
    }

    #[test]
    fn final_score_is_the_minimum_section() {
        let mut tests = Vec::new();
        for (section, automated) in [
            (Section::Data, 7),
            (Section::Model, 3),
            (Section::Infra, 5),
            (Section::Monitor, 4),
        ] {
            for i in 0..7 {
                let ev = if i < automated {
                    vec![evidence(true)]
                } else {
                    vec![]
                };
                tests.push(TestResult::score(
                    &format!("{section}-{i}"),
                    section,
                    "t",
                    ev,
                    None,
                ));
            }
        }
        let card = Scorecard::new(tests);
        assert_eq!(card.final_score, 3.0);
        assert_eq!(card.band, Band::ReasonablyTested);
        let minimum: Vec<Section> = card
            .sections
            .iter()
            .filter(|s| s.is_minimum)
            .map(|s| s.section)
            .collect();
        assert_eq!(minimum, vec![Section::Model]);
    }

    #[test]
    fn bands_follow_the_paper() {
        assert_eq!(Band::of(0.0), Band::ResearchProject);
        assert_eq!(Band::of(0.5), Band::SeriousHoles);
        assert_eq!(Band::of(1.0), Band::SeriousHoles);
        assert_eq!(Band::of(1.5), Band::FirstPass);
        assert_eq!(Band::of(3.0), Band::ReasonablyTested);
        assert_eq!(Band::of(5.0), Band::StrongAutomation);
        assert_eq!(Band::of(5.5), Band::Exceptional);
    }
}
