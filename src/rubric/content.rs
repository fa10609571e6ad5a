//! Content rules (`contains:` patterns) compiled for a scan whose cost is
//! linear in the bytes read, with a constant close to grep's.
//!
//! Three things keep it there:
//! - A pattern written in ASCII is compiled with ASCII classes and word
//!   boundaries, so its automaton never leaves the lazy DFA (a Unicode `\b`
//!   makes the DFA quit on the first non-ASCII byte and fall back to the much
//!   slower PikeVM). Only a pattern that needs Unicode — a non-ASCII character,
//!   or a Unicode class such as `\p{Han}` — keeps Unicode semantics.
//! - Every pattern's required literals (one of `seed`, `random_state`, … must
//!   occur in any match) go into one Aho-Corasick automaton; one pass over a
//!   file tells which rules can match it, and the others are never run.
//! - A rule's regex is compiled the first time a file could match it, and its
//!   search stops after the lines a report shows.

use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, PatternID};
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literal sets larger than this are not worth a prefilter entry.
const MAX_SET: usize = 64;

/// Literals shorter than this occur everywhere; a group holding one is dropped.
const MIN_LITERAL: usize = 2;

/// How many required-literal groups a rule keeps (every one must occur).
const MAX_GROUPS: usize = 4;

/// Excerpts of long lines show this many bytes around the match.
const EXCERPT_WINDOW: usize = 480;

/// One content pattern ready to scan.
#[derive(Debug)]
pub struct ContentRule {
    pattern: String,
    unicode: bool,
    /// Groups of lower-cased literals: any match contains one literal of every
    /// group. Empty when nothing useful is required: the rule always runs.
    groups: Vec<Vec<Vec<u8>>>,
    regex: OnceLock<Option<Regex>>,
}

impl ContentRule {
    /// Prepares `pattern` (already validated as a regex by the catalogue).
    pub fn new(pattern: &str) -> ContentRule {
        let ascii = pattern.is_ascii().then(|| parse(pattern, false)).flatten();
        let unicode = ascii.is_none();
        let hir = ascii.or_else(|| parse(pattern, true));
        let groups = hir.map(|hir| required_groups(&hir)).unwrap_or_default();
        ContentRule {
            pattern: pattern.to_string(),
            unicode,
            groups,
            regex: OnceLock::new(),
        }
    }

    /// The compiled regex; `None` only for a pattern the catalogue should
    /// have refused (too large to compile), which then never matches.
    pub fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                RegexBuilder::new(&self.pattern)
                    .multi_line(true)
                    .unicode(self.unicode)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Up to `max` lines of `text` the rule matches: each line's 0-based index
    /// and a shortened excerpt. The search resumes at the next line after a
    /// hit and stops after `max` lines, so its cost is linear in `text`.
    pub fn matching_lines(&self, text: &str, max: usize) -> Vec<(usize, String)> {
        let Some(re) = self.regex() else {
            return Vec::new();
        };
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let (mut at, mut line, mut counted) = (0, 0, 0);
        while found.len() < max && at <= bytes.len() {
            let Some(m) = re.find_at(bytes, at) else {
                break;
            };
            line += memchr::memchr_iter(b'\n', &bytes[counted..m.start()]).count();
            counted = m.start();
            // `at` is 0 or a line's start, so the line starts there at the latest.
            let start = memchr::memrchr(b'\n', &bytes[at..m.start()]).map_or(at, |i| at + i + 1);
            let end =
                memchr::memchr(b'\n', &bytes[m.start()..]).map_or(bytes.len(), |i| m.start() + i);
            found.push((line, excerpt(text, start, end, m.start())));
            at = end + 1;
        }
        found
    }
}

/// The rules of one scan and the literal automaton over all of them.
#[derive(Debug)]
pub struct ContentSet {
    rules: Vec<ContentRule>,
    automaton: Option<LiteralFinder>,
    /// For each automaton pattern: (rule, group).
    owner: Vec<(usize, usize)>,
}

impl ContentSet {
    /// Builds the set; rule `i` of the set is `patterns[i]`.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> ContentSet {
        let rules: Vec<ContentRule> = patterns.into_iter().map(ContentRule::new).collect();
        let mut literals = Vec::new();
        let mut owner = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            for (g, group) in rule.groups.iter().enumerate() {
                for literal in group {
                    literals.push(literal.clone());
                    owner.push((r, g));
                }
            }
        }
        let automaton = (!literals.is_empty())
            .then(|| LiteralFinder::new(&literals))
            .flatten();
        // Without the automaton (it cannot fail on these inputs, but if it
        // did) every rule simply runs.
        let rules = if automaton.is_some() {
            rules
        } else {
            rules
                .into_iter()
                .map(|mut r| {
                    r.groups.clear();
                    r
                })
                .collect()
        };
        ContentSet {
            rules,
            automaton,
            owner,
        }
    }

    /// Rule `i`.
    pub fn rule(&self, i: usize) -> &ContentRule {
        &self.rules[i]
    }

    /// What [`ContentSet::candidates_into`] needs to know of a list of
    /// wanted rules, worked out once for all the files that want them.
    pub fn wanted(&self, rules: impl IntoIterator<Item = usize>) -> Wanted {
        let mut wanted = Wanted {
            mask: vec![false; self.rules.len()],
            always: Vec::new(),
            open: 0,
        };
        for r in rules {
            if std::mem::replace(&mut wanted.mask[r], true) {
                continue;
            }
            if self.rules[r].groups.is_empty() {
                wanted.always.push(r);
            } else {
                wanted.open += 1;
            }
        }
        wanted
    }

    /// Which of `wanted` (rule indices) can match `text`, in `wanted`'s order:
    /// a rule whose required literals do not all occur cannot.
    #[cfg(test)]
    pub fn candidates(&self, wanted: &[usize], text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        self.candidates_into(
            &self.wanted(wanted.iter().copied()),
            text,
            &mut out,
            &mut CandidateRoom::default(),
        );
        let mut ordered: Vec<usize> = Vec::new();
        for r in wanted {
            if out.contains(r) && !ordered.contains(r) {
                ordered.push(*r);
            }
        }
        ordered
    }

    /// The rules of `wanted` that can match `text`, each once, into `out`
    /// (cleared first): those without required literals first. One pass
    /// over the text, ended early once every wanted rule is found. Its cost
    /// is the text's length plus the literals found: the rules' tallies are
    /// reset lazily, by a generation number, rather than for every wanted
    /// rule of every file.
    pub fn candidates_into(
        &self,
        wanted: &Wanted,
        text: &str,
        out: &mut Vec<usize>,
        room: &mut CandidateRoom,
    ) {
        out.clear();
        out.extend_from_slice(&wanted.always);
        let mut open = wanted.open;
        let Some(automaton) = &self.automaton else {
            return;
        };
        if open == 0 {
            return;
        }
        let CandidateRoom {
            generation,
            stamp,
            missing,
            seen,
        } = room;
        if stamp.len() != self.rules.len() {
            *stamp = vec![0; self.rules.len()];
            missing.resize(self.rules.len(), 0);
            seen.resize(self.rules.len(), 0);
            *generation = 0;
        }
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            // Wrapped: stamps of four billion files ago would read as fresh.
            stamp.fill(0);
            *generation = 1;
        }
        let now = *generation;
        automaton.each_found(text.as_bytes(), |pattern| {
            let (r, g) = self.owner[pattern.as_usize()];
            if !wanted.mask[r] {
                return true;
            }
            if stamp[r] != now {
                stamp[r] = now;
                missing[r] = self.rules[r].groups.len().min(MAX_GROUPS) as u8;
                seen[r] = 0;
            }
            if missing[r] == 0 || seen[r] & (1 << g) != 0 {
                return true;
            }
            seen[r] |= 1 << g;
            missing[r] -= 1;
            if missing[r] == 0 {
                out.push(r);
                open -= 1;
            }
            open > 0
        });
    }
}

/// Every rule's required literals in one Aho-Corasick automaton (a DFA:
/// every file's text goes through it, where the default for this many
/// literals, an NFA, follows failure links byte by byte).
#[derive(Debug)]
struct LiteralFinder {
    dfa: DFA,
    /// Whether no literal holds a line break: then none can cross one, and
    /// a text cut after a line break can be searched in two pieces.
    splittable: bool,
}

/// Calls `found` with each literal that ends at the special state `sid`;
/// `false` when `found` asked to stop. Out of the search loops' way: most
/// steps reach no special state.
#[cold]
#[inline(never)]
fn report_matches(dfa: &DFA, sid: StateID, found: &mut impl FnMut(PatternID) -> bool) -> bool {
    if dfa.is_match(sid) {
        for i in 0..dfa.match_len(sid) {
            if !found(dfa.match_pattern(sid, i)) {
                return false;
            }
        }
    }
    true
}

impl LiteralFinder {
    /// `None` only if the automaton does not build, which these inputs
    /// cannot make it do; every rule then simply runs.
    fn new(literals: &[Vec<u8>]) -> Option<LiteralFinder> {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // The search below steps the automaton itself; a prefilter
            // would only make its start state one to check at every byte.
            .prefilter(false)
            .build(literals)
            .ok()?;
        dfa.start_state(Anchored::No).ok()?;
        let splittable = literals.iter().all(|l| !l.contains(&b'\n'));
        Some(LiteralFinder { dfa, splittable })
    }

    /// Calls `found` with the literal of every occurrence in `text`
    /// (overlapping ones too), until it returns `false`.
    ///
    /// A step of the automaton waits on the one before it (each is a load
    /// of the next state), so one walk uses a fraction of what a core can
    /// do at once. The text is cut in two after a line break near its
    /// middle, and the two pieces are walked side by side: two independent
    /// chains of loads, measured 1.7 times as fast on 100,000 small files.
    /// Occurrences then come in another order than the text's, which no
    /// caller needs.
    fn each_found(&self, text: &[u8], mut found: impl FnMut(PatternID) -> bool) {
        let dfa = &self.dfa;
        let Ok(start) = dfa.start_state(Anchored::No) else {
            return;
        };
        let mut report = |sid| report_matches(dfa, sid, &mut found);
        let (one, two) = if self.splittable {
            crate::text::halves::halves(text)
        } else {
            (text, &[][..])
        };
        let (mut a, mut b) = (start, start);
        let side_by_side = one.len().min(two.len());
        for (&x, &y) in one[..side_by_side].iter().zip(&two[..side_by_side]) {
            a = dfa.next_state(Anchored::No, a, x);
            b = dfa.next_state(Anchored::No, b, y);
            if (dfa.is_special(a) && !report(a)) || (dfa.is_special(b) && !report(b)) {
                return;
            }
        }
        for (rest, mut sid) in [(&one[side_by_side..], a), (&two[side_by_side..], b)] {
            for &x in rest {
                sid = dfa.next_state(Anchored::No, sid, x);
                if dfa.is_special(sid) && !report(sid) {
                    return;
                }
            }
        }
    }
}

/// The wanted rules of [`ContentSet::candidates_into`], prepared by
/// [`ContentSet::wanted`].
#[derive(Debug, Default)]
pub struct Wanted {
    /// Whether each rule of the set is wanted.
    mask: Vec<bool>,
    /// Wanted rules without required literals: they always run.
    always: Vec<usize>,
    /// How many wanted rules have required literals.
    open: usize,
}

/// The tallies [`ContentSet::candidates_into`] keeps between calls. A rule's
/// `missing` and `seen` are current only when its `stamp` is this call's
/// `generation`.
#[derive(Debug, Default)]
pub struct CandidateRoom {
    generation: u32,
    stamp: Vec<u32>,
    missing: Vec<u8>,
    seen: Vec<u64>,
}

fn parse(pattern: &str, unicode: bool) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .multi_line(true)
        .unicode(unicode)
        .utf8(unicode)
        .build()
        .parse(pattern)
        .ok()
}

/// What a piece of a pattern tells about the literals of its matches.
#[derive(Debug, Clone, Default)]
struct Literals {
    /// Every string the piece can match, when few (lower-cased).
    exact: Option<Vec<Vec<u8>>>,
    /// Groups such that any match contains a literal of each.
    groups: Vec<Vec<Vec<u8>>>,
}

impl Literals {
    fn exact(set: Vec<Vec<u8>>) -> Literals {
        Literals {
            exact: Some(set),
            groups: Vec::new(),
        }
    }

    /// The single most selective group, exact strings included.
    fn best(&self) -> Option<Vec<Vec<u8>>> {
        self.exact
            .iter()
            .chain(&self.groups)
            .filter(|g| useful(g.as_slice()))
            .max_by_key(|g| score(g.as_slice()))
            .cloned()
    }

    /// All useful groups, exact strings included.
    fn all_groups(self) -> Vec<Vec<Vec<u8>>> {
        self.exact
            .into_iter()
            .chain(self.groups)
            .filter(|g| useful(g))
            .collect()
    }
}

fn useful(group: &[Vec<u8>]) -> bool {
    !group.is_empty() && group.len() <= MAX_SET && group.iter().all(|l| l.len() >= MIN_LITERAL)
}

/// Longer shortest literal first, then fewer literals.
fn score(group: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = group.iter().map(Vec::len).min().unwrap_or(0);
    (shortest.min(8), std::cmp::Reverse(group.len()))
}

/// The required-literal groups of a whole pattern, best first.
fn required_groups(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    let mut groups = literals(hir).all_groups();
    groups.sort_by_key(|g| std::cmp::Reverse(score(g)));
    groups.dedup();
    groups.truncate(MAX_GROUPS);
    groups
}

fn literals(hir: &Hir) -> Literals {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Literals::exact(vec![Vec::new()]),
        HirKind::Literal(lit) => Literals::exact(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => {
            class_literals(class).map_or_else(Literals::default, Literals::exact)
        }
        HirKind::Capture(capture) => literals(&capture.sub),
        HirKind::Repetition(rep) => {
            let sub = literals(&rep.sub);
            match (rep.min, rep.max) {
                (0, Some(1)) => match sub.exact {
                    Some(mut set) if set.len() < MAX_SET => {
                        set.push(Vec::new());
                        Literals::exact(set)
                    }
                    _ => Literals::default(),
                },
                (0, _) => Literals::default(),
                (1, Some(1)) => sub,
                _ => Literals {
                    exact: None,
                    groups: sub.all_groups(),
                },
            }
        }
        HirKind::Concat(subs) => concat(subs.iter().map(literals)),
        HirKind::Alternation(subs) => {
            let parts: Vec<Literals> = subs.iter().map(literals).collect();
            let exact = parts
                .iter()
                .map(|p| p.exact.clone())
                .collect::<Option<Vec<_>>>()
                .map(|sets| sets.concat())
                .filter(|set| set.len() <= MAX_SET);
            // Any match is a match of one branch: the union of each branch's
            // best group is required.
            let union = parts
                .iter()
                .map(Literals::best)
                .collect::<Option<Vec<_>>>()
                .map(|sets| sets.concat())
                .filter(|set| set.len() <= MAX_SET);
            Literals {
                exact,
                groups: union.into_iter().collect(),
            }
        }
    }
}

/// A concatenation: runs of exact pieces multiply into longer literals; every
/// piece's groups stay required.
fn concat(parts: impl Iterator<Item = Literals>) -> Literals {
    let mut groups = Vec::new();
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    let mut all_exact = true;
    for part in parts {
        match part.exact {
            Some(set) => match product(&run, &set) {
                Some(next) => run = next,
                None => {
                    all_exact = false;
                    groups.push(std::mem::replace(&mut run, set));
                }
            },
            None => {
                all_exact = false;
                groups.push(std::mem::replace(&mut run, vec![Vec::new()]));
                groups.extend(part.groups);
            }
        }
    }
    if all_exact {
        Literals::exact(run)
    } else {
        groups.push(run);
        Literals {
            exact: None,
            groups,
        }
    }
}

fn product(left: &[Vec<u8>], right: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if left.len() * right.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in left {
        for r in right {
            let mut joined = l.clone();
            joined.extend_from_slice(r);
            out.push(joined);
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// A small class as its members, lower-cased: `[Tt]` is `t`.
fn class_literals(class: &Class) -> Option<Vec<Vec<u8>>> {
    const MAX_MEMBERS: u32 = 8;
    let mut members: Vec<Vec<u8>> = Vec::new();
    match class {
        Class::Bytes(bytes) => {
            let count: u32 = bytes
                .ranges()
                .iter()
                .map(|r| u32::from(r.end() - r.start()) + 1)
                .sum();
            if count > MAX_MEMBERS {
                return None;
            }
            for range in bytes.ranges() {
                for b in range.start()..=range.end() {
                    members.push(vec![b.to_ascii_lowercase()]);
                }
            }
        }
        Class::Unicode(chars) => {
            let count: u32 = chars
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if count > MAX_MEMBERS {
                return None;
            }
            for range in chars.ranges() {
                for c in range.start()..=range.end() {
                    let mut buf = [0; 4];
                    members.push(
                        c.to_ascii_lowercase()
                            .encode_utf8(&mut buf)
                            .as_bytes()
                            .to_vec(),
                    );
                }
            }
        }
    }
    members.sort();
    members.dedup();
    (members.len() <= 4).then_some(members)
}

/// The line `[start, end)` of `text` for display: trimmed, and for a long line
/// a window around the match, cut on character boundaries.
fn excerpt(text: &str, start: usize, end: usize, at: usize) -> String {
    let mut from = start;
    let mut to = end;
    let mut lead = "";
    if end - start > EXCERPT_WINDOW {
        if at - start > EXCERPT_WINDOW / 8 {
            from = at - EXCERPT_WINDOW / 8;
            lead = "…";
        }
        to = (from + EXCERPT_WINDOW).min(end);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        while !text.is_char_boundary(to) {
            to -= 1;
        }
    }
    let line = format!("{lead}{}", text[from..to].trim());
    super::matcher::shorten(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(pattern: &str) -> Vec<Vec<String>> {
        ContentRule::new(pattern)
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn required_literals_come_from_every_shape() {
        assert_eq!(groups(r"\bhydra/sweeper\b"), vec![vec!["hydra/sweeper"]]);
        assert_eq!(
            groups(r"(?i)\bcanary_?[Tt]raffic\b"),
            vec![vec!["canary_traffic", "canarytraffic"]]
        );
        let g = groups(r"\b(assert|if)\b.*\b(accuracy|auc)\b.*[<>]");
        assert!(g.contains(&vec!["assert".into(), "if".into()]));
        assert!(g.contains(&vec!["accuracy".into(), "auc".into()]));
        // Nothing required: the rule always runs.
        assert!(groups(r"^[ \t]*\w+\s*=\s*\d+").is_empty());
        assert!(groups(r"(x|\w+)").is_empty());
    }

    #[test]
    fn ascii_patterns_drop_unicode_and_unicode_patterns_keep_it() {
        assert!(!ContentRule::new(r"\bseed\(").unicode);
        assert!(ContentRule::new(r"\bcafé\b").unicode);
        assert!(ContentRule::new(r"\p{Han}+模型").unicode);
        let han = ContentRule::new(r"训练\p{Han}*");
        assert_eq!(
            han.matching_lines("x\n# 训练模型 here\n", 3),
            vec![(1, "# 训练模型 here".to_string())]
        );
        // Unicode word characters count for `\w` in a Unicode pattern.
        let cafe = ContentRule::new(r"\bcafé_\w+\b");
        assert_eq!(cafe.matching_lines("a = café_naïve\n", 3).len(), 1);
    }

    #[test]
    fn candidates_need_every_group_and_ignore_case() {
        let set = ContentSet::new([
            r"\bnp\.random\.seed\(",
            r"(?i)\bassert\b.*\bbaseline",
            r"^\s*x",
        ]);
        assert_eq!(
            set.candidates(&[0, 1, 2], "NP.RANDOM.SEED(1)\n"),
            vec![0, 2]
        );
        assert_eq!(set.candidates(&[1], "assert x\n"), Vec::<usize>::new());
        assert_eq!(set.candidates(&[1], "ASSERT score > BaseLine\n"), vec![1]);
    }

    /// One room reused over files with different wanted rules (repeated,
    /// half-found, found, without literals) answers as a fresh one does:
    /// what a file leaves in it does not leak into the next.
    #[test]
    fn reused_room_answers_as_a_fresh_one() {
        let set = ContentSet::new([
            r"\bnp\.random\.seed\(",
            r"(?i)\bassert\b.*\bbaseline",
            r"^\s*x",
            r"mlflow\.log_metric\(.*auc",
        ]);
        let files: [(&[usize], &str); 7] = [
            (&[3, 1], "mlflow.log_metric(x)\nassert a\n"),
            // Half of rule 3 was found above; none of that carries over.
            (&[3], "auc only\n"),
            (&[3], "mlflow.log_metric('auc', 1)\n"),
            (&[1, 1, 0], "assert b > baseline\nnp.random.seed(0)\n"),
            (&[3, 2], "auc only\n"),
            (&[0, 1, 2, 3], ""),
            (&[3], "mlflow.log_metric(\n"),
        ];
        // Twice: once from a fresh room, once across the generation
        // counter's wrap, where old stamps must not read as current.
        for skip_to in [None, Some(u32::MAX - 2)] {
            let mut room = CandidateRoom::default();
            let mut out = Vec::new();
            for (i, (wanted, text)) in files.iter().enumerate() {
                let prepared = set.wanted(wanted.iter().copied());
                set.candidates_into(&prepared, text, &mut out, &mut room);
                if let (0, Some(generation)) = (i, skip_to) {
                    room.generation = generation;
                }
                // `candidates` answers from a fresh room.
                let mut fresh = set.candidates(wanted, text);
                out.sort_unstable();
                fresh.sort_unstable();
                assert_eq!(out, fresh, "{text:?}");
            }
        }
        // What the files above find, spelled out: a tally left half-done by
        // one file is not carried into the next.
        let found: Vec<Vec<usize>> = files
            .iter()
            .map(|(wanted, text)| set.candidates(wanted, text))
            .collect();
        assert_eq!(
            found,
            [
                vec![],
                vec![],
                vec![3],
                vec![1, 0],
                vec![2],
                vec![2],
                vec![]
            ]
        );
    }

    #[test]
    fn matching_lines_reports_each_line_once_with_numbers() {
        let rule = ContentRule::new("seed");
        let text = "a\nnp.random.seed(1); torch.manual_seed(1)\nb\nrandom.seed(2)\n";
        assert_eq!(
            rule.matching_lines(text, 3),
            vec![
                (1, "np.random.seed(1); torch.manual_seed(1)".into()),
                (3, "random.seed(2)".into())
            ]
        );
        assert_eq!(rule.matching_lines(text, 1).len(), 1);
    }

    #[test]
    fn a_long_line_gives_a_window_around_the_match() {
        let rule = ContentRule::new(r"\bseed\(");
        let text = format!("{}seed(1){}", "é".repeat(100_000), "x ".repeat(50_000));
        let found = rule.matching_lines(&text, 3);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].1.starts_with('…') && found[0].1.contains("seed(1)"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn ascii_word_boundaries_still_match_beside_non_ascii_text() {
        let rule = ContentRule::new(r"\brandom_state\s*=\s*\d+");
        assert_eq!(
            rule.matching_lines("模型 = f(random_state=42)  # 乱数\n", 3)
                .len(),
            1
        );
    }

    /// What the two-piece walk finds, as a set of literals.
    fn found_in_pieces(literals: &LiteralFinder, text: &[u8]) -> Vec<usize> {
        let mut found = Vec::new();
        literals.each_found(text, |p| {
            found.push(p.as_usize());
            true
        });
        found.sort_unstable();
        found.dedup();
        found
    }

    /// What an ordinary overlapping search finds, as a set of literals.
    fn found_in_one(words: &[&str], text: &[u8]) -> Vec<usize> {
        let reference = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .unwrap();
        let mut found: Vec<usize> = reference
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    proptest::proptest! {
        /// The text walked in two pieces yields the literals one walk of
        /// all of it yields: none lost at the cut (a literal spanning the
        /// middle line break, one on either side of it, one ending the text),
        /// across case, short and long texts, text without line breaks.
        #[test]
        fn two_pieces_find_what_one_walk_finds(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "seed", "SEED", "se", "ed", "random_state", "random", "_state", "fit(",
                "\n", "\n\n", " ", "x", "é", "日本", "model.fit(", "mlflow", "MLflow.log",
            ]),
            0..80,
        )) {
            let words = ["seed", "random_state", "fit(", "mlflow.log", "d\nr"];
            let literals: Vec<Vec<u8>> = words[..4].iter().map(|w| w.as_bytes().to_vec()).collect();
            let splittable = LiteralFinder::new(&literals).unwrap();
            proptest::prop_assert!(splittable.splittable);
            let text = parts.concat();
            proptest::prop_assert_eq!(
                found_in_pieces(&splittable, text.as_bytes()),
                found_in_one(&words[..4], text.as_bytes())
            );
            // A literal holding a line break: the text is walked whole.
            let all: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
            let whole = LiteralFinder::new(&all).unwrap();
            proptest::prop_assert!(!whole.splittable);
            proptest::prop_assert_eq!(
                found_in_pieces(&whole, text.as_bytes()),
                found_in_one(&words, text.as_bytes())
            );
        }
    }

    /// A literal right after the cut and one right before it are both found
    /// in a text long enough to be cut; asking to stop stops the walk.
    #[test]
    fn literals_beside_the_cut_are_found_and_stopping_stops() {
        let literals = LiteralFinder::new(&[b"alpha".to_vec(), b"omega".to_vec()]).unwrap();
        let text = format!("{}alpha\nomega{}", "x".repeat(40), "y".repeat(40));
        assert_eq!(found_in_pieces(&literals, text.as_bytes()), vec![0, 1]);
        let mut calls = 0;
        literals.each_found(text.as_bytes(), |_| {
            calls += 1;
            false
        });
        assert_eq!(calls, 1);
    }
}
