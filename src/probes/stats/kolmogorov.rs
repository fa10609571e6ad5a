//! The distribution of the one-sample Kolmogorov–Smirnov statistic for a
//! finite sample size: what the two-sample test's asymptotic p-value reads.
//!
//! statrs has no Kolmogorov distribution, so it is implemented here, with the
//! algorithm choice of Simard & L'Ecuyer (2011), "Computing the two-sided
//! Kolmogorov–Smirnov distribution", J. Stat. Softw. 39(11) — the choice
//! scipy's `kstwo` makes too, so p-values agree with scipy's across regimes:
//!
//! * Ruben–Gambino closed forms near x = 1/(2n) and x = 1 − 1/n;
//! * `2·P(D⁺ ≥ x)` with the exact one-sided Smirnov / Birnbaum–Tingey sum in
//!   the upper tail (n·x² ≥ 2.2, or x ≥ 0.5), where the doubling is exact to
//!   double precision;
//! * the Durbin matrix in Marsaglia–Tsang–Wang's form (exact) for small n·x;
//! * the Pelz–Good asymptotic series for large n in the body.
//!
//! One deliberate difference: for n ≤ 140 and 0.754693 < n·x² ≤ 4 scipy uses
//! Pomeranz's recursion; we use the Durbin matrix there too. Both are exact
//! algorithms, so they differ only by rounding (the fixtures compare against
//! scipy on a grid of n and x).

use statrs::function::factorial::{ln_binomial, ln_factorial};

/// `ln` of the smallest normal double: `exp` below this underflows
/// (cephes' `MINLOG`).
const MIN_LN: f64 = -708.396_418_532_264_1;

/// Above this n the one-sided Smirnov sum is replaced by its exponential
/// approximation, as cephes does, to bound the work to a million terms.
const SMIRNOV_EXACT_MAX_N: u64 = 1_000_000;

/// Two-sided survival function P(D_n ≥ x) of the one-sample KS statistic
/// D_n = sup |F_n − F| for a sample of `n` values from a continuous
/// distribution (scipy's `kstwo.sf(x, n)`). Returns a probability in
/// [0, 1]; `n = 0` or a NaN `x` gives NaN.
pub fn two_sided_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        // Ruben–Gambino: P(D_n ≤ x) = n!/nⁿ · (2t − 1)ⁿ for 1/(2n) < x ≤ 1/n.
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |acc, i| acc * (i as f64 / nf) * (2.0 * t - 1.0))
        } else {
            (ln_factorial(n) - nf * nf.ln() + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        // Ruben–Gambino: P(D_n ≥ x) = 2(1 − x)ⁿ for x ≥ 1 − 1/n.
        return clip(2.0 * (nf * (-x).ln_1p()).exp());
    }
    if x >= 0.5 {
        // D⁺ ≥ x and D⁻ ≥ x cannot both hold when x ≥ 0.5.
        return clip(2.0 * one_sided_sf(n, x));
    }
    let nxx = t * x;
    if n <= 140 {
        if nxx <= 4.0 {
            return clip(1.0 - durbin_matrix_cdf(n, x));
        }
        return clip(2.0 * one_sided_sf(n, x));
    }
    if nxx >= 370.0 {
        return 0.0;
    }
    if nxx >= 2.2 {
        return clip(2.0 * one_sided_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_matrix_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

/// One-sided survival function P(D⁺_n ≥ x) of the Smirnov statistic
/// D⁺_n = sup (F_n − F) (scipy's `smirnov(n, x)`), by the Smirnov /
/// Birnbaum–Tingey sum
/// `x · Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (1 − x − j/n)^{n−j} (x + j/n)^{j−1}`,
/// whose terms are all positive, evaluated in logarithms so neither the
/// binomials nor the powers overflow. For n above a million the
/// approximation `exp(−(6nx + 1)² / 18n)` replaces the sum (as in cephes).
pub fn one_sided_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    let nx = nf * x;
    if nx <= 1.0 {
        // Only the j = 0 term of the complementary sum survives.
        return clip(1.0 - x * ((nf - 1.0) * x.ln_1p()).exp());
    }
    if -2.0 * nf * x * x < MIN_LN {
        return 0.0;
    }
    let nx_floor = nx.floor();
    if nx_floor >= nf - 1.0 {
        return (nf * (-x).ln_1p()).exp();
    }
    if n > SMIRNOV_EXACT_MAX_N {
        let exponent = 6.0 * nx + 1.0;
        return (-exponent * exponent / 18.0 / nf).exp();
    }
    // Terms j = 0..=last; the j = n(1 − x) term, when that is an integer,
    // is 0 and left out.
    let last = n - nx_floor as u64 - 1;
    let mut log_sum = LogSum::default();
    for j in 0..=last {
        let jf = j as f64;
        let ln_term = ln_binomial(n, j)
            + (nf - jf) * ln_one_minus((nx + jf) / nf)
            + (jf - 1.0) * ((nx + jf) / nf).ln();
        log_sum.add(ln_term);
        // Stop once the remaining terms, bounded by the current one, cannot
        // move the sum by a rounding unit (cephes' rule).
        let remaining = (last - j) as f64;
        if j > 0 && j < last && ln_term + (4.0 * remaining).ln() < f64::EPSILON.ln() + log_sum.ln()
        {
            break;
        }
    }
    clip((x.ln() + log_sum.ln()).exp())
}

/// `ln(1 − y)` for y in (0, 1), accurate whether y is small or close to 1.
fn ln_one_minus(y: f64) -> f64 {
    if y < 0.5 {
        (-y).ln_1p()
    } else {
        (1.0 - y).ln()
    }
}

/// A sum of positive terms given by their logarithms, kept as
/// `exp(max) · scaled` so tiny and huge terms neither underflow nor overflow.
#[derive(Default)]
struct LogSum {
    max: Option<f64>,
    scaled: f64,
}

impl LogSum {
    fn add(&mut self, ln_term: f64) {
        match self.max {
            None => {
                self.max = Some(ln_term);
                self.scaled = 1.0;
            }
            Some(max) if ln_term > max => {
                self.scaled = self.scaled * (max - ln_term).exp() + 1.0;
                self.max = Some(ln_term);
            }
            Some(max) => self.scaled += (ln_term - max).exp(),
        }
    }

    fn ln(&self) -> f64 {
        self.max
            .map_or(f64::NEG_INFINITY, |max| max + self.scaled.ln())
    }
}

/// P(D_n < d) by the Durbin matrix, as Marsaglia, Tsang & Wang (2003),
/// "Evaluating Kolmogorov's distribution", J. Stat. Softw. 8(18): with
/// n·d = k − h (k integer, 0 ≤ h < 1) and an m×m matrix H (m = 2k − 1),
/// the probability is n!/nⁿ · (Hⁿ)_{k,k}. Exact; costs O(m³ log n), so it
/// is used only where k is small. Powers of two keep the matrix in range.
fn durbin_matrix_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    if d >= 1.0 {
        return 1.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;

    // H[i][j] = 1/(i − j + 1)! on and below the superdiagonal, with the
    // first column and last row corrected by powers of h.
    let mut inverse_factorials = vec![1.0; m + 1];
    for i in 1..=m {
        inverse_factorials[i] = inverse_factorials[i - 1] / i as f64;
    }
    let mut matrix = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            if i + 1 >= j {
                matrix[i * m + j] = inverse_factorials[i + 1 - j];
            }
        }
    }
    for i in 0..m {
        matrix[i * m] -= h.powi(i as i32 + 1) * inverse_factorials[i + 1];
        matrix[(m - 1) * m + i] -= h.powi((m - i) as i32) * inverse_factorials[m - i];
    }
    if 2.0 * h - 1.0 > 0.0 {
        matrix[(m - 1) * m] += (2.0 * h - 1.0).powi(m as i32) * inverse_factorials[m];
    }

    let (power, mut exponent) = matrix_power(&matrix, m, n);
    let mut p = power[(k - 1) * m + (k - 1)];
    // Multiply by n!/nⁿ one factor at a time, rescaling by powers of two.
    let nf = n as f64;
    for i in 1..=n {
        p = p * i as f64 / nf;
        if p != 0.0 && p.abs() < SCALE_DOWN {
            p *= SCALE_UP;
            exponent -= SCALE_BITS;
        }
    }
    (p * 2f64.powi(exponent)).clamp(0.0, 1.0)
}

const SCALE_BITS: i32 = 256;
const SCALE_UP: f64 = 1.157_920_892_373_162e77; // 2^256
const SCALE_DOWN: f64 = 8.636_168_555_094_445e-78; // 2^-256

/// `matrix^power` (row-major, `m`×`m`) as `(mantissa matrix, binary
/// exponent)`, rescaling by 2^256 whenever an entry grows past it.
fn matrix_power(matrix: &[f64], m: usize, mut power: u64) -> (Vec<f64>, i32) {
    let mut result = vec![0.0; m * m];
    for i in 0..m {
        result[i * m + i] = 1.0;
    }
    let mut result_exponent = 0;
    let mut base = matrix.to_vec();
    let mut base_exponent = 0;
    let mut scratch = vec![0.0; m * m];
    while power > 0 {
        if power & 1 == 1 {
            multiply(&result, &base, &mut scratch, m);
            std::mem::swap(&mut result, &mut scratch);
            result_exponent += base_exponent;
            result_exponent += rescale(&mut result);
        }
        power >>= 1;
        if power > 0 {
            multiply(&base, &base, &mut scratch, m);
            std::mem::swap(&mut base, &mut scratch);
            base_exponent *= 2;
            base_exponent += rescale(&mut base);
        }
    }
    (result, result_exponent)
}

fn multiply(a: &[f64], b: &[f64], out: &mut [f64], m: usize) {
    out.fill(0.0);
    for i in 0..m {
        for l in 0..m {
            let a_il = a[i * m + l];
            if a_il == 0.0 {
                continue;
            }
            let row = &b[l * m..(l + 1) * m];
            for (o, &b_lj) in out[i * m..(i + 1) * m].iter_mut().zip(row) {
                *o += a_il * b_lj;
            }
        }
    }
}

/// Divides by 2^256 while some entry exceeds it; returns the exponent taken
/// out.
fn rescale(matrix: &mut [f64]) -> i32 {
    let mut taken = 0;
    while matrix.iter().any(|v| v.abs() > SCALE_UP) {
        for v in matrix.iter_mut() {
            *v *= SCALE_DOWN;
        }
        taken += SCALE_BITS;
    }
    taken
}

/// P(D_n ≤ x) by the Pelz–Good (1976) asymptotic series in 1/√n,
/// K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2} with z = x√n, each Kᵢ in its
/// theta-function form that converges fast for small z (the form Simard &
/// L'Ecuyer give, eq. 11 onwards).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z6 = z4 * z2;
    let z8 = z4 * z4;
    let ln_q = -PI * PI / 8.0 / z2;
    if ln_q < -708.0 {
        return 0.0;
    }
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let terms = (16.0 * z / PI).ceil() as u64;

    // Sums over odd m = 2k − 1 of c(m)·exp(−π²m²/(8z²)).
    let mut k = [0.0f64; 4];
    for i in 1..=terms {
        let m = (2 * i - 1) as f64;
        let m2 = m * m;
        let m4 = m2 * m2;
        let m6 = m4 * m2;
        let weight = (ln_q * m2).exp();
        k[0] += weight;
        k[1] += weight * (pi2 * m2 / 4.0 - z2);
        k[2] += weight
            * (6.0 * z6
                + 2.0 * z4
                + (2.0 * z4 - 5.0 * z2) * pi2 * m2 / 4.0
                + pi4 * (1.0 - 2.0 * z2) * m4 / 16.0);
        k[3] += weight
            * (-30.0 * z6 - 90.0 * z8
                + pi2 * (135.0 * z4 - 96.0 * z6) * m2 / 4.0
                + pi4 * (212.0 * z4 - 60.0 * z2) * m4 / 16.0
                + pi6 * (5.0 - 30.0 * z2) * m6 / 64.0);
    }
    let root_two_pi = (2.0 * PI).sqrt();
    k[0] *= root_two_pi / z;
    k[1] *= root_two_pi / (6.0 * z4);
    k[2] *= root_two_pi / (72.0 * z6 * z);
    k[3] *= root_two_pi / (6480.0 * z8 * z2);

    // Sums over all k ≥ 1 of k²·exp(−π²k²/(2z²)) terms in K₂ and K₃.
    let (mut extra2, mut extra3) = (0.0, 0.0);
    for i in 1..=terms {
        let kf = i as f64;
        let k2 = kf * kf;
        let weight = (-pi2 * k2 / 2.0 / z2).exp();
        extra2 += k2 * weight;
        extra3 += (3.0 * z2 - pi2 * k2) * k2 * weight;
    }
    k[2] -= extra2 * pi2 * root_two_pi / (36.0 * z2 * z);
    k[3] += extra3 * pi2 * root_two_pi / (216.0 * z6);

    k[0] + k[1] / nf.sqrt() + k[2] / nf + k[3] / (nf * nf.sqrt())
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durbin_matches_the_closed_form_for_one_value() {
        // n = 1: D_1 = max(U, 1 − U), so P(D_1 < d) = 2d − 1 for d ≥ 1/2.
        assert!((durbin_matrix_cdf(1, 0.8) - 0.6).abs() < 1e-12);
    }

    #[test]
    fn durbin_and_pelz_good_agree_for_large_n() {
        let (n, x) = (5000, 0.015);
        let exact = durbin_matrix_cdf(n, x);
        let series = pelz_good_cdf(n, x);
        assert!((exact - series).abs() < 1e-6, "{exact} vs {series}");
    }

    #[test]
    fn one_sided_tail_is_close_to_the_limit() {
        // P(D⁺ ≥ x) → exp(−2nx²) as n grows.
        let (n, x) = (100_000, 0.005);
        let limit = (-2.0 * n as f64 * x * x).exp();
        assert!((one_sided_sf(n, x) / limit - 1.0).abs() < 0.02);
    }

    #[test]
    fn extremes() {
        assert_eq!(two_sided_sf(10, 0.0), 1.0);
        assert_eq!(two_sided_sf(10, 1.0), 0.0);
        assert_eq!(two_sided_sf(10, 0.04), 1.0);
        assert!(two_sided_sf(0, 0.5).is_nan());
    }
}
