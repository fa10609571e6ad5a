//! The `pattern` rule's test: does a whole value match a regular expression.
//!
//! polars' `str.contains` runs the `regex` crate's general matcher, whose
//! fixed cost per call (picking a strategy, fetching a cache from a shared
//! pool, searching unanchored) weighs most on short values such as IDs,
//! e-mails and postcodes. A pattern anchored at both ends goes straight to
//! the lazy DFA underneath instead, with one cache per batch of values. A
//! pattern the DFA cannot take (a Unicode word boundary, say) keeps the
//! `regex` matcher; both give the same answers.

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input};

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
            let input = Input::new(value).anchored(Anchored::Yes).earliest(true);
            if let Ok(found) = dfa.try_search_fwd(cache, &input) {
                return found.is_some();
            }
        }
        self.full.regex.is_match(value)
    }
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
