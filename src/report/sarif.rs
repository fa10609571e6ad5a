//! SARIF 2.1.0, for GitHub code scanning and Jenkins Warnings NG.
//!
//! One run; its driver's rules are the 28 rubric tests (described from the
//! embedded catalogue), the repository's custom checks, and mlscore's own
//! rules: `regression` (a metric fails its policy), `metrics` (a metrics input
//! cannot be read), `input` (a file that could not be read fully) and `gate`
//! (a failed gate condition). Results are the findings, the warnings, the
//! tests without evidence, and the failed gate conditions.
//!
//! Where a result has no file of its own (a missing rubric test, a gate
//! condition on the score), it is located at the repository's mlscore config
//! file, line 1, or at `mlscore.yaml` when the repository has none yet. SARIF
//! allows results without locations, but GitHub code scanning rejects them
//! ("expected at least one location"); the config file is where such a result
//! is acted on (configure a probe, waive the test, set the gate), and code
//! scanning shows a result for a file that does not exist yet by its path.

use std::collections::BTreeMap;

use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    Sarif, Tool, ToolComponent,
};

use super::{Level, Report};
use crate::rubric::{Section, Status};

/// The schema URI GitHub's documentation uses for SARIF 2.1.0.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The project's home page.
const INFORMATION_URI: &str = "https://github.com/mlscore/mlscore";

/// The config file's name when the repository has none.
const DEFAULT_CONFIG: &str = "mlscore.yaml";

/// mlscore's own rules beside the rubric: (id, name, short, full, level).
const OWN_RULES: [(&str, &str, &str, &str, &str); 5] = [
    (
        "regression",
        "MetricPolicy",
        "A metric fails its policy",
        "A metric at head breaks a policy of mlscore.yaml: a bound (min, max), a largest regression against the base revision (max_regression, max_regression_pct), or it is missing, not a number, NaN or infinite.",
        "error",
    ),
    (
        "metrics",
        "MetricsInput",
        "A metrics file cannot be read",
        "A metrics file that mlscore.yaml declares or mlscore discovered cannot be read or parsed, so its metrics are not compared.",
        "warning",
    ),
    (
        "input",
        "UnreadableInput",
        "A file could not be read fully",
        "A repository file (a CI definition, a configuration, a data file) could not be read or parsed; what it would have shown is missing from the score.",
        "warning",
    ),
    (
        "gate",
        "GateCondition",
        "A gate condition failed",
        "A condition of the merge gate failed: a minimum score or section score, no drop against the base revision, a metric policy, or no error findings.",
        "error",
    ),
    (
        "hollow-test",
        "HollowTest",
        "A test that cannot fail",
        "A test function whose body is empty, that asserts only constants, or that asserts nothing and calls nothing; or an expectation or deepchecks suite with nothing to check. It is not counted as evidence for any rubric test.",
        "warning",
    ),
];

/// Renders the SARIF log.
pub fn render(report: &Report) -> String {
    let mut rules = Rules::default();
    for test in &report.tests {
        let def = test.prose.as_ref();
        let full = def.map_or_else(|| test.title.clone(), |d| one_line(&d.asks));
        let help = def.map(|d| {
            let text = format!(
                "{}\n\nWhy: {}\n\nHow to earn 0.5: {}\n\nHow to earn 1: {}\n\nmlscore explain {} prints this in full.",
                one_line(&d.asks),
                one_line(&d.why),
                one_line(&d.earn_half),
                one_line(&d.earn_full),
                test.id
            );
            let markdown = format!(
                "{}\n\n**Why it matters.** {}\n\n**How to earn 0.5.** {}\n\n**How to earn 1.** {}\n\n`mlscore explain {}` prints this in full.",
                one_line(&d.asks),
                one_line(&d.why),
                one_line(&d.earn_half),
                one_line(&d.earn_full),
                test.id
            );
            MultiformatMessageString::builder().text(text).markdown(markdown).build()
        });
        rules.add(rule(
            &test.id,
            &pascal_case(&test.title),
            &test.title,
            &full,
            help,
            "note",
            &["ml-test-score", test.section.id()],
        ));
    }
    for check in &report.custom_checks {
        rules.add(rule(
            &check.id,
            &pascal_case(&check.title),
            &check.title,
            &check.title,
            None,
            "warning",
            &["custom-check"],
        ));
    }
    for (id, name, short, full, level) in OWN_RULES {
        rules.add(rule(id, name, short, full, None, level, &["mlscore"]));
    }
    for finding in &report.findings {
        // Probes and inputs name their own check; give each a rule of its own.
        if !rules.index.contains_key(&finding.check) {
            let short = format!("mlscore check {}", finding.check);
            rules.add(rule(
                &finding.check,
                &pascal_case(&finding.check),
                &short,
                &short,
                None,
                level_name(finding.level),
                &["mlscore"],
            ));
        }
    }

    let fallback = fallback_location(report);
    let mut results = Vec::new();
    for finding in &report.findings {
        let location = match &finding.path {
            Some(path) => at(path, finding.line),
            None => fallback.clone(),
        };
        results.push(result(
            &rules,
            &finding.check,
            level(finding.level),
            finding.message.clone(),
            location,
        ));
    }
    for warning in &report.warnings {
        results.push(result(
            &rules,
            "input",
            ResultLevel::Warning,
            warning.message.clone(),
            at(&warning.path, warning.line),
        ));
    }
    let lowest: Vec<Section> = report
        .sections
        .iter()
        .filter(|s| s.is_minimum)
        .map(|s| s.section)
        .collect();
    for test in report.tests.iter().filter(|t| t.status == Status::Missing) {
        let in_lowest = lowest.contains(&test.section);
        let (level, why) = if in_lowest {
            (
                ResultLevel::Warning,
                " Its section is the lowest, so doing it raises the final score.",
            )
        } else {
            (ResultLevel::Note, "")
        };
        let message = format!(
            "{} {}: no evidence found, 0 points.{why} `mlscore explain {}` says how to earn 0.5 and 1.",
            test.id, test.title, test.id
        );
        results.push(result(&rules, &test.id, level, message, fallback.clone()));
    }
    if let Some(verdict) = &report.verdict {
        for condition in verdict.conditions.iter().filter(|c| !c.passed) {
            let location = report
                .metrics
                .iter()
                .find(|r| condition.name == format!("metric:{}:{}", r.file, r.name))
                .map_or_else(|| fallback.clone(), |r| at(&r.file, None));
            let advisory = if verdict.advisory {
                " (advisory: the exit code stays 0)"
            } else {
                ""
            };
            let message = format!(
                "Gate condition {} failed{advisory}: {} (threshold {}). {}",
                condition.name, condition.value, condition.threshold, condition.message
            );
            results.push(result(
                &rules,
                "gate",
                ResultLevel::Error,
                message,
                location,
            ));
        }
    }

    let driver = ToolComponent::builder()
        .name(report.tool.name)
        .version(report.tool.version)
        .semantic_version(report.tool.version)
        .information_uri(INFORMATION_URI)
        .rules(rules.list)
        .build();
    let mut properties = BTreeMap::new();
    properties.insert(
        "score".to_string(),
        serde_json::json!(report.score.final_score),
    );
    properties.insert(
        "band".to_string(),
        serde_json::to_value(report.score.band).unwrap_or_default(),
    );
    properties.insert(
        "maturity".to_string(),
        serde_json::to_value(&report.maturity).unwrap_or_default(),
    );
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    // The SARIF types hold only strings, numbers and maps: they always serialize.
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}

/// The rules in order, with each id's index for `ruleIndex`.
#[derive(Default)]
struct Rules {
    list: Vec<ReportingDescriptor>,
    index: BTreeMap<String, usize>,
}

impl Rules {
    fn add(&mut self, rule: ReportingDescriptor) {
        if !self.index.contains_key(&rule.id) {
            self.index.insert(rule.id.clone(), self.list.len());
            self.list.push(rule);
        }
    }
}

fn rule(
    id: &str,
    name: &str,
    short: &str,
    full: &str,
    help: Option<MultiformatMessageString>,
    level: &str,
    tags: &[&str],
) -> ReportingDescriptor {
    let text = |t: &str| MultiformatMessageString::builder().text(t).build();
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let builder = ReportingDescriptor::builder()
        .id(id)
        .name(name)
        .short_description(text(short))
        .full_description(text(full))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!(level))
                .build(),
        )
        .properties(PropertyBag::builder().tags(tags).build());
    match help {
        Some(help) => builder.help(help).build(),
        None => builder.build(),
    }
}

fn result(
    rules: &Rules,
    rule_id: &str,
    level: ResultLevel,
    message: String,
    location: Location,
) -> SarifResult {
    let builder = SarifResult::builder()
        .rule_id(rule_id)
        .level(level)
        .message(Message::builder().text(message).build())
        .locations(vec![location]);
    match rules.index.get(rule_id) {
        Some(&index) => builder.rule_index(index as i64).build(),
        None => builder.build(),
    }
}

/// A repository file, relative to the checkout root (`%SRCROOT%`).
fn at(path: &str, line: Option<usize>) -> Location {
    let artifact = ArtifactLocation::builder()
        .uri(uri(path))
        .uri_base_id("%SRCROOT%")
        .build();
    let physical = match line {
        Some(line) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(line.max(1) as i64).build())
            .build(),
        None => PhysicalLocation::builder()
            .artifact_location(artifact)
            .build(),
    };
    Location::builder().physical_location(physical).build()
}

/// Where results without a file of their own go (see the module's docs).
fn fallback_location(report: &Report) -> Location {
    let config = report
        .config
        .path
        .as_deref()
        // An absolute path is a config outside the repository (`--config`).
        .filter(|p| !p.starts_with('/') && !p.starts_with("..") && !p.contains(':'))
        .unwrap_or(DEFAULT_CONFIG);
    at(config, Some(1))
}

/// A relative path as a URI reference: unreserved characters and `/` stay,
/// everything else is percent-encoded (a `:` would otherwise read as a scheme,
/// a space or `|` is not allowed in a URI at all).
fn uri(path: &str) -> String {
    super::markdown::percent_encode(path.trim_start_matches("./"))
}

fn level(level: Level) -> ResultLevel {
    match level {
        Level::Error => ResultLevel::Error,
        Level::Warning => ResultLevel::Warning,
        Level::Note => ResultLevel::Note,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
    }
}

/// Folded YAML text as one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rule name in SARIF's style (`FeatureExpectationsAreCapturedInASchema`).
fn pascal_case(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::markdown::fixture;

    fn log() -> serde_json::Value {
        serde_json::from_str(&render(&fixture::report())).expect("valid JSON")
    }

    #[test]
    fn rules_cover_the_rubric_and_mlscores_own_checks() {
        let log = log();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(&ids[..2], ["data-1", "data-2"]);
        for own in ["regression", "metrics", "input", "gate"] {
            assert!(ids.contains(&own), "{own} missing");
        }
        assert_eq!(rules[0]["defaultConfiguration"]["level"], "note");
        assert!(
            rules[0]["fullDescription"]["text"].as_str().unwrap().len() > 40,
            "described from the catalogue"
        );
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["informationUri"],
            INFORMATION_URI
        );
        assert_eq!(log["version"], "2.1.0");
    }

    #[test]
    fn every_result_has_a_location_and_a_known_rule() {
        let log = log();
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for result in run["results"].as_array().unwrap() {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
            assert!(artifact["uri"].as_str().is_some_and(|u| !u.is_empty()));
        }
    }

    #[test]
    fn missing_tests_in_the_lowest_section_warn_and_others_note() {
        let log = log();
        let results = log["runs"][0]["results"].as_array().unwrap();
        let level_of = |id: &str| {
            results
                .iter()
                .find(|r| r["ruleId"] == id)
                .map(|r| r["level"].as_str().unwrap().to_string())
        };
        assert_eq!(level_of("data-3").as_deref(), Some("warning"));
        assert_eq!(level_of("model-4").as_deref(), Some("note"));
        assert_eq!(level_of("data-1"), None, "automated tests are not results");
        let gate: Vec<&serde_json::Value> =
            results.iter().filter(|r| r["ruleId"] == "gate").collect();
        assert_eq!(gate.len(), 1, "only failed conditions");
        assert_eq!(gate[0]["level"], "error");
        let missing = results.iter().find(|r| r["ruleId"] == "data-3").unwrap();
        assert_eq!(
            missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "mlscore.yaml"
        );
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("src/a b|c`d.py"), "src/a%20b%7Cc%60d.py");
        assert_eq!(uri("./x:y.json"), "x%3Ay.json");
        assert_eq!(
            pascal_case("Feature expectations are captured in a schema"),
            "FeatureExpectationsAreCapturedInASchema"
        );
    }
}
