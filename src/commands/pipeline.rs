//! The flow shared by `check` and `diff`: index the head, score it, score the
//! base from git, diff metrics, and attach the gate's verdict.

use std::path::Path;
use std::sync::Arc;

use crate::ci::CiModel;
use crate::cli::{GateArgs, RepoArgs};
use crate::config::{self, Config};
use crate::error::Error;
use crate::gate::{self, GatePolicy};
use crate::metrics::{self, MetricSets};
use crate::probes::configured as probes;
use crate::repo::{GitRepo, RepoIndex, ScanOptions, DEFAULT_MAX_FILE_SIZE};
use crate::report::{BaseScore, BaseSection, Report, Warning};
use crate::rubric::{self, Catalogue, CiLink, Evidence};

/// Where a repository's own checks live.
pub const CUSTOM_CHECKS_DIR: &str = ".mlscore/checks";

/// What to compare.
#[derive(Debug, Default)]
pub struct Revisions<'a> {
    /// The base revision to score and diff against.
    pub base: Option<&'a str>,
    /// The head revision; the working tree when absent.
    pub head: Option<&'a str>,
    /// Run the configured probes on the working tree (`check` and `ci`).
    pub run_probes: bool,
}

/// Runs the flow and returns the report with its verdict.
pub fn run(source: &RepoArgs, revs: &Revisions<'_>, gate_args: &GateArgs) -> Result<Report, Error> {
    let (root, config_path) = (source.path.as_path(), source.config.as_deref());
    let mut timer = crate::timing::Timer::new();
    let catalogue = super::catalogue()?;
    timer.lap("catalogue");
    let ids = catalogue.ids();
    let loaded = config::load(root, config_path, &ids)?;
    let config = loaded.config;
    let options = scan_options(&config);

    let git = match (revs.base, revs.head) {
        (None, None) => None,
        _ => Some(Arc::new(GitRepo::discover(root)?)),
    };
    let head_index = match (revs.head, &git) {
        (Some(rev), Some(git)) => {
            let commit = git.resolve(rev)?;
            RepoIndex::at_commit(root, git.clone(), &commit, &options)?
        }
        _ => RepoIndex::scan(root, &options)?,
    };
    timer.lap("scan");
    let mut head_catalogue = catalogue.clone();
    load_custom_checks(&mut head_catalogue, &head_index)?;
    crate::timing::span("preload", || head_index.preload_sources());
    // The CI model and the evidence that needs none of it each read the
    // whole repository; side by side, one fills the cores the other leaves
    // idle (most CI readers go through the index one file at a time).
    let (head_ci, (head_ground, mut metric_files)) = rayon::join(
        || CiModel::build(&head_index),
        || {
            rayon::join(
                || rubric::Groundwork::lay(&head_catalogue, &head_index),
                || metrics::files(&head_index, &config.metrics),
            )
        },
    );
    timer.lap("ci");
    let config_text = loaded_text(loaded.path.as_deref());
    let outcomes = (revs.run_probes && revs.head.is_none() && !source.no_probes).then(|| {
        let ctx = probes::Context {
            root,
            index: &head_index,
        };
        let tests = |probe: &str, facets: &[&str]| head_catalogue.tests_served(probe, facets);
        probes::run_all(&config.probes, &tests, &config_text, &ctx)
    });
    timer.lap("probes");
    let extra = probe_evidence(
        &config,
        &config_text,
        &head_ci,
        &head_catalogue,
        outcomes.as_deref(),
    );
    let assessment = rubric::assess_on(
        head_ground,
        &head_catalogue,
        &head_index,
        &head_ci,
        &config.waivers,
        extra,
    );
    let config_shown = loaded.path.as_ref().map(|p| match p.strip_prefix(root) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => p.display().to_string(),
    });
    timer.lap("evidence");
    let mut report = Report::new(
        assessment,
        &head_ci,
        head_index.warnings(),
        config_shown,
        head_index.files().len(),
    );
    report.head = revs.head.map(str::to_string);
    if let Some(outcomes) = outcomes {
        report.set_probes(outcomes);
    }

    let (head_sets, head_errors) = metrics::read(&head_index, &metric_files);
    if let Some(error) = head_errors.into_iter().next() {
        return Err(Error::Metrics(error));
    }

    let (base_sets, base_errors) = match (revs.base, &git) {
        (Some(rev), Some(git)) => {
            let commit = git.resolve(rev)?;
            let base_index = RepoIndex::at_commit(root, git.clone(), &commit, &options)?;
            let base_config = match base_config(&base_index, &ids) {
                Ok(Some(base)) => base,
                Ok(None) => config_for_base(&config),
                Err((name, err)) => {
                    // Say so: silently scoring the base with the head's config
                    // hides that the base's own waivers were not applied.
                    report.warnings.push(Warning {
                        path: name.to_string(),
                        line: None,
                        message: format!(
                            "invalid at {rev} ({err}); the base was scored with this revision's waivers instead"
                        ),
                    });
                    config_for_base(&config)
                }
            };
            let base_ci = CiModel::build(&base_index);
            let base_text = base_index
                .text(config::CONFIG_NAMES[0])
                .unwrap_or("")
                .to_string();
            let extra = probe_evidence(&base_config, &base_text, &base_ci, &catalogue, None);
            let base = rubric::assess_with(
                &catalogue,
                &base_index,
                &base_ci,
                &base_config.waivers,
                extra,
            );
            report.set_base(BaseScore {
                rev: rev.to_string(),
                commit,
                score: base.scorecard.final_score,
                sections: base
                    .scorecard
                    .sections
                    .iter()
                    .map(|s| BaseSection {
                        section: s.section,
                        score: s.score,
                    })
                    .collect(),
            });
            for file in metrics::files(&base_index, &config.metrics) {
                if !metric_files.iter().any(|f| f.path == file.path) {
                    metric_files.push(file);
                }
            }
            metrics::read(&base_index, &metric_files)
        }
        _ => (MetricSets::new(), Vec::new()),
    };
    timer.lap("metrics");
    let rows = metrics::diff(&base_sets, &head_sets, &config.metrics.policies);
    report.metric_files = head_sets.keys().chain(base_sets.keys()).cloned().collect();
    report.metric_files.sort();
    report.metric_files.dedup();
    report.set_metrics(rows, base_errors);

    let policy = gate_policy(&config, gate_args)?;
    report.verdict = Some(gate::evaluate(&report, &policy));
    // The index caches the text of every file read, and the CI model holds
    // tables of every file CI reaches; freeing a large tree's, entry by
    // entry, costs tens of milliseconds the report need not wait for.
    rayon::spawn(move || drop((head_index, head_ci)));
    timer.lap("report");
    Ok(report)
}

fn loaded_text(path: Option<&Path>) -> String {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

fn scan_options(config: &Config) -> ScanOptions {
    ScanOptions {
        include: config.scan.include.clone(),
        exclude: config.scan.exclude.clone(),
        max_file_size: config
            .scan
            .max_file_size
            .map_or(DEFAULT_MAX_FILE_SIZE, |s| s.0),
    }
}

/// The base revision's own mlscore.yaml, when it has one; an invalid one is
/// an error with the file's name.
fn base_config(
    index: &RepoIndex,
    ids: &[&str],
) -> Result<Option<Config>, (&'static str, config::ConfigError)> {
    let Some((name, text)) = config::CONFIG_NAMES
        .iter()
        .find_map(|name| index.text(name).map(|text| (*name, text)))
    else {
        return Ok(None);
    };
    config::parse(name, text, ids)
        .map(Some)
        .map_err(|err| (name, err))
}

/// The head's waivers apply to a base without a config of its own.
fn config_for_base(head: &Config) -> Config {
    Config {
        waivers: head.waivers.clone(),
        ..Config::default()
    }
}

/// Evidence from mlscore's own probes configured in mlscore.yaml, automated
/// when CI runs mlscore:
/// - metric policies are the `regression` probe (monitor-6 for latency,
///   throughput and memory; monitor-7 and infra-4 for quality);
/// - every other probe is evidence for the tests whose check files name it:
///   when it ran (`outcomes`), if it could run, pass or fail; when it was not
///   run (the base revision, `--no-probes`), because it is configured.
fn probe_evidence(
    config: &Config,
    text: &str,
    ci: &CiModel,
    catalogue: &Catalogue,
    outcomes: Option<&[probes::ProbeOutcome]>,
) -> Vec<(String, Evidence)> {
    let mlscore = ci.mlscore_command().and_then(|command| {
        let index = ci.commands.iter().position(|c| std::ptr::eq(c, command))?;
        let automatic = ci.jobs.get(command.job).is_some_and(|j| j.automatic);
        Some((
            CiLink::new(
                ci,
                &crate::ci::Reach {
                    job: command.job,
                    command: index,
                },
            )?,
            automatic,
        ))
    });
    let automated = mlscore.as_ref().is_some_and(|(_, automatic)| *automatic);
    let ci_link = mlscore.as_ref().map(|(link, _)| link.clone());
    let mut found = Vec::new();
    let evidence = |what: String, line: Option<usize>, excerpt: String| Evidence {
        what: what.into(),
        path: config::CONFIG_NAMES[0].into(),
        line,
        excerpt: Some(excerpt),
        automated,
        ci: ci_link.clone(),
        automated_when: crate::rubric::catalogue::Automated::Ci,
    };
    match outcomes {
        Some(outcomes) => {
            for o in outcomes
                .iter()
                .filter(|o| o.status != probes::ProbeStatus::Error)
            {
                let verdict = match o.status {
                    probes::ProbeStatus::Passed => "passed",
                    _ => "failed",
                };
                for test in &o.tests {
                    found.push((
                        test.clone(),
                        evidence(
                            format!("{} probe run by mlscore ({verdict})", o.probe),
                            o.config_line,
                            o.name.clone(),
                        ),
                    ));
                }
            }
        }
        None => {
            let tests = |probe: &str, facets: &[&str]| catalogue.tests_served(probe, facets);
            for c in probes::configured(&config.probes, &tests, text) {
                for test in &c.tests {
                    found.push((
                        test.clone(),
                        evidence(
                            format!("{} probe configured for mlscore", c.probe),
                            c.config_line,
                            c.name.clone(),
                        ),
                    ));
                }
            }
        }
    }
    for (pattern, policy) in &config.metrics.policies {
        let judges = policy.min.is_some()
            || policy.max.is_some()
            || policy.max_regression.is_some()
            || policy.max_regression_pct.is_some();
        if !judges {
            continue;
        }
        let span = crate::yaml_span::key_span(text, &["metrics", "policies", pattern]);
        let line = (!text.is_empty()).then(|| crate::yaml_span::line_of(text, span.offset()));
        // The check files say which tests each kind of metric serves
        // (`regression.quality`, `regression.latency`, …).
        let kind = match metrics::kind_of(pattern, Some(policy)) {
            metrics::MetricKind::Quality => "quality",
            metrics::MetricKind::Latency => "latency",
            metrics::MetricKind::Throughput => "throughput",
            metrics::MetricKind::Memory => "memory",
        };
        for test in catalogue.tests_served("regression", &[kind]) {
            found.push((
                test,
                evidence(
                    "metric policy checked by mlscore (regression probe)".into(),
                    line,
                    pattern.clone(),
                ),
            ));
        }
    }
    found
}

fn gate_policy(config: &Config, args: &GateArgs) -> Result<GatePolicy, Error> {
    let mut policy = GatePolicy::from_config(&config.gate);
    if let Some(min) = args.min_score {
        policy.min_score = Some(min);
    }
    for item in &args.min_section {
        let parsed = item
            .split_once('=')
            .and_then(|(s, v)| Some((s.trim().to_string(), v.trim().parse::<f64>().ok()?)));
        match parsed {
            Some((section, value))
                if rubric::Section::RUBRIC
                    .iter()
                    .any(|s| s.id() == section.as_str()) =>
            {
                policy.min_section.insert(section, value);
            }
            _ => return Err(Error::Usage {
                message: format!("--min-section `{item}` is not SECTION=SCORE"),
                help: "write e.g. `--min-section data=2`; sections are data, model, infra, monitor"
                    .into(),
            }),
        }
    }
    policy.no_score_drop |= args.no_score_drop;
    policy.advisory = args.advisory;
    Ok(policy)
}

/// Adds `.mlscore/checks/*.yaml` from the repository to the catalogue.
pub fn load_custom_checks(catalogue: &mut Catalogue, index: &RepoIndex) -> Result<(), Error> {
    let prefix = format!("{CUSTOM_CHECKS_DIR}/");
    for entry in index.files() {
        let Some(name) = entry.path.strip_prefix(&prefix) else {
            continue;
        };
        if name.contains('/') || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let display = index.root().join(&entry.path).display().to_string();
        let Some(text) = index.entry_text(entry) else {
            let err = std::io::Error::other("binary, too large or unreadable");
            return Err(Error::io("read the custom check", display, &err));
        };
        catalogue.add_custom(&display, text)?;
    }
    Ok(())
}
