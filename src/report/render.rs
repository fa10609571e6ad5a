//! One entry point for every format, so commands never pick renderers by hand.

use std::path::PathBuf;

use super::{github, human, junit, markdown, sarif, Report};
use crate::cli::Format;

/// What renderers may need beyond the report.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// Colour the human report.
    pub color: bool,
    /// The scanned repository, where `.mlscore/templates/` may override templates.
    pub repo_root: Option<PathBuf>,
    /// Prefix for links to files, e.g. `https://github.com/o/r/blob/<sha>/`.
    pub link_base: Option<String>,
    /// Show the metric diff first (the `diff` command's human view).
    pub metrics_first: bool,
}

/// A template that failed to load or render.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("template {name}: {message}")]
#[diagnostic(
    code(mlscore::template),
    help("fix the template, or delete it to use mlscore's own")
)]
pub struct RenderError {
    pub name: String,
    pub message: String,
}

/// Renders the report in one format.
pub fn render(format: Format, report: &Report, ctx: &RenderContext) -> Result<String, RenderError> {
    Ok(match format {
        Format::Human => human::render_with(report, ctx),
        Format::Json => crate::text::inert::json(&report.to_json()).into_owned() + "\n",
        Format::Markdown => markdown::render(markdown::Kind::Comment, report, ctx)?,
        Format::Summary => markdown::render(markdown::Kind::Summary, report, ctx)?,
        Format::Sarif => crate::text::inert::json(&sarif::render(report)).into_owned(),
        Format::Junit => junit::render(report),
        Format::Github => github::render(report),
    })
}
