//! Infers a schema from a data file in one lazy aggregation pass: per column
//! the type, null fraction, numeric range, distinct values (kept as the allowed
//! set when there are few), and uniqueness.

use std::path::Path;

use polars::prelude::*;

use super::read;
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

/// Infers the schema of `path`. String columns with at most `max_categories`
/// distinct values get an `allowed` list.
pub fn infer(path: &Path, max_categories: usize) -> Result<Inferred, DataError> {
    let mut frame = read::scan(path)?;
    let columns = read::columns(path, &mut frame)?;

    let mut exprs = vec![len().alias("rows")];
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let c = || col(name.clone());
        exprs.push(c().null_count().alias(format!("nulls{i}")));
        exprs.push(c().drop_nulls().n_unique().alias(format!("distinct{i}")));
        match column_type(dtype) {
            Some(ColumnType::Int | ColumnType::Float) => {
                exprs.push(c().min().alias(format!("min{i}")));
                exprs.push(c().max().alias(format!("max{i}")));
                if dtype.is_float() {
                    exprs.push(
                        c().is_nan()
                            .or(c().is_infinite())
                            .sum()
                            .alias(format!("nonfinite{i}")),
                    );
                }
            }
            Some(ColumnType::String) => {
                // At most one more than kept: enough to know the domain is too big.
                exprs.push(
                    c().cast(DataType::String)
                        .drop_nulls()
                        .unique()
                        .head(Some(max_categories + 1))
                        .implode()
                        .alias(format!("domain{i}")),
                );
            }
            _ => {}
        }
    }
    let stats = frame
        .select(exprs)
        .collect()
        .map_err(|err| read::read_error(path, &err))?;
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
        let distinct = count(&format!("distinct{i}"));
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
        if non_null > 1 && distinct == non_null && !dtype.is_float() {
            rules.unique = Some(true);
        } else if kind == Some(ColumnType::String)
            && distinct > 0
            && distinct as usize <= max_categories
        {
            if let AnyValue::List(values) = get(&format!("domain{i}")) {
                let mut allowed: Vec<String> = values
                    .str()
                    .map(|s| s.into_iter().flatten().map(str::to_string).collect())
                    .unwrap_or_default();
                allowed.sort();
                rules.allowed = Some(allowed.into_iter().map(Scalar::Text).collect());
                rules.unseen_tolerance = Some(0.0);
            }
        }
        schema.columns.insert(name.to_string(), rules);
    }
    Ok(Inferred { schema, rows })
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
