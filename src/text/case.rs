//! Comparisons that ignore ASCII case, without a lower-cased copy: the CI
//! readers and metric discovery ask them of every path of the index, and a
//! copy per path and reader was a million allocations on a 100,000-file tree.

/// Whether `text` ends with `suffix`, ASCII case ignored.
pub fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Whether `text` starts with `prefix`, ASCII case ignored.
pub fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Whether `text` holds `needle`, ASCII case ignored. Places where the
/// needle may start are found by its first byte in either case (`memchr2`),
/// not by comparing at every byte.
pub fn contains_ignore_case(text: &str, needle: &str) -> bool {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = text.len().checked_sub(needle.len()) else {
        return false;
    };
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &text[..=last_start],
    )
    .any(|at| text[at + 1..at + needle.len()].eq_ignore_ascii_case(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case-blind tests agree with lower-casing first, on names that
    /// differ only in case, on too-short names and on non-ASCII bytes.
    #[test]
    fn case_blind_tests_agree_with_lowercasing() {
        let names = [
            "ci.YML",
            "ci.yaml",
            "CI.Yaml",
            "yml",
            ".yml",
            "a.ymlx",
            "Cloudbuild.JSON",
            "cloudbuil",
            "JENKINS/build",
            "prod-Jenkins",
            "é.yml",
            "É.YML",
            "jjenkins",
            "xJENKINs",
            "jenkin",
            "",
        ];
        for name in names {
            let lower = name.to_ascii_lowercase();
            for probe in [
                ".yml",
                ".yaml",
                ".json",
                "cloudbuild",
                "jenkins",
                "é.yml",
                "",
            ] {
                assert_eq!(
                    ends_with_ignore_case(name, probe),
                    lower.ends_with(probe),
                    "{name} {probe}"
                );
                assert_eq!(
                    starts_with_ignore_case(name, probe),
                    lower.starts_with(probe),
                    "{name} {probe}"
                );
                assert_eq!(
                    contains_ignore_case(name, probe),
                    lower.contains(probe),
                    "{name} {probe}"
                );
            }
        }
    }
}
