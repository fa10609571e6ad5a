//! Opens CSV/TSV (optionally gzip), Parquet and NDJSON files as polars
//! `LazyFrame`s and runs queries on them with polars' streaming engine, so a
//! file larger than memory is checked in bounded memory.
//!
//! Two things polars does not bound, and what this module does instead:
//! - polars memory-maps the file it scans, so every page it has read stays
//!   resident until the scan ends and peak RSS grows with the file. A
//!   [`Source`] scans a file in pieces instead: text files in pieces of whole
//!   lines read with plain `read` calls, Parquet a few row groups at a time
//!   (each piece its own scan, so its pages are unmapped when it ends).
//!   [`Source::aggregate`] folds the pieces' aggregates, running one piece
//!   per core.
//! - An exact distinct count keeps every distinct value in a hash table (3.2
//!   GB for 50M distinct integers). [`DistinctCounter`] hashes values instead
//!   and merges sorted runs of hashes on disk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::io::csv::read::_csv_read_internal::{
    cast_columns, prepare_csv_schema, read_chunk, validate_utf8,
};
use polars::prelude::*;
use polars_buffer::Buffer;

use super::progress::Progress;
use super::DataError;

/// The formats mlscore reads, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Comma- or tab-separated text with a header row, optionally gzip-compressed.
    Delimited { separator: u8 },
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON, one object per line.
    NdJson,
}

impl DataFormat {
    /// The format of `path` from its extension, if it is one mlscore reads.
    pub fn of(path: &Path) -> Option<DataFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" => Some(DataFormat::Delimited { separator: b',' }),
            "tsv" | "tab" => Some(DataFormat::Delimited { separator: b'\t' }),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            "jsonl" | "ndjson" => Some(DataFormat::NdJson),
            _ => None,
        }
    }
}

/// Opens `path` lazily. Missing, empty and unknown-format files are reported
/// here; errors inside the data (ragged rows, corrupt pages) surface when the
/// frame is collected and go through [`read_error`].
pub fn scan(path: &Path) -> Result<LazyFrame, DataError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|err| DataError::Read {
        path: shown.clone(),
        reason: err.to_string(),
        help: match err.kind() {
            std::io::ErrorKind::NotFound => "check the path; the file does not exist".into(),
            _ => "check the file's permissions".into(),
        },
    })?;
    if meta.is_dir() {
        return Err(DataError::Read {
            path: shown,
            reason: "is a folder".into(),
            help: "pass a data file, not a folder".into(),
        });
    }
    if meta.len() == 0 {
        return Err(DataError::Read {
            path: shown,
            reason: "the file is empty".into(),
            help: "a data file needs at least a header row (CSV) or one record".into(),
        });
    }
    let format = DataFormat::of(path).ok_or_else(|| DataError::Format {
        path: shown.clone(),
    })?;
    if !matches!(format, DataFormat::Parquet) && meta.len() > MAX_LINE_BYTES as u64 {
        check_first_line(path).map_err(|err| io_error(path, &err))?;
    }
    let pl_path = PlRefPath::try_from_path(path).map_err(|err| read_error(path, &err))?;
    let frame = match format {
        DataFormat::Delimited { separator } => {
            let reader = |schema: Option<SchemaRef>| {
                LazyCsvReader::new(pl_path.clone())
                    .with_separator(separator)
                    .with_has_header(true)
                    .with_infer_schema_length(Some(INFER_ROWS))
                    .with_schema(schema)
                    .finish()
            };
            // With the dates typed, the inferred schema is given whole, so
            // the sample is not inferred a second time.
            reader(None).and_then(|mut frame| {
                let mut typed = date_columns(&mut frame)?;
                if has_long_digit_run(path) {
                    let schema = match &typed {
                        Some(schema) => schema.clone(),
                        None => frame.collect_schema()?.as_ref().clone(),
                    };
                    typed = widen_big_integers(&reader, schema)?;
                }
                match typed {
                    Some(typed) => reader(Some(Arc::new(typed))),
                    None => Ok(frame),
                }
            })
        }
        DataFormat::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
        DataFormat::NdJson => LazyJsonLineReader::new(pl_path).finish(),
    };
    frame.map_err(|err| read_error(path, &err))
}

/// Longest line of a CSV or NDJSON file mlscore reads. polars needs about 30
/// times a line's size to parse it (a 64 MB one-line file peaked at 1.9 GB),
/// so a longer line is an error naming the file and line, and memory stays
/// bounded whatever the file holds.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// An error for line `line` longer than [`MAX_LINE_BYTES`].
fn line_too_long(line: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("line {line} is longer than {} MiB", MAX_LINE_BYTES >> 20),
    )
}

/// Checks that a text file's first line ends within [`MAX_LINE_BYTES`] before
/// polars reads it: a CSV header of millions of columns, or a first JSON
/// record of 64 MB, is parsed whole to learn the columns.
fn check_first_line(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    let mut reader: Box<dyn Read> = match sniff(path)? {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        _ => Box::new(file),
    };
    let mut head = Vec::new();
    reader
        .by_ref()
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_to_end(&mut head)?;
    if head.len() > MAX_LINE_BYTES && memchr::memchr(b'\n', &head).is_none() {
        return Err(line_too_long(1));
    }
    Ok(())
}

/// Rows of a CSV file sampled to infer its column types.
const INFER_ROWS: usize = 10_000;

/// The columns of a CSV frame with those of its text columns that hold
/// dates, datetimes or times typed as polars types them; `None` if there
/// are none.
///
/// polars finds them itself (`try_parse_dates`), but it tries a few dozen
/// chrono formats on every sampled value of every text column, which costs
/// most of a second per file before a row is read. Here only the columns
/// whose first value starts like a date or a time go through that inference:
/// their sample is written back out as CSV and read with `try_parse_dates`,
/// so the types are exactly polars' own.
fn date_columns(frame: &mut LazyFrame) -> PolarsResult<Option<Schema>> {
    let schema = frame.collect_schema()?;
    let text: Vec<PlSmallStr> = schema
        .iter()
        .filter(|(_, dtype)| dtype.is_string())
        .map(|(name, _)| name.clone())
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    let sample = frame
        .clone()
        .select(
            text.iter()
                .map(|name| col(name.clone()))
                .collect::<Vec<_>>(),
        )
        .limit(INFER_ROWS as IdxSize)
        .collect()?;
    let candidates: Vec<Column> = sample
        .columns()
        .iter()
        .filter(|column| {
            column
                .str()
                .is_ok_and(|values| values.iter().flatten().next().is_some_and(looks_like_date))
        })
        .cloned()
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut candidates = DataFrame::new_infer_height(candidates)?;
    let mut text = Vec::new();
    CsvWriter::new(&mut text).finish(&mut candidates)?;
    let typed =
        LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from([Buffer::from_vec(text)])))
            .with_infer_schema_length(Some(INFER_ROWS))
            .with_try_parse_dates(true)
            .finish()?
            .collect_schema()?;
    let mut whole = schema.as_ref().clone();
    let mut any = false;
    for (name, dtype) in typed.iter().filter(|(_, dtype)| !dtype.is_string()) {
        whole.set_dtype(name, dtype.clone());
        any = true;
    }
    Ok(any.then_some(whole))
}

/// Bytes at the start of a CSV file looked at for integers too long for i64.
const WIDE_INTEGER_SNIFF: u64 = 4 << 20;

/// Whether the first bytes of `path` hold a run of 19 or more digits: an
/// integer that may not fit polars' inferred `Int64`. Almost no file does, so
/// the sample is read a second time only for those that do.
fn has_long_digit_run(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut reader: Box<dyn Read> = match sniff(path) {
        Ok(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        _ => Box::new(file),
    };
    let mut head = Vec::new();
    if reader
        .by_ref()
        .take(WIDE_INTEGER_SNIFF)
        .read_to_end(&mut head)
        .is_err()
    {
        return false;
    }
    let mut run = 0;
    head.iter().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 19
    })
}

/// The schema with every `Int64` column whose sampled values do not all fit
/// an i64 typed `Float64`, as polars types a column mixing integers and
/// floats; `None` when no column changes. polars infers `Int64` for any run
/// of digits and then fails to parse a 23-digit one.
fn widen_big_integers(
    reader: &dyn Fn(Option<SchemaRef>) -> PolarsResult<LazyFrame>,
    mut schema: Schema,
) -> PolarsResult<Option<Schema>> {
    let ints: Vec<PlSmallStr> = schema
        .iter()
        .filter(|(_, dtype)| **dtype == DataType::Int64)
        .map(|(name, _)| name.clone())
        .collect();
    if ints.is_empty() {
        return Ok(None);
    }
    let mut as_text = schema.clone();
    for name in &ints {
        as_text.set_dtype(name, DataType::String);
    }
    let sample = reader(Some(Arc::new(as_text)))?
        .select(
            ints.iter()
                .map(|name| col(name.clone()))
                .collect::<Vec<_>>(),
        )
        .limit(INFER_ROWS as IdxSize)
        .collect()?;
    let mut any = false;
    for column in sample.columns() {
        let fits = column.str().is_ok_and(|values| {
            values
                .iter()
                .flatten()
                .all(|v| v.trim().parse::<i64>().is_ok())
        });
        if !fits {
            schema.set_dtype(column.name(), DataType::Float64);
            any = true;
        }
    }
    Ok(any.then_some(schema))
}

/// Whether a text value could be a date, a datetime or a time in one of the
/// formats polars infers (all start with a digit and separate their parts).
fn looks_like_date(value: &str) -> bool {
    let value = value.trim();
    (5..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_digit())
        && value.contains(['-', '/', '.', ':'])
}

/// Runs `frame` with polars' streaming engine: the file is read in batches of
/// rows and each aggregate folds a batch at a time, so memory stays bounded
/// whatever the file's size.
pub fn collect(path: &Path, frame: LazyFrame) -> Result<DataFrame, DataError> {
    frame
        .collect_with_engine(Engine::Streaming)
        .map_err(|err| read_error(path, &err))
}

/// The last component of `path`, for progress messages.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The size of `path` in bytes, for progress messages (0 if unknown).
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

/// The column names and types of a lazily opened file (reads only what the
/// format needs to know them: a header and a sample, or the footer).
pub fn columns(path: &Path, frame: &mut LazyFrame) -> Result<Schema, DataError> {
    frame
        .collect_schema()
        .map(|schema| schema.as_ref().clone())
        .map_err(|err| read_error(path, &err))
}

/// The fix for a CSV row with more fields than the header.
const RAGGED_HELP: &str =
    "every row needs as many fields as the header; fix the row or quote fields that contain the separator";

/// A polars error while reading `path`, with a help naming the likely fix.
pub fn read_error(path: &Path, err: &PolarsError) -> DataError {
    let reason = err.to_string();
    // polars appends its own hints over several lines; the first line is the fault.
    let first = reason.lines().next().unwrap_or("").trim().to_string();
    let lower = reason.to_ascii_lowercase();
    let help = if lower.contains("parquet") || lower.contains("magic") || lower.contains("footer") {
        "the file is not valid Parquet (truncated or not Parquet at all); regenerate it".into()
    } else if lower.contains("fields") || lower.contains("ragged") || lower.contains("found more") {
        RAGGED_HELP.into()
    } else if lower.contains("json") {
        "each line must be one JSON object".into()
    } else {
        "check that the file is well-formed and matches its extension".into()
    };
    DataError::Read {
        path: path.display().to_string(),
        reason: first,
        help,
    }
}

// ---------------------------------------------------------------------------
// Sources read in pieces

/// Bytes of text handed to polars at a time: large enough that per-scan
/// overhead vanishes, small enough that the few in flight (one per core, plus
/// the one being read) stay far below 1 GiB.
const PIECE_BYTES: usize = 32 << 20;

/// Decoded bytes of Parquet row groups scanned together.
const ROW_SLICE_BYTES: usize = 64 << 20;

/// How one aggregate's per-piece values combine into the whole file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Counts and sums add up.
    Sum,
    /// The smallest of the pieces' minimums.
    Min,
    /// The largest of the pieces' maximums.
    Max,
}

/// One aggregate of a pass over a file: an expression that reduces a frame to
/// one value, its name in the result, and how pieces combine.
#[derive(Clone)]
pub struct Aggregate {
    expr: Expr,
    alias: String,
    fold: Fold,
}

impl Aggregate {
    /// `expr` (a count or a sum), named `alias`; pieces add up.
    pub fn sum(expr: Expr, alias: impl Into<String>) -> Aggregate {
        Aggregate::new(expr, alias, Fold::Sum)
    }

    /// `expr` (a minimum), named `alias`.
    pub fn min(expr: Expr, alias: impl Into<String>) -> Aggregate {
        Aggregate::new(expr, alias, Fold::Min)
    }

    /// `expr` (a maximum), named `alias`.
    pub fn max(expr: Expr, alias: impl Into<String>) -> Aggregate {
        Aggregate::new(expr, alias, Fold::Max)
    }

    fn new(expr: Expr, alias: impl Into<String>, fold: Fold) -> Aggregate {
        Aggregate {
            expr,
            alias: alias.into(),
            fold,
        }
    }

    /// The expression folding a column of per-piece values.
    fn folded(&self) -> Expr {
        let c = col(self.alias.as_str());
        match self.fold {
            // Per-piece counts are u32; the file's may not be.
            Fold::Sum => c.cast(DataType::UInt64).sum(),
            Fold::Min => c.min(),
            Fold::Max => c.max(),
        }
        .alias(self.alias.as_str())
    }
}

/// How the pieces of a text file are parsed.
#[derive(Debug, Clone, Copy)]
enum TextFormat {
    Delimited { separator: u8 },
    NdJson,
}

/// How a file is cut into pieces.
#[derive(Debug, Clone)]
enum Layout {
    /// Text, read by mlscore in pieces of whole lines.
    Text(TextFormat),
    /// Parquet, scanned a few row groups at a time: polars memory-maps the
    /// file for each scan, so only the row groups of one piece are resident.
    RowGroups(Vec<RowSlice>),
    /// Read whole by polars (text compressed with zstd or zlib).
    Whole,
}

/// Consecutive Parquet row groups scanned together.
#[derive(Debug, Clone, Copy)]
struct RowSlice {
    offset: i64,
    rows: IdxSize,
    /// Their compressed size, for progress.
    bytes: u64,
}

/// One piece of a file, ready to scan.
enum Piece {
    /// Whole lines of text, the first of them line `first_line` of the file,
    /// with `lines` newlines.
    Text {
        bytes: Vec<u8>,
        first_line: u64,
        lines: u64,
    },
    Rows(RowSlice),
}

/// A data file opened for queries in bounded memory.
pub struct Source {
    path: PathBuf,
    frame: LazyFrame,
    schema: SchemaRef,
    layout: Layout,
    /// The size of a text piece ([`PIECE_BYTES`]; tests use tiny pieces).
    piece_bytes: usize,
    /// The parser of CSV pieces, when polars' own parser can take the
    /// file's column types without its line counter (see [`CsvPieces`]).
    csv: Option<CsvPieces>,
    /// Text pieces' buffers, handed back once polars is done with them:
    /// reusing them spares the kernel faulting in fresh pages for every piece.
    spare: Spare,
}

/// Buffers of finished pieces, kept for the next ones.
type Spare = Arc<Mutex<Vec<Vec<u8>>>>;

impl Source {
    /// Opens `path` and learns its columns (from a header and a sample of
    /// rows, or from the footer). Errors as [`scan`].
    pub fn open(path: &Path) -> Result<Source, DataError> {
        let mut frame = scan(path)?;
        let schema = Arc::new(columns(path, &mut frame)?);
        let compression = sniff(path).map_err(|err| io_error(path, &err))?;
        let layout = match DataFormat::of(path) {
            _ if compression == Compression::Other => Layout::Whole,
            Some(DataFormat::Delimited { separator }) => {
                Layout::Text(TextFormat::Delimited { separator })
            }
            Some(DataFormat::NdJson) => Layout::Text(TextFormat::NdJson),
            Some(DataFormat::Parquet) => Layout::RowGroups(row_slices(path, ROW_SLICE_BYTES)?),
            None => Layout::Whole,
        };
        let csv = match layout {
            Layout::Text(TextFormat::Delimited { separator }) => CsvPieces::new(&schema, separator),
            _ => None,
        };
        Ok(Source {
            path: path.to_path_buf(),
            frame,
            schema,
            layout,
            csv,
            piece_bytes: PIECE_BYTES,
            spare: Spare::default(),
        })
    }

    /// The file as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's columns and their types.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The whole file as one lazy frame (memory-mapped by polars: use it for
    /// plans, not for scans of large files).
    pub fn frame(&self) -> LazyFrame {
        self.frame.clone()
    }

    /// Runs `query` on each piece of the file in order with the streaming
    /// engine and hands each result to `visit`, which returns `false` to stop.
    /// `bar`, if given, advances by the bytes read.
    pub fn each_piece(
        &self,
        query: &dyn Fn(LazyFrame) -> LazyFrame,
        bar: Option<&Progress>,
        visit: &mut dyn FnMut(DataFrame) -> bool,
    ) -> Result<(), DataError> {
        let Some(mut pieces) = self.pieces()? else {
            visit(collect(&self.path, query(self.frame()))?);
            return Ok(());
        };
        let mut any = false;
        while let Some(piece) = pieces.next().map_err(|err| io_error(&self.path, &err))? {
            any = true;
            let (frame, buffer) = self.piece_frame(piece)?;
            let result = collect(&self.path, query(frame))?;
            self.recycle(buffer);
            if let Some(bar) = bar {
                bar.set_bytes(pieces.consumed());
            }
            if !visit(result) {
                return Ok(());
            }
        }
        if !any {
            // A header and no rows: the whole-file frame knows the columns.
            visit(collect(&self.path, query(self.frame()))?);
        }
        Ok(())
    }

    /// The aggregates over the whole file, as one row, read piece by piece.
    pub fn aggregate(
        &self,
        aggregates: &[Aggregate],
        bar: &Progress,
    ) -> Result<DataFrame, DataError> {
        let exprs: Vec<Expr> = aggregates
            .iter()
            .map(|a| a.expr.clone().alias(a.alias.as_str()))
            .collect();
        let mut parts: Vec<LazyFrame> = self
            .map_pieces(&|frame| frame.select(exprs.clone()), bar)?
            .into_iter()
            .map(IntoLazy::lazy)
            .collect();
        if parts.len() == 1 {
            if let Some(part) = parts.pop() {
                return part.collect().map_err(|err| read_error(&self.path, &err));
            }
        }
        concat(parts, UnionArgs::default())
            .and_then(|all| {
                all.select(aggregates.iter().map(Aggregate::folded).collect::<Vec<_>>())
                    .collect()
            })
            .map_err(|err| read_error(&self.path, &err))
    }

    /// Runs `query` on every piece, one piece per core at a time, and returns
    /// the results in no particular order. A CSV piece is parsed on the
    /// thread that takes it ([`CsvPieces`]), so running pieces side by side
    /// is what keeps every core busy.
    fn map_pieces(
        &self,
        query: &(dyn Fn(LazyFrame) -> LazyFrame + Sync),
        bar: &Progress,
    ) -> Result<Vec<DataFrame>, DataError> {
        let Some(mut pieces) = self.pieces()? else {
            return Ok(vec![collect(&self.path, query(self.frame()))?]);
        };
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        std::thread::scope(|scope| {
            // One piece is read ahead, so a worker that finishes finds the
            // next one waiting; more would only hold memory.
            let (piece_tx, piece_rx) = std::sync::mpsc::sync_channel::<Piece>(1);
            let piece_rx = Arc::new(Mutex::new(piece_rx));
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            for _ in 0..workers {
                let (piece_rx, done_tx) = (Arc::clone(&piece_rx), done_tx.clone());
                scope.spawn(move || loop {
                    let piece = match piece_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(piece) = piece else { return };
                    let result = self.piece_frame(piece).and_then(|(frame, buffer)| {
                        let result = collect(&self.path, query(frame));
                        self.recycle(buffer);
                        result
                    });
                    if done_tx.send(result).is_err() {
                        return;
                    }
                });
            }
            drop(done_tx);

            let mut results = Vec::new();
            let mut failed = None;
            let mut sent = 0usize;
            loop {
                // Stop reading at the first failed piece (a ragged row, say).
                while let Ok(result) = done_rx.try_recv() {
                    match result {
                        Ok(part) => results.push(part),
                        Err(err) => failed = failed.or(Some(err)),
                    }
                }
                if failed.is_some() {
                    break;
                }
                match pieces.next() {
                    Ok(Some(piece)) => {
                        if piece_tx.send(piece).is_err() {
                            break;
                        }
                        sent += 1;
                        bar.set_bytes(pieces.consumed());
                    }
                    Ok(None) => break,
                    Err(err) => {
                        failed = Some(io_error(&self.path, &err));
                        break;
                    }
                }
            }
            drop(piece_tx);
            for result in done_rx {
                match result {
                    Ok(part) => results.push(part),
                    Err(err) => failed = failed.or(Some(err)),
                }
            }
            if let Some(err) = failed {
                return Err(err);
            }
            if sent == 0 {
                // A header and no rows: the whole-file frame knows the columns.
                results.push(collect(&self.path, query(self.frame()))?);
            }
            Ok(results)
        })
    }

    /// Up to `n` rows of `query`, reading pieces only until they are found.
    pub fn first_rows(
        &self,
        query: &dyn Fn(LazyFrame) -> LazyFrame,
        n: usize,
    ) -> Result<DataFrame, DataError> {
        let mut found: Option<DataFrame> = None;
        let mut error = None;
        self.each_piece(
            &|frame| query(frame).limit(n as IdxSize),
            None,
            &mut |part| {
                let rows = match found.take() {
                    None => part,
                    Some(mut rows) => {
                        if let Err(err) = rows.vstack_mut(&part) {
                            error = Some(err);
                        }
                        rows
                    }
                };
                let enough = rows.height() >= n;
                found = Some(rows);
                !enough && error.is_none()
            },
        )?;
        if let Some(err) = error {
            return Err(read_error(&self.path, &err));
        }
        Ok(found.map_or_else(DataFrame::empty, |rows| rows.head(Some(n))))
    }

    /// The file's pieces, or `None` when polars reads it whole.
    fn pieces(&self) -> Result<Option<PieceReader>, DataError> {
        Ok(match &self.layout {
            Layout::Text(text) => Some(PieceReader::Text(
                Pieces::open(&self.path, *text, self.piece_bytes, Arc::clone(&self.spare))
                    .map_err(|err| io_error(&self.path, &err))?,
            )),
            Layout::RowGroups(slices) => Some(PieceReader::Rows {
                slices: slices.clone().into_iter(),
                consumed: 0,
            }),
            Layout::Whole => None,
        })
    }

    /// A lazy frame over one piece, with the whole file's columns, and the
    /// text piece's buffer to hand to [`Source::recycle`] once it is scanned.
    fn piece_frame(&self, piece: Piece) -> Result<(LazyFrame, Option<Buffer<u8>>), DataError> {
        let (bytes, first_line, lines) = match piece {
            Piece::Rows(slice) => return Ok((self.frame().slice(slice.offset, slice.rows), None)),
            Piece::Text {
                bytes,
                first_line,
                lines,
            } => (bytes, first_line, lines),
        };
        // Text pieces come only from a text layout.
        let Layout::Text(text) = &self.layout else {
            return Ok((self.frame(), None));
        };
        if let (TextFormat::Delimited { .. }, Some(csv)) = (text, &self.csv) {
            // The header was cut off the first piece: columns come from the schema.
            let frame = csv
                .parse(&bytes, lines)
                .map_err(|err| csv.error(&self.path, &err, &bytes, first_line))?;
            return Ok((frame.lazy(), Some(Buffer::from_vec(bytes))));
        }
        let buffer = Buffer::from_vec(bytes);
        let sources = ScanSources::Buffers(Arc::from([buffer.clone()]));
        let frame = match *text {
            TextFormat::Delimited { separator } => LazyCsvReader::new_with_sources(sources)
                .with_separator(separator)
                .with_has_header(false)
                .with_schema(Some(self.schema.clone()))
                .finish(),
            TextFormat::NdJson => LazyJsonLineReader::new_with_sources(sources)
                .with_schema(Some(self.schema.clone()))
                .finish(),
        };
        let frame = frame.map_err(|err| read_error(&self.path, &err))?;
        Ok((frame, Some(buffer)))
    }

    /// Keeps a scanned piece's buffer for the next piece, if polars holds no
    /// part of it any more (parsed text is copied out, so it normally doesn't).
    fn recycle(&self, buffer: Option<Buffer<u8>>) {
        let Some(bytes) = buffer.and_then(|buffer| buffer.into_mut().right()) else {
            return;
        };
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        // One per piece in flight is all that is ever reused.
        if spare.len() < 16 {
            spare.push(bytes);
        }
    }
}

/// Parses pieces of CSV with polars' field parser, skipping the line counter
/// that its CSV scans run over every byte first. Without SIMD (polars needs
/// nightly Rust for it) that counter is a quarter of a scan's CPU time, and
/// a piece needs no counting: [`Pieces`] already cut it at line ends. This
/// is the sequence polars' own streaming CSV source runs per batch of lines
/// (`ChunkReader::read_chunk` in polars-stream), through the entry points
/// polars-io exports for it.
struct CsvPieces {
    /// The file's columns, with types the parser cannot produce replaced by
    /// text (then cast back to `to_cast`).
    schema: SchemaRef,
    to_cast: Vec<Field>,
    options: CsvParseOptions,
    projection: Vec<usize>,
    check_utf8: bool,
}

impl CsvPieces {
    /// `None` if polars cannot prepare the schema, in which case pieces go
    /// through polars' whole CSV scan instead.
    fn new(schema: &SchemaRef, separator: u8) -> Option<CsvPieces> {
        let mut reader_schema = schema.clone();
        let mut to_cast = Vec::new();
        prepare_csv_schema(&mut reader_schema, &mut to_cast).ok()?;
        if reader_schema.is_empty() {
            return None;
        }
        let options = CsvParseOptions {
            separator,
            ..CsvParseOptions::default()
        };
        let check_utf8 = reader_schema
            .iter_fields()
            .any(|field| field.dtype().is_string());
        Some(CsvPieces {
            projection: (0..reader_schema.len()).collect(),
            schema: reader_schema,
            to_cast,
            options,
            check_utf8,
        })
    }

    /// The rows of `bytes`, whole lines without a header, `lines` newlines.
    fn parse(&self, bytes: &[u8], lines: u64) -> PolarsResult<DataFrame> {
        if self.check_utf8 && !validate_utf8(bytes) {
            polars_bail!(ComputeError: "invalid utf-8 sequence");
        }
        // Exact unless quoted fields hold newlines; only a capacity hint.
        let rows = lines as usize + 1;
        let mut frame = read_chunk(
            bytes,
            &self.options,
            &self.schema,
            false,
            &self.projection,
            0,
            rows,
            None,
            usize::MAX,
            bytes.len(),
            Some(0),
        )?;
        cast_columns(&mut frame, &self.to_cast, false, false)?;
        Ok(frame)
    }

    /// The error `err` from parsing `bytes`, the piece starting at line
    /// `first_line` of `path`. polars names no line for a row with too many
    /// fields; the piece is read again with the csv crate to find it.
    fn error(&self, path: &Path, err: &PolarsError, bytes: &[u8], first_line: u64) -> DataError {
        let header = self.schema.len();
        let ragged = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.options.separator)
            .from_reader(bytes)
            .into_byte_records()
            .map_while(Result::ok)
            .find(|record| record.len() > header);
        match ragged {
            Some(record) => {
                let line = first_line + record.position().map_or(1, |at| at.line()) - 1;
                DataError::Read {
                    path: path.display().to_string(),
                    reason: format!(
                        "line {line} has {} fields, the header has {header}",
                        record.len()
                    ),
                    help: RAGGED_HELP.into(),
                }
            }
            None => read_error(path, err),
        }
    }
}

/// Yields a file's pieces in order.
enum PieceReader {
    Text(Pieces),
    Rows {
        slices: std::vec::IntoIter<RowSlice>,
        consumed: u64,
    },
}

impl PieceReader {
    fn next(&mut self) -> io::Result<Option<Piece>> {
        Ok(match self {
            PieceReader::Text(pieces) => pieces.next()?,
            PieceReader::Rows { slices, consumed } => slices.next().map(|slice| {
                *consumed += slice.bytes;
                Piece::Rows(slice)
            }),
        })
    }

    /// Bytes of the file read (or handed to polars) so far.
    fn consumed(&self) -> u64 {
        match self {
            PieceReader::Text(pieces) => pieces.consumed(),
            PieceReader::Rows { consumed, .. } => *consumed,
        }
    }
}

/// A Parquet file's row groups, grouped into slices of about `slice_bytes`
/// of decoded data (a larger row group is a slice alone).
fn row_slices(path: &Path, slice_bytes: usize) -> Result<Vec<RowSlice>, DataError> {
    let file = File::open(path).map_err(|err| io_error(path, &err))?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader
        .get_metadata()
        .map_err(|err| read_error(path, &err))?;
    let mut slices: Vec<RowSlice> = Vec::new();
    let (mut offset, mut decoded) = (0i64, 0usize);
    for group in &metadata.row_groups {
        let rows = group.num_rows() as IdxSize;
        let bytes = group.compressed_size() as u64;
        match slices.last_mut() {
            Some(last) if decoded < slice_bytes => {
                last.rows += rows;
                last.bytes += bytes;
                decoded += group.total_byte_size();
            }
            _ => {
                slices.push(RowSlice {
                    offset,
                    rows,
                    bytes,
                });
                decoded = group.total_byte_size();
            }
        }
        offset += rows as i64;
    }
    Ok(slices)
}

/// How a file is compressed, from its first bytes (as polars decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    /// zstd or zlib: left to polars.
    Other,
}

fn sniff(path: &Path) -> io::Result<Compression> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path)?;
    let mut len = 0;
    while len < magic.len() {
        let n = file.read(&mut magic[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    Ok(match &magic[..len] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Other,
        [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Compression::Other,
        _ => Compression::None,
    })
}

/// Counts the bytes read through it (the compressed bytes, under gzip).
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A text file cut into pieces of whole lines, about [`PIECE_BYTES`] each. A
/// CSV line ends at a newline outside quotes; the header line is dropped.
struct Pieces {
    reader: Box<dyn Read>,
    consumed: Arc<AtomicU64>,
    /// The start of a line that did not fit in the last piece.
    carry: Vec<u8>,
    quote: Option<u8>,
    skip_header: bool,
    eof: bool,
    piece_bytes: usize,
    spare: Spare,
    /// Lines of the file handed out so far (the header's included).
    lines: u64,
}

impl Pieces {
    fn open(path: &Path, text: TextFormat, piece_bytes: usize, spare: Spare) -> io::Result<Pieces> {
        let consumed = Arc::new(AtomicU64::new(0));
        let file = Counted {
            inner: File::open(path)?,
            count: Arc::clone(&consumed),
        };
        let reader: Box<dyn Read> = match sniff(path)? {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                BufReader::with_capacity(1 << 20, file),
            )),
            _ => Box::new(file),
        };
        let csv = matches!(text, TextFormat::Delimited { .. });
        Ok(Pieces {
            reader,
            consumed,
            carry: Vec::new(),
            quote: csv.then_some(b'"'),
            skip_header: csv,
            eof: false,
            piece_bytes,
            spare,
            lines: 0,
        })
    }

    /// Bytes of the file read so far.
    fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// The next piece, or `None` at the end of the file.
    fn next(&mut self) -> io::Result<Option<Piece>> {
        let Some(bytes) = self.next_piece()? else {
            return Ok(None);
        };
        let first_line = self.lines + 1;
        let lines = newlines_within(&bytes, first_line)?;
        self.lines += lines;
        Ok(Some(Piece::Text {
            bytes,
            first_line,
            lines,
        }))
    }

    fn next_piece(&mut self) -> io::Result<Option<Vec<u8>>> {
        let spare = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let mut buf = spare.unwrap_or_default();
        buf.clear();
        buf.append(&mut self.carry);
        let mut target = self.piece_bytes.max(buf.len());
        loop {
            if !self.eof && buf.len() < target {
                let want = (target - buf.len()) as u64;
                buf.reserve_exact(want as usize);
                let got = self.reader.by_ref().take(want).read_to_end(&mut buf)?;
                self.eof = (got as u64) < want;
            }
            if self.skip_header {
                match first_line_end(&buf, self.quote) {
                    Some(end) => {
                        self.lines += newlines(&buf[..=end]);
                        buf.drain(..=end);
                        self.skip_header = false;
                    }
                    None if self.eof => return Ok(None),
                    None if buf.len() > MAX_LINE_BYTES => return Err(line_too_long(1)),
                    None => {
                        target += self.piece_bytes.min(MAX_LINE_BYTES);
                        continue;
                    }
                }
            }
            if self.eof {
                let blank = buf.iter().all(|b| b.is_ascii_whitespace());
                return Ok((!blank).then_some(buf));
            }
            match last_line_end(&buf, self.quote) {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end + 1..]);
                    buf.truncate(end + 1);
                    return Ok(Some(buf));
                }
                // One line longer than the longest allowed: buf starts where
                // the line does, and holds no end of line.
                None if buf.len() > MAX_LINE_BYTES => {
                    return Err(line_too_long(self.lines + 1));
                }
                // One line longer than a piece: read on.
                None => target += self.piece_bytes.min(MAX_LINE_BYTES),
            }
        }
    }
}

/// The newlines in `bytes`, checking on the way that no line of the piece
/// (whose first line is `first_line`) is longer than [`MAX_LINE_BYTES`].
fn newlines_within(bytes: &[u8], first_line: u64) -> io::Result<u64> {
    let mut start = 0;
    let mut count = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        if end - start > MAX_LINE_BYTES {
            return Err(line_too_long(first_line + count));
        }
        start = end + 1;
        count += 1;
    }
    if bytes.len() - start > MAX_LINE_BYTES {
        return Err(line_too_long(first_line + count));
    }
    Ok(count)
}

/// The newlines in `bytes` (SIMD-counted), for line numbers.
fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The first newline of `buf` that ends a line: outside quotes when `quote`
/// is set (a doubled quote inside a quoted field toggles twice and nets out).
fn first_line_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
    match quote {
        Some(q) => {
            let mut inside = false;
            memchr::memchr2_iter(q, b'\n', buf).find(|&i| {
                inside ^= buf[i] == q;
                buf[i] == b'\n' && !inside
            })
        }
        None => memchr::memchr(b'\n', buf),
    }
}

/// The last newline of `buf` that ends a line (see [`first_line_end`]).
/// Quotes are tracked from the start, where a piece is never inside quotes;
/// without any quote character the search runs backwards.
fn last_line_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
    match quote {
        Some(q) if memchr::memchr(q, buf).is_some() => {
            let mut inside = false;
            let mut last = None;
            for i in memchr::memchr2_iter(q, b'\n', buf) {
                if buf[i] == q {
                    inside = !inside;
                } else if !inside {
                    last = Some(i);
                }
            }
            last
        }
        _ => memchr::memrchr(b'\n', buf),
    }
}

/// An I/O error while reading `path` in pieces.
fn io_error(path: &Path, err: &io::Error) -> DataError {
    DataError::Read {
        path: path.display().to_string(),
        reason: err.to_string(),
        help: if err.to_string().contains(" is longer than ") {
            "split the long field over several rows, or store the data as Parquet".into()
        } else {
            "check the file's permissions, and that a .gz file is complete".into()
        },
    }
}

// ---------------------------------------------------------------------------
// Distinct counts in bounded memory

/// How many repeated hashes a [`DistinctCount`] keeps, to find examples and
/// to confirm the repeats exactly.
pub const REPEATED_SAMPLE: usize = 1024;

/// Hashes are written to disk in sorted runs of at most this many bytes per
/// counter (8 bytes a value), unless the caller gives a smaller budget.
const RUN_BYTES: usize = 64 << 20;

/// What a [`DistinctCounter`] saw.
#[derive(Debug, Clone, Default)]
pub struct DistinctCount {
    /// Non-null values seen.
    pub values: u64,
    /// Distinct 64-bit hashes among them: the number of distinct values, but
    /// for hash collisions (about one in 10^5 for 50M distinct values; a
    /// collision can only make two different values look equal). `None` when
    /// counting stopped at the first repeat.
    pub distinct: Option<u64>,
    /// Up to [`REPEATED_SAMPLE`] hashes seen more than once, smallest first.
    pub repeated: Vec<u64>,
    /// True when `repeated` holds every hash seen more than once.
    pub repeated_complete: bool,
}

impl DistinctCount {
    /// Whether no value was seen twice.
    pub fn all_distinct(&self) -> bool {
        self.distinct == Some(self.values)
    }
}

/// Counts the distinct non-null values of one column in bounded memory.
///
/// [`DistinctCounter::observe`] wraps the column in a query; as the streaming
/// engine evaluates it batch by batch, each value is hashed to 64 bits
/// (polars' own hash, with a fixed seed). Hashes fill a buffer; a full buffer
/// is sorted and appended to an anonymous temporary file as a run. At the end
/// the runs are merged, counting distinct hashes. Memory is the buffer plus
/// 64 KiB per run; disk is 8 bytes per value.
#[derive(Clone)]
pub struct DistinctCounter {
    state: Arc<Mutex<Runs>>,
}

struct Runs {
    /// Hashes not yet written.
    buffer: Vec<u64>,
    /// Hashes per run.
    capacity: usize,
    /// The runs written so far (created at the first spill).
    file: Option<BufWriter<File>>,
    /// Each run's length in hashes, in file order.
    lengths: Vec<u64>,
    values: u64,
    /// Stop at the first repeat (inferring only asks "are all values distinct?").
    stop_at_repeat: bool,
    repeat_seen: bool,
    error: Option<io::Error>,
}

impl DistinctCounter {
    /// A counter that may keep `budget` bytes of hashes in memory. With
    /// `stop_at_repeat` it stops counting at the first repeated value, which
    /// is all that inferring `unique` needs.
    pub fn new(budget: usize, stop_at_repeat: bool) -> DistinctCounter {
        let capacity = prev_power_of_two(budget.clamp(64 << 10, RUN_BYTES) / 8);
        DistinctCounter {
            state: Arc::new(Mutex::new(Runs {
                buffer: Vec::new(),
                capacity,
                file: None,
                lengths: Vec::new(),
                values: 0,
                stop_at_repeat,
                repeat_seen: false,
                error: None,
            })),
        }
    }

    /// `expr` unchanged, but every batch it evaluates is counted (see [`tap`]).
    pub fn observe(&self, expr: Expr) -> Expr {
        let counter = self.clone();
        tap(expr, move |column| counter.add(column))
    }

    fn add(&self, column: &Column) -> PolarsResult<()> {
        if self.lock().done() {
            return Ok(());
        }
        let column = column.drop_nulls();
        if column.is_empty() {
            return Ok(());
        }
        let hashes = hash_values(&column)?;
        let mut runs = self.lock();
        // Spilling before the buffer would outgrow its capacity (a power of
        // two) keeps its allocation within the budget.
        if !runs.buffer.is_empty() && runs.buffer.len() + hashes.len() > runs.capacity {
            runs.spill();
        }
        if !runs.done() {
            runs.values += hashes.len() as u64;
            runs.buffer.extend_from_slice(&hashes);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        // A panic while holding the lock leaves plain counters behind; keep them.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Merges the runs and counts. An error means the temporary file could
    /// not be written or read back.
    pub fn finish(&self) -> io::Result<DistinctCount> {
        let mut runs = self.lock();
        if let Some(err) = runs.error.take() {
            return Err(err);
        }
        let values = runs.values;
        if runs.repeat_seen {
            return Ok(DistinctCount {
                values,
                ..Default::default()
            });
        }
        let mut tail = std::mem::take(&mut runs.buffer);
        radsort::sort(&mut tail);
        let mut readers = Vec::new();
        if let Some(writer) = runs.file.take() {
            let mut file = writer.into_inner().map_err(|err| err.into_error())?;
            file.flush()?;
            let file = Arc::new(Mutex::new(file));
            let mut offset = 0;
            for &len in &runs.lengths {
                readers.push(RunReader::file(Arc::clone(&file), offset, len));
                offset += len * 8;
            }
        }
        readers.push(RunReader::memory(tail));
        let merged = merge_count(readers, runs.stop_at_repeat)?;
        Ok(DistinctCount { values, ..merged })
    }
}

impl Runs {
    fn done(&self) -> bool {
        self.repeat_seen || self.error.is_some()
    }

    /// Sorts the buffer and appends it to the run file.
    fn spill(&mut self) {
        // Radix sort: 8-byte hashes sort in a few linear passes.
        radsort::sort(&mut self.buffer);
        if self.stop_at_repeat && self.buffer.windows(2).any(|w| w[0] == w[1]) {
            self.repeat_seen = true;
            self.buffer = Vec::new();
            self.file = None;
            return;
        }
        let written = (|| -> io::Result<()> {
            if self.file.is_none() {
                self.file = Some(BufWriter::with_capacity(1 << 16, tempfile::tempfile()?));
            }
            let file = self.file.as_mut().expect("created above");
            for hash in &self.buffer {
                file.write_all(&hash.to_le_bytes())?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => self.lengths.push(self.buffer.len() as u64),
            Err(err) => self.error = Some(err),
        }
        self.buffer.clear();
    }
}

fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
}

/// One sorted run, read back in 64 KiB pieces.
struct RunReader {
    source: Option<Arc<Mutex<File>>>,
    /// Next byte to read from the file.
    offset: u64,
    /// Hashes left in the file after `chunk`.
    left: u64,
    chunk: Vec<u64>,
    at: usize,
}

impl RunReader {
    const CHUNK: u64 = 8 << 10;

    fn file(file: Arc<Mutex<File>>, offset: u64, len: u64) -> RunReader {
        RunReader {
            source: Some(file),
            offset,
            left: len,
            chunk: Vec::new(),
            at: 0,
        }
    }

    fn memory(hashes: Vec<u64>) -> RunReader {
        RunReader {
            source: None,
            offset: 0,
            left: 0,
            chunk: hashes,
            at: 0,
        }
    }

    fn next(&mut self) -> io::Result<Option<u64>> {
        if self.at == self.chunk.len() {
            let Some(source) = &self.source else {
                return Ok(None);
            };
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(Self::CHUNK);
            let mut bytes = vec![0u8; (n * 8) as usize];
            {
                let mut file = source.lock().unwrap_or_else(|p| p.into_inner());
                file.seek(SeekFrom::Start(self.offset))?;
                file.read_exact(&mut bytes)?;
            }
            self.offset += n * 8;
            self.left -= n;
            self.chunk = bytes
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            self.at = 0;
        }
        let hash = self.chunk[self.at];
        self.at += 1;
        Ok(Some(hash))
    }
}

/// Merges sorted runs, counting distinct hashes and sampling repeated ones.
fn merge_count(mut readers: Vec<RunReader>, stop_at_repeat: bool) -> io::Result<DistinctCount> {
    let mut heap = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(hash) = reader.next()? {
            heap.push(Reverse((hash, i)));
        }
    }
    let mut out = DistinctCount {
        distinct: Some(0),
        repeated_complete: true,
        ..Default::default()
    };
    let mut distinct = 0u64;
    let mut last: Option<u64> = None;
    let mut last_counted_repeat = false;
    while let Some(Reverse((hash, i))) = heap.pop() {
        if last == Some(hash) {
            if stop_at_repeat {
                out.distinct = None;
                return Ok(out);
            }
            if !last_counted_repeat {
                last_counted_repeat = true;
                if out.repeated.len() < REPEATED_SAMPLE {
                    out.repeated.push(hash);
                } else {
                    out.repeated_complete = false;
                }
            }
        } else {
            distinct += 1;
            last = Some(hash);
            last_counted_repeat = false;
        }
        if let Some(next) = readers[i].next()? {
            heap.push(Reverse((next, i)));
        }
    }
    out.distinct = Some(distinct);
    Ok(out)
}

/// Each value's 64-bit hash, the same for equal values in any batch.
fn hash_values(column: &Column) -> PolarsResult<Vec<u64>> {
    let series = column.as_materialized_series();
    // Categories are hashed by their text, not by a batch-dependent code.
    let series = match series.dtype() {
        DataType::Categorical(..) | DataType::Enum(..) => series.cast(&DataType::String)?,
        _ => series.clone(),
    };
    let mut hashes = Vec::with_capacity(series.len());
    series.vec_hash(
        PlSeedableRandomStateQuality::seed_from_u64(0x6d6c_7363),
        &mut hashes,
    )?;
    Ok(hashes)
}

/// `expr` unchanged, with `watch` shown every batch of values the streaming
/// engine evaluates it on: how the counters and trackers of a pass see the
/// data without a query of their own. Use the result in an aggregate that
/// reads every row (`null_count`), once per query.
pub fn tap(
    expr: Expr,
    watch: impl Fn(&Column) -> PolarsResult<()> + Send + Sync + 'static,
) -> Expr {
    expr.map(
        move |column: Column| {
            watch(&column)?;
            Ok(column)
        },
        |_: &Schema, field: &Field| Ok(field.clone()),
    )
}

/// True where `expr`'s value hashes (as [`DistinctCounter`] hashes it) to
/// one of `hashes`: finds again the rows holding repeated values.
pub fn hash_is_in(expr: Expr, hashes: &[u64]) -> Expr {
    let wanted: Arc<PlHashSet<u64>> = Arc::new(hashes.iter().copied().collect());
    expr.map(
        move |column: Column| {
            let found: BooleanChunked = hash_values(&column)?
                .into_iter()
                .map(|hash| wanted.contains(&hash))
                .collect();
            Ok(found.with_name(column.name().clone()).into_column())
        },
        |_: &Schema, field: &Field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `values` through a streaming query, as the probes do.
    fn count(values: Vec<Option<i64>>, budget: usize, stop_at_repeat: bool) -> DistinctCount {
        let counter = DistinctCounter::new(budget, stop_at_repeat);
        let frame = DataFrame::new_infer_height(vec![Column::new("v".into(), values)])
            .unwrap()
            .lazy()
            .select([counter.observe(col("v")).null_count()]);
        frame.collect_with_engine(Engine::Streaming).unwrap();
        counter.finish().unwrap()
    }

    #[test]
    fn lines_end_at_newlines_outside_quotes() {
        let q = Some(b'"');
        let text = b"a,\"x\ny\",b\nc,\"say \"\"hi\"\"\n\",d\ne";
        assert_eq!(first_line_end(text, q), Some(9));
        assert_eq!(last_line_end(text, q), Some(27));
        assert_eq!(first_line_end(text, None), Some(4));
        assert_eq!(last_line_end(b"no newline", q), None);
        assert_eq!(last_line_end(b"a\nb\n", q), Some(3));
    }

    /// Rows, and the nulls, sum, and text extremes of columns `n` and `s`.
    fn n_and_s_aggregates() -> [Aggregate; 5] {
        [
            Aggregate::sum(len(), "rows"),
            Aggregate::sum(col("n").null_count(), "nulls"),
            Aggregate::sum(col("n").sum(), "total"),
            Aggregate::min(col("s").min(), "first"),
            Aggregate::max(col("s").max(), "last"),
        ]
    }

    /// `source`'s aggregates read in pieces of `piece_bytes`.
    fn aggregate_in_pieces(path: &Path, piece_bytes: usize) -> DataFrame {
        let mut source = Source::open(path).unwrap();
        source.piece_bytes = piece_bytes;
        let aggregates = n_and_s_aggregates();
        source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap()
    }

    #[test]
    fn pieces_cut_only_between_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("n,s\r\n");
        let mut ndjson = String::new();
        for i in 0..500 {
            // A quoted field holding a newline, a separator and a doubled quote.
            csv.push_str(&format!("{i},\"line {i}\nwith, \"\"quotes\"\"\"\r\n"));
            ndjson.push_str(&format!("{{\"n\": {i}, \"s\": \"v{i:03}\"}}\n"));
        }
        csv.push_str(",\"last\""); // a null, and no newline at the end
        std::fs::write(dir.path().join("d.csv"), &csv).unwrap();
        std::fs::write(dir.path().join("d.jsonl"), &ndjson).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(csv.as_bytes()).unwrap();
        std::fs::write(dir.path().join("d.csv.gz"), gz.finish().unwrap()).unwrap();

        for name in ["d.csv", "d.csv.gz", "d.jsonl"] {
            let path = dir.path().join(name);
            let whole = aggregate_in_pieces(&path, PIECE_BYTES);
            // 100-byte pieces: every few rows, often inside a quoted field.
            let pieces = aggregate_in_pieces(&path, 100);
            for column in ["rows", "nulls", "total", "first", "last"] {
                let (a, b) = (
                    whole.column(column).unwrap(),
                    pieces.column(column).unwrap(),
                );
                assert_eq!(
                    a.get(0).unwrap().to_string(),
                    b.get(0).unwrap().to_string(),
                    "{name} {column}"
                );
            }
            let rows = whole
                .column("rows")
                .unwrap()
                .get(0)
                .unwrap()
                .extract::<u64>();
            let expected = if name == "d.jsonl" { 500 } else { 501 };
            assert_eq!(rows, Some(expected), "{name}");
        }
    }

    #[test]
    fn csv_date_columns_are_typed_like_polars_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "day,stamp,utc,clock,mixed,ip,text\n\
             2021-02-25,2021-02-25 10:00:00,2021-02-25T10:00:00Z,12:30:00,2021-02-25,10.0.0.1,a\n\
             2021-03-01,2021-03-01 11:30:00,2021-03-01T11:30:00+01:00,13:00:00,nope,10.0.0.2,b\n\
             ,,,,,,\n",
        )
        .unwrap();
        let mut frame = scan(&path).unwrap();
        let schema = columns(&path, &mut frame).unwrap();
        let dtype = |c: &str| schema.get(c).unwrap().clone();
        assert_eq!(dtype("day"), DataType::Date);
        assert!(matches!(dtype("stamp"), DataType::Datetime(..)));
        assert_eq!(dtype("clock"), DataType::Time);
        for text in ["mixed", "ip", "text"] {
            assert_eq!(dtype(text), DataType::String, "{text}");
        }
        // Every column is typed as polars' own (slower) inference types it.
        let polars = LazyCsvReader::new(PlRefPath::try_from_path(&path).unwrap())
            .with_try_parse_dates(true)
            .finish()
            .unwrap()
            .collect_schema()
            .unwrap();
        assert_eq!(&schema, polars.as_ref());
        // The typed columns parse when the file is read.
        let out = collect(&path, frame.select([col("day").max(), col("stamp").min()])).unwrap();
        assert_eq!(
            out.column("day").unwrap().get(0).unwrap().to_string(),
            "2021-03-01"
        );
    }

    #[test]
    fn parquet_is_scanned_by_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        let n: Vec<Option<i64>> = (0..5000).map(|i| (i % 7 != 0).then_some(i)).collect();
        let s: Vec<String> = (0..5000).map(|i| format!("v{i:04}")).collect();
        let mut df = df!("n" => n, "s" => s).unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(1000))
            .finish(&mut df)
            .unwrap();

        let mut source = Source::open(&path).unwrap();
        let slices = row_slices(&path, 1).unwrap();
        assert_eq!(slices.len(), 5, "{slices:?}");
        assert_eq!(slices[4].offset, 4000);
        source.layout = Layout::RowGroups(slices);
        let aggregates = n_and_s_aggregates();
        let out = source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap();
        let get = |c: &str| out.column(c).unwrap().get(0).unwrap().to_string();
        assert_eq!(get("rows"), "5000");
        assert_eq!(get("nulls"), "715");
        let total: i64 = (0..5000).filter(|i| i % 7 != 0).sum();
        assert_eq!(get("total"), total.to_string());
        assert_eq!(
            (get("first"), get("last")),
            ("\"v0000\"".into(), "\"v4999\"".into())
        );

        let rows = source
            .first_rows(&|frame| frame.filter(col("n").gt(lit(2500))), 2)
            .unwrap();
        assert_eq!(rows.column("n").unwrap().i64().unwrap().get(0), Some(2501));
    }

    #[test]
    fn first_rows_stop_reading_once_found() {
        let dir = tempfile::tempdir().unwrap();
        let csv: String = std::iter::once("n\n".to_string())
            .chain((0..1000).map(|i| format!("{i}\n")))
            .collect();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, csv).unwrap();
        let mut source = Source::open(&path).unwrap();
        source.piece_bytes = 50;
        let rows = source
            .first_rows(&|frame| frame.filter(col("n").gt(lit(990))), 3)
            .unwrap();
        let values: Vec<i64> = rows
            .column("n")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(values, [991, 992, 993]);
    }

    #[test]
    fn a_ragged_row_is_named_by_its_line() {
        let dir = tempfile::tempdir().unwrap();
        // A quoted newline on line 3 makes file lines and rows differ.
        let mut csv = String::from("n,s\n1,a\n2,\"two\nlines\"\n");
        for i in 3..200 {
            csv.push_str(&format!("{i},x\n"));
        }
        csv.push_str("200,x,extra\n201,x\n");
        let path = dir.path().join("d.csv");
        std::fs::write(&path, csv).unwrap();
        let mut source = Source::open(&path).unwrap();
        source.piece_bytes = 64;
        let aggregates = [Aggregate::sum(len(), "rows")];
        let err = source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap_err();
        // Header, two rows (one of two lines), then rows 3..=199 one a line.
        let text = err.to_string();
        assert!(
            text.contains("line 202 has 3 fields, the header has 2"),
            "{text}"
        );
    }

    #[test]
    fn counts_distinct_values_in_memory() {
        let got = count(
            vec![Some(1), Some(2), Some(2), None, Some(3), Some(3), Some(3)],
            1 << 20,
            false,
        );
        assert_eq!((got.values, got.distinct), (6, Some(3)));
        assert_eq!(got.repeated.len(), 2);
        assert!(got.repeated_complete);
        assert!(!got.all_distinct());
    }

    #[test]
    fn counts_across_spilled_runs() {
        // 64 KiB holds 8192 hashes: 100,000 values make a dozen runs.
        let mut values: Vec<Option<i64>> = (0..100_000).map(Some).collect();
        let unique = count(values.clone(), 64 << 10, false);
        assert_eq!((unique.values, unique.distinct), (100_000, Some(100_000)));
        assert!(unique.all_distinct() && unique.repeated.is_empty());

        // Repeats far apart land in different runs and are still found.
        values[99_999] = Some(5);
        values[50_000] = Some(7);
        let repeated = count(values, 64 << 10, false);
        assert_eq!(repeated.distinct, Some(99_998));
        assert_eq!(repeated.repeated.len(), 2);
    }

    #[test]
    fn stops_at_the_first_repeat_when_asked() {
        let mut values: Vec<Option<i64>> = (0..100_000).map(Some).collect();
        values[99_999] = Some(0);
        let got = count(values, 64 << 10, true);
        assert_eq!(got.distinct, None);
        assert!(!got.all_distinct());
    }

    #[test]
    fn hash_is_in_finds_the_repeated_rows() {
        let counter = DistinctCounter::new(1 << 20, false);
        let df = df!("s" => ["a", "b", "a"]).unwrap();
        let out = df
            .clone()
            .lazy()
            .select([counter.observe(col("s")).null_count()])
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        assert_eq!(out.height(), 1);
        let repeated = counter.finish().unwrap().repeated;
        let rows = df
            .lazy()
            .filter(hash_is_in(col("s"), &repeated))
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        assert_eq!(rows.height(), 2);
    }
}
