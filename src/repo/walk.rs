//! The directory walk behind [`super::RepoIndex::scan`].

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rayon::prelude::*;
use walkdir::{DirEntry, WalkDir};

use super::{FileEntry, ScanWarning, DEFAULT_MAX_FILE_SIZE};

/// What to scan beyond the defaults.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Globs of paths indexed even when `.gitignore` ignores them.
    pub include: Vec<String>,
    /// Globs of paths never indexed.
    pub exclude: Vec<String>,
    /// Files larger than this are indexed by name only.
    pub max_file_size: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{path}: no such directory")]
    NotFound { path: PathBuf },
    #[error("{path}: is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("scan glob `{glob}` is invalid: {message}")]
    BadGlob { glob: String, message: String },
}

pub(super) struct Walked {
    pub files: Vec<FileEntry>,
    pub warnings: Vec<ScanWarning>,
}

/// Directory names never worth indexing: version control, environments, caches.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    "target",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "site-packages",
    ".eggs",
    ".cache",
    ".idea",
    ".vscode",
];

/// Folders at this depth are walked side by side, one task each; the levels
/// above are walked first, on one thread. Two levels give enough tasks to keep
/// every core busy on a monorepo (`services/<team>/…`) or a `src/<pkg>/…` tree.
const SPLIT_DEPTH: usize = 2;

pub(super) fn walk(root: &Path, options: &ScanOptions) -> Result<Walked, ScanError> {
    let meta = std::fs::metadata(root).map_err(|_| ScanError::NotFound {
        path: root.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(ScanError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let walker = Walker {
        root,
        options,
        include: glob_set(&options.include)?,
        exclude: glob_set(&options.exclude)?,
        gitignore: root_gitignore(root),
        canonical_root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
    };
    let mut top = walker.subtree(root, Some(SPLIT_DEPTH));
    let below: Vec<Walked> = std::mem::take(&mut top.deferred)
        .par_iter()
        // One folder per task: folders differ in size by orders of
        // magnitude, and a core that finishes early takes the next one.
        .with_max_len(1)
        .map(|dir| {
            let mut part = walker.subtree(dir, None).walked;
            super::sort_by_path(&mut part.files);
            part
        })
        .collect();
    let mut warnings = top.walked.warnings;
    let mut parts = Vec::with_capacity(below.len());
    for part in below {
        if !part.files.is_empty() {
            parts.push(part.files);
        }
        warnings.extend(part.warnings);
    }
    let mut loose = top.walked.files;
    super::sort_by_path(&mut loose);
    let mut files = crate::par::concat(in_path_order(loose, parts));
    // Files under an ignored directory that was entered only for includes.
    if !options.include.is_empty() {
        if let Some(gi) = &walker.gitignore {
            files.retain(|f| {
                !gi.matched_path_or_any_parents(&f.path, false).is_ignore()
                    || walker.include.is_match(&f.path)
            });
        }
    }
    warnings.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Walked { files, warnings })
}

/// The folders walked side by side, each sorted on its own core, and the
/// files above them (`loose`, sorted), as runs that follow one another in
/// path order. Every path of a folder's run starts with the folder's path
/// and a `/`, and strings sharing a prefix are contiguous in sorted order:
/// no other file falls inside a run, so the runs need only be placed, not
/// merged. (Were that ever not so, the index sorts what it is given.)
fn in_path_order(mut loose: Vec<FileEntry>, mut parts: Vec<Vec<FileEntry>>) -> Vec<Vec<FileEntry>> {
    parts.sort_unstable_by(|a, b| a[0].path.cmp(&b[0].path));
    let cuts: Vec<usize> = parts
        .iter()
        .map(|part| loose.partition_point(|f| f.path < part[0].path))
        .collect();
    let mut runs = Vec::with_capacity(2 * parts.len() + 1);
    // From the back: each `split_off` then moves only the files after a
    // folder, and every file moves once.
    for (part, cut) in parts.into_iter().zip(cuts).rev() {
        runs.push(loose.split_off(cut));
        runs.push(part);
    }
    runs.push(loose);
    runs.reverse();
    runs.retain(|run| !run.is_empty());
    runs
}

/// What one walk of a subtree found, and the folders it left for others.
struct Part {
    walked: Walked,
    /// Folders at the split depth, not entered.
    deferred: Vec<PathBuf>,
}

/// The settings every subtree walk shares.
struct Walker<'a> {
    root: &'a Path,
    options: &'a ScanOptions,
    include: GlobSet,
    exclude: GlobSet,
    gitignore: Option<Gitignore>,
    canonical_root: PathBuf,
}

impl Walker<'_> {
    /// Reports and globs use `/` on every platform.
    fn relative(&self, path: &Path) -> Option<String> {
        self.relative_ref(path).map(std::borrow::Cow::into_owned)
    }

    /// [`Walker::relative`], borrowed from `path` where `/` is the
    /// separator: deciding whether to keep an entry needs no copy of it.
    fn relative_ref<'p>(&self, path: &'p Path) -> Option<std::borrow::Cow<'p, str>> {
        let rel = self.below_root(path)?.to_str()?;
        Some(if std::path::MAIN_SEPARATOR == '/' {
            rel.into()
        } else {
            rel.replace(std::path::MAIN_SEPARATOR, "/").into()
        })
    }

    /// `path` without the root. The walk builds every path by joining names
    /// to the root, so the root is a plain prefix of its bytes; comparing
    /// component by component (`Path::strip_prefix`) cost more than any other
    /// part of the walk that is not the kernel's.
    #[cfg(unix)]
    fn below_root<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        use std::os::unix::ffi::OsStrExt;
        let root = self.root.as_os_str().as_bytes();
        match path.as_os_str().as_bytes().strip_prefix(root) {
            Some(rest) if root.ends_with(b"/") => {
                Some(Path::new(std::ffi::OsStr::from_bytes(rest)))
            }
            Some([b'/', rest @ ..]) => Some(Path::new(std::ffi::OsStr::from_bytes(rest))),
            _ => path.strip_prefix(self.root).ok(),
        }
    }

    #[cfg(not(unix))]
    fn below_root<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        path.strip_prefix(self.root).ok()
    }

    fn lossy(&self, path: &Path) -> String {
        self.below_root(path)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    fn keep(&self, entry: &DirEntry, warnings: &RefCell<Vec<ScanWarning>>) -> bool {
        // The walk's own starting folder: the root, or a folder the root's
        // walk kept already. (Comparing paths component by component here
        // cost a tenth of the walk.)
        if entry.depth() == 0 {
            return true;
        }
        let is_dir = entry.file_type().is_dir();
        let Some(rel) = self.relative_ref(entry.path()) else {
            warnings.borrow_mut().push(ScanWarning {
                path: self.lossy(entry.path()),
                message: "name is not valid UTF-8; skipped (rename it to scan it)".into(),
            });
            return false;
        };
        // globset prepares a candidate from the path before it looks at
        // the set: an empty set is not asked (100,000 candidates made for
        // nothing on a tree without exclusions).
        if !self.exclude.is_empty() && self.exclude.is_match(rel.as_ref()) {
            return false;
        }
        if is_dir && is_skipped_dir(entry) {
            return false;
        }
        let ignored = self.gitignore.as_ref().is_some_and(|gi| {
            gi.matched_path_or_any_parents(rel.as_ref(), is_dir)
                .is_ignore()
        });
        // A directory ignored by .gitignore is still entered when an include glob
        // may match below it; its files are then filtered one by one.
        let may_hold_includes = is_dir && !self.options.include.is_empty();
        if ignored && !self.include.is_match(rel.as_ref()) && !may_hold_includes {
            return false;
        }
        true
    }

    /// Walks `dir` (the root or a folder the root's walk deferred), leaving
    /// folders at depth `split` below the root to the caller.
    fn subtree(&self, dir: &Path, split: Option<usize>) -> Part {
        let warnings = RefCell::new(Vec::new());
        let mut files = Vec::new();
        let mut deferred = Vec::new();
        let mut walk = WalkDir::new(dir);
        if let Some(depth) = split {
            walk = walk.max_depth(depth);
        }
        // A virtualenv under any name carries a `pyvenv.cfg`; listed first,
        // the marker is met before anything else of its folder, which is
        // then skipped whole. Reading the listing the walk makes anyway
        // replaces a look for the marker in every folder, a lookup of its
        // whole path each (197,000 of them on the monorepo bench). Sorting
        // also reads each listing whole and closes its folder at once: with
        // folders held open down a deep path, glibc gave its thread heaps
        // back to the kernel as they closed, and took them again (57,000
        // `madvise` calls, a third of the monorepo's kernel time).
        walk = walk.sort_by(|a, b| is_marker_name(b).cmp(&is_marker_name(a)));
        // Links are not followed by the walk (that would stat every entry); each
        // link is resolved here instead. A link to a folder inside the repository
        // is skipped: the folder is scanned at its own path already.
        let mut it = walk.into_iter().filter_entry(|e| self.keep(e, &warnings));
        while let Some(item) = it.next() {
            match item {
                Ok(entry) if entry.file_type().is_dir() => {
                    if split.is_some_and(|depth| entry.depth() == depth) {
                        deferred.push(entry.into_path());
                    }
                }
                // The repository's own root is scanned whatever it holds; a
                // folder walked on its own (split off the root's walk) is not.
                Ok(entry) if is_venv_marker(&entry) && (split.is_none() || entry.depth() > 1) => {
                    it.skip_current_dir();
                }
                Ok(entry) if entry.file_type().is_file() => {
                    let Some(rel) = self.relative(entry.path()) else {
                        continue;
                    };
                    files.push(FileEntry::new(rel, None));
                }
                Ok(entry) if entry.path_is_symlink() => {
                    if let Some(file) = self.link(&entry, &warnings) {
                        files.push(file);
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    let path = err.path().map(|p| self.lossy(p)).unwrap_or_default();
                    let message = match err.io_error() {
                        Some(io) => format!("could not be read ({io}); skipped"),
                        None => format!("could not be read ({err}); skipped"),
                    };
                    warnings.borrow_mut().push(ScanWarning { path, message });
                }
            }
        }
        Part {
            walked: Walked {
                files,
                warnings: warnings.into_inner(),
            },
            deferred,
        }
    }

    /// A symbolic link: the file it names when that lies in the repository.
    fn link(&self, entry: &DirEntry, warnings: &RefCell<Vec<ScanWarning>>) -> Option<FileEntry> {
        let rel = self.relative(entry.path())?;
        let warn = |message: String| {
            warnings.borrow_mut().push(ScanWarning {
                path: rel.clone(),
                message,
            })
        };
        let (meta, target) = match (
            std::fs::metadata(entry.path()),
            std::fs::canonicalize(entry.path()),
        ) {
            (Ok(meta), Ok(target)) => (meta, target),
            (Err(err), _) | (_, Err(err)) => {
                warn(format!("broken or looping symbolic link ({err}); skipped"));
                return None;
            }
        };
        if !target.starts_with(&self.canonical_root) {
            warn("symbolic link points outside the repository; not followed".into());
        } else if !super::contain::is_inside(&self.canonical_root, &target) {
            warn("symbolic link points into git's `.git` folder; not followed".into());
        } else if meta.is_file() {
            return Some(FileEntry::new(rel, Some(meta.len())));
        } else if meta.is_dir() {
            let parent = entry
                .path()
                .parent()
                .and_then(|p| std::fs::canonicalize(p).ok());
            if parent.is_some_and(|p| p.starts_with(&target)) {
                warn(format!(
                    "symbolic link loop back to `{}`; not followed",
                    self.lossy(&target).trim_start_matches('/')
                ));
            }
        }
        None
    }
}

/// Whether a repository path lies in a folder the walk would skip by name.
pub(super) fn in_skipped_dir(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts
        .iter()
        .any(|p| SKIPPED_DIRS.contains(p) || p.ends_with(".egg-info"))
}

fn is_skipped_dir(entry: &DirEntry) -> bool {
    let name = entry.file_name().to_string_lossy();
    SKIPPED_DIRS.contains(&name.as_ref()) || name.ends_with(".egg-info")
}

/// Whether `entry` is named as the marker file of a virtualenv. Read off
/// the path's last bytes: `DirEntry::file_name` parses the path's
/// components from its end, and the walk's sort asks this twice a
/// comparison (2% of a 100,000-file scan's instructions). A listed entry's
/// path is its folder's joined with its name, which holds no `/`.
fn is_marker_name(entry: &DirEntry) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = entry.path().as_os_str().as_bytes();
        path.ends_with(b"/pyvenv.cfg") || path == b"pyvenv.cfg"
    }
    #[cfg(not(unix))]
    {
        entry.file_name() == "pyvenv.cfg"
    }
}

/// Whether `entry` is the marker file a virtualenv under any name carries
/// (a link to a file counts, as it does for Python).
fn is_venv_marker(entry: &DirEntry) -> bool {
    is_marker_name(entry)
        && (entry.file_type().is_file() || (entry.path_is_symlink() && entry.path().is_file()))
}

fn root_gitignore(root: &Path) -> Option<Gitignore> {
    let path = root.join(".gitignore");
    if !path.is_file() {
        return None;
    }
    let mut builder = GitignoreBuilder::new(root);
    builder.add(&path);
    builder.build().ok()
}

fn glob_set(globs: &[String]) -> Result<GlobSet, ScanError> {
    crate::glob::compile_set(globs).map_err(|(glob, message)| ScanError::BadGlob { glob, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` to `root/rel`, making its folders.
    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The paths the walk of `root` hands over, in its order.
    fn walked(root: &Path) -> Vec<String> {
        let walked = walk(root, &ScanOptions::default()).unwrap();
        walked.files.into_iter().map(|f| f.path).collect()
    }

    /// The root may be written with a trailing `/`, through `.` or with
    /// `./`: every form gives the same repository-relative paths.
    #[test]
    fn paths_are_relative_whatever_the_root_looks_like() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/pkg/a.py", "x = 1\n");
        write(dir.path(), "README.md", "# r\n");
        let root = dir.path().to_str().unwrap().to_string();
        let paths = |root: String| -> Vec<String> {
            let mut paths = walked(Path::new(&root));
            paths.sort();
            paths
        };
        let expected = ["README.md", "src/pkg/a.py"];
        for form in [
            root.clone(),
            format!("{root}/"),
            format!("{root}//"),
            format!("{root}/."),
            format!("{root}/./"),
        ] {
            assert_eq!(paths(form.clone()), expected, "{form}");
        }
    }

    /// The walk hands its files over in path order, with names that sort
    /// before, between and after the folders walked side by side: a folder
    /// and a file of the same stem (`pkg/`, `pkg.py`), folders that are
    /// prefixes of others (`pkg`, `pkg.old`, `pkg-1`), files above them
    /// at each level. Had the runs been placed wrongly, the list would not
    /// be sorted (the index would then sort it; this test asks that it
    /// need not).
    #[test]
    fn files_come_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "0.txt",
            "src/pkg.py",
            "src/pkg/a.py",
            "src/pkg/deep/b.py",
            "src/pkg.old/c.py",
            "src/pkg-1/d.py",
            "src/pkg0.py",
            "src/pkgz/e/f.py",
            "src/z.py",
            "src.py",
            "src-1/a/b.py",
            "tests/unit/t.py",
            "tests/u.py",
            "z",
        ];
        for file in files {
            write(dir.path(), file, "x\n");
        }
        let mut expected = files.to_vec();
        expected.sort_unstable();
        assert_eq!(walked(dir.path()), expected);
    }

    /// A virtualenv is skipped under any name, wherever it lies: above the
    /// folders walked side by side, at their depth, below it; with folders and
    /// files whose names sort before and after `pyvenv.cfg`, made before and
    /// after it (listings come in creation order, its reverse or a hash's). A
    /// `pyvenv.cfg` in the repository's own root does not skip the
    /// repository, and a folder named `pyvenv.cfg` marks nothing.
    #[test]
    fn virtualenvs_are_skipped_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let kept = [
            "pyvenv.cfg",
            "app.py",
            "src/pkg/a.py",
            "src/pkg/pyvenv.cfg/not_a_marker.txt",
            "src/pkg/old_pyvenv.cfg",
            "src/pkg/zz.py",
            "tools/x.py",
        ];
        let venvs = [
            "env",
            "src/.venv-3.12",
            "src/pkg/deep/myenv",
            "tools/b/c/d/e",
        ];
        for file in kept {
            write(dir.path(), file, "x\n");
        }
        for venv in venvs {
            for file in [
                "aaa.py",
                "pyvenv.cfg",
                "lib/python3.12/site-packages/torch/__init__.py",
                "lib/python3.12/site-packages/sklearn/base.py",
                "zzz/inner/m.py",
                "bin/activate",
            ] {
                write(dir.path(), &format!("{venv}/{file}"), "import torch\n");
            }
        }
        let mut expected = kept.to_vec();
        expected.sort_unstable();
        assert_eq!(walked(dir.path()), expected);
    }
}
