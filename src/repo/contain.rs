//! Keeps every file mlscore opens on a repository's behalf inside that
//! repository.
//!
//! A scanned repository is hostile: a committed symbolic link
//! `data/creds.csv -> /home/runner/.ssh/id_rsa`, a link into `.git/config`, or a
//! path `../secret.csv` in `mlscore.yaml` would otherwise have a probe read the
//! file and echo it into a report that is posted on the pull request. So a path
//! is resolved the way the operating system will open it (links followed) and
//! refused unless it lands inside the root, outside any `.git` folder.

use std::path::{Component, Path, PathBuf};

/// Why a repository path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Escape {
    /// An absolute path, or one that climbs above the root with `..`.
    #[error("`{path}` points outside the repository")]
    Outside { path: String },
    /// A link whose target is outside the root.
    #[error("`{path}` is a symbolic link to a file outside the repository")]
    LinkOutside { path: String },
    /// A path (or a link's target) inside a `.git` folder: git's own files,
    /// which hold remotes, credentials helpers and hooks, are never data.
    #[error("`{path}` is inside git's own `.git` folder, which is never read as data")]
    GitDir { path: String },
    /// Nothing there (or a link whose target is gone).
    #[error("`{path}` does not exist")]
    Missing { path: String },
}

impl Escape {
    /// What the user can do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Escape::Outside { .. } | Escape::LinkOutside { .. } | Escape::GitDir { .. } => {
                "paths in mlscore.yaml name files of the repository, relative to its root; copy the file into the repository instead of linking to it"
            }
            Escape::Missing { .. } => {
                "paths in mlscore.yaml are relative to the repository root; fetch data tracked by DVC with `dvc pull` before running mlscore"
            }
        }
    }
}

/// The real path of `relative` under `root`, after following links, if it is
/// inside `root` and outside every `.git` folder.
///
/// The path that comes back is the one to open: checking one path and opening
/// another would let a link swapped in between win.
pub fn inside(root: &Path, relative: &str) -> Result<PathBuf, Escape> {
    let shown = || relative.to_string();
    if !stays_below(Path::new(relative)) {
        return Err(Escape::Outside { path: shown() });
    }
    if has_git_component(Path::new(relative)) {
        return Err(Escape::GitDir { path: shown() });
    }
    let root = root.canonicalize().map_err(|_| Escape::Missing {
        path: root.display().to_string(),
    })?;
    let real = root
        .join(relative)
        .canonicalize()
        .map_err(|_| Escape::Missing { path: shown() })?;
    match real.strip_prefix(&root) {
        Ok(below) if has_git_component(below) => Err(Escape::GitDir { path: shown() }),
        Ok(_) => Ok(real),
        Err(_) => Err(Escape::LinkOutside { path: shown() }),
    }
}

/// Whether a link target (already resolved) is one the index may hold: inside
/// the root and not in a `.git` folder.
pub fn is_inside(canonical_root: &Path, canonical_target: &Path) -> bool {
    canonical_target
        .strip_prefix(canonical_root)
        .is_ok_and(|below| !has_git_component(below))
}

/// A relative path that never climbs above where it starts, read lexically.
fn stays_below(path: &Path) -> bool {
    let mut depth = 0usize;
    for part in path.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

fn has_git_component(path: &Path) -> bool {
    path.components()
        .any(|c| matches!(c, Component::Normal(name) if name.eq_ignore_ascii_case(".git")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn repo() -> (tempfile::TempDir, tempfile::TempDir) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("data")).unwrap();
        std::fs::create_dir_all(root.path().join(".git")).unwrap();
        std::fs::write(root.path().join(".git/config"), "[remote]").unwrap();
        std::fs::write(root.path().join("data/train.csv"), "a\n1\n").unwrap();
        std::fs::write(outside.path().join("secret.csv"), "token\nabc\n").unwrap();
        (root, outside)
    }

    #[test]
    fn plain_files_inside_resolve() {
        let (root, _outside) = repo();
        let real = inside(root.path(), "data/train.csv").unwrap();
        assert!(real.ends_with("data/train.csv"));
        assert!(inside(root.path(), "./data/../data/train.csv").is_ok());
    }

    #[test]
    fn climbing_out_or_absolute_is_refused() {
        let (root, outside) = repo();
        let secret = outside.path().join("secret.csv");
        assert!(matches!(
            inside(root.path(), "../secret.csv"),
            Err(Escape::Outside { .. })
        ));
        assert!(matches!(
            inside(root.path(), "data/../../x"),
            Err(Escape::Outside { .. })
        ));
        assert!(matches!(
            inside(root.path(), secret.to_str().unwrap()),
            Err(Escape::Outside { .. })
        ));
    }

    #[test]
    fn links_out_or_into_git_are_refused() {
        let (root, outside) = repo();
        symlink(
            outside.path().join("secret.csv"),
            root.path().join("data/creds.csv"),
        )
        .unwrap();
        symlink(
            root.path().join(".git/config"),
            root.path().join("data/config.csv"),
        )
        .unwrap();
        symlink("../.git", root.path().join("data/gitdir")).unwrap();
        symlink(outside.path(), root.path().join("data/away")).unwrap();
        assert!(matches!(
            inside(root.path(), "data/creds.csv"),
            Err(Escape::LinkOutside { .. })
        ));
        assert!(matches!(
            inside(root.path(), "data/away/secret.csv"),
            Err(Escape::LinkOutside { .. })
        ));
        assert!(matches!(
            inside(root.path(), "data/config.csv"),
            Err(Escape::GitDir { .. })
        ));
        assert!(matches!(
            inside(root.path(), "data/gitdir/config"),
            Err(Escape::GitDir { .. })
        ));
        assert!(matches!(
            inside(root.path(), ".git/config"),
            Err(Escape::GitDir { .. })
        ));
    }

    #[test]
    fn links_that_stay_inside_resolve() {
        let (root, _outside) = repo();
        symlink("train.csv", root.path().join("data/latest.csv")).unwrap();
        assert!(inside(root.path(), "data/latest.csv")
            .unwrap()
            .ends_with("data/train.csv"));
    }

    proptest::proptest! {
        /// Whatever path a config names, through whatever links the
        /// repository holds, what comes back is inside the root, outside
        /// `.git`, and the very file the OS would open.
        #[test]
        fn nothing_resolved_is_outside_or_in_git(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["a", "b", "..", ".", ".git", "config", "out", "in", "gitlink", "up", "secret.csv", "f.csv"]),
                1..7,
            )
        ) {
            let (root, outside) = repo();
            std::fs::create_dir_all(root.path().join("a/b")).unwrap();
            std::fs::write(root.path().join("a/b/f.csv"), "x").unwrap();
            symlink(outside.path(), root.path().join("out")).unwrap();
            symlink("a", root.path().join("in")).unwrap();
            symlink(".git", root.path().join("gitlink")).unwrap();
            symlink("../..", root.path().join("a/up")).unwrap();
            let path = parts.join("/");
            if let Ok(real) = inside(root.path(), &path) {
                let canonical_root = root.path().canonicalize().unwrap();
                let below = real.strip_prefix(&canonical_root);
                proptest::prop_assert!(below.is_ok(), "{path} -> {real:?}");
                proptest::prop_assert!(!has_git_component(below.unwrap()), "{path} -> {real:?}");
                proptest::prop_assert_eq!(root.path().join(&path).canonicalize().unwrap(), real);
            }
        }
    }

    #[test]
    fn missing_files_say_so() {
        let (root, _outside) = repo();
        assert!(matches!(
            inside(root.path(), "data/none.csv"),
            Err(Escape::Missing { .. })
        ));
    }
}
