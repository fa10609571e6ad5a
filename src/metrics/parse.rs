//! Reading one metrics file into flattened values. Formats: JSON (with the
//! NaN/Infinity that Python writes), YAML, TOML, CSV/TSV (the last row, or one
//! row per key), and MLflow metric files (`<timestamp> <value> <step>` lines).

use std::collections::BTreeMap;

use super::value::{flatten, MetricValue};

pub(super) const NAN_MARK: &str = "\u{0}mlscore-nan";
pub(super) const INF_MARK: &str = "\u{0}mlscore-inf";
pub(super) const NEG_INF_MARK: &str = "\u{0}mlscore--inf";

/// Why a metrics file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

/// The format of a metrics file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    Toml,
    Csv,
    Tsv,
    Mlflow,
}

impl Format {
    /// The format of a path, by extension; `None` for an unknown one.
    pub fn of(path: &str) -> Option<Format> {
        // Asked of every path when metric files are discovered: compared
        // case-blind rather than through a lower-cased copy of each.
        use crate::text::case::contains_ignore_case;
        let ext = memchr::memrchr(b'.', path.as_bytes()).map_or(path, |at| &path[at + 1..]);
        let is = |known: &str| ext.eq_ignore_ascii_case(known);
        Some(if is("json") {
            Format::Json
        } else if is("yaml") || is("yml") {
            Format::Yaml
        } else if is("toml") {
            Format::Toml
        } else if is("csv") {
            Format::Csv
        } else if is("tsv") {
            Format::Tsv
        } else if contains_ignore_case(path, "mlruns/") && contains_ignore_case(path, "/metrics/") {
            Format::Mlflow
        } else {
            return None;
        })
    }
}

/// Parses `text` as `format`; `key` names the CSV column that keys rows.
pub fn parse(
    format: Format,
    text: &str,
    key: Option<&str>,
) -> Result<BTreeMap<String, MetricValue>, ParseError> {
    let text = crate::repo::strip_bom(text);
    match format {
        Format::Json => {
            let cleaned = mark_non_finite(text);
            let doc: serde_json::Value =
                serde_json::from_str(&cleaned).map_err(|e| ParseError {
                    message: format!("invalid JSON: {}", strip_position(&e.to_string())),
                    line: Some(e.line()),
                })?;
            Ok(flatten(&doc))
        }
        Format::Yaml => {
            crate::yaml_span::check_depth(text).map_err(|deep| ParseError {
                message: format!("invalid YAML: {}", deep.message()),
                line: Some(deep.line),
            })?;
            let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| ParseError {
                message: format!("invalid YAML: {}", strip_position(&e.to_string())),
                line: e.location().map(|l| l.line()),
            })?;
            Ok(flatten(&yaml_to_json(&doc)))
        }
        Format::Toml => {
            let doc: toml::Value = toml::from_str(text).map_err(|e| ParseError {
                message: format!("invalid TOML: {}", e.message()),
                line: e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1)),
            })?;
            Ok(flatten(&toml_to_json(&doc)))
        }
        Format::Csv | Format::Tsv => {
            parse_table(text, if format == Format::Tsv { b'\t' } else { b',' }, key)
        }
        Format::Mlflow => parse_mlflow(text),
    }
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string()
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` tokens that Python's
/// json module writes (outside strings) with marked strings serde_json accepts.
fn mark_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let replaced = [
            ("-Infinity", NEG_INF_MARK),
            ("Infinity", INF_MARK),
            ("NaN", NAN_MARK),
        ]
        .iter()
        .find(|(token, _)| rest.starts_with(token));
        if let Some((token, mark)) = replaced {
            out.push('"');
            out.push_str(&mark.replace('\u{0}', "\\u0000"));
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

fn float_to_json(f: f64) -> serde_json::Value {
    if f.is_nan() {
        serde_json::Value::String(NAN_MARK.into())
    } else if f.is_infinite() {
        serde_json::Value::String(if f > 0.0 { INF_MARK } else { NEG_INF_MARK }.into())
    } else {
        serde_json::json!(f)
    }
}

fn yaml_to_json(value: &serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match value {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => serde_json::Value::Bool(*b),
        Y::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => serde_json::json!(i),
            (None, Some(f)) => float_to_json(f),
            _ => serde_json::Value::Null,
        },
        Y::String(s) => serde_json::Value::String(s.clone()),
        Y::Sequence(items) => serde_json::Value::Array(items.iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(&tagged.value),
    }
}

fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    use toml::Value as T;
    match value {
        T::String(s) => serde_json::Value::String(s.clone()),
        T::Integer(i) => serde_json::json!(i),
        T::Float(f) => float_to_json(*f),
        T::Boolean(b) => serde_json::Value::Bool(*b),
        T::Datetime(d) => serde_json::Value::String(d.to_string()),
        T::Array(items) => serde_json::Value::Array(items.iter().map(toml_to_json).collect()),
        T::Table(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn parse_table(
    text: &str,
    delimiter: u8,
    key: Option<&str>,
) -> Result<BTreeMap<String, MetricValue>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ParseError {
            message: format!("invalid header row: {e}"),
            line: Some(1),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let key_index = match key {
        Some(k) => Some(
            headers
                .iter()
                .position(|h| h == k)
                .ok_or_else(|| ParseError {
                    message: format!(
                        "key column `{k}` is not in the header ({})",
                        headers.join(", ")
                    ),
                    line: Some(1),
                })?,
        ),
        None => None,
    };
    let mut out = BTreeMap::new();
    let mut last = None;
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ParseError {
            message: format!("row {}: {e}", i + 2),
            line: e.position().map(|p| p.line() as usize),
        })?;
        match key_index {
            Some(k) => {
                let row_key = record.get(k).unwrap_or("").trim().to_string();
                for (j, cell) in record.iter().enumerate() {
                    if j != k {
                        out.insert(
                            format!("{row_key}.{}", headers[j]),
                            MetricValue::parse_cell(cell),
                        );
                    }
                }
            }
            None => last = Some(record),
        }
    }
    if let Some(record) = last {
        for (j, cell) in record.iter().enumerate() {
            out.insert(headers[j].clone(), MetricValue::parse_cell(cell));
        }
    }
    Ok(out)
}

/// An MLflow metric file: the value of the last step (ties: the latest timestamp).
fn parse_mlflow(text: &str) -> Result<BTreeMap<String, MetricValue>, ParseError> {
    let mut best: Option<(i64, i64, MetricValue)> = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (Some(ts), Some(value)) = (
            parts.first().and_then(|t| t.parse::<i64>().ok()),
            parts.get(1),
        ) else {
            return Err(ParseError {
                message: "expected `<timestamp> <value> [<step>]`".into(),
                line: Some(i + 1),
            });
        };
        let step = parts
            .get(2)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0);
        if best.as_ref().is_none_or(|(s, t, _)| (step, ts) >= (*s, *t)) {
            best = Some((step, ts, MetricValue::parse_cell(value)));
        }
    }
    let mut out = BTreeMap::new();
    if let Some((_, _, value)) = best {
        out.insert(String::new(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format is known by its extension in any case; an MLflow metric
    /// file by its folders.
    #[test]
    fn formats_are_known_by_extension_in_any_case() {
        for (path, format) in [
            ("metrics.json", Some(Format::Json)),
            ("eval/Scores.JSON", Some(Format::Json)),
            ("m.YmL", Some(Format::Yaml)),
            ("m.yaml", Some(Format::Yaml)),
            ("m.Toml", Some(Format::Toml)),
            ("m.CSV", Some(Format::Csv)),
            ("m.tsv", Some(Format::Tsv)),
            ("mlruns/0/abc/metrics/acc", Some(Format::Mlflow)),
            ("x/MLRUNS/0/abc/Metrics/acc", Some(Format::Mlflow)),
            ("mlruns/0/abc/params/acc", None),
            ("metrics.txt", None),
            ("metrics.jsonl", None),
        ] {
            assert_eq!(Format::of(path), format, "{path}");
        }
    }

    #[test]
    fn json_with_python_nan_and_infinity() {
        let text = r#"{"auc": NaN, "loss": Infinity, "gap": -Infinity, "note": "NaN stays text", "nested": {"f1": 0.8}}"#;
        let flat = parse(Format::Json, text, None).unwrap();
        assert!(flat["auc"].as_number().unwrap().is_nan());
        assert_eq!(flat["loss"], MetricValue::Number(f64::INFINITY));
        assert_eq!(flat["gap"], MetricValue::Number(f64::NEG_INFINITY));
        assert_eq!(flat["note"], MetricValue::Text("NaN stays text".into()));
        assert_eq!(flat["nested.f1"], MetricValue::Number(0.8));
    }

    /// A metric is the number its file holds, to the last digit: serde_json's
    /// default float parsing is off by one unit in the last place for about
    /// one decimal in ten (0.9460718094560967 read as …968), which a diff of
    /// a file against itself would not show but its values would.
    #[test]
    fn json_numbers_are_read_exactly() {
        for written in [
            "0.9460718094560967",
            "0.9856906946328695",
            "0.21291890726713458",
        ] {
            let flat = parse(Format::Json, &format!("{{\"m\": {written}}}"), None).unwrap();
            let exact: f64 = written.parse().unwrap();
            assert_eq!(flat["m"], MetricValue::Number(exact), "{written}");
        }
    }

    #[test]
    fn invalid_json_names_the_line() {
        let err = parse(Format::Json, "{\n  \"a\": 1,\n  \"b\": \n}", None).unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(err.message.starts_with("invalid JSON"));
    }

    #[test]
    fn yaml_and_toml_nest_and_keep_specials() {
        let flat = parse(Format::Yaml, "eval:\n  auc: 0.91\n  loss: .nan\n", None).unwrap();
        assert_eq!(flat["eval.auc"], MetricValue::Number(0.91));
        assert!(flat["eval.loss"].as_number().unwrap().is_nan());
        let flat = parse(
            Format::Toml,
            "[eval]\nauc = 0.91\nsteps = 3\nlat = inf\n",
            None,
        )
        .unwrap();
        assert_eq!(flat["eval.steps"], MetricValue::Number(3.0));
        assert_eq!(flat["eval.lat"], MetricValue::Number(f64::INFINITY));
    }

    #[test]
    fn csv_last_row_or_keyed_rows() {
        let text = "epoch,loss,acc\n1,0.9,0.5\n2,0.4,0.8\n";
        let flat = parse(Format::Csv, text, None).unwrap();
        assert_eq!(flat["loss"], MetricValue::Number(0.4));
        let keyed = parse(
            Format::Tsv,
            "slice\tauc\nUS\t0.9\nDE\t0.85\n",
            Some("slice"),
        )
        .unwrap();
        assert_eq!(keyed["DE.auc"], MetricValue::Number(0.85));
        let err = parse(Format::Csv, "a,b\n1,2,3\n", None).unwrap_err();
        assert!(err.message.contains("row 2"), "{}", err.message);
        let err = parse(Format::Csv, "a,b\n1,2\n", Some("slice")).unwrap_err();
        assert!(err.message.contains("key column `slice`"));
    }

    #[test]
    fn mlflow_takes_the_last_step() {
        let flat = parse(
            Format::Mlflow,
            "1700000000 0.5 0\n1700000100 0.7 2\n1700000050 0.6 1\n",
            None,
        )
        .unwrap();
        assert_eq!(flat[""], MetricValue::Number(0.7));
        assert!(parse(Format::Mlflow, "garbage\n", None).is_err());
    }
}
