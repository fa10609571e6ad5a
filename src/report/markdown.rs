//! Markdown reports rendered with minijinja templates (PR comment, job summary).

use super::render::{RenderContext, RenderError};
use super::Report;

/// Which Markdown report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The sticky pull-request comment.
    Comment,
    /// The CI job summary.
    Summary,
}

/// Renders a Markdown report.
pub fn render(kind: Kind, report: &Report, ctx: &RenderContext) -> Result<String, RenderError> {
    let _ = (kind, report, ctx);
    unimplemented!("renderer helper writes this")
}
