//! The repository index: every file under the scanned root, and its text on demand.
//!
//! Scanning never executes anything and never fails on a single bad file: names
//! that are not UTF-8, symlink loops and unreadable files become [`ScanWarning`]s.

pub mod contain;
pub mod git;
pub mod notebook;
mod open;
pub mod settings;
mod uring;
mod walk;

use foldhash::HashSet;
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub use git::{GitError, GitRepo};
pub use settings::{ByteSize, ScanConfig};
pub use walk::{ScanError, ScanOptions};

/// Files larger than this are indexed by name but never read, unless configured.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

/// How many leading bytes are inspected for a NUL byte to call a file binary.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// In a notebook that does not parse, lines longer than this are blanked before
/// the text scan: they are outputs (base64 images, HTML), never code a person
/// wrote, and they were most of the bytes.
const BROKEN_NOTEBOOK_LINE_MAX: usize = 4 * 1024;

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

/// What content rules see of one file; see [`RepoIndex::scan_view`].
#[derive(Debug)]
pub enum ScanView<'a> {
    /// The file's text, line for line.
    Text(Cow<'a, str>),
    /// A notebook's cell sources, with where each line sits in the file.
    Notebook(notebook::Notebook),
}

impl ScanView<'_> {
    /// The text to match.
    pub fn text(&self) -> &str {
        match self {
            ScanView::Text(text) => text,
            ScanView::Notebook(nb) => &nb.text,
        }
    }

    /// The 1-based line of the file to report for the 0-based line `index` of
    /// [`ScanView::text`]: the same line for text, the JSON line for a notebook.
    pub fn file_line(&self, index: usize) -> usize {
        match self {
            ScanView::Text(_) => index + 1,
            ScanView::Notebook(nb) => nb
                .lines
                .get(index)
                .map_or(index + 1, |l| l.json_line as usize),
        }
    }

    /// Whether line `index` of [`ScanView::text`] is code (false for a
    /// notebook's Markdown and raw cells).
    pub fn is_code(&self, index: usize) -> bool {
        match self {
            ScanView::Text(_) => true,
            ScanView::Notebook(nb) => nb.lines.get(index).is_some_and(|l| l.code),
        }
    }
}

/// One file of the index.
#[derive(Debug)]
pub struct FileEntry {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// What is known before reading (git trees, links, files in memory); a
    /// working-tree file's size is learnt when it is opened. Boxed: most
    /// entries have none, and a hundred thousand entries are walked,
    /// sorted and moved whole.
    known: Option<Box<Known>>,
    text: OnceLock<FileText>,
    /// Where the name starts in `path`, and where its extension starts (after
    /// the dot): every reader asks for them, a hundred thousand files at a
    /// time, so they are found once.
    /// Offsets into `path` (a path is far shorter than 4 GiB); the
    /// extension's is 0 when there is none (it never starts a path).
    name_at: u32,
    extension_at: u32,
    /// Set once the file was read and found larger than
    /// [`MAX_PARSED_SOURCE`]: it is not parsed, and its text not kept for it.
    oversized_source: std::sync::atomic::AtomicBool,
}

/// What an index knows of a file before reading it.
#[derive(Debug)]
struct Known {
    /// Size in bytes.
    size: u64,
    /// The blob id, for an index read from a git revision.
    oid: Option<Box<str>>,
}

impl FileEntry {
    fn new(path: String, size: Option<u64>) -> Self {
        let name_at = memchr::memrchr(b'/', path.as_bytes()).map_or(0, |i| i + 1);
        let extension_at = memchr::memrchr(b'.', &path.as_bytes()[name_at..])
            .filter(|&i| i > 0)
            .map_or(0, |i| name_at + i + 1);
        Self {
            path,
            known: size.map(|size| Box::new(Known { size, oid: None })),
            text: OnceLock::new(),
            name_at: name_at as u32,
            extension_at: extension_at as u32,
            oversized_source: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The file name: the last component of its path.
    pub fn name(&self) -> &str {
        &self.path[self.name_at as usize..]
    }

    /// The extension as written, without the dot, if any.
    pub fn extension(&self) -> Option<&str> {
        (self.extension_at > 0).then(|| &self.path[self.extension_at as usize..])
    }
}

/// Largest source file whose code is parsed (roles, imports, tests,
/// pipeline definitions); see [`RepoIndex::source`].
pub const MAX_PARSED_SOURCE: usize = 1 << 20;

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
    /// Indices into `files` by path. The table holds indices, not paths: a
    /// copy of every path (and of every folder's, for `is_dir`) was 25 MB
    /// on a 50,000-file monorepo of deep folders. Folders are found by a
    /// binary search of the sorted files instead.
    by_path: hashbrown::HashTable<u32>,
    /// This scan's number, for [`open::open`]'s folder handles.
    scan: u64,
    hasher: foldhash::fast::RandomState,
    max_file_size: u64,
    warnings: Vec<ScanWarning>,
    /// Notebooks that did not parse, found while scanning content.
    notebook_warnings: Mutex<Vec<ScanWarning>>,
    /// The hash of every directory name and module stem of the `.py`
    /// files, made when first asked (see [`RepoIndex::may_resolve_import`]).
    /// Hashes, not names: a stem per module was 80,000 strings on a
    /// 100,000-file tree, and a collision only costs a lookup that fails.
    python_names: OnceLock<HashSet<u64>>,
    /// The files of each extension (as written), made when first asked
    /// (see [`RepoIndex::with_extension`]).
    by_extension: OnceLock<foldhash::HashMap<Box<str>, Vec<u32>>>,
    /// The first word list [`RepoIndex::python_mentions`] was asked, and
    /// its answer.
    python_mentions: OnceLock<(&'static [&'static str], Vec<u64>)>,
    /// Set once [`RepoIndex::preload_sources`] has read every Python and
    /// YAML file.
    sources_preloaded: std::sync::atomic::AtomicBool,
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
                known: Some(Box::new(Known {
                    size: f.size,
                    oid: Some(f.oid.into()),
                })),
                ..FileEntry::new(f.path, None)
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
        // Of two files with one path, the later wins.
        let mut entries: Vec<FileEntry> = files
            .into_iter()
            .map(|(path, text)| {
                let entry = FileEntry::new(path.to_string(), Some(text.len() as u64));
                let _ = entry.text.set(FileText::Text(text.into()));
                entry
            })
            .collect();
        let mut seen = HashSet::default();
        entries.reverse();
        entries.retain(|e| seen.insert(e.path.clone()));
        entries.reverse();
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
        // A walk hands its files over in path order already; anything else
        // (a git tree, files in memory) is sorted here.
        if !files.windows(2).all(|w| w[0].path < w[1].path) {
            sort_by_path(&mut files);
        }
        let hasher = foldhash::fast::RandomState::default();
        // Hashed on every core; only the insertions are one after another.
        let hashes: Vec<u64> = {
            use rayon::prelude::*;
            files
                .par_iter()
                .with_min_len(4096)
                .map(|f| hasher.hash_one(f.path.as_str()))
                .collect()
        };
        let mut by_path = hashbrown::HashTable::with_capacity(files.len());
        for (i, (file, &hash)) in files.iter().zip(&hashes).enumerate() {
            match by_path.entry(
                hash,
                |&j: &u32| files[j as usize].path == file.path,
                |&j: &u32| hashes[j as usize],
            ) {
                hashbrown::hash_table::Entry::Occupied(mut slot) => *slot.get_mut() = i as u32,
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert(i as u32);
                }
            }
        }
        Self {
            source,
            files,
            by_path,
            scan: open::new_scan(),
            hasher,
            max_file_size,
            warnings,
            notebook_warnings: Mutex::new(Vec::new()),
            python_names: OnceLock::new(),
            by_extension: OnceLock::new(),
            python_mentions: OnceLock::new(),
            sources_preloaded: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Which of `words` (at most 64) each `.py` file that can be parsed
    /// ([`RepoIndex::source`]) holds, in the order of
    /// [`RepoIndex::with_extension`]`("py")`: bit `i` of a file's mask is
    /// `words[i]`. One pass over the files finds every word; the pipeline
    /// readers had each searched every file for their framework's name, ten
    /// searches per file. The answer to the first list asked is kept (the
    /// readers share one list); another list is answered afresh.
    pub fn python_mentions(&self, words: &'static [&'static str]) -> Cow<'_, [u64]> {
        // Found outside `get_or_init`: the search runs on every core, and a
        // core waiting in `get_or_init` would do nothing meanwhile.
        let (kept, masks) = match self.python_mentions.get() {
            Some(kept) => kept,
            None => {
                let masks = self.find_python_mentions(words);
                self.python_mentions.get_or_init(|| (words, masks))
            }
        };
        if *kept == words {
            Cow::Borrowed(masks)
        } else {
            Cow::Owned(self.find_python_mentions(words))
        }
    }

    fn find_python_mentions(&self, words: &[&str]) -> Vec<u64> {
        use rayon::prelude::*;
        assert!(words.len() <= 64, "at most 64 words");
        // Leftmost-longest, searched again from one byte past each match's
        // start: the vectorised search stays in use (an overlapping one
        // steps byte by byte, and cost three times the ten searches it
        // replaced), and every word found at a place is a prefix of the
        // longest found there, so it is counted through `prefixes`.
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(words)
            .expect("a few short words always build");
        let prefixes: Vec<u64> = words
            .iter()
            .map(|word| {
                words
                    .iter()
                    .enumerate()
                    .filter(|(_, other)| word.starts_with(**other))
                    .fold(0, |mask, (i, _)| mask | 1 << i)
            })
            .collect();
        let all = if words.len() == 64 {
            u64::MAX
        } else {
            (1u64 << words.len()) - 1
        };
        self.with_extension("py")
            .par_iter()
            .with_max_len(512)
            .map(|&at| {
                let Some(text) = self.source(self.entry_at(at)) else {
                    return 0;
                };
                let (mut mask, mut from) = (0, 0);
                while let Some(found) =
                    automaton.find(aho_corasick::Input::new(text).span(from..text.len()))
                {
                    mask |= prefixes[found.pattern().as_usize()];
                    from = found.start() + 1;
                    if mask == all {
                        break;
                    }
                }
                mask
            })
            .collect()
    }

    /// The files whose extension is `extension` (as written, like
    /// [`FileEntry::extension`]), in path order. Thirty readers look for
    /// their kind of file; each walking every entry of a large tree, one
    /// cache miss after another, cost more than what they then read.
    pub fn with_extension<'a>(&'a self, extension: &str) -> &'a [u32] {
        self.by_extension
            .get_or_init(|| {
                let mut table: foldhash::HashMap<Box<str>, Vec<u32>> = Default::default();
                for (at, entry) in self.files.iter().enumerate() {
                    if let Some(extension) = entry.extension() {
                        match table.get_mut(extension) {
                            Some(list) => list.push(at as u32),
                            None => {
                                table.insert(extension.into(), vec![at as u32]);
                            }
                        }
                    }
                }
                table
            })
            .get(extension)
            .map_or(&[], Vec::as_slice)
    }

    /// The entry at `at`, a place [`RepoIndex::with_extension`] gave.
    pub fn entry_at(&self, at: u32) -> &FileEntry {
        &self.files[at as usize]
    }

    /// The files of each of `extensions`, in path order.
    pub fn files_with<'a>(
        &'a self,
        extensions: &'a [&'a str],
    ) -> impl Iterator<Item = &'a FileEntry> + 'a {
        // One extension's list is in path order already; several are merged.
        let ids: std::borrow::Cow<'a, [u32]> = match extensions {
            [one] => self.with_extension(one).into(),
            _ => {
                let mut ids: Vec<u32> = extensions
                    .iter()
                    .flat_map(|e| self.with_extension(e).iter().copied())
                    .collect();
                ids.sort_unstable();
                ids.into()
            }
        };
        (0..ids.len()).map(move |i| self.entry_at(ids[i]))
    }

    /// Whether an absolute import of `module` (`pkg.sub.mod`) may resolve to
    /// a repository file: its first name is a directory or module name on
    /// the path of some `.py` file. Most imports (`numpy`, `sklearn`) fail
    /// this, and the import readers skip building and looking up their
    /// candidate paths.
    pub fn may_resolve_import(&self, module: &str) -> bool {
        let first = module.split('.').next().unwrap_or(module);
        self.python_names().contains(&self.hasher.hash_one(first))
    }

    /// Makes the table [`RepoIndex::may_resolve_import`] reads, if it is
    /// not made yet. It is made on first use; a parallel pass that will ask
    /// calls this before it starts, so that no core waits for another to
    /// make it.
    pub fn prepare_import_names(&self) {
        self.python_names();
    }

    fn python_names(&self) -> &HashSet<u64> {
        self.python_names.get_or_init(|| {
            // Files come in path order, so the files of one folder come
            // together: its folder names are taken once, not per file.
            let mut names = HashSet::default();
            let mut last_folder = "";
            for stem in self.files.iter().filter_map(|e| e.path.strip_suffix(".py")) {
                let (folder, name) = crate::text::path::split(stem);
                if folder != last_folder {
                    if !folder.is_empty() {
                        names.extend(folder.split('/').map(|p| self.hasher.hash_one(p)));
                    }
                    last_folder = folder;
                }
                names.insert(self.hasher.hash_one(name));
            }
            names
        })
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
        self.position(path).map(|i| &self.files[i])
    }

    /// Where a repository-relative path sits in [`RepoIndex::files`].
    pub fn position(&self, path: &str) -> Option<usize> {
        let path = normalize(path);
        let path = path.as_ref();
        self.by_path
            .find(self.hasher.hash_one(path), |&i| {
                self.files[i as usize].path == path
            })
            .map(|&i| i as usize)
    }

    /// Whether `path` is an indexed file.
    pub fn is_file(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Whether `path` is a directory holding at least one indexed file.
    pub fn is_dir(&self, path: &str) -> bool {
        let path = normalize(path);
        let dir = path.trim_end_matches('/');
        if dir.is_empty() {
            return true;
        }
        // The first file not sorted before `dir/` is in it, if any file is.
        let at = self
            .files
            .partition_point(|f| sorts_before_dir(&f.path, dir));
        self.files.get(at).is_some_and(|f| {
            f.path.len() > dir.len()
                && f.path.starts_with(dir)
                && f.path.as_bytes()[dir.len()] == b'/'
        })
    }

    /// The text of a file, read once and cached; `None` when the file is absent,
    /// binary, too large or unreadable.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|entry| self.entry_text(entry))
    }

    /// The text of a source file small enough to be parsed as code (at most
    /// [`MAX_PARSED_SOURCE`] bytes). Content rules search every text file;
    /// reading roles, imports, tests and pipelines out of code is for code
    /// people write, and a larger `.py` is generated code or data in disguise:
    /// a 3-million-line one made the readers hold a gigabyte of lines.
    pub fn source<'a>(&'a self, entry: &'a FileEntry) -> Option<&'a str> {
        use std::sync::atomic::Ordering;
        if entry.text.get().is_none() {
            if !entry.oversized_source.load(Ordering::Relaxed) {
                keep_source(entry, self.load(entry));
            }
            if entry.oversized_source.load(Ordering::Relaxed) {
                return None;
            }
        }
        self.entry_text(entry)
            .filter(|text| text.len() <= MAX_PARSED_SOURCE)
    }

    /// Reads, on every core, the files that several readers parse (Python
    /// and YAML), keeping their text: readers that then run side by side find
    /// them read, where a file two of them wanted at once would be read twice.
    pub fn preload_sources(&self) {
        use rayon::prelude::*;
        use std::sync::atomic::Ordering;
        let wanted: Vec<&FileEntry> = self
            .files
            .iter()
            .filter(|e| matches!(e.extension(), Some("py" | "yml" | "yaml")))
            .filter(|e| e.text.get().is_none() && !e.oversized_source.load(Ordering::Relaxed))
            .collect();
        wanted.par_chunks(uring::BATCH).for_each(|chunk| {
            self.load_many(chunk, keep_source);
        });
        self.sources_preloaded
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether [`RepoIndex::preload_sources`] has run: every Python and
    /// YAML file's text is then in memory, and reading ahead gains nothing.
    pub fn sources_preloaded(&self) -> bool {
        self.sources_preloaded
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// [`RepoIndex::source`] by path.
    pub fn source_of(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|entry| self.source(entry))
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

    /// What [`RepoIndex::load`] gives for each of `entries` (in path
    /// order), the small working-tree files among them read together with
    /// few system calls.
    fn load_many<'a>(
        &self,
        entries: &[&'a FileEntry],
        mut each: impl FnMut(&'a FileEntry, FileText),
    ) {
        let root = match &self.source {
            Source::WorkTree(root) => root,
            Source::Git { root, .. } => root,
        };
        // Those `load` would open in the working tree, and nothing else.
        let (together, alone): (Vec<&FileEntry>, Vec<&FileEntry>) =
            entries.iter().partition(|entry| {
                entry.known.is_none() && !entry.extension().is_some_and(is_binary_extension)
            });
        let paths: Vec<&str> = together.iter().map(|e| e.path.as_str()).collect();
        let read = uring::read_small(root, &paths, first_read(self.max_file_size));
        for (entry, bytes) in together.into_iter().zip(read) {
            each(entry, bytes.map_or_else(|| self.load(entry), decode));
        }
        for entry in alone {
            each(entry, self.load(entry));
        }
    }

    fn load(&self, entry: &FileEntry) -> FileText {
        let known = entry.known.as_deref();
        if known.is_some_and(|k| k.size > self.max_file_size) {
            return FileText::TooLarge;
        }
        if entry.extension().is_some_and(is_binary_extension) {
            return FileText::Binary;
        }
        let bytes = match (&self.source, known.and_then(|k| k.oid.as_ref())) {
            (Source::Git { repo, .. }, Some(oid)) => repo.read_blob(oid).map_err(|e| e.to_string()),
            (Source::WorkTree(root), _) | (Source::Git { root, .. }, None) => {
                let file = open::open(self.scan, root, &entry.path);
                match file.and_then(|file| read_open(file, self.max_file_size)) {
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

    /// A file as content rules see it, or `None` when it is binary, too large
    /// or unreadable. The text is not kept in the index (a scan of a large tree
    /// then holds one file per thread, not the tree), unless it was read and
    /// kept before. A notebook is read as its cell sources; one that does not
    /// parse is scanned as text without its long lines, with a warning.
    pub fn scan_view<'a>(&'a self, entry: &'a FileEntry) -> Option<ScanView<'a>> {
        let text: Cow<'a, str> = match entry.text.get() {
            Some(FileText::Text(text)) => Cow::Borrowed(text.as_ref()),
            Some(_) => return None,
            None => match self.load(entry) {
                FileText::Text(text) => Cow::Owned(text.into_string()),
                // Kept, so that `warnings` reports an unreadable file.
                other => {
                    let _ = entry.text.set(other);
                    return None;
                }
            },
        };
        if entry.extension() != Some("ipynb") {
            return Some(ScanView::Text(text));
        }
        match notebook::parse(&text) {
            Ok(nb) => Some(ScanView::Notebook(nb)),
            Err(err) => {
                let warning = ScanWarning {
                    path: entry.path.clone(),
                    message: format!(
                        "is not a valid notebook ({err}); scanned as plain text without its lines over {} KiB",
                        BROKEN_NOTEBOOK_LINE_MAX / 1024
                    ),
                };
                if let Ok(mut list) = self.notebook_warnings.lock() {
                    list.push(warning);
                }
                Some(ScanView::Text(Cow::Owned(blank_long_lines(
                    &text,
                    BROKEN_NOTEBOOK_LINE_MAX,
                ))))
            }
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
        // Notebooks are read on many threads: their order is made stable here.
        if let Ok(list) = self.notebook_warnings.lock() {
            let mut notebooks = list.clone();
            notebooks.sort_by(|a, b| a.path.cmp(&b.path));
            notebooks.dedup();
            warnings.extend(notebooks);
        }
        warnings
    }
}

/// Whether `path` sorts before `dir` followed by `/`, byte by byte (the
/// order of [`RepoIndex::files`]), without building that string.
fn sorts_before_dir(path: &str, dir: &str) -> bool {
    let (p, d) = (path.as_bytes(), dir.as_bytes());
    let n = p.len().min(d.len());
    match p[..n].cmp(&d[..n]) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => p.len() <= d.len() || p[d.len()] < b'/',
    }
}

/// `text` with every line longer than `max` bytes emptied; line numbers stay.
fn blank_long_lines(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(1 << 20));
    for line in text.split_inclusive('\n') {
        if line.len() > max {
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &str = "\u{feff}";

/// `text` without a leading UTF-8 byte order mark, which Windows editors write
/// and YAML and JSON parsers reject.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(UTF8_BOM).unwrap_or(text)
}

/// Reads a regular file as text, without a leading byte order mark. Anything
/// else is refused from its metadata before it is opened: opening a FIFO
/// blocks until a writer appears, which in a scanned repository is never.
pub fn read_text_file(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", file_kind(&meta)),
        ));
    }
    let text = std::fs::read_to_string(path)?;
    Ok(match text.strip_prefix(UTF8_BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Sorts files by path. Paths are unique (a walk, a git tree, or memory
/// deduplicated), so an unstable sort is the same as a stable one, which
/// copied every entry into a buffer of the whole list's size. The paths are
/// sorted with their places, then the entries moved once each: sorting the
/// entries moved a whole entry at every swap.
fn sort_by_path(files: &mut [FileEntry]) {
    use rayon::prelude::*;
    let mut order: Vec<(&str, u32)> = files
        .iter()
        .enumerate()
        .map(|(at, f)| (f.path.as_str(), at as u32))
        .collect();
    order.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut order: Vec<u32> = order.into_iter().map(|(_, at)| at).collect();
    permute(files, &mut order);
}

/// Puts `items[order[k]]` at `k` for every `k`, following each cycle of the
/// permutation with swaps; `order` is used up (each place is marked done).
fn permute<T>(items: &mut [T], order: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != DONE {
            let from = order[at] as usize;
            order[at] = DONE;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// What a non-regular file is, for messages.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_file() {
        "a file"
    } else {
        "not a regular file"
    }
}

/// Bytes asked for by the first read of a file; most source files are
/// smaller and arrive whole.
const FIRST_READ: usize = 64 * 1024;

thread_local! {
    /// Where the first read of a file lands, one per thread: a fresh buffer
    /// per file would be zeroed (or grown) a hundred thousand times.
    static FIRST_READ_BUF: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; FIRST_READ].into_boxed_slice());
}

/// Bytes asked for by the first read of a file under a size cap of `cap`:
/// a read that returns fewer is the whole file, and within the cap.
fn first_read(cap: u64) -> usize {
    FIRST_READ.min(usize::try_from(cap).unwrap_or(usize::MAX).saturating_add(1))
}

/// Keeps a source file's text unless it is too large to parse: the content
/// scan then reads it again, once, and lets it go.
fn keep_source(entry: &FileEntry, loaded: FileText) {
    if matches!(&loaded, FileText::Text(text) if text.len() > MAX_PARSED_SOURCE) {
        entry
            .oversized_source
            .store(true, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    let _ = entry.text.set(loaded);
}

/// [`read_open`] by path, for the tests of its sizes.
#[cfg(test)]
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    read_open(std::fs::File::open(path)?, cap)
}

/// Reads an open file unless it is larger than `cap` (`None` then).
///
/// A file that fits the first read costs three system calls (open, read,
/// close): a read of a regular file that returns fewer bytes than asked is
/// at its end, so neither its size (`statx`) nor a read returning 0 is
/// needed — two of the five calls per file this took before, on trees of
/// 100,000 files. A larger file is sized from the open handle and read on.
fn read_open(mut file: std::fs::File, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let first = first_read(cap);
    FIRST_READ_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let head = &mut buf[..first];
        let n = loop {
            match file.read(head) {
                Ok(n) => break n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        if n < first {
            return Ok((n as u64 <= cap).then(|| head[..n].to_vec()));
        }
        let len = file.metadata()?.len();
        if len > cap {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(len as usize + 1);
        bytes.extend_from_slice(head);
        // Through `take`, `read_to_end` reads into the buffer sized here, and
        // a file that grew past the cap since `metadata` is still cut off.
        (&mut file)
            .take(cap.saturating_add(1) - n as u64)
            .read_to_end(&mut bytes)?;
        Ok((bytes.len() as u64 <= cap).then_some(bytes))
    })
}

/// Turns raw bytes into text, or calls them binary.
fn decode(mut bytes: Vec<u8>) -> FileText {
    // Windows editors start UTF-8 files with a byte order mark; no parser wants it.
    if bytes.starts_with(UTF8_BOM.as_bytes()) {
        bytes.drain(..UTF8_BOM.len());
    }
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
    // `trim_start_matches("./")`, without building a searcher per call.
    let mut trimmed = path;
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    if needs_normalizing(trimmed.as_bytes()) {
        let joined: Vec<&str> = trimmed
            .split(['/', '\\'])
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        std::borrow::Cow::Owned(joined.join("/"))
    } else {
        std::borrow::Cow::Borrowed(trimmed)
    }
}

/// Whether `path` holds a `\\`, a `//` or a `/./`: one pass over it, as
/// every lookup by path asks (a `str::contains` of two or three bytes
/// builds a searcher per call).
fn needs_normalizing(path: &[u8]) -> bool {
    memchr::memchr2_iter(b'/', b'\\', path).any(|at| {
        path[at] == b'\\'
            || match path.get(at + 1) {
                Some(b'/') => true,
                Some(b'.') => path.get(at + 2) == Some(&b'/'),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every permutation of up to six items lands each item where `order`
    /// says, fixed points and long cycles alike.
    #[test]
    fn permute_puts_each_item_where_order_says() {
        fn all(n: usize) -> Vec<Vec<u32>> {
            if n == 0 {
                return vec![Vec::new()];
            }
            let mut out = Vec::new();
            for rest in all(n - 1) {
                for at in 0..n {
                    let mut p = rest.clone();
                    p.insert(at, (n - 1) as u32);
                    out.push(p);
                }
            }
            out
        }
        for n in 0..=6 {
            for order in all(n) {
                let mut items: Vec<String> = (0..n).map(|i| format!("item {i}")).collect();
                let expected: Vec<String> =
                    order.iter().map(|&k| items[k as usize].clone()).collect();
                permute(&mut items, &mut order.clone());
                assert_eq!(items, expected, "{order:?}");
            }
        }
    }

    /// Each file's mask holds exactly the words its text contains, words
    /// that are prefixes of one another and that overlap included; files
    /// too large to parse hold none.
    #[test]
    fn python_mentions_are_the_words_each_file_contains() {
        static WORDS: &[&str] = &["ab", "abc", "bcd", "c", "é"];
        let texts = [
            ("a.py", "abcd"),
            ("b.py", "xab"),
            ("c.py", "abc"),
            ("d.py", "bc"),
            ("e.py", ""),
            ("f.py", "zzz abcab bcd é"),
            ("g.txt", "abcd"),
        ];
        let index = RepoIndex::from_memory(texts);
        let masks = index.python_mentions(WORDS);
        let py: Vec<&str> = index
            .with_extension("py")
            .iter()
            .map(|&at| index.entry_at(at).path.as_str())
            .collect();
        assert_eq!(masks.len(), py.len());
        for (path, mask) in py.iter().zip(masks.iter()) {
            let text = texts.iter().find(|(p, _)| p == path).unwrap().1;
            let expected = WORDS
                .iter()
                .enumerate()
                .filter(|(_, w)| text.contains(**w))
                .fold(0u64, |m, (i, _)| m | 1 << i);
            assert_eq!(*mask, expected, "{path}");
        }
        // Asked again, the kept answer; another list, its own.
        assert!(matches!(index.python_mentions(WORDS), Cow::Borrowed(_)));
        static OTHER: &[&str] = &["d"];
        assert_eq!(
            index
                .python_mentions(OTHER)
                .iter()
                .filter(|&&m| m == 1)
                .count(),
            2
        );
    }

    /// Sources read together (preloaded) are what reading each alone gives:
    /// text, a byte order mark dropped, binary, over the size cap, exactly
    /// at it, larger than one read, too large to parse, and a file gone since
    /// the walk (the same error), in folders past a batch's end.
    #[test]
    fn preloaded_sources_are_what_reading_each_alone_gives() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, bytes: &[u8]| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        for i in 0..40 {
            write(
                &format!("pkg{}/m{i}.py", i % 3),
                format!("x = {i}\n").as_bytes(),
            );
        }
        let cap = 3 * 1024 * 1024;
        write("a/bom.py", "\u{feff}import os\n".as_bytes());
        write("a/nul.py", b"x = 1\0\n");
        write("a/conf.yaml", b"k: v\n");
        write("a/over.yml", &vec![b'#'; cap + 1]);
        write("a/at.yml", &vec![b'#'; cap]);
        write("a/long.py", &vec![b'#'; FIRST_READ + 10]);
        write("a/huge.py", &vec![b'#'; MAX_PARSED_SOURCE + 1]);
        write("a/gone.py", b"x = 2\n");
        write("a/notes.md", b"# not a source\n");
        let options = ScanOptions {
            max_file_size: cap as u64,
            ..ScanOptions::default()
        };
        let together = RepoIndex::scan(root, &options).unwrap();
        let alone = RepoIndex::scan(root, &options).unwrap();
        std::fs::remove_file(root.join("a/gone.py")).unwrap();
        together.preload_sources();
        let mut sources = 0;
        for (a, b) in together.files().iter().zip(alone.files()) {
            assert_eq!(a.path, b.path);
            // Long texts are told apart by their length and ends.
            let describe = |text: Option<&FileText>| {
                text.map(|t| match t {
                    FileText::Text(t) if t.len() > 80 => {
                        format!("{} bytes: {:?}…{:?}", t.len(), &t[..20], &t[t.len() - 20..])
                    }
                    other => format!("{other:?}"),
                })
            };
            let preloaded = describe(a.text.get());
            assert_eq!(
                together.source(a),
                alone.source(b),
                "{}: what parsers see",
                a.path
            );
            if a.path.ends_with(".md") {
                assert_eq!(preloaded, None, "{}: not a source", a.path);
                continue;
            }
            sources += 1;
            let kept = describe(b.text.get());
            assert_eq!(preloaded, kept, "{}: what is kept", a.path);
        }
        assert_eq!(sources, 48);
        assert!(matches!(
            together.get("a/gone.py").unwrap().text.get(),
            Some(FileText::Unreadable(_))
        ));
        assert!(together
            .source_of("a/bom.py")
            .unwrap()
            .starts_with("import"));
        assert!(together.source_of("a/huge.py").is_none());
    }

    /// The one-pass test agrees with the three searches it replaced.
    #[test]
    fn needs_normalizing_is_backslash_double_slash_or_dot_segment() {
        for path in [
            "a/b", "a//b", "a/./b", "a\\b", "a/.b", "a/..", "a/.", "./a", "/", "//", "/./", "a/",
            "", ".", "a/../b", "a./b", "a/.//b",
        ] {
            let old = path.contains('\\') || path.contains("//") || path.contains("/./");
            assert_eq!(needs_normalizing(path.as_bytes()), old, "{path}");
        }
    }

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

    /// Folders are found by a binary search of the sorted paths: names that
    /// sort between a folder and its files (`a/b-c`, `a/b.py` sort before
    /// `a/b/`), a folder's name as a file's prefix, and duplicates all hold.
    #[test]
    fn folders_are_found_among_paths_that_sort_around_them() {
        let index = RepoIndex::from_memory([
            ("a/b-c/x.py", ""),
            ("a/b.py", ""),
            ("a/b/y.py", ""),
            ("a/bz.py", ""),
            ("lib/mod.py", ""),
            ("libx/z.py", ""),
            ("dup.py", "1"),
            ("dup.py", "2"),
        ]);
        for dir in ["", "a", "a/", "a/b", "a/b-c", "lib", "libx", "./a/b"] {
            assert!(index.is_dir(dir), "{dir}");
        }
        for not in [
            "a/b.py", "a/bz", "li", "a/b/y", "b", "zzz", "a/b-", "dup.py",
        ] {
            assert!(!index.is_dir(not), "{not}");
        }
        for file in ["a/b.py", "a/b/y.py", "a/b-c/x.py", "libx/z.py", "dup.py"] {
            assert!(index.is_file(file), "{file}");
        }
        assert!(!index.is_file("a/b"));
        // Of two files with one path, the later is the one kept.
        assert_eq!(index.files().len(), 7);
        assert_eq!(index.text("dup.py"), Some("2"));
    }

    /// Files by extension: as written (case and all), a dot that starts a
    /// name is not one, and several extensions come back in path order.
    #[test]
    fn files_are_listed_by_extension_in_path_order() {
        let index = RepoIndex::from_memory([
            ("z.py", ""),
            ("ci/b.yml", ""),
            ("a/x.py", ""),
            ("ci/a.yaml", ""),
            ("ci/c.YML", ""),
            (".py", ""),
            ("Makefile", ""),
            ("notes.py.txt", ""),
        ]);
        let paths = |list: &[u32]| -> Vec<&str> {
            list.iter()
                .map(|&at| index.entry_at(at).path.as_str())
                .collect()
        };
        assert_eq!(paths(index.with_extension("py")), ["a/x.py", "z.py"]);
        assert_eq!(paths(index.with_extension("YML")), ["ci/c.YML"]);
        assert!(index.with_extension("").is_empty());
        assert!(index.with_extension("Makefile").is_empty());
        let yaml: Vec<&str> = index
            .files_with(&["yml", "yaml"])
            .map(|e| e.path.as_str())
            .collect();
        assert_eq!(yaml, ["ci/a.yaml", "ci/b.yml"]);
    }

    #[test]
    fn imports_may_resolve_only_through_names_on_python_paths() {
        let index = RepoIndex::from_memory([
            ("src/churn/features.py", ""),
            ("tests/unit/test_x.py", ""),
            ("docs/numpy/index.md", ""),
        ]);
        for module in [
            "src",
            "churn.features",
            "features",
            "tests.unit.test_x",
            "unit",
        ] {
            assert!(index.may_resolve_import(module), "{module}");
        }
        // A folder holding no Python, a third-party package, a file's
        // extension: no import of them resolves here.
        for module in ["docs", "numpy.linalg", "py", ""] {
            assert!(!index.may_resolve_import(module), "{module}");
        }
        // Folders shared by neighbours, left and come back to, at the root
        // and below it: every name of every `.py` path counts, and no other.
        let paths = [
            "a/b/c.py",
            "a/b/d.py",
            "a/e.py",
            "f.py",
            "g/h.py",
            "g/h/i.txt",
            "j/k.md",
            "j/l.py",
            "m//n.py",
        ];
        let index = RepoIndex::from_memory(paths.map(|p| (p, "")));
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "j", "l", "m", "n"] {
            assert!(index.may_resolve_import(name), "{name}");
        }
        for name in ["i", "k", "py", "txt", "x"] {
            assert!(!index.may_resolve_import(name), "{name}");
        }
        // `m//n.py` has an empty folder name, as it had before.
        assert!(index.may_resolve_import(""));
    }

    /// Files are read whole or not at all, around the first read's size
    /// and the cap: empty, short, exactly one first read, one byte more,
    /// several first reads, at the cap and one byte over it.
    #[test]
    fn files_are_read_whole_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [
            0,
            1,
            100,
            FIRST_READ - 1,
            FIRST_READ,
            FIRST_READ + 1,
            3 * FIRST_READ + 17,
        ];
        for size in sizes {
            let path = dir.path().join(format!("f{size}"));
            let bytes: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            for cap in [0, 1, 99, 100, FIRST_READ - 1, FIRST_READ, 4 * FIRST_READ] {
                let read = read_capped(&path, cap as u64).unwrap();
                if size <= cap {
                    assert_eq!(read.as_deref(), Some(&bytes[..]), "size {size}, cap {cap}");
                } else {
                    assert!(read.is_none(), "size {size}, cap {cap}");
                }
            }
            assert_eq!(
                read_capped(&path, u64::MAX).unwrap().as_deref(),
                Some(&bytes[..])
            );
        }
    }

    #[test]
    fn nul_bytes_make_a_file_binary() {
        assert!(matches!(decode(b"abc\0def".to_vec()), FileText::Binary));
        assert!(matches!(decode(b"caf\xe9".to_vec()), FileText::Text(t) if t.starts_with("caf")));
    }

    #[test]
    fn long_lines_are_blanked_and_lines_kept() {
        let text = format!("a\n{}\nb\n{}", "x".repeat(10), "y".repeat(10));
        assert_eq!(blank_long_lines(&text, 5), "a\n\nb\n");
    }

    #[test]
    fn a_broken_notebook_is_a_warning_and_scanned_without_long_lines() {
        let long = "A".repeat(5000);
        let text = format!("{{\n \"source\": [\"import x\\n\",\n \"{long}\"\n");
        let index = RepoIndex::from_memory([("nb.ipynb", text.as_str()), ("ok.ipynb", "{}")]);
        let entry = index.get("nb.ipynb").unwrap();
        let view = index.scan_view(entry).unwrap();
        assert!(matches!(view, ScanView::Text(_)));
        assert!(view.text().contains("import x") && !view.text().contains("AAAA"));
        assert_eq!(view.file_line(1), 2);
        let warnings = index.warnings();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].path, "nb.ipynb");
        assert!(warnings[0].message.contains("not a valid notebook (line 4"));
        let ok = index.scan_view(index.get("ok.ipynb").unwrap()).unwrap();
        assert!(matches!(ok, ScanView::Notebook(_)));
    }

    #[test]
    fn only_sources_up_to_the_limit_are_parsed() {
        let big = format!(
            "x = 1\n{}",
            "# generated\n".repeat(MAX_PARSED_SOURCE / 12 + 1)
        );
        let index = RepoIndex::from_memory([("gen/big.py", big.as_str()), ("src/a.py", "x = 1\n")]);
        assert_eq!(index.source_of("src/a.py"), Some("x = 1\n"));
        assert_eq!(index.source_of("gen/big.py"), None);
        // Content rules still read it.
        assert!(index
            .text("gen/big.py")
            .is_some_and(|t| t.len() > MAX_PARSED_SOURCE));
    }

    #[test]
    fn normalize_cleans_separators() {
        assert_eq!(normalize("./a//b/./c"), "a/b/c");
        assert_eq!(normalize("a\\b"), "a/b");
        assert_eq!(normalize("a/b"), "a/b");
        // Every leading `./` goes, and only those.
        assert_eq!(normalize("././a/b"), "a/b");
        assert_eq!(normalize("./.a"), ".a");
        assert_eq!(normalize("."), ".");
    }
}
