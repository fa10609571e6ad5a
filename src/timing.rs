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
    let (start, cpu) = (Instant::now(), cpu_ms());
    let out = work();
    eprintln!(
        "mlscore timing:   {name:<24} {:>8.1} ms  CPU {:>5} ms  peak RSS {}",
        start.elapsed().as_secs_f64() * 1e3,
        cpu_ms() - cpu,
        peak_rss()
    );
    out
}

/// A stopwatch for the top-level phases of a run.
pub struct Timer {
    start: Instant,
    cpu: u64,
}

impl Timer {
    pub fn new() -> Timer {
        Timer {
            start: Instant::now(),
            cpu: if enabled() { cpu_ms() } else { 0 },
        }
    }

    /// Prints the time since the last lap under `phase`.
    pub fn lap(&mut self, phase: &str) {
        if enabled() {
            let cpu = cpu_ms();
            eprintln!(
                "mlscore timing: {phase:<10} {:>8.1} ms  CPU {:>5} ms  peak RSS {}",
                self.start.elapsed().as_secs_f64() * 1e3,
                cpu - self.cpu,
                peak_rss()
            );
            (self.start, self.cpu) = (Instant::now(), cpu);
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

/// CPU time the process has used so far, user and system, in milliseconds
/// (0 where the OS does not say). Next to a phase's wall time it shows how
/// well the phase keeps the cores busy.
fn cpu_ms() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: `rusage` is plain integers, for which zero is valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes only into the struct it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
            return ms(usage.ru_utime) + ms(usage.ru_stime);
        }
    }
    0
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
