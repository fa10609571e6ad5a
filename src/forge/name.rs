//! The name that keeps two mlscore reports in one pull request apart.
//!
//! A monorepo runs mlscore once per project; without a name both runs would
//! edit the same sticky comment and replace each other's check run and commit
//! status. `--name` (the Action's `name` input) gives each its own: the
//! comment marker, the check run's name and the status context all carry it.

use super::error::ForgeError;
use crate::report::markdown::COMMENT_MARKER;

/// Longest name accepted, in characters: it is shown in GitHub's checks list.
const MAX_CHARS: usize = 40;

/// The report's name, or none for the one report of a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportName(Option<String>);

impl ReportName {
    /// A name from `--name`: letters, digits, spaces and `._/-`, at most 40
    /// characters; blank means none.
    pub fn parse(text: Option<&str>) -> Result<ReportName, ForgeError> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(ReportName(None));
        };
        let allowed = |c: char| c.is_ascii_alphanumeric() || " ._/-".contains(c);
        if text.chars().count() > MAX_CHARS || !text.chars().all(allowed) || text.contains("--") {
            return Err(ForgeError::InvalidContext {
                message: format!("--name `{}` is not a report name", crate::text::inert::line(text)),
                help: format!("use at most {MAX_CHARS} letters, digits, spaces and `._/-` (no `--`), e.g. `--name services/ranker`"),
            });
        }
        Ok(ReportName(Some(text.to_string())))
    }

    /// The hidden first line of the sticky comment.
    pub fn marker(&self) -> String {
        match &self.0 {
            None => COMMENT_MARKER.to_string(),
            Some(name) => format!("<!-- mlscore:report name={name} -->"),
        }
    }

    /// The check run's name and the commit status's context.
    pub fn check(&self) -> String {
        match &self.0 {
            None => "mlscore".to_string(),
            Some(name) => format!("mlscore ({name})"),
        }
    }

    /// The comment body with this name's marker as its first line.
    pub fn mark(&self, body: &str) -> String {
        match (&self.0, body.strip_prefix(COMMENT_MARKER)) {
            (Some(_), Some(rest)) => format!("{}{rest}", self.marker()),
            _ => body.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_keeps_the_plain_marker_and_check() {
        let none = ReportName::parse(Some("  ")).unwrap();
        assert_eq!(none.marker(), COMMENT_MARKER);
        assert_eq!(none.check(), "mlscore");
        assert_eq!(none.mark("x"), "x");
    }

    #[test]
    fn a_name_marks_comment_check_and_status() {
        let name = ReportName::parse(Some("services/ranker")).unwrap();
        assert_eq!(
            name.marker(),
            "<!-- mlscore:report name=services/ranker -->"
        );
        assert_eq!(name.check(), "mlscore (services/ranker)");
        assert_eq!(
            name.mark(&format!("{COMMENT_MARKER}\n## Score")),
            "<!-- mlscore:report name=services/ranker -->\n## Score"
        );
    }

    #[test]
    fn names_that_could_break_the_marker_are_refused() {
        for bad in ["a-->b", "x\ny", "<b>", &"n".repeat(41)] {
            assert!(ReportName::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
