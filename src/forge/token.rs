//! The GitHub token: read from the environment, handed to octocrab, and never
//! shown. Its `Debug` prints only where it came from, and [`Token::redact`]
//! scrubs it from any text before that text is printed.

use std::fmt;

use super::env::Env;

/// The variables a token is read from, first found wins: mlscore's own, the
/// one GitHub Actions documents, the GitHub CLI's.
pub const TOKEN_VARS: [&str; 3] = ["MLSCORE_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"];

/// A GitHub token.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    /// The variable it was read from.
    source: &'static str,
}

impl Token {
    /// The first non-empty token variable, trimmed (a token read from a file
    /// often ends with a newline, which no HTTP header may carry).
    pub fn from_env(env: &dyn Env) -> Option<Token> {
        TOKEN_VARS.iter().find_map(|&name| {
            let value = env.var(name)?.trim().to_string();
            (!value.is_empty()).then_some(Token {
                value,
                source: name,
            })
        })
    }

    /// The variable the token was read from.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether the token can go in an `Authorization` header: visible ASCII
    /// only. Checked before octocrab sees it, which would panic otherwise.
    pub fn is_valid(&self) -> bool {
        self.value.bytes().all(|b| b.is_ascii_graphic())
    }

    /// Whether this is the same token as the value of `other`.
    pub fn is_value_of(&self, other: Option<&str>) -> bool {
        other.is_some_and(|v| v.trim() == self.value)
    }

    /// Replaces every occurrence of the token in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.value.len() < 4 {
            // Too short to scrub without mangling ordinary words; a real token
            // is never this short.
            return text.to_string();
        }
        text.replace(&self.value, "***")
    }

    /// The secret itself, for the client only.
    pub(super) fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(*** from ${})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn first_variable_wins_and_values_are_trimmed() {
        let token = Token::from_env(&env(&[
            ("GH_TOKEN", "gh"),
            ("GITHUB_TOKEN", " ghs_actions\n"),
        ]))
        .unwrap();
        assert_eq!(
            (token.expose(), token.source()),
            ("ghs_actions", "GITHUB_TOKEN")
        );
        let token = Token::from_env(&env(&[
            ("MLSCORE_GITHUB_TOKEN", "mine"),
            ("GITHUB_TOKEN", "ghs_actions"),
        ]))
        .unwrap();
        assert_eq!(token.source(), "MLSCORE_GITHUB_TOKEN");
        assert!(Token::from_env(&env(&[("GITHUB_TOKEN", "  ")])).is_none());
    }

    #[test]
    fn debug_and_redact_hide_the_value() {
        let token = Token::from_env(&env(&[("GH_TOKEN", "ghp_secret123")])).unwrap();
        assert_eq!(format!("{token:?}"), "Token(*** from $GH_TOKEN)");
        assert_eq!(
            token.redact("Bearer ghp_secret123 failed"),
            "Bearer *** failed"
        );
    }

    #[test]
    fn header_unsafe_tokens_are_invalid() {
        let bad = Token::from_env(&env(&[("GH_TOKEN", "abc def")])).unwrap();
        assert!(!bad.is_valid());
        let good = Token::from_env(&env(&[("GH_TOKEN", "ghp_abc")])).unwrap();
        assert!(good.is_valid());
    }
}
