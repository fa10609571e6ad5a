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

mod accumulate;
mod compare;
mod plan;
mod thresholds;
mod verdict;

use std::path::Path;

use super::schema::DataSchema;
use super::DataError;
use compare::*;
use plan::*;
pub use thresholds::*;
pub use verdict::*;

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
pub(super) struct Limits {
    pub(super) memory_budget: u64,
    pub(super) max_levels: usize,
    pub(super) count_text_up_to: u64,
}

pub(super) const LIMITS: Limits = Limits {
    memory_budget: MEMORY_BUDGET,
    max_levels: MAX_LEVELS,
    count_text_up_to: COUNT_TEXT_UP_TO,
};

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

pub(super) fn skew_within(
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

pub(super) fn summarize(columns: &[ColumnSkew]) -> SkewSummary {
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

#[cfg(test)]
mod tests {
    use super::super::schema::ColumnRules;
    use super::*;
    use crate::probes::stats::{CategoryCounts, Dropped, NumericSample};

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
