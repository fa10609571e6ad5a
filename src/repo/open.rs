//! Opening a file of the working tree by its repository path. Each open of
//! `root/a/b/c.py` makes the kernel look up every component again (opening
//! was a sixth of the CPU time of a 100,000-file scan, the lookups a part of
//! it). Files are read in path order, so a thread opens its files' folder
//! once and the files inside it by name (`openat`): one component each.

use std::fs::File;
use std::io;
use std::path::Path;

/// A number for each scan of a tree: a folder handle is reused only within
/// the scan that opened it, never by a later scan that would find the
/// folder replaced (a long-lived process scanning one path twice).
pub(super) fn new_scan() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Opens `root/rel` for reading, as `File::open` would: the same symbolic
/// links followed, the same file reached. Any failure of the fast way is
/// retried by full path, so errors read exactly as `File::open`'s.
pub(super) fn open(scan: u64, root: &Path, rel: &str) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    if let Some(file) = linux::open_at(scan, root, rel) {
        return Ok(file);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = scan;
    File::open(root.join(rel))
}

#[cfg(target_os = "linux")]
pub(super) mod linux {
    use std::cell::RefCell;
    use std::ffi::{CStr, CString};
    use std::fs::File;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// The folder this thread opened last: the scan, the folder's path in
    /// the tree, and a handle on it (`O_PATH`: it only anchors lookups).
    struct Folder {
        scan: u64,
        rel: String,
        fd: OwnedFd,
    }

    thread_local! {
        static FOLDER: RefCell<Option<Folder>> = const { RefCell::new(None) };
    }

    /// `None` when the fast way cannot be taken or fails; the caller then
    /// opens by full path.
    pub(super) fn open_at(scan: u64, root: &Path, rel: &str) -> Option<File> {
        let (folder, name) = crate::text::path::split(rel);
        with_c_name(name, |name| open_in(scan, root, folder, name))?
    }

    /// `name` NUL-terminated, on the stack: a heap copy made and freed for
    /// each of 100,000 files cost more than the rest of this function's own
    /// work. (Longer names than the buffer, which the kernel refuses anyway,
    /// take the heap.) `None` for a name holding a NUL.
    fn with_c_name<R>(name: &str, then: impl FnOnce(&CStr) -> R) -> Option<R> {
        let mut buf = [0u8; 256];
        if name.len() < buf.len() {
            buf[..name.len()].copy_from_slice(name.as_bytes());
            return CStr::from_bytes_with_nul(&buf[..=name.len()])
                .ok()
                .map(then);
        }
        CString::new(name).ok().map(|name| then(&name))
    }

    /// A handle on `root/folder` that only anchors the opens inside it
    /// (`O_PATH`).
    pub(in crate::repo) fn folder_handle(root: &Path, folder: &str) -> Option<OwnedFd> {
        let path = if folder.is_empty() {
            root.to_path_buf()
        } else {
            root.join(folder)
        };
        let path = CString::new(path.as_os_str().as_bytes()).ok()?;
        // SAFETY: a NUL-terminated path and integer flags; the descriptor
        // returned is owned below.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        // SAFETY: a new descriptor nobody else owns.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn open_in(scan: u64, root: &Path, folder: &str, name: &CStr) -> Option<File> {
        FOLDER.with(|cached| {
            let mut cached = cached.borrow_mut();
            let fresh = !matches!(&*cached, Some(f) if f.scan == scan && f.rel == folder);
            if fresh {
                *cached = None;
                *cached = Some(Folder {
                    scan,
                    rel: folder.to_string(),
                    fd: folder_handle(root, folder)?,
                });
            }
            let dir = cached.as_ref()?.fd.as_raw_fd();
            // SAFETY: a live directory descriptor, a NUL-terminated name and
            // the flags `File::open` uses.
            let fd = unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            // SAFETY: as above, a new descriptor nobody else owns.
            (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read(scan: u64, root: &Path, rel: &str) -> io::Result<String> {
        let mut text = String::new();
        open(scan, root, rel)?.read_to_string(&mut text)?;
        Ok(text)
    }

    /// Files of one folder, of another, of the root, and of a second tree
    /// (another scan) whose folder has the same repository path: each is the
    /// file asked for, whatever the thread opened before; a missing file is
    /// the error `File::open` gives.
    #[test]
    fn opens_the_file_asked_for_whatever_was_opened_before() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        for (root, tag) in [(one.path(), "one"), (two.path(), "two")] {
            std::fs::create_dir_all(root.join("src/pkg")).unwrap();
            for rel in ["src/pkg/a.py", "src/pkg/b.py", "src/c.py", "top.txt"] {
                std::fs::write(root.join(rel), format!("{tag} {rel}")).unwrap();
            }
        }
        let (scan_one, scan_two) = (new_scan(), new_scan());
        let order = [
            (one.path(), "src/pkg/a.py"),
            (one.path(), "src/pkg/b.py"),
            (two.path(), "src/pkg/a.py"),
            (one.path(), "src/c.py"),
            (one.path(), "top.txt"),
            (two.path(), "top.txt"),
            (two.path(), "src/pkg/b.py"),
        ];
        for (root, rel) in order {
            let (tag, scan) = if root == one.path() {
                ("one", scan_one)
            } else {
                ("two", scan_two)
            };
            assert_eq!(read(scan, root, rel).unwrap(), format!("{tag} {rel}"));
        }
        let missing = open(scan_one, one.path(), "src/pkg/none.py").unwrap_err();
        let direct = File::open(one.path().join("src/pkg/none.py")).unwrap_err();
        assert_eq!(missing.kind(), direct.kind());
        assert!(open(scan_one, one.path(), "src/none/x.py").is_err());
    }

    /// The longest name a Linux file system takes (255 bytes) fills the
    /// name's stack buffer to its last byte; a longer one is refused as
    /// `File::open` refuses it.
    #[test]
    fn names_up_to_the_longest_open_and_longer_ones_fail_alike() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("d")).unwrap();
        let longest = format!("d/{}.py", "n".repeat(252));
        std::fs::write(root.path().join(&longest), "long").unwrap();
        let scan = new_scan();
        assert_eq!(read(scan, root.path(), &longest).unwrap(), "long");
        let longer = format!("d/{}.py", "n".repeat(300));
        let err = open(scan, root.path(), &longer).unwrap_err();
        let direct = File::open(root.path().join(&longer)).unwrap_err();
        assert_eq!(err.kind(), direct.kind());
    }

    /// A folder replaced between two scans of one path: the second scan
    /// reads the new folder, not the one the first scan's handle still names.
    #[test]
    fn a_later_scan_reads_a_replaced_folder_anew() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("d")).unwrap();
        std::fs::write(root.path().join("d/a.txt"), "old").unwrap();
        assert_eq!(read(new_scan(), root.path(), "d/a.txt").unwrap(), "old");
        std::fs::rename(root.path().join("d"), root.path().join("gone")).unwrap();
        std::fs::create_dir_all(root.path().join("d")).unwrap();
        std::fs::write(root.path().join("d/a.txt"), "new").unwrap();
        assert_eq!(read(new_scan(), root.path(), "d/a.txt").unwrap(), "new");
    }
}
