//! Reading many small files with few system calls (Linux's io_uring).
//!
//! On a tree of 100,000 small files the kernel's share of a check is most of
//! it, and a sixth of that share was crossing into the kernel and back: three
//! crossings per file (open, read, close), each paying this machine's
//! speculative-execution mitigations. Here a thread hands the kernel the
//! open, read and close of up to [`BATCH`] files of one run of folders in one
//! call, chained so the read uses what the open opened: one crossing per
//! batch. (The read floor of `benches/` fell from 0.37-0.51 s to 0.31-0.40 s
//! on that tree this way.)
//!
//! Only what is certain is taken from a batch: a file whose read came back
//! shorter than asked, which is therefore whole. Anything else (a failed open
//! or read, a file that filled its buffer) is read again by the caller the
//! ordinary way, so errors, size caps and large files behave exactly as
//! there. Where io_uring cannot be set up (another system, a kernel before
//! 5.19, a container whose seccomp profile forbids it) or its opens are
//! refused as unknown, nothing is read here at all.

use std::path::Path;

/// Files handed to the kernel in one call.
pub(super) const BATCH: usize = 32;

/// For each of `paths` (relative to `root`, in path order), its bytes when
/// the file was read whole in fewer than `first` bytes; `None` where the
/// caller must read it itself. All `None` where io_uring is not available.
pub(super) fn read_small(root: &Path, paths: &[&str], first: usize) -> Vec<Option<Vec<u8>>> {
    #[cfg(target_os = "linux")]
    if let Some(read) = linux::read_small(root, paths, first) {
        return read;
    }
    let _ = (root, first);
    paths.iter().map(|_| None).collect()
}

#[cfg(target_os = "linux")]
mod linux {
    use super::BATCH;
    use crate::repo::open::linux::folder_handle;
    use io_uring::{opcode, squeue, types, IoUring};
    use std::cell::RefCell;
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Bytes of each file's buffer; a file that fills it is left to the caller.
    const SLOT: usize = 64 * 1024;

    /// Set when a ring could not be made: no thread tries again.
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    /// A thread's ring, its table of fixed file slots (one per file of a
    /// batch: the open puts the file there, the read and the close find it
    /// there, so the three can be chained), and one buffer per slot.
    struct Ring {
        ring: IoUring,
        buffers: Box<[u8]>,
    }

    /// Whether a ring could not be made on this system.
    #[cfg(test)]
    pub(super) fn unavailable() -> bool {
        UNAVAILABLE.load(Ordering::Relaxed)
    }

    thread_local! {
        static RING: RefCell<Option<Ring>> = const { RefCell::new(None) };
    }

    impl Ring {
        fn new() -> Option<Ring> {
            // No setup flags: each needs a newer kernel than the fixed-file
            // opens (5.19), and none pays for itself here.
            let ring = IoUring::builder().build((BATCH * 4) as u32).ok()?;
            ring.submitter().register_files_sparse(BATCH as u32).ok()?;
            Some(Ring {
                ring,
                buffers: vec![0; BATCH * SLOT].into_boxed_slice(),
            })
        }
    }

    pub(super) fn read_small(
        root: &Path,
        paths: &[&str],
        first: usize,
    ) -> Option<Vec<Option<Vec<u8>>>> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return None;
        }
        RING.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = Ring::new();
                if cell.is_none() {
                    UNAVAILABLE.store(true, Ordering::Relaxed);
                    return None;
                }
            }
            let ring = cell.as_mut()?;
            let first = first.min(SLOT);
            let mut out = Vec::with_capacity(paths.len());
            for chunk in paths.chunks(BATCH) {
                if UNAVAILABLE.load(Ordering::Relaxed) {
                    out.resize_with(paths.len(), || None);
                    break;
                }
                if !read_batch(ring, root, chunk, first, &mut out) {
                    // The kernel may still write into this ring's buffers:
                    // they are never freed, and no thread uses a ring again.
                    UNAVAILABLE.store(true, Ordering::Relaxed);
                    std::mem::forget(cell.take());
                    out.resize_with(paths.len(), || None);
                    break;
                }
            }
            Some(out)
        })
    }

    /// One call into the kernel for `paths` (at most [`BATCH`]); `false`
    /// when the ring failed with entries still in flight.
    fn read_batch(
        ring: &mut Ring,
        root: &Path,
        paths: &[&str],
        first: usize,
        out: &mut Vec<Option<Vec<u8>>>,
    ) -> bool {
        let start = out.len();
        out.extend(paths.iter().map(|_| None));
        // Names and folder handles live until the kernel has answered.
        let mut names: Vec<Option<CString>> = Vec::with_capacity(paths.len());
        let mut folders: Vec<(&str, Option<OwnedFd>)> = Vec::new();
        let mut folder_of = Vec::with_capacity(paths.len());
        for path in paths {
            let (folder, name) = crate::text::path::split(path);
            if folders.last().is_none_or(|(f, _)| *f != folder) {
                folders.push((folder, folder_handle(root, folder)));
            }
            folder_of.push(folders.len() - 1);
            names.push(CString::new(name).ok());
        }
        let mut queued = 0;
        {
            let Ring { ring, buffers } = ring;
            let mut sq = ring.submission();
            for (slot, name) in names.iter().enumerate() {
                let (Some(name), Some(dir)) = (name, &folders[folder_of[slot]].1) else {
                    continue;
                };
                let fixed = types::Fixed(slot as u32);
                let Ok(target) = types::DestinationSlot::try_from_slot_target(slot as u32) else {
                    continue;
                };
                let buffer = buffers[slot * SLOT..][..first].as_mut_ptr();
                let tag = slot as u64 * 3;
                let open = opcode::OpenAt::new(types::Fd(dir.as_raw_fd()), name.as_ptr())
                    .flags(libc::O_RDONLY)
                    .file_index(Some(target))
                    .build()
                    .flags(squeue::Flags::IO_LINK)
                    .user_data(tag);
                let read = opcode::Read::new(fixed, buffer, first as u32)
                    .offset(0)
                    .build()
                    .flags(squeue::Flags::IO_HARDLINK)
                    .user_data(tag + 1);
                let close = opcode::Close::new(fixed).build().user_data(tag + 2);
                // SAFETY: the name, the folder handle and the buffer outlive
                // the call below, which waits for every entry pushed here.
                let pushed = unsafe { sq.push_multiple(&[open, read, close]) };
                if pushed.is_err() {
                    break;
                }
                queued += 3;
            }
        }
        if queued == 0 {
            return true;
        }
        let Ring { ring, buffers } = ring;
        let mut answered = 0;
        while answered < queued {
            match ring.submit_and_wait(queued - answered) {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            for cqe in ring.completion() {
                answered += 1;
                let (slot, step) = ((cqe.user_data() / 3) as usize, cqe.user_data() % 3);
                let n = cqe.result();
                if step == 1 && n >= 0 && (n as usize) < first {
                    out[start + slot] = Some(buffers[slot * SLOT..][..n as usize].to_vec());
                }
                // A kernel (or a sandbox's imitation of one) that has rings
                // but not these opens would fail every batch: give up on it.
                if step == 0 && (n == -libc::EINVAL || n == -libc::EOPNOTSUPP) {
                    UNAVAILABLE.store(true, Ordering::Relaxed);
                }
            }
        }
        true
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Files across folders and past a batch's end come back whole when
    /// they were shorter than asked; a file that filled its buffer, one that
    /// is missing, one in a missing folder and a name the kernel cannot take
    /// are left to the caller. Where the kernel offers no io_uring (a
    /// sandbox), everything is left to the caller.
    #[test]
    fn reads_what_is_certain_and_leaves_the_rest_to_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut expected: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        for folder in ["", "a", "a/b", "c"] {
            for i in 0..15 {
                let rel = if folder.is_empty() {
                    format!("f{i:02}.py")
                } else {
                    format!("{folder}/f{i:02}.py")
                };
                let text = format!("{rel}\n").repeat(i).into_bytes();
                std::fs::create_dir_all(root.join(rel.rsplit_once('/').map_or("", |p| p.0)))
                    .unwrap();
                std::fs::write(root.join(&rel), &text).unwrap();
                expected.push((rel, Some(text)));
            }
        }
        std::fs::write(root.join("a/exact.py"), vec![b'x'; 100]).unwrap();
        std::fs::write(root.join("a/under.py"), vec![b'y'; 99]).unwrap();
        std::fs::write(root.join("c/big.py"), vec![b'z'; 200]).unwrap();
        expected.extend([
            ("a/exact.py".to_string(), None),
            ("a/gone.py".to_string(), None),
            ("a/nul\0.py".to_string(), None),
            ("a/under.py".to_string(), Some(vec![b'y'; 99])),
            ("c/big.py".to_string(), None),
            ("missing/f.py".to_string(), None),
        ]);
        // Fifteen files of up to 14 lines each fit in 100 bytes only when
        // short: the longer ones fill the buffer and are left too.
        for (_, bytes) in &mut expected {
            if bytes.as_ref().is_some_and(|b| b.len() >= 100) {
                *bytes = None;
            }
        }
        expected.sort();
        let paths: Vec<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
        let read = read_small(root, &paths, 100);
        assert_eq!(read.len(), paths.len());
        let available = read.iter().any(Option::is_some);
        for ((path, want), got) in expected.iter().zip(&read) {
            let want = if available { want } else { &None };
            assert_eq!(got, want, "{path:?}");
        }
        assert!(
            available || linux::unavailable(),
            "nothing was read, yet io_uring was not found missing"
        );
    }
}
