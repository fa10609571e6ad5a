//! Population Stability Index.

use super::categorical::{aligned_counts, CategoryCounts};
use super::sample::{check_pair, NumericSample, QuantileBins};
use super::{Dropped, StatsError};

/// Floor for a zero bin proportion in PSI, whose `ln(q / p)` is undefined
/// at zero: Evidently's 1e-4. The floored proportions are not renormalized
/// (Evidently does not either). Deepchecks floors at 0.01 instead, which
/// gives smaller PSI values for bins one side leaves empty.
pub const PSI_EPSILON: f64 = 1e-4;

/// The customary reading of a PSI value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PsiBand {
    /// PSI < 0.1: no meaningful shift.
    Stable,
    /// 0.1 ≤ PSI < 0.25: a shift worth a look.
    Moderate,
    /// PSI ≥ 0.25: a major shift.
    Major,
}

impl PsiBand {
    /// The band a PSI value falls in.
    pub fn of(value: f64) -> Self {
        if value < 0.1 {
            Self::Stable
        } else if value < 0.25 {
            Self::Moderate
        } else {
            Self::Major
        }
    }
}

/// A Population Stability Index: Σ (q − p)·ln(q / p) over bins, `p` the
/// reference proportion and `q` the current one, each floored at
/// [`PSI_EPSILON`] when zero. Natural log. Symmetric in the two samples
/// given the bins; the bins themselves come from the reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Psi {
    /// The index, ≥ 0.
    pub value: f64,
    /// Its customary reading.
    pub band: PsiBand,
    /// Bins actually used: quantile bins left after merging equal cuts, or
    /// categorical levels in the union of both samples.
    pub bins: usize,
    /// Values dropped before binning.
    pub dropped: Dropped,
}

/// PSI of a numeric column over `bins` reference-quantile bins (see
/// [`QuantileBins`] for the exact binning; [`DEFAULT_BINS`](super::DEFAULT_BINS)
/// is the classic 10).
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<Psi, StatsError> {
    psi_samples(
        &NumericSample::new(reference),
        &NumericSample::new(current),
        bins,
    )
}

/// [`psi`] on samples already sorted, to share one sort among statistics.
pub fn psi_samples(
    reference: &NumericSample,
    current: &NumericSample,
    bins: usize,
) -> Result<Psi, StatsError> {
    let dropped = check_pair(reference, current)?;
    let bins = QuantileBins::from_reference(reference, bins)?;
    let value = psi_from_counts(&bins.counts(reference), &bins.counts(current));
    Ok(Psi {
        value,
        band: PsiBand::of(value),
        bins: bins.bin_count(),
        dropped,
    })
}

/// PSI of a categorical column: one bin per level over the union of the
/// levels of both samples; a level one side lacks gets the epsilon floor.
/// Missing values are dropped.
pub fn psi_categorical(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<Psi, StatsError> {
    let aligned = aligned_counts(reference, current)?;
    let value = psi_from_counts(&aligned.reference, &aligned.current);
    Ok(Psi {
        value,
        band: PsiBand::of(value),
        bins: aligned.levels.len(),
        dropped: aligned.dropped,
    })
}

/// PSI from per-bin counts of equal length; both totals must be positive.
pub(super) fn psi_from_counts(reference: &[u64], current: &[u64]) -> f64 {
    debug_assert_eq!(reference.len(), current.len());
    let reference_total: u64 = reference.iter().sum();
    let current_total: u64 = current.iter().sum();
    let floored = |count: u64, total: u64| {
        let share = count as f64 / total as f64;
        if share == 0.0 {
            PSI_EPSILON
        } else {
            share
        }
    };
    let value: f64 = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let p = floored(r, reference_total);
            let q = floored(c, current_total);
            (q - p) * (q / p).ln()
        })
        .sum();
    // Every term is ≥ 0 ((q − p) and ln(q / p) share their sign), so the
    // sum is too; max() only guards the -0.0 an all-zero sum can produce.
    value.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands() {
        assert_eq!(PsiBand::of(0.0), PsiBand::Stable);
        assert_eq!(PsiBand::of(0.1), PsiBand::Moderate);
        assert_eq!(PsiBand::of(0.2499), PsiBand::Moderate);
        assert_eq!(PsiBand::of(0.25), PsiBand::Major);
    }

    #[test]
    fn empty_bin_uses_the_epsilon() {
        // p = (0.5, 0.5), q = (1, 0 → 1e-4)
        let value = psi_from_counts(&[5, 5], &[4, 0]);
        let expected = (1.0 - 0.5) * (1.0f64 / 0.5).ln() + (1e-4 - 0.5) * (1e-4f64 / 0.5).ln();
        assert!((value - expected).abs() < 1e-15);
    }

    #[test]
    fn empty_side_is_an_error() {
        assert_eq!(
            psi(&[f64::NAN], &[1.0], 10),
            Err(StatsError::EmptyReference { dropped: 1 })
        );
        assert_eq!(
            psi(&[1.0], &[], 10),
            Err(StatsError::EmptyCurrent { dropped: 0 })
        );
    }
}
