//! How a value from a data file is shown in a report.
//!
//! Example values make a violation concrete ("e.g. -3, 999"), but a data file
//! is repository content and reports are posted on pull requests: a column of
//! API keys, a password in a free-text field, or a 10 MB cell must not be
//! echoed. Values are cut short, and any that looks like a credential is
//! masked down to its first two characters and its length.

/// Longest value shown whole, in characters.
const SHOWN_CHARS: usize = 32;

/// Shortest run of token characters (letters, digits, `+/=_-`) that is
/// treated as a possible credential when it mixes letters and digits.
const TOKEN_CHARS: usize = 20;

/// Prefixes of well-known credential formats (GitHub, AWS, Slack, Google,
/// OpenAI-style keys, JWTs, PEM blocks).
const SECRET_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "akia",
    "asia",
    "sk-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "aiza",
    "eyj",
    "-----begin",
];

/// Words that, followed by `=` or `:`, announce a secret value.
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "api_key", "apikey"];

/// The value as a report may show it: whole when short and harmless,
/// shortened when long, masked when it may be a credential.
pub fn value(raw: &str) -> String {
    if looks_secret(raw) {
        let head: String = raw.chars().take(2).collect();
        return format!("{head}… ({} chars, masked)", raw.chars().count());
    }
    let count = raw.chars().count();
    if count <= SHOWN_CHARS {
        return raw.to_string();
    }
    let head: String = raw.chars().take(SHOWN_CHARS - 1).collect();
    format!("{head}… ({count} chars)")
}

/// Whether a value may be a credential.
fn looks_secret(raw: &str) -> bool {
    let lower = raw.trim().to_ascii_lowercase();
    if SECRET_PREFIXES.iter().any(|p| lower.starts_with(p)) && raw.trim().len() >= 12 {
        return true;
    }
    if SECRET_WORDS.iter().any(|w| {
        lower
            .match_indices(w)
            .any(|(at, _)| lower[at + w.len()..].trim_start().starts_with(['=', ':']))
    }) {
        return true;
    }
    raw.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-".contains(c)))
        .any(|run| {
            run.len() >= TOKEN_CHARS
                && run.bytes().any(|b| b.is_ascii_digit())
                && run.bytes().any(|b| b.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_values_are_shown_whole() {
        for v in [
            "-3",
            "999.5",
            "DE",
            "null",
            "2024-01-31",
            "Jane Doe",
            "emailed_at",
        ] {
            assert_eq!(value(v), v);
        }
    }

    #[test]
    fn long_values_are_cut() {
        let long = "word ".repeat(1000);
        let shown = value(&long);
        assert!(shown.chars().count() < 50, "{shown}");
        assert!(shown.ends_with("(5000 chars)"), "{shown}");
    }

    #[test]
    fn credentials_are_masked() {
        for secret in [
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-abcdefghijklmnop",
            "password=hunter2",
            "db token: s3cr3t",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "x9f8a7b6c5d4e3f2a1b0c9d8e7f6",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
        ] {
            let shown = value(secret);
            assert!(shown.contains("masked"), "{secret} shown as {shown}");
            assert!(!shown.contains(&secret[3..]), "{secret} leaked in {shown}");
        }
    }

    #[test]
    fn multibyte_text_is_cut_on_characters() {
        let text = "数据".repeat(40);
        let shown = value(&text);
        assert!(shown.starts_with("数据"));
        assert!(shown.contains("(80 chars)"));
    }
}
