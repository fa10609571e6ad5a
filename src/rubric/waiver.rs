//! Waivers: rubric tests a repository says do not apply, each with its
//! reason, shown in every report and scored as the waiver says.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::yaml_span::SettingError;

/// A waiver: the test does not apply to this repository.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Why the test does not apply; shown in every report.
    pub reason: String,
    /// Points the waived test scores: 0 (the default), 0.5 or 1.
    #[serde(default)]
    pub points: f64,
}

/// Checks the `waivers:` section against the catalogue's test ids; paths are
/// relative to the section.
pub fn validate(
    waivers: &BTreeMap<String, Waiver>,
    known_ids: &[&str],
) -> Result<(), SettingError> {
    for (id, waiver) in waivers {
        if !known_ids.contains(&id.as_str()) {
            let hint = crate::text::suggest::closest(id, known_ids)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            return Err(SettingError::at(
                &[id],
                format!("waivers: `{id}` is not a rubric test"),
                "unknown test id",
                format!("{hint}`mlscore list` prints the 28 test ids (data-1 … monitor-7)"),
            ));
        }
        if waiver.reason.trim().is_empty() {
            return Err(SettingError::at(
                &[id, "reason"],
                format!("waivers.{id}: the reason is empty"),
                "empty reason",
                "say why the test does not apply; the reason is shown in every report",
            ));
        }
        if ![0.0, 0.5, 1.0].contains(&waiver.points) {
            return Err(SettingError::at(
                &[id, "points"],
                format!("waivers.{id}: points must be 0, 0.5 or 1, not {}", waiver.points),
                "not a rubric score",
                "the rubric scores a test 0, 0.5 or 1; leave `points` out to score the waived test 0",
            ));
        }
    }
    Ok(())
}
