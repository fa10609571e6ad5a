//! `mlscore list`: the 28 tests.

use crate::cli::ListArgs;
use crate::error::{Error, EXIT_OK};

pub fn run(args: &ListArgs) -> Result<i32, Error> {
    let catalogue = super::catalogue()?;
    let out = match args.json {
        true => {
            let rows: Vec<serde_json::Value> = catalogue
                .checks
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "section": c.section, "title": c.title, "probes": c.probes}))
                .collect();
            serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
        }
        false => {
            let mut out = String::new();
            let mut section = None;
            for check in &catalogue.checks {
                if section != Some(check.section) {
                    section = Some(check.section);
                    out.push_str(&format!(
                        "{}{}\n",
                        if out.is_empty() { "" } else { "\n" },
                        check.section.title()
                    ));
                }
                out.push_str(&format!("  {:<11}{}\n", check.id, check.title));
            }
            out
        }
    };
    print!("{out}");
    Ok(EXIT_OK)
}
