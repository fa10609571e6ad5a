//! Progress on standard error for long scans: the file, its size, the rows
//! streamed so far and the elapsed time; once bytes are counted (text files
//! are read in pieces, see [`super::read::Source`]) a bar with the share read
//! and the time left.
//!
//! Polars has no per-row callback, so rows are counted by
//! [`Progress::count_rows`], an expression that passes a column through
//! unchanged and advances the count by each batch's length as the streaming
//! engine evaluates it.
//!
//! It only draws when standard error is a terminal (and `TERM` is not `dumb`):
//! piped output, CI logs and tests never see it. It uses no colour, so
//! `NO_COLOR` has nothing to turn off, and it clears its line when the scan
//! ends, before the report is printed.
//!
//! ```ignore
//! let bar = Progress::start(&format!("validating {}", path.display()), bytes);
//! let counted = bar.count_rows(col("id")); // use it in the query's aggregates
//! // ... source.aggregate(&aggregates, &bar)? ...
//! bar.finish();
//! ```

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use polars::prelude::Expr;

/// How often the spinner redraws.
const TICK: Duration = Duration::from_millis(120);

/// Before any byte count is known: a spinner.
const SPINNER: &str = "{spinner} {prefix} ({total}) · {msg} · {elapsed}";
/// Once bytes are counted: a bar (as wide as the terminal leaves room for)
/// with the share read and the time left.
const BAR: &str =
    "{spinner} {prefix} [{wide_bar}] {bytes}/{total_bytes} · {msg} · {elapsed} ({eta} left)";

/// A running scan's spinner. Hidden when standard error is not a terminal;
/// cleared when finished or dropped (so an error path leaves no stray line).
pub struct Progress {
    bar: ProgressBar,
    rows: Arc<AtomicU64>,
    /// Whether the bar style is on (bytes have been counted).
    bar_style: AtomicBool,
}

impl Progress {
    /// Starts a spinner reading "`label` (`bytes`)", `bytes` being the file's
    /// size on disk.
    pub fn start(label: &str, bytes: u64) -> Progress {
        let bar = if visible() {
            ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(style(
            &SPINNER.replace("{total}", &HumanBytes(bytes).to_string()),
        ));
        bar.set_prefix(label.to_string());
        bar.set_message("0 rows");
        if !bar.is_hidden() {
            bar.enable_steady_tick(TICK);
        }
        Progress {
            bar,
            rows: Arc::new(AtomicU64::new(0)),
            bar_style: AtomicBool::new(false),
        }
    }

    /// `expr` unchanged, but every batch of rows it evaluates advances the
    /// row count. Use it on exactly one full-length column of the query, in
    /// an aggregate that reads every row (a `null_count`, say).
    pub fn count_rows(&self, expr: Expr) -> Expr {
        let bar = self.bar.clone();
        let rows = Arc::clone(&self.rows);
        super::read::tap(expr, move |column| {
            advance(&bar, &rows, column.len() as u64);
            Ok(())
        })
    }

    /// Advances the row count by a batch of `rows` rows, for passes that
    /// see their batches (such as a sink's callback).
    pub fn add_rows(&self, rows: u64) {
        advance(&self.bar, &self.rows, rows);
    }

    /// Sets how many bytes of the file have been read; the spinner becomes a
    /// bar with the time left.
    pub fn set_bytes(&self, bytes: u64) {
        if !self.bar_style.swap(true, Ordering::Relaxed) {
            self.bar.set_style(style(BAR));
        }
        self.bar.set_position(bytes);
    }

    /// Rows counted so far.
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Clears the spinner's line.
    pub fn finish(self) {
        // Drop does the work; this names the end of the scan at the call site.
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn advance(bar: &ProgressBar, rows: &AtomicU64, batch: u64) {
    let seen = rows.fetch_add(batch, Ordering::Relaxed) + batch;
    if !bar.is_hidden() {
        bar.set_message(format!("{} rows", HumanCount(seen)));
    }
}

/// A style from a template known to be valid (a broken one would only lose
/// the formatting, never the scan).
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

/// Whether a spinner may draw: standard error is a terminal that can redraw a line.
fn visible() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn counting_rows_passes_values_through() {
        let bar = Progress::start("test", 10);
        let df = df!("a" => [1i64, 2, 3, 4]).unwrap();
        let out = df
            .lazy()
            .select([bar.count_rows(col("a")).sum().alias("sum")])
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        assert_eq!(
            out.column("sum").unwrap().get(0).unwrap(),
            AnyValue::Int64(10)
        );
        assert_eq!(bar.rows(), 4);
        bar.add_rows(6);
        assert_eq!(bar.rows(), 10);
        bar.set_bytes(10);
        bar.finish();
    }
}
