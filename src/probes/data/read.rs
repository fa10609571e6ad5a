//! Opens CSV/TSV (optionally gzip), Parquet and NDJSON files as polars
//! `LazyFrame`s and runs queries on them with polars' streaming engine, so a
//! file larger than memory is checked in bounded memory.
//!
//! Two things polars does not bound, and what this module does instead:
//! - polars' CSV and NDJSON readers memory-map the whole file, so every page
//!   read stays resident and peak RSS reaches the file's size. A [`Source`]
//!   cuts text files into pieces of whole lines read with plain `read` calls
//!   and scans one piece at a time ([`Source::aggregate`] folds the pieces'
//!   aggregates). Parquet is left to polars, which reads it by row group.
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
    let pl_path = PlRefPath::try_from_path(path).map_err(|err| read_error(path, &err))?;
    let frame = match format {
        DataFormat::Delimited { separator } => LazyCsvReader::new(pl_path)
            .with_separator(separator)
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .with_try_parse_dates(true)
            .finish(),
        DataFormat::Parquet => LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()),
        DataFormat::NdJson => LazyJsonLineReader::new(pl_path).finish(),
    };
    frame.map_err(|err| read_error(path, &err))
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

/// A polars error while reading `path`, with a help naming the likely fix.
pub fn read_error(path: &Path, err: &PolarsError) -> DataError {
    let reason = err.to_string();
    // polars appends its own hints over several lines; the first line is the fault.
    let first = reason.lines().next().unwrap_or("").trim().to_string();
    let lower = reason.to_ascii_lowercase();
    let help = if lower.contains("parquet") || lower.contains("magic") || lower.contains("footer") {
        "the file is not valid Parquet (truncated or not Parquet at all); regenerate it".into()
    } else if lower.contains("fields") || lower.contains("ragged") || lower.contains("found more") {
        "every row needs as many fields as the header; fix the row or quote fields that contain the separator".into()
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

/// Bytes of text handed to polars at a time: large enough that per-query
/// overhead vanishes, small enough that the few in flight (one per core, plus
/// the one being read) stay far below 1 GiB.
const PIECE_BYTES: usize = 32 << 20;

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

/// A data file opened for queries in bounded memory.
pub struct Source {
    path: PathBuf,
    frame: LazyFrame,
    schema: SchemaRef,
    /// Text files are read in pieces; `None` for Parquet (and compression
    /// other than gzip), which polars reads whole.
    text: Option<TextFormat>,
    /// The size of a piece ([`PIECE_BYTES`]; tests use tiny pieces).
    piece_bytes: usize,
}

impl Source {
    /// Opens `path` and learns its columns (from a header and a sample of
    /// rows, or from the footer). Errors as [`scan`].
    pub fn open(path: &Path) -> Result<Source, DataError> {
        let mut frame = scan(path)?;
        let schema = Arc::new(columns(path, &mut frame)?);
        let text = match DataFormat::of(path) {
            Some(DataFormat::Delimited { separator }) => Some(TextFormat::Delimited { separator }),
            Some(DataFormat::NdJson) => Some(TextFormat::NdJson),
            _ => None,
        };
        let compression = sniff(path).map_err(|err| io_error(path, &err))?;
        Ok(Source {
            path: path.to_path_buf(),
            frame,
            schema,
            text: text.filter(|_| compression != Compression::Other),
            piece_bytes: PIECE_BYTES,
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

    /// The whole file as one lazy frame (memory-mapped by polars for text:
    /// use it for plans, not for scans of large files).
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
        let Some(text) = self.text else {
            visit(collect(&self.path, query(self.frame()))?);
            return Ok(());
        };
        let mut pieces = Pieces::open(&self.path, text, self.piece_bytes)
            .map_err(|err| io_error(&self.path, &err))?;
        let mut any = false;
        while let Some(piece) = pieces.next().map_err(|err| io_error(&self.path, &err))? {
            any = true;
            let result = collect(&self.path, query(self.piece_frame(text, piece)?))?;
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
    /// the results in no particular order. Running pieces side by side is
    /// what keeps both cores busy: polars splits a CSV scan into lines on one
    /// thread, and on stable Rust (no SIMD) that split is a third of the work.
    fn map_pieces(
        &self,
        query: &(dyn Fn(LazyFrame) -> LazyFrame + Sync),
        bar: &Progress,
    ) -> Result<Vec<DataFrame>, DataError> {
        let Some(text) = self.text else {
            return Ok(vec![collect(&self.path, query(self.frame()))?]);
        };
        let mut pieces = Pieces::open(&self.path, text, self.piece_bytes)
            .map_err(|err| io_error(&self.path, &err))?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        std::thread::scope(|scope| {
            // A rendezvous: a piece is read ahead only once a worker is free.
            let (piece_tx, piece_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(0);
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
                    let result = self
                        .piece_frame(text, piece)
                        .and_then(|frame| collect(&self.path, query(frame)));
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

    /// A lazy frame over one piece of text, with the whole file's columns.
    fn piece_frame(&self, text: TextFormat, piece: Vec<u8>) -> Result<LazyFrame, DataError> {
        let sources = ScanSources::Buffers(Arc::from([Buffer::from_vec(piece)]));
        let frame = match text {
            // The header was cut off the first piece: columns come from the schema.
            TextFormat::Delimited { separator } => LazyCsvReader::new_with_sources(sources)
                .with_separator(separator)
                .with_has_header(false)
                .with_schema(Some(self.schema.clone()))
                .finish(),
            TextFormat::NdJson => LazyJsonLineReader::new_with_sources(sources)
                .with_schema(Some(self.schema.clone()))
                .finish(),
        };
        frame.map_err(|err| read_error(&self.path, &err))
    }
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
}

impl Pieces {
    fn open(path: &Path, text: TextFormat, piece_bytes: usize) -> io::Result<Pieces> {
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
        })
    }

    /// Bytes of the file read so far.
    fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// The next piece, or `None` at the end of the file.
    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = std::mem::take(&mut self.carry);
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
                        buf.drain(..=end);
                        self.skip_header = false;
                    }
                    None if self.eof => return Ok(None),
                    None => {
                        target += self.piece_bytes;
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
                    self.carry = buf.split_off(end + 1);
                    return Ok(Some(buf));
                }
                // One line longer than a piece: read on.
                None => target += self.piece_bytes,
            }
        }
    }
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
        help: "check the file's permissions, and that a .gz file is complete".into(),
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

    /// `expr` unchanged, but every batch it evaluates is counted. Aggregate it
    /// with something that reads every row (`null_count`), once per query.
    pub fn observe(&self, expr: Expr) -> Expr {
        let counter = self.clone();
        expr.map(
            move |column: Column| {
                counter.add(&column)?;
                Ok(column)
            },
            |_: &Schema, field: &Field| Ok(field.clone()),
        )
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
        tail.sort_unstable();
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
        self.buffer.sort_unstable();
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

    /// `source`'s aggregates read in pieces of `piece_bytes`.
    fn aggregate_in_pieces(path: &Path, piece_bytes: usize) -> DataFrame {
        let mut source = Source::open(path).unwrap();
        source.piece_bytes = piece_bytes;
        let aggregates = [
            Aggregate::sum(len(), "rows"),
            Aggregate::sum(col("n").null_count(), "nulls"),
            Aggregate::sum(col("n").sum(), "total"),
            Aggregate::min(col("s").min(), "first"),
            Aggregate::max(col("s").max(), "last"),
        ];
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
