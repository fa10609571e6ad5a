//! Running a probe's polars query: streamed, with errors that name the file.

use polars::prelude::*;

use super::Unrunnable;

/// Collects `query` with the streaming engine, so a probe over a large file
/// holds batches rather than the whole file.
pub fn collect(file: &str, query: LazyFrame) -> Result<DataFrame, Unrunnable> {
    query.collect_with_engine(Engine::Streaming).map_err(|err| {
        Unrunnable::from(crate::probes::data::read::read_error(
            std::path::Path::new(file),
            &err,
        ))
    })
}

/// The first value of column `alias`, or null.
pub fn scalar(frame: &DataFrame, alias: &str) -> AnyValue<'static> {
    frame
        .column(alias)
        .ok()
        .and_then(|c| c.get(0).ok())
        .map(|v| v.into_static())
        .unwrap_or(AnyValue::Null)
}
