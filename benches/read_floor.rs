//! The floor under `mlscore check`'s time on a tree: walk it and read every
//! file once, on every core, and do nothing with the bytes. What is left
//! between this and mlscore is mlscore's own work; this part is the kernel's
//! (open, read, close of each file, a listing of each folder), and it moves
//! with the machine's hour while mlscore's own work does not.
//!
//! Built by `benches/check_shapes.sh` (a bench target without a harness):
//!     read_floor TREE [calls|io_uring]   prints "files bytes seconds"
//!
//! It does the least mlscore does per file: a folder is listed once and
//! opened once, and each file in it is opened by name relative to the
//! folder, read whole, and closed. `.git` is skipped, as mlscore skips it.
//! `calls` does that with three system calls per file (`openat`, `read`,
//! `close`), as mlscore reads files outside its batches; `io_uring` (the
//! default, where the kernel has it) hands the kernel those three steps for
//! a folder's files, [`BATCH`] at a time, in one call, as mlscore reads its
//! sources. Linux only.

use std::ffi::{c_char, c_int, c_void, CString};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

extern "C" {
    fn openat(dirfd: c_int, path: *const c_char, flags: c_int, ...) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    fn close(fd: c_int) -> c_int;
}

/// Folders not yet listed, and how many threads are listing one (the walk
/// ends when both are zero).
struct Queue {
    state: Mutex<(Vec<PathBuf>, usize)>,
    more: Condvar,
}

impl Queue {
    fn next(&self) -> Option<PathBuf> {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(dir) = state.0.pop() {
                state.1 += 1;
                return Some(dir);
            }
            if state.1 == 0 {
                return None;
            }
            state = self.more.wait(state).unwrap();
        }
    }

    fn done(&self, found: Vec<PathBuf>) {
        let mut state = self.state.lock().unwrap();
        state.0.extend(found);
        state.1 -= 1;
        self.more.notify_all();
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let root = args
        .next()
        .map(PathBuf::from)
        .expect("usage: read_floor TREE [calls|io_uring]");
    let batched = match args.next().as_deref().and_then(|a| a.to_str()) {
        None | Some("io_uring") => uring::available(),
        Some("calls") => false,
        Some(other) => panic!("unknown way to read: {other}"),
    };
    let queue = Queue {
        state: Mutex::new((vec![root], 0)),
        more: Condvar::new(),
    };
    let (files, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                let mut ring = if batched { uring::Ring::new() } else { None };
                while let Some(dir) = queue.next() {
                    let mut subdirs = Vec::new();
                    let (n, b) = read_folder(&dir, &mut subdirs, &mut buf, ring.as_mut());
                    files.fetch_add(n, Ordering::Relaxed);
                    bytes.fetch_add(b, Ordering::Relaxed);
                    queue.done(subdirs);
                }
            });
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} {} {seconds:.4}",
        files.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed)
    );
}

/// Reads every regular file of `dir`, and notes its subfolders (symbolic
/// links are not followed). Returns the files read and their bytes.
fn read_folder(
    dir: &PathBuf,
    subdirs: &mut Vec<PathBuf>,
    buf: &mut [u8],
    ring: Option<&mut uring::Ring>,
) -> (u64, u64) {
    let (Ok(list), Ok(handle)) = (std::fs::read_dir(dir), File::open(dir)) else {
        return (0, 0);
    };
    let mut names = Vec::new();
    for entry in list.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        if kind.is_dir() {
            if name != ".git" {
                subdirs.push(entry.path());
            }
        } else if kind.is_file() {
            if let Ok(c_name) = CString::new(name.as_bytes()) {
                names.push(c_name);
            }
        }
    }
    match ring {
        Some(ring) => names
            .chunks(BATCH)
            .map(|chunk| ring.read(handle.as_raw_fd(), chunk, buf))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        None => names
            .iter()
            .map(|name| read_file(handle.as_raw_fd(), name, buf))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
    }
}

/// One file by three system calls: (files read, bytes).
fn read_file(dir: c_int, name: &CString, buf: &mut [u8]) -> (u64, u64) {
    // SAFETY: a live folder descriptor and a NUL-terminated name.
    let fd = unsafe { openat(dir, name.as_ptr(), 0) };
    if fd < 0 {
        return (0, 0);
    }
    let mut bytes = 0;
    loop {
        // SAFETY: `buf` is writable for its whole length.
        let n = unsafe { read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        bytes += n as u64;
        if (n as usize) < buf.len() {
            break;
        }
    }
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { close(fd) };
    (1, bytes)
}

/// Files handed to the kernel in one call, as mlscore does.
const BATCH: usize = 32;

/// Elsewhere, files are read by three calls each.
#[cfg(not(target_os = "linux"))]
mod uring {
    pub fn available() -> bool {
        false
    }

    pub enum Ring {}

    impl Ring {
        pub fn new() -> Option<Ring> {
            None
        }

        pub fn read(
            &mut self,
            _: std::ffi::c_int,
            _: &[std::ffi::CString],
            _: &mut [u8],
        ) -> (u64, u64) {
            match *self {}
        }
    }
}

#[cfg(target_os = "linux")]
mod uring {
    use super::{read_file, BATCH};
    use io_uring::{opcode, squeue, types, IoUring};
    use std::ffi::{c_int, CString};

    /// Each file's buffer; a file that fills it is read the other way.
    const SLOT: usize = 64 * 1024;

    pub fn available() -> bool {
        Ring::new().is_some()
    }

    /// A ring with a fixed-file table of one slot per file of a batch, so
    /// that each open, read and close can be chained, and their buffers.
    pub struct Ring {
        ring: IoUring,
        buffers: Vec<u8>,
    }

    impl Ring {
        pub fn new() -> Option<Ring> {
            let ring = IoUring::builder().build((BATCH * 4) as u32).ok()?;
            ring.submitter().register_files_sparse(BATCH as u32).ok()?;
            Some(Ring {
                ring,
                buffers: vec![0; BATCH * SLOT],
            })
        }

        /// Reads `names` (at most [`BATCH`]) of folder `dir`: (files, bytes).
        pub fn read(&mut self, dir: c_int, names: &[CString], buf: &mut [u8]) -> (u64, u64) {
            {
                let mut sq = self.ring.submission();
                for (slot, name) in names.iter().enumerate() {
                    let fixed = types::Fixed(slot as u32);
                    let target = types::DestinationSlot::try_from_slot_target(slot as u32)
                        .expect("a slot of the table");
                    let tag = slot as u64 * 3;
                    let buffer = self.buffers[slot * SLOT..].as_mut_ptr();
                    let entries = [
                        opcode::OpenAt::new(types::Fd(dir), name.as_ptr())
                            .file_index(Some(target))
                            .build()
                            .flags(squeue::Flags::IO_LINK)
                            .user_data(tag),
                        opcode::Read::new(fixed, buffer, SLOT as u32)
                            .offset(0)
                            .build()
                            .flags(squeue::Flags::IO_HARDLINK)
                            .user_data(tag + 1),
                        opcode::Close::new(fixed).build().user_data(tag + 2),
                    ];
                    // SAFETY: names, folder and buffers outlive the wait below.
                    unsafe { sq.push_multiple(&entries) }.expect("room for a batch");
                }
            }
            let queued = names.len() * 3;
            self.ring.submit_and_wait(queued).expect("the ring answers");
            let (mut files, mut bytes) = (0, 0);
            let mut answered = 0;
            while answered < queued {
                for cqe in self.ring.completion() {
                    answered += 1;
                    let (slot, step) = ((cqe.user_data() / 3) as usize, cqe.user_data() % 3);
                    let n = cqe.result();
                    if step != 1 || n < 0 {
                        continue;
                    }
                    if n as usize == SLOT {
                        // Larger than a slot: read again whole, as mlscore does.
                        let (f, b) = read_file(dir, &names[slot], buf);
                        files += f;
                        bytes += b;
                    } else {
                        files += 1;
                        bytes += n as u64;
                    }
                }
                if answered < queued {
                    self.ring
                        .submit_and_wait(queued - answered)
                        .expect("the ring answers");
                }
            }
            (files, bytes)
        }
    }
}
