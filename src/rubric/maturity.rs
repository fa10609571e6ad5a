//! The MLOps maturity level (0 manual, 1 ML pipeline automation, 2 CI/CD
//! pipeline automation), read off the scored tests: it adds no evidence of its
//! own, so the level and what is missing always match the score beside it.

use serde::Serialize;

use super::score::{Status, TestResult};

/// Where the team stands, and what the next level still needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maturity {
    /// 0, 1 or 2.
    pub level: u8,
    /// The level's name.
    pub name: &'static str,
    /// What is missing for the next level, in plain words with the tests that
    /// would show it; empty at level 2.
    pub missing: Vec<String>,
}

/// One thing a level needs, shown by automated evidence of some tests.
struct Requirement {
    /// What is needed, in plain words.
    needs: &'static str,
    /// Any of these tests automated shows it…
    tests: &'static [&'static str],
    /// …and, when set, only evidence whose label mentions this word.
    label: Option<&'static str>,
}

const LEVEL_1: &[Requirement] = &[
    Requirement {
        needs: "training runs automatically, end to end (CI or a scheduled pipeline)",
        tests: &["infra-3"],
        label: None,
    },
    Requirement {
        needs: "data is validated automatically against a schema",
        tests: &["data-1", "monitor-2"],
        label: None,
    },
    Requirement {
        needs: "a model is validated automatically before it is used",
        tests: &["infra-4"],
        label: None,
    },
];

const LEVEL_2: &[Requirement] = &[
    Requirement {
        needs: "pipeline code (features, model, training) is unit-tested by CI",
        tests: &["infra-2", "data-7"],
        label: None,
    },
    Requirement {
        needs: "changes to model code are built and checked by CI before review",
        tests: &["model-1"],
        label: None,
    },
    Requirement {
        needs: "a validated model is deployed automatically (a gate, then deploy, in CI or the pipeline)",
        tests: &["infra-4", "infra-6"],
        label: Some("deploy"),
    },
];

const NAMES: [&str; 3] = [
    "manual process",
    "ML pipeline automation",
    "CI/CD pipeline automation",
];

impl Requirement {
    fn met(&self, tests: &[TestResult]) -> bool {
        tests
            .iter()
            .filter(|t| self.tests.contains(&t.id.as_str()) && t.status == Status::Automated)
            .any(|t| {
                t.id == "infra-6"
                    || self.label.is_none_or(|word| {
                        t.evidence
                            .iter()
                            .any(|e| e.automated && e.what.contains(word))
                    })
            })
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.needs, self.tests.join(" or "))
    }
}

impl Maturity {
    /// The level the scored tests show.
    pub fn of(tests: &[TestResult]) -> Maturity {
        let unmet = |reqs: &[Requirement]| -> Vec<String> {
            reqs.iter()
                .filter(|r| !r.met(tests))
                .map(Requirement::describe)
                .collect()
        };
        let missing_1 = unmet(LEVEL_1);
        let (level, missing) = if !missing_1.is_empty() {
            (0, missing_1)
        } else {
            let missing_2 = unmet(LEVEL_2);
            if missing_2.is_empty() {
                (2, Vec::new())
            } else {
                (1, missing_2)
            }
        };
        Maturity {
            level,
            name: NAMES[level as usize],
            missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::catalogue::Section;
    use crate::rubric::matcher::Evidence;

    fn automated(id: &str, what: &str) -> TestResult {
        let evidence = Evidence {
            what: what.into(),
            path: "p".into(),
            line: Some(1),
            excerpt: None,
            automated: true,
            ci: None,
            automated_when: crate::rubric::catalogue::Automated::Ci,
        };
        TestResult::score(id, Section::Infra, "t", vec![evidence], None)
    }

    #[test]
    fn levels_follow_the_automated_tests() {
        assert_eq!(Maturity::of(&[]).level, 0);
        assert_eq!(Maturity::of(&[]).missing.len(), 3);
        let level_1 = vec![
            automated("infra-3", "training then evaluation"),
            automated("data-1", "schema"),
            automated("infra-4", "threshold"),
        ];
        let m = Maturity::of(&level_1);
        assert_eq!((m.level, m.name), (1, "ML pipeline automation"));
        assert_eq!(m.missing.len(), 3);
        let mut level_2 = level_1;
        level_2.push(automated("infra-2", "unit test"));
        level_2.push(automated("model-1", "model code"));
        level_2.push(automated("infra-4", "evaluation gate before deploy"));
        // Two results for infra-4 only in this test; the real card has one.
        let m = Maturity::of(&level_2);
        assert_eq!((m.level, m.missing.len()), (2, 0));
    }
}
