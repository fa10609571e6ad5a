//! The `reproducible` probe (infra-1): two or more training runs of the same
//! code and data report the same metrics, within a tolerance.

use serde::Deserialize;

use super::{num, Context, Judgement, Probe, Unrunnable};

/// `probes.reproducible[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReproducibleProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The metric files of two or more runs.
    pub runs: Vec<String>,
    /// Metric names or globs to compare; default: every numeric metric the
    /// runs share.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Allowed absolute difference. Default: 0.
    #[serde(default)]
    pub tolerance: f64,
    /// Allowed difference in percent of the larger magnitude. Default: 1.
    #[serde(default = "one")]
    pub tolerance_pct: f64,
}

fn one() -> f64 {
    1.0
}

impl Probe for ReproducibleProbe {
    const EXAMPLE: &'static str =
        "probes:\n  reproducible:\n    - runs: [reports/run_seed1.json, reports/run_seed2.json]\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        self.runs.join(" vs ")
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        if self.runs.len() < 2 {
            return Err(Unrunnable::new(
                "reproducible: needs the metric files of at least two runs",
                "list them, e.g. `runs: [metrics/run1.json, metrics/run2.json]`",
            ));
        }
        let globs = crate::glob::compile_set(&self.metrics).map_err(|(glob, why)| {
            Unrunnable::new(
                format!("metrics: `{glob}` is not a valid name or glob ({why})"),
                "write metric names such as `accuracy` or globs such as `eval.*`",
            )
        })?;
        let runs = self
            .runs
            .iter()
            .map(|r| ctx.metrics(r))
            .collect::<Result<Vec<_>, _>>()?;
        let (first_file, first) = &runs[0];
        let names: Vec<&String> = first
            .iter()
            .filter(|(_, v)| v.as_number().is_some())
            .map(|(k, _)| k)
            .filter(|k| self.metrics.is_empty() || globs.is_match(k.as_str()))
            .collect();
        if names.is_empty() {
            return Err(Unrunnable::new(
                format!("{first_file} has no numeric metric to compare"),
                "check `metrics:` against the names in the file",
            )
            .at(first_file));
        }
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        let mut largest = 0.0f64;
        for name in &names {
            let a = first[*name].as_number().unwrap_or(f64::NAN);
            for (file, other) in &runs[1..] {
                let Some(b) = other.get(*name).and_then(|v| v.as_number()) else {
                    failures.push(format!("{name}: in {first_file} but not in {file}"));
                    continue;
                };
                let diff = (a - b).abs();
                let allowed = self
                    .tolerance
                    .max(self.tolerance_pct / 100.0 * a.abs().max(b.abs()));
                let same = diff <= allowed || (a.is_nan() && b.is_nan()) || a == b;
                if !diff.is_nan() {
                    largest = largest.max(diff);
                }
                let line = format!(
                    "{name}: {} in {first_file}, {} in {file}, difference {} (allowed {})",
                    num(a),
                    num(b),
                    num(diff),
                    num(allowed)
                );
                if same {
                    notes.push(line);
                } else {
                    failures.push(line);
                }
            }
        }
        let summary = format!(
            "{} metric{} across {} runs: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            runs.len(),
            if failures.is_empty() {
                format!("agree (largest difference {})", num(largest))
            } else {
                format!("{} differ beyond the tolerance", failures.len())
            }
        );
        Ok(Judgement::from_lists(
            summary,
            failures,
            notes,
            Some(first_file.clone()),
        ))
    }
}
