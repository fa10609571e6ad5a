//! Meta-tests that keep the check files honest: they parse, all 28 are there,
//! every check fires on its own fixture and none fires on a clean repository,
//! and the README's table of checks is current.

use crate::common;

use std::collections::BTreeSet;

use mlscore::rubric::{Catalogue, Section};

fn catalogue() -> Catalogue {
    Catalogue::embedded().unwrap_or_else(|err| panic!("{:?}", miette::Report::new(err)))
}

#[test]
fn all_28_tests_are_present_in_the_papers_order() {
    let catalogue = catalogue();
    let ids: Vec<String> = catalogue.checks.iter().map(|c| c.id.clone()).collect();
    let expected: Vec<String> = Section::RUBRIC
        .iter()
        .flat_map(|s| (1..=7).map(move |n| format!("{}-{n}", s.id())))
        .collect();
    assert_eq!(ids, expected);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 28);
}

#[test]
fn every_yaml_file_under_checks_is_embedded() {
    let on_disk = walkdir::WalkDir::new(common::crate_dir().join("checks"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .filter(|e| e.file_name() != "tools.yaml")
        .count();
    assert_eq!(on_disk, catalogue().checks.len());
}

#[test]
fn every_check_documents_itself_and_has_rules() {
    for check in catalogue().checks {
        for (field, text) in [
            ("asks", &check.asks),
            ("why", &check.why),
            ("earn_half", &check.earn_half),
            ("earn_full", &check.earn_full),
        ] {
            assert!(
                text.split_whitespace().count() >= 12,
                "{}: `{field}` is too short to help anyone",
                check.id
            );
        }
        assert!(
            !check.evidence.is_empty(),
            "{} has no evidence rules",
            check.id
        );
    }
}

#[test]
fn every_tool_footprint_is_used_by_some_check() {
    let catalogue = catalogue();
    let used: BTreeSet<&str> = catalogue
        .checks
        .iter()
        .flat_map(|c| &c.evidence)
        .filter_map(|r| r.tool.as_deref())
        .collect();
    for name in catalogue.tools.keys() {
        assert!(
            used.contains(name.as_str()),
            "tool `{name}` in tools.yaml is used by no check"
        );
    }
}

#[test]
fn every_check_fires_on_its_fixture() {
    for check in catalogue().checks {
        let folder = format!("tests/fixtures/checks/{}", check.id);
        assert!(
            common::crate_dir().join(&folder).is_dir(),
            "{} has no fixture at {folder}",
            check.id
        );
        let repo = common::repo_from(&folder);
        let report = common::json_report(repo.path());
        let result = common::points(&report)
            .into_iter()
            .find(|(id, _, _)| *id == check.id)
            .expect("test in report");
        assert!(
            result.1 > 0.0,
            "{} found no evidence in its own fixture {folder}",
            check.id
        );
    }
}

#[test]
fn no_check_fires_on_a_clean_repository() {
    let repo = common::repo_from("tests/fixtures/clean");
    let report = common::json_report(repo.path());
    let fired: Vec<String> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["points"].as_f64() != Some(0.0))
        .map(|t| format!("{} via {}", t["id"], t["evidence"]))
        .collect();
    assert!(
        fired.is_empty(),
        "checks fired on the clean fixture: {fired:#?}"
    );
    assert_eq!(report["score"]["final"], 0.0);
    // The clean repository has CI: the zero is the rubric's, not a blind scan.
    assert_eq!(report["ci"]["systems"][0], "github-actions");
}

/// The README's table of checks is generated from the catalogue. Run
/// `MLSCORE_BLESS_README=1 cargo test --test it catalogue` to refresh it.
#[test]
fn readme_table_of_checks_is_current() {
    let catalogue = catalogue();
    let mut table = String::from("| id | test |\n|---|---|\n");
    for check in &catalogue.checks {
        table.push_str(&format!("| `{}` | {} |\n", check.id, check.title));
    }
    let path = common::crate_dir().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (start, end) = ("<!-- checks:start -->\n", "<!-- checks:end -->");
    let from = readme
        .find(start)
        .expect("README has the checks:start marker")
        + start.len();
    let to = readme.find(end).expect("README has the checks:end marker");
    if std::env::var_os("MLSCORE_BLESS_README").is_some() {
        let updated = format!("{}{}{}", &readme[..from], table, &readme[to..]);
        std::fs::write(&path, updated).expect("write README");
        return;
    }
    assert_eq!(
        &readme[from..to],
        table,
        "README's table of checks is stale; run MLSCORE_BLESS_README=1 cargo test --test it catalogue"
    );
}

/// One sample of `tests/fixtures/checks/samples.yaml`.
#[derive(serde::Deserialize)]
struct Sample {
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    command: Option<String>,
    /// A small project, path → content: the samples of role rules and hollow tests.
    #[serde(default)]
    files: Option<std::collections::BTreeMap<String, String>>,
    /// On a negative sample with `files`: the rule may find evidence done by
    /// hand, but none automated.
    #[serde(default)]
    manual_only: bool,
    /// On a sample with `files`: the hollow tests it must report, `path:line`.
    #[serde(default)]
    hollow: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Samples {
    positive: Vec<Sample>,
    negative: Vec<Sample>,
}

/// Evidence the real engine finds for `checks` in a repository of one
/// sample, and the hollow tests it reports there.
fn evidence_for(
    catalogue: &Catalogue,
    checks: &[&mlscore::rubric::CheckDef],
    sample: &Sample,
) -> (Vec<mlscore::rubric::Evidence>, Vec<String>) {
    let workflow;
    let files: Vec<(&str, &str)> = match (&sample.files, &sample.command, &sample.path) {
        (Some(files), _, _) => files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect(),
        (None, Some(command), _) => {
            workflow = format!("on: [push]\njobs:\n  sample:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {}\n", serde_json::to_string(command).unwrap());
            vec![(".github/workflows/sample.yml", workflow.as_str())]
        }
        (None, None, Some(path)) => vec![(path.as_str(), sample.line.as_deref().unwrap_or(""))],
        // A bare line is Python code (the import samples).
        (None, None, None) => vec![(
            "src/sample.py",
            sample
                .line
                .as_deref()
                .expect("a sample needs a path, a line or a command"),
        )],
    };
    let index = mlscore::repo::RepoIndex::from_memory(files);
    let ci = mlscore::ci::CiModel::build(&index);
    let (evidence, hollow) = mlscore::rubric::find_evidence(checks, catalogue, &index, &ci);
    (
        evidence.into_iter().flat_map(|found| found.shown).collect(),
        hollow
            .iter()
            .map(|h| format!("{}:{}", h.path, h.line))
            .collect(),
    )
}

/// Every rule can fire (the samples reach the rules no fixture reaches), and
/// look-alikes from ordinary projects fire nothing — through the real engine.
#[test]
fn every_sample_fires_its_rule_and_no_lookalike_fires_any() {
    let catalogue = catalogue();
    let text =
        std::fs::read_to_string(common::crate_dir().join("tests/fixtures/checks/samples.yaml"))
            .unwrap();
    let samples: Samples = serde_yaml::from_str(&text).unwrap();
    for sample in &samples.positive {
        let rule = sample
            .rule
            .as_deref()
            .expect("positive samples name their rule");
        let (owner, what) = rule.split_once('/').expect("rule is owner/what");
        // Keep only the sampled rule: two rules of a check that hit the same
        // line are reported once, under the first.
        let mut check = match owner.strip_prefix("tool:") {
            Some(tool) => catalogue
                .checks
                .iter()
                .find(|c| c.evidence.iter().any(|r| r.tool.as_deref() == Some(tool)))
                .cloned(),
            None => catalogue.get(owner).cloned(),
        }
        .unwrap_or_else(|| panic!("no check for {owner}"));
        match owner.strip_prefix("tool:") {
            Some(tool) => check.evidence.retain(|r| r.tool.as_deref() == Some(tool)),
            None => check.evidence.retain(|r| r.what == what),
        }
        assert!(!check.evidence.is_empty(), "no rule `{what}` in {owner}");
        let (found, hollow) = evidence_for(&catalogue, &[&check], sample);
        assert_eq!(hollow, sample.hollow, "hollow tests reported for `{rule}`");
        let fired = found
            .iter()
            .any(|e| &*e.what == what || e.what.ends_with(&format!("({what})")));
        assert!(
            fired,
            "sample for `{rule}` did not fire it; found {:?}",
            found.iter().map(|e| &e.what).collect::<Vec<_>>()
        );
    }
    let all: Vec<&mlscore::rubric::CheckDef> = catalogue.checks.iter().collect();
    for sample in &samples.negative {
        if let Some(rule) = &sample.rule {
            // A look-alike small project for one rule: it must not fire that
            // rule (or not automated, with `manual_only`).
            let (owner, what) = rule.split_once('/').expect("rule is owner/what");
            let mut check = catalogue
                .get(owner)
                .cloned()
                .unwrap_or_else(|| panic!("no check {owner}"));
            check.evidence.retain(|r| r.what == what);
            assert!(!check.evidence.is_empty(), "no rule `{what}` in {owner}");
            let (found, hollow) = evidence_for(&catalogue, &[&check], sample);
            assert_eq!(
                hollow, sample.hollow,
                "hollow tests reported for look-alike of `{rule}`"
            );
            let fired: Vec<String> = found
                .iter()
                .filter(|e| !sample.manual_only || e.automated)
                .map(|e| format!("{}:{:?} {:?}", e.path, e.line, e.excerpt))
                .collect();
            assert!(
                fired.is_empty(),
                "look-alike for `{rule}` fired: {fired:#?}"
            );
            continue;
        }
        let (found, _) = evidence_for(&catalogue, &all, sample);
        assert!(
            found.is_empty(),
            "look-alike {:?} {:?} fired {:?}",
            sample.path,
            sample.command.as_ref().or(sample.line.as_ref()),
            found.iter().map(|e| &e.what).collect::<Vec<_>>()
        );
    }
}

/// The README's table of probes lists every probe of the registry, in its
/// order, with the rubric tests the check files give it.
#[test]
fn readme_table_of_probes_follows_the_registry() {
    let catalogue = catalogue();
    let readme = std::fs::read_to_string(common::crate_dir().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| probe | tests |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .collect();
    let registry = mlscore::probes::configured::REGISTRY;
    assert_eq!(rows.len(), registry.len(), "{rows:#?}");
    for (row, probe) in rows.iter().zip(registry) {
        let mut tests = catalogue.tests_served(probe.name, probe.facets);
        let ids = catalogue.ids();
        tests.sort_by_key(|id| ids.iter().position(|i| *i == id.as_str()));
        let want = format!("| `{}` | {} |", probe.name, tests.join(", "));
        assert!(
            row.starts_with(&want),
            "README row {row:?} should start {want:?}"
        );
    }
}

/// Reports show 25 pieces of evidence per test; the engine keeps only those
/// (automated first, then by path) and counts the rest: the total is every
/// piece found, less what stands on hollow tests, and a test with more manual
/// hits than it shows is still automated when CI runs one of them.
#[test]
fn evidence_beyond_what_reports_show_is_counted_not_kept() {
    let catalogue = catalogue();
    let data1 = catalogue.get("data-1").unwrap();
    let mut files: Vec<(String, String)> = vec![(
        ".github/workflows/ci.yml".into(),
        "on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests/data/test_run.py\n".into(),
    )];
    for i in 0..40 {
        files.push((
            format!("tests/other/test_schema_{i:02}.py"),
            "import pandera as pa\n\ndef test_schema():\n    assert pa.DataFrameSchema({})\n"
                .into(),
        ));
    }
    files.push((
        "tests/data/test_run.py".into(),
        "import pandera as pa\n\ndef test_run():\n    assert pa.DataFrameSchema({})\n".into(),
    ));
    // A hollow test: its hit is no evidence and is not counted.
    files.push((
        "tests/other/test_zz_hollow.py".into(),
        "import pandera as pa\n\ndef test_nothing():\n    pass\n".into(),
    ));
    let index =
        mlscore::repo::RepoIndex::from_memory(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    let ci = mlscore::ci::CiModel::build(&index);
    let (found, _) = mlscore::rubric::find_evidence(&[data1], &catalogue, &index, &ci);
    let found = &found[0];
    let hits_per_file = found
        .shown
        .iter()
        .filter(|e| e.path == "tests/other/test_schema_00.py")
        .count();
    assert!(hits_per_file >= 1);
    assert_eq!(
        found.total,
        41 * hits_per_file,
        "every non-hollow hit is counted"
    );
    // All automated pieces (one file's) and the first 25 manual ones.
    assert_eq!(found.shown.len(), hits_per_file + 25);
    assert!(found.shown[0].automated, "the automated piece leads");
    assert_eq!(found.shown[0].path, "tests/data/test_run.py");
    assert!(found.shown[..hits_per_file].iter().all(|e| e.automated));
    let manual: Vec<&str> = found.shown[hits_per_file..]
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert!(manual
        .iter()
        .all(|p| p.starts_with("tests/other/test_schema_")));
    let mut sorted = manual.clone();
    sorted.sort();
    assert_eq!(manual, sorted, "manual pieces follow in path order");
    assert!(!manual.contains(&"tests/other/test_zz_hollow.py"));

    let result = mlscore::rubric::assess(&catalogue, &index, &ci, &Default::default());
    let test = &result.scorecard.tests[0];
    assert_eq!(test.id, "data-1");
    assert_eq!(test.points, 1.0);
    assert_eq!(test.evidence_total, found.total);
    assert_eq!(test.evidence.len(), 25);
}
