//! The `features` probe: features that cannot help the model (data-2: no
//! variance, or no linear signal about the target) and features that break a
//! meta-level rule (data-4: a deny-listed column, or a name that says it holds
//! personal data).

use polars::prelude::*;
use serde::Deserialize;

use super::{frame, num, Context, Judgement, Probe, Unrunnable};
use crate::text::number::plural;

/// Column names that say the column holds personal data. Matched against the
/// name's words (split at `_`, `-`, `.`, spaces and camelCase), so `user_email`
/// and `EmailAddress` match `email` while `emailed_at` does not match it.
const PII_NAMES: &[&[&str]] = &[
    &["email"],
    &["e", "mail"],
    &["phone"],
    &["mobile"],
    &["telephone"],
    &["ssn"],
    &["social", "security"],
    &["passport"],
    &["first", "name"],
    &["last", "name"],
    &["full", "name"],
    &["surname"],
    &["given", "name"],
    &["street"],
    &["address"],
    &["dob"],
    &["birth", "date"],
    &["birthdate"],
    &["date", "of", "birth"],
    &["ip"],
    &["credit", "card"],
    &["card", "number"],
    &["iban"],
    &["national", "id"],
    &["tax", "id"],
    &["driver", "license"],
    &["licence", "number"],
];

/// `probes.features[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// The training data (one file).
    pub data: String,
    /// The label column; not a feature. Needed for `min_correlation`.
    #[serde(default)]
    pub target: Option<String>,
    /// Columns that are not features (ids, timestamps, weights).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Column-name globs that must never be features (`race`, `*_ssn`).
    #[serde(default)]
    pub deny: Vec<String>,
    /// Flag column names that say they hold personal data. Default: true.
    #[serde(default = "yes")]
    pub pii_names: bool,
    /// Column names allowed even though they look personal (reviewed).
    #[serde(default)]
    pub allow: Vec<String>,
    /// A numeric feature whose absolute Pearson correlation with a numeric
    /// target is below this has no linear signal and fails. Off by default:
    /// a feature can help a non-linear model without any linear correlation.
    #[serde(default)]
    pub min_correlation: Option<f64>,
}

fn yes() -> bool {
    true
}

impl Probe for FeaturesProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "constant, deny-listed and personal columns",
        "{data: {dataset}, target: label}",
    ));
    const EXAMPLE: &'static str = "probes:\n  features:\n    - data: data/train.csv\n      target: label\n      deny: [\"*_ssn\"]\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        self.data.clone()
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let file = ctx.resolve_one(&self.data)?;
        let path = ctx.path(&file)?;
        let mut lazy = crate::probes::data::read::scan(&path)?;
        let schema = crate::probes::data::read::columns(&path, &mut lazy)?;
        let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
        if let Some(target) = &self.target {
            if !names.contains(target) {
                return Err(Unrunnable::new(
                    format!("{file} has no column `{target}` (the target)"),
                    format!("the columns are: {}", names.join(", ")),
                )
                .at(&file));
            }
        }
        for excluded in &self.exclude {
            if !names.contains(excluded) {
                return Err(Unrunnable::new(
                    format!("{file} has no column `{excluded}` (in `exclude`)"),
                    "remove it from `exclude`, or fix its name",
                )
                .at(&file));
            }
        }
        let deny = crate::glob::compile_set(&self.deny).map_err(|(glob, why)| {
            Unrunnable::new(
                format!("deny: `{glob}` is not a valid glob ({why})"),
                "write column names or globs such as `*_ssn`",
            )
        })?;
        let features: Vec<(String, DataType)> = schema
            .iter()
            .filter(|(n, _)| {
                Some(n.as_str()) != self.target.as_deref() && !self.exclude.contains(&n.to_string())
            })
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();

        let mut failures = Vec::new();
        let mut notes = Vec::new();
        for (name, _) in &features {
            if self.allow.contains(name) {
                continue;
            }
            if deny.is_match(name) {
                failures.push(format!("{name}: on the deny list (data-4)"));
            } else if self.pii_names && looks_personal(name) {
                failures.push(format!(
                    "{name}: the name says it holds personal data (data-4); drop or pseudonymize it, or list it under `allow` once reviewed"
                ));
            }
        }

        let target_numeric = self
            .target
            .as_ref()
            .and_then(|t| schema.get(t))
            .is_some_and(|t| t.is_primitive_numeric() || t.is_bool());
        let mut exprs = vec![len().alias("rows")];
        for (i, (name, dtype)) in features.iter().enumerate() {
            let c = col(name.as_str());
            exprs.push(c.clone().null_count().alias(format!("nulls{i}")));
            exprs.push(
                c.clone()
                    .min()
                    .cast(DataType::String)
                    .alias(format!("min{i}")),
            );
            exprs.push(
                c.clone()
                    .max()
                    .cast(DataType::String)
                    .alias(format!("max{i}")),
            );
            if target_numeric && (dtype.is_primitive_numeric() || dtype.is_bool()) {
                let target = self.target.as_deref().unwrap_or_default();
                let x = c.cast(DataType::Float64);
                let y = col(target).cast(DataType::Float64);
                let both = x.clone().is_not_null().and(y.clone().is_not_null());
                let x = x.filter(both.clone());
                let y = y.filter(both);
                exprs.push(x.clone().count().alias(format!("n{i}")));
                exprs.push(x.clone().sum().alias(format!("sx{i}")));
                exprs.push(y.clone().sum().alias(format!("sy{i}")));
                exprs.push((x.clone() * x.clone()).sum().alias(format!("sxx{i}")));
                exprs.push((y.clone() * y.clone()).sum().alias(format!("syy{i}")));
                exprs.push((x * y).sum().alias(format!("sxy{i}")));
            }
        }
        let stats = frame::collect(&file, lazy.select(exprs))?;
        let get = |alias: &str| frame::scalar(&stats, alias);
        let rows = get("rows").extract::<u64>().unwrap_or(0);
        let mut correlations = Vec::new();
        for (i, (name, _)) in features.iter().enumerate() {
            let nulls = get(&format!("nulls{i}")).extract::<u64>().unwrap_or(0);
            let min = get(&format!("min{i}"));
            let max = get(&format!("max{i}"));
            if nulls >= rows {
                failures.push(format!("{name}: every value is null (data-2)"));
                continue;
            }
            if min == max {
                failures.push(format!(
                    "{name}: constant, every non-null value is {} (data-2)",
                    min.str_value()
                ));
                continue;
            }
            let Some(n) = get(&format!("n{i}")).extract::<f64>() else {
                continue;
            };
            let f = |k: &str| get(&format!("{k}{i}")).extract::<f64>().unwrap_or(0.0);
            let (sx, sy, sxx, syy, sxy) = (f("sx"), f("sy"), f("sxx"), f("syy"), f("sxy"));
            let r = pearson(n, sx, sy, sxx, syy, sxy);
            correlations.push((name.clone(), r));
        }
        if let Some(min) = self.min_correlation {
            for (name, r) in &correlations {
                let shown = r.map_or("undefined (the target is constant)".into(), num);
                if r.is_none_or(|r| r.abs() < min) {
                    failures.push(format!(
                        "{name}: |correlation with {}| is {shown}, below min_correlation {} (data-2)",
                        self.target.as_deref().unwrap_or_default(),
                        num(min)
                    ));
                } else {
                    notes.push(format!("{name}: correlation with the target {shown}"));
                }
            }
        } else if !correlations.is_empty() {
            let mut weakest = correlations.clone();
            weakest.sort_by(|a, b| {
                let key = |r: &Option<f64>| r.map_or(0.0, f64::abs);
                key(&a.1).total_cmp(&key(&b.1))
            });
            let shown: Vec<String> = weakest
                .iter()
                .take(3)
                .map(|(n, r)| format!("{n} {}", r.map_or("undefined".into(), num)))
                .collect();
            notes.push(format!(
                "weakest linear correlation with the target: {} (set min_correlation to judge it)",
                shown.join(", ")
            ));
        }
        let summary = format!(
            "{} features in {file} ({rows} rows): {}",
            features.len(),
            if failures.is_empty() {
                "all vary, none deny-listed or personal".to_string()
            } else {
                format!("{} problem{}", failures.len(), plural(failures.len()))
            }
        );
        Ok(Judgement::from_lists(summary, failures, notes, Some(file)))
    }
}

/// Pearson's r from running sums; `None` when either side is constant.
fn pearson(n: f64, sx: f64, sy: f64, sxx: f64, syy: f64, sxy: f64) -> Option<f64> {
    if n < 2.0 {
        return None;
    }
    let cov = sxy - sx * sy / n;
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    // Relative to the magnitudes, a variance this small is rounding noise.
    if vx <= 1e-12 * sxx.abs().max(1.0) || vy <= 1e-12 * syy.abs().max(1.0) {
        return None;
    }
    Some((cov / (vx.sqrt() * vy.sqrt())).clamp(-1.0, 1.0))
}

/// The words of a column name, lower-cased: `userEmail_2` → user, email, 2.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a column name contains one of [`PII_NAMES`] as consecutive words.
pub fn looks_personal(name: &str) -> bool {
    let words = words(name);
    PII_NAMES.iter().any(|pattern| {
        words
            .windows(pattern.len())
            .any(|w| w.iter().zip(pattern.iter()).all(|(a, b)| a == b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_names_are_found_by_their_words() {
        for name in [
            "email",
            "user_email",
            "EmailAddress",
            "customer.phone",
            "first_name",
            "lastName",
            "DOB",
            "client_ip",
            "credit_card_no",
            "home-address",
        ] {
            assert!(looks_personal(name), "{name}");
        }
        for name in [
            "emailed_at",
            "phones_owned_count",
            "name_length",
            "zip_code",
            "ipsum",
            "age",
            "tip",
            "feature_7",
        ] {
            assert!(!looks_personal(name), "{name}");
        }
    }

    #[test]
    fn pearson_matches_a_hand_computed_value() {
        // x = 1..5, y = 2x + noise: Python's statistics.correlation gives 0.9970839152783122.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.1, 3.9, 6.2, 7.8, 10.5];
        let n = 5.0;
        let sx: f64 = x.iter().sum();
        let sy: f64 = y.iter().sum();
        let sxx: f64 = x.iter().map(|v| v * v).sum();
        let syy: f64 = y.iter().map(|v| v * v).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let r = pearson(n, sx, sy, sxx, syy, sxy).unwrap();
        assert!((r - 0.997_083_915_278_312_2).abs() < 1e-12, "{r}");
        assert_eq!(pearson(n, sx, 5.0, sxx, 5.0, sx), None);
    }
}
