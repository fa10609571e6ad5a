//! How long the allocator keeps freed memory. mimalloc 3 holds freed pages
//! for a second before it gives them back; a scan frees a file's parsed lines
//! as soon as the file is read, so on a 100,000-file tree a second's worth of
//! freed pages was 40 MB of peak RSS. Ten milliseconds (mimalloc 2's default)
//! returns them within the phase that freed them, at no measurable cost in
//! time (README, Performance). `MIMALLOC_PURGE_DELAY` still wins when set.

use std::ffi::{c_int, c_long};

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys
/// does not name it); `purge_delay_is_the_option_we_think` checks it.
const PURGE_DELAY: c_int = 15;
const PURGE_DELAY_MS: c_long = 10;

extern "C" {
    fn mi_option_set_default(option: c_int, value: c_long);
}

/// Sets mlscore's allocator options; call first thing in `main`.
pub fn tune() {
    // Names the crate so that it is linked into every binary of the library
    // (its tests too), not only into `mlscore`, which installs it.
    let _ = mimalloc::MiMalloc;
    // SAFETY: writes one entry of mimalloc's option table, before any other
    // thread exists.
    unsafe { mi_option_set_default(PURGE_DELAY, PURGE_DELAY_MS) }
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_int, c_long};

    extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
    }

    /// mimalloc 3's purge delay defaults to 1,000 ms and is the only option
    /// with that default: if an upgrade renumbers the options, this fails
    /// rather than `tune` quietly setting something else.
    #[test]
    fn purge_delay_is_the_option_we_think() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // The library's tests do not run `tune`, nor use mimalloc as the
        // global allocator; the table is still linked and readable.
        // SAFETY: reads one entry of mimalloc's option table.
        assert_eq!(unsafe { mi_option_get(super::PURGE_DELAY) }, 1000);
    }
}
