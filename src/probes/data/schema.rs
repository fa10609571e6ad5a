//! The data schema format: a YAML document with row bounds, a policy for
//! extra columns, and one map of rules per column. Written by
//! `mlscore data infer`, read by `mlscore data validate`.
//!
//! ```yaml
//! rows: {min: 1}
//! extra_columns: deny
//! columns:
//!   age: {type: int, nullable: false, min: 18, max: 95}
//!   country: {type: string, max_null_fraction: 0.01, allowed: [DE, FR, US], unseen_tolerance: 0}
//!   id: {type: int, unique: true}
//! ```
//!
//! An optional `skew:` block, at the top and in any column, sets the drift
//! thresholds `mlscore data skew` applies ([`SkewThresholds`]); a column's
//! block overrides the top-level one key by key.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::skew::SkewThresholds;
use super::DataError;
use crate::yaml_span;

/// A whole schema file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSchema {
    /// Bounds on the number of rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowBounds>,
    /// Whether columns the schema does not name are allowed (default: allow).
    #[serde(default, skip_serializing_if = "ExtraColumns::is_allow")]
    pub extra_columns: ExtraColumns,
    /// The rules of each column, by column name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRules>,
    /// Drift thresholds for `mlscore data skew`, for every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<SkewThresholds>,
}

/// Bounds on the number of rows; either may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowBounds {
    /// The fewest rows allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// The most rows allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// What to do with columns the schema does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtraColumns {
    /// Extra columns are fine.
    #[default]
    Allow,
    /// Each extra column is a violation.
    Deny,
}

impl ExtraColumns {
    fn is_allow(&self) -> bool {
        *self == ExtraColumns::Allow
    }
}

/// The logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Signed or unsigned integers of any width.
    Int,
    /// Floating point (an integer column also satisfies `float`).
    Float,
    /// Text.
    String,
    /// Booleans.
    Bool,
    /// Calendar dates.
    Date,
    /// Timestamps.
    Datetime,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::String => "string",
            ColumnType::Bool => "bool",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
        })
    }
}

/// A YAML scalar in a schema: a bound or an allowed value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

/// The rules of one column. Every named column is required unless
/// `required: false`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRules {
    /// The expected type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ColumnType>,
    /// Whether the column must be present (default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// `false` forbids nulls; `true` allows any number (unless `max_null_fraction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// The largest allowed fraction of null values, 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_null_fraction: Option<f64>,
    /// The smallest allowed value (numbers, or text/dates compared as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Scalar>,
    /// The largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Scalar>,
    /// The allowed values; others count as unseen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Scalar>>,
    /// The largest allowed fraction of non-null values outside `allowed` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen_tolerance: Option<f64>,
    /// A regular expression every non-null value must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `true`: no value may repeat (nulls are ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
    /// `true`: no NaN, +Inf or -Inf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finite: Option<bool>,
    /// Drift thresholds for this column, over the schema's top-level `skew:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<SkewThresholds>,
}

/// Parses and checks schema text; `name` (the file's path) is used in messages.
pub fn parse(name: &str, text: &str) -> Result<DataSchema, DataError> {
    let text = crate::repo::strip_bom(text);
    let doc = yaml_span::Document {
        code: "mlscore::data::schema",
        name,
        text,
    };
    let invalid =
        |message, span, label: &str, help| DataError::Schema(doc.error(message, span, label, help));
    let schema: DataSchema = yaml_span::parse_document(
        "mlscore::data::schema",
        name,
        text,
        ("rules", "data schema reference"),
    )
    .map_err(DataError::Schema)?;
    let skew_blocks = schema.skew.iter().map(|block| (vec!["skew"], block)).chain(
        schema.columns.iter().filter_map(|(column, rules)| {
            let block = rules.skew.as_ref()?;
            Some((vec!["columns", column.as_str(), "skew"], block))
        }),
    );
    for (mut path, block) in skew_blocks {
        if let Err(err) = block.check() {
            let dotted = path.join(".");
            path.push(err.key);
            return Err(invalid(
                format!("{dotted}.{err}"),
                yaml_span::key_span(text, &path),
                "out of range",
                err.help,
            ));
        }
    }
    for (column, rules) in &schema.columns {
        let at = |key: &str| yaml_span::key_span(text, &["columns", column, key]);
        for (key, value) in [
            ("max_null_fraction", rules.max_null_fraction),
            ("unseen_tolerance", rules.unseen_tolerance),
        ] {
            if let Some(v) = value {
                if !(0.0..=1.0).contains(&v) {
                    return Err(invalid(
                        format!("columns.{column}.{key}: {v} is not a fraction"),
                        at(key),
                        "out of range",
                        format!("write `{key}` as a fraction between 0 and 1, e.g. 0.01 for 1%"),
                    ));
                }
            }
        }
        if let Some(pattern) = &rules.pattern {
            if let Err(err) = regex::Regex::new(pattern) {
                return Err(invalid(
                    format!("columns.{column}.pattern: not a valid regular expression ({err})"),
                    at("pattern"),
                    "this pattern",
                    "quote the pattern in single quotes and escape regex metacharacters".into(),
                ));
            }
        }
        if rules.unseen_tolerance.is_some() && rules.allowed.is_none() {
            return Err(invalid(
                format!("columns.{column}: `unseen_tolerance` without `allowed`"),
                at("unseen_tolerance"),
                "needs `allowed`",
                "list the allowed values in `allowed: [...]`, or remove `unseen_tolerance`".into(),
            ));
        }
    }
    Ok(schema)
}

/// Renders a schema as YAML, one flow-style map per column so a column reads
/// on one line, under a comment saying where it came from.
pub fn to_yaml(schema: &DataSchema, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    if let Some(rows) = &schema.rows {
        out.push_str(&format!("rows: {}\n", flow(rows)));
    }
    if schema.extra_columns == ExtraColumns::Deny {
        out.push_str("extra_columns: deny\n");
    }
    if let Some(skew) = &schema.skew {
        out.push_str(&format!("skew: {}\n", flow(skew)));
    }
    out.push_str("columns:\n");
    for (name, rules) in &schema.columns {
        out.push_str(&format!("  {}: {}\n", yaml_key(name), flow(rules)));
    }
    out
}

/// A value as one-line YAML flow style (`{a: 1, b: [x, y]}`), keys in
/// declaration order.
fn flow<T: Serialize>(value: &T) -> String {
    let yaml = serde_yaml::to_value(value).unwrap_or(serde_yaml::Value::Null);
    flow_yaml(&yaml)
}

fn flow_yaml(value: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_key(s),
        Value::Sequence(items) => format!(
            "[{}]",
            items.iter().map(flow_yaml).collect::<Vec<_>>().join(", ")
        ),
        Value::Mapping(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", flow_yaml(k), flow_yaml(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tagged(tagged) => flow_yaml(&tagged.value),
    }
}

/// A string as a YAML scalar, quoted when plain style would change its
/// meaning (numbers, booleans, null, flow or comment characters).
fn yaml_key(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && s.trim() == s
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains(|c: char| ",[]{}".contains(c) || c.is_control())
        && serde_yaml::from_str::<serde_yaml::Value>(s)
            .map(|v| matches!(v, serde_yaml::Value::String(ref t) if t == s))
            .unwrap_or(false);
    if plain_ok {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_yaml() {
        let mut schema = DataSchema {
            rows: Some(RowBounds {
                min: Some(1),
                max: None,
            }),
            ..Default::default()
        };
        schema.columns.insert(
            "country".into(),
            ColumnRules {
                kind: Some(ColumnType::String),
                allowed: Some(vec![
                    Scalar::Text("DE".into()),
                    Scalar::Text("true".into()),
                    Scalar::Text("a, b".into()),
                ]),
                unseen_tolerance: Some(0.0),
                ..Default::default()
            },
        );
        schema.columns.insert(
            "age".into(),
            ColumnRules {
                kind: Some(ColumnType::Int),
                nullable: Some(false),
                min: Some(Scalar::Int(18)),
                max: Some(Scalar::Float(95.5)),
                ..Default::default()
            },
        );
        let text = to_yaml(&schema, "inferred");
        assert!(text.contains("age: {type: int, nullable: false, min: 18, max: 95.5}"));
        assert_eq!(parse("s.yaml", &text).unwrap(), schema);
    }

    #[test]
    fn unknown_rule_names_the_fix() {
        let text = "columns:\n  age:\n    type: int\n    maximum: 3\n";
        let err = parse("s.yaml", text).unwrap_err();
        let DataError::Schema(crate::yaml_span::YamlError { message, help, .. }) = err else {
            panic!("not a schema error")
        };
        assert!(message.contains("unknown field `maximum`"), "{message}");
        assert!(help.contains("did you mean `max`"), "{help}");
    }

    const SKEW: &str = "skew:\n  psi: 0.3\n  ks_p_value: off\ncolumns:\n  age:\n    type: int\n    skew:\n      psi: 0.5\n  country: {type: string, skew: {unseen: 0}}\n";

    #[test]
    fn skew_blocks_parse_and_round_trip() {
        use crate::probes::data::skew::Threshold;
        let schema = parse("s.yaml", SKEW).unwrap();
        let top = schema.skew.unwrap();
        assert_eq!(top.psi, Some(Threshold::Limit(0.3)));
        assert_eq!(top.ks_p_value, Some(Threshold::Off));
        assert_eq!(top.linf, None);
        let age = schema.columns["age"].skew.unwrap();
        assert_eq!(age.psi, Some(Threshold::Limit(0.5)));
        let country = schema.columns["country"].skew.unwrap();
        assert_eq!(country.unseen, Some(Threshold::Limit(0.0)));

        let text = to_yaml(&schema, "with thresholds");
        assert!(
            text.contains("skew: {psi: 0.3, ks_p_value: off}\n"),
            "{text}"
        );
        assert!(
            text.contains("  country: {type: string, skew: {unseen: 0.0}}\n"),
            "{text}"
        );
        assert_eq!(parse("s.yaml", &text).unwrap(), schema);
    }

    #[test]
    fn unknown_skew_key_names_its_line_and_the_fix() {
        let text = SKEW.replace("      psi: 0.5", "      pssi: 0.5");
        let err = parse("s.yaml", &text).unwrap_err();
        let DataError::Schema(crate::yaml_span::YamlError {
            message,
            help,
            source_code,
            ..
        }) = err
        else {
            panic!("not a schema error")
        };
        assert!(message.contains("unknown field `pssi`"), "{message}");
        assert!(help.contains("did you mean `psi`"), "{help}");
        assert_eq!(source_code.line(), 8);
    }

    #[test]
    fn out_of_range_skew_threshold_points_at_its_key() {
        let text = SKEW.replace("      psi: 0.5", "      linf: 2");
        let err = parse("s.yaml", &text).unwrap_err();
        let DataError::Schema(crate::yaml_span::YamlError {
            message,
            help,
            span,
            source_code,
            ..
        }) = err
        else {
            panic!("not a schema error")
        };
        assert_eq!(message, "columns.age.skew.linf: 2 is not a valid threshold");
        assert!(help.contains("between 0 and 1"), "{help}");
        assert_eq!(source_code.text_at(span), "linf");
        assert_eq!(source_code.line(), 8);
    }
}
