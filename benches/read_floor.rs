//! The floor under `mlscore check`'s time on a tree: walk it and read every
//! file once, on every core, and do nothing with the bytes. What is left
//! between this and mlscore is mlscore's own work; this part is the kernel's
//! (open, read, close of each file, a listing of each folder), and it moves
//! with the machine's hour while mlscore's own work does not.
//!
//! Built by `benches/check_shapes.sh` with `rustc -O` (std only, no crates):
//!     read_floor TREE   prints "files bytes seconds"
//!
//! It does the least mlscore does per file: a folder is listed once and
//! opened once, each file in it is opened by name relative to the folder
//! (`openat`, as mlscore does), read with as few `read` calls as its size
//! allows, and closed. `.git` is skipped, as mlscore skips it. Linux only.

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
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: read_floor TREE");
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
                while let Some(dir) = queue.next() {
                    let mut subdirs = Vec::new();
                    let (n, b) = read_folder(&dir, &mut subdirs, &mut buf);
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
fn read_folder(dir: &PathBuf, subdirs: &mut Vec<PathBuf>, buf: &mut [u8]) -> (u64, u64) {
    let (Ok(list), Ok(handle)) = (std::fs::read_dir(dir), File::open(dir)) else {
        return (0, 0);
    };
    let (mut files, mut bytes) = (0, 0);
    for entry in list.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let name = entry.file_name();
        if kind.is_dir() {
            if name != ".git" {
                subdirs.push(entry.path());
            }
        } else if kind.is_file() {
            let Ok(c_name) = CString::new(name.as_bytes()) else {
                continue;
            };
            // SAFETY: a live folder descriptor and a NUL-terminated name.
            let fd = unsafe { openat(handle.as_raw_fd(), c_name.as_ptr(), 0) };
            if fd < 0 {
                continue;
            }
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
            files += 1;
        }
    }
    (files, bytes)
}
