//! Data probes: read tabular files lazily with polars, infer a schema from
//! them, and validate them against a schema.
//!
//! [`read`] turns a path into a `LazyFrame`; [`schema`] is the YAML schema
//! format; [`infer`] and [`validate`] each run one aggregation pass over the
//! data (plus tiny example queries for the rules that failed).

pub mod infer;
pub mod pattern;
pub mod progress;
pub mod read;
pub mod schema;
pub mod shown;
pub mod skew;
pub mod validate;

use miette::Diagnostic;

/// An error reading a data file or a schema; the command exits with code 2.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum DataError {
    /// The file could not be opened or parsed.
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(code(mlscore::data::read))]
    Read {
        path: String,
        reason: String,
        #[help]
        help: String,
    },

    /// The file's extension names no format mlscore reads.
    #[error("cannot read {path}: unknown data format")]
    #[diagnostic(
        code(mlscore::data::format),
        help("name the file .csv, .tsv, .csv.gz, .tsv.gz, .parquet, .jsonl or .ndjson")
    )]
    Format { path: String },

    /// The schema file is not a valid schema.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Schema(crate::yaml_span::YamlError),

    /// The inferred schema could not be written.
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(
        code(mlscore::data::write),
        help("check that the folder exists and is writable")
    )]
    Write { path: String, reason: String },
}
