//! The answer tables behind [`CiModel::reach`](super::CiModel::reach): for each
//! covered file and directory, the best way CI reaches it. Built once; a query
//! is one hash lookup per path component, so thousands of queries on a large
//! repository stay cheap.

use foldhash::HashMap;

use crate::repo;

use super::{paths, Reach};

/// How good a reach is; smaller is better: automatic jobs first, of them
/// those a change starts (a check on each change is what model-1 asks, and
/// a job that runs only on a release or schedule says less of a pull
/// request), then the shallowest command, then the earliest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    pub manual: bool,
    pub off_change: bool,
    pub depth: usize,
    pub command: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    rank: Rank,
    job: usize,
}

/// Best reach per covered file and per covered directory.
#[derive(Debug, Default)]
pub(crate) struct CoverageTable {
    files: HashMap<String, Entry>,
    dirs: HashMap<String, Entry>,
}

impl CoverageTable {
    /// Records that `job`'s command reaches `path`, keeping the best.
    pub(crate) fn add_file(&mut self, path: &str, job: usize, rank: Rank) {
        keep_best(&mut self.files, path, Entry { rank, job });
    }

    /// Records that `job`'s command reaches every file under `dir`.
    pub(crate) fn add_dir(&mut self, dir: &str, job: usize, rank: Rank) {
        keep_best(&mut self.dirs, dir, Entry { rank, job });
    }

    /// The best reach of the file `path` itself, ignoring covered directories.
    pub(crate) fn lookup_file(&self, path: &str) -> Option<Reach> {
        let path = repo::normalize(path);
        self.files.get(path.as_ref()).map(|e| Reach {
            job: e.job,
            command: e.rank.command,
        })
    }

    /// The best reach of `path`: the file itself, or a covered directory
    /// holding it (or the path itself, when it is a directory).
    pub(crate) fn lookup(&self, path: &str) -> Option<Reach> {
        let path = repo::normalize(path);
        let path = path.trim_end_matches('/');
        let mut best = self.files.get(path).copied();
        if !self.dirs.is_empty() {
            for dir in paths::ancestors(path) {
                if let Some(entry) = self.dirs.get(dir) {
                    if best.is_none_or(|b| entry.rank < b.rank) {
                        best = Some(*entry);
                    }
                }
            }
        }
        best.map(|e| Reach {
            job: e.job,
            command: e.rank.command,
        })
    }

    /// Number of covered files and directories.
    pub(crate) fn len(&self) -> usize {
        self.files.len() + self.dirs.len()
    }
}

fn keep_best(map: &mut HashMap<String, Entry>, path: &str, entry: Entry) {
    match map.get_mut(path) {
        Some(existing) if existing.rank <= entry.rank => {}
        Some(existing) => *existing = entry,
        None => {
            map.insert(path.to_string(), entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(manual: bool, depth: usize, command: usize) -> Rank {
        Rank {
            manual,
            off_change: manual,
            depth,
            command,
        }
    }

    #[test]
    fn prefers_automatic_then_shallow() {
        let mut table = CoverageTable::default();
        table.add_file("tests/test_a.py", 0, rank(true, 0, 0));
        table.add_dir("tests", 1, rank(false, 3, 5));
        table.add_file("src/a.py", 2, rank(false, 2, 7));
        table.add_file("src/a.py", 3, rank(false, 1, 9));
        let reach = table.lookup("./tests/test_a.py").unwrap();
        assert_eq!((reach.job, reach.command), (1, 5));
        assert_eq!(table.lookup("src/a.py").map(|r| r.job), Some(3));
        assert_eq!(table.lookup("tests/").map(|r| r.job), Some(1));
        assert!(table.lookup("src/b.py").is_none());
        assert!(table.lookup("testsuite/x.py").is_none());
        assert_eq!(table.len(), 3);

        // Of two automatic jobs, the one a change starts, however deep.
        let nightly = Rank {
            off_change: true,
            ..rank(false, 0, 10)
        };
        table.add_file("src/train.py", 4, nightly);
        table.add_file("src/train.py", 5, rank(false, 3, 11));
        assert_eq!(table.lookup("src/train.py").map(|r| r.job), Some(5));
    }
}
