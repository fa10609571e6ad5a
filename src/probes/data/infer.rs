//! Infers a schema from a data file in one streamed aggregation pass: per
//! column the type, null fraction, numeric range, distinct values (kept as the
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
            exprs.push(Aggregate::max(c().max(), format!("max{i}")));
            if dtype.is_float() {
                let nonfinite = c().is_nan().or(c().is_infinite()).sum();
                exprs.push(Aggregate::sum(nonfinite, format!("nonfinite{i}")));
            }
        }
    }
    let stats = source.aggregate(&exprs, &bar)?;
    bar.finish();
    let get = |name: &str| -> AnyValue<'static> {
        stats
            .column(name)
            .ok()
            .and_then(|c| c.get(0).ok())
            .map(|v| v.into_static())
            .unwrap_or(AnyValue::Null)
    };
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
            rules.min = scalar(&get(&format!("min{i}")));
            rules.max = scalar(&get(&format!("max{i}")));
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

/// A numeric aggregate as a schema scalar (`None` for null or NaN).
fn scalar(value: &AnyValue) -> Option<Scalar> {
    match value {
        AnyValue::Float32(x) if x.is_finite() => Some(Scalar::Float(f64::from(*x))),
        AnyValue::Float64(x) if x.is_finite() => Some(Scalar::Float(*x)),
        v if v.is_integer() => v.extract::<i64>().map(Scalar::Int),
        _ => None,
    }
}
