//! Validates a data file against a schema. Every rule's aggregate goes into
//! ONE lazy `select`, collected once with the streaming engine; then each rule
//! compares its aggregate with its threshold. Only a rule that fails runs a
//! second, tiny query (filtered, limited, also streamed) for up to three
//! example values. Uniqueness is counted in bounded memory by
//! [`read::DistinctCounter`], not by polars' `n_unique`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use polars_arrow::array::{Array, BooleanArray, Utf8ViewArray, View};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::ArrowDataType;
use serde::Serialize;
use serde_json::Value;

use super::infer::column_type;
use super::pattern::FullMatch;
use super::progress::Progress;
use super::read::{self, Aggregate, DistinctCount, DistinctCounter, Source};
use super::schema::{ColumnRules, ColumnType, DataSchema, ExtraColumns, Scalar};
use super::DataError;

/// How many example values a violation shows.
pub const EXAMPLES: usize = 3;

/// Memory for the hashes of `unique` columns, shared among them; beyond it
/// hashes spill to a temporary file.
const DISTINCT_BUDGET: usize = 64 << 20;

/// Whether a finding fails the data gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A violation: the command exits 1.
    Error,
    /// Worth a look, never fails the gate (e.g. a constant column).
    Warning,
}

/// One broken rule (or a warning) in one file.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// Error or warning.
    pub level: Level,
    /// The column, or `None` for table rules (`rows`, `extra_columns`).
    pub column: Option<String>,
    /// The rule's name as written in the schema (`min`, `allowed`, ...).
    pub rule: &'static str,
    /// What the data has.
    pub observed: Value,
    /// What the schema allows.
    pub threshold: Value,
    /// How many rows break the rule.
    pub count: u64,
    /// Up to three offending values.
    pub examples: Vec<String>,
}

/// The result of validating one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file as given on the command line.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// Columns in the file.
    pub columns: usize,
    /// Violations first, then warnings.
    pub violations: Vec<Violation>,
}

impl FileReport {
    /// The number of findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.violations.iter().filter(|v| v.level == level).count()
    }
}

/// The aggregates one column's rules need, by alias.
struct Planned<'a> {
    name: &'a str,
    index: usize,
    dtype: DataType,
    rules: &'a ColumnRules,
    /// Counts distinct values for the `unique` rule.
    distinct: Option<DistinctCounter>,
    /// Finds out whether the column holds a single value (typed columns).
    single: Option<SingleValue>,
}

/// Validates `path` against `schema`.
pub fn validate(path: &Path, schema: &DataSchema) -> Result<FileReport, DataError> {
    let source = Source::open(path)?;
    let columns = source.schema();
    let mut violations = Vec::new();

    let unique_columns = schema
        .columns
        .iter()
        .filter(|(name, r)| r.unique == Some(true) && columns.contains(name.as_str()))
        .count();
    let budget = DISTINCT_BUDGET / unique_columns.max(1);
    let mut planned = Vec::new();
    for (index, (name, rules)) in schema.columns.iter().enumerate() {
        match columns.get(name.as_str()) {
            Some(dtype) => planned.push(Planned {
                name,
                index,
                dtype: dtype.clone(),
                rules,
                distinct: (rules.unique == Some(true)).then(|| DistinctCounter::new(budget, false)),
                single: column_type(dtype).is_some().then(SingleValue::default),
            }),
            None if rules.required != Some(false) => violations.push(Violation {
                level: Level::Error,
                column: Some(name.clone()),
                rule: "required",
                observed: Value::from("absent"),
                threshold: Value::from("present"),
                count: 0,
                examples: vec![],
            }),
            None => {}
        }
    }

    let bar = Progress::start(
        &format!("validating {}", read::file_name(path)),
        read::file_size(path),
    );
    let mut exprs = vec![Aggregate::sum(len(), "rows")];
    // Every column is parsed (a cheap null count each), so a malformed row is
    // found even in a column no rule names. The first also counts rows for
    // the progress spinner.
    for (j, name) in columns.iter_names().enumerate() {
        let c = col(name.clone());
        let c = if j == 0 { bar.count_rows(c) } else { c };
        exprs.push(Aggregate::sum(c.null_count(), format!("parsed{j}")));
    }
    for p in &planned {
        exprs.extend(aggregates(p));
    }
    let stats = source.aggregate(&exprs, &bar)?;
    bar.finish();
    let get = |alias: &str| -> AnyValue<'static> {
        stats
            .column(alias)
            .ok()
            .and_then(|c| c.get(0).ok())
            .map(|v| v.into_static())
            .unwrap_or(AnyValue::Null)
    };
    let count = |alias: &str| get(alias).extract::<u64>().unwrap_or(0);
    let rows = count("rows");

    if let Some(bounds) = &schema.rows {
        for (rule, limit, broken) in [
            ("rows.min", bounds.min, bounds.min.is_some_and(|m| rows < m)),
            ("rows.max", bounds.max, bounds.max.is_some_and(|m| rows > m)),
        ] {
            if broken {
                violations.push(Violation {
                    level: Level::Error,
                    column: None,
                    rule,
                    observed: Value::from(rows),
                    threshold: Value::from(limit),
                    count: 0,
                    examples: vec![],
                });
            }
        }
    }
    if schema.extra_columns == ExtraColumns::Deny {
        for name in columns.iter_names() {
            if !schema.columns.contains_key(name.as_str()) {
                violations.push(Violation {
                    level: Level::Error,
                    column: Some(name.to_string()),
                    rule: "extra_columns",
                    observed: Value::from("present"),
                    threshold: Value::from("deny"),
                    count: rows,
                    examples: vec![],
                });
            }
        }
    }

    let mut warnings = Vec::new();
    // The `unique` rule finds its examples while counting repeats.
    let mut unique_examples: Vec<(&str, Vec<String>)> = Vec::new();
    for p in &planned {
        let i = p.index;
        let r = p.rules;
        let column = || Some(p.name.to_string());
        let nulls = count(&format!("nulls{i}"));
        let non_null = rows - nulls.min(rows);
        let unique = match &p.distinct {
            Some(counter) => {
                let seen = counter.finish().map_err(|err| spill_error(path, &err))?;
                Some(repeats(&source, p, &seen)?)
            }
            None => None,
        };
        let mut push = |rule: &'static str, observed: Value, threshold: Value, n: u64| {
            violations.push(Violation {
                level: Level::Error,
                column: column(),
                rule,
                observed,
                threshold,
                count: n,
                examples: vec![],
            });
        };

        if let Some(want) = r.kind {
            let have = column_type(&p.dtype);
            let ok =
                have == Some(want) || (want == ColumnType::Float && have == Some(ColumnType::Int));
            if !ok {
                push(
                    "type",
                    Value::from(have.map_or_else(|| p.dtype.to_string(), |t| t.to_string())),
                    Value::from(want.to_string()),
                    non_null,
                );
            }
        }
        if r.nullable == Some(false) && nulls > 0 {
            push("nullable", Value::from(nulls), Value::from(0), nulls);
        }
        if let Some(max) = r.max_null_fraction {
            let fraction = if rows == 0 {
                0.0
            } else {
                nulls as f64 / rows as f64
            };
            if fraction > max {
                push(
                    "max_null_fraction",
                    fraction_value(fraction),
                    Value::from(max),
                    nulls,
                );
            }
        }
        for (rule, bound, alias, extreme) in [
            ("min", &r.min, "below", "min"),
            ("max", &r.max, "above", "max"),
        ] {
            let Some(bound) = bound else { continue };
            if bound_literal(bound, &p.dtype).is_none() {
                push(
                    rule,
                    Value::from(format!("a {} column", p.dtype)),
                    scalar_value(bound),
                    0,
                );
                continue;
            }
            let n = count(&format!("{alias}{i}"));
            if n > 0 {
                push(
                    rule,
                    json_of(&get(&format!("{extreme}{i}"))),
                    scalar_value(bound),
                    n,
                );
            }
        }
        if r.allowed.is_some() {
            let unseen = count(&format!("unseen{i}"));
            let tolerance = r.unseen_tolerance.unwrap_or(0.0);
            let fraction = if non_null == 0 {
                0.0
            } else {
                unseen as f64 / non_null as f64
            };
            if fraction > tolerance {
                push(
                    "allowed",
                    fraction_value(fraction),
                    Value::from(tolerance),
                    unseen,
                );
            }
        }
        if let Some(pattern) = &r.pattern {
            let n = count(&format!("nomatch{i}"));
            if n > 0 {
                push("pattern", Value::from(n), Value::from(pattern.clone()), n);
            }
        }
        if let Some((repeats, examples)) = unique {
            if repeats > 0 {
                push(
                    "unique",
                    Value::from(non_null - repeats),
                    Value::from(non_null),
                    repeats,
                );
                unique_examples.push((p.name, examples));
            }
        }
        if r.finite == Some(true) && p.dtype.is_float() {
            let n = count(&format!("nonfinite{i}"));
            if n > 0 {
                push("finite", Value::from(n), Value::from(0), n);
            }
        }
        let value = p.single.as_ref().and_then(SingleValue::value);
        if let Some(value) = value.filter(|_| non_null > 1) {
            warnings.push(Violation {
                level: Level::Warning,
                column: column(),
                rule: "constant",
                observed: json_of(&value),
                threshold: Value::from("more than one value"),
                count: non_null,
                examples: vec![],
            });
        }
    }

    // Examples: one tiny query per failing rule, filtered and limited.
    for v in &mut violations {
        let Some(name) = &v.column else { continue };
        if v.rule == "unique" {
            if let Some((_, examples)) = unique_examples.iter().find(|(n, _)| n == name) {
                v.examples = examples.clone();
            }
            continue;
        }
        let Some(p) = planned.iter().find(|p| p.name == name.as_str()) else {
            continue;
        };
        if let Some(query) = example_query(p, v.rule) {
            // Pieces are read only until the examples are found.
            v.examples = source
                .first_rows(&query, EXAMPLES)
                .ok()
                .and_then(|df| df.columns().first().cloned())
                .map(|c| {
                    (0..c.len())
                        .filter_map(|k| c.get(k).ok().map(|v| super::shown::value(&display(&v))))
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    violations.extend(warnings);
    Ok(FileReport {
        path: path.display().to_string(),
        rows,
        columns: columns.len(),
        violations,
    })
}

/// The aggregates a column's rules need, named by rule and index.
fn aggregates(p: &Planned) -> Vec<Aggregate> {
    let i = p.index;
    let r = p.rules;
    let c = || col(p.name);
    // The null count reads every value: the trackers ride along on it.
    let mut counted = c();
    if let Some(single) = &p.single {
        counted = single.observe(counted);
    }
    if let Some(counter) = &p.distinct {
        counted = counter.observe(counted);
    }
    let mut aggregates = vec![Aggregate::sum(counted.null_count(), format!("nulls{i}"))];
    // The extremes, reported beside a broken bound; only when there is one,
    // as a text column's min and max compare every value.
    if r.min.is_some() && below(p).is_some() {
        aggregates.push(Aggregate::min(c().min(), format!("min{i}")));
    }
    if r.max.is_some() && above(p).is_some() {
        aggregates.push(Aggregate::max(c().max(), format!("max{i}")));
    }
    if let Some(pred) = below(p) {
        aggregates.push(Aggregate::sum(pred.sum(), format!("below{i}")));
    }
    if let Some(pred) = above(p) {
        aggregates.push(Aggregate::sum(pred.sum(), format!("above{i}")));
    }
    if let Some(allowed) = &r.allowed {
        aggregates.push(Aggregate::sum(
            unseen(c(), allowed).sum(),
            format!("unseen{i}"),
        ));
    }
    if let Some(pattern) = &r.pattern {
        aggregates.push(Aggregate::sum(
            mismatch(c(), pattern).sum(),
            format!("nomatch{i}"),
        ));
    }
    if r.finite == Some(true) && p.dtype.is_float() {
        aggregates.push(Aggregate::sum(
            nonfinite(c()).sum(),
            format!("nonfinite{i}"),
        ));
    }
    aggregates
}

/// The query listing offending values of `rule`, if the rule has values to show.
fn example_query(p: &Planned, rule: &str) -> Option<Box<dyn Fn(LazyFrame) -> LazyFrame>> {
    let name = p.name.to_string();
    let r = p.rules;
    let filtered = |predicate: Expr| -> Option<Box<dyn Fn(LazyFrame) -> LazyFrame>> {
        let name = name.clone();
        Some(Box::new(move |frame: LazyFrame| {
            frame.filter(predicate.clone()).select([col(name.as_str())])
        }))
    };
    let c = || col(p.name);
    match rule {
        "min" => filtered(below(p)?),
        "max" => filtered(above(p)?),
        "allowed" => filtered(unseen(c(), r.allowed.as_ref()?)),
        "pattern" => filtered(mismatch(c(), r.pattern.as_ref()?)),
        "finite" => filtered(nonfinite(c())),
        _ => None,
    }
}

/// How many values of a `unique` column repeat an earlier one, and up to
/// three of them. The hash counts say which hashes repeat; one more streamed
/// query groups just the rows holding those hashes, which gives the values
/// and, when every repeated hash was kept, the exact count (two different
/// values sharing a hash are told apart here).
fn repeats(
    source: &Source,
    p: &Planned,
    seen: &DistinctCount,
) -> Result<(u64, Vec<String>), DataError> {
    let by_hash = seen.values - seen.distinct.unwrap_or(seen.values);
    if by_hash == 0 {
        return Ok((0, vec![]));
    }
    let c = || col(p.name);
    const N: &str = "__mlscore_repeats";
    // Per piece: how often each value holding a repeated hash occurs; then
    // the pieces' counts add up per value.
    let mut parts = Vec::new();
    source.each_piece(
        &|frame| {
            frame
                .select([c()])
                .drop_nulls(None)
                .filter(read::hash_is_in(c(), &seen.repeated))
                .group_by([c()])
                .agg([len().cast(DataType::UInt64).alias(N)])
        },
        None,
        &mut |part| {
            parts.push(part.lazy());
            true
        },
    )?;
    let path = source.path();
    let groups = concat(parts, UnionArgs::default())
        .and_then(|all| {
            all.group_by([c()])
                .agg([col(N).sum()])
                .filter(col(N).gt(lit(1)))
                .sort([p.name], SortMultipleOptions::default())
                .collect()
        })
        .map_err(|err| read::read_error(path, &err))?;
    let exact: u64 = groups
        .column(N)
        .ok()
        .and_then(|c| c.as_materialized_series().sum::<u64>().ok())
        .map_or(0, |total| total - groups.height() as u64);
    let examples = groups
        .column(p.name)
        .map(|c| {
            (0..c.len().min(EXAMPLES))
                .filter_map(|k| c.get(k).ok().map(|v| super::shown::value(&display(&v))))
                .collect()
        })
        .unwrap_or_default();
    let count = if seen.repeated_complete {
        exact
    } else {
        by_hash
    };
    Ok((count, examples))
}

/// The temporary file for uniqueness hashes failed (full disk, say).
fn spill_error(path: &Path, err: &std::io::Error) -> DataError {
    DataError::Read {
        path: path.display().to_string(),
        reason: format!("cannot spill uniqueness hashes to a temporary file: {err}"),
        help: "free space in the temporary folder, or point TMPDIR at a bigger one".into(),
    }
}

/// Whether a column holds a single non-null value, found out while it
/// streams: one value is kept until a second turns up, and from then on
/// every batch is skipped, so a varied column costs one batch's `unique`.
#[derive(Clone, Default)]
struct SingleValue {
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
enum Seen {
    #[default]
    Nothing,
    One(AnyValue<'static>),
    Several,
}

impl SingleValue {
    /// `expr` unchanged; every batch it evaluates is looked at.
    fn observe(&self, expr: Expr) -> Expr {
        let single = self.clone();
        read::tap(expr, move |column| single.add(column))
    }

    fn add(&self, column: &Column) -> PolarsResult<()> {
        if matches!(*self.lock(), Seen::Several) {
            return Ok(());
        }
        let values = column.drop_nulls().unique()?;
        let mut seen = self.lock();
        *seen = match (std::mem::take(&mut *seen), values.len()) {
            (seen, 0) => seen,
            (Seen::Nothing, 1) => Seen::One(values.get(0)?.into_static()),
            (Seen::One(value), 1) if values.get(0)? == value => Seen::One(value),
            _ => Seen::Several,
        };
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value, if the column held exactly one.
    fn value(&self) -> Option<AnyValue<'static>> {
        match &*self.lock() {
            Seen::One(value) => Some(value.clone()),
            _ => None,
        }
    }
}

/// True where a value is below the `min` rule. NaN is left to `finite`
/// (polars orders NaN above every number).
fn below(p: &Planned) -> Option<Expr> {
    let bound = bound_literal(p.rules.min.as_ref()?, &p.dtype)?;
    Some(without_nan(p, col(p.name).lt(bound)))
}

/// True where a value is above the `max` rule (NaN excluded, as in [`below`]).
fn above(p: &Planned) -> Option<Expr> {
    let bound = bound_literal(p.rules.max.as_ref()?, &p.dtype)?;
    Some(without_nan(p, col(p.name).gt(bound)))
}

fn without_nan(p: &Planned, predicate: Expr) -> Expr {
    if p.dtype.is_float() {
        predicate.and(col(p.name).is_nan().not())
    } else {
        predicate
    }
}

/// True where a non-null value is outside `allowed` (compared as text).
///
/// Not `Expr::is_in`: the streaming engine runs `is_in` against a literal as
/// a semi-join whose build phase stalls the scan's other consumers, and the
/// scan then buffers the whole file in memory (10 GB on a 4 GiB CSV). The
/// lookup runs batch by batch as an elementwise function instead, which
/// streams; see [`Allowed`] for how it compares.
fn unseen(column: Expr, allowed: &[Scalar]) -> Expr {
    let allowed = Allowed::new(allowed.iter().map(Scalar::to_string));
    flag_text(column, move |values| {
        (values.views().iter().enumerate())
            .map(|(i, view)| !allowed.contains(values, view, i))
            .collect()
    })
}

/// `column` as text, flagged value by value: `flags` gives one bit per
/// value of each batch's arrays (nulls included, their bits unused), and
/// nulls stay null.
fn flag_text(
    column: Expr,
    flags: impl Fn(&Utf8ViewArray) -> Bitmap + Send + Sync + 'static,
) -> Expr {
    column.cast(DataType::String).map(
        move |batch: Column| {
            let arrays = batch.str()?.downcast_iter().map(|values| {
                BooleanArray::new(
                    ArrowDataType::Boolean,
                    flags(values),
                    values.validity().cloned(),
                )
            });
            Ok(BooleanChunked::from_chunk_iter(batch.name().clone(), arrays).into_column())
        },
        |_: &Schema, field: &Field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
    )
}

/// An `allowed` list, looked up by value.
///
/// polars keeps text up to 12 bytes inside the 16-byte view that points at
/// it, length included, so two short values are equal exactly when their
/// views are: a short value is looked up as one 128-bit integer, without
/// reading or hashing its bytes. Country codes, devices, plans and most
/// other categories are short.
struct Allowed {
    /// Views of the short allowed values.
    short: PlHashSet<u128>,
    long: PlHashSet<String>,
}

impl Allowed {
    fn new(values: impl Iterator<Item = String>) -> Allowed {
        let (mut short, mut long) = (PlHashSet::default(), PlHashSet::default());
        for value in values {
            if value.len() <= View::MAX_INLINE_SIZE as usize {
                short.insert(View::new_inline(value.as_bytes()).as_u128());
            } else {
                long.insert(value);
            }
        }
        Allowed { short, long }
    }

    /// Whether value `i` of `values`, with view `view`, is allowed (a null's
    /// answer is unused).
    fn contains(&self, values: &Utf8ViewArray, view: &View, i: usize) -> bool {
        if view.length <= View::MAX_INLINE_SIZE {
            self.short.contains(&view.as_u128())
        } else {
            self.long.contains(values.value(i))
        }
    }
}

/// True where a non-null value does not match `pattern` in full.
fn mismatch(column: Expr, pattern: &str) -> Expr {
    let Ok(matcher) = FullMatch::new(pattern) else {
        // The schema's patterns were compiled when it was loaded; this is
        // only for one that somehow was not.
        return column
            .cast(DataType::String)
            .str()
            .contains(lit(format!("^(?:{pattern})$")), true)
            .not();
    };
    flag_text(column, move |values| {
        let mut matcher = matcher.matcher();
        values
            .values_iter()
            .map(|value| !matcher.is_match(value))
            .collect()
    })
}

/// True where a float is NaN or infinite.
fn nonfinite(column: Expr) -> Expr {
    column.clone().is_nan().or(column.is_infinite())
}

/// The literal a bound compares against, if it is comparable with `dtype`:
/// numbers with numeric columns, text with text and temporal columns.
fn bound_literal(bound: &Scalar, dtype: &DataType) -> Option<Expr> {
    match (bound, column_type(dtype)?) {
        (Scalar::Int(i), ColumnType::Int | ColumnType::Float) => Some(lit(*i)),
        (Scalar::Float(x), ColumnType::Int | ColumnType::Float) => Some(lit(*x)),
        (Scalar::Text(s), ColumnType::String) => Some(lit(s.clone())),
        (Scalar::Text(s), ColumnType::Date | ColumnType::Datetime) => {
            Some(lit(s.clone()).cast(dtype.clone()))
        }
        _ => None,
    }
}

fn scalar_value(bound: &Scalar) -> Value {
    serde_json::to_value(bound).unwrap_or(Value::Null)
}

/// A fraction rounded to 6 decimals, so reports do not show float noise.
fn fraction_value(x: f64) -> Value {
    Value::from((x * 1e6).round() / 1e6)
}

/// An aggregate as JSON: numbers stay numbers, the rest is text.
fn json_of(value: &AnyValue) -> Value {
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::from(*b),
        AnyValue::Float32(x) if x.is_finite() => Value::from(f64::from(*x)),
        AnyValue::Float64(x) if x.is_finite() => Value::from(*x),
        v if v.is_integer() => v
            .extract::<i64>()
            .map(Value::from)
            .unwrap_or_else(|| Value::from(display(v))),
        v => Value::from(display(v)),
    }
}

/// A value as a user would write it (text unquoted).
fn display(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Null => "null".into(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_compares_short_and_long_values_and_keeps_nulls() {
        let allowed = [
            Scalar::Text("DE".into()),
            Scalar::Text("exactly12chr".into()),
            Scalar::Text("thirteen-char".into()),
        ];
        let values = [
            Some("DE"),
            Some("FR"),
            None,
            Some("exactly12chr"),
            Some("exactly12chx"),
            Some("thirteen-char"),
            Some("thirteen-chax"),
            Some("D"),
            Some(""),
        ];
        let frame = df!("c" => values).unwrap();
        let out = frame
            .lazy()
            .select([unseen(col("c"), &allowed)])
            .collect()
            .unwrap();
        let got: Vec<Option<bool>> = out.column("c").unwrap().bool().unwrap().iter().collect();
        let want = [false, true]
            .map(Some)
            .into_iter()
            .chain([None])
            .chain([false, true, false, true, true, true].map(Some))
            .collect::<Vec<_>>();
        assert_eq!(got, want);
    }

    #[test]
    fn unseen_compares_numbers_as_text() {
        let allowed = [Scalar::Int(1), Scalar::Int(20)];
        let frame = df!("n" => [1i64, 2, 20]).unwrap();
        let out = frame
            .lazy()
            .select([unseen(col("n"), &allowed)])
            .collect()
            .unwrap();
        let got: Vec<Option<bool>> = out.column("n").unwrap().bool().unwrap().iter().collect();
        assert_eq!(got, [Some(false), Some(true), Some(false)]);
    }
}
