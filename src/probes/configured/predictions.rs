//! Per-group confusion counts and errors from a predictions file (one row per
//! example, with a label column and a prediction column): what the `slices`
//! and `fairness` probes judge.

use polars::prelude::*;

use super::{frame, Context, Unrunnable};

/// Where the labels and predictions are.
#[derive(Debug, Clone)]
pub struct PredictionColumns<'a> {
    /// The predictions file: CSV/TSV, Parquet or NDJSON.
    pub predictions: &'a str,
    /// The true label (or target value).
    pub label: &'a str,
    /// The model's prediction.
    pub prediction: &'a str,
    /// The positive class, for precision, recall, F1 and the fairness
    /// metrics. Default: `1` (or `true`) for numeric and boolean labels.
    pub positive: Option<&'a serde_yaml::Value>,
}

/// The default name of the label column.
pub fn default_label() -> String {
    "label".into()
}

/// The default name of the prediction column.
pub fn default_prediction() -> String {
    "prediction".into()
}

/// Counts for one group of rows (or for all rows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupCounts {
    /// The group's value, as text; `(null)` for rows without one.
    pub group: String,
    /// Rows with both a label and a prediction.
    pub rows: u64,
    /// Rows where prediction equals label.
    pub correct: u64,
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    /// Rows predicted positive.
    pub predicted_positive: u64,
    /// Rows labelled positive.
    pub labelled_positive: u64,
    /// Sum of |label - prediction| (numeric labels only).
    pub abs_error: f64,
    /// Sum of (label - prediction)² (numeric labels only).
    pub squared_error: f64,
}

impl GroupCounts {
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.correct, self.rows)
    }
    pub fn precision(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positives, self.labelled_positive)
    }
    pub fn f1(&self) -> Option<f64> {
        ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )
    }
    /// The share of rows predicted positive (selection rate).
    pub fn selection_rate(&self) -> Option<f64> {
        ratio(self.predicted_positive, self.rows)
    }
    pub fn mae(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.abs_error / self.rows as f64)
    }
    pub fn rmse(&self) -> Option<f64> {
        (self.rows > 0).then(|| (self.squared_error / self.rows as f64).sqrt())
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The counts of a predictions file.
pub struct Counts {
    /// The file read, repository-relative.
    pub file: String,
    /// Over every row with a label and a prediction.
    pub overall: GroupCounts,
    /// Per grouping column, the counts of each of its values.
    pub groups: Vec<(String, Vec<GroupCounts>)>,
}

/// Reads the counts overall and, for each column in `by`, per value of it.
/// `needs_positive` makes a missing positive class an error.
pub fn counts(
    ctx: &Context<'_>,
    columns: &PredictionColumns<'_>,
    by: &[String],
    needs_positive: bool,
) -> Result<Counts, Unrunnable> {
    let file = ctx.resolve_one(columns.predictions)?;
    let path = ctx.path(&file)?;
    let mut lazy = crate::probes::data::read::scan(&path)?;
    let schema = crate::probes::data::read::columns(&path, &mut lazy)?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    for (role, name) in [("label", columns.label), ("prediction", columns.prediction)]
        .into_iter()
        .chain(by.iter().map(|b| ("group", b.as_str())))
    {
        if !names.iter().any(|n| n == name) {
            return Err(Unrunnable::new(
                format!("{file} has no column `{name}` (the {role} column)"),
                format!(
                    "set `{}` to one of: {}",
                    if role == "group" {
                        "the group columns"
                    } else {
                        role
                    },
                    names.join(", ")
                ),
            )
            .at(&file));
        }
    }
    let label_type = schema.get(columns.label).cloned().unwrap_or(DataType::Null);
    let pred_type = schema
        .get(columns.prediction)
        .cloned()
        .unwrap_or(DataType::Null);
    let numeric = |t: &DataType| t.is_primitive_numeric() || t.is_bool();
    let as_numbers = numeric(&label_type) && numeric(&pred_type);
    let cast = if as_numbers {
        DataType::Float64
    } else {
        DataType::String
    };
    let l = col(columns.label).cast(cast.clone());
    let p = col(columns.prediction).cast(cast);

    let positive: Option<Expr> = match (columns.positive, as_numbers) {
        (Some(value), true) => Some(lit(number_of(value).ok_or_else(|| {
            Unrunnable::new(
                format!(
                    "positive: `{}` is not a number, but the labels are",
                    show(value)
                ),
                "write the positive class as the labels write it, e.g. `positive: 1`",
            )
        })?)),
        (Some(value), false) => Some(lit(show(value))),
        (None, true) => Some(lit(1.0)),
        (None, false) => None,
    };
    if needs_positive && positive.is_none() {
        return Err(Unrunnable::new(
            format!(
                "`{}` holds text, so the positive class is not known",
                columns.label
            ),
            "set `positive:` to the label value that means positive, e.g. `positive: approved`",
        )
        .at(&file));
    }
    let u64_sum = |e: Expr| e.cast(DataType::UInt64).sum();
    let mut aggs = vec![
        len().alias("rows"),
        u64_sum(l.clone().eq(p.clone())).alias("correct"),
    ];
    if let Some(pos) = &positive {
        let pp = p.clone().eq(pos.clone());
        let lp = l.clone().eq(pos.clone());
        aggs.extend([
            u64_sum(pp.clone().and(lp.clone())).alias("tp"),
            u64_sum(pp.clone().and(lp.clone().not())).alias("fp"),
            u64_sum(pp.clone().not().and(lp.clone())).alias("fn"),
            u64_sum(pp).alias("pp"),
            u64_sum(lp).alias("lp"),
        ]);
    }
    if as_numbers {
        let diff = l.clone() - p.clone();
        // `Expr::abs` needs a polars feature of its own; this is the same.
        let abs = when(diff.clone().lt(lit(0.0)))
            .then(lit(0.0) - diff.clone())
            .otherwise(diff.clone());
        aggs.push(abs.sum().alias("abs"));
        aggs.push((diff.clone() * diff).sum().alias("sq"));
    }
    let known = lazy.filter(l.is_not_null().and(p.is_not_null()));

    let overall = frame::collect(&file, known.clone().select(aggs.clone()))?;
    let overall = read_counts(&overall, None).pop().unwrap_or_default();
    let mut groups = Vec::new();
    for column in by {
        let key = col(column.as_str()).cast(DataType::String).alias("group");
        let table = frame::collect(
            &file,
            known.clone().group_by([key]).agg(aggs.clone()).sort(
                ["group"],
                SortMultipleOptions::default().with_nulls_last(true),
            ),
        )?;
        groups.push((column.clone(), read_counts(&table, Some("group"))));
    }
    Ok(Counts {
        file,
        overall,
        groups,
    })
}

fn read_counts(table: &DataFrame, key: Option<&str>) -> Vec<GroupCounts> {
    let value = |name: &str, row: usize| -> AnyValue<'static> {
        table
            .column(name)
            .ok()
            .and_then(|c| c.get(row).ok())
            .map(|v| v.into_static())
            .unwrap_or(AnyValue::Null)
    };
    (0..table.height())
        .map(|row| {
            let int = |name: &str| value(name, row).extract::<u64>().unwrap_or(0);
            let float = |name: &str| value(name, row).extract::<f64>().unwrap_or(0.0);
            GroupCounts {
                group: key.map_or_else(String::new, |k| match value(k, row) {
                    AnyValue::Null => "(null)".to_string(),
                    v => v.str_value().to_string(),
                }),
                rows: int("rows"),
                correct: int("correct"),
                true_positives: int("tp"),
                false_positives: int("fp"),
                false_negatives: int("fn"),
                predicted_positive: int("pp"),
                labelled_positive: int("lp"),
                abs_error: float("abs"),
                squared_error: float("sq"),
            }
        })
        .collect()
}

fn number_of(value: &serde_yaml::Value) -> Option<f64> {
    match value {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        serde_yaml::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn show(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}
