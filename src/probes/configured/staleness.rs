//! The `staleness` probe (model-4, monitor-4): how old the served model is,
//! against the age at which the team knows quality starts to suffer.
//!
//! The age comes from, in order: a timestamp in a metadata file (`trained_at`
//! in `models/model.json`), the last commit that changed the artifact (or its
//! DVC pointer file `model.pkl.dvc`, or `dvc.lock` when a pipeline stage
//! writes it), or the file's modification time.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::{Context, Judgement, Probe, Unrunnable};
use crate::metrics::MetricValue;
use crate::yaml_span::SettingError;

/// `probes.staleness[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StalenessProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The model artifacts: paths or globs.
    #[serde(deserialize_with = "super::paths")]
    pub artifacts: Vec<String>,
    /// The oldest a model may be: `30d`, `2weeks`, `12h`.
    pub max_age: String,
    /// A JSON, YAML or TOML file holding when the model was trained.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The key of the timestamp in `metadata` (dotted for nested keys).
    /// Default: `trained_at`.
    #[serde(default = "trained_at")]
    pub key: String,
}

fn trained_at() -> String {
    "trained_at".into()
}

/// Where an age came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Metadata,
    Commit,
    DvcLock,
    Modified,
}

impl Probe for StalenessProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "the model's age against a maximum",
        "{artifacts: [models/model.pkl], max_age: 30d}",
    ));
    const EXAMPLE: &'static str =
        "probes:\n  staleness:\n    - artifacts: [models/model.pkl]\n      max_age: 30d\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        self.artifacts.join(", ")
    }

    fn validate(&self) -> Result<(), SettingError> {
        humantime::parse_duration(self.max_age.trim())
            .map(|_| ())
            .map_err(|err| {
                SettingError::at(
                    &["max_age"],
                    format!("max_age: `{}` is not a duration ({err})", self.max_age),
                    "not a duration",
                    "write a number and a unit, e.g. `30d`, `2weeks` or `12h`",
                )
            })
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let max_age = humantime::parse_duration(self.max_age.trim()).map_err(|err| {
            Unrunnable::new(
                format!("max_age: `{}` is not a duration ({err})", self.max_age),
                "write a number and a unit, e.g. `30d`, `2weeks` or `12h`",
            )
        })?;
        let now = SystemTime::now();
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        let mut files = Vec::new();
        if let Some(metadata) = &self.metadata {
            let (file, values) = ctx.metrics(metadata)?;
            let at = values.get(&self.key).ok_or_else(|| {
                Unrunnable::new(
                    format!("{file} has no key `{}`", self.key),
                    "set `key:` to the name of the training timestamp",
                )
                .at(&file)
            })?;
            let when = timestamp(at).ok_or_else(|| {
                Unrunnable::new(
                    format!("{file}: `{}` is `{}`, not a timestamp", self.key, at.display()),
                    "write an RFC 3339 time (2026-03-01T12:00:00Z), a date (2026-03-01) or Unix seconds",
                )
                .at(&file)
            })?;
            judge(
                &file,
                when,
                Source::Metadata,
                now,
                max_age,
                &mut failures,
                &mut notes,
            );
            files.push(file);
        } else {
            for pattern in &self.artifacts {
                for file in artifact_files(ctx, pattern)? {
                    let (when, source) = age_of(ctx, &file)?;
                    judge(&file, when, source, now, max_age, &mut failures, &mut notes);
                    files.push(file);
                }
            }
        }
        let summary = format!(
            "{} artifact{} against max_age {}: {}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            self.max_age.trim(),
            if failures.is_empty() {
                "fresh enough".to_string()
            } else {
                format!("{} too old", failures.len())
            }
        );
        Ok(Judgement::from_lists(
            summary,
            failures,
            notes,
            files.first().cloned(),
        ))
    }
}

/// The artifact files a pattern names; a DVC-tracked artifact that was not
/// pulled still counts through its `.dvc` pointer or its `dvc.lock` entry.
fn artifact_files(ctx: &Context<'_>, pattern: &str) -> Result<Vec<String>, Unrunnable> {
    match ctx.resolve(pattern) {
        Ok(found) => Ok(found),
        Err(err) => {
            let pointer = format!("{pattern}.dvc");
            if ctx.root.join(&pointer).is_file() || in_dvc_lock(ctx, pattern) {
                Ok(vec![pattern.to_string()])
            } else {
                Err(err)
            }
        }
    }
}

/// Whether `dvc.lock` records `path` (or a folder holding it) as a stage output.
fn in_dvc_lock(ctx: &Context<'_>, path: &str) -> bool {
    let Some(lock) = ctx.index.text("dvc.lock") else {
        return false;
    };
    // dvc.lock is repository text: the depth guard first (see yaml_span).
    if crate::yaml_span::check_depth(lock).is_err() {
        return false;
    }
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(lock) else {
        return false;
    };
    let stages = doc.get("stages").and_then(|s| s.as_mapping());
    stages.into_iter().flatten().any(|(_, stage)| {
        stage
            .get("outs")
            .and_then(|o| o.as_sequence())
            .into_iter()
            .flatten()
            .filter_map(|out| out.get("path").and_then(|p| p.as_str()))
            .any(|out| {
                let out = out.trim_end_matches('/');
                path == out || path.starts_with(&format!("{out}/"))
            })
    })
}

fn judge(
    file: &str,
    when: SystemTime,
    source: Source,
    now: SystemTime,
    max_age: Duration,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let age = now.duration_since(when).unwrap_or_default();
    let from = match source {
        Source::Metadata => "trained",
        Source::Commit => "last committed",
        Source::DvcLock => "last recorded in dvc.lock",
        Source::Modified => "modified (not committed)",
    };
    let line = format!("{file}: {from} {} ago (max {})", days(age), days(max_age));
    if age > max_age {
        failures.push(line);
    } else {
        notes.push(line);
    }
}

/// A duration in days, or hours when under two days.
fn days(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours < 48 {
        format!("{hours}h")
    } else {
        format!("{}d", hours / 24)
    }
}

/// When the artifact last changed: its last commit (or its DVC pointer's), or
/// its modification time when git knows neither.
fn age_of(ctx: &Context<'_>, file: &str) -> Result<(SystemTime, Source), Unrunnable> {
    for candidate in [file.to_string(), format!("{file}.dvc")] {
        if let Some(when) = last_commit(ctx.root, &candidate) {
            return Ok((when, Source::Commit));
        }
    }
    if in_dvc_lock(ctx, file) {
        if let Some(when) = last_commit(ctx.root, "dvc.lock") {
            return Ok((when, Source::DvcLock));
        }
    }
    let meta = std::fs::metadata(ctx.path(file)?).map_err(|err| {
        Unrunnable::new(format!("cannot read {file}: {err}"), "check the path").at(file)
    })?;
    let modified = meta.modified().map_err(|err| {
        Unrunnable::new(
            format!("{file}: no modification time ({err})"),
            "commit the artifact, or point `metadata:` at a file with its training time",
        )
        .at(file)
    })?;
    Ok((modified, Source::Modified))
}

/// The committer time of the last commit that touched `path`, if any.
fn last_commit(root: &Path, path: &str) -> Option<SystemTime> {
    let out = crate::repo::git::run(root, &["log", "-1", "--format=%ct", "--", path]).ok()?;
    let seconds: u64 = String::from_utf8_lossy(&out).trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// A timestamp: RFC 3339, `YYYY-MM-DD[ HH:MM:SS]`, or Unix seconds (or
/// milliseconds, when the number is too large to be seconds).
fn timestamp(value: &MetricValue) -> Option<SystemTime> {
    let seconds = match value {
        MetricValue::Number(n) if n.is_finite() && *n >= 0.0 => {
            if *n > 1e11 {
                n / 1000.0
            } else {
                *n
            }
        }
        MetricValue::Text(text) => {
            let text = text.trim();
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
                t.timestamp() as f64
            } else if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            {
                t.and_utc().timestamp() as f64
            } else {
                let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64
            }
        }
        _ => return None,
    };
    (seconds >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: MetricValue) -> u64 {
        timestamp(&v)
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        assert_eq!(
            secs(MetricValue::Text("2026-01-01T00:00:00Z".into())),
            1_767_225_600
        );
        assert_eq!(
            secs(MetricValue::Text("2026-01-01T02:00:00+02:00".into())),
            1_767_225_600
        );
        assert_eq!(secs(MetricValue::Text("2026-01-01".into())), 1_767_225_600);
        assert_eq!(
            secs(MetricValue::Text("2026-01-01 00:00:00".into())),
            1_767_225_600
        );
        assert_eq!(secs(MetricValue::Number(1_767_225_600.0)), 1_767_225_600);
        assert_eq!(
            secs(MetricValue::Number(1_767_225_600_000.0)),
            1_767_225_600
        );
        assert!(timestamp(&MetricValue::Text("last tuesday".into())).is_none());
    }

    #[test]
    fn ages_are_shown_in_days_or_hours() {
        assert_eq!(days(Duration::from_secs(3 * 3600)), "3h");
        assert_eq!(days(Duration::from_secs(10 * 86400 + 5)), "10d");
    }
}
