//! Drift and skew statistics between a reference sample (training data, a
//! baseline) and a current sample (serving data, a new batch).
//!
//! Every function is pure: numbers or category counts in, a typed result out.
//! Tools disagree on conventions, so each result states its own:
//!
//! | statistic | convention |
//! | --- | --- |
//! | [`psi`] | 10 reference-quantile bins (numpy `linear` quantiles, equal cuts merged, outer bins open to ±∞, bins closed on the left); zero proportions floored at [`PSI_EPSILON`] = 1e-4 (Evidently); natural log; bands < 0.1 stable, < 0.25 moderate, ≥ 0.25 major |
//! | [`jensen_shannon`] | same bins as PSI; log base 2, so the divergence lies in [0, 1]; the distance is its square root (scipy's `jensenshannon`); no epsilon |
//! | [`ks_2samp`] | two-sided D = sup \|F_ref − F_cur\| with ties merged; p-value as scipy's `ks_2samp(method="auto")`: exact up to 10,000 rows per side, else the one-sample Kolmogorov distribution at n = round(nm/(n+m)) |
//! | [`wasserstein`] | ∫\|F_ref − F_cur\| dx over the empirical CDFs; normalized by the reference's population standard deviation floored at 0.001 (Evidently) |
//! | [`chi_square`] | goodness of fit of current counts to reference proportions over the reference's levels; unseen current levels reported apart and left out; df = k − 1 |
//! | [`l_infinity`] | max \|p − q\| over the union of levels (TFDV) |
//!
//! NaN and ±∞ values are dropped before anything is computed and counted in
//! [`Dropped`]; missing categorical values likewise. A sample that is empty
//! after that is a [`StatsError`], never a NaN.
//!
//! Cost: each numeric sample is copied and sorted once ([`NumericSample`]);
//! quantiles are read off the sorted values, bin counts come from one binary
//! search per cut (`partition_point`), KS and Wasserstein merge the two sorted
//! samples in one pass. Nothing is allocated per value, so 10M rows cost one
//! `O(n log n)` sort per column and linear passes after it. Build the samples
//! once and call the `*_samples` variants to share the sort across statistics.
//! The exact KS p-value is the one super-linear step: about
//! m·(2·D·n + 1) cheap updates, at worst ~1 s (release build) for two
//! disjoint samples of 10,000; beyond 10,000 rows it is a closed-form series.
//!
//! Quantile bins only see where the current values fall among the
//! reference's cuts. When the reference's top bin holds nearly all of it (a
//! constant or near-constant column), a current column shifted above it lands
//! in that same bin: a constant 3.5 against a constant 4.5 scores PSI 0 while
//! KS (D = 1) and Wasserstein flag it (see [`QuantileBins`]).

mod categorical;
mod jensen_shannon;
pub mod kolmogorov;
mod ks;
mod psi;
mod sample;
mod wasserstein;

pub use categorical::{chi_square, l_infinity, CategoryCounts, ChiSquare, LInfinity};
pub use jensen_shannon::{
    jensen_shannon, jensen_shannon_categorical, jensen_shannon_samples, JensenShannon,
};
pub use ks::{ks_2samp, ks_2samp_samples, KolmogorovSmirnov, KsMethod, KS_EXACT_MAX_N};
pub use psi::{psi, psi_categorical, psi_samples, Psi, PsiBand, PSI_EPSILON};
pub use sample::{quantile_linear, NumericSample, QuantileBins, DEFAULT_BINS};
pub use wasserstein::{wasserstein, wasserstein_samples, Wasserstein, WASSERSTEIN_STD_FLOOR};

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// Nothing is left of the reference sample once NaN, ±∞ or missing
    /// values are dropped.
    #[error("the reference sample has no usable value ({dropped} NaN, infinite or missing values dropped)")]
    EmptyReference {
        /// How many values were dropped.
        dropped: u64,
    },
    /// Nothing is left of the current sample once NaN, ±∞ or missing values
    /// are dropped.
    #[error("the current sample has no usable value ({dropped} NaN, infinite or missing values dropped)")]
    EmptyCurrent {
        /// How many values were dropped.
        dropped: u64,
    },
    /// Quantile binning needs at least two bins to say anything.
    #[error("at least 2 bins are needed for quantile binning, got {0}")]
    TooFewBins(usize),
    /// Every current value is a level the reference never had, so there is
    /// nothing to fit reference proportions to.
    #[error(
        "no current value is a level seen in the reference ({unseen} values of unseen levels)"
    )]
    NoSharedLevels {
        /// How many current values belong to levels unseen in the reference.
        unseen: u64,
    },
}

/// How many values each side lost before a statistic was computed: NaN and
/// ±∞ for numeric samples, missing values for categorical ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Values dropped from the reference sample.
    pub reference: u64,
    /// Values dropped from the current sample.
    pub current: u64,
}
