//! Two-sample Kolmogorov–Smirnov test.

use super::kolmogorov;
use super::sample::{check_pair, NumericSample};
use super::{Dropped, StatsError};

/// Largest sample size, on either side, for which the p-value is computed
/// exactly (scipy's `MAX_AUTO_N` for `method="auto"`).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// How the KS p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// The exact null distribution of the two-sample statistic (lattice-path
    /// counting), used when both samples have at most [`KS_EXACT_MAX_N`]
    /// values.
    Exact,
    /// The one-sample Kolmogorov distribution at the effective size
    /// round(n·m/(n + m)), used for larger samples.
    Asymptotic,
}

/// Two-sided two-sample Kolmogorov–Smirnov test.
///
/// `statistic` is D = sup |F_ref − F_cur| over the empirical CDFs, with tied
/// values stepped past on both sides before the CDFs are compared (so ties
/// never create a spurious gap). The p-value follows scipy's
/// `ks_2samp(method="auto")`: exact when both samples have at most 10,000
/// values — for equal sizes the alternating binomial series for paths
/// leaving the square, otherwise Hodges' lattice-path recursion in
/// Viehmann's (2021) form, which counts the probability of leaving the band
/// directly and so keeps small p-values accurate — and otherwise
/// P(D_{n_e} ≥ D) from the one-sample Kolmogorov distribution
/// ([`kolmogorov::two_sided_sf`]) with n_e = round(n·m/(n + m)). If the
/// exact computation ever failed to give a probability, the asymptotic one
/// is used, as scipy does. Ties make the exact p-value conservative (the
/// null distribution assumes continuous data), as in scipy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KolmogorovSmirnov {
    /// D, in [0, 1].
    pub statistic: f64,
    /// P(D ≥ observed) under the null hypothesis of one distribution.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
    /// Values dropped before computing.
    pub dropped: Dropped,
}

/// Two-sided two-sample KS test; see [`KolmogorovSmirnov`].
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> Result<KolmogorovSmirnov, StatsError> {
    ks_2samp_samples(&NumericSample::new(reference), &NumericSample::new(current))
}

/// [`ks_2samp`] on samples already sorted.
pub fn ks_2samp_samples(
    reference: &NumericSample,
    current: &NumericSample,
) -> Result<KolmogorovSmirnov, StatsError> {
    let dropped = check_pair(reference, current)?;
    let (n, m) = (reference.len() as u64, current.len() as u64);
    let gcd = gcd(n, m);
    // D = gap / (n·m) = h / lcm(n, m): an integer numerator on the lattice the
    // exact distribution lives on.
    let h = max_cdf_gap(reference.sorted(), current.sorted()) / gcd as u128;
    let lcm = (n / gcd) as u128 * m as u128;
    let statistic = h as f64 / lcm as f64;

    let exact = if n.max(m) <= KS_EXACT_MAX_N as u64 {
        exact_p_value(n, m, gcd, h as u64).filter(|p| (0.0..=1.0).contains(p))
    } else {
        None
    };
    let (p_value, method) = match exact {
        Some(p) => (p, KsMethod::Exact),
        None => {
            let (nf, mf) = (n as f64, m as f64);
            // numpy's round, half to even, as scipy applies it.
            let effective = (nf * mf / (nf + mf)).round_ties_even().max(1.0) as u64;
            (
                kolmogorov::two_sided_sf(effective, statistic),
                KsMethod::Asymptotic,
            )
        }
    };
    Ok(KolmogorovSmirnov {
        statistic,
        p_value: p_value.clamp(0.0, 1.0),
        method,
        dropped,
    })
}

/// max over x of |i(x)·m − j(x)·n|, where i(x) and j(x) count the values
/// ≤ x in `a` (n values) and `b` (m values): n·m·D, in integers. Both CDFs
/// are stepped past every copy of a value before comparing. Once one sample
/// is used up the gap can only shrink, so the merge stops there.
fn max_cdf_gap(a: &[f64], b: &[f64]) -> u128 {
    let (n, m) = (a.len() as u128, b.len() as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let mut widest = 0;
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        widest = widest.max((i as u128 * m).abs_diff(j as u128 * n));
    }
    widest
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Exact P(D ≥ h / lcm(n, m)) under the null, `None` if it cannot be
/// represented.
fn exact_p_value(n: u64, m: u64, gcd: u64, h: u64) -> Option<f64> {
    if h == 0 {
        return Some(1.0);
    }
    let p = if n == m {
        outside_square(n, h)
    } else {
        outside_band(n.max(m), n.min(m), gcd, h)
    };
    p.is_finite().then_some(p)
}

/// For equal sizes n: P(D ≥ h/n) = 2·Σ_{k≥1} (−1)^{k−1} C(2n, n − kh) / C(2n, n)
/// (Gnedenko–Korolyuk). The alternating sum would cancel, so it is nested:
/// with a_k = C(2n, n − (k+1)h) / C(2n, n − kh), each a product of h
/// ratios, P = 2·a₀(1 − a₁(1 − a₂(1 − …))), evaluated from the inside out.
fn outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut nested = 0.0;
    for k in (0..=n / h).rev() {
        let offset = k as f64 * hf;
        let mut ratio = 1.0;
        for j in 0..h {
            let jf = j as f64;
            ratio = ratio * (nf - offset - jf) / (nf + offset + jf + 1.0);
        }
        nested = ratio * (1.0 - nested);
    }
    2.0 * nested
}

/// P(D ≥ h / lcm) for sizes `m ≥ n` by walking the lattice from (0, 0) to
/// (m, n): a path is a random interleaving of the two sorted samples, and
/// D ≥ h/lcm exactly when the path touches |i·n/g − j·m/g| ≥ h. `left[j]`
/// holds, for the current column i, the probability that a uniformly random
/// path to (i, j) has already touched the boundary (1 on and beyond it);
/// inside the band it is the step-weighted mix of its two predecessors,
/// (i·left(i−1, j) + j·left(i, j−1)) / (i + j). Computing the probability of
/// leaving (Viehmann 2021) rather than 1 − probability of staying keeps
/// small p-values accurate. Only the band's window of j is visited per
/// column, so the cost is about m·(2·D·n + 1).
fn outside_band(m: u64, n: u64, gcd: u64, h: u64) -> f64 {
    let (mg, ng) = ((m / gcd) as i128, (n / gcd) as i128);
    let h = h as i128;
    let n_usize = n as usize;
    // Inside the band in column i: (i·ng − h)/mg < j < (i·ng + h)/mg.
    let window = |i: i128| -> Option<(usize, usize)> {
        let low = ((i * ng - h).div_euclid(mg) + 1).max(0);
        let high = ((i * ng + h + mg - 1).div_euclid(mg) - 1).min(n as i128);
        (low <= high).then_some((low as usize, high as usize))
    };
    let mut left = vec![1.0f64; n_usize + 1];
    // Column 0 always holds (0, 0), which is inside since h ≥ 1.
    let Some((mut low, high)) = window(0) else {
        return 1.0;
    };
    left[low..=high].fill(0.0);
    for i in 1..=m as i128 {
        // A column with no point inside the band: every path touches it.
        let Some((new_low, new_high)) = window(i) else {
            return 1.0;
        };
        // Points that fell below the band are on or past the boundary. The
        // band only moves up, so nothing above it was ever set below 1.
        if new_low > low {
            left[low..new_low].fill(1.0);
            low = new_low;
        }
        let fi = i as f64;
        for j in new_low..=new_high {
            let below = if j == 0 { 0.0 } else { left[j - 1] };
            let fj = j as f64;
            left[j] = (left[j] * fi + below * fj) / (fi + fj);
        }
    }
    left[n_usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_stepped_past_on_both_sides() {
        // F_a and F_b agree after every distinct value.
        assert_eq!(
            max_cdf_gap(&[1.0, 1.0, 2.0], &[1.0, 1.0, 1.0, 1.0, 2.0, 2.0]),
            0
        );
        assert_eq!(max_cdf_gap(&[1.0, 2.0], &[3.0, 4.0]), 4);
    }

    #[test]
    fn exact_p_values_match_known_values() {
        // scipy.stats.ks_2samp([1,2,3], [4,5,6]).pvalue == 0.1
        let result = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(result.statistic, 1.0);
        assert!((result.p_value - 0.1).abs() < 1e-15);
        assert_eq!(result.method, KsMethod::Exact);
        // Disjoint samples of sizes 2 and 3: 2 of C(5, 2) = 10 paths.
        let result = ks_2samp(&[1.0, 2.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((result.p_value - 0.2).abs() < 1e-15);
    }

    #[test]
    fn band_and_square_agree_on_equal_sizes() {
        for (n, h) in [(10, 3), (50, 11), (200, 20)] {
            let square = outside_square(n, h);
            let band = outside_band(n, n, n, h);
            assert!(
                (square - band).abs() <= 1e-12 * square.max(1e-300),
                "{n} {h}"
            );
        }
    }
}
