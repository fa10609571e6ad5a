//! Wasserstein-1 (earth mover's) distance between empirical distributions.

use super::sample::{check_pair, NumericSample};
use super::{Dropped, StatsError};

/// Floor for the reference standard deviation in the normalized distance,
/// so a constant reference column does not divide by zero (Evidently's
/// 0.001).
pub const WASSERSTEIN_STD_FLOOR: f64 = 0.001;

/// Wasserstein-1 distance between the empirical distributions of two samples:
/// ∫ |F_ref(x) − F_cur(x)| dx (scipy's `wasserstein_distance`), in the
/// column's own units. The normalized variant divides by the reference's
/// population standard deviation (ddof = 0) floored at
/// [`WASSERSTEIN_STD_FLOOR`], Evidently's convention, whose default drift
/// threshold is 0.1.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Wasserstein {
    /// The distance in the column's units, ≥ 0.
    pub distance: f64,
    /// `distance / max(reference_std, 0.001)`.
    pub normalized: f64,
    /// Population standard deviation of the reference sample.
    pub reference_std: f64,
    /// Values dropped before computing.
    pub dropped: Dropped,
}

/// Wasserstein-1 distance and its normalized variant; see [`Wasserstein`].
pub fn wasserstein(reference: &[f64], current: &[f64]) -> Result<Wasserstein, StatsError> {
    wasserstein_samples(&NumericSample::new(reference), &NumericSample::new(current))
}

/// [`wasserstein`] on samples already sorted.
pub fn wasserstein_samples(
    reference: &NumericSample,
    current: &NumericSample,
) -> Result<Wasserstein, StatsError> {
    let dropped = check_pair(reference, current)?;
    let distance = cdf_area(reference.sorted(), current.sorted());
    let reference_std = reference.std_population().unwrap_or(0.0);
    Ok(Wasserstein {
        distance,
        normalized: distance / reference_std.max(WASSERSTEIN_STD_FLOOR),
        reference_std,
        dropped,
    })
}

/// ∫ |F_a − F_b| for two non-empty ascending samples, by one merge: between
/// consecutive distinct values both CDFs are constant, so the integral is a
/// sum of rectangles. The CDF gap is kept as the integer |i·m − j·n| (over
/// n·m) so it carries no rounding until the final division.
fn cdf_area(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len() as u128, b.len() as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let mut area = 0.0;
    let mut previous: Option<f64> = None;
    loop {
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        if let Some(left) = previous {
            // The gap over [left, x) is the one after the last step.
            let gap = (i as u128 * m).abs_diff(j as u128 * n);
            area += gap as f64 * (x - left);
        }
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        previous = Some(x);
    }
    area / (n as f64 * m as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_masses_are_their_distance_apart() {
        assert_eq!(cdf_area(&[1.0], &[4.0]), 3.0);
        assert_eq!(cdf_area(&[2.0, 2.0], &[2.0]), 0.0);
    }

    #[test]
    fn matches_a_hand_computation() {
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
        assert!((cdf_area(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-15);
        // scipy.stats.wasserstein_distance([0, 1], [0, 2]) == 0.5
        assert!((cdf_area(&[0.0, 1.0], &[0.0, 2.0]) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn constant_reference_uses_the_floor() {
        let result = wasserstein(&[3.0, 3.0], &[3.5]).unwrap();
        assert_eq!(result.reference_std, 0.0);
        assert!((result.normalized - 500.0).abs() < 1e-9);
    }
}
