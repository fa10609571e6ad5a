//! TOML read with the position of every value (`toml::de::DeTable`), so a
//! task's command carries the line it is written on.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::TaskError;

/// A parsed TOML document and its text, for line numbers.
pub(crate) struct Doc<'i> {
    text: &'i str,
    root: Spanned<DeTable<'i>>,
    /// Where each line break is: a line number is a binary search, not a
    /// count from the top (a file of thousands of tasks asks thousands).
    breaks: Vec<usize>,
}

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

impl<'i> Doc<'i> {
    pub(crate) fn parse(text: &'i str) -> Result<Doc<'i>, TaskError> {
        match DeTable::parse(text) {
            Ok(root) => Ok(Doc {
                text,
                root,
                breaks: memchr::memchr_iter(b'\n', text.as_bytes()).collect(),
            }),
            Err(err) => Err(TaskError {
                line: err.span().map(|s| crate::yaml_span::line_of(text, s.start)),
                message: err.message().trim().to_string(),
            }),
        }
    }

    pub(crate) fn root(&self) -> &DeTable<'i> {
        self.root.get_ref()
    }

    /// The 1-based line a value starts on; a multi-line string's first line
    /// when it opens with `"""`/`'''` and a line break, as TOML drops that
    /// break.
    pub(crate) fn line(&self, value: &Value<'_>) -> usize {
        let start = value.span().start.min(self.text.len());
        let line = self.breaks.partition_point(|&at| at < start) + 1;
        let rest = self.text.get(start..).unwrap_or("");
        let opens_block = ["\"\"\"\n", "'''\n", "\"\"\"\r\n", "'''\r\n"]
            .iter()
            .any(|open| rest.starts_with(open));
        line + usize::from(opens_block)
    }
}

/// The table under the dotted `path` (`["tool", "poe", "tasks"]`).
pub(crate) fn table_at<'a, 'i>(table: &'a DeTable<'i>, path: &[&str]) -> Option<&'a DeTable<'i>> {
    let mut current = table;
    for key in path {
        current = current.get(*key)?.get_ref().as_table()?;
    }
    Some(current)
}

/// A string, or each string of an array of strings (other items skipped).
pub(crate) fn strings<'a, 'i>(value: &'a Value<'i>) -> Vec<(&'a str, &'a Value<'i>)> {
    match value.get_ref() {
        DeValue::String(s) => vec![(s.as_ref(), value)],
        DeValue::Array(items) => items
            .iter()
            .filter_map(|item| item.get_ref().as_str().map(|s| (s, item)))
            .collect(),
        _ => Vec::new(),
    }
}

/// `table[key]` as a string.
pub(crate) fn get_str<'a>(table: &'a DeTable<'_>, key: &str) -> Option<&'a str> {
    table.get(key)?.get_ref().as_str()
}

/// An argv written as an array of words (`cmd = ["pytest", "-x"]`), joined
/// for the shell.
pub(crate) fn argv(value: &Value<'_>) -> Option<String> {
    let items = value.get_ref().as_array()?;
    let words: Vec<&str> = items.iter().filter_map(|w| w.get_ref().as_str()).collect();
    (!words.is_empty())
        .then(|| shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" ")))
}
