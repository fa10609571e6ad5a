//! Splitting shell text (a `run:` block, a script, a recipe line) into logical
//! commands with their line numbers.
//!
//! This is not a shell parser: it knows quotes, `\` continuations, comments,
//! `$(…)` and backticks, here-documents, and the separators `;`, `&&`, `||`,
//! `|`, `&` and newlines, which is what CI scripts are made of. Control-flow
//! keywords are peeled off so `if pytest tests; then` yields `pytest tests`.

use crate::repo::RepoIndex;

use super::paths;

/// One logical command of a block of shell text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellCommand {
    /// The command, continuations joined, keywords peeled off.
    pub text: String,
    /// 1-based line of its first character.
    pub line: usize,
    /// The trimmed physical line it starts on, as written: a needle for
    /// finding the command in a file whose parser lost positions.
    pub source_line: String,
}

/// Splits `block` into logical commands; `first_line` is the line of the
/// block's first line.
pub(crate) fn split_commands(block: &str, first_line: usize) -> Vec<ShellCommand> {
    Splitter::new(block, first_line).run()
}

struct Splitter<'a> {
    chars: Vec<char>,
    physical: Vec<&'a str>,
    first_line: usize,
    out: Vec<ShellCommand>,
    current: String,
    /// Line offset (0-based) where `current` began, once it has a non-blank char.
    start: Option<usize>,
    line: usize,
    /// Here-document delimiters waiting for the end of the line; the flag says
    /// whether leading tabs are stripped (`<<-`).
    heredocs: Vec<(String, bool)>,
}

impl<'a> Splitter<'a> {
    fn new(block: &'a str, first_line: usize) -> Self {
        Splitter {
            chars: block.chars().collect(),
            physical: block.split('\n').collect(),
            first_line,
            out: Vec::new(),
            current: String::new(),
            start: None,
            line: 0,
            heredocs: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<ShellCommand> {
        let mut i = 0;
        let mut quote: Option<char> = None;
        // Depth of `$(…)` and backticks: separators inside them do not split.
        let mut nesting = 0usize;
        let mut backtick = false;
        while i < self.chars.len() {
            let c = self.chars[i];
            let next = self.chars.get(i + 1).copied();
            if let Some(q) = quote {
                if c == '\\' && q == '"' {
                    if next == Some('\n') {
                        self.line += 1;
                    } else {
                        self.push(c);
                        if let Some(n) = next {
                            self.push(n);
                        }
                    }
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                if c == '\n' {
                    self.line += 1;
                }
                self.push(c);
                i += 1;
                continue;
            }
            match c {
                '\\' => {
                    if next == Some('\n') {
                        // A continuation joins the next physical line; its
                        // indentation collapses to one space.
                        self.line += 1;
                        i += 2;
                        while self.chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                            i += 1;
                        }
                        if !self.current.is_empty() && !self.current.ends_with(char::is_whitespace)
                        {
                            self.current.push(' ');
                        }
                        continue;
                    }
                    self.push(c);
                    if let Some(n) = next {
                        self.push(n);
                    }
                    i += 2;
                    continue;
                }
                '\'' | '"' => {
                    quote = Some(c);
                    self.push(c);
                }
                '`' => {
                    backtick = !backtick;
                    self.push(c);
                }
                '$' if next == Some('(') => {
                    nesting += 1;
                    self.push('$');
                    self.push('(');
                    i += 2;
                    continue;
                }
                '(' if nesting > 0 => {
                    nesting += 1;
                    self.push(c);
                }
                ')' if nesting > 0 => {
                    nesting -= 1;
                    self.push(c);
                }
                '#' if self.current.is_empty() || self.current.ends_with(char::is_whitespace) => {
                    while i < self.chars.len() && self.chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                '\n' => {
                    if nesting == 0 && !backtick {
                        self.finish();
                    } else {
                        self.current.push(' ');
                    }
                    self.line += 1;
                    i += 1;
                    i = self.skip_heredocs(i);
                    continue;
                }
                ';' | '|' | '&' if nesting == 0 && !backtick => {
                    let prev = self.current.chars().last();
                    if c == '&' && (matches!(prev, Some('>' | '<')) || next == Some('>')) {
                        // `2>&1`, `&>file`: a redirection, not a separator.
                        self.push(c);
                    } else {
                        self.finish();
                        if next == Some(c) {
                            i += 1;
                        }
                    }
                }
                '<' if next == Some('<') && self.chars.get(i + 2) != Some(&'<') => {
                    i = self.heredoc_marker(i);
                    continue;
                }
                _ => self.push(c),
            }
            i += 1;
        }
        self.finish();
        self.out
    }

    fn push(&mut self, c: char) {
        if self.start.is_none() && !c.is_whitespace() {
            self.start = Some(self.line);
        }
        self.current.push(c);
    }

    /// Reads `<<[-]['"]WORD['"]` at `i`, remembers the delimiter, and returns
    /// the index after it.
    fn heredoc_marker(&mut self, mut i: usize) -> usize {
        self.push('<');
        self.push('<');
        i += 2;
        let strip_tabs = self.chars.get(i) == Some(&'-');
        if strip_tabs {
            i += 1;
        }
        while self.chars.get(i).is_some_and(|c| *c == ' ') {
            i += 1;
        }
        let mut word = String::new();
        while let Some(&c) = self.chars.get(i) {
            if c.is_whitespace() || matches!(c, ';' | '|' | '&' | ')' | '<' | '>') {
                break;
            }
            if c != '\'' && c != '"' {
                word.push(c);
            }
            i += 1;
        }
        if !word.is_empty() {
            self.current.push_str(&word);
            self.heredocs.push((word, strip_tabs));
        }
        i
    }

    /// Skips the bodies of pending here-documents that start at `i`.
    fn skip_heredocs(&mut self, mut i: usize) -> usize {
        for (word, _) in std::mem::take(&mut self.heredocs) {
            while i < self.chars.len() {
                let end = self.chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(self.chars.len(), |p| i + p);
                let body_line: String = self.chars[i..end].iter().collect();
                i = end + 1;
                self.line += 1;
                if body_line.trim() == word {
                    break;
                }
            }
        }
        i.min(self.chars.len())
    }

    fn finish(&mut self) {
        let text = std::mem::take(&mut self.current);
        let Some(start) = self.start.take() else {
            return;
        };
        if let Some(text) = clean(&text) {
            let source_line = self
                .physical
                .get(start)
                .map_or("", |l| l.trim())
                .to_string();
            self.out.push(ShellCommand {
                text,
                line: self.first_line + start,
                source_line,
            });
        }
    }
}

/// Peels control-flow keywords off a command and drops pieces that are only
/// syntax (`fi`, `done`, `for x in …`, function headers, case patterns).
fn clean(text: &str) -> Option<String> {
    const PEEL: &[&str] = &[
        "if", "elif", "then", "else", "do", "while", "until", "!", "{", "(",
    ];
    let mut t = text.trim();
    loop {
        let before = t;
        for kw in PEEL {
            if t == *kw {
                return None;
            }
            if let Some(rest) = t.strip_prefix(kw) {
                let symbol = !kw.chars().all(char::is_alphabetic);
                if symbol || rest.starts_with(char::is_whitespace) {
                    t = rest.trim_start();
                }
            }
        }
        if t == before {
            break;
        }
    }
    let first = t.split_whitespace().next()?;
    if matches!(
        first,
        "for" | "case" | "esac" | "fi" | "done" | "}" | ")" | "select" | "function" | "set"
    ) {
        return None;
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.ends_with("(){") || compact.ends_with("()") {
        return None;
    }
    if !t.contains(' ') && t.ends_with(')') && !t.contains('(') {
        return None;
    }
    let mut t = t.to_string();
    // `(cd x && make)` leaves `make)`: drop the unmatched closing parentheses.
    while t.ends_with(')') && t.matches(')').count() > t.matches('(').count() {
        t.pop();
        t.truncate(t.trim_end().len());
    }
    (!t.is_empty()).then_some(t)
}

/// The directory a `cd`/`pushd` command moves to: a directory of the
/// repository, or [`paths::UNKNOWN_DIR`] when it certainly leaves the ones
/// mlscore can place — a variable it cannot read (`cd "${PYTHON_ROOT}"`),
/// an absolute path, home, above the root — so that `pytest ./tests` after
/// it is not taken for the root's tests. `None` (the directory stays) for
/// any other command, `cd -`, and a target that may still be here: a
/// folder the build makes (`mkdir build && cd build`) or a command's
/// output (`cd "$(dirname "$0")"`).
pub(crate) fn cd_target(index: &RepoIndex, cwd: &str, command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    if !matches!(words.next(), Some("cd" | "pushd")) {
        return None;
    }
    let mut rest = words.skip_while(|w| w.starts_with('-') && *w != "-");
    let target = match rest.next() {
        Some("-") => return None,
        Some(target) => target.trim_matches(|c| c == '"' || c == '\''),
        None => return Some(paths::UNKNOWN_DIR.to_string()),
    };
    match paths::join(cwd, target) {
        Some(dir) if dir.is_empty() || index.is_dir(&dir) => Some(dir),
        Some(_) if target.starts_with('$') && !target.starts_with("$(") => {
            Some(paths::UNKNOWN_DIR.to_string())
        }
        Some(_) => None,
        None => Some(paths::UNKNOWN_DIR.to_string()),
    }
}

/// A command placed in a working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlacedCommand {
    pub command: ShellCommand,
    /// The repository-relative directory it runs in.
    pub cwd: String,
}

/// Splits `block` and tracks `cd` between its commands, which share one shell.
pub(crate) fn placed_commands(
    index: &RepoIndex,
    block: &str,
    first_line: usize,
    cwd: &str,
) -> Vec<PlacedCommand> {
    let mut cwd = cwd.to_string();
    split_commands(block, first_line)
        .into_iter()
        .map(|command| {
            let placed = PlacedCommand {
                cwd: cwd.clone(),
                command,
            };
            if let Some(dir) = cd_target(index, &cwd, &placed.command.text) {
                cwd = dir;
            }
            placed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(block: &str) -> Vec<(String, usize)> {
        split_commands(block, 10)
            .into_iter()
            .map(|c| (c.text, c.line))
            .collect()
    }

    #[test]
    fn splits_on_separators_and_joins_continuations() {
        let block = "pip install -r requirements.txt && \\\n  pip install -e .\npytest tests/data \\\n  --maxfail=1 || exit 1; echo done\n\n# a comment\npython -m pytest tests/code | tee log.txt\n";
        assert_eq!(
            texts(block),
            [
                ("pip install -r requirements.txt".to_string(), 10),
                ("pip install -e .".to_string(), 11),
                ("pytest tests/data --maxfail=1".to_string(), 12),
                ("exit 1".to_string(), 13),
                ("echo done".to_string(), 13),
                ("python -m pytest tests/code".to_string(), 16),
                ("tee log.txt".to_string(), 16),
            ]
        );
    }

    #[test]
    fn keeps_quoted_separators_and_redirections() {
        assert_eq!(
            texts("echo 'a && b; c' \"d | e\" 2>&1 &>/dev/null"),
            [(
                "echo 'a && b; c' \"d | e\" 2>&1 &>/dev/null".to_string(),
                10
            )]
        );
        assert_eq!(
            texts("x=$(git diff | wc -l); make test"),
            [
                ("x=$(git diff | wc -l)".to_string(), 10),
                ("make test".to_string(), 10)
            ]
        );
    }

    #[test]
    fn peels_control_flow() {
        let block = "if pytest tests; then\n  echo ok\nelse\n  exit 1\nfi\nfor f in a b; do\n  bash \"$f\"\ndone\n(cd ml && make train)\nsetup() {\n  uv sync\n}\n";
        let got: Vec<String> = split_commands(block, 1)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(
            got,
            [
                "pytest tests",
                "echo ok",
                "exit 1",
                "bash \"$f\"",
                "cd ml",
                "make train",
                "uv sync"
            ]
        );
    }

    #[test]
    fn skips_heredoc_bodies_and_comments() {
        let block = "cat <<EOF > cfg.ini\n[x]\nrm -rf /\nEOF\npytest # run tests\n";
        assert_eq!(
            texts(block),
            [
                ("cat <<EOF > cfg.ini".to_string(), 10),
                ("pytest".to_string(), 14)
            ]
        );
    }

    #[test]
    fn source_line_is_the_physical_line() {
        let cmds = split_commands("  pytest \\\n   tests\n", 3);
        assert_eq!(cmds[0].source_line, "pytest \\");
        assert_eq!(cmds[0].line, 3);
    }

    #[test]
    fn unbalanced_quotes_do_not_panic() {
        assert_eq!(split_commands("echo 'oops", 1).len(), 1);
        assert!(split_commands("", 1).is_empty());
        assert_eq!(split_commands("\\", 1)[0].text, "\\");
        assert_eq!(split_commands("cat <<", 1).len(), 1);
    }

    #[test]
    fn cd_moves_later_commands() {
        let index = RepoIndex::from_memory([("ml/tests/test_a.py", "")]);
        let placed = placed_commands(&index, "cd ml\npytest tests\ncd nowhere\nmake", 1, "");
        let cwds: Vec<&str> = placed.iter().map(|p| p.cwd.as_str()).collect();
        assert_eq!(cwds, ["", "ml", "ml", "ml"]);
    }

    /// After a `cd` to where mlscore cannot follow, nothing the next
    /// commands name is a repository file; a `cd` it can follow, or one
    /// that may stay in the repository, places them as before.
    #[test]
    fn cd_to_an_unknown_place_places_nothing() {
        let index =
            RepoIndex::from_memory([("tests/test_root.py", ""), ("ml/tests/test_a.py", "")]);
        let cwd_after = |block: &str| {
            let placed = placed_commands(&index, &format!("{block}\npytest ./tests"), 1, "ml");
            placed.last().unwrap().cwd.clone()
        };
        for unknown in [
            "cd \"${PYTHON_ROOT}\"",
            "cd $HOME/src",
            "cd /opt/app",
            "cd ~",
            "cd",
            "cd ../..",
            "pushd ${{ inputs.dir }}",
        ] {
            let cwd = cwd_after(unknown);
            assert_eq!(cwd, paths::UNKNOWN_DIR, "{unknown}");
            assert_eq!(paths::join(&cwd, "./tests"), None, "{unknown}");
            assert_eq!(paths::join(&cwd, "../tests"), None, "{unknown}");
        }
        // A workspace variable is the root, which stays known after it.
        assert_eq!(
            paths::join(paths::UNKNOWN_DIR, "$GITHUB_WORKSPACE/tests").as_deref(),
            Some("tests")
        );
        for (known, cwd) in [
            ("cd $GITHUB_WORKSPACE", ""),
            ("cd ..", ""),
            ("cd -P .", "ml"),
            ("cd -", "ml"),
            ("cd build", "ml"),
            ("cd \"$(dirname \"$0\")\"", "ml"),
        ] {
            assert_eq!(cwd_after(known), cwd, "{known}");
        }
    }
}
