//! Metric values and the flattening of nested documents into dotted names.

use std::collections::BTreeMap;

use serde::Serialize;

/// A metric's value, kept raw: numbers are never rounded here.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A number; NaN and ±Inf are kept (serialized as strings in JSON).
    #[serde(serialize_with = "serialize_number")]
    Number(f64),
    Bool(bool),
    /// Text, or a list rendered as JSON: compared as text, never diffed.
    Text(String),
}

fn serialize_number<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        s.serialize_str("NaN")
    } else if value.is_infinite() {
        s.serialize_str(if *value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })
    } else {
        s.serialize_f64(*value)
    }
}

impl MetricValue {
    /// The number, when the value is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            MetricValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The value as shown in tables: numbers rounded to 5 significant decimals.
    pub fn display(&self) -> String {
        match self {
            MetricValue::Number(n) => format_number(*n),
            MetricValue::Bool(b) => b.to_string(),
            MetricValue::Text(t) => t.clone(),
        }
    }

    /// Parses a cell of a CSV file or an MLflow metric: a number when it is one.
    pub fn parse_cell(cell: &str) -> MetricValue {
        let cell = cell.trim();
        match cell.to_ascii_lowercase().as_str() {
            "nan" => return MetricValue::Number(f64::NAN),
            "inf" | "+inf" | "infinity" => return MetricValue::Number(f64::INFINITY),
            "-inf" | "-infinity" => return MetricValue::Number(f64::NEG_INFINITY),
            "true" => return MetricValue::Bool(true),
            "false" => return MetricValue::Bool(false),
            _ => {}
        }
        cell.parse::<f64>()
            .map(MetricValue::Number)
            .unwrap_or_else(|_| MetricValue::Text(cell.to_string()))
    }
}

/// Rounds for display only: at most 5 decimals, trailing zeros dropped.
pub fn format_number(n: f64) -> String {
    crate::text::number::number(n, crate::text::number::METRIC)
}

/// Flattens a JSON document into dotted names. Objects nest; lists and nulls
/// are kept as text, as `dvc metrics diff` does.
pub fn flatten(value: &serde_json::Value) -> BTreeMap<String, MetricValue> {
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

fn walk(value: &serde_json::Value, prefix: String, out: &mut BTreeMap<String, MetricValue>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                walk(child, name, out);
            }
        }
        _ if prefix.is_empty() => {}
        Value::Number(n) => {
            out.insert(prefix, MetricValue::Number(n.as_f64().unwrap_or(f64::NAN)));
        }
        Value::Bool(b) => {
            out.insert(prefix, MetricValue::Bool(*b));
        }
        Value::String(s) => {
            // Python writes NaN/Infinity into JSON; the reader turned those into marked strings.
            let value = match s.as_str() {
                super::parse::NAN_MARK => MetricValue::Number(f64::NAN),
                super::parse::INF_MARK => MetricValue::Number(f64::INFINITY),
                super::parse::NEG_INF_MARK => MetricValue::Number(f64::NEG_INFINITY),
                _ => MetricValue::Text(s.clone()),
            };
            out.insert(prefix, value);
        }
        Value::Array(_) | Value::Null => {
            out.insert(prefix, MetricValue::Text(value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_flatten_to_dotted_names() {
        let doc = serde_json::json!({"train": {"loss": 0.25, "acc": 0.9}, "classes": [1, 2], "ok": true, "note": "x"});
        let flat = flatten(&doc);
        assert_eq!(flat["train.loss"], MetricValue::Number(0.25));
        assert_eq!(flat["classes"], MetricValue::Text("[1,2]".into()));
        assert_eq!(flat["ok"], MetricValue::Bool(true));
        assert_eq!(flat.len(), 5);
    }

    #[test]
    fn display_rounds_but_keeps_small_values_readable() {
        assert_eq!(format_number(0.010000000000000009), "0.01");
        assert_eq!(format_number(0.123456789), "0.12346");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.00001234), "1.234e-5");
        assert_eq!(format_number(-0.0000001), "-1.000e-7");
        assert_eq!(format_number(f64::NAN), "NaN");
    }

    #[test]
    fn cells_parse_numbers_and_specials() {
        assert_eq!(MetricValue::parse_cell(" 0.5 "), MetricValue::Number(0.5));
        assert!(MetricValue::parse_cell("NaN").as_number().unwrap().is_nan());
        assert_eq!(
            MetricValue::parse_cell("abc"),
            MetricValue::Text("abc".into())
        );
    }
}
