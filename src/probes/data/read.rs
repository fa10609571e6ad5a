//! Opens CSV/TSV (optionally gzip), Parquet and NDJSON files as polars
//! `LazyFrame`s, so aggregates stream instead of loading the file whole.

use std::path::Path;

use polars::prelude::*;

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
