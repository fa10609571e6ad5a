//! Sorted numeric samples, numpy-compatible quantiles and quantile bins.

use super::{Dropped, StatsError};

/// Number of reference-quantile bins PSI and Jensen–Shannon use unless told
/// otherwise (the classic PSI choice: deciles).
pub const DEFAULT_BINS: usize = 10;

/// A numeric sample with NaN and ±∞ removed, sorted ascending.
///
/// Sorting once is what makes the statistics cheap: quantiles are indexed,
/// bin counts are binary searches, KS and Wasserstein are one merge.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericSample {
    sorted: Vec<f64>,
    dropped: u64,
}

impl NumericSample {
    /// Copies the finite values of `values` and sorts them.
    pub fn new(values: &[f64]) -> Self {
        let mut sorted = Vec::with_capacity(values.len());
        sorted.extend(values.iter().copied().filter(|v| v.is_finite()));
        let dropped = (values.len() - sorted.len()) as u64;
        Self::sort(sorted, dropped)
    }

    /// Takes ownership of `values`, drops NaN and ±∞ in place and sorts:
    /// no second buffer for a large column.
    pub fn from_vec(mut values: Vec<f64>) -> Self {
        let before = values.len();
        values.retain(|v| v.is_finite());
        let dropped = (before - values.len()) as u64;
        Self::sort(values, dropped)
    }

    fn sort(mut sorted: Vec<f64>, dropped: u64) -> Self {
        // All values are finite, so total_cmp agrees with `<` except that it
        // puts -0.0 before 0.0; the two stay adjacent, and every comparison
        // downstream uses IEEE `<=`, which treats them as the tie they are.
        sorted.sort_unstable_by(f64::total_cmp);
        Self { sorted, dropped }
    }

    /// The finite values, ascending.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// Number of finite values.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no finite value is left.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// How many NaN or ±∞ values were dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Arithmetic mean, `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        Some(self.sorted.iter().sum::<f64>() / self.sorted.len() as f64)
    }

    /// Population standard deviation (ddof = 0, numpy's `np.std` default),
    /// computed in two passes to avoid the cancellation of `E[x²] − E[x]²`.
    pub fn std_population(&self) -> Option<f64> {
        let mean = self.mean()?;
        let n = self.sorted.len() as f64;
        let squares: f64 = self.sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        Some((squares / n).sqrt())
    }
}

/// Checks that neither side is empty and reports what each side dropped.
pub(super) fn check_pair(
    reference: &NumericSample,
    current: &NumericSample,
) -> Result<Dropped, StatsError> {
    if reference.is_empty() {
        return Err(StatsError::EmptyReference {
            dropped: reference.dropped,
        });
    }
    if current.is_empty() {
        return Err(StatsError::EmptyCurrent {
            dropped: current.dropped,
        });
    }
    Ok(Dropped {
        reference: reference.dropped,
        current: current.dropped,
    })
}

/// The `p`-quantile of ascending `sorted` values by linear interpolation
/// between closest ranks: numpy's `np.quantile(method="linear")`, its
/// default, including its two-sided interpolation formula so results match
/// bit for bit in practice. `None` for an empty slice; `p` is clamped to
/// [0, 1].
pub fn quantile_linear(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = last as f64 * p.clamp(0.0, 1.0);
    let below = (position.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let weight = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    if a == b {
        return Some(a);
    }
    let span = b - a;
    // numpy interpolates from the nearer end, which keeps the result inside
    // [a, b] and exact at both ends.
    let value = if weight >= 0.5 {
        b - span * (1.0 - weight)
    } else {
        a + span * weight
    };
    // An overflowing span (values near ±f64::MAX) must not leak ∞ or NaN.
    Some(if value.is_finite() {
        value.clamp(a, b)
    } else {
        a
    })
}

/// Bins cut at the reference sample's quantiles.
///
/// The cuts are the reference quantiles at `i / bins` for `i = 1..bins`
/// ([`quantile_linear`]), sorted, with equal cuts merged so tied or constant
/// columns make no zero-width bins. The outer bins are open to −∞ and +∞ and
/// every bin is closed on the left: value `v` falls in bin `k` = the number of
/// cuts `≤ v` (numpy's `searchsorted(cuts, v, side="right")`). So there are
/// at most `bins` bins, and as few as 2 for a constant reference.
///
/// A consequence worth knowing: values beyond the outer cuts share the
/// outer bins with the reference's most extreme values. That is harmless
/// when those bins hold 1/bins of the reference (a shifted column still piles
/// into one bin and PSI soars), but when one bin holds nearly all of a
/// constant or near-constant reference, a current column shifted above it
/// lands in the same bin: a constant 3.5 against a constant 4.5 scores PSI 0
/// (against 2.0, PSI ≈ 18). KS and Wasserstein see such shifts.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileBins {
    cuts: Vec<f64>,
}

impl QuantileBins {
    /// Cuts `reference` into at most `bins` quantile bins.
    pub fn from_reference(reference: &NumericSample, bins: usize) -> Result<Self, StatsError> {
        if bins < 2 {
            return Err(StatsError::TooFewBins(bins));
        }
        if reference.is_empty() {
            return Err(StatsError::EmptyReference {
                dropped: reference.dropped,
            });
        }
        let sorted = reference.sorted();
        let mut cuts: Vec<f64> = (1..bins)
            .filter_map(|i| quantile_linear(sorted, i as f64 / bins as f64))
            .collect();
        // Interpolated quantiles are monotone in exact arithmetic; sorting
        // guards against a last-bit wobble before equal cuts are merged.
        cuts.sort_unstable_by(f64::total_cmp);
        cuts.dedup();
        Ok(Self { cuts })
    }

    /// The cut points, ascending and distinct.
    pub fn cuts(&self) -> &[f64] {
        &self.cuts
    }

    /// Number of bins: one more than the number of cuts.
    pub fn bin_count(&self) -> usize {
        self.cuts.len() + 1
    }

    /// The bin `value` falls in (finite values; NaN lands in the last bin,
    /// so drop it first).
    pub fn bin_of(&self, value: f64) -> usize {
        self.cuts.partition_point(|&cut| cut <= value)
    }

    /// Counts per bin of a sorted sample: one binary search per cut, not per
    /// value.
    pub fn counts(&self, sample: &NumericSample) -> Vec<u64> {
        let sorted = sample.sorted();
        let mut counts = Vec::with_capacity(self.bin_count());
        let mut start = 0;
        for &cut in &self.cuts {
            let end = sorted.partition_point(|&v| v < cut);
            counts.push((end - start) as u64);
            start = end;
        }
        counts.push((sorted.len() - start) as u64);
        counts
    }

    /// Adds the finite values of an unsorted chunk to `counts` (one binary
    /// search per value), for callers that stream a column in chunks.
    /// Returns how many NaN or ±∞ values were skipped.
    ///
    /// # Panics
    /// If `counts` is shorter than [`bin_count`](Self::bin_count).
    pub fn add_counts(&self, values: &[f64], counts: &mut [u64]) -> u64 {
        let mut skipped = 0;
        for &value in values {
            if value.is_finite() {
                counts[self.bin_of(value)] += 1;
            } else {
                skipped += 1;
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let sorted = [1.0, 2.0, 4.0, 8.0];
        // np.quantile([1,2,4,8], [0, .25, .5, .9, 1])
        assert_eq!(quantile_linear(&sorted, 0.0), Some(1.0));
        assert_eq!(quantile_linear(&sorted, 0.25), Some(1.75));
        assert_eq!(quantile_linear(&sorted, 0.5), Some(3.0));
        assert!((quantile_linear(&sorted, 0.9).unwrap() - 6.8).abs() < 1e-12);
        assert_eq!(quantile_linear(&sorted, 1.0), Some(8.0));
        assert_eq!(quantile_linear(&[], 0.5), None);
        assert_eq!(quantile_linear(&[3.0], 0.7), Some(3.0));
    }

    #[test]
    fn constant_reference_makes_two_bins() {
        let reference = NumericSample::new(&[5.0; 20]);
        let bins = QuantileBins::from_reference(&reference, 10).unwrap();
        assert_eq!(bins.cuts(), &[5.0]);
        assert_eq!(bins.bin_count(), 2);
        assert_eq!(bins.counts(&reference), vec![0, 20]);
    }

    #[test]
    fn sorted_counts_agree_with_per_value_counts() {
        let values: Vec<f64> = (0..200).map(|i| ((i * 37) % 23) as f64 / 3.0).collect();
        let reference = NumericSample::new(&values);
        let bins = QuantileBins::from_reference(&reference, 7).unwrap();
        let mut streamed = vec![0; bins.bin_count()];
        let skipped = bins.add_counts(&values, &mut streamed);
        assert_eq!(skipped, 0);
        assert_eq!(bins.counts(&reference), streamed);
    }

    #[test]
    fn non_finite_values_are_dropped_and_counted() {
        let sample = NumericSample::from_vec(vec![f64::NAN, 2.0, f64::INFINITY, 1.0]);
        assert_eq!(sample.sorted(), &[1.0, 2.0]);
        assert_eq!(sample.dropped(), 2);
    }

    #[test]
    fn too_few_bins_is_an_error() {
        let reference = NumericSample::new(&[1.0, 2.0]);
        assert_eq!(
            QuantileBins::from_reference(&reference, 1),
            Err(StatsError::TooFewBins(1))
        );
    }
}
