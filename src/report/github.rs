//! GitHub Actions workflow commands: `::error file=…,line=…::message` lines that
//! the runner turns into annotations.

use super::{Level, Report};

/// Escapes a message: `%`, CR and LF as the runner decodes them; other
/// hazards (terminal escapes, bidirectional controls) and the `##[` markers
/// made inert as everywhere else.
pub fn escape_data(text: &str) -> String {
    let escaped = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    crate::text::inert::line(&escaped).into_owned()
}

/// Escapes a property value: as data, plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command per finding, then the verdict.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let command = match finding.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let mut props = Vec::new();
        if let Some(path) = &finding.path {
            props.push(format!("file={}", escape_property(path)));
            if let Some(line) = finding.line {
                props.push(format!("line={line}"));
            }
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("mlscore {}", finding.check))
        ));
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            escape_data(&finding.message)
        ));
    }
    for warning in &report.warnings {
        let mut props = vec![format!("file={}", escape_property(&warning.path))];
        if let Some(line) = warning.line {
            props.push(format!("line={line}"));
        }
        props.push("title=mlscore".into());
        out.push_str(&format!(
            "::warning {}::{}\n",
            props.join(","),
            escape_data(&warning.message)
        ));
    }
    let score = format!(
        "ML Test Score {} ({})",
        super::human::points(report.score.final_score),
        report.score.band_meaning
    );
    match &report.verdict {
        Some(v) if !v.passed => {
            let failed: Vec<&str> = v
                .conditions
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.message.as_str())
                .collect();
            let level = if v.advisory { "warning" } else { "error" };
            out.push_str(&format!(
                "::{level} title=mlscore gate failed::{}\n",
                escape_data(&format!("{score}; {}", failed.join("; ")))
            ));
        }
        _ => out.push_str(&format!(
            "::notice title=mlscore::{}\n",
            escape_data(&score)
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_githubs_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
