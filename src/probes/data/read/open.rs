//! Opening a data file: its format, a lazy scan, the checks made before
//! polars reads it (line length, date columns, wide integers), and read errors.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use polars_buffer::Buffer;

use super::super::DataError;

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
pub(super) fn line_too_long(line: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("line {line} is longer than {} MiB", MAX_LINE_BYTES >> 20),
    )
}

/// Checks that a text file's first line ends within [`MAX_LINE_BYTES`] before
/// polars reads it: a CSV header of millions of columns, or a first JSON
/// record of 64 MB, is parsed whole to learn the columns.
pub(super) fn check_first_line(path: &Path) -> io::Result<()> {
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
pub(super) const INFER_ROWS: usize = 10_000;

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
pub(super) fn date_columns(frame: &mut LazyFrame) -> PolarsResult<Option<Schema>> {
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

/// Whether `path` holds a run of 19 or more digits anywhere: an integer that
/// may not fit polars' inferred `Int64`. polars infers types from the first
/// rows, so a 23-digit value further down failed the whole read; the bytes
/// are looked at once (a plain byte loop, far cheaper than polars' parse),
/// and the columns are checked only for the files that hold such a run.
pub(super) fn has_long_digit_run(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut reader: Box<dyn Read> = match sniff(path) {
        Ok(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        _ => Box::new(file),
    };
    let mut buffer = vec![0u8; 1 << 20];
    // The run carries over from one read to the next.
    let mut run = 0;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        for &b in &buffer[..n] {
            run = if b.is_ascii_digit() { run + 1 } else { 0 };
            if run >= 19 {
                return true;
            }
        }
    }
}

/// The schema with every `Int64` column whose values do not all fit an i64
/// typed `Float64`, as polars types a column mixing integers and floats;
/// `None` when no column changes. polars infers `Int64` for any run of digits
/// and then fails to parse a 23-digit one. Every row is looked at, in one
/// streamed pass that counts, per column, the values that do not parse.
pub(super) fn widen_big_integers(
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
    let misfits = reader(Some(Arc::new(as_text)))?
        .select(
            ints.iter()
                .map(|name| {
                    let text = col(name.clone());
                    let parsed = text
                        .clone()
                        .str()
                        .strip_chars(lit(NULL))
                        .cast(DataType::Int64);
                    text.is_not_null()
                        .and(parsed.is_null())
                        .sum()
                        .alias(name.clone())
                })
                .collect::<Vec<_>>(),
        )
        .collect_with_engine(Engine::Streaming)?;
    let mut any = false;
    for column in misfits.columns() {
        let count = column
            .get(0)
            .ok()
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0);
        if count > 0 {
            schema.set_dtype(column.name(), DataType::Float64);
            any = true;
        }
    }
    Ok(any.then_some(schema))
}

/// Whether a text value could be a date, a datetime or a time in one of the
/// formats polars infers (all start with a digit and separate their parts).
pub(super) fn looks_like_date(value: &str) -> bool {
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
pub(super) const RAGGED_HELP: &str =
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

/// How a file is compressed, from its first bytes (as polars decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    Gzip,
    /// zstd or zlib: left to polars.
    Other,
}

pub(super) fn sniff(path: &Path) -> io::Result<Compression> {
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

/// An I/O error while reading `path` in pieces.
pub(super) fn io_error(path: &Path, err: &io::Error) -> DataError {
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
