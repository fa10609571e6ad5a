//! The `pattern` rule's test: does a whole value match a regular expression.
//!
//! polars' `str.contains` runs the `regex` crate's general matcher, whose
//! fixed cost per call (picking a strategy, fetching a cache from a shared
//! pool, searching unanchored) weighs most on short values such as IDs,
//! e-mails and postcodes. A pattern anchored at both ends is walked byte by
//! byte on the lazy DFA underneath instead, with one cache per batch. A
//! pattern the DFA cannot take (a Unicode word boundary, say) keeps the
//! `regex` matcher; both give the same answers.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::start;
use regex_automata::Anchored;

/// A compiled `pattern` rule.
pub struct FullMatch {
    dfa: Option<DFA>,
    regex: regex::Regex,
}

impl FullMatch {
    /// Compiles `pattern` (the `regex` crate's syntax) to match whole values.
    pub fn new(pattern: &str) -> Result<FullMatch, regex::Error> {
        let anchored = format!("^(?:{pattern})$");
        let regex = regex::Regex::new(&anchored)?;
        let dfa = DFA::new(&anchored).ok();
        Ok(FullMatch { dfa, regex })
    }

    /// A matcher for one batch of values (it owns the DFA's cache, which
    /// one thread at a time may use).
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            full: self,
            cache: self.dfa.as_ref().map(DFA::create_cache),
        }
    }
}

/// Tests values against a [`FullMatch`].
pub struct Matcher<'a> {
    full: &'a FullMatch,
    cache: Option<Cache>,
}

impl Matcher<'_> {
    /// Whether all of `value` matches the pattern.
    pub fn is_match(&mut self, value: &str) -> bool {
        if let (Some(dfa), Some(cache)) = (&self.full.dfa, &mut self.cache) {
            if let Some(found) = walk(dfa, cache, value.as_bytes()) {
                return found;
            }
        }
        self.full.regex.is_match(value)
    }
}

/// Runs the anchored DFA over all of `bytes`: whether it ends in a match, or
/// `None` when the DFA cannot say (a byte it gives up on, a cache too small).
///
/// A search call would do the same with per-call set-up (the input's
/// bounds, a prefilter, the earliest-match bookkeeping) that costs as much
/// as the walk itself on a value of twenty bytes.
fn walk(dfa: &DFA, cache: &mut Cache, bytes: &[u8]) -> Option<bool> {
    let start = start::Config::new().anchored(Anchored::Yes);
    let mut state = dfa.start_state(cache, &start).ok()?;
    for &byte in bytes {
        state = dfa.next_state(cache, state, byte).ok()?;
        if state.is_tagged() {
            if state.is_dead() {
                return Some(false);
            }
            if state.is_quit() {
                return None;
            }
            // A match state here is a match ending before this byte, which
            // the pattern's closing `$` rules out: read on.
        }
    }
    let end = dfa.next_eoi_state(cache, state).ok()?;
    Some(end.is_match())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_values_only() {
        let compiled = FullMatch::new(r"[a-z0-9._]+@[a-z0-9-]+\.[a-z]+").unwrap();
        assert!(compiled.dfa.is_some());
        let mut email = compiled.matcher();
        assert!(email.is_match("user1@example.com"));
        assert!(!email.is_match("user1@example.com "));
        assert!(!email.is_match("x user1@example.com"));
        assert!(!email.is_match("User1@example.com"));
        assert!(!email.is_match(""));
        // Alternation binds inside the group, not to the anchors.
        let either = FullMatch::new("a|bc").unwrap();
        let mut either = either.matcher();
        assert!(either.is_match("a") && either.is_match("bc"));
        assert!(!either.is_match("abc") && !either.is_match("bcx"));
    }

    #[test]
    fn falls_back_where_a_dfa_cannot_go() {
        // A Unicode word boundary is beyond a DFA; the answers stay right.
        let word = FullMatch::new(r"\bé\w+\b").unwrap();
        assert!(word.dfa.is_none());
        let mut word = word.matcher();
        assert!(word.is_match("été"));
        assert!(!word.is_match("x été"));
    }

    #[test]
    fn agrees_with_the_regex_crate() {
        let patterns = [
            r"Z-[0-9]{5}",
            r"\d{3}-\d{2}",
            r"[A-Z]{2}\d*",
            r".+",
            r"(ab)*c?",
        ];
        let values = [
            "Z-12345", "Z-1234", "123-45", "AB", "AB12", "", "abab", "ababc", "é",
        ];
        for pattern in patterns {
            let full = FullMatch::new(pattern).unwrap();
            let mut full = full.matcher();
            let regex = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            for value in values {
                assert_eq!(
                    full.is_match(value),
                    regex.is_match(value),
                    "{pattern} on {value:?}"
                );
            }
        }
    }
}
