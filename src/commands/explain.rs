//! `mlscore explain <id>`: a check file's own text.

use crate::cli::ExplainArgs;
use crate::error::{Error, EXIT_OK};
use crate::rubric::{Catalogue, CheckDef};

pub fn run(args: &ExplainArgs) -> Result<i32, Error> {
    let catalogue = super::catalogue()?;
    let id = args.id.trim().to_ascii_lowercase();
    let Some(check) = catalogue.get(&id) else {
        let ids = catalogue.ids();
        let help = match crate::text::suggest::closest(&id, &ids) {
            Some(c) => format!("did you mean `{c}`? `mlscore list` prints all 28 ids"),
            None => "`mlscore list` prints the 28 ids: data-1 … data-7, model-1 …, infra-1 …, monitor-1 … monitor-7".into(),
        };
        return Err(Error::UnknownTest {
            id: args.id.clone(),
            help,
        });
    };
    print!("{}", render(check, &catalogue));
    Ok(EXIT_OK)
}

/// The text `explain` prints for a check.
pub fn render(check: &CheckDef, catalogue: &Catalogue) -> String {
    let width = 88;
    let para = |text: &str| -> String {
        text.split("\n\n")
            .map(|p| {
                textwrap::fill(
                    &p.split_whitespace().collect::<Vec<_>>().join(" "),
                    textwrap::Options::new(width)
                        .initial_indent("  ")
                        .subsequent_indent("  "),
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let mut out = format!(
        "{} · {}\n{}\n\n",
        check.id,
        check.section.title(),
        check.title
    );
    for (heading, text) in [
        ("What it asks", &check.asks),
        ("Why it matters", &check.why),
        ("How to earn 0.5 (done by hand)", &check.earn_half),
        ("How to earn 1 (automated)", &check.earn_full),
    ] {
        if !text.trim().is_empty() {
            out.push_str(&format!("{heading}\n{}\n\n", para(text)));
        }
    }
    for probe in &check.probes {
        if let Some(example) = crate::probes::configured::example(probe) {
            out.push_str(&format!(
                "mlscore runs this test itself: the `{probe}` probe\n  Add to mlscore.yaml (README: Probes), and run mlscore in CI to make it automated:\n\n"
            ));
            for line in example.lines() {
                out.push_str(&format!("    {line}\n"));
            }
            out.push('\n');
        }
    }
    out.push_str("What mlscore looks for\n");
    for rule in &check.evidence {
        let automated = match rule.automation() {
            crate::rubric::catalogue::Automated::Ci => "1 point when CI runs it",
            crate::rubric::catalogue::Automated::Scheduled => {
                "1 point when a scheduled CI job runs it"
            }
            crate::rubric::catalogue::Automated::Always => "1 point",
            crate::rubric::catalogue::Automated::Never => "0.5 point at most",
        };
        out.push_str(&format!(
            "  - {}: {} ({automated})\n",
            rule.what,
            rule.describe()
        ));
        if let Some(why) = &rule.manual_because {
            out.push_str(&format!("      manual even when CI runs it: {why}\n"));
        }
        if let Some(tool) = rule.tool.as_ref().and_then(|t| catalogue.tools.get(t)) {
            for sub in &tool.evidence {
                out.push_str(&format!("      · {}: {}\n", sub.what, sub.describe()));
            }
        }
    }
    out
}
