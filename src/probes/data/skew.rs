//! Training/serving skew (drift) between two data files, column by column:
//! `mlscore data skew` and the `skew` probe.
//!
//! Numeric columns get PSI, Jensen–Shannon distance, the two-sample
//! Kolmogorov–Smirnov statistic and p-value, and the normalized Wasserstein
//! distance; categorical columns get the chi-square p-value, the L-infinity
//! distance, Jensen–Shannon distance and the share of unseen levels (see
//! [`crate::probes::stats`] for each statistic's exact convention). Each
//! statistic is judged against its threshold ([`SkewThresholds`]); a column
//! drifts when any of them crosses.
//!
//! Cost: only the compared columns are read, with polars' streaming engine,
//! and no polars column of a whole file is ever built: batches stream into
//! one `Vec<f64>` per numeric column and side, and into level counts per
//! categorical column. Each numeric sample is sorted once (as `u64` order
//! keys, which sort faster than `f64::total_cmp`) and every statistic is read
//! off the two sorted samples. Columns are compared in parallel while the
//! next one is read, with at most [`MEMORY_BUDGET`] bytes of numbers per side
//! being compared at a time. A Parquet file is read one column at a time
//! (projection is cheap); a text file (CSV, NDJSON) is parsed once, its
//! numbers kept in memory when they fit the budget and spilled to anonymous
//! temporary files otherwise.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::progress::Progress;
use super::read::{self, DataFormat};
use super::schema::{ColumnRules, ColumnType, DataSchema};
use super::DataError;
use crate::probes::stats::{
    self, CategoryCounts, Dropped, KsMethod, NumericSample, StatsError, DEFAULT_BINS,
};
use crate::text::number::thousands;

/// Bytes of column values (per side) held in memory at once, roughly: it
/// bounds how many columns are read and sorted together.
pub const MEMORY_BUDGET: u64 = 512 << 20;

/// A categorical column with more distinct values than this on either side
/// is skipped: it is an identifier or free text, not a category.
pub const MAX_LEVELS: usize = 100_000;

/// How many unseen levels a column lists as examples (the most frequent).
pub const UNSEEN_EXAMPLES: usize = 3;

/// The bounds a comparison runs within ([`MEMORY_BUDGET`], [`MAX_LEVELS`]);
/// tests shrink them to reach the temporary-file and too-many-levels paths.
#[derive(Debug, Clone, Copy)]
struct Limits {
    memory_budget: u64,
    max_levels: usize,
    count_text_up_to: u64,
}

const LIMITS: Limits = Limits {
    memory_budget: MEMORY_BUDGET,
    max_levels: MAX_LEVELS,
    count_text_up_to: COUNT_TEXT_UP_TO,
};

// ---------------------------------------------------------------------------
// Thresholds

/// A statistic that can be thresholded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkewStatistic {
    /// Population Stability Index over 10 reference-quantile bins (numeric).
    Psi,
    /// Jensen–Shannon distance (√divergence, log base 2), numeric or categorical.
    JsDistance,
    /// Kolmogorov–Smirnov D = sup |F_ref − F_cur| (numeric).
    KsStatistic,
    /// Kolmogorov–Smirnov p-value (numeric); drift when *below* the threshold.
    KsPValue,
    /// Wasserstein-1 distance divided by the reference's standard deviation (numeric).
    Wasserstein,
    /// Chi-square goodness-of-fit p-value (categorical); drift when *below*.
    Chi2PValue,
    /// L-infinity distance max |p − q| between level proportions (categorical).
    Linf,
    /// Fraction of current values whose level the reference never had (categorical).
    Unseen,
}

impl SkewStatistic {
    /// Every statistic, in report order (numeric ones, then categorical ones).
    pub const ALL: [SkewStatistic; 8] = [
        SkewStatistic::Psi,
        SkewStatistic::JsDistance,
        SkewStatistic::KsStatistic,
        SkewStatistic::KsPValue,
        SkewStatistic::Wasserstein,
        SkewStatistic::Chi2PValue,
        SkewStatistic::Linf,
        SkewStatistic::Unseen,
    ];

    /// The key naming it in a `skew:` block and in reports.
    pub fn key(self) -> &'static str {
        match self {
            SkewStatistic::Psi => "psi",
            SkewStatistic::JsDistance => "js_distance",
            SkewStatistic::KsStatistic => "ks_statistic",
            SkewStatistic::KsPValue => "ks_p_value",
            SkewStatistic::Wasserstein => "wasserstein",
            SkewStatistic::Chi2PValue => "chi2_p_value",
            SkewStatistic::Linf => "linf",
            SkewStatistic::Unseen => "unseen",
        }
    }

    /// Which side of its threshold a drifted value lies on.
    pub fn drift_when(self) -> DriftWhen {
        match self {
            SkewStatistic::KsPValue | SkewStatistic::Chi2PValue => DriftWhen::Below,
            _ => DriftWhen::Above,
        }
    }

    /// The built-in threshold, used when no layer sets one.
    pub fn default_threshold(self) -> Threshold {
        match self {
            SkewStatistic::Psi => Threshold::Limit(0.2),
            SkewStatistic::JsDistance => Threshold::Limit(0.1),
            SkewStatistic::KsStatistic => Threshold::Limit(0.1),
            // On millions of rows every p-value is ~0 for shifts nobody
            // cares about: reported, not judged, unless asked.
            SkewStatistic::KsPValue | SkewStatistic::Chi2PValue => Threshold::Off,
            SkewStatistic::Wasserstein => Threshold::Limit(0.1),
            SkewStatistic::Linf => Threshold::Limit(0.1),
            SkewStatistic::Unseen => Threshold::Limit(0.01),
        }
    }

    /// The largest meaningful threshold: 1 for statistics in [0, 1], none
    /// for PSI and the normalized Wasserstein distance.
    fn max_threshold(self) -> Option<f64> {
        match self {
            SkewStatistic::Psi | SkewStatistic::Wasserstein => None,
            _ => Some(1.0),
        }
    }
}

impl fmt::Display for SkewStatistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Which side of its threshold a drifted value lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftWhen {
    /// Distances: drift when the value is strictly above the threshold.
    Above,
    /// p-values: drift when the value is strictly below the threshold.
    Below,
}

/// One statistic's threshold: a number, or `off` (reported, never judged).
/// In YAML: `psi: 0.25`, `ks_p_value: off` (`false` also means off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// The statistic is computed and shown but never makes a column drift.
    Off,
    /// The limit the statistic is compared with.
    Limit(f64),
}

impl Threshold {
    /// Whether `value` crosses this threshold for `statistic`.
    pub fn crossed_by(self, statistic: SkewStatistic, value: f64) -> bool {
        match self {
            Threshold::Off => false,
            Threshold::Limit(limit) => match statistic.drift_when() {
                DriftWhen::Above => value > limit,
                DriftWhen::Below => value < limit,
            },
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Off => f.write_str("off"),
            Threshold::Limit(limit) => write!(f, "{limit}"),
        }
    }
}

impl Serialize for Threshold {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Threshold::Off => serializer.serialize_str("off"),
            Threshold::Limit(limit) => serializer.serialize_f64(*limit),
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or `off`")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v as f64))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Threshold, E> {
                // YAML 1.1 readers turn `off` into false; accept it as such.
                if v {
                    Err(E::invalid_type(serde::de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Threshold::Off)
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Threshold, E> {
                if v.eq_ignore_ascii_case("off") {
                    Ok(Threshold::Off)
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Drift thresholds, one per statistic. `None` (absent or `null` in YAML)
/// means "inherit": a column's block falls back to the schema's top-level
/// block, then to the caller's defaults, then to the built-in default of
/// each statistic ([`SkewStatistic::default_threshold`]).
///
/// [`Default`] is the built-in set: PSI 0.2, Jensen–Shannon distance 0.1,
/// KS statistic 0.1, normalized Wasserstein 0.1, L-infinity 0.1, unseen
/// fraction 0.01, and both p-values `off`. A deserialized block leaves
/// every key it does not name as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewThresholds {
    /// PSI above which a numeric column drifts (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<Threshold>,
    /// Jensen–Shannon distance (base 2) above which a column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_distance: Option<Threshold>,
    /// KS statistic D above which a numeric column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks_statistic: Option<Threshold>,
    /// KS p-value below which a numeric column drifts (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks_p_value: Option<Threshold>,
    /// Normalized Wasserstein distance above which a numeric column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein: Option<Threshold>,
    /// Chi-square p-value below which a categorical column drifts (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chi2_p_value: Option<Threshold>,
    /// L-infinity distance above which a categorical column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linf: Option<Threshold>,
    /// Unseen-level fraction above which a categorical column drifts (default 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen: Option<Threshold>,
}

impl Default for SkewThresholds {
    fn default() -> Self {
        let mut thresholds = SkewThresholds::UNSET;
        for statistic in SkewStatistic::ALL {
            *thresholds.slot(statistic) = Some(statistic.default_threshold());
        }
        thresholds
    }
}

/// A threshold outside the range its statistic can take.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {value} is not a valid threshold")]
pub struct InvalidThreshold {
    /// The statistic's key (`psi`, `unseen`, ...).
    pub key: &'static str,
    /// The value given.
    pub value: f64,
    /// What a valid value looks like.
    pub help: String,
}

impl SkewThresholds {
    /// Every statistic unset: inherit everything.
    pub const UNSET: SkewThresholds = SkewThresholds {
        psi: None,
        js_distance: None,
        ks_statistic: None,
        ks_p_value: None,
        wasserstein: None,
        chi2_p_value: None,
        linf: None,
        unseen: None,
    };

    /// The threshold this block sets for `statistic`, if any.
    pub fn get(&self, statistic: SkewStatistic) -> Option<Threshold> {
        match statistic {
            SkewStatistic::Psi => self.psi,
            SkewStatistic::JsDistance => self.js_distance,
            SkewStatistic::KsStatistic => self.ks_statistic,
            SkewStatistic::KsPValue => self.ks_p_value,
            SkewStatistic::Wasserstein => self.wasserstein,
            SkewStatistic::Chi2PValue => self.chi2_p_value,
            SkewStatistic::Linf => self.linf,
            SkewStatistic::Unseen => self.unseen,
        }
    }

    fn slot(&mut self, statistic: SkewStatistic) -> &mut Option<Threshold> {
        match statistic {
            SkewStatistic::Psi => &mut self.psi,
            SkewStatistic::JsDistance => &mut self.js_distance,
            SkewStatistic::KsStatistic => &mut self.ks_statistic,
            SkewStatistic::KsPValue => &mut self.ks_p_value,
            SkewStatistic::Wasserstein => &mut self.wasserstein,
            SkewStatistic::Chi2PValue => &mut self.chi2_p_value,
            SkewStatistic::Linf => &mut self.linf,
            SkewStatistic::Unseen => &mut self.unseen,
        }
    }

    /// This block's thresholds, with the ones it leaves unset taken from
    /// `fallback`.
    pub fn or(&self, fallback: &SkewThresholds) -> SkewThresholds {
        let mut merged = *self;
        for statistic in SkewStatistic::ALL {
            let slot = merged.slot(statistic);
            if slot.is_none() {
                *slot = fallback.get(statistic);
            }
        }
        merged
    }

    /// The threshold that applies to `statistic`: this block's, else the
    /// built-in default.
    pub fn resolved(&self, statistic: SkewStatistic) -> Threshold {
        self.get(statistic)
            .unwrap_or_else(|| statistic.default_threshold())
    }

    /// Checks that every threshold set is a finite number in its
    /// statistic's range: ≥ 0, and ≤ 1 for everything but PSI and the
    /// normalized Wasserstein distance.
    pub fn check(&self) -> Result<(), InvalidThreshold> {
        for statistic in SkewStatistic::ALL {
            let Some(Threshold::Limit(value)) = self.get(statistic) else {
                continue;
            };
            let max = statistic.max_threshold();
            let valid = value.is_finite() && value >= 0.0 && max.is_none_or(|m| value <= m);
            if !valid {
                let key = statistic.key();
                let range = match max {
                    Some(_) => "a number between 0 and 1",
                    None => "a number ≥ 0",
                };
                return Err(InvalidThreshold {
                    key,
                    value,
                    help: format!(
                        "write `{key}` as {range}, or `off` to report it without judging"
                    ),
                });
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The report

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// As numbers: PSI, Jensen–Shannon, KS, Wasserstein.
    Numeric,
    /// As categories (text, booleans, `allowed` sets): chi-square,
    /// L-infinity, Jensen–Shannon, unseen levels.
    Categorical,
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        })
    }
}

/// What became of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnVerdict {
    /// Compared; no statistic crossed its threshold.
    Stable,
    /// Compared; at least one statistic crossed its threshold.
    Drifted,
    /// In the reference, not in the current file: an error.
    Missing,
    /// In the current file only: a warning, nothing to compare against.
    New,
    /// No usable value left on a side (no rows, all null, all NaN/±Inf).
    /// An error when the reference has values and the current file has
    /// none; a warning otherwise.
    Empty,
    /// Not compared (a type with no distribution to compare, or too many
    /// distinct values for a category); a warning.
    Skipped,
}

/// A pair of numbers, one per file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pair<T> {
    /// In the reference file.
    pub reference: T,
    /// In the current file.
    pub current: T,
}

/// One statistic beside its threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticResult {
    /// Which statistic.
    pub statistic: SkewStatistic,
    /// Its value.
    pub value: f64,
    /// The threshold applied (`off`: reported only).
    pub threshold: Threshold,
    /// Which side of the threshold means drift.
    pub drift_when: DriftWhen,
    /// Whether the value crossed the threshold.
    pub drifted: bool,
}

impl StatisticResult {
    fn judge(statistic: SkewStatistic, value: f64, thresholds: &SkewThresholds) -> Self {
        let threshold = thresholds.resolved(statistic);
        StatisticResult {
            statistic,
            value,
            threshold,
            drift_when: statistic.drift_when(),
            drifted: threshold.crossed_by(statistic, value),
        }
    }
}

/// Current levels the reference never had.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unseen {
    /// How many distinct unseen levels.
    pub levels: usize,
    /// How many current values belong to them.
    pub count: u64,
    /// `count` over the current column's non-null values.
    pub fraction: f64,
    /// The most frequent unseen levels, up to [`UNSEEN_EXAMPLES`].
    pub examples: Vec<String>,
}

/// Figures behind a numeric column's statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericDetails {
    /// Quantile bins PSI and Jensen–Shannon used (10, fewer when cuts tie).
    pub bins: usize,
    /// Jensen–Shannon divergence in bits (the distance squared).
    pub js_divergence: f64,
    /// How the KS p-value was computed.
    pub ks_method: KsMethod,
    /// Wasserstein-1 distance in the column's own units.
    pub wasserstein_distance: f64,
    /// Means of the usable values.
    pub mean: Pair<f64>,
    /// Population standard deviation of the reference (the Wasserstein
    /// normalizer, floored at 0.001).
    pub reference_std: f64,
}

/// Figures behind a categorical column's statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoricalDetails {
    /// Distinct levels on each side.
    pub levels: Pair<usize>,
    /// Chi-square statistic over the reference's levels (absent when no
    /// current value has a reference level).
    pub chi2_statistic: Option<f64>,
    /// Its degrees of freedom: reference levels − 1.
    pub chi2_df: Option<u64>,
    /// Jensen–Shannon divergence in bits.
    pub js_divergence: f64,
    /// The level where the L-infinity distance is reached.
    pub linf_level: String,
}

/// The comparison of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSkew {
    /// The column's name.
    pub column: String,
    /// How it was (or would have been) compared; absent for a skipped type.
    pub kind: Option<ColumnKind>,
    /// What became of it.
    pub verdict: ColumnVerdict,
    /// Whether it counts against the data: drifted, missing from the current
    /// file, or emptied in it.
    pub failed: bool,
    /// Usable values on each side (non-null, finite).
    pub values: Pair<u64>,
    /// Null values on each side.
    pub nulls: Pair<u64>,
    /// NaN and ±∞ values dropped on each side (numeric columns).
    pub dropped: Dropped,
    /// Each statistic beside its threshold.
    pub statistics: Vec<StatisticResult>,
    /// Unseen levels (categorical columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unseen: Option<Unseen>,
    /// Numeric figures behind the statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericDetails>,
    /// Categorical figures behind the statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categorical: Option<CategoricalDetails>,
    /// Why a column was skipped, compared differently, or left a statistic out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ColumnSkew {
    fn bare(column: &str, kind: Option<ColumnKind>, verdict: ColumnVerdict) -> Self {
        ColumnSkew {
            column: column.to_owned(),
            kind,
            verdict,
            failed: verdict == ColumnVerdict::Missing,
            values: Pair::default(),
            nulls: Pair::default(),
            dropped: Dropped::default(),
            statistics: Vec::new(),
            unseen: None,
            numeric: None,
            categorical: None,
            notes: Vec::new(),
        }
    }
}

/// One compared file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// The path as given.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// Columns in the file.
    pub columns: usize,
}

/// Column counts by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SkewSummary {
    /// Columns compared (stable or drifted).
    pub compared: usize,
    /// Columns whose statistics crossed a threshold.
    pub drifted: usize,
    /// Reference columns absent from the current file.
    pub missing: usize,
    /// Current columns absent from the reference.
    pub new: usize,
    /// Columns with no usable value on a side.
    pub empty: usize,
    /// Columns not compared.
    pub skipped: usize,
    /// Columns that fail: drifted + missing + emptied in the current file.
    pub failed: usize,
}

/// The skew between two files: the files, every column's comparison, and
/// the counts by verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkewReport {
    /// The reference file (training data, a baseline).
    pub reference: FileSummary,
    /// The current file (serving data, a new batch).
    pub current: FileSummary,
    /// Columns by verdict.
    pub summary: SkewSummary,
    /// One entry per column, in the schema's order or the reference's (then
    /// columns new in the current file).
    pub columns: Vec<ColumnSkew>,
}

impl SkewReport {
    /// Columns that fail: drifted, missing from the current file, or with no
    /// usable value left in it while the reference has some. Non-zero fails
    /// the gate.
    pub fn drifted(&self) -> usize {
        self.columns.iter().filter(|column| column.failed).count()
    }
}

// ---------------------------------------------------------------------------
// Comparing two files

/// Compares `current` with `reference` column by column.
///
/// Without a schema every column of the reference is compared (its kind from
/// its type), columns missing from `current` fail and columns new in it are
/// warnings. With a schema only its columns are compared, categorical when
/// its `type` is `string` or `bool` or it lists `allowed` values, numeric
/// otherwise; a required schema column absent from the reference is an
/// input error. Thresholds come from the column's `skew:` block, then the
/// schema's top-level `skew:`, then `defaults`, then the built-in defaults.
pub fn skew(
    reference: &Path,
    current: &Path,
    schema: Option<&DataSchema>,
    defaults: &SkewThresholds,
) -> Result<SkewReport, DataError> {
    skew_within(reference, current, schema, defaults, LIMITS)
}

fn skew_within(
    reference: &Path,
    current: &Path,
    schema: Option<&DataSchema>,
    defaults: &SkewThresholds,
    limits: Limits,
) -> Result<SkewReport, DataError> {
    let mut reference = Side::open(reference, limits)?;
    let mut current = Side::open(current, limits)?;
    let schema_defaults = schema
        .and_then(|s| s.skew.as_ref())
        .map_or(*defaults, |block| block.or(defaults));

    let mut entries: Vec<Entry> = Vec::new();
    match schema {
        Some(schema) => {
            for (name, rules) in &schema.columns {
                let (in_reference, in_current) = (
                    reference.columns.contains(name),
                    current.columns.contains(name),
                );
                let optional = rules.required == Some(false);
                if !in_reference && !optional {
                    return Err(DataError::Read {
                        path: reference.shown(),
                        reason: format!("the schema's column `{name}` is not in this file"),
                        help: format!(
                            "pass the reference file the schema describes, mark `{name}` \
                             `required: false`, or remove it from the schema"
                        ),
                    });
                }
                if !in_reference || (!in_current && optional) {
                    // Optional columns are compared only when both files have them.
                    continue;
                }
                let thresholds = rules
                    .skew
                    .as_ref()
                    .map_or(schema_defaults, |block| block.or(&schema_defaults));
                entries.push(plan(name, Some(rules), &reference, &current, thresholds));
            }
        }
        None => {
            for name in reference.columns.iter_names() {
                entries.push(plan(name, None, &reference, &current, schema_defaults));
            }
            for (name, dtype) in current.columns.iter() {
                if !reference.columns.contains(name) {
                    entries.push(Entry::Done(ColumnSkew::bare(
                        name,
                        kind_of(dtype).kind(),
                        ColumnVerdict::New,
                    )));
                }
            }
        }
    }

    compare_planned(&mut reference, &mut current, &mut entries, limits)?;
    let columns: Vec<ColumnSkew> = entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Done(column) => column,
            // compare_planned replaces every planned entry.
            Entry::Planned(planned) => {
                ColumnSkew::bare(&planned.name, None, ColumnVerdict::Skipped)
            }
        })
        .collect();
    Ok(SkewReport {
        reference: reference.summary()?,
        current: current.summary()?,
        summary: summarize(&columns),
        columns,
    })
}

fn summarize(columns: &[ColumnSkew]) -> SkewSummary {
    let mut summary = SkewSummary::default();
    for column in columns {
        match column.verdict {
            ColumnVerdict::Stable => summary.compared += 1,
            ColumnVerdict::Drifted => {
                summary.compared += 1;
                summary.drifted += 1;
            }
            ColumnVerdict::Missing => summary.missing += 1,
            ColumnVerdict::New => summary.new += 1,
            ColumnVerdict::Empty => summary.empty += 1,
            ColumnVerdict::Skipped => summary.skipped += 1,
        }
        summary.failed += usize::from(column.failed);
    }
    summary
}

/// Text files at most this big have their rows counted when opened;
/// bigger ones are counted by the pass that reads them, since counting
/// lines costs about as much as parsing them.
const COUNT_TEXT_UP_TO: u64 = 16 << 20;

/// A file opened lazily, with its columns and, once known, its row count.
struct Side<'a> {
    path: &'a Path,
    frame: LazyFrame,
    columns: Schema,
    /// Known when opened for Parquet (its footer says) and small text
    /// files, after the reading pass for big text files.
    rows: Option<u64>,
    /// Whether reading one column costs only that column (Parquet), so
    /// each column is read when its turn comes.
    columnar: bool,
}

impl<'a> Side<'a> {
    fn open(path: &'a Path, limits: Limits) -> Result<Self, DataError> {
        let mut frame = read::scan(path)?;
        let columns = read::columns(path, &mut frame)?;
        let columnar = DataFormat::of(path) == Some(DataFormat::Parquet);
        let mut side = Side {
            path,
            frame,
            columns,
            rows: None,
            columnar,
        };
        if columnar || read::file_size(path) <= limits.count_text_up_to {
            side.rows = Some(side.count_rows()?);
        }
        Ok(side)
    }

    fn count_rows(&self) -> Result<u64, DataError> {
        let counted = self
            .frame
            .clone()
            .select([len().alias("rows")])
            .collect_with_engine(Engine::Streaming)
            .map_err(|err| read::read_error(self.path, &err))?;
        Ok(counted
            .column("rows")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0))
    }

    /// Whether the file is known to have no rows (its types then say
    /// nothing: a header-only CSV reads as text).
    fn is_empty(&self) -> bool {
        self.rows == Some(0)
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn summary(&self) -> Result<FileSummary, DataError> {
        let rows = match self.rows {
            Some(rows) => rows,
            // No column was read from it (all missing): count now.
            None => self.count_rows()?,
        };
        Ok(FileSummary {
            path: self.shown(),
            rows,
            columns: self.columns.len(),
        })
    }

    /// Streams the given columns, cast for their comparison, through one
    /// pass over the file: numbers are copied out (into memory, moved to
    /// anonymous temporary files once they outgrow `budget` bytes),
    /// categories are counted as the batches pass, so no polars column of
    /// the whole file is built. Learns the row count on the way.
    fn collect(
        &mut self,
        planned: &[&Planned],
        budget: u64,
        max_levels: usize,
    ) -> Result<Vec<Collected>, DataError> {
        let exprs: Vec<Expr> = planned
            .iter()
            .map(|p| {
                let dtype = self.columns.get(p.name.as_str()).unwrap_or(&DataType::Null);
                read_expr(&p.name, p.kind, dtype)
            })
            .collect();
        // Known rows (Parquet) size each column's buffer once.
        let capacity = match self.rows {
            Some(rows) if rows.saturating_mul(8) <= budget => usize::try_from(rows).unwrap_or(0),
            _ => 0,
        };
        let accumulators = planned
            .iter()
            .map(|p| Accumulator::new(p.kind, capacity, max_levels))
            .collect();
        let collector = Arc::new(Mutex::new(Collector {
            accumulators,
            rows: 0,
            budget,
            failure: None,
        }));
        let sink = Arc::clone(&collector);
        let bar = Arc::new(Progress::start(
            &format!("comparing {}", read::file_name(self.path)),
            read::file_size(self.path),
        ));
        let seen = Arc::clone(&bar);
        let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
            seen.add_rows(batch.height() as u64);
            let mut collector = sink.lock().unwrap_or_else(|p| p.into_inner());
            Ok(collector.add(&batch))
        });
        self.frame
            .clone()
            .select(exprs)
            .sink_batches(callback, false, None)
            .and_then(|frame| frame.collect_with_engine(Engine::Streaming))
            .map_err(|err| read::read_error(self.path, &err))?;
        let collector = std::mem::replace(
            &mut *collector.lock().unwrap_or_else(|p| p.into_inner()),
            Collector {
                accumulators: Vec::new(),
                rows: 0,
                budget,
                failure: None,
            },
        );
        if let Some(err) = collector.failure {
            return Err(self.spill_error(&err));
        }
        self.rows = Some(collector.rows);
        collector
            .accumulators
            .into_iter()
            .map(Accumulator::finish)
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|err| self.spill_error(&err))
    }

    fn spill_error(&self, err: &std::io::Error) -> DataError {
        DataError::Read {
            path: self.shown(),
            reason: format!("cannot write its values to a temporary file: {err}"),
            help: "free disk space in the temporary folder, or point TMPDIR at a folder with room"
                .into(),
        }
    }
}

/// The expression reading a column as the values its kind compares:
/// `f64` for numeric columns (temporal ones by their integer physical
/// value: days, or time units since the epoch), text for categorical ones.
fn read_expr(name: &str, kind: ColumnKind, dtype: &DataType) -> Expr {
    let column = col(name);
    match kind {
        ColumnKind::Numeric if dtype.is_temporal() => {
            column.cast(DataType::Int64).cast(DataType::Float64)
        }
        ColumnKind::Numeric => column.cast(DataType::Float64),
        ColumnKind::Categorical => column.cast(DataType::String),
    }
}

/// A column to compare, or one already decided.
enum Entry {
    Planned(Planned),
    Done(ColumnSkew),
}

/// A column both files have, and how to compare it.
struct Planned {
    name: String,
    kind: ColumnKind,
    thresholds: SkewThresholds,
    /// The kind each file's type implies, for a column that turns out empty.
    dtype_kinds: Pair<Option<ColumnKind>>,
    /// Why the files' types made it categorical, shown only when both sides
    /// have values (an all-empty CSV column reads as text).
    type_note: Option<String>,
}

/// What a dtype allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DtypeKind {
    Numeric,
    Categorical,
    /// No values at all (an all-null NDJSON field): takes the other side's kind.
    Null,
    Unsupported,
}

impl DtypeKind {
    fn kind(self) -> Option<ColumnKind> {
        match self {
            DtypeKind::Numeric => Some(ColumnKind::Numeric),
            DtypeKind::Categorical => Some(ColumnKind::Categorical),
            DtypeKind::Null | DtypeKind::Unsupported => None,
        }
    }
}

fn kind_of(dtype: &DataType) -> DtypeKind {
    match dtype {
        DataType::Null => DtypeKind::Null,
        d if d.is_numeric() || d.is_temporal() => DtypeKind::Numeric,
        DataType::String | DataType::Boolean | DataType::Categorical(..) | DataType::Enum(..) => {
            DtypeKind::Categorical
        }
        _ => DtypeKind::Unsupported,
    }
}

/// The kind a schema column asks for: categorical for text, booleans and
/// `allowed` sets, numeric for numbers and dates.
fn schema_kind(rules: &ColumnRules) -> Option<ColumnKind> {
    if rules.allowed.is_some() {
        return Some(ColumnKind::Categorical);
    }
    Some(match rules.kind? {
        ColumnType::Int | ColumnType::Float | ColumnType::Date | ColumnType::Datetime => {
            ColumnKind::Numeric
        }
        ColumnType::String | ColumnType::Bool => ColumnKind::Categorical,
    })
}

/// Decides how to compare a reference column: missing, skipped, or planned.
fn plan(
    name: &str,
    rules: Option<&ColumnRules>,
    reference: &Side,
    current: &Side,
    thresholds: SkewThresholds,
) -> Entry {
    let reference_dtype = reference.columns.get(name).unwrap_or(&DataType::Null);
    let Some(current_dtype) = current.columns.get(name) else {
        let kind = rules
            .and_then(schema_kind)
            .or_else(|| kind_of(reference_dtype).kind());
        return Entry::Done(ColumnSkew::bare(name, kind, ColumnVerdict::Missing));
    };
    // A file without rows has no types to speak of (CSV headers read as
    // text): it takes the other side's.
    let kind_in = |side: &Side, dtype| match side.is_empty() {
        true => DtypeKind::Null,
        false => kind_of(dtype),
    };
    let (r, c) = (
        kind_in(reference, reference_dtype),
        kind_in(current, current_dtype),
    );
    for (side, dtype, kind) in [
        ("reference", reference_dtype, r),
        ("current", current_dtype, c),
    ] {
        if kind == DtypeKind::Unsupported {
            let mut skipped = ColumnSkew::bare(name, None, ColumnVerdict::Skipped);
            skipped.notes.push(format!(
                "the {side} file holds {dtype} values, which have no distribution to compare"
            ));
            return Entry::Done(skipped);
        }
    }
    let numeric_ok = |k: DtypeKind| matches!(k, DtypeKind::Numeric | DtypeKind::Null);
    let mut type_note = None;
    let wanted = rules.and_then(schema_kind);
    let kind = match wanted {
        Some(ColumnKind::Numeric) if !(numeric_ok(r) && numeric_ok(c)) => {
            type_note = Some(format!(
                "the schema says numeric but the files hold {reference_dtype} (reference) and \
                 {current_dtype} (current): compared as categories"
            ));
            ColumnKind::Categorical
        }
        Some(kind) => kind,
        None => match (r.kind(), c.kind()) {
            (Some(a), Some(b)) if a != b => {
                type_note = Some(format!(
                    "the files disagree on the type ({reference_dtype} in the reference, \
                     {current_dtype} in the current file): compared as categories"
                ));
                ColumnKind::Categorical
            }
            (Some(kind), _) | (None, Some(kind)) => kind,
            (None, None) => ColumnKind::Categorical,
        },
    };
    Entry::Planned(Planned {
        name: name.to_owned(),
        kind,
        thresholds,
        dtype_kinds: Pair {
            reference: r.kind(),
            current: c.kind(),
        },
        type_note,
    })
}

/// A counting semaphore: how many columns may be read or compared at once.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Permits {
    fn new(count: usize) -> Self {
        Permits {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
    }
}

/// Compares every planned entry in place, within the memory budget.
///
/// A text side (CSV, NDJSON) is streamed once up front, since each pass
/// parses the whole file; its numbers stay in memory if they fit the budget,
/// else they go to temporary files. A Parquet side is streamed one column at
/// a time, as each column's turn comes. The calling thread does the reading
/// (polars parallelizes each read on its own pool) and hands each column to
/// a rayon pool that sorts and compares it while the next is read. Reads
/// stay off the rayon workers on purpose: a worker waiting on polars steals
/// other columns' work, so reads pile up under long comparisons and memory
/// grows with them.
fn compare_planned(
    reference: &mut Side,
    current: &mut Side,
    entries: &mut [Entry],
    limits: Limits,
) -> Result<(), DataError> {
    let planned: Vec<(usize, &Planned)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| match entry {
            Entry::Planned(p) => Some((i, p)),
            Entry::Done(_) => None,
        })
        .collect();
    if planned.is_empty() {
        return Ok(());
    }
    let columns: Vec<&Planned> = planned.iter().map(|(_, p)| *p).collect();
    let up_front = |side: &mut Side| -> Result<Vec<Option<Collected>>, DataError> {
        Ok(if side.columnar {
            columns.iter().map(|_| None).collect()
        } else {
            side.collect(&columns, limits.memory_budget, limits.max_levels)?
                .into_iter()
                .map(Some)
                .collect()
        })
    };
    let (early_reference, early_current) = (up_front(reference)?, up_front(current)?);

    // A column being compared holds both sides' values, once sorted.
    let rows = reference
        .rows
        .unwrap_or(0)
        .max(current.rows.unwrap_or(0))
        .max(1);
    let comparing = (limits.memory_budget / (rows * 8)).max(1) as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = threads.min(comparing).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|err| DataError::Read {
            path: reference.shown(),
            reason: format!("cannot start worker threads: {err}"),
            help: "retry with more free memory or a higher thread limit".into(),
        })?;
    // One more than the workers, when the budget holds it: the next column
    // is read while they compare.
    let permits = Permits::new(workers + usize::from(comparing > workers));
    let results = Mutex::new(Vec::with_capacity(planned.len()));

    pool.in_place_scope(|scope| -> Result<(), DataError> {
        for ((&(i, planned), r), c) in planned.iter().zip(early_reference).zip(early_current) {
            permits.acquire();
            // One column read on its own is never spilled: it is sorted
            // in memory next anyway.
            let read = |side: &mut Side, early: Option<Collected>| match early {
                Some(collected) => Ok(collected),
                None => side
                    .collect(&[planned], u64::MAX, limits.max_levels)
                    .map(|mut one| one.remove(0)),
            };
            let (r, c) = match (read(reference, r), read(current, c)) {
                (Ok(r), Ok(c)) => (r, c),
                (Err(err), _) | (_, Err(err)) => {
                    permits.release();
                    return Err(err);
                }
            };
            let (results, permits) = (&results, &permits);
            scope.spawn(move |_| {
                let compared = compare_column(planned, r, c, limits);
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, compared));
                permits.release();
            });
        }
        Ok(())
    })?;
    for (i, column) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        entries[i] = Entry::Done(column);
    }
    Ok(())
}

/// One side of one column once read: its numbers, or its level counts.
enum Collected {
    Numbers {
        values: Stored,
        nulls: u64,
    },
    Categories {
        counts: CategoryCounts,
        /// Counting stopped past the limit of distinct values.
        overflow: bool,
    },
}

/// Numbers in memory, or in an anonymous temporary file (8 bytes each,
/// little-endian), deleted when closed.
enum Stored {
    Memory(Vec<f64>),
    Spilled { file: std::fs::File, len: usize },
}

impl Stored {
    fn load(self) -> std::io::Result<Vec<f64>> {
        use std::io::{Read, Seek};
        match self {
            Stored::Memory(values) => Ok(values),
            Stored::Spilled { mut file, len } => {
                file.rewind()?;
                let mut values = Vec::with_capacity(len);
                let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
                let mut bytes = vec![0u8; 1 << 16];
                let mut left = len * 8;
                while left > 0 {
                    let take = left.min(bytes.len());
                    reader.read_exact(&mut bytes[..take])?;
                    values.extend(
                        bytes[..take]
                            .chunks_exact(8)
                            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                    );
                    left -= take;
                }
                Ok(values)
            }
        }
    }
}

/// The batches of one streaming pass, folded into one accumulator per column.
struct Collector {
    accumulators: Vec<Accumulator>,
    /// Rows seen.
    rows: u64,
    /// Bytes of numbers kept in memory before they move to temporary files.
    budget: u64,
    /// The first temporary-file error; the pass stops there.
    failure: Option<std::io::Error>,
}

impl Collector {
    /// Folds one batch in; true stops the pass.
    fn add(&mut self, batch: &DataFrame) -> bool {
        self.rows += batch.height() as u64;
        let folded = (|| -> std::io::Result<()> {
            for (accumulator, column) in self.accumulators.iter_mut().zip(batch.columns()) {
                accumulator.add(column)?;
            }
            let in_memory: u64 = self.accumulators.iter().map(Accumulator::memory).sum();
            if in_memory > self.budget {
                for accumulator in &mut self.accumulators {
                    accumulator.spill()?;
                }
            }
            Ok(())
        })();
        match folded {
            Ok(()) => false,
            Err(err) => {
                self.failure = Some(err);
                true
            }
        }
    }
}

/// One column's values so far.
enum Accumulator {
    Numbers {
        sink: NumberSink,
        nulls: u64,
    },
    Categories {
        levels: PlHashMap<String, u64>,
        missing: u64,
        max_levels: usize,
        overflow: bool,
    },
}

enum NumberSink {
    Memory(Vec<f64>),
    Spilling {
        writer: std::io::BufWriter<std::fs::File>,
        len: usize,
    },
}

impl Accumulator {
    fn new(kind: ColumnKind, capacity: usize, max_levels: usize) -> Self {
        match kind {
            ColumnKind::Numeric => Accumulator::Numbers {
                sink: NumberSink::Memory(Vec::with_capacity(capacity)),
                nulls: 0,
            },
            ColumnKind::Categorical => Accumulator::Categories {
                levels: PlHashMap::default(),
                missing: 0,
                max_levels,
                overflow: false,
            },
        }
    }

    /// Bytes of numbers held in memory.
    fn memory(&self) -> u64 {
        match self {
            Accumulator::Numbers {
                sink: NumberSink::Memory(values),
                ..
            } => values.capacity() as u64 * 8,
            _ => 0,
        }
    }

    /// Moves the numbers held in memory to a temporary file, where the
    /// rest will follow.
    fn spill(&mut self) -> std::io::Result<()> {
        if let Accumulator::Numbers { sink, .. } = self {
            if let NumberSink::Memory(values) = sink {
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
                write_numbers(&mut writer, values)?;
                *sink = NumberSink::Spilling {
                    writer,
                    len: values.len(),
                };
            }
        }
        Ok(())
    }

    fn add(&mut self, column: &Column) -> std::io::Result<()> {
        match self {
            Accumulator::Numbers { sink, nulls } => {
                let Ok(floats) = column.f64() else {
                    return Ok(());
                };
                let batch_nulls = floats.null_count();
                *nulls += batch_nulls as u64;
                for array in floats.downcast_iter() {
                    let values: std::borrow::Cow<[f64]> = if batch_nulls == 0 {
                        std::borrow::Cow::Borrowed(array.values().as_slice())
                    } else {
                        std::borrow::Cow::Owned(array.iter().flatten().copied().collect())
                    };
                    match sink {
                        NumberSink::Memory(all) => all.extend_from_slice(&values),
                        NumberSink::Spilling { writer, len } => {
                            write_numbers(writer, &values)?;
                            *len += values.len();
                        }
                    }
                }
            }
            Accumulator::Categories {
                levels,
                missing,
                max_levels,
                overflow,
            } => {
                let Ok(text) = column.str() else {
                    return Ok(());
                };
                *missing += text.null_count() as u64;
                if *overflow {
                    return Ok(());
                }
                for level in text.iter().flatten() {
                    match levels.get_mut(level) {
                        Some(count) => *count += 1,
                        None => {
                            if levels.len() == *max_levels {
                                // An identifier, not a category: stop
                                // counting and free what was counted.
                                *overflow = true;
                                *levels = PlHashMap::default();
                                return Ok(());
                            }
                            levels.insert(level.to_owned(), 1);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> std::io::Result<Collected> {
        Ok(match self {
            Accumulator::Numbers { sink, nulls } => Collected::Numbers {
                values: match sink {
                    NumberSink::Memory(values) => Stored::Memory(values),
                    NumberSink::Spilling { writer, len } => Stored::Spilled {
                        file: writer.into_inner().map_err(|err| err.into_error())?,
                        len,
                    },
                },
                nulls,
            },
            Accumulator::Categories {
                levels,
                missing,
                overflow,
                ..
            } => {
                let mut counts = CategoryCounts::from_pairs(levels);
                counts.add_missing(missing);
                Collected::Categories { counts, overflow }
            }
        })
    }
}

/// Writes numbers as 8 little-endian bytes each.
fn write_numbers(writer: &mut impl std::io::Write, values: &[f64]) -> std::io::Result<()> {
    for chunk in values.chunks(1 << 13) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_all(&bytes)?;
    }
    Ok(())
}

/// Compares one column read from both files.
fn compare_column(
    planned: &Planned,
    reference: Collected,
    current: Collected,
    limits: Limits,
) -> ColumnSkew {
    let mut result = ColumnSkew::bare(&planned.name, Some(planned.kind), ColumnVerdict::Stable);
    match (reference, current) {
        (
            Collected::Numbers {
                values: r,
                nulls: r_nulls,
            },
            Collected::Numbers {
                values: c,
                nulls: c_nulls,
            },
        ) => {
            let (r, c) = rayon::join(|| numeric_sample(r, r_nulls), || numeric_sample(c, c_nulls));
            match (r, c) {
                (Ok(r), Ok(c)) => compare_numeric(&mut result, &r, &c, &planned.thresholds),
                (Err(err), _) | (_, Err(err)) => {
                    result.verdict = ColumnVerdict::Skipped;
                    result.notes.push(format!(
                        "cannot read its values back from a temporary file: {err}"
                    ));
                }
            }
        }
        (
            Collected::Categories {
                counts: r,
                overflow: r_overflow,
            },
            Collected::Categories {
                counts: c,
                overflow: c_overflow,
            },
        ) => {
            if r_overflow || c_overflow {
                result.verdict = ColumnVerdict::Skipped;
                result.notes.push(format!(
                    "more than {} distinct values: an identifier or free text, not a category; \
                     give it a numeric `type` in the schema or leave it out",
                    thousands(limits.max_levels as u64)
                ));
            } else {
                compare_categorical(&mut result, &r, &c, &planned.thresholds);
            }
        }
        // Both sides are read with the planned kind.
        _ => result.verdict = ColumnVerdict::Skipped,
    }
    if result.verdict == ColumnVerdict::Empty {
        // The side with values knows the column's kind; the other side's
        // type (text, for an all-empty CSV column) says nothing.
        let known = match (result.values.reference, result.values.current) {
            (0, 0) => None,
            (0, _) => planned.dtype_kinds.current,
            _ => planned.dtype_kinds.reference,
        };
        result.kind = known.or(result.kind);
    } else if let Some(note) = &planned.type_note {
        result.notes.push(note.clone());
    }
    result.failed = match result.verdict {
        ColumnVerdict::Drifted | ColumnVerdict::Missing => true,
        ColumnVerdict::Empty => result.values.reference > 0 && result.values.current == 0,
        _ => false,
    };
    result
}

/// A numeric sample and the nulls left out of it.
struct Numbers {
    sample: NumericSample,
    nulls: u64,
}

/// Loads a column's numbers and sorts them into a sample.
fn numeric_sample(values: Stored, nulls: u64) -> std::io::Result<Numbers> {
    let values = values.load()?;
    Ok(Numbers {
        sample: NumericSample::from_vec(sort_by_order_keys(values)),
        nulls,
    })
}

/// Sorts `values` in `f64::total_cmp` order by sorting their order keys as
/// `u64`: about 1.6× faster than sorting with `total_cmp` on 10M normal
/// values, in place. [`NumericSample::from_vec`] then finds them sorted in
/// one linear pass.
fn sort_by_order_keys(values: Vec<f64>) -> Vec<f64> {
    // Same layout, so both collects reuse the allocation.
    let mut keys: Vec<u64> = values.into_iter().map(order_key).collect();
    keys.sort_unstable();
    keys.into_iter().map(from_order_key).collect()
}

/// A key whose unsigned order is `f64::total_cmp`'s: flip every bit of a
/// negative number, only the sign bit of a positive one.
fn order_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

fn compare_numeric(
    result: &mut ColumnSkew,
    reference: &Numbers,
    current: &Numbers,
    thresholds: &SkewThresholds,
) {
    let (r, c) = (&reference.sample, &current.sample);
    result.values = Pair {
        reference: r.len() as u64,
        current: c.len() as u64,
    };
    result.nulls = Pair {
        reference: reference.nulls,
        current: current.nulls,
    };
    result.dropped = Dropped {
        reference: r.dropped(),
        current: c.dropped(),
    };
    let computed = (|| -> Result<_, StatsError> {
        Ok((
            stats::psi_samples(r, c, DEFAULT_BINS)?,
            stats::jensen_shannon_samples(r, c, DEFAULT_BINS)?,
            stats::ks_2samp_samples(r, c)?,
            stats::wasserstein_samples(r, c)?,
        ))
    })();
    let (psi, js, ks, wasserstein) = match computed {
        Ok(all) => all,
        Err(_) => {
            result.verdict = ColumnVerdict::Empty;
            return;
        }
    };
    result.statistics = vec![
        StatisticResult::judge(SkewStatistic::Psi, psi.value, thresholds),
        StatisticResult::judge(SkewStatistic::JsDistance, js.distance, thresholds),
        StatisticResult::judge(SkewStatistic::KsStatistic, ks.statistic, thresholds),
        StatisticResult::judge(SkewStatistic::KsPValue, ks.p_value, thresholds),
        StatisticResult::judge(
            SkewStatistic::Wasserstein,
            wasserstein.normalized,
            thresholds,
        ),
    ];
    result.numeric = Some(NumericDetails {
        bins: psi.bins,
        js_divergence: js.divergence,
        ks_method: ks.method,
        wasserstein_distance: wasserstein.distance,
        mean: Pair {
            reference: r.mean().unwrap_or(f64::NAN),
            current: c.mean().unwrap_or(f64::NAN),
        },
        reference_std: wasserstein.reference_std,
    });
    result.verdict = verdict_of(&result.statistics);
}

fn verdict_of(statistics: &[StatisticResult]) -> ColumnVerdict {
    if statistics.iter().any(|s| s.drifted) {
        ColumnVerdict::Drifted
    } else {
        ColumnVerdict::Stable
    }
}

fn compare_categorical(
    result: &mut ColumnSkew,
    reference: &CategoryCounts,
    current: &CategoryCounts,
    thresholds: &SkewThresholds,
) {
    result.values = Pair {
        reference: reference.total(),
        current: current.total(),
    };
    result.nulls = Pair {
        reference: reference.missing(),
        current: current.missing(),
    };
    let (js, linf) = match (
        stats::jensen_shannon_categorical(reference, current),
        stats::l_infinity(reference, current),
    ) {
        (Ok(js), Ok(linf)) => (js, linf),
        _ => {
            result.verdict = ColumnVerdict::Empty;
            return;
        }
    };
    let unseen = unseen_levels(reference, current);
    let mut statistics = Vec::new();
    let (mut chi2_statistic, mut chi2_df) = (None, None);
    match stats::chi_square(reference, current) {
        Ok(chi2) => {
            statistics.push(StatisticResult::judge(
                SkewStatistic::Chi2PValue,
                chi2.p_value,
                thresholds,
            ));
            chi2_statistic = Some(chi2.statistic);
            chi2_df = Some(chi2.df);
        }
        Err(err) => result.notes.push(format!("no chi-square test: {err}")),
    }
    statistics.push(StatisticResult::judge(
        SkewStatistic::Linf,
        linf.distance,
        thresholds,
    ));
    statistics.push(StatisticResult::judge(
        SkewStatistic::JsDistance,
        js.distance,
        thresholds,
    ));
    statistics.push(StatisticResult::judge(
        SkewStatistic::Unseen,
        unseen.fraction,
        thresholds,
    ));
    result.categorical = Some(CategoricalDetails {
        levels: Pair {
            reference: reference.level_count(),
            current: current.level_count(),
        },
        chi2_statistic,
        chi2_df,
        js_divergence: js.divergence,
        linf_level: linf.level,
    });
    result.unseen = Some(unseen);
    result.verdict = verdict_of(&statistics);
    result.statistics = statistics;
}

/// The current levels absent from the reference, most frequent first.
fn unseen_levels(reference: &CategoryCounts, current: &CategoryCounts) -> Unseen {
    let mut unseen: Vec<(&str, u64)> = current
        .iter()
        .filter(|(level, _)| reference.count(level) == 0)
        .collect();
    // Most frequent first; level order breaks ties, so output is stable.
    unseen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let count: u64 = unseen.iter().map(|(_, n)| n).sum();
    let total = current.total();
    Unseen {
        levels: unseen.len(),
        count,
        fraction: if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        },
        examples: unseen
            .iter()
            .take(UNSEEN_EXAMPLES)
            .map(|(level, _)| super::shown::value(level))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<SkewThresholds, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = SkewThresholds::default();
        assert_eq!(d.psi, Some(Threshold::Limit(0.2)));
        assert_eq!(d.js_distance, Some(Threshold::Limit(0.1)));
        assert_eq!(d.ks_statistic, Some(Threshold::Limit(0.1)));
        assert_eq!(d.ks_p_value, Some(Threshold::Off));
        assert_eq!(d.wasserstein, Some(Threshold::Limit(0.1)));
        assert_eq!(d.chi2_p_value, Some(Threshold::Off));
        assert_eq!(d.linf, Some(Threshold::Limit(0.1)));
        assert_eq!(d.unseen, Some(Threshold::Limit(0.01)));
        assert_eq!(d.check(), Ok(()));
    }

    #[test]
    fn yaml_takes_numbers_off_and_null() {
        let t = parse("psi: 0.25\nks_p_value: 0.05\nunseen: 0\nlinf: off\nwasserstein: null\n")
            .unwrap();
        assert_eq!(t.psi, Some(Threshold::Limit(0.25)));
        assert_eq!(t.ks_p_value, Some(Threshold::Limit(0.05)));
        assert_eq!(t.unseen, Some(Threshold::Limit(0.0)));
        assert_eq!(t.linf, Some(Threshold::Off));
        assert_eq!(t.wasserstein, None);
        assert_eq!(t.js_distance, None);
        assert_eq!(parse("psi: false\n").unwrap().psi, Some(Threshold::Off));
    }

    #[test]
    fn yaml_rejects_unknown_keys_and_words() {
        let err = parse("psii: 0.2\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `psii`"), "{err}");
        let err = parse("psi: high\n").unwrap_err().to_string();
        assert!(err.contains("expected a number or `off`"), "{err}");
        assert!(parse("psi: true\n").is_err());
    }

    #[test]
    fn serializes_back_to_the_same_yaml() {
        let t = parse("psi: 0.3\nlinf: off\n").unwrap();
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json, serde_json::json!({"psi": 0.3, "linf": "off"}));
        let again: SkewThresholds =
            serde_yaml::from_str(&serde_yaml::to_string(&t).unwrap()).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn layers_fall_back_key_by_key() {
        let column = parse("psi: 0.5\n").unwrap();
        let schema = parse("psi: 0.3\nlinf: off\n").unwrap();
        let merged = column.or(&schema).or(&SkewThresholds::UNSET);
        assert_eq!(merged.resolved(SkewStatistic::Psi), Threshold::Limit(0.5));
        assert_eq!(merged.resolved(SkewStatistic::Linf), Threshold::Off);
        // Nothing set anywhere: the built-in default.
        assert_eq!(
            merged.resolved(SkewStatistic::Unseen),
            Threshold::Limit(0.01)
        );
        assert_eq!(merged.resolved(SkewStatistic::KsPValue), Threshold::Off);
    }

    #[test]
    fn distances_drift_above_and_p_values_below() {
        let psi = Threshold::Limit(0.2);
        assert!(!psi.crossed_by(SkewStatistic::Psi, 0.2));
        assert!(psi.crossed_by(SkewStatistic::Psi, 0.2001));
        let p = Threshold::Limit(0.05);
        assert!(p.crossed_by(SkewStatistic::KsPValue, 0.049));
        assert!(!p.crossed_by(SkewStatistic::KsPValue, 0.05));
        assert!(!Threshold::Off.crossed_by(SkewStatistic::Psi, 1e9));
        assert!(!Threshold::Off.crossed_by(SkewStatistic::Chi2PValue, 0.0));
        // A zero unseen threshold means any unseen value drifts.
        let zero = Threshold::Limit(0.0);
        assert!(zero.crossed_by(SkewStatistic::Unseen, 1e-7));
        assert!(!zero.crossed_by(SkewStatistic::Unseen, 0.0));
    }

    #[test]
    fn judged_statistics_carry_their_threshold() {
        let thresholds = parse("ks_p_value: 0.05\n").unwrap();
        let judged = StatisticResult::judge(SkewStatistic::KsPValue, 0.01, &thresholds);
        assert!(judged.drifted);
        assert_eq!(judged.threshold, Threshold::Limit(0.05));
        assert_eq!(judged.drift_when, DriftWhen::Below);
        let unjudged = StatisticResult::judge(SkewStatistic::Chi2PValue, 0.0, &thresholds);
        assert!(!unjudged.drifted);
        assert_eq!(unjudged.threshold, Threshold::Off);
    }

    #[test]
    fn out_of_range_thresholds_are_rejected() {
        let err = parse("linf: 1.5\n").unwrap().check().unwrap_err();
        assert_eq!(err.key, "linf");
        assert!(err.help.contains("between 0 and 1"), "{}", err.help);
        assert!(parse("psi: -0.1\n").unwrap().check().is_err());
        assert!(parse("psi: .nan\n").unwrap().check().is_err());
        // PSI and the normalized Wasserstein distance are unbounded.
        assert_eq!(parse("psi: 3\nwasserstein: 2\n").unwrap().check(), Ok(()));
    }

    #[test]
    fn order_keys_sort_like_total_cmp() {
        let values = vec![
            3.5,
            -0.0,
            0.0,
            f64::INFINITY,
            -2.25,
            f64::NEG_INFINITY,
            1e-300,
            -1e300,
            f64::NAN,
            7.0,
        ];
        let mut expected = values.clone();
        expected.sort_unstable_by(f64::total_cmp);
        let sorted = sort_by_order_keys(values);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&sorted), bits(&expected));
        for v in [0.0, -0.0, 1.5, -1.5, f64::MAX, f64::MIN_POSITIVE] {
            assert_eq!(from_order_key(order_key(v)).to_bits(), v.to_bits());
        }
    }

    proptest::proptest! {
        #[test]
        fn order_key_sort_is_total_cmp_sort(
            values in proptest::collection::vec(proptest::num::f64::ANY, 0..300)
        ) {
            let mut expected = values.clone();
            expected.sort_unstable_by(f64::total_cmp);
            let sorted = sort_by_order_keys(values);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&sorted), bits(&expected));
        }
    }

    fn counts(pairs: &[(&str, u64)]) -> CategoryCounts {
        CategoryCounts::from_pairs(pairs.iter().copied())
    }

    fn planned_column(kind: ColumnKind) -> ColumnSkew {
        ColumnSkew::bare("c", Some(kind), ColumnVerdict::Stable)
    }

    #[test]
    fn unseen_levels_list_the_most_frequent_first() {
        let reference = counts(&[("a", 50), ("b", 50)]);
        let current = counts(&[("a", 40), ("b", 40), ("x", 2), ("y", 15), ("z", 3)]);
        let unseen = unseen_levels(&reference, &current);
        assert_eq!(unseen.levels, 3);
        assert_eq!(unseen.count, 20);
        assert!((unseen.fraction - 0.2).abs() < 1e-15);
        assert_eq!(unseen.examples, vec!["y", "z", "x"]);
    }

    #[test]
    fn a_new_level_makes_a_categorical_column_drift() {
        let reference = counts(&[("a", 500), ("b", 500)]);
        let current = counts(&[("a", 985), ("b", 985), ("new", 30)]);
        let mut result = planned_column(ColumnKind::Categorical);
        compare_categorical(
            &mut result,
            &reference,
            &current,
            &SkewThresholds::default(),
        );
        assert_eq!(result.verdict, ColumnVerdict::Drifted);
        let value = |key| {
            let s = result
                .statistics
                .iter()
                .find(|s| s.statistic == key)
                .unwrap();
            (s.value, s.drifted)
        };
        let (unseen, drifted) = value(SkewStatistic::Unseen);
        assert!((unseen - 0.015).abs() < 1e-15);
        assert!(drifted);
        // L-infinity (0.015) and the JS distance (≈ 0.0868: divergence
        // ½·ln(0.5/0.49625) + ½·(0.985·ln(0.4925/0.49625) + 0.015·ln 2) nats,
        // in bits, square-rooted) stay under their thresholds.
        assert_eq!(value(SkewStatistic::Linf), (0.015, false));
        let (js, drifted) = value(SkewStatistic::JsDistance);
        let nats = 0.5 * (0.5f64 / 0.49625).ln()
            + 0.5 * (0.985 * (0.4925f64 / 0.49625).ln() + 0.015 * 2f64.ln());
        assert!((js - (nats / 2f64.ln()).sqrt()).abs() < 1e-12, "{js}");
        assert!(!drifted);
        // The chi-square test sees the reference's levels in equal shares.
        assert_eq!(value(SkewStatistic::Chi2PValue), (1.0, false));

        // Tolerating 5% unseen values keeps it stable.
        let tolerant = parse("unseen: 0.05\n").unwrap();
        let mut result = planned_column(ColumnKind::Categorical);
        compare_categorical(&mut result, &reference, &current, &tolerant);
        assert_eq!(result.verdict, ColumnVerdict::Stable);
    }

    #[test]
    fn only_unseen_levels_still_reports_distances() {
        let mut result = planned_column(ColumnKind::Categorical);
        compare_categorical(
            &mut result,
            &counts(&[("a", 5)]),
            &counts(&[("z", 5)]),
            &SkewThresholds::default(),
        );
        assert_eq!(result.verdict, ColumnVerdict::Drifted);
        assert!(
            result.notes[0].contains("no chi-square test"),
            "{:?}",
            result.notes
        );
        let keys: Vec<_> = result.statistics.iter().map(|s| s.statistic).collect();
        assert_eq!(
            keys,
            vec![
                SkewStatistic::Linf,
                SkewStatistic::JsDistance,
                SkewStatistic::Unseen
            ]
        );
        assert_eq!(result.statistics[0].value, 1.0);
    }

    #[test]
    fn a_shifted_numeric_column_drifts_and_an_equal_one_does_not() {
        let numbers = |values: Vec<f64>| Numbers {
            sample: NumericSample::from_vec(values),
            nulls: 0,
        };
        let base: Vec<f64> = (0..1000).map(|i| f64::from(i) / 10.0).collect();
        let reference = numbers(base.clone());

        let mut same = planned_column(ColumnKind::Numeric);
        compare_numeric(
            &mut same,
            &reference,
            &numbers(base.clone()),
            &SkewThresholds::default(),
        );
        assert_eq!(same.verdict, ColumnVerdict::Stable);
        assert!(same
            .statistics
            .iter()
            .all(|s| s.statistic == SkewStatistic::KsPValue || s.value.abs() < 1e-12));

        let shifted: Vec<f64> = base.iter().map(|v| v + 30.0).collect();
        let mut moved = planned_column(ColumnKind::Numeric);
        compare_numeric(
            &mut moved,
            &reference,
            &numbers(shifted),
            &SkewThresholds::default(),
        );
        assert_eq!(moved.verdict, ColumnVerdict::Drifted);
        let ks = &moved.statistics[2];
        assert_eq!(ks.statistic, SkewStatistic::KsStatistic);
        assert!((ks.value - 0.3).abs() < 1e-12, "{}", ks.value);
        // Wasserstein: a shift of 30 over a std of ~28.87.
        let w = &moved.statistics[4];
        assert!((w.value - 30.0 / 28.8675).abs() < 1e-3, "{}", w.value);
    }

    #[test]
    fn an_all_nan_current_column_is_empty() {
        let mut result = planned_column(ColumnKind::Numeric);
        compare_numeric(
            &mut result,
            &Numbers {
                sample: NumericSample::from_vec(vec![1.0, 2.0]),
                nulls: 0,
            },
            &Numbers {
                sample: NumericSample::from_vec(vec![f64::NAN, f64::INFINITY]),
                nulls: 3,
            },
            &SkewThresholds::default(),
        );
        assert_eq!(result.verdict, ColumnVerdict::Empty);
        assert_eq!(
            result.dropped,
            Dropped {
                reference: 0,
                current: 2
            }
        );
        assert_eq!(result.nulls.current, 3);
        assert!(result.statistics.is_empty());
    }

    /// Writes a reference and a current CSV: a shifted number, a date, a
    /// category with a new level, an ID-like text column.
    fn write_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let mut reference = String::from("x,day,country,code\n");
        let mut current = reference.clone();
        for i in 0..400 {
            let country = ["DE", "FR", "US"][i % 3];
            reference.push_str(&format!("{i},2024-01-{:02},{country},id{i}\n", i % 28 + 1));
            let country = if i % 10 == 0 { "XX" } else { country };
            current.push_str(&format!(
                "{},2024-01-{:02},{country},id{i}\n",
                i + 40,
                i % 28 + 1
            ));
        }
        let (r, c) = (dir.join("ref.csv"), dir.join("cur.csv"));
        std::fs::write(&r, reference).unwrap();
        std::fs::write(&c, current).unwrap();
        (r, c)
    }

    #[test]
    fn spilling_to_temporary_files_changes_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let (r, c) = write_pair(dir.path());
        let defaults = SkewThresholds::default();
        let in_memory = skew(&r, &c, None, &defaults).unwrap();
        // A one-byte budget: every number goes through a temporary file,
        // one column is compared at a time.
        // and rows are counted by the reading pass.
        let tight = Limits {
            memory_budget: 1,
            max_levels: MAX_LEVELS,
            count_text_up_to: 0,
        };
        let spilled = skew_within(&r, &c, None, &defaults, tight).unwrap();
        assert_eq!(spilled, in_memory);
        assert_eq!(spilled.reference.rows, 400);
        // Nothing in common, so no pass: the rows are counted apart.
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "q\n1\n2\n").unwrap();
        let apart = skew_within(&r, &other, None, &defaults, tight).unwrap();
        assert_eq!((apart.reference.rows, apart.current.rows), (400, 2));
        assert_eq!((apart.summary.missing, apart.summary.new), (4, 1));
        let x = &in_memory.columns[0];
        assert_eq!(
            (x.column.as_str(), x.verdict),
            ("x", ColumnVerdict::Drifted)
        );
        // 0..400 against 40..440: D = 40/400.
        assert_eq!(x.statistics[2].value, 0.1);
        assert_eq!(
            x.values,
            Pair {
                reference: 400,
                current: 400
            }
        );
        let day = &in_memory.columns[1];
        assert_eq!(
            (day.kind, day.verdict),
            (Some(ColumnKind::Numeric), ColumnVerdict::Stable)
        );
        let country = &in_memory.columns[2];
        assert_eq!(country.unseen.as_ref().unwrap().count, 40);
    }

    #[test]
    fn too_many_levels_skips_the_column() {
        let dir = tempfile::TempDir::new().unwrap();
        let (r, c) = write_pair(dir.path());
        let few = Limits {
            max_levels: 5,
            ..LIMITS
        };
        let report = skew_within(&r, &c, None, &SkewThresholds::default(), few).unwrap();
        let code = &report.columns[3];
        assert_eq!(
            (code.column.as_str(), code.verdict),
            ("code", ColumnVerdict::Skipped)
        );
        assert!(!code.failed);
        assert!(
            code.notes[0].contains("more than 5 distinct values"),
            "{:?}",
            code.notes
        );
        // Countries have 3 or 4 levels: still compared.
        assert_eq!(report.columns[2].verdict, ColumnVerdict::Drifted);
        assert_eq!(report.summary.skipped, 1);
        // x and country drift.
        assert_eq!(report.drifted(), 2);
    }

    #[test]
    fn schema_kinds() {
        let rules = |yaml: &str| -> ColumnRules { serde_yaml::from_str(yaml).unwrap() };
        assert_eq!(schema_kind(&rules("type: int")), Some(ColumnKind::Numeric));
        assert_eq!(schema_kind(&rules("type: date")), Some(ColumnKind::Numeric));
        assert_eq!(
            schema_kind(&rules("type: bool")),
            Some(ColumnKind::Categorical)
        );
        assert_eq!(
            schema_kind(&rules("{type: int, allowed: [1, 2]}")),
            Some(ColumnKind::Categorical)
        );
        assert_eq!(schema_kind(&rules("nullable: true")), None);
    }
}
