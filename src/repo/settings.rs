//! The `scan:` section of `mlscore.yaml`: what the repository index holds.

use serde::Deserialize;

use crate::yaml_span::SettingError;

/// The `scan:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Globs indexed even when `.gitignore` ignores them.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs never indexed.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Files larger than this are indexed by name only: bytes, or `"5MiB"`.
    #[serde(default)]
    pub max_file_size: Option<ByteSize>,
}

impl ScanConfig {
    /// Checks that every glob compiles; paths are relative to `scan:`.
    pub fn validate(&self) -> Result<(), SettingError> {
        for (field, globs) in [("include", &self.include), ("exclude", &self.exclude)] {
            for (i, glob) in globs.iter().enumerate() {
                if let Err(why) = crate::glob::compile(glob) {
                    return Err(SettingError::at(
                        &[field, &i.to_string()],
                        format!("scan.{field}: `{glob}` is not a valid glob ({why})"),
                        "this glob",
                        "globs use `*` within a folder, `**` across folders, `?` and `[abc]`; escape a literal `[` as `\\[`",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A size in bytes, written as a number or with a unit (`KB`, `MB`, `KiB`, `MiB`, `GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(de)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(text) => parse_byte_size(&text).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a size; write bytes (1048576) or a number with a unit (512KiB, 2MiB, 1GB)"
                ))
            }),
        }
    }
}

fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor) as u64)
}
