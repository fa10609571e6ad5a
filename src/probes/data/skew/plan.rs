//! Which columns are compared and how each side is read: the plan, and
//! the memory permits that bound how many columns are in flight.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use polars::prelude::*;

use super::super::progress::Progress;
use super::super::read::{self, DataFormat};
use super::super::schema::{ColumnRules, ColumnType};
use super::super::DataError;
use super::*;
use super::{accumulate::*, thresholds::*, verdict::*};

/// Text files at most this big have their rows counted when opened;
/// bigger ones are counted by the pass that reads them, since counting
/// lines costs about as much as parsing them.
pub(super) const COUNT_TEXT_UP_TO: u64 = 16 << 20;

/// A file opened lazily, with its columns and, once known, its row count.
pub(super) struct Side<'a> {
    pub(super) path: &'a Path,
    pub(super) frame: LazyFrame,
    pub(super) columns: Schema,
    /// Known when opened for Parquet (its footer says) and small text
    /// files, after the reading pass for big text files.
    pub(super) rows: Option<u64>,
    /// Whether reading one column costs only that column (Parquet), so
    /// each column is read when its turn comes.
    pub(super) columnar: bool,
}

impl<'a> Side<'a> {
    pub(super) fn open(path: &'a Path, limits: Limits) -> Result<Self, DataError> {
        let mut frame = read::scan(path)?;
        let columns = read::columns(path, &mut frame)?;
        let columnar = DataFormat::of(path) == Some(DataFormat::Parquet);
        let mut side = Side {
            path,
            frame,
            columns,
            rows: None,
            columnar,
        };
        if columnar || read::file_size(path) <= limits.count_text_up_to {
            side.rows = Some(side.count_rows()?);
        }
        Ok(side)
    }

    pub(super) fn count_rows(&self) -> Result<u64, DataError> {
        let counted = self
            .frame
            .clone()
            .select([len().alias("rows")])
            .collect_with_engine(Engine::Streaming)
            .map_err(|err| read::read_error(self.path, &err))?;
        Ok(counted
            .column("rows")
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0))
    }

    /// Whether the file is known to have no rows (its types then say
    /// nothing: a header-only CSV reads as text).
    pub(super) fn is_empty(&self) -> bool {
        self.rows == Some(0)
    }

    pub(super) fn shown(&self) -> String {
        self.path.display().to_string()
    }

    pub(super) fn summary(&self) -> Result<FileSummary, DataError> {
        let rows = match self.rows {
            Some(rows) => rows,
            // No column was read from it (all missing): count now.
            None => self.count_rows()?,
        };
        Ok(FileSummary {
            path: self.shown(),
            rows,
            columns: self.columns.len(),
        })
    }

    /// Streams the given columns, cast for their comparison, through one
    /// pass over the file: numbers are copied out (into memory, moved to
    /// anonymous temporary files once they outgrow `budget` bytes),
    /// categories are counted as the batches pass, so no polars column of
    /// the whole file is built. Learns the row count on the way.
    pub(super) fn collect(
        &mut self,
        planned: &[&Planned],
        budget: u64,
        max_levels: usize,
    ) -> Result<Vec<Collected>, DataError> {
        let exprs: Vec<Expr> = planned
            .iter()
            .map(|p| {
                let dtype = self.columns.get(p.name.as_str()).unwrap_or(&DataType::Null);
                read_expr(&p.name, p.kind, dtype)
            })
            .collect();
        // Known rows (Parquet) size each column's buffer once.
        let capacity = match self.rows {
            Some(rows) if rows.saturating_mul(8) <= budget => usize::try_from(rows).unwrap_or(0),
            _ => 0,
        };
        let accumulators = planned
            .iter()
            .map(|p| Accumulator::new(p.kind, capacity, max_levels))
            .collect();
        let collector = Arc::new(Mutex::new(Collector {
            accumulators,
            rows: 0,
            budget,
            failure: None,
        }));
        let sink = Arc::clone(&collector);
        let bar = Arc::new(Progress::start(
            &format!("comparing {}", read::file_name(self.path)),
            read::file_size(self.path),
        ));
        let seen = Arc::clone(&bar);
        let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
            seen.add_rows(batch.height() as u64);
            let mut collector = sink.lock().unwrap_or_else(|p| p.into_inner());
            Ok(collector.add(&batch))
        });
        self.frame
            .clone()
            .select(exprs)
            .sink_batches(callback, false, None)
            .and_then(|frame| frame.collect_with_engine(Engine::Streaming))
            .map_err(|err| read::read_error(self.path, &err))?;
        let collector = std::mem::replace(
            &mut *collector.lock().unwrap_or_else(|p| p.into_inner()),
            Collector {
                accumulators: Vec::new(),
                rows: 0,
                budget,
                failure: None,
            },
        );
        if let Some(err) = collector.failure {
            return Err(self.spill_error(&err));
        }
        self.rows = Some(collector.rows);
        collector
            .accumulators
            .into_iter()
            .map(Accumulator::finish)
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|err| self.spill_error(&err))
    }

    pub(super) fn spill_error(&self, err: &std::io::Error) -> DataError {
        DataError::Read {
            path: self.shown(),
            reason: format!("cannot write its values to a temporary file: {err}"),
            help: "free disk space in the temporary folder, or point TMPDIR at a folder with room"
                .into(),
        }
    }
}

/// The expression reading a column as the values its kind compares:
/// `f64` for numeric columns (temporal ones by their integer physical
/// value: days, or time units since the epoch), text for categorical ones.
pub(super) fn read_expr(name: &str, kind: ColumnKind, dtype: &DataType) -> Expr {
    let column = col(name);
    match kind {
        ColumnKind::Numeric if dtype.is_temporal() => {
            column.cast(DataType::Int64).cast(DataType::Float64)
        }
        ColumnKind::Numeric => column.cast(DataType::Float64),
        ColumnKind::Categorical => column.cast(DataType::String),
    }
}

/// A column to compare, or one already decided.
pub(super) enum Entry {
    Planned(Planned),
    Done(ColumnSkew),
}

/// A column both files have, and how to compare it.
pub(super) struct Planned {
    pub(super) name: String,
    pub(super) kind: ColumnKind,
    pub(super) thresholds: SkewThresholds,
    /// The kind each file's type implies, for a column that turns out empty.
    pub(super) dtype_kinds: Pair<Option<ColumnKind>>,
    /// Why the files' types made it categorical, shown only when both sides
    /// have values (an all-empty CSV column reads as text).
    pub(super) type_note: Option<String>,
}

/// What a dtype allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DtypeKind {
    Numeric,
    Categorical,
    /// No values at all (an all-null NDJSON field): takes the other side's kind.
    Null,
    Unsupported,
}

impl DtypeKind {
    pub(super) fn kind(self) -> Option<ColumnKind> {
        match self {
            DtypeKind::Numeric => Some(ColumnKind::Numeric),
            DtypeKind::Categorical => Some(ColumnKind::Categorical),
            DtypeKind::Null | DtypeKind::Unsupported => None,
        }
    }
}

pub(super) fn kind_of(dtype: &DataType) -> DtypeKind {
    match dtype {
        DataType::Null => DtypeKind::Null,
        d if d.is_numeric() || d.is_temporal() => DtypeKind::Numeric,
        DataType::String | DataType::Boolean | DataType::Categorical(..) | DataType::Enum(..) => {
            DtypeKind::Categorical
        }
        _ => DtypeKind::Unsupported,
    }
}

/// The kind a schema column asks for: categorical for text, booleans and
/// `allowed` sets, numeric for numbers and dates.
pub(super) fn schema_kind(rules: &ColumnRules) -> Option<ColumnKind> {
    if rules.allowed.is_some() {
        return Some(ColumnKind::Categorical);
    }
    Some(match rules.kind? {
        ColumnType::Int | ColumnType::Float | ColumnType::Date | ColumnType::Datetime => {
            ColumnKind::Numeric
        }
        ColumnType::String | ColumnType::Bool => ColumnKind::Categorical,
    })
}

/// Decides how to compare a reference column: missing, skipped, or planned.
pub(super) fn plan(
    name: &str,
    rules: Option<&ColumnRules>,
    reference: &Side,
    current: &Side,
    thresholds: SkewThresholds,
) -> Entry {
    let reference_dtype = reference.columns.get(name).unwrap_or(&DataType::Null);
    let Some(current_dtype) = current.columns.get(name) else {
        let kind = rules
            .and_then(schema_kind)
            .or_else(|| kind_of(reference_dtype).kind());
        return Entry::Done(ColumnSkew::bare(name, kind, ColumnVerdict::Missing));
    };
    // A file without rows has no types to speak of (CSV headers read as
    // text): it takes the other side's.
    let kind_in = |side: &Side, dtype| match side.is_empty() {
        true => DtypeKind::Null,
        false => kind_of(dtype),
    };
    let (r, c) = (
        kind_in(reference, reference_dtype),
        kind_in(current, current_dtype),
    );
    for (side, dtype, kind) in [
        ("reference", reference_dtype, r),
        ("current", current_dtype, c),
    ] {
        if kind == DtypeKind::Unsupported {
            let mut skipped = ColumnSkew::bare(name, None, ColumnVerdict::Skipped);
            skipped.notes.push(format!(
                "the {side} file holds {dtype} values, which have no distribution to compare"
            ));
            return Entry::Done(skipped);
        }
    }
    let numeric_ok = |k: DtypeKind| matches!(k, DtypeKind::Numeric | DtypeKind::Null);
    let mut type_note = None;
    let wanted = rules.and_then(schema_kind);
    let kind = match wanted {
        Some(ColumnKind::Numeric) if !(numeric_ok(r) && numeric_ok(c)) => {
            type_note = Some(format!(
                "the schema says numeric but the files hold {reference_dtype} (reference) and \
                 {current_dtype} (current): compared as categories"
            ));
            ColumnKind::Categorical
        }
        Some(kind) => kind,
        None => match (r.kind(), c.kind()) {
            (Some(a), Some(b)) if a != b => {
                type_note = Some(format!(
                    "the files disagree on the type ({reference_dtype} in the reference, \
                     {current_dtype} in the current file): compared as categories"
                ));
                ColumnKind::Categorical
            }
            (Some(kind), _) | (None, Some(kind)) => kind,
            (None, None) => ColumnKind::Categorical,
        },
    };
    Entry::Planned(Planned {
        name: name.to_owned(),
        kind,
        thresholds,
        dtype_kinds: Pair {
            reference: r.kind(),
            current: c.kind(),
        },
        type_note,
    })
}

/// A counting semaphore: how many columns may be read or compared at once.
pub(super) struct Permits {
    pub(super) free: Mutex<usize>,
    pub(super) freed: Condvar,
}

impl Permits {
    pub(super) fn new(count: usize) -> Self {
        Permits {
            free: Mutex::new(count),
            freed: Condvar::new(),
        }
    }

    pub(super) fn acquire(&self) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }

    pub(super) fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
    }
}
