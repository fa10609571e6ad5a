//! How long the allocator keeps freed memory. mimalloc 3 holds freed pages
//! for a second before it gives them back; a scan frees a file's parsed lines
//! as soon as the file is read, so on a 100,000-file tree a second's worth of
//! freed pages was 40 MB of peak RSS. Ten milliseconds (mimalloc 2's default)
//! returns them within the phase that freed them, at no measurable cost in
//! time (README, Performance). `MIMALLOC_PURGE_DELAY` still wins when set.
//!
//! And whether it asks for transparent huge pages: with them, the first
//! touch of each 2 MiB region makes the kernel clear all of it, which was a
//! seventh of the CPU time of a 100,000-file scan, for 25 MB more peak RSS
//! and no time won back. `MIMALLOC_ALLOW_THP=1` turns them back on.

use std::ffi::{c_int, c_long};

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys
/// does not name it); `purge_delay_is_the_option_we_think` checks it.
const PURGE_DELAY: c_int = 15;
const PURGE_DELAY_MS: c_long = 10;
/// `mi_option_allow_thp`, likewise checked by `allow_thp_is_the_option_we_think`.
const ALLOW_THP: c_int = 43;

extern "C" {
    fn mi_option_set_default(option: c_int, value: c_long);
}

/// Sets mlscore's allocator options; call first thing in `main`.
pub fn tune() {
    // Names the crate so that it is linked into every binary of the library
    // (its tests too), not only into `mlscore`, which installs it.
    let _ = mimalloc::MiMalloc;
    // SAFETY: writes two entries of mimalloc's option table, before any
    // other thread exists.
    unsafe {
        mi_option_set_default(PURGE_DELAY, PURGE_DELAY_MS);
        mi_option_set_default(ALLOW_THP, 0);
    }
    // mimalloc reserved (and advised huge pages for) its first arena before
    // `main`, when the option was still on; the kernel's per-process switch
    // also covers that arena's pages not yet touched.
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: prctl with integer arguments only; it sets a flag of this
        // process and fails harmlessly on kernels without it.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
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

    /// `mi_option_allow_thp` defaults to 1 and sits between two options
    /// that default to 32 (page_cross_thread_max_reclaim) and 0
    /// (minimal_purge_size): a renumbering shows as another value here.
    #[test]
    fn allow_thp_is_the_option_we_think() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        // SAFETY: reads three entries of mimalloc's option table.
        let (before, it, after) = unsafe {
            (
                mi_option_get(super::ALLOW_THP - 1),
                mi_option_get(super::ALLOW_THP),
                mi_option_get(super::ALLOW_THP + 1),
            )
        };
        assert_eq!((before, it, after), (32, 1, 0));
    }
}
