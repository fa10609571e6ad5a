//! Pieces every YAML-defined CI reader shares: reading a definition file
//! with read and parse failures turned into warnings, and placing the
//! commands of a script block on the lines they are written on (the YAML
//! parser keeps no positions, so each command's text is found again).

use rayon::prelude::*;
use serde_yaml::Value;

use crate::repo::{FileEntry, RepoIndex};

use super::job::Pending;
use super::{lines, shell, yaml, CiWarning};

/// A warning about `path`, at `line` when known.
pub(crate) fn warning(path: &str, line: Option<usize>, message: impl Into<String>) -> CiWarning {
    CiWarning {
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

/// The text and documents of a YAML definition file; `what` names the file
/// in warnings ("Azure Pipelines file"). `None` (with a warning) when it
/// cannot be read or parsed.
pub(crate) fn read_docs<'a>(
    index: &'a RepoIndex,
    path: &str,
    what: &str,
    warnings: &mut Vec<CiWarning>,
) -> Option<(&'a str, Vec<Value>)> {
    let Some(text) = index.text(path) else {
        warnings.push(warning(
            path,
            None,
            format!("could not read this {what}; its jobs are not counted"),
        ));
        return None;
    };
    match yaml::parse_all(text) {
        Ok(mut docs) => {
            for doc in &mut docs {
                // Bitbucket, CircleCI and Drone files lean on `<<: *anchor`.
                let _ = doc.apply_merge();
            }
            Some((text, docs))
        }
        Err(err) => {
            warnings.push(warning(
                path,
                err.line,
                format!(
                    "could not parse this {what} ({}); its jobs are not counted",
                    err.message
                ),
            ));
            None
        }
    }
}

/// Like [`read_docs`] for a file of one document (an empty file is `Null`).
pub(crate) fn read_doc<'a>(
    index: &'a RepoIndex,
    path: &str,
    what: &str,
    warnings: &mut Vec<CiWarning>,
) -> Option<(&'a str, Value)> {
    let (text, docs) = read_docs(index, path, what, warnings)?;
    Some((text, docs.into_iter().next().unwrap_or(Value::Null)))
}

/// How many shorter word prefixes of a command are searched for when its
/// full text is not written anywhere.
const MAX_PREFIX_TRIES: usize = 6;

/// Places commands in one definition file: each command's line is searched
/// for from a cursor that moves down the file as steps are read, so equal
/// commands in two steps get their own lines.
pub(crate) struct Placer<'a> {
    pub index: &'a RepoIndex,
    pub file: &'a str,
    pub text: &'a str,
    /// Line from which the next command is searched.
    pub cursor: usize,
    /// Hops from the CI definition (1 inside a template the pipeline includes).
    pub depth: usize,
    /// Files the text may come from instead (the callers of a template that
    /// passed a script as a parameter), searched when `text` lacks it.
    pub fallback: Vec<(&'a str, &'a str)>,
    /// Line of the last command placed: the next block starts below it.
    last: usize,
}

impl<'a> Placer<'a> {
    pub(crate) fn new(index: &'a RepoIndex, file: &'a str, text: &'a str, cursor: usize) -> Self {
        Placer {
            index,
            file,
            text,
            cursor,
            depth: 0,
            fallback: Vec::new(),
            last: 0,
        }
    }

    /// Moves the cursor to the next line holding `needle`, if any; returns
    /// the cursor.
    pub(crate) fn seek(&mut self, needle: &str) -> usize {
        if let Some(line) = lines::find_line(self.text, needle, self.cursor) {
            self.cursor = line;
        }
        self.cursor
    }

    /// The commands of one block of shell text run in `cwd`; `cd` carries
    /// over within the block, which runs in one shell.
    pub(crate) fn block(&mut self, script: &str, cwd: &str, out: &mut Vec<Pending>) {
        self.blocks(std::slice::from_ref(&script.to_string()), cwd, out);
    }

    /// The commands of several blocks that share one shell (`cd` in one
    /// carries to the next), as a CodeBuild or Travis job runs them.
    pub(crate) fn blocks(&mut self, scripts: &[String], cwd: &str, out: &mut Vec<Pending>) {
        let mut cwd = cwd.to_string();
        for script in scripts {
            // A new block is written below the last command placed.
            self.cursor = self.cursor.max(self.last + 1);
            for command in shell::split_commands(script, 1) {
                let (file, line) = self.locate(&command.source_line);
                out.push(Pending::new(
                    command.text.clone(),
                    file,
                    line,
                    self.depth,
                    &cwd,
                ));
                if let Some(dir) = shell::cd_target(self.index, &cwd, &command.text) {
                    cwd = dir;
                }
            }
        }
    }

    /// One command given as an argument vector (`entrypoint` + `args`, a
    /// container's `command` + `args`), quoted back into one command line.
    pub(crate) fn argv(&mut self, words: &[String], cwd: &str, out: &mut Vec<Pending>) {
        let Some(first) = words.iter().find(|w| !w.trim().is_empty()) else {
            return;
        };
        let text =
            shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "));
        let (file, line) = self.locate(first);
        out.push(Pending::new(text, file, line, self.depth, cwd));
    }

    /// One command built by the reader (`bash deploy.sh`, `python x.py`),
    /// placed on the line that holds `needle` (the script's path).
    pub(crate) fn command(
        &mut self,
        text: String,
        needle: &str,
        cwd: &str,
        out: &mut Vec<Pending>,
    ) {
        let (file, line) = self.locate(needle);
        out.push(Pending::new(text, file, line, self.depth, cwd));
    }

    /// Where `needle` is written: below the cursor, anywhere in the file, in a
    /// fallback file, else the cursor itself.
    fn locate(&mut self, needle: &str) -> (&'a str, usize) {
        if let Some(line) = lines::find_line(self.text, needle, self.cursor) {
            self.cursor = line;
            self.last = line;
            return (self.file, line);
        }
        if let Some(line) = lines::find_line(self.text, needle, 1) {
            return (self.file, line);
        }
        for (file, text) in &self.fallback {
            if let Some(line) = lines::find_line(text, needle, 1) {
                return (file, line);
            }
        }
        // A command whose text was filled in from parameters or variables:
        // its first words are written as they run.
        let words: Vec<&str> = needle.split_whitespace().collect();
        for k in (1..words.len()).rev().take(MAX_PREFIX_TRIES) {
            let written = words[..k].join(" ");
            if written.len() < 3 {
                break;
            }
            if let Some(line) = lines::find_line(self.text, &written, self.cursor) {
                self.cursor = line;
                self.last = line;
                return (self.file, line);
            }
        }
        (self.file, self.cursor)
    }
}

/// The scalar items of a string or a list (`commands:` written either way).
pub(crate) fn scripts(value: Option<&Value>) -> Vec<String> {
    value.map(yaml::string_list).unwrap_or_default()
}

/// The text of every YAML file of the repository (outside `node_modules`),
/// read on every core: readers that find their files by content (Argo,
/// Tekton, CloudFormation) must not read a large repository one file at a
/// time. Texts are cached by the index, so later scans cost no reads.
pub(crate) fn yaml_texts(index: &RepoIndex, also: fn(&str) -> bool) -> Vec<(&FileEntry, &str)> {
    let wanted: Vec<&FileEntry> = index
        .files()
        .iter()
        .filter(|f| (is_yaml(&f.path) || also(&f.path)) && !f.path.contains("node_modules/"))
        .collect();
    wanted
        .par_iter()
        .filter_map(|f| Some((*f, index.source(f)?)))
        .collect()
}

/// Whether a YAML file name has a YAML extension.
pub(crate) fn is_yaml(path: &str) -> bool {
    crate::text::case::ends_with_ignore_case(path, ".yml")
        || crate::text::case::ends_with_ignore_case(path, ".yaml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placer_finds_lines_tracks_cd_and_falls_back() {
        let index = RepoIndex::from_memory([("ml/train.py", "")]);
        let text =
            "steps:\n  - run: |\n      cd ml\n      python train.py\n  - run: python train.py\n";
        let caller = "x:\n  script: make deploy\n";
        let mut placer = Placer::new(&index, "ci.yml", text, 1);
        placer.fallback.push(("caller.yml", caller));
        let mut out = Vec::new();
        placer.block("cd ml\npython train.py\n", "", &mut out);
        placer.block("python train.py", "", &mut out);
        placer.block("make deploy", "", &mut out);
        placer.argv(&["pytest".into(), "tests dir".into()], "", &mut out);
        let got: Vec<(&str, &str, usize, &str)> = out
            .iter()
            .map(|p| (p.text.as_str(), p.file.as_str(), p.line, p.cwd.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("cd ml", "ci.yml", 3, ""),
                ("python train.py", "ci.yml", 4, "ml"),
                ("python train.py", "ci.yml", 5, ""),
                ("make deploy", "caller.yml", 2, ""),
                ("pytest 'tests dir'", "ci.yml", 6, ""),
            ]
        );
    }

    #[test]
    fn unreadable_and_broken_files_warn_with_lines() {
        let index = RepoIndex::from_memory([("a.yml", "a: [\n"), ("b.yml", "")]);
        let mut warnings = Vec::new();
        assert!(read_doc(&index, "a.yml", "test file", &mut warnings).is_none());
        assert!(read_doc(&index, "zzz.yml", "test file", &mut warnings).is_none());
        assert_eq!(
            read_doc(&index, "b.yml", "test file", &mut warnings).map(|(_, v)| v),
            Some(Value::Null)
        );
        let lines: Vec<Option<usize>> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [Some(2), None]);
    }
}
