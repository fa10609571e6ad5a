//! What renderers may need beyond the report: where they print, and where the
//! repository and its files are.

use std::path::PathBuf;

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
