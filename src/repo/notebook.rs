//! Jupyter notebooks (`.ipynb`) read for evidence: the cell sources, and where
//! each of their lines sits in the notebook's JSON.
//!
//! A notebook is mostly its outputs: base64 images, HTML tables, widget state.
//! None of that is what a person wrote, and regex-scanning it cost seconds per
//! notebook. The reader walks the JSON once, skips every value that is not a
//! cell's `cell_type` or `source` without decoding it (a string is skipped with
//! `memchr`), and decodes the sources with `serde_json`. Its recursion is capped
//! and every byte is visited a bounded number of times, so a hostile notebook
//! costs time linear in its size and never a crash.

use memchr::memchr3;

/// How deep JSON may nest before the file is called malformed. Real notebooks
/// nest a dozen levels (widget state, JSON outputs); the cap keeps the reader's
/// recursion off the end of the thread's stack.
const MAX_DEPTH: usize = 128;

/// The sources of a notebook's cells, as one text with a map of its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notebook {
    /// Every cell's source, one after the other; every line ends with `\n`.
    pub text: String,
    /// Where each line of `text` comes from, in order.
    pub lines: Vec<SourceLine>,
}

/// Where one line of [`Notebook::text`] sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLine {
    /// The 1-based line of the notebook's JSON file holding the source line:
    /// the line a reader sees in the raw file, in a diff and in `?plain=1` views.
    pub json_line: u32,
    /// The 1-based number of the cell, counting every cell in file order.
    pub cell: u32,
    /// 1-based line within the cell's source.
    pub cell_line: u32,
    /// Whether the cell is a code cell (rather than Markdown or raw).
    pub code: bool,
}

/// Why a notebook could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct NotebookError {
    /// 1-based line of the JSON file where reading stopped.
    pub line: u32,
    /// What was wrong there.
    pub message: String,
}

/// Reads a notebook's cell sources (nbformat 4, and the `worksheets` of
/// nbformat 3). Outputs, attachments and metadata are skipped unread.
pub fn parse(json: &str) -> Result<Notebook, NotebookError> {
    let mut reader = Reader {
        text: json,
        bytes: json.as_bytes(),
        pos: 0,
        line: 1,
        out: Notebook::default(),
        cells: 0,
    };
    reader.document()?;
    Ok(reader.out)
}

/// One source string of a cell and the JSON line it starts on.
struct Piece {
    json_line: u32,
    text: String,
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The 1-based line at `pos`. JSON strings hold no raw newline, so lines are
    /// counted in whitespace only.
    line: u32,
    out: Notebook,
    cells: u32,
}

impl Reader<'_> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, NotebookError> {
        Err(NotebookError {
            line: self.line,
            message: message.into(),
        })
    }

    fn document(&mut self) -> Result<(), NotebookError> {
        self.ws();
        if self.peek() != Some(b'{') {
            return self.error("a notebook is a JSON object; this file does not start with `{`");
        }
        self.object(0, |r, key, depth| match key {
            "cells" => r.cells_array(depth),
            // nbformat 3 keeps its cells in worksheets.
            "worksheets" => r.array(depth, |r, depth| {
                if r.peek() == Some(b'{') {
                    r.object(depth, |r, key, depth| match key {
                        "cells" => r.cells_array(depth),
                        _ => r.skip_value(depth),
                    })
                } else {
                    r.skip_value(depth)
                }
            }),
            _ => r.skip_value(depth),
        })?;
        self.ws();
        if self.pos < self.bytes.len() {
            return self.error("text after the notebook's closing `}`");
        }
        Ok(())
    }

    fn cells_array(&mut self, depth: usize) -> Result<(), NotebookError> {
        if self.peek() != Some(b'[') {
            return self.skip_value(depth);
        }
        self.array(depth, |r, depth| {
            if r.peek() == Some(b'{') {
                r.cell(depth)
            } else {
                r.skip_value(depth)
            }
        })
    }

    fn cell(&mut self, depth: usize) -> Result<(), NotebookError> {
        let mut kind: Option<String> = None;
        let mut pieces: Vec<Piece> = Vec::new();
        self.object(depth, |r, key, depth| match key {
            "cell_type" if r.peek() == Some(b'"') => {
                kind = Some(r.string()?);
                Ok(())
            }
            // `input` is where nbformat 3 kept a code cell's source.
            "source" | "input" => r.source(depth, &mut pieces),
            _ => r.skip_value(depth),
        })?;
        self.cells += 1;
        let code = kind.as_deref() == Some("code");
        self.push_cell(code, pieces);
        Ok(())
    }

    /// A cell's source: one string, or a list of strings (one per line as
    /// nbformat writes it).
    fn source(&mut self, depth: usize, pieces: &mut Vec<Piece>) -> Result<(), NotebookError> {
        match self.peek() {
            Some(b'"') => {
                let json_line = self.line;
                pieces.push(Piece {
                    json_line,
                    text: self.string()?,
                });
                Ok(())
            }
            Some(b'[') => self.array(depth, |r, depth| {
                if r.peek() == Some(b'"') {
                    let json_line = r.line;
                    let text = r.string()?;
                    pieces.push(Piece { json_line, text });
                    Ok(())
                } else {
                    r.skip_value(depth)
                }
            }),
            _ => self.skip_value(depth),
        }
    }

    /// Appends a cell's lines: a line starts in the piece holding its first
    /// character, so a line is reported where a reader finds it.
    fn push_cell(&mut self, code: bool, pieces: Vec<Piece>) {
        let cell = self.cells;
        let mut open = false;
        let mut cell_line = 0;
        for piece in pieces {
            for segment in piece.text.split_inclusive('\n') {
                if !open {
                    cell_line += 1;
                    self.out.lines.push(SourceLine {
                        json_line: piece.json_line,
                        cell,
                        cell_line,
                        code,
                    });
                    open = true;
                }
                self.out.text.push_str(segment);
                if segment.ends_with('\n') {
                    open = false;
                }
            }
        }
        if open {
            self.out.text.push('\n');
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), NotebookError> {
        self.ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(format!("expected {what}"))
        }
    }

    /// Walks an object, calling `field` with the reader on each value.
    fn object(
        &mut self,
        depth: usize,
        mut field: impl FnMut(&mut Self, &str, usize) -> Result<(), NotebookError>,
    ) -> Result<(), NotebookError> {
        if depth >= MAX_DEPTH {
            return self.error(format!("JSON nested deeper than {MAX_DEPTH} levels"));
        }
        self.expect(b'{', "`{`")?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return self.error("expected a quoted key");
            }
            let key = self.string()?;
            self.expect(b':', "`:` after a key")?;
            self.ws();
            field(self, &key, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `}` in an object"),
            }
        }
    }

    /// Walks an array, calling `item` with the reader on each element.
    fn array(
        &mut self,
        depth: usize,
        mut item: impl FnMut(&mut Self, usize) -> Result<(), NotebookError>,
    ) -> Result<(), NotebookError> {
        if depth >= MAX_DEPTH {
            return self.error(format!("JSON nested deeper than {MAX_DEPTH} levels"));
        }
        self.expect(b'[', "`[`")?;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self, depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `]` in an array"),
            }
        }
    }

    /// Skips any value without decoding it.
    fn skip_value(&mut self, depth: usize) -> Result<(), NotebookError> {
        self.ws();
        match self.peek() {
            Some(b'{') => self.object(depth, |r, _, depth| r.skip_value(depth)),
            Some(b'[') => self.array(depth, |r, depth| r.skip_value(depth)),
            Some(b'"') => self.string_end().map(|_| ()),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
                if self.text[start..self.pos].parse::<f64>().is_err() {
                    return self.error("malformed number");
                }
                Ok(())
            }
            Some(_) => self.error("expected a JSON value"),
            None => self.error("the file ends in the middle of the notebook"),
        }
    }

    fn word(&mut self, word: &str) -> Result<(), NotebookError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("expected a JSON value")
        }
    }

    /// Moves past a string starting at `pos`; returns whether it held escapes.
    fn string_end(&mut self) -> Result<bool, NotebookError> {
        let mut at = self.pos + 1;
        let mut escaped = false;
        loop {
            let Some(found) = memchr3(b'"', b'\\', b'\n', &self.bytes[at..]) else {
                return self.error("a string is never closed");
            };
            at += found;
            match self.bytes[at] {
                b'"' => {
                    self.pos = at + 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    // The escaped byte is never the closing quote; `\u` digits
                    // are checked when the string is decoded.
                    at += 2;
                    if at > self.bytes.len() {
                        return self.error("a string is never closed");
                    }
                }
                _ => return self.error("a raw line break inside a string"),
            }
        }
    }

    /// Reads and decodes a string starting at `pos`.
    fn string(&mut self) -> Result<String, NotebookError> {
        let start = self.pos;
        let escaped = self.string_end()?;
        let raw = &self.text[start..self.pos];
        if !escaped {
            return Ok(raw[1..raw.len() - 1].to_string());
        }
        serde_json::from_str::<String>(raw).or_else(|err| {
            self.error(format!(
                "bad escape in a string ({})",
                err.to_string().split(" at line").next().unwrap_or_default()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(nb: &Notebook) -> Vec<(&str, u32, u32, bool)> {
        nb.text
            .lines()
            .zip(&nb.lines)
            .map(|(text, l)| (text, l.json_line, l.cell, l.code))
            .collect()
    }

    const NOTEBOOK: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# Title\n",
    "Some \"quoted\" text"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {"tags": ["x"], "n": -1.5e3, "ok": true, "no": null},
   "outputs": [
    {"data": {"image/png": "iVBORw0KGgo=\n", "text/html": ["<b>import evil</b>"]}, "output_type": "display_data"}
   ],
   "source": [
    "import pandas as pd\n",
    "x = 1  # é ✓\n",
    "\n",
    "y = 2"
   ]
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

    #[test]
    fn reads_sources_with_their_json_lines_and_skips_outputs() {
        let nb = parse(NOTEBOOK).unwrap();
        assert_eq!(
            lines(&nb),
            vec![
                ("# Title", 7, 1, false),
                ("Some \"quoted\" text", 8, 1, false),
                ("import pandas as pd", 19, 2, true),
                ("x = 1  # é ✓", 20, 2, true),
                ("", 21, 2, true),
                ("y = 2", 22, 2, true),
            ]
        );
        assert!(!nb.text.contains("evil") && !nb.text.contains("iVBOR"));
        assert!(nb.text.ends_with("y = 2\n"));
    }

    #[test]
    fn a_source_in_one_string_keeps_its_json_line_for_every_line() {
        let nb =
            parse(r#"{"cells": [{"cell_type": "code", "source": "a = 1\nb = 2\n"}]}"#).unwrap();
        assert_eq!(
            lines(&nb),
            vec![("a = 1", 1, 1, true), ("b = 2", 1, 1, true)]
        );
        assert_eq!(nb.lines[1].cell_line, 2);
    }

    #[test]
    fn reads_nbformat_3_worksheets() {
        let nb = parse(
            "{\"worksheets\": [{\"cells\": [\n{\"cell_type\": \"code\", \"input\": [\"import os\\n\"]}]}]}",
        )
        .unwrap();
        assert_eq!(lines(&nb), vec![("import os", 2, 1, true)]);
    }

    #[test]
    fn malformed_notebooks_are_errors_with_a_line_never_a_panic() {
        let cases = [
            "",
            "[]",
            "{",
            "{\"cells\": [",
            "{\"cells\": [{\"source\": \"abc}]}",
            "{\"cells\": [{\"source\": \"a\\",
            "{\"cells\": [{\"source\": \"bad \\u12\"}]}",
            "{\"cells\": [{\"source\": \"x\"} {}]}",
            "{\"cells\": 1e}",
            "{\"cells\": tru}",
            "{\"a\": \"line\nbreak\"}",
            "{} trailing",
            "{\"cells\": [],}",
        ];
        for case in cases {
            let err = parse(case).expect_err(case);
            assert!(err.line >= 1, "{case}: {err}");
        }
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("deeper"));
        let err = parse("{\n\"cells\": [\n  {\"source\": [\"ok\", 3,]}\n]}").unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn odd_but_valid_shapes_are_tolerated() {
        // Sources that are not strings, cells that are not objects, no cells.
        let nb = parse(r#"{"cells": [1, {"source": 2}, {"source": ["a", null]}], "x": [[], {}]}"#)
            .unwrap();
        assert_eq!(lines(&nb), vec![("a", 1, 2, false)]);
        assert_eq!(parse("{}").unwrap(), Notebook::default());
    }
}
