//! Small helpers over `serde_yaml::Value`, and the scan that treats every
//! string of a YAML file as a potential command (Kubernetes Jobs, Argo
//! workflows, `entrypoint:` of job specs, compose files).

use serde::Deserialize;
use serde_yaml::Value;

use super::lines;

/// A YAML file that failed to parse: message and 1-based line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub message: String,
    pub line: Option<usize>,
}

impl From<serde_yaml::Error> for YamlError {
    fn from(err: serde_yaml::Error) -> Self {
        YamlError {
            line: err.location().map(|l| l.line()),
            message: err.to_string(),
        }
    }
}

impl From<crate::yaml_span::TooDeep> for YamlError {
    fn from(deep: crate::yaml_span::TooDeep) -> Self {
        YamlError {
            message: deep.message(),
            line: Some(deep.line),
        }
    }
}

/// Parses a single-document YAML file.
pub(crate) fn parse(text: &str) -> Result<Value, YamlError> {
    crate::yaml_span::check_depth(text)?;
    let mut value: Value = serde_yaml::from_str(text)?;
    // GitLab and compose files lean on `<<: *anchor` merges.
    let _ = value.apply_merge();
    Ok(value)
}

/// Parses every document of a (possibly `---`-separated) YAML file.
pub(crate) fn parse_all(text: &str) -> Result<Vec<Value>, YamlError> {
    crate::yaml_span::check_depth(text)?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc)?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// `value[key]` for a mapping.
pub(crate) fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

/// `value[key]` as a string.
pub(crate) fn get_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

/// A scalar as text (`3.11`, `true`, `x`); `None` for collections and null.
pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

/// A string or a (nested) sequence of scalars, flattened: GitLab `script:`
/// with anchors, dvc `cmd:` lists.
pub(crate) fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().flat_map(string_list).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// The mapping's keys as strings, in file order.
pub(crate) fn keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| m.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

/// Largest number of candidate commands taken from one YAML file; a data
/// file with many strings must not make the model slow.
const MAX_CANDIDATES: usize = 2000;

/// A string of a YAML file that may be a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub text: String,
    /// 1-based line of the string (or of the first item of an argv list).
    pub line: usize,
}

/// Every string value of the documents as a potential command, in file order.
/// A sequence of plain words (`command: ["python", "train.py"]`) is joined
/// into one command line, the way an container runtime runs it.
pub(crate) fn candidates(text: &str, docs: &[Value]) -> Vec<Candidate> {
    let mut raw = Vec::new();
    for doc in docs {
        collect(doc, &mut raw);
    }
    let mut out = Vec::new();
    let mut cursor = 1;
    for (text_value, needle) in raw.into_iter().take(MAX_CANDIDATES) {
        let line =
            lines::find_line(text, &needle, cursor).or_else(|| lines::find_line(text, &needle, 1));
        if let Some(line) = line {
            cursor = line;
        }
        out.push(Candidate {
            text: text_value,
            line: line.unwrap_or(cursor),
        });
    }
    out
}

/// (command text, needle to find its line) for each candidate under `value`.
fn collect(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) => {
            let needle = s
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            out.push((s.clone(), needle));
        }
        Value::Sequence(items) => {
            let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            let argv = words.len() == items.len()
                && words.len() > 1
                && !words[0].contains(char::is_whitespace);
            if argv {
                let joined =
                    shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "));
                out.push((joined, words[0].to_string()));
            } else {
                for item in items {
                    collect(item, out);
                }
            }
        }
        Value::Mapping(map) => {
            for item in map.values() {
                collect(item, out);
            }
        }
        Value::Tagged(tagged) => collect(&tagged.value, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_from_a_kubernetes_job() {
        let text = "\
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
        - name: train
          command: [\"python\", \"-m\", \"pipeline.train\"]
          args:
            - |
              pytest tests/data
              bash deploy/x.sh
---
entrypoint: bash deploy/jobs/workloads.sh
";
        let docs = parse_all(text).unwrap();
        assert_eq!(docs.len(), 2);
        let got = candidates(text, &docs);
        let pairs: Vec<(&str, usize)> = got.iter().map(|c| (c.text.as_str(), c.line)).collect();
        assert_eq!(
            pairs,
            [
                ("batch/v1", 1),
                ("Job", 2),
                ("train", 7),
                ("python -m pipeline.train", 8),
                ("pytest tests/data\nbash deploy/x.sh\n", 11),
                ("bash deploy/jobs/workloads.sh", 14),
            ]
        );
    }

    #[test]
    fn errors_carry_lines() {
        let err = parse("a: [\nb: c").unwrap_err();
        assert!(err.line.is_some());
        assert!(parse_all("a: b\n---\n: : :\n  - [").is_err());
    }

    #[test]
    fn helpers() {
        let v = parse("a: [x, [y, 3]]\nb: true\n").unwrap();
        assert_eq!(string_list(get(&v, "a").unwrap()), ["x", "y", "3"]);
        assert_eq!(scalar(get(&v, "b").unwrap()).as_deref(), Some("true"));
        assert_eq!(keys(&v), ["a", "b"]);
    }
}
