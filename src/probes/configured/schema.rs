//! The `schema` probe: data files validated against a committed data schema
//! (data-1; monitor-2 as well when the files are serving inputs).

use serde::Deserialize;

use super::{num, Context, Judgement, Probe, Unrunnable};
use crate::probes::data::schema as data_schema;
use crate::probes::data::validate::{self, Level};

/// `probes.schema[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaProbe {
    /// A label for reports; defaults to the data path.
    #[serde(default)]
    pub name: Option<String>,
    /// The data files: a path, a glob, or a list of them.
    #[serde(deserialize_with = "super::paths")]
    pub data: Vec<String>,
    /// The schema file (written by `mlscore data infer`).
    pub schema: String,
    /// The files are what the model serves on (logged requests, a serving
    /// sample): the probe then also covers monitor-2.
    #[serde(default)]
    pub serving: bool,
}

impl Probe for SchemaProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "first run `mlscore data infer {dataset} -o schemas/train.yaml`",
        "{data: {dataset}, schema: schemas/train.yaml}",
    ));
    const FACETS: &'static [&'static str] = &["serving"];
    const EXAMPLE: &'static str = "probes:\n  schema:\n    - data: data/train.csv            # training data\n      schema: schemas/train.yaml      # from `mlscore data infer data/train.csv`\n    - data: logs/serving_sample.csv   # serving inputs: monitor-2\n      schema: schemas/train.yaml\n      serving: true\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        self.data.join(", ")
    }

    fn facets(&self) -> Vec<&'static str> {
        // Serving inputs checked against the schema are monitor-2's evidence
        // (its check file lists `schema.serving`).
        if self.serving {
            vec!["serving"]
        } else {
            Vec::new()
        }
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let schema_path = ctx.resolve_one(&self.schema)?;
        let text = crate::repo::read_text_file(&ctx.path(&schema_path)?).map_err(|err| {
            Unrunnable::new(
                format!("cannot read {schema_path}: {err}"),
                "write one with `mlscore data infer DATA -o SCHEMA`",
            )
            .at(&schema_path)
        })?;
        let schema = data_schema::parse(&schema_path, &text)?;
        let mut files = Vec::new();
        for pattern in &self.data {
            files.extend(ctx.resolve(pattern)?);
        }
        let mut failures = Vec::new();
        let mut notes = Vec::new();
        let mut rows = 0u64;
        for file in &files {
            let report = validate::validate(&ctx.path(file)?, &schema).map_err(|err| {
                // Report paths relative to the repository, as in mlscore.yaml.
                let mut u = Unrunnable::from(err);
                if let Some(p) = &u.path {
                    u.message = u.message.replace(p.as_str(), file);
                }
                u.at(file.clone())
            })?;
            rows += report.rows;
            for v in &report.violations {
                let line = format!(
                    "{file}: {} {}: observed {}, allowed {}{}{}",
                    v.column.as_deref().unwrap_or("(table)"),
                    v.rule,
                    text_of(&v.observed),
                    text_of(&v.threshold),
                    if v.count > 0 {
                        format!(" ({} rows)", v.count)
                    } else {
                        String::new()
                    },
                    if v.examples.is_empty() {
                        String::new()
                    } else {
                        format!(", e.g. {}", v.examples.join(", "))
                    },
                );
                match v.level {
                    Level::Error => failures.push(line),
                    Level::Warning => notes.push(format!("warning: {line}")),
                }
            }
        }
        let summary = format!(
            "{} file{} ({} rows) against {schema_path}: {}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            rows,
            if failures.is_empty() {
                "every rule holds".to_string()
            } else {
                format!(
                    "{} violation{}",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" }
                )
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

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.as_f64().map(num).unwrap_or_else(|| n.to_string()),
        v => v.to_string(),
    }
}
