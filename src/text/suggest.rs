//! "Did you mean …?": the known word closest to a typo.

/// The known name closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_none() {
        let known = ["waivers", "metrics", "probes"];
        assert_eq!(closest("waiver", &known), Some("waivers"));
        assert_eq!(closest("metrcs", &known), Some("metrics"));
        assert_eq!(closest("colour", &known), None);
    }
}
