//! The drift statistics against reference values computed once by numpy and
//! scipy (tests/fixtures/stats/make_reference.py, committed with its output
//! expected.json), plus properties that must hold for any sample.
//!
//! Tolerances: statistics within 1e-9 (relative to max(1, |expected|));
//! p-values within 1e-6 relative. Where our p-value comes from a different
//! algorithm than scipy's (the Durbin matrix instead of Pomeranz for small
//! n), the grid test below shows it still meets 1e-6.

use std::path::Path;
use std::sync::OnceLock;

use mlscore::probes::stats::{
    chi_square, jensen_shannon, jensen_shannon_categorical, kolmogorov, ks_2samp, l_infinity, psi,
    psi_categorical, wasserstein, CategoryCounts, KsMethod, NumericSample, PsiBand, QuantileBins,
    StatsError, DEFAULT_BINS,
};
use proptest::prelude::*;
use serde_json::Value;

const STATISTIC_TOLERANCE: f64 = 1e-9;
const P_VALUE_RELATIVE_TOLERANCE: f64 = 1e-6;

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats/expected.json");
        let text = std::fs::read_to_string(&path).expect("read expected.json");
        serde_json::from_str(&text).expect("parse expected.json")
    })
}

/// splitmix64, as in make_reference.py.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The Irwin–Hall N(shift, 1) sample of make_reference.py, bit for bit: the
/// sum of twelve 20-bit integers is exact, so is its division by 2^20.
fn irwin_hall(seed: u64, n: usize, shift: f64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            let total: u64 = (0..12).map(|_| splitmix64(&mut state) >> 44).sum();
            total as f64 / 1_048_576.0 - 6.0 + shift
        })
        .collect()
}

/// A sample as the fixture describes it: literal values (null = NaN) or a
/// generator spec with a check of what it must produce.
fn sample(spec: &Value) -> Vec<f64> {
    if let Some(values) = spec.get("values") {
        return values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect();
    }
    let generate = &spec["generate"]["irwin_hall_splitmix64"];
    let values = irwin_hall(
        generate["seed"].as_u64().unwrap(),
        generate["n"].as_u64().unwrap() as usize,
        generate["shift"].as_f64().unwrap(),
    );
    let check = &spec["check"];
    assert_eq!(values[0], check["first"].as_f64().unwrap());
    assert_eq!(*values.last().unwrap(), check["last"].as_f64().unwrap());
    let sum: f64 = values.iter().sum();
    assert!((sum - check["sum"].as_f64().unwrap()).abs() < 1e-6);
    values
}

fn categories(spec: &Value) -> CategoryCounts {
    let mut counts = CategoryCounts::from_pairs(
        spec["counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(level, count)| (level.as_str(), count.as_u64().unwrap())),
    );
    counts.add_missing(spec["missing"].as_u64().unwrap());
    counts
}

fn expected(case: &Value, key: &str) -> f64 {
    case["expected"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("{}: no {key}", case["name"]))
}

/// Collects every mismatch so one run shows them all.
#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn statistic(&mut self, case: &Value, what: &str, actual: f64, expected: f64) {
        let allowed = STATISTIC_TOLERANCE * expected.abs().max(1.0);
        if (actual - expected).abs() > allowed || actual.is_nan() {
            self.0.push(format!(
                "{}: {what} = {actual:e}, expected {expected:e}",
                case["name"]
            ));
        }
    }

    /// Relative tolerance, with an absolute floor at the bottom of the
    /// double range so two underflowed values agree.
    fn p_value(&mut self, case: &Value, what: &str, actual: f64, expected: f64) -> f64 {
        let relative = relative_error(actual, expected);
        if relative > P_VALUE_RELATIVE_TOLERANCE || actual.is_nan() {
            self.0.push(format!(
                "{}: {what} = {actual:e}, expected {expected:e} (relative error {relative:e})",
                case["name"]
            ));
        }
        relative
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "\n{}", self.0.join("\n"));
    }
}

fn relative_error(actual: f64, expected: f64) -> f64 {
    let gap = (actual - expected).abs();
    if gap <= 1e-300 {
        0.0
    } else {
        gap / expected.abs()
    }
}

fn numeric_cases() -> &'static [Value] {
    fixture()["numeric"].as_array().unwrap()
}

fn categorical_cases() -> &'static [Value] {
    fixture()["categorical"].as_array().unwrap()
}

#[test]
fn fixture_covers_every_case_the_brief_asks_for() {
    let names: Vec<&str> = numeric_cases()
        .iter()
        .chain(categorical_cases())
        .map(|case| case["name"].as_str().unwrap())
        .collect();
    for wanted in [
        "normal_shift_n500_exact",
        "normal_shift_n20000_asymptotic_tail",
        "ties_integers_0_to_5_unequal_sizes",
        "constant_vs_itself",
        "constant_vs_larger_constant",
        "with_nan_values",
        "small_n5_m7",
        "unseen_level_in_current",
    ] {
        assert!(names.contains(&wanted), "missing case {wanted}");
    }
}

#[test]
fn quantile_cuts_match_numpy() {
    let mut mismatches = Mismatches::default();
    for case in numeric_cases() {
        let reference = NumericSample::from_vec(sample(&case["reference"]));
        let bins = QuantileBins::from_reference(&reference, DEFAULT_BINS).unwrap();
        let cuts: Vec<f64> = case["expected"]["cuts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(bins.cuts().len(), cuts.len(), "{}", case["name"]);
        for (actual, expected) in bins.cuts().iter().zip(&cuts) {
            mismatches.statistic(case, "cut", *actual, *expected);
        }
    }
    mismatches.assert_none();
}

#[test]
fn psi_matches_numpy() {
    let mut mismatches = Mismatches::default();
    for case in numeric_cases() {
        let result = psi(
            &sample(&case["reference"]),
            &sample(&case["current"]),
            DEFAULT_BINS,
        )
        .unwrap();
        mismatches.statistic(case, "psi", result.value, expected(case, "psi"));
        assert_eq!(
            result.bins as f64,
            expected(case, "psi_bins"),
            "{}",
            case["name"]
        );
        assert_eq!(result.band, PsiBand::of(result.value));
        assert_eq!(
            result.dropped.reference as f64,
            expected(case, "dropped_reference")
        );
        assert_eq!(
            result.dropped.current as f64,
            expected(case, "dropped_current")
        );
    }
    mismatches.assert_none();
}

#[test]
fn jensen_shannon_matches_scipy() {
    let mut mismatches = Mismatches::default();
    for case in numeric_cases() {
        let result = jensen_shannon(
            &sample(&case["reference"]),
            &sample(&case["current"]),
            DEFAULT_BINS,
        )
        .unwrap();
        let divergence = expected(case, "js_divergence");
        mismatches.statistic(case, "js divergence", result.divergence, divergence);
        mismatches.statistic(
            case,
            "js distance",
            result.distance,
            expected(case, "js_distance"),
        );
    }
    mismatches.assert_none();
}

#[test]
fn ks_matches_scipy_statistic_and_p_value() {
    let mut mismatches = Mismatches::default();
    let mut worst = (0.0, String::new());
    for case in numeric_cases() {
        let result = ks_2samp(&sample(&case["reference"]), &sample(&case["current"])).unwrap();
        mismatches.statistic(
            case,
            "ks D",
            result.statistic,
            expected(case, "ks_statistic"),
        );
        let relative =
            mismatches.p_value(case, "ks p", result.p_value, expected(case, "ks_pvalue"));
        if relative >= worst.0 {
            worst = (relative, case["name"].as_str().unwrap().to_owned());
        }
        let method = match result.method {
            KsMethod::Exact => "exact",
            KsMethod::Asymptotic => "asymptotic",
        };
        assert_eq!(method, case["expected"]["ks_method"], "{}", case["name"]);
    }
    eprintln!(
        "largest relative KS p-value gap vs scipy: {:e} ({})",
        worst.0, worst.1
    );
    mismatches.assert_none();
}

#[test]
fn wasserstein_matches_scipy() {
    let mut mismatches = Mismatches::default();
    for case in numeric_cases() {
        let result = wasserstein(&sample(&case["reference"]), &sample(&case["current"])).unwrap();
        mismatches.statistic(
            case,
            "wasserstein",
            result.distance,
            expected(case, "wasserstein"),
        );
        mismatches.statistic(
            case,
            "wasserstein normalized",
            result.normalized,
            expected(case, "wasserstein_normalized"),
        );
        mismatches.statistic(
            case,
            "reference std",
            result.reference_std,
            expected(case, "reference_std"),
        );
    }
    mismatches.assert_none();
}

#[test]
fn categorical_statistics_match_scipy() {
    let mut mismatches = Mismatches::default();
    for case in categorical_cases() {
        let reference = categories(&case["reference"]);
        let current = categories(&case["current"]);

        let chi = chi_square(&reference, &current).unwrap();
        mismatches.statistic(
            case,
            "chi2",
            chi.statistic,
            expected(case, "chi2_statistic"),
        );
        mismatches.p_value(case, "chi2 p", chi.p_value, expected(case, "chi2_pvalue"));
        assert_eq!(chi.df as f64, expected(case, "chi2_df"), "{}", case["name"]);
        let unseen: Vec<&str> = case["expected"]["unseen_levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(chi.unseen_levels, unseen, "{}", case["name"]);
        assert_eq!(chi.unseen_count as f64, expected(case, "unseen_count"));
        assert_eq!(
            chi.dropped.reference,
            case["reference"]["missing"].as_u64().unwrap()
        );
        assert_eq!(
            chi.dropped.current,
            case["current"]["missing"].as_u64().unwrap()
        );

        let linf = l_infinity(&reference, &current).unwrap();
        mismatches.statistic(case, "l-inf", linf.distance, expected(case, "linf"));
        assert_eq!(
            linf.level, case["expected"]["linf_level"],
            "{}",
            case["name"]
        );

        let psi = psi_categorical(&reference, &current).unwrap();
        mismatches.statistic(case, "psi", psi.value, expected(case, "psi"));
        assert_eq!(psi.bins as f64, expected(case, "psi_bins"));

        let js = jensen_shannon_categorical(&reference, &current).unwrap();
        mismatches.statistic(
            case,
            "js divergence",
            js.divergence,
            expected(case, "js_divergence"),
        );
        mismatches.statistic(
            case,
            "js distance",
            js.distance,
            expected(case, "js_distance"),
        );
    }
    mismatches.assert_none();
}

/// scipy's `kstwo.sf` on a grid over every regime of the algorithm choice
/// (n from 1 to 2,000,000; n·x² from 0.05 to 300; x near 1/n and 1).
#[test]
fn kolmogorov_distribution_matches_scipy_kstwo() {
    let mut mismatches = Vec::new();
    let mut worst = (0.0, 0, 0.0);
    for row in fixture()["kstwo_sf"].as_array().unwrap() {
        let n = row[0].as_u64().unwrap();
        let x = row[1].as_f64().unwrap();
        let expected = row[2].as_f64().unwrap();
        let actual = kolmogorov::two_sided_sf(n, x);
        let relative = relative_error(actual, expected);
        if relative > worst.0 {
            worst = (relative, n, x);
        }
        if relative > P_VALUE_RELATIVE_TOLERANCE || actual.is_nan() {
            mismatches.push(format!(
                "kstwo.sf({x}, {n}) = {actual:e}, scipy {expected:e}"
            ));
        }
    }
    eprintln!(
        "largest relative kstwo.sf gap vs scipy: {:e} at n={} x={}",
        worst.0, worst.1, worst.2
    );
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

/// scipy's `smirnov(n, x)`, the one-sided tail the upper regime doubles.
#[test]
fn smirnov_distribution_matches_scipy() {
    let mut mismatches = Vec::new();
    let mut worst = (0.0, 0, 0.0);
    for row in fixture()["smirnov_sf"].as_array().unwrap() {
        let n = row[0].as_u64().unwrap();
        let x = row[1].as_f64().unwrap();
        let expected = row[2].as_f64().unwrap();
        let actual = kolmogorov::one_sided_sf(n, x);
        let relative = relative_error(actual, expected);
        if relative > worst.0 {
            worst = (relative, n, x);
        }
        if relative > P_VALUE_RELATIVE_TOLERANCE || actual.is_nan() {
            mismatches.push(format!(
                "smirnov({n}, {x}) = {actual:e}, scipy {expected:e}"
            ));
        }
    }
    eprintln!(
        "largest relative smirnov gap vs scipy: {:e} at n={} x={}",
        worst.0, worst.1, worst.2
    );
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

/// scipy's `chi2.sf` against statrs' survival function, which the
/// chi-square p-value uses, from the body of the distribution to far tails.
#[test]
fn chi_square_survival_function_matches_scipy() {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let mut mismatches = Vec::new();
    let mut worst = (0.0, 0.0, 0.0);
    for row in fixture()["chi2_sf"].as_array().unwrap() {
        let df = row[0].as_f64().unwrap();
        let x = row[1].as_f64().unwrap();
        let expected = row[2].as_f64().unwrap();
        let actual = ChiSquared::new(df).unwrap().sf(x);
        let relative = relative_error(actual, expected);
        if relative > worst.0 {
            worst = (relative, df, x);
        }
        if relative > P_VALUE_RELATIVE_TOLERANCE || actual.is_nan() {
            mismatches.push(format!(
                "chi2.sf({x}, {df}) = {actual:e}, scipy {expected:e}"
            ));
        }
    }
    eprintln!(
        "largest relative chi2.sf gap vs scipy: {:e} at df={} x={}",
        worst.0, worst.1, worst.2
    );
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

#[test]
fn empty_samples_are_errors_not_nan() {
    let nan_only = [f64::NAN, f64::NAN];
    let one = [1.0];
    let reference_error = StatsError::EmptyReference { dropped: 2 };
    let current_error = StatsError::EmptyCurrent { dropped: 2 };
    assert_eq!(psi(&nan_only, &one, 10).unwrap_err(), reference_error);
    assert_eq!(psi(&one, &nan_only, 10).unwrap_err(), current_error);
    assert_eq!(
        jensen_shannon(&nan_only, &one, 10).unwrap_err(),
        reference_error
    );
    assert_eq!(
        jensen_shannon(&one, &nan_only, 10).unwrap_err(),
        current_error
    );
    assert_eq!(ks_2samp(&nan_only, &one).unwrap_err(), reference_error);
    assert_eq!(ks_2samp(&one, &nan_only).unwrap_err(), current_error);
    assert_eq!(wasserstein(&nan_only, &one).unwrap_err(), reference_error);
    assert_eq!(
        wasserstein(&one, &[]).unwrap_err(),
        StatsError::EmptyCurrent { dropped: 0 }
    );

    let empty = CategoryCounts::new();
    let some = CategoryCounts::from_pairs([("a", 1)]);
    let missing_only = CategoryCounts::from_values([None, None]);
    assert_eq!(
        chi_square(&missing_only, &some).unwrap_err(),
        StatsError::EmptyReference { dropped: 2 }
    );
    assert_eq!(
        l_infinity(&some, &empty).unwrap_err(),
        StatsError::EmptyCurrent { dropped: 0 }
    );
    assert!(psi_categorical(&empty, &some).is_err());
    assert!(jensen_shannon_categorical(&some, &empty).is_err());
}

#[test]
fn infinities_are_dropped_like_nan() {
    let result = ks_2samp(&[1.0, f64::INFINITY, 2.0], &[f64::NEG_INFINITY, 1.0, 2.0]).unwrap();
    assert_eq!(result.statistic, 0.0);
    assert_eq!((result.dropped.reference, result.dropped.current), (1, 1));
}

// ---- properties ------------------------------------------------------------

/// Standard normal draws by Box–Muller from bounded uniforms (|z| ≤ 5.3), so
/// a shift of several standard deviations separates two samples.
fn normal_sample(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((1e-6f64..1.0, 0.0f64..1.0), len).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(u, v)| (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos())
            .collect()
    })
}

/// Arbitrary finite samples: wide floats, or small integers full of ties.
fn any_sample() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(-1e6f64..1e6, 1..200),
        prop::collection::vec((0i32..6).prop_map(f64::from), 1..200),
        prop::collection::vec(prop::sample::select(vec![-1.5, 0.0, 2.25, 1e3]), 1..50),
    ]
}

fn category_counts() -> impl Strategy<Value = CategoryCounts> {
    prop::collection::vec((0u8..8, 1u64..1000), 1..8).prop_map(|pairs| {
        CategoryCounts::from_pairs(
            pairs
                .into_iter()
                .map(|(level, count)| (format!("level_{level}"), count)),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        // Integration tests have no lib.rs beside them for the default
        // lookup; keep failing seeds next to this file instead.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_sample_against_itself_shows_no_drift(values in any_sample()) {
        let psi = psi(&values, &values, DEFAULT_BINS).unwrap();
        prop_assert_eq!(psi.value, 0.0);
        let js = jensen_shannon(&values, &values, DEFAULT_BINS).unwrap();
        prop_assert_eq!(js.divergence, 0.0);
        prop_assert_eq!(js.distance, 0.0);
        let ks = ks_2samp(&values, &values).unwrap();
        prop_assert_eq!(ks.statistic, 0.0);
        prop_assert_eq!(ks.p_value, 1.0);
        let w = wasserstein(&values, &values).unwrap();
        prop_assert_eq!(w.distance, 0.0);
        prop_assert_eq!(w.normalized, 0.0);
    }

    #[test]
    fn a_shift_of_five_standard_deviations_is_flagged(
        reference in normal_sample(20..300),
        current in normal_sample(20..300),
    ) {
        let std = NumericSample::new(&reference).std_population().unwrap();
        let shifted: Vec<f64> = current.iter().map(|v| v + 5.0 * std).collect();
        let psi = psi(&reference, &shifted, DEFAULT_BINS).unwrap();
        prop_assert!(psi.value >= 0.25, "psi {}", psi.value);
        prop_assert_eq!(psi.band, PsiBand::Major);
        let ks = ks_2samp(&reference, &shifted).unwrap();
        prop_assert!(ks.p_value < 0.01, "ks p {}", ks.p_value);
        let js = jensen_shannon(&reference, &shifted, DEFAULT_BINS).unwrap();
        prop_assert!(js.distance >= 0.1, "js distance {}", js.distance);
        let w = wasserstein(&reference, &shifted).unwrap();
        prop_assert!(w.normalized >= 0.1, "normalized wasserstein {}", w.normalized);
    }

    #[test]
    fn numeric_statistics_are_finite_and_in_range(
        reference in any_sample(),
        current in any_sample(),
        bins in 2usize..20,
    ) {
        let psi = psi(&reference, &current, bins).unwrap();
        prop_assert!(psi.value.is_finite() && psi.value >= 0.0, "psi {}", psi.value);
        prop_assert!(psi.bins <= bins);
        let js = jensen_shannon(&reference, &current, bins).unwrap();
        prop_assert!((0.0..=1.0).contains(&js.divergence), "js {}", js.divergence);
        prop_assert!((0.0..=1.0).contains(&js.distance));
        let ks = ks_2samp(&reference, &current).unwrap();
        prop_assert!((0.0..=1.0).contains(&ks.statistic), "D {}", ks.statistic);
        prop_assert!((0.0..=1.0).contains(&ks.p_value), "p {}", ks.p_value);
        let w = wasserstein(&reference, &current).unwrap();
        prop_assert!(w.distance.is_finite() && w.distance >= 0.0);
        prop_assert!(w.normalized.is_finite() && w.normalized >= 0.0);
    }

    #[test]
    fn ks_statistic_is_symmetric_and_the_p_value_too(
        reference in any_sample(),
        current in any_sample(),
    ) {
        let forward = ks_2samp(&reference, &current).unwrap();
        let backward = ks_2samp(&current, &reference).unwrap();
        prop_assert_eq!(forward.statistic, backward.statistic);
        prop_assert!((forward.p_value - backward.p_value).abs() <= 1e-12 * forward.p_value.max(1e-300));
    }

    #[test]
    fn categorical_statistics_are_finite_and_in_range(
        reference in category_counts(),
        current in category_counts(),
    ) {
        let linf = l_infinity(&reference, &current).unwrap();
        prop_assert!((0.0..=1.0).contains(&linf.distance));
        let psi = psi_categorical(&reference, &current).unwrap();
        prop_assert!(psi.value.is_finite() && psi.value >= 0.0);
        let js = jensen_shannon_categorical(&reference, &current).unwrap();
        prop_assert!((0.0..=1.0).contains(&js.divergence));
        match chi_square(&reference, &current) {
            Ok(chi) => {
                prop_assert!(chi.statistic.is_finite() && chi.statistic >= 0.0);
                prop_assert!((0.0..=1.0).contains(&chi.p_value));
            }
            Err(StatsError::NoSharedLevels { unseen }) => prop_assert_eq!(unseen, current.total()),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn categorical_counts_against_themselves_show_no_drift(counts in category_counts()) {
        prop_assert_eq!(l_infinity(&counts, &counts).unwrap().distance, 0.0);
        prop_assert_eq!(psi_categorical(&counts, &counts).unwrap().value, 0.0);
        prop_assert_eq!(jensen_shannon_categorical(&counts, &counts).unwrap().divergence, 0.0);
        let chi = chi_square(&counts, &counts).unwrap();
        prop_assert!(chi.statistic < 1e-9, "chi2 {}", chi.statistic);
        prop_assert!(chi.p_value > 0.999_999);
    }
}
