//! The report model, built once from an assessment, and its renderers. The
//! renderers only read the model; none computes anything new.

mod context;
pub mod github;
pub mod human;
pub mod junit;
pub mod markdown;
pub mod render;
pub mod sarif;
mod verdict;

pub use verdict::{Condition, Verdict};

use serde::Serialize;

use crate::ci::{CiModel, CiSystem};
use crate::metrics::{MetricFileError, MetricRow};
use crate::probes::configured::{ProbeOutcome, ProbeStatus};
use crate::repo::ScanWarning;
use crate::rubric::catalogue::Automated;
use crate::rubric::matcher::Evidence;
use crate::rubric::{Assessment, Band, Maturity, Section, SectionScore, Status, TestResult};

/// The JSON report's format version; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a report says.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub score: ScoreSummary,
    /// The MLOps maturity level, from the same evidence as the score.
    pub maturity: Maturity,
    pub sections: Vec<SectionScore>,
    pub tests: Vec<TestResult>,
    pub custom_checks: Vec<TestResult>,
    pub next_steps: Vec<NextStep>,
    pub ci: CiSummary,
    pub config: ConfigSummary,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    pub files_indexed: usize,
    /// The score at the base revision, when one was given.
    pub base: Option<BaseScore>,
    /// The head revision as given, or `None` for the working tree.
    pub head: Option<String>,
    /// Metrics compared between base and head (or read at head alone).
    pub metrics: Vec<MetricRow>,
    /// The metric files read (at head or base), so a reader can tell which
    /// files were found and which were not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_files: Vec<String>,
    /// The probes configured in mlscore.yaml, as they ran; empty when none
    /// ran (none configured, `--no-probes`, or a historical `--head`).
    pub probes: Vec<ProbeOutcome>,
    /// The gate's verdict, once evaluated.
    pub verdict: Option<Verdict>,
}

/// The rubric score at the base revision.
#[derive(Debug, Clone, Serialize)]
pub struct BaseScore {
    /// The revision as given (`origin/main`, a sha).
    pub rev: String,
    /// The full commit id it resolved to.
    pub commit: String,
    pub score: f64,
    pub sections: Vec<BaseSection>,
}

/// One section's score at the base revision.
#[derive(Debug, Clone, Serialize)]
pub struct BaseSection {
    pub section: Section,
    pub score: f64,
}

/// The producing tool.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

/// The final score and its band.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreSummary {
    /// The minimum of the four section scores.
    #[serde(rename = "final")]
    pub final_score: f64,
    /// Change of the final score against the base revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    pub band: Band,
    pub band_range: &'static str,
    pub band_meaning: &'static str,
    /// The sections whose score is the final score.
    pub minimum_sections: Vec<Section>,
}

/// The cheapest way to raise the lowest section.
#[derive(Debug, Clone, Serialize)]
pub struct NextStep {
    pub test: String,
    pub title: String,
    /// Points the step would add to its section.
    pub gain: f64,
    pub action: String,
}

/// What CI runs, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct CiSummary {
    pub systems: Vec<CiSystem>,
    pub jobs: Vec<CiJobSummary>,
    /// Whether a CI job runs mlscore itself.
    pub runs_mlscore: bool,
}

/// One CI job, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct CiJobSummary {
    pub name: String,
    pub system: CiSystem,
    pub file: String,
    pub line: usize,
    pub scheduled: bool,
    pub automatic: bool,
    /// For an ML pipeline run because a CI job submits it: that job's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
}

/// Where the configuration came from.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSummary {
    /// The config file read, relative to the scanned root when inside it.
    pub path: Option<String>,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A custom check without evidence.
    Check,
    /// A metric that fails its policy.
    Metric,
    /// A probe that ran and failed.
    Probe,
    /// An input that could not be read (a metrics file, a data file).
    Input,
    /// A test or suite that cannot fail, so it is not counted as evidence.
    #[serde(rename = "hollow-test")]
    HollowTest,
}

/// Something a user should act on.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub kind: FindingKind,
    /// The check or probe that produced it.
    pub check: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A problem reading the repository that did not stop the run.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl Report {
    /// Builds the report from an assessment and what was read.
    pub fn new(
        assessment: Assessment,
        ci: &CiModel,
        scan_warnings: Vec<ScanWarning>,
        config_path: Option<String>,
        files_indexed: usize,
    ) -> Report {
        let card = assessment.scorecard;
        let minimum_sections = card
            .sections
            .iter()
            .filter(|s| s.is_minimum)
            .map(|s| s.section)
            .collect();
        let next_steps = next_steps(&card.tests, &card.sections);
        let mut findings: Vec<Finding> = assessment
            .custom
            .iter()
            .filter(|t| t.status == Status::Missing)
            .map(|t| Finding {
                level: Level::Warning,
                kind: FindingKind::Check,
                check: t.id.clone(),
                message: format!("custom check `{}` found no evidence: {}", t.id, t.title),
                path: None,
                line: None,
            })
            .collect();
        findings.extend(assessment.hollow.iter().map(|h| Finding {
            level: Level::Warning,
            kind: FindingKind::HollowTest,
            check: "hollow-test".into(),
            message: h.message(),
            path: Some(h.path.clone()),
            line: Some(h.line),
        }));
        let mut warnings: Vec<Warning> = scan_warnings
            .into_iter()
            .map(|w| Warning {
                path: w.path,
                line: None,
                message: w.message,
            })
            .collect();
        warnings.extend(ci.warnings.iter().map(|w| Warning {
            path: w.path.clone(),
            line: w.line,
            message: w.message.clone(),
        }));
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "mlscore",
                version: env!("CARGO_PKG_VERSION"),
            },
            score: ScoreSummary {
                final_score: card.final_score,
                delta: None,
                band: card.band,
                band_range: card.band.range(),
                band_meaning: card.band.meaning(),
                minimum_sections,
            },
            maturity: assessment.maturity,
            sections: card.sections,
            tests: card.tests,
            custom_checks: assessment.custom,
            next_steps,
            ci: CiSummary {
                systems: ci.systems(),
                jobs: ci
                    .jobs
                    .iter()
                    .map(|j| CiJobSummary {
                        name: j.name.clone(),
                        system: j.system,
                        file: j.file.clone(),
                        line: j.line,
                        scheduled: j.is_scheduled(),
                        automatic: j.automatic,
                        submitted_by: j
                            .submitted_by
                            .and_then(|by| ci.jobs.get(by))
                            .map(|by| by.name.clone()),
                    })
                    .collect(),
                runs_mlscore: ci.mlscore_command().is_some(),
            },
            config: ConfigSummary { path: config_path },
            findings,
            warnings,
            files_indexed,
            base: None,
            head: None,
            metrics: Vec::new(),
            metric_files: Vec::new(),
            probes: Vec::new(),
            verdict: None,
        }
    }

    /// Adds the base revision's score, and the deltas it implies.
    pub fn set_base(&mut self, base: BaseScore) {
        self.score.delta = Some(self.score.final_score - base.score);
        for section in &mut self.sections {
            if let Some(before) = base.sections.iter().find(|b| b.section == section.section) {
                section.delta = Some(section.score - before.score);
            }
        }
        self.base = Some(base);
    }

    /// Adds metric rows, with an error finding for each failing policy; the
    /// base's unreadable metric files become warnings (history cannot be fixed).
    pub fn set_metrics(&mut self, rows: Vec<MetricRow>, base_errors: Vec<MetricFileError>) {
        for row in rows.iter().filter(|r| !r.passed()) {
            let failed = row.failures();
            self.findings.push(Finding {
                level: Level::Error,
                kind: FindingKind::Metric,
                check: "regression".into(),
                message: format!(
                    "metric `{}` fails its policy: {}",
                    row.name,
                    failed.join("; ")
                ),
                path: Some(row.file.clone()),
                line: None,
            });
        }
        for error in base_errors {
            self.warnings.push(Warning {
                path: error.path,
                line: error.line,
                message: format!(
                    "metrics at the base revision cannot be read ({}); its metrics count as absent",
                    error.message
                ),
            });
        }
        self.metrics = rows;
    }

    /// Adds the probes that ran, with an error finding for each that failed
    /// (kind `probe`) or could not run (kind `input`).
    pub fn set_probes(&mut self, outcomes: Vec<ProbeOutcome>) {
        for o in &outcomes {
            let (kind, verb) = match o.status {
                ProbeStatus::Passed => continue,
                ProbeStatus::Failed => (FindingKind::Probe, "failed"),
                ProbeStatus::Error => (FindingKind::Input, "could not run"),
            };
            let first = o
                .details
                .first()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default();
            self.findings.push(Finding {
                level: Level::Error,
                kind,
                check: o.probe.to_string(),
                message: format!(
                    "{} probe `{}` {verb}: {}{first}",
                    o.probe, o.name, o.summary
                ),
                path: o.path.clone().or_else(|| self.config.path.clone()),
                line: if o.path.is_some() {
                    None
                } else {
                    o.config_line
                },
            });
        }
        self.probes = outcomes;
    }

    /// The exit code the verdict asks for; 0 when nothing was gated.
    pub fn exit_code(&self) -> i32 {
        self.verdict
            .as_ref()
            .map_or(crate::exit::EXIT_OK, Verdict::exit_code)
    }

    /// The JSON report, pretty-printed.
    pub fn to_json(&self) -> String {
        // The model holds only strings, numbers and plain enums: it always serializes.
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }
}

/// Whether running this evidence from CI (on a schedule, where its rule
/// asks for one) would make it automated: its rule counts such runs, and no
/// automatic job of the right kind runs it already.
fn can_automate(e: &Evidence) -> bool {
    let run = e.ci.as_deref().filter(|c| c.automatic);
    match e.automated_when {
        // A `ci` rule's evidence run by an automatic job stays manual only
        // when the rule asks for a job each change starts (model-1).
        Automated::Ci => run.is_none_or(|c| c.manual_because.is_some()),
        Automated::Scheduled => !run.is_some_and(|c| c.scheduled),
        Automated::Always | Automated::Never => false,
    }
}

/// The cheapest steps that raise the lowest section: automating evidence that
/// already exists (+0.5 each) before starting a missing test (+0.5 by hand).
fn next_steps(tests: &[TestResult], sections: &[SectionScore]) -> Vec<NextStep> {
    let mut steps = Vec::new();
    for section in sections.iter().filter(|s| s.is_minimum) {
        let of = || tests.iter().filter(|t| t.section == section.section);
        for test in of().filter(|t| t.status == Status::Manual) {
            let action = match (test.evidence.first(), test.evidence.iter().find(|e| can_automate(e))) {
                (Some(e), _) if e.what.contains("mlscore") => "run mlscore in CI (`mlscore ci` in a workflow step or Jenkins stage); its configured probes then count as automated".to_string(),
                (_, Some(e)) if e.automated_when == Automated::Scheduled => format!("run `{}` from a CI job a schedule starts (a cron trigger)", e.path),
                (_, Some(e)) if e.ci.as_ref().is_some_and(|c| c.automatic) => format!("run `{}` from a CI job each push or pull request starts", e.path),
                (_, Some(e)) => format!("run `{}` from CI (a workflow step, a Makefile target CI calls, or a test path pytest covers in CI)", e.path),
                // Running it from CI would change nothing: say what would.
                (Some(_), None) => format!("its evidence counts as manual whatever runs it; `mlscore explain {}` lists what counts as automated", test.id),
                (None, None) => "run the existing practice from CI".to_string(),
            };
            steps.push(NextStep {
                test: test.id.clone(),
                title: test.title.clone(),
                gain: 0.5,
                action,
            });
        }
        for test in of().filter(|t| t.status == Status::Missing) {
            steps.push(NextStep {
                test: test.id.clone(),
                title: test.title.clone(),
                gain: 0.5,
                action: format!(
                    "start it by hand and commit the result; `mlscore explain {}` says how",
                    test.id
                ),
            });
        }
    }
    steps.truncate(3);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::catalogue::Section;
    use crate::rubric::matcher::CiLink;

    fn evidence(path: &str, when: Automated, run: Option<(bool, Option<&str>)>) -> Evidence {
        Evidence {
            what: "w".into(),
            path: path.into(),
            line: None,
            excerpt: None,
            automated: false,
            ci: run.map(|(scheduled, because)| {
                Box::new(CiLink {
                    system: CiSystem::GithubActions,
                    job: "ci.yml › test".into(),
                    job_file: ".github/workflows/ci.yml".into(),
                    job_line: 3,
                    command: "pytest".into(),
                    command_file: ".github/workflows/ci.yml".into(),
                    command_line: 7,
                    scheduled,
                    automatic: true,
                    manual_because: because.map(str::to_string),
                })
            }),
            automated_when: when,
        }
    }

    fn manual(id: &str, evidence: Vec<Evidence>) -> TestResult {
        TestResult {
            id: id.into(),
            section: Section::Monitor,
            title: id.into(),
            points: 0.5,
            status: Status::Manual,
            waiver: None,
            evidence_total: evidence.len(),
            evidence,
            prose: None,
        }
    }

    fn action(evidence: Vec<Evidence>) -> String {
        let section = SectionScore {
            section: Section::Monitor,
            title: "Monitoring",
            score: 0.5,
            max: 7.0,
            is_minimum: true,
            automated: 0,
            manual: 1,
            missing: 6,
            waived: 0,
            delta: None,
        };
        let steps = next_steps(&[manual("monitor-6", evidence)], &[section]);
        steps[0].action.clone()
    }

    #[test]
    fn next_steps_ask_only_for_what_would_automate_the_evidence() {
        // A rule that counts a CI run: run the file from CI.
        let not_run = evidence("src/check.py", Automated::Ci, None);
        assert!(action(vec![not_run]).starts_with("run `src/check.py` from CI"));
        // Evidence its rule keeps manual comes first; the file after it is
        // the one to run.
        let never = evidence("tests/test_io.py", Automated::Never, None);
        let not_run = evidence("src/check.py", Automated::Ci, None);
        assert!(action(vec![never, not_run]).starts_with("run `src/check.py` from CI"));
        // Only manual-by-rule evidence, or evidence CI runs already: running
        // it from CI changes nothing.
        let never = evidence("tests/test_io.py", Automated::Never, None);
        let run = evidence("src/check.py", Automated::Ci, Some((false, None)));
        assert_eq!(
            action(vec![never, run]),
            "its evidence counts as manual whatever runs it; `mlscore explain monitor-6` lists what counts as automated"
        );
        // A rule that asks for a schedule, run by a push job.
        let pushed = evidence(
            "monitoring/drift.py",
            Automated::Scheduled,
            Some((false, Some("x"))),
        );
        assert_eq!(
            action(vec![pushed]),
            "run `monitoring/drift.py` from a CI job a schedule starts (a cron trigger)"
        );
        // model-1: run by a job no change starts.
        let released = evidence("src/train.py", Automated::Ci, Some((false, Some("y"))));
        assert_eq!(
            action(vec![released]),
            "run `src/train.py` from a CI job each push or pull request starts"
        );
    }
}
