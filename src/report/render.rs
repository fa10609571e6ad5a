//! One entry point for every format, so commands never pick renderers by hand.

pub use super::context::RenderContext;
pub use super::markdown::RenderError;
use super::{github, human, junit, markdown, sarif, Report};
use crate::cli::Format;

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
