//! What a skew comparison found: per column, each statistic beside its
//! threshold, and the file-level summary.

use std::fmt;

use serde::Serialize;

use super::thresholds::*;
use crate::probes::stats::{Dropped, KsMethod};

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
    pub(super) fn judge(statistic: SkewStatistic, value: f64, thresholds: &SkewThresholds) -> Self {
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
    pub(super) fn bare(column: &str, kind: Option<ColumnKind>, verdict: ColumnVerdict) -> Self {
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
