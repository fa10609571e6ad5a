//! The probes a repository configures in the `probes:` section of
//! `mlscore.yaml`: each runs on the working tree, and each that runs is
//! evidence for the rubric tests whose check files name it.
//!
//! One module per probe holds its configuration and the function that runs it;
//! this module reads the section, runs every configured probe and
//! turns what they found into [`ProbeOutcome`]s.

pub mod baseline;
pub mod fairness;
pub mod features;
pub mod frame;
pub mod pii;
pub mod predictions;
pub mod reproducible;
pub mod schema;
pub mod skew;
pub mod slices;
pub mod stability;
pub mod staleness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::value::MetricValue;
use crate::repo::{contain, RepoIndex};
use crate::yaml_span::SettingError;

/// What every probe provides. A probe is one file implementing this and one
/// line in [`registry!`] below: `init`, `explain`, the catalogue's check of
/// probe names, the README's probe table test and the config loader all read
/// the registry.
pub trait Probe {
    /// A starting entry for `mlscore.yaml`, as `explain` and `init` print it.
    const EXAMPLE: &'static str;
    /// Every facet [`Probe::facets`] may return.
    const FACETS: &'static [&'static str] = &[];
    /// For `mlscore init`'s commented starter: what the probe checks, and a
    /// one-line entry where `{dataset}` and `{metrics}` stand for files found
    /// in the repository. `None` leaves the probe out of the starter.
    const STARTER: Option<(&'static str, &'static str)> = None;
    /// The entry's own `name:`, if it has one.
    fn name(&self) -> Option<&str>;
    /// What the entry checks, shown when it has no name (a path, say).
    fn label(&self) -> String;
    /// Settings serde cannot check (a duration, a regex), at load time, so a
    /// typo is a config error with its line and not a probe that cannot run.
    /// Paths are relative to the entry.
    fn validate(&self) -> Result<(), SettingError> {
        Ok(())
    }
    /// The facets this entry has, which check files may name as
    /// `probe.facet` (`schema.serving` for monitor-2): which rubric tests a
    /// probe serves is declared in the check files, not here.
    fn facets(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Runs the probe on the working tree.
    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable>;
}

/// A probe as the registry lists it.
#[derive(Debug, Clone, Copy)]
pub struct ProbeInfo {
    /// Its key under `probes:`, and its name in check files.
    pub name: &'static str,
    pub example: &'static str,
    /// The facets check files may name as `probe.facet`.
    pub facets: &'static [&'static str],
    /// See [`Probe::STARTER`].
    pub starter: Option<(&'static str, &'static str)>,
}

macro_rules! registry {
    ($($probe:ident: $ty:ty),* $(,)?) => {
        /// The `probes:` section: each probe is a list, so one repository can
        /// check several datasets or models.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ProbesConfig {
            $(#[serde(default)] pub $probe: Vec<$ty>,)*
        }

        /// Every probe mlscore has, in the order reports list them.
        pub const REGISTRY: &[ProbeInfo] = &[
            $(ProbeInfo {
                name: stringify!($probe),
                example: <$ty as Probe>::EXAMPLE,
                facets: <$ty as Probe>::FACETS,
                starter: <$ty as Probe>::STARTER,
            },)*
        ];

        impl ProbesConfig {
            fn entries(&self) -> Vec<Entry<'_>> {
                let mut all = Vec::new();
                $(for (i, p) in self.$probe.iter().enumerate() {
                    all.push(Entry::of(stringify!($probe), i, p));
                })*
                all
            }

            /// Every entry's settings, checked at load time; paths are
            /// relative to the `probes:` section.
            pub fn validate(&self) -> Result<(), SettingError> {
                $(for (i, p) in self.$probe.iter().enumerate() {
                    p.validate().map_err(|e| e.under(&i.to_string()).under(stringify!($probe)))?;
                })*
                Ok(())
            }
        }
    };
}

registry! {
    schema: schema::SchemaProbe,
    features: features::FeaturesProbe,
    pii: pii::PiiProbe,
    skew: skew::SkewProbe,
    baseline: baseline::BaselineProbe,
    slices: slices::SlicesProbe,
    fairness: fairness::FairnessProbe,
    reproducible: reproducible::ReproducibleProbe,
    staleness: staleness::StalenessProbe,
    stability: stability::StabilityProbe,
}

/// Whether a probe passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeStatus {
    /// It ran and everything it checks holds.
    Passed,
    /// It ran and found a problem: an error finding, and the gate fails.
    Failed,
    /// It could not run (a missing file, a column that is not there).
    Error,
}

/// One configured probe after it ran.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeOutcome {
    /// The probe: `schema`, `skew`, ...
    pub probe: &'static str,
    /// The entry's `name`, or what it checks (a path).
    pub name: String,
    /// The rubric tests it is evidence for.
    pub tests: Vec<String>,
    pub status: ProbeStatus,
    /// One line: what was checked and the verdict.
    pub summary: String,
    /// Each measured value that matters, beside its threshold; failures first.
    pub details: Vec<String>,
    /// How many of `details` (the first ones) are failures.
    pub failures: usize,
    /// The file the outcome is mostly about, repository-relative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The entry's line in mlscore.yaml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_line: Option<usize>,
}

/// What a probe found when it ran.
#[derive(Debug, Clone, Default)]
pub struct Judgement {
    pub passed: bool,
    pub summary: String,
    /// Failures first, then notes.
    pub details: Vec<String>,
    /// How many of `details` are failures.
    pub failures: usize,
    pub path: Option<String>,
}

impl Judgement {
    /// A judgement that passes when `failures` is empty; the failures lead the
    /// details, followed by `notes` (values that passed).
    pub fn from_lists(
        summary: String,
        failures: Vec<String>,
        notes: Vec<String>,
        path: Option<String>,
    ) -> Judgement {
        let passed = failures.is_empty();
        let mut details = capped(failures, MAX_FAILURES, "failing");
        let count = details.len();
        details.extend(capped(notes, MAX_NOTES, "passing"));
        Judgement {
            passed,
            summary,
            details,
            failures: count,
            path,
        }
    }
}

/// Failure lines kept per probe; a slice column with thousands of values must
/// not make a report of thousands of lines.
const MAX_FAILURES: usize = 100;
/// Lines about values that passed kept per probe.
const MAX_NOTES: usize = 50;

fn capped(mut lines: Vec<String>, max: usize, what: &str) -> Vec<String> {
    if lines.len() > max {
        let rest = lines.len() - max;
        lines.truncate(max);
        lines.push(format!(
            "… and {rest} more {what} (this list stops at {max})"
        ));
    }
    lines
}

/// Why a probe could not run; the fix goes in `help`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unrunnable {
    pub message: String,
    pub help: String,
    pub path: Option<String>,
}

impl Unrunnable {
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Unrunnable {
        Unrunnable {
            message: message.into(),
            help: help.into(),
            path: None,
        }
    }

    pub fn at(mut self, path: impl Into<String>) -> Unrunnable {
        self.path = Some(path.into());
        self
    }
}

impl From<crate::probes::data::DataError> for Unrunnable {
    fn from(err: crate::probes::data::DataError) -> Unrunnable {
        use crate::probes::data::DataError;
        match err {
            DataError::Read { path, reason, help } => {
                Unrunnable::new(format!("cannot read {path}: {reason}"), help).at(path)
            }
            DataError::Format { path } => Unrunnable::new(
                format!("cannot read {path}: unknown data format"),
                "name the file .csv, .tsv, .csv.gz, .parquet, .jsonl or .ndjson",
            )
            .at(path),
            DataError::Schema(crate::yaml_span::YamlError {
                path,
                message,
                source_code,
                help,
                ..
            }) => {
                let line = source_code.line();
                Unrunnable::new(format!("{path}:{line}: {message}"), help).at(path)
            }
            DataError::Write { path, reason } => {
                Unrunnable::new(format!("cannot write {path}: {reason}"), "").at(path)
            }
        }
    }
}

/// What every probe needs to run: where the repository is and what is in it.
pub struct Context<'a> {
    pub root: &'a Path,
    pub index: &'a RepoIndex,
}

impl Context<'_> {
    /// The files a configured path names: a glob matches indexed files; a plain
    /// path may also be a file git ignores (data pulled by `dvc pull`).
    pub fn resolve(&self, pattern: &str) -> Result<Vec<String>, Unrunnable> {
        let pattern = pattern.trim_start_matches("./");
        if pattern.contains(['*', '?', '[', '{']) {
            let glob = crate::glob::compile(pattern)
                .map_err(|why| {
                    Unrunnable::new(
                        format!("`{pattern}` is not a valid glob ({why})"),
                        "globs use `*` within a folder and `**` across folders",
                    )
                })?
                .compile_matcher();
            let found: Vec<String> = self
                .index
                .files()
                .iter()
                .filter(|f| glob.is_match(&f.path))
                .map(|f| f.path.clone())
                .collect();
            if found.is_empty() {
                return Err(Unrunnable::new(
                    format!("`{pattern}` matches no file in the repository"),
                    "fix the glob, or check that the files are not excluded by .gitignore or scan.exclude",
                ));
            }
            return Ok(found);
        }
        let real = contain::inside(self.root, pattern).map_err(escape)?;
        if real.is_file() {
            Ok(vec![pattern.to_string()])
        } else {
            Err(Unrunnable::new(
                format!("`{pattern}` is not a file"),
                "name a file of the repository, or use a glob such as `data/*.csv`",
            )
            .at(pattern))
        }
    }

    /// The one file a configured path names.
    pub fn resolve_one(&self, pattern: &str) -> Result<String, Unrunnable> {
        let mut found = self.resolve(pattern)?;
        if found.len() > 1 {
            return Err(Unrunnable::new(
                format!(
                    "`{pattern}` matches {} files; this setting takes one",
                    found.len()
                ),
                "name one file",
            ));
        }
        Ok(found.remove(0))
    }

    /// The flattened metrics of one metrics file (JSON, YAML, TOML, CSV, TSV).
    pub fn metrics(
        &self,
        pattern: &str,
    ) -> Result<(String, BTreeMap<String, MetricValue>), Unrunnable> {
        let file = self.resolve_one(pattern)?;
        let format = crate::metrics::parse::Format::of(&file).ok_or_else(|| {
            Unrunnable::new(
                format!("cannot tell the format of `{file}`"),
                "metric files are .json, .yaml, .yml, .toml, .csv or .tsv",
            )
            .at(&file)
        })?;
        let text = crate::repo::read_text_file(&self.path(&file)?).map_err(|err| {
            Unrunnable::new(format!("cannot read {file}: {err}"), "check the path").at(&file)
        })?;
        let values = crate::metrics::parse::parse(format, &text, None).map_err(|err| {
            let at = err.line.map(|l| format!(":{l}")).unwrap_or_default();
            Unrunnable::new(
                format!("{file}{at}: {}", err.message),
                "fix the file; the metric diff reads it the same way",
            )
            .at(&file)
        })?;
        Ok((file, values))
    }

    /// The absolute path of a repository-relative one, refused when it (or a
    /// link on the way) leads outside the repository or into `.git`: what a
    /// probe reads can end up in a report posted on the pull request.
    pub fn path(&self, relative: &str) -> Result<PathBuf, Unrunnable> {
        contain::inside(self.root, relative).map_err(escape)?;
        Ok(self.root.join(relative))
    }
}

fn escape(err: contain::Escape) -> Unrunnable {
    let path = match &err {
        contain::Escape::Outside { path }
        | contain::Escape::LinkOutside { path }
        | contain::Escape::GitDir { path }
        | contain::Escape::Missing { path } => path.clone(),
    };
    Unrunnable::new(err.to_string(), err.help()).at(path)
}

/// Runs one configured entry.
type Runner<'a> = Box<dyn Fn(&Context<'_>) -> Result<Judgement, Unrunnable> + Send + Sync + 'a>;

/// One configured entry, ready to run.
struct Entry<'a> {
    probe: &'static str,
    index: usize,
    name: String,
    facets: Vec<&'static str>,
    run: Runner<'a>,
}

impl<'a> Entry<'a> {
    fn of<P: Probe + Send + Sync>(probe: &'static str, index: usize, p: &'a P) -> Entry<'a> {
        Entry {
            probe,
            index,
            name: p.name().map_or_else(|| p.label(), str::to_string),
            facets: p.facets(),
            run: Box::new(move |ctx| p.run(ctx)),
        }
    }
}

/// A configured probe, without running it: what the base revision's config
/// (or a run with probes off) claims.
#[derive(Debug, Clone)]
pub struct Configured {
    pub probe: &'static str,
    pub name: String,
    pub tests: Vec<String>,
    pub config_line: Option<usize>,
}

/// Which rubric tests a probe entry serves, given the probe's name and the
/// entry's facets: the caller asks the catalogue, whose check files declare it.
pub type TestsServed<'a> = &'a dyn Fn(&str, &[&str]) -> Vec<String>;

/// The probes `config` configures, with the tests each serves and its line in
/// `text` (the config file's text).
pub fn configured(config: &ProbesConfig, tests: TestsServed<'_>, text: &str) -> Vec<Configured> {
    config
        .entries()
        .into_iter()
        .map(|e| Configured {
            probe: e.probe,
            tests: tests(e.probe, &e.facets),
            config_line: line_of(text, e.probe, e.index),
            name: e.name,
        })
        .collect()
}

/// Runs every configured probe on the working tree at `ctx.root`.
pub fn run_all(
    config: &ProbesConfig,
    tests: TestsServed<'_>,
    text: &str,
    ctx: &Context<'_>,
) -> Vec<ProbeOutcome> {
    // One after another: each polars query already uses every core, and a
    // polars query started from a rayon task can re-enter polars' own runtime.
    config
        .entries()
        .into_iter()
        .map(|e| {
            let tests = tests(e.probe, &e.facets);
            let config_line = line_of(text, e.probe, e.index);
            match (e.run)(ctx) {
                Ok(j) => ProbeOutcome {
                    probe: e.probe,
                    name: e.name,
                    tests,
                    status: if j.passed {
                        ProbeStatus::Passed
                    } else {
                        ProbeStatus::Failed
                    },
                    summary: j.summary,
                    details: j.details,
                    failures: j.failures,
                    path: j.path,
                    config_line,
                },
                Err(u) => ProbeOutcome {
                    probe: e.probe,
                    name: e.name,
                    tests,
                    status: ProbeStatus::Error,
                    summary: u.message,
                    failures: usize::from(!u.help.is_empty()),
                    details: if u.help.is_empty() {
                        Vec::new()
                    } else {
                        vec![format!("fix: {}", u.help)]
                    },
                    path: u.path,
                    config_line,
                },
            }
        })
        .collect()
}

fn line_of(text: &str, probe: &str, index: usize) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    let span = crate::yaml_span::key_span(text, &["probes", probe, &index.to_string()]);
    (span.offset() > 0).then(|| crate::yaml_span::line_of(text, span.offset()))
}

/// The metric policies of `metrics:` act as one more probe, `regression`,
/// with a facet per kind of metric (`regression.quality`, …).
pub const REGRESSION: ProbeInfo = ProbeInfo {
    name: "regression",
    example:
        "metrics:\n  policies:\n    eval.auc: {direction: higher, min: 0.8, max_regression: 0.01}\n",
    facets: &["quality", "latency", "throughput", "memory"],
    starter: None,
};

/// Whether a check file may name `probe` (`name` or `name.facet`).
pub fn is_known(probe: &str) -> bool {
    let (name, facet) = match probe.split_once('.') {
        Some((name, facet)) => (name, Some(facet)),
        None => (probe, None),
    };
    REGISTRY
        .iter()
        .chain([&REGRESSION])
        .find(|p| p.name == name)
        .is_some_and(|p| facet.is_none_or(|f| p.facets.contains(&f)))
}

/// The names check files may use, for messages.
pub fn known_names() -> Vec<String> {
    REGISTRY
        .iter()
        .chain([&REGRESSION])
        .flat_map(|p| {
            std::iter::once(p.name.to_string())
                .chain(p.facets.iter().map(move |f| format!("{}.{f}", p.name)))
        })
        .collect()
}

/// A starting `mlscore.yaml` entry for a probe (facets ignored), as `explain`
/// prints it; the README's "Probes" section documents every key.
pub fn example(probe: &str) -> Option<&'static str> {
    let name = probe.split('.').next().unwrap_or(probe);
    REGISTRY
        .iter()
        .chain([&REGRESSION])
        .find(|p| p.name == name)
        .map(|p| p.example)
}

/// Reads a setting that takes one path or a list of paths.
pub fn paths<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    match Raw::deserialize(de) {
        Ok(Raw::One(p)) => Ok(vec![p]),
        Ok(Raw::Many(list)) if !list.is_empty() => Ok(list),
        Ok(Raw::Many(_)) => Err(serde::de::Error::custom(
            "the list of paths is empty; name at least one file",
        )),
        Err(_) => Err(serde::de::Error::custom(
            "expected a path or a list of paths, e.g. `data/train.csv` or `[data/a.csv, data/b.csv]`",
        )),
    }
}

/// A number as shown beside its threshold: at most 4 decimals, no trailing zeros.
pub fn num(value: f64) -> String {
    crate::text::number::number(value, crate::text::number::PROBE)
}

/// `12 of 1,000 (1.2%)`.
pub fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return format!("{part}");
    }
    format!(
        "{part} of {whole} ({}%)",
        num(100.0 * part as f64 / whole as f64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_capped_and_say_how_much_was_left_out() {
        let lines = |n: usize, w: &str| (0..n).map(|i| format!("{w} {i}")).collect::<Vec<_>>();
        let j = Judgement::from_lists("s".into(), lines(130, "bad"), lines(60, "ok"), None);
        assert!(!j.passed);
        assert_eq!(j.failures, 101);
        assert_eq!(
            j.details[100],
            "… and 30 more failing (this list stops at 100)"
        );
        assert_eq!(j.details.len(), 101 + 51);
        assert_eq!(
            j.details[151],
            "… and 10 more passing (this list stops at 50)"
        );
        let j = Judgement::from_lists("s".into(), vec![], lines(3, "ok"), None);
        assert!(j.passed);
        assert_eq!((j.failures, j.details.len()), (0, 3));
    }

    #[test]
    fn numbers_are_shown_short_and_exact_enough() {
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(-0.00001), "-1.00e-5");
        assert_eq!(num(3.2e-12), "3.20e-12");
        assert_eq!(num(0.00005), "0.0001");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(share(3, 200), "3 of 200 (1.5%)");
    }

    use crate::rubric::Catalogue;

    #[test]
    fn every_probe_a_check_names_has_an_example_that_parses() {
        let catalogue = Catalogue::embedded().unwrap();
        for check in &catalogue.checks {
            for probe in &check.probes {
                let text = example(probe).unwrap_or_else(|| panic!("no example for {probe}"));
                let config: crate::config::Config =
                    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{probe}: {e}\n{text}"));
                let found = configured(&config.probes, &|p, f| catalogue.tests_served(p, f), text);
                if config.metrics.policies.is_empty() {
                    let name = probe.split('.').next().unwrap();
                    assert!(
                        found
                            .iter()
                            .any(|c| c.probe == name && c.tests.contains(&check.id)),
                        "{probe} for {}",
                        check.id
                    );
                }
            }
        }
    }

    #[test]
    fn configured_probes_name_their_tests_and_lines() {
        let text = "probes:\n  schema:\n    - data: a.csv\n      schema: s.yaml\n    - data: b.csv\n      schema: s.yaml\n      serving: true\n  staleness:\n    - artifacts: [m.pkl]\n      max_age: 30d\n";
        let config: crate::config::Config = serde_yaml::from_str(text).unwrap();
        let catalogue = Catalogue::embedded().unwrap();
        let found = configured(&config.probes, &|p, f| catalogue.tests_served(p, f), text);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].tests, vec!["data-1"]);
        assert_eq!(found[0].config_line, Some(3));
        assert_eq!(found[1].tests, vec!["data-1", "monitor-2"]);
        assert_eq!(found[1].config_line, Some(5));
        assert_eq!(found[2].probe, "staleness");
        assert_eq!(found[2].tests, vec!["model-4", "monitor-4"]);
        assert_eq!(found[2].name, "m.pkl");
    }
}
