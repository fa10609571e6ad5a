//! Sources read in pieces: text files in pieces of whole lines, Parquet a
//! few row groups at a time, each piece's aggregate folded in.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::io::csv::read::_csv_read_internal::{
    cast_columns, prepare_csv_schema, read_chunk, validate_utf8,
};
use polars::prelude::*;
use polars_buffer::Buffer;

use super::super::progress::Progress;
use super::super::DataError;

use super::open::*;

// ---------------------------------------------------------------------------
// Sources read in pieces

/// Aggregates evaluated by one query. polars' streaming engine clones a
/// frame's list of columns for every expression it evaluates on it, so one
/// select of three aggregates per column over a 20,000-column file cost
/// columns²; queries of this many expressions, each reading only the
/// columns it names, keep the cost proportional to the columns.
const EXPRS_PER_QUERY: usize = 256;

/// `frame.select(exprs)` collected, in queries of at most `EXPRS_PER_QUERY`
/// expressions whose one-row results are put side by side. A piece is held
/// in memory (parsed once, not once per query) and cut to each query's
/// columns: the engine's in-memory scan slices every column of the frame it
/// is given. A file read whole is scanned once per query instead.
fn select_in_batches(
    path: &Path,
    frame: LazyFrame,
    exprs: &[Expr],
    whole_file: bool,
) -> Result<DataFrame, DataError> {
    if exprs.len() <= EXPRS_PER_QUERY {
        return collect(path, frame.select(exprs));
    }
    let in_memory = match &frame.logical_plan {
        DslPlan::DataFrameScan { df, .. } => Some(Arc::clone(df)),
        _ if whole_file => None,
        _ => Some(Arc::new(collect(path, frame.clone())?)),
    };
    // The parts' columns are put together once at the end: adding each
    // part to a growing frame checks every name again, columns² in all.
    let mut columns: Vec<Column> = Vec::with_capacity(exprs.len());
    for batch in exprs.chunks(EXPRS_PER_QUERY) {
        let input = match &in_memory {
            Some(df) => narrowed(df, batch)
                .map_err(|err| read_error(path, &err))?
                .lazy(),
            None => frame.clone(),
        };
        let part = collect(path, input.select(batch))?;
        columns.extend(part.into_columns());
    }
    DataFrame::new_infer_height(columns).map_err(|err| read_error(path, &err))
}

/// The columns of `df` that `exprs` read, in a frame of the same height.
fn narrowed(df: &DataFrame, exprs: &[Expr]) -> PolarsResult<DataFrame> {
    let schema = df.schema();
    let mut picked: Vec<usize> = exprs
        .iter()
        .flat_map(|expr| expr.into_iter())
        .filter_map(|node| match node {
            Expr::Column(name) => schema.index_of(name),
            _ => None,
        })
        .collect();
    picked.sort_unstable();
    picked.dedup();
    let columns = picked.iter().map(|&i| df.columns()[i].clone()).collect();
    DataFrame::new(df.height(), columns)
}

/// Bytes of text handed to polars at a time: large enough that per-scan
/// overhead vanishes, small enough that the few in flight (one per core, plus
/// the one being read) stay far below 1 GiB.
pub(super) const PIECE_BYTES: usize = 32 << 20;

/// Decoded bytes of Parquet row groups scanned together.
pub(super) const ROW_SLICE_BYTES: usize = 64 << 20;

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
    pub(super) expr: Expr,
    pub(super) alias: String,
    pub(super) fold: Fold,
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

    pub(super) fn new(expr: Expr, alias: impl Into<String>, fold: Fold) -> Aggregate {
        Aggregate {
            expr,
            alias: alias.into(),
            fold,
        }
    }

    /// The expression folding a column of per-piece values.
    pub(super) fn folded(&self) -> Expr {
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
pub(super) enum TextFormat {
    Delimited { separator: u8 },
    NdJson,
}

/// How a file is cut into pieces.
#[derive(Debug, Clone)]
pub(super) enum Layout {
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
pub(super) struct RowSlice {
    pub(super) offset: i64,
    pub(super) rows: IdxSize,
    /// Their compressed size, for progress.
    pub(super) bytes: u64,
}

/// One piece of a file, ready to scan.
pub(super) enum Piece {
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
    pub(super) path: PathBuf,
    pub(super) frame: LazyFrame,
    pub(super) schema: SchemaRef,
    pub(super) layout: Layout,
    /// The size of a text piece ([`PIECE_BYTES`]; tests use tiny pieces).
    pub(super) piece_bytes: usize,
    /// The parser of CSV pieces, when polars' own parser can take the
    /// file's column types without its line counter (see [`CsvPieces`]).
    pub(super) csv: Option<CsvPieces>,
    /// Text pieces' buffers, handed back once polars is done with them:
    /// reusing them spares the kernel faulting in fresh pages for every piece.
    pub(super) spare: Spare,
}

/// Buffers of finished pieces, kept for the next ones.
pub(super) type Spare = Arc<Mutex<Vec<Vec<u8>>>>;

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
            .map_pieces(
                &|frame| {
                    let whole_file = matches!(self.layout, Layout::Whole);
                    select_in_batches(&self.path, frame, &exprs, whole_file)
                },
                bar,
            )?
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
    pub(super) fn map_pieces(
        &self,
        query: &(dyn Fn(LazyFrame) -> Result<DataFrame, DataError> + Sync),
        bar: &Progress,
    ) -> Result<Vec<DataFrame>, DataError> {
        let Some(mut pieces) = self.pieces()? else {
            return Ok(vec![query(self.frame())?]);
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
                        let result = query(frame);
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
                results.push(query(self.frame())?);
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
    pub(super) fn pieces(&self) -> Result<Option<PieceReader>, DataError> {
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
    pub(super) fn piece_frame(
        &self,
        piece: Piece,
    ) -> Result<(LazyFrame, Option<Buffer<u8>>), DataError> {
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
        let frame = match (*text, &self.csv) {
            // The header was cut off the first piece: columns come from the schema.
            (TextFormat::Delimited { .. }, Some(csv)) => csv
                .parse(&bytes, lines)
                .map_err(|err| csv.error(&self.path, &err, &bytes, first_line))?
                .lazy(),
            // Parsed into one frame: the streaming scan made a frame per few
            // records, each holding every column, which for records of
            // 40,000 keys cost 1.4 GB for 50 lines.
            (TextFormat::NdJson, _) => JsonReader::new(std::io::Cursor::new(bytes.as_slice()))
                .with_json_format(JsonFormat::JsonLines)
                .with_schema(self.schema.clone())
                .finish()
                .map_err(|err| read_error(&self.path, &err))?
                .lazy(),
            (TextFormat::Delimited { separator }, None) => {
                let buffer = Buffer::from_vec(bytes);
                let sources = ScanSources::Buffers(Arc::from([buffer.clone()]));
                let frame = LazyCsvReader::new_with_sources(sources)
                    .with_separator(separator)
                    .with_has_header(false)
                    .with_schema(Some(self.schema.clone()))
                    .finish()
                    .map_err(|err| read_error(&self.path, &err))?;
                return Ok((frame, Some(buffer)));
            }
        };
        Ok((frame, Some(Buffer::from_vec(bytes))))
    }

    /// Keeps a scanned piece's buffer for the next piece, if polars holds no
    /// part of it any more (parsed text is copied out, so it normally doesn't).
    pub(super) fn recycle(&self, buffer: Option<Buffer<u8>>) {
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
pub(super) struct CsvPieces {
    /// The file's columns, with types the parser cannot produce replaced by
    /// text (then cast back to `to_cast`).
    pub(super) schema: SchemaRef,
    pub(super) to_cast: Vec<Field>,
    pub(super) options: CsvParseOptions,
    pub(super) projection: Vec<usize>,
    pub(super) check_utf8: bool,
}

impl CsvPieces {
    /// `None` if polars cannot prepare the schema, in which case pieces go
    /// through polars' whole CSV scan instead.
    pub(super) fn new(schema: &SchemaRef, separator: u8) -> Option<CsvPieces> {
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
    pub(super) fn parse(&self, bytes: &[u8], lines: u64) -> PolarsResult<DataFrame> {
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
    pub(super) fn error(
        &self,
        path: &Path,
        err: &PolarsError,
        bytes: &[u8],
        first_line: u64,
    ) -> DataError {
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
pub(super) enum PieceReader {
    Text(Pieces),
    Rows {
        slices: std::vec::IntoIter<RowSlice>,
        consumed: u64,
    },
}

impl PieceReader {
    pub(super) fn next(&mut self) -> io::Result<Option<Piece>> {
        Ok(match self {
            PieceReader::Text(pieces) => pieces.next()?,
            PieceReader::Rows { slices, consumed } => slices.next().map(|slice| {
                *consumed += slice.bytes;
                Piece::Rows(slice)
            }),
        })
    }

    /// Bytes of the file read (or handed to polars) so far.
    pub(super) fn consumed(&self) -> u64 {
        match self {
            PieceReader::Text(pieces) => pieces.consumed(),
            PieceReader::Rows { consumed, .. } => *consumed,
        }
    }
}

/// A Parquet file's row groups, grouped into slices of about `slice_bytes`
/// of decoded data (a larger row group is a slice alone).
pub(super) fn row_slices(path: &Path, slice_bytes: usize) -> Result<Vec<RowSlice>, DataError> {
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

/// Counts the bytes read through it (the compressed bytes, under gzip).
pub(super) struct Counted<R> {
    pub(super) inner: R,
    pub(super) count: Arc<AtomicU64>,
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
pub(super) struct Pieces {
    pub(super) reader: Box<dyn Read>,
    pub(super) consumed: Arc<AtomicU64>,
    /// The start of a line that did not fit in the last piece.
    pub(super) carry: Vec<u8>,
    pub(super) quote: Option<u8>,
    pub(super) skip_header: bool,
    pub(super) eof: bool,
    pub(super) piece_bytes: usize,
    pub(super) spare: Spare,
    /// Lines of the file handed out so far (the header's included).
    pub(super) lines: u64,
}

impl Pieces {
    pub(super) fn open(
        path: &Path,
        text: TextFormat,
        piece_bytes: usize,
        spare: Spare,
    ) -> io::Result<Pieces> {
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
    pub(super) fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// The next piece, or `None` at the end of the file.
    pub(super) fn next(&mut self) -> io::Result<Option<Piece>> {
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

    pub(super) fn next_piece(&mut self) -> io::Result<Option<Vec<u8>>> {
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
pub(super) fn newlines_within(bytes: &[u8], first_line: u64) -> io::Result<u64> {
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
pub(super) fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// The first newline of `buf` that ends a line: outside quotes when `quote`
/// is set (a doubled quote inside a quoted field toggles twice and nets out).
pub(super) fn first_line_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
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
pub(super) fn last_line_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
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
