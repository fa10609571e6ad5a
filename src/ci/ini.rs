//! A small INI reader for `tox.ini`, `setup.cfg` and `pytest.ini`: sections,
//! `key = value` (or `key: value`) entries, indented continuation lines, `#`
//! and `;` comment lines, every value line with its line number.

/// A parsed INI file.
#[derive(Debug, Default)]
pub(crate) struct Ini {
    sections: Vec<Section>,
    /// The first section of each name: a `tox.ini` with thousands of
    /// `[testenv:x]` sections is looked up once per environment.
    by_name: std::collections::HashMap<String, usize>,
    /// Lines read, for bounds proportional to the file.
    line_count: usize,
}

/// One `[section]`.
#[derive(Debug)]
pub(crate) struct Section {
    pub name: String,
    pub entries: Vec<Entry>,
}

/// One key and its value lines.
#[derive(Debug)]
pub(crate) struct Entry {
    pub key: String,
    /// Non-empty value lines, trimmed, each with its 1-based line number: the
    /// text after `=` (when any) and then each continuation line.
    pub lines: Vec<(String, usize)>,
}

impl Ini {
    /// Parses INI text; `first_line` is the file line of the text's first line
    /// (INI embedded in `pyproject.toml` starts further down).
    pub(crate) fn parse(text: &str, first_line: usize) -> Ini {
        let mut ini = Ini::default();
        for (i, raw) in text.lines().enumerate() {
            let line_no = first_line + i;
            ini.line_count = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indented = raw.starts_with([' ', '\t']);
            if !indented && trimmed.starts_with('[') && trimmed.ends_with(']') {
                let name = trimmed[1..trimmed.len() - 1].trim().to_string();
                ini.by_name
                    .entry(name.clone())
                    .or_insert(ini.sections.len());
                ini.sections.push(Section {
                    name,
                    entries: Vec::new(),
                });
                continue;
            }
            let Some(section) = ini.sections.last_mut() else {
                continue;
            };
            if indented {
                if let Some(entry) = section.entries.last_mut() {
                    entry.lines.push((trimmed.to_string(), line_no));
                }
                continue;
            }
            let split = trimmed.find(['=', ':']);
            let (key, value) = match split {
                Some(at) => (trimmed[..at].trim(), trimmed[at + 1..].trim()),
                None => (trimmed, ""),
            };
            let mut lines = Vec::new();
            if !value.is_empty() {
                lines.push((value.to_string(), line_no));
            }
            section.entries.push(Entry {
                key: key.to_string(),
                lines,
            });
        }
        ini
    }

    /// How many lines the text had.
    pub(crate) fn line_count(&self) -> usize {
        self.line_count
    }

    /// The section named `name` (exact, as INI readers compare section names).
    pub(crate) fn section(&self, name: &str) -> Option<&Section> {
        self.by_name.get(name).map(|&i| &self.sections[i])
    }
}

impl Section {
    /// The entry for `key`, compared case-insensitively with `-` and `_` alike
    /// (`env_list` and `envlist`, `change_dir` and `changedir` are handled by
    /// the caller asking for each).
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
    }
}

impl Entry {
    /// All value lines joined by spaces (for whitespace-separated lists).
    pub(crate) fn joined(&self) -> String {
        self.lines
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_entries_and_continuations() {
        let text = "# tox\n[tox]\nenvlist = py311, lint\n\n[testenv]\ncommands =\n    pytest {posargs:tests}\n    ; a comment\n    python -m mypy src\n[pytest]\ntestpaths: tests/unit\n  tests/data\n";
        let ini = Ini::parse(text, 1);
        assert_eq!(ini.sections.len(), 3);
        let testenv = ini.section("testenv").unwrap();
        let commands = testenv.get("COMMANDS").unwrap();
        assert_eq!(
            commands.lines,
            [
                ("pytest {posargs:tests}".to_string(), 7),
                ("python -m mypy src".to_string(), 9)
            ]
        );
        assert_eq!(
            ini.section("pytest")
                .unwrap()
                .get("testpaths")
                .unwrap()
                .joined(),
            "tests/unit tests/data"
        );
        assert_eq!(
            Ini::parse("[a]\nk=v", 41)
                .section("a")
                .unwrap()
                .get("k")
                .unwrap()
                .lines[0]
                .1,
            42
        );
    }

    #[test]
    fn tolerates_garbage() {
        let ini = Ini::parse("key outside\n  indented\n[unterminated\n=\n", 1);
        assert!(ini.sections.is_empty());
    }
}
