//! Infers a schema from a data file in one streamed aggregation pass: per
//! column the type, null fraction, sign of numeric columns, distinct values (kept as the
//! allowed set when there are few), and uniqueness.
//!
//! Memory stays bounded: a text column's domain is collected only up to one
//! value more than is kept ([`Domain`]), and uniqueness is decided by a
//! [`DistinctCounter`] that stops at the first repeated value.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::progress::Progress;
use super::read::{self, Aggregate, DistinctCounter, Source};
use super::schema::{ColumnRules, ColumnType, DataSchema, RowBounds, Scalar};
use super::DataError;

/// A schema inferred from a file, with the row count it was inferred from.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The schema, ready to be reviewed and written.
    pub schema: DataSchema,
    /// Rows in the file.
    pub rows: u64,
}

/// The schema type of a polars dtype, if the schema format has one for it.
pub fn column_type(dtype: &DataType) -> Option<ColumnType> {
    match dtype {
        d if d.is_integer() => Some(ColumnType::Int),
        d if d.is_float() => Some(ColumnType::Float),
        DataType::String | DataType::Categorical(..) | DataType::Enum(..) => {
            Some(ColumnType::String)
        }
        DataType::Boolean => Some(ColumnType::Bool),
        DataType::Date => Some(ColumnType::Date),
        DataType::Datetime(..) => Some(ColumnType::Datetime),
        _ => None,
    }
}

/// Memory for the hashes of the columns that may be unique, shared among
/// them; beyond it hashes spill to a temporary file.
const DISTINCT_BUDGET: usize = 64 << 20;

/// Infers the schema of `path`. String columns with at most `max_categories`
/// distinct values get an `allowed` list.
pub fn infer(path: &Path, max_categories: usize) -> Result<Inferred, DataError> {
    let source = Source::open(path)?;
    let columns = source.schema();

    // Floats are never proposed as unique; every other column may be.
    let may_be_unique = |dtype: &DataType| column_type(dtype).is_some() && !dtype.is_float();
    let candidates = columns.iter_values().filter(|d| may_be_unique(d)).count();
    let budget = DISTINCT_BUDGET / candidates.max(1);
    let counters: Vec<Option<DistinctCounter>> = columns
        .iter_values()
        .map(|d| may_be_unique(d).then(|| DistinctCounter::new(budget, true)))
        .collect();
    let domains: Vec<Option<Domain>> = columns
        .iter_values()
        .map(|d| (column_type(d) == Some(ColumnType::String)).then(|| Domain::new(max_categories)))
        .collect();

    let bar = Progress::start(
        &format!("inferring {}", read::file_name(path)),
        read::file_size(path),
    );
    let mut exprs = vec![Aggregate::sum(len(), "rows")];
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let c = || col(name.clone());
        // The null count reads every row: the counters ride along on it.
        let mut observed = c();
        if i == 0 {
            observed = bar.count_rows(observed);
        }
        if let Some(counter) = &counters[i] {
            observed = counter.observe(observed);
        }
        if let Some(domain) = &domains[i] {
            observed = domain.observe(observed);
        }
        exprs.push(Aggregate::sum(observed.null_count(), format!("nulls{i}")));
        if matches!(
            column_type(dtype),
            Some(ColumnType::Int | ColumnType::Float)
        ) {
            exprs.push(Aggregate::min(c().min(), format!("min{i}")));
            if dtype.is_float() {
                let nonfinite = c().is_nan().or(c().is_infinite()).sum();
                exprs.push(Aggregate::sum(nonfinite, format!("nonfinite{i}")));
            }
        }
    }
    let stats = source.aggregate(&exprs, &bar)?;
    bar.finish();
    // Looked up by name once into a map: a lookup per column of a frame with
    // one result column per aggregate was quadratic in the file's columns.
    let values: std::collections::HashMap<&str, AnyValue<'static>> = stats
        .columns()
        .iter()
        .map(|c| {
            let value = c.get(0).map_or(AnyValue::Null, |v| v.into_static());
            (c.name().as_str(), value)
        })
        .collect();
    let get =
        |name: &str| -> AnyValue<'static> { values.get(name).cloned().unwrap_or(AnyValue::Null) };
    let count = |name: &str| get(name).extract::<u64>().unwrap_or(0);

    let rows = count("rows");
    let mut schema = DataSchema {
        rows: Some(RowBounds {
            min: Some(1),
            max: None,
        }),
        ..Default::default()
    };
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let kind = column_type(dtype);
        let nulls = count(&format!("nulls{i}"));
        let mut rules = ColumnRules {
            kind,
            ..Default::default()
        };
        if nulls == 0 {
            rules.nullable = Some(false);
        } else if nulls < rows {
            // Rounded up to the percent so the data it came from passes.
            let fraction = nulls as f64 / rows as f64;
            rules.max_null_fraction = Some(((fraction * 100.0).ceil() / 100.0).min(1.0));
        }
        if matches!(kind, Some(ColumnType::Int | ColumnType::Float)) {
            rules.min = lower_bound(scalar(&get(&format!("min{i}"))));
            if dtype.is_float() && count(&format!("nonfinite{i}")) == 0 && nulls < rows {
                rules.finite = Some(true);
            }
        }
        let non_null = rows - nulls;
        let unique = match &counters[i] {
            Some(counter) => counter
                .finish()
                .map_err(|err| DataError::Read {
                    path: path.display().to_string(),
                    reason: format!("cannot spill uniqueness hashes to a temporary file: {err}"),
                    help: "free space in the temporary folder, or point TMPDIR at a bigger one"
                        .into(),
                })?
                .all_distinct(),
            None => false,
        };
        let allowed = domains[i].as_ref().and_then(Domain::values);
        if non_null > 1 && unique {
            rules.unique = Some(true);
        } else if let Some(allowed) = allowed.filter(|values| !values.is_empty()) {
            rules.allowed = Some(allowed.into_iter().map(Scalar::Text).collect());
            rules.unseen_tolerance = Some(0.0);
        }
        schema.columns.insert(name.to_string(), rules);
    }
    Ok(Inferred { schema, rows })
}

/// The distinct non-null values of a text column, collected while the column
/// streams, as long as there are at most `limit` of them. Once there are more
/// the set is dropped and later batches are skipped, so memory stays at
/// `limit + 1` values (polars' `unique` would keep every distinct value).
#[derive(Clone)]
struct Domain {
    seen: Arc<Mutex<Option<BTreeSet<String>>>>,
    limit: usize,
}

impl Domain {
    fn new(limit: usize) -> Domain {
        Domain {
            seen: Arc::new(Mutex::new(Some(BTreeSet::new()))),
            limit,
        }
    }

    /// `expr` unchanged; every batch it evaluates adds its distinct values.
    fn observe(&self, expr: Expr) -> Expr {
        let domain = self.clone();
        read::tap(expr, move |column| domain.add(column))
    }

    fn add(&self, column: &Column) -> PolarsResult<()> {
        if self.lock().is_none() {
            return Ok(());
        }
        let values = column.drop_nulls().unique()?.cast(&DataType::String)?;
        let values = values.str()?;
        let mut seen = self.lock();
        if let Some(set) = seen.as_mut() {
            set.extend(values.into_iter().flatten().map(str::to_string));
            if set.len() > self.limit {
                *seen = None;
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<BTreeSet<String>>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The values, sorted, or `None` when there were more than the limit.
    fn values(&self) -> Option<Vec<String>> {
        self.lock()
            .as_ref()
            .map(|set| set.iter().cloned().collect())
    }
}

/// The bound a schema states for a numeric column whose smallest observed
/// value is `min`: `min: 0` when no value is negative, and no other bound.
///
/// The observed range is no bound: a fresh sample of the same size from the
/// same distribution has, by exchangeability, its minimum below the observed
/// one with probability 1/2, and likewise its maximum, so `[min, max]` rejects
/// about three fresh samples in four. Widening by a margin fails for heavy
/// tails (a log-normal's or Pareto's next maximum is often twice the last).
/// A sign is different: a distribution that gave no negative value in the
/// sample rarely has any, and counts, amounts and durations never do. How far
/// values moved is what `data skew` measures.
pub fn lower_bound(min: Option<Scalar>) -> Option<Scalar> {
    let non_negative = match min {
        Some(Scalar::Int(v)) => v >= 0,
        Some(Scalar::Float(v)) => v >= 0.0,
        _ => false,
    };
    non_negative.then_some(Scalar::Int(0))
}

/// A numeric aggregate as a schema scalar (`None` for null or NaN).
fn scalar(value: &AnyValue) -> Option<Scalar> {
    match value {
        AnyValue::Float32(x) if x.is_finite() => Some(Scalar::Float(f64::from(*x))),
        AnyValue::Float64(x) if x.is_finite() => Some(Scalar::Float(*x)),
        v if v.is_integer() => v.extract::<i64>().map(Scalar::Int),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Rng;
    use proptest::test_runner::{RngAlgorithm, TestRng};

    /// A uniform draw in (0, 1).
    fn uniform(rng: &mut TestRng) -> f64 {
        ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(rng: &mut TestRng) -> f64 {
        let (a, b) = (uniform(rng), uniform(rng));
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }

    /// Whether every value of `sample` passes the bound inferred from `train`.
    fn passes(train: &[f64], sample: &[f64]) -> bool {
        let observed = train.iter().copied().fold(f64::INFINITY, f64::min);
        match lower_bound(Some(Scalar::Float(observed))) {
            Some(Scalar::Int(min)) => sample.iter().all(|&v| v >= min as f64),
            Some(_) => unreachable!("the bound is an integer"),
            None => true,
        }
    }

    /// Issue 15, item 10: for distributions with and without a sign, light and
    /// heavy tailed, at least 99% of fresh samples of the same size pass the
    /// bounds inferred from a first sample. (The observed range passed about
    /// one fresh sample in four.)
    #[test]
    fn fresh_samples_of_the_same_distribution_pass() {
        type Draw = fn(&mut TestRng) -> f64;
        let distributions: [(&str, Draw); 6] = [
            ("income ~ N(50000, 8000)", |r| {
                50_000.0 + 8_000.0 * normal(r)
            }),
            ("N(0, 1)", normal),
            ("log-normal(0, 1)", |r| normal(r).exp()),
            ("exponential(1)", |r| -uniform(r).ln()),
            ("uniform(0, 1)", uniform),
            ("Pareto(1.5)", |r| uniform(r).powf(-1.0 / 1.5)),
        ];
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[10; 32]);
        for (name, draw) in distributions {
            let trials = 200;
            let size = 2_000;
            let mut passed = 0;
            for _ in 0..trials {
                let train: Vec<f64> = (0..size).map(|_| draw(&mut rng)).collect();
                let fresh: Vec<f64> = (0..size).map(|_| draw(&mut rng)).collect();
                passed += usize::from(passes(&train, &fresh));
            }
            assert!(
                passed * 100 >= trials * 99,
                "{name}: {passed} of {trials} fresh samples passed"
            );
        }
    }

    #[test]
    fn only_a_sign_is_inferred() {
        assert_eq!(lower_bound(Some(Scalar::Int(18))), Some(Scalar::Int(0)));
        assert_eq!(lower_bound(Some(Scalar::Float(0.0))), Some(Scalar::Int(0)));
        assert_eq!(lower_bound(Some(Scalar::Float(-0.5))), None);
        assert_eq!(lower_bound(None), None);
    }

    /// Wide files are aggregated in several queries whose results are put
    /// side by side: every column must still get its own figures.
    #[test]
    fn wide_files_keep_each_columns_figures() {
        const COLUMNS: usize = 401;
        const ROWS: usize = 30;
        // Column i: kind i % 4 — a unique non-negative int, a float going
        // negative, a two-level category, an int with one null.
        let value = |col: usize, row: usize| -> String {
            match col % 4 {
                0 => (row * 7 + col).to_string(),
                1 => format!("{}.5", row as i64 - col as i64),
                2 => ["low", "high"][row % 2].to_string(),
                _ if row == 3 => String::new(),
                _ => (col % 5).to_string(),
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let mut csv = (0..COLUMNS)
            .map(|c| format!("c{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut ndjson = String::new();
        for row in 0..ROWS {
            csv.push('\n');
            csv.push_str(
                &(0..COLUMNS)
                    .map(|c| value(c, row))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            let fields: Vec<String> = (0..COLUMNS)
                .map(|c| match (c % 4, value(c, row)) {
                    (3, v) if v.is_empty() => format!("\"c{c}\": null"),
                    (2, v) => format!("\"c{c}\": \"{v}\""),
                    (_, v) => format!("\"c{c}\": {v}"),
                })
                .collect();
            ndjson.push_str(&format!("{{{}}}\n", fields.join(", ")));
        }
        std::fs::write(dir.path().join("wide.csv"), csv).unwrap();
        std::fs::write(dir.path().join("wide.jsonl"), ndjson).unwrap();
        for name in ["wide.csv", "wide.jsonl"] {
            let inferred = infer(&dir.path().join(name), 10).unwrap();
            assert_eq!(inferred.rows, ROWS as u64, "{name}");
            assert_eq!(inferred.schema.columns.len(), COLUMNS, "{name}");
            for c in 0..COLUMNS {
                let rules = &inferred.schema.columns[&format!("c{c}")];
                let want = match c % 4 {
                    0 => (
                        Some(ColumnType::Int),
                        Some(false),
                        None,
                        Some(true),
                        Some(Scalar::Int(0)),
                    ),
                    1 => (Some(ColumnType::Float), Some(false), None, None, None),
                    2 => (Some(ColumnType::String), Some(false), None, None, None),
                    _ => (
                        Some(ColumnType::Int),
                        None,
                        Some(0.04),
                        None,
                        Some(Scalar::Int(0)),
                    ),
                };
                let got = (
                    rules.kind,
                    rules.nullable,
                    rules.max_null_fraction,
                    rules.unique,
                    rules.min.clone(),
                );
                assert_eq!(got, want, "{name} c{c}");
                if c % 4 == 2 {
                    let allowed = rules.allowed.as_ref().expect("a category's levels");
                    assert_eq!(allowed.len(), 2, "{name} c{c}");
                }
            }
        }
    }
}
