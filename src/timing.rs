//! Phase timings on stderr when `MLSCORE_TIMINGS` is set: for profiling large
//! repositories without a profiler (and without rebuilding with debug info).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MLSCORE_TIMINGS").is_some())
}

/// Runs `work`, printing how long it took under `name` when timings are on.
/// Sub-phases are indented under the phase that contains them.
pub fn span<T>(name: &str, work: impl FnOnce() -> T) -> T {
    if !enabled() {
        return work();
    }
    let start = Instant::now();
    let out = work();
    eprintln!(
        "mlscore timing:   {name:<24} {:>8.1} ms  peak RSS {}",
        start.elapsed().as_secs_f64() * 1e3,
        peak_rss()
    );
    out
}

/// A stopwatch for the top-level phases of a run.
pub struct Timer {
    start: Instant,
}

impl Timer {
    pub fn new() -> Timer {
        Timer {
            start: Instant::now(),
        }
    }

    /// Prints the time since the last lap under `phase`.
    pub fn lap(&mut self, phase: &str) {
        if enabled() {
            eprintln!(
                "mlscore timing: {phase:<10} {:>8.1} ms  peak RSS {}",
                self.start.elapsed().as_secs_f64() * 1e3,
                peak_rss()
            );
            self.start = Instant::now();
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

/// The process's peak resident set so far, where the OS says (Linux).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
