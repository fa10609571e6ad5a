//! The repository index: every file under the scanned root, and its text on demand.
//!
//! Scanning never executes anything and never fails on a single bad file: names
//! that are not UTF-8, symlink loops and unreadable files become [`ScanWarning`]s.

pub mod contain;
pub mod git;
pub mod settings;
mod walk;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use git::{GitError, GitRepo};
pub use settings::{ByteSize, ScanConfig};
pub use walk::{ScanError, ScanOptions};

/// Files larger than this are indexed by name but never read, unless configured.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

/// How many leading bytes are inspected for a NUL byte to call a file binary.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// A problem with one path that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanWarning {
    /// Repository-relative path (lossy for names that are not UTF-8).
    pub path: String,
    /// What went wrong and what mlscore did about it.
    pub message: String,
}

/// What reading a file gave.
#[derive(Debug)]
pub enum FileText {
    /// The file's text (invalid UTF-8 sequences replaced).
    Text(Box<str>),
    /// A NUL byte in the first bytes, or a known binary extension.
    Binary,
    /// Larger than the configured size cap.
    TooLarge,
    /// The read failed; the message says why.
    Unreadable(String),
}

/// One file of the index.
#[derive(Debug)]
pub struct FileEntry {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// Size in bytes when known before reading (git trees, links); a working-tree
    /// file's size is learnt when it is opened.
    pub size: Option<u64>,
    /// The blob id, for an index read from a git revision.
    oid: Option<String>,
    text: OnceLock<FileText>,
}

impl FileEntry {
    fn new(path: String, size: Option<u64>) -> Self {
        Self {
            path,
            size,
            oid: None,
            text: OnceLock::new(),
        }
    }

    /// The file name: the last component of its path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The lower-cased extension, without the dot, if any.
    pub fn extension(&self) -> Option<&str> {
        let name = self.name();
        name.rfind('.').filter(|&i| i > 0).map(|i| &name[i + 1..])
    }
}

/// Where file contents come from.
#[derive(Debug)]
enum Source {
    WorkTree(PathBuf),
    Git { root: PathBuf, repo: Arc<GitRepo> },
}

/// The index of a repository: its files, their kinds, and text access.
#[derive(Debug)]
pub struct RepoIndex {
    source: Source,
    files: Vec<FileEntry>,
    by_path: HashMap<String, usize>,
    dirs: HashSet<String>,
    max_file_size: u64,
    warnings: Vec<ScanWarning>,
}

impl RepoIndex {
    /// Scans the working tree under `root`.
    pub fn scan(root: &Path, options: &ScanOptions) -> Result<Self, ScanError> {
        let walked = walk::walk(root, options)?;
        Ok(Self::from_parts(
            Source::WorkTree(root.to_path_buf()),
            walked.files,
            walked.warnings,
            options.max_file_size,
        ))
    }

    /// Indexes the tree of `commit` under the scanned root, reading files from
    /// git objects; the working tree is not touched.
    pub fn at_commit(
        root: &Path,
        repo: Arc<GitRepo>,
        commit: &str,
        options: &ScanOptions,
    ) -> Result<Self, GitError> {
        let exclude = crate::glob::compile_set(&options.exclude)
            .unwrap_or_else(|_| globset::GlobSet::empty());
        let files = repo
            .list_files(commit)?
            .into_iter()
            .filter(|f| !exclude.is_match(&f.path) && !walk::in_skipped_dir(&f.path))
            .map(|f| FileEntry {
                path: f.path,
                size: Some(f.size),
                oid: Some(f.oid),
                text: OnceLock::new(),
            })
            .collect();
        Ok(Self::from_parts(
            Source::Git {
                root: root.to_path_buf(),
                repo,
            },
            files,
            Vec::new(),
            options.max_file_size,
        ))
    }

    /// Builds an index from in-memory files (path, text); used by unit tests of
    /// the modules downstream.
    pub fn from_memory<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let entries = files
            .into_iter()
            .map(|(path, text)| {
                let entry = FileEntry::new(path.to_string(), Some(text.len() as u64));
                let _ = entry.text.set(FileText::Text(text.into()));
                entry
            })
            .collect();
        Self::from_parts(
            Source::WorkTree(PathBuf::new()),
            entries,
            Vec::new(),
            DEFAULT_MAX_FILE_SIZE,
        )
    }

    fn from_parts(
        source: Source,
        mut files: Vec<FileEntry>,
        warnings: Vec<ScanWarning>,
        max_file_size: u64,
    ) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        let mut dirs = HashSet::new();
        dirs.insert(String::new());
        for file in &files {
            let mut path = file.path.as_str();
            while let Some(i) = path.rfind('/') {
                path = &path[..i];
                if !dirs.insert(path.to_string()) {
                    break;
                }
            }
        }
        Self {
            source,
            files,
            by_path,
            dirs,
            max_file_size,
            warnings,
        }
    }

    /// The scanned root (empty for an in-memory index).
    pub fn root(&self) -> &Path {
        match &self.source {
            Source::WorkTree(root) | Source::Git { root, .. } => root,
        }
    }

    /// Every indexed file, sorted by path.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The entry for a repository-relative path.
    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.by_path
            .get(normalize(path).as_ref())
            .map(|&i| &self.files[i])
    }

    /// Whether `path` is an indexed file.
    pub fn is_file(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Whether `path` is a directory holding at least one indexed file.
    pub fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(normalize(path).trim_end_matches('/'))
    }

    /// The text of a file, read once and cached; `None` when the file is absent,
    /// binary, too large or unreadable.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|entry| self.entry_text(entry))
    }

    /// The text of an entry, read once and cached.
    pub fn entry_text<'a>(&'a self, entry: &'a FileEntry) -> Option<&'a str> {
        match self.read(entry) {
            FileText::Text(text) => Some(text),
            _ => None,
        }
    }

    /// What reading an entry gave, read once and cached.
    pub fn read<'a>(&'a self, entry: &'a FileEntry) -> &'a FileText {
        entry.text.get_or_init(|| self.load(entry))
    }

    fn load(&self, entry: &FileEntry) -> FileText {
        if entry.size.is_some_and(|size| size > self.max_file_size) {
            return FileText::TooLarge;
        }
        if entry.extension().is_some_and(is_binary_extension) {
            return FileText::Binary;
        }
        let bytes = match (&self.source, &entry.oid) {
            (Source::Git { repo, .. }, Some(oid)) => repo.read_blob(oid).map_err(|e| e.to_string()),
            (Source::WorkTree(root), _) | (Source::Git { root, .. }, None) => {
                match read_capped(&root.join(&entry.path), self.max_file_size) {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => return FileText::TooLarge,
                    Err(err) => Err(err.to_string()),
                }
            }
        };
        match bytes {
            Ok(bytes) => decode(bytes),
            Err(err) => FileText::Unreadable(err),
        }
    }

    /// Warnings from the scan plus any read failures met so far.
    pub fn warnings(&self) -> Vec<ScanWarning> {
        let mut warnings = self.warnings.clone();
        for entry in &self.files {
            if let Some(FileText::Unreadable(why)) = entry.text.get() {
                warnings.push(ScanWarning {
                    path: entry.path.clone(),
                    message: format!("could not be read ({why}); it was indexed by name only"),
                });
            }
        }
        warnings
    }
}

/// Reads a file unless it is larger than `cap` (`None` then), learning the
/// size from the open handle rather than a separate stat.
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Turns raw bytes into text, or calls them binary.
fn decode(bytes: Vec<u8>) -> FileText {
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    if sniff.contains(&0) {
        return FileText::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(text) => FileText::Text(text.into_boxed_str()),
        Err(err) => FileText::Text(String::from_utf8_lossy(err.as_bytes()).into()),
    }
}

/// Extensions of files that are never text; skipping them avoids a read.
fn is_binary_extension(ext: &str) -> bool {
    const BINARY: &[&str] = &[
        "parquet",
        "pq",
        "feather",
        "arrow",
        "avro",
        "orc",
        "pkl",
        "pickle",
        "joblib",
        "npy",
        "npz",
        "h5",
        "hdf5",
        "pt",
        "pth",
        "ckpt",
        "onnx",
        "pb",
        "tflite",
        "safetensors",
        "bin",
        "gz",
        "bz2",
        "xz",
        "zst",
        "zip",
        "tar",
        "7z",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "tif",
        "tiff",
        "webp",
        "ico",
        "pdf",
        "mp3",
        "wav",
        "flac",
        "mp4",
        "mov",
        "avi",
        "so",
        "dll",
        "dylib",
        "exe",
        "o",
        "a",
        "whl",
        "db",
        "sqlite",
    ];
    BINARY.iter().any(|b| ext.eq_ignore_ascii_case(b))
}

/// Repository-relative path with `/` separators and no leading `./`.
pub fn normalize(path: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = path.trim_start_matches("./");
    if trimmed.contains('\\') || trimmed.contains("//") || trimmed.contains("/./") {
        let joined: Vec<&str> = trimmed
            .split(['/', '\\'])
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        std::borrow::Cow::Owned(joined.join("/"))
    } else {
        std::borrow::Cow::Borrowed(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_index_knows_files_and_dirs() {
        let index = RepoIndex::from_memory([("src/a.py", "x = 1"), ("tests/data/test_b.py", "")]);
        assert!(index.is_file("src/a.py"));
        assert!(index.is_file("./src/a.py"));
        assert!(index.is_dir("tests"));
        assert!(index.is_dir("tests/data/"));
        assert!(!index.is_dir("src/a.py"));
        assert_eq!(index.text("src/a.py"), Some("x = 1"));
        assert_eq!(
            index.get("tests/data/test_b.py").unwrap().name(),
            "test_b.py"
        );
    }

    #[test]
    fn nul_bytes_make_a_file_binary() {
        assert!(matches!(decode(b"abc\0def".to_vec()), FileText::Binary));
        assert!(matches!(decode(b"caf\xe9".to_vec()), FileText::Text(t) if t.starts_with("caf")));
    }

    #[test]
    fn normalize_cleans_separators() {
        assert_eq!(normalize("./a//b/./c"), "a/b/c");
        assert_eq!(normalize("a\\b"), "a/b");
        assert_eq!(normalize("a/b"), "a/b");
    }
}
