//! The `pii` probe (data-5): personal data committed to the repository in data
//! files. It looks for e-mail addresses, phone numbers, payment card numbers
//! (checked with the Luhn digit and a known issuer prefix) and national ids
//! (US social security numbers, UK national insurance numbers). Examples in
//! reports are masked: a report must not spread what it found.

use std::io::{BufRead, BufReader, Read};
use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Deserialize;

use super::{Context, Judgement, Probe, Unrunnable};
use crate::yaml_span::SettingError;

/// Data files the probe reads when `paths` is not set: text files line by
/// line, Parquet through its text columns.
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "txt", "jsonl", "ndjson", "json", "psv", "dat", "parquet",
];

/// Values of one Parquet column examined at most; enough to show that
/// personal data is there without reading a huge file whole.
const PARQUET_CANDIDATES: u32 = 10_000;

/// The kinds of personal data the probe knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    Card,
    NationalId,
}

impl PiiKind {
    const ALL: [PiiKind; 4] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Card,
        PiiKind::NationalId,
    ];

    fn noun(self, count: usize) -> &'static str {
        match (self, count == 1) {
            (PiiKind::Email, true) => "e-mail address",
            (PiiKind::Email, false) => "e-mail addresses",
            (PiiKind::Phone, true) => "phone number",
            (PiiKind::Phone, false) => "phone numbers",
            (PiiKind::Card, true) => "payment card number",
            (PiiKind::Card, false) => "payment card numbers",
            (PiiKind::NationalId, true) => "national id",
            (PiiKind::NationalId, false) => "national ids",
        }
    }
}

/// `probes.pii[]` in mlscore.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiProbe {
    #[serde(default)]
    pub name: Option<String>,
    /// Files to scan (paths or globs); default: every committed text data file
    /// (.csv, .tsv, .txt, .jsonl, .ndjson, .json, .psv, .dat).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Which kinds to look for; default: all.
    #[serde(default)]
    pub kinds: Vec<PiiKind>,
    /// Regular expressions for values that are not personal data (synthetic
    /// fixtures); a match they match in full is ignored.
    #[serde(default)]
    pub allow: Vec<String>,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@([a-z0-9-]{1,63}\.)+[a-z]{2,24}\b")
        .expect("valid regex")
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    // International (+CC then 7-14 digits, optionally grouped) or North American
    // with separators; bare digit runs are too often ids or amounts.
    Regex::new(r"(?:\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{3}\) ?\d{3}[-.]\d{4}|\b\d{3}[-.]\d{3}[-.]\d{4})\b")
        .expect("valid regex")
});
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").expect("valid regex"));
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{3})-(\d{2})-(\d{4})\b").expect("valid regex"));
static NINO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
        .expect("valid regex")
});

/// One hit: what it is and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: PiiKind,
    /// `line 3` in a text file, `row 3, column email` in a Parquet file.
    pub place: String,
    /// The value, masked.
    pub masked: String,
}

/// Finds personal data in one line of text.
pub fn scan_line(
    line: &[u8],
    kinds: &[PiiKind],
    allow: &[Regex],
    out: &mut Vec<(PiiKind, String)>,
) {
    let allowed = |m: &[u8]| {
        allow.iter().any(|re| {
            re.find(m)
                .is_some_and(|found| found.start() == 0 && found.end() == m.len())
        })
    };
    let want = |k: PiiKind| kinds.is_empty() || kinds.contains(&k);
    if want(PiiKind::Email) && line.contains(&b'@') {
        for m in EMAIL.find_iter(line) {
            let text = String::from_utf8_lossy(m.as_bytes());
            if !reserved_domain(&text) && !allowed(m.as_bytes()) {
                out.push((PiiKind::Email, mask_email(&text)));
            }
        }
    }
    if !line.iter().any(u8::is_ascii_digit) {
        return;
    }
    let mut taken: Vec<(usize, usize)> = Vec::new();
    if want(PiiKind::Card) {
        for m in CARD.find_iter(line) {
            let digits: Vec<u8> = m
                .as_bytes()
                .iter()
                .filter(|b| b.is_ascii_digit())
                .map(|b| b - b'0')
                .collect();
            if is_card(&digits) && !allowed(m.as_bytes()) {
                taken.push((m.start(), m.end()));
                out.push((PiiKind::Card, mask_digits(&digits, 4)));
            }
        }
    }
    if want(PiiKind::NationalId) {
        for c in SSN.captures_iter(line) {
            let part = |i: usize| std::str::from_utf8(&c[i]).unwrap_or("").to_string();
            let (area, group, serial) = (part(1), part(2), part(3));
            let valid = area != "000"
                && area != "666"
                && !area.starts_with('9')
                && group != "00"
                && serial != "0000";
            let whole = c.get(0).expect("group 0 always matches");
            if valid && !allowed(whole.as_bytes()) {
                taken.push((whole.start(), whole.end()));
                out.push((PiiKind::NationalId, format!("***-**-{serial}")));
            }
        }
        for c in NINO.captures_iter(line) {
            let prefix = std::str::from_utf8(&c[1]).unwrap_or("");
            let whole = c.get(0).expect("group 0 always matches");
            if !["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(&prefix)
                && !allowed(whole.as_bytes())
            {
                out.push((PiiKind::NationalId, format!("{prefix}******")));
            }
        }
    }
    if want(PiiKind::Phone) {
        for m in PHONE.find_iter(line) {
            let overlaps = taken.iter().any(|&(s, e)| m.start() < e && s < m.end());
            let digits: Vec<u8> = m
                .as_bytes()
                .iter()
                .filter(|b| b.is_ascii_digit())
                .map(|b| b - b'0')
                .collect();
            if !overlaps && (7..=15).contains(&digits.len()) && !allowed(m.as_bytes()) {
                out.push((PiiKind::Phone, mask_digits(&digits, 2)));
            }
        }
    }
}

/// Domains reserved for documentation and tests (RFC 2606, RFC 6761): never
/// a person's address.
fn reserved_domain(email: &str) -> bool {
    let domain = email
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_ascii_lowercase();
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        || [".test", ".example", ".invalid", ".localhost"]
            .iter()
            .any(|tld| domain.ends_with(tld))
}

/// A card number: 13-19 digits, a known issuer prefix, and a valid Luhn digit.
fn is_card(digits: &[u8]) -> bool {
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let prefix = |n: usize| {
        digits[..n]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
    };
    let issuer = digits[0] == 4 // Visa
        || (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) // Mastercard
        || [34, 37].contains(&prefix(2)) // American Express
        || prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)) // Discover
        || (3528..=3589).contains(&prefix(4)) // JCB
        || [36, 38, 39].contains(&prefix(2)) || (300..=305).contains(&prefix(3)); // Diners
    issuer && luhn(digits)
}

/// The Luhn check digit test.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// All digits but the last `keep` replaced by `*`.
fn mask_digits(digits: &[u8], keep: usize) -> String {
    let hidden = digits.len().saturating_sub(keep);
    digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i < hidden {
                '*'
            } else {
                char::from(b'0' + d)
            }
        })
        .collect()
}

impl Probe for PiiProbe {
    const STARTER: Option<(&'static str, &'static str)> = Some((
        "e-mails, phones, card numbers, national ids in committed data",
        "{}",
    ));
    const EXAMPLE: &'static str =
        "probes:\n  pii:\n    - {}                              # every committed text data file\n";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn label(&self) -> String {
        if self.paths.is_empty() {
            "committed data files".into()
        } else {
            self.paths.join(", ")
        }
    }

    fn validate(&self) -> Result<(), SettingError> {
        for (i, pattern) in self.allow.iter().enumerate() {
            if let Err(err) = Regex::new(pattern) {
                return Err(SettingError::at(
                    &["allow", &i.to_string()],
                    format!("allow: `{pattern}` is not a regular expression ({err})"),
                    "not a regex",
                    "write a regex that matches the allowed values, e.g. '.*@example\\.com'",
                ));
            }
        }
        Ok(())
    }

    fn run(&self, ctx: &Context<'_>) -> Result<Judgement, Unrunnable> {
        let allow = self
            .allow
            .iter()
            .map(|a| {
                Regex::new(a).map_err(|err| {
                    Unrunnable::new(
                        format!("allow: `{a}` is not a valid regular expression ({err})"),
                        "write a Rust regex, e.g. `.*@mycompany-fixtures\\.io`",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let files: Vec<String> = if self.paths.is_empty() {
            ctx.index
                .files()
                .iter()
                .filter(|f| {
                    f.extension()
                        .is_some_and(|e| DATA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .map(|f| f.path.clone())
                .collect()
        } else {
            let mut all = Vec::new();
            for p in &self.paths {
                all.extend(ctx.resolve(p)?);
            }
            all
        };
        let mut failures = Vec::new();
        let mut total = 0usize;
        for file in &files {
            let path = ctx.path(file)?;
            let hits = if file.to_ascii_lowercase().ends_with(".parquet") {
                scan_parquet(file, &path, &self.kinds, &allow)?
            } else {
                scan_file(&path, &self.kinds, &allow).map_err(|err| {
                    Unrunnable::new(
                        format!("cannot read {file}: {err}"),
                        "check the file's permissions",
                    )
                    .at(file)
                })?
            };
            total += hits.len();
            for kind in PiiKind::ALL {
                let of_kind: Vec<&Hit> = hits.iter().filter(|h| h.kind == kind).collect();
                if of_kind.is_empty() {
                    continue;
                }
                let examples: Vec<String> = of_kind
                    .iter()
                    .take(3)
                    .map(|h| format!("{}: {}", h.place, h.masked))
                    .collect();
                failures.push(format!(
                    "{file}: {} {} ({})",
                    of_kind.len(),
                    kind.noun(of_kind.len()),
                    examples.join("; ")
                ));
            }
        }
        let first = failures
            .first()
            .and_then(|f| f.split_once(':'))
            .map(|(p, _)| p.to_string());
        let summary = if total == 0 {
            format!(
                "{} data file{} scanned: no personal data found",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "{total} value{} that look like personal data in {} of {} data files",
                if total == 1 { "" } else { "s" },
                failures
                    .iter()
                    .filter_map(|f| f.split_once(':').map(|(p, _)| p))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                files.len()
            )
        };
        Ok(Judgement::from_lists(summary, failures, Vec::new(), first))
    }
}

/// Longest piece of a line scanned at once: a file that is one 512 MB line
/// is read in pieces of this size, so memory stays bounded.
const MAX_CHUNK: usize = 1 << 20;

/// Scans a file line by line without holding it in memory.
fn scan_file(
    path: &std::path::Path,
    kinds: &[PiiKind],
    allow: &[Regex],
) -> std::io::Result<Vec<Hit>> {
    let mut reader = BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let mut line = Vec::new();
    let mut carry = Vec::new();
    let mut hits = Vec::new();
    let mut found = Vec::new();
    let mut number = 0;
    // Whether the last chunk ended its line (the next chunk starts a new one).
    let mut line_ended = true;
    loop {
        line.clear();
        line.append(&mut carry);
        let limit = (MAX_CHUNK - line.len()) as u64;
        let got = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
        if got == 0 && line.is_empty() {
            break;
        }
        if line_ended {
            number += 1;
        }
        line_ended = line.last() == Some(&b'\n') || got == 0;
        if !line_ended {
            // A line longer than a chunk is scanned a chunk at a time, cut
            // after its last separator so a value is rarely split in two.
            if let Some(cut) = line.iter().rposition(|b| b" \t,;|".contains(b)) {
                carry.extend_from_slice(&line[cut + 1..]);
                line.truncate(cut + 1);
            }
        }
        scan_line(&line, kinds, allow, &mut found);
        hits.extend(found.drain(..).map(|(kind, masked)| Hit {
            kind,
            place: format!("line {number}"),
            masked,
        }));
    }
    Ok(hits)
}

/// Scans the text columns of a Parquet file. polars keeps only the values
/// that could hold personal data (an `@`, or a run of digits), at most
/// [`PARQUET_CANDIDATES`] per column, and the line scanner judges those.
fn scan_parquet(
    file: &str,
    path: &std::path::Path,
    kinds: &[PiiKind],
    allow: &[Regex],
) -> Result<Vec<Hit>, Unrunnable> {
    use polars::prelude::*;
    let mut lazy = crate::probes::data::read::scan(path)?;
    let schema = crate::probes::data::read::columns(path, &mut lazy)?;
    let mut hits = Vec::new();
    let mut found = Vec::new();
    for (name, dtype) in schema.iter() {
        if !matches!(dtype, DataType::String) {
            continue;
        }
        let query = lazy
            .clone()
            .with_row_index("__mlscore_row", None)
            .select([col("__mlscore_row"), col(name.clone())])
            .filter(col(name.clone()).str().contains(lit(r"@|\d{3}"), false))
            .limit(PARQUET_CANDIDATES);
        let frame = super::frame::collect(file, query)?;
        let (Ok(rows), Ok(values)) = (frame.column("__mlscore_row"), frame.column(name.as_str()))
        else {
            continue;
        };
        let (Ok(rows), Ok(values)) = (rows.idx(), values.str()) else {
            continue;
        };
        for (row, value) in rows.into_iter().zip(values) {
            let (Some(row), Some(value)) = (row, value) else {
                continue;
            };
            scan_line(value.as_bytes(), kinds, allow, &mut found);
            hits.extend(found.drain(..).map(|(kind, masked)| Hit {
                kind,
                place: format!("row {}, column {name}", u64::from(row) + 1),
                masked,
            }));
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(line: &str) -> Vec<(PiiKind, String)> {
        let mut out = Vec::new();
        scan_line(line.as_bytes(), &[], &[], &mut out);
        out
    }

    /// Issue 15, item 7: a file that is one line of several chunks is read a
    /// chunk at a time; hits keep the line's number, and values between
    /// separators are not split at a chunk's end.
    #[test]
    fn a_long_line_is_scanned_in_chunks() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("one_line.csv");
        let filler = "x1,".repeat(MAX_CHUNK / 3 - 5);
        let text = format!(
            "id\n{filler}jane.doe@gmail.com,{filler}john.roe@gmail.com,{filler}\nlast@gmail.com\n"
        );
        std::fs::write(&path, &text).unwrap();
        let hits = scan_file(&path, &PiiKind::ALL, &[]).unwrap();
        let places: Vec<&str> = hits.iter().map(|h| h.place.as_str()).collect();
        assert_eq!(places, ["line 2", "line 2", "line 3"]);
    }

    #[test]
    fn luhn_accepts_valid_numbers_and_rejects_a_changed_digit() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert!(luhn(&digits("4539578763621486")));
        assert!(!luhn(&digits("4539578763621487")));
        assert!(luhn(&digits("79927398713")));
    }

    #[test]
    fn finds_each_kind_and_masks_it() {
        let found = scan(
            "42,jane.doe@gmail.com,4539 5787 6362 1486,078-05-1120,+44 20 7946 0958,AB 12 34 56 C",
        );
        let kinds: Vec<PiiKind> = found.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            vec![
                PiiKind::Email,
                PiiKind::Card,
                PiiKind::NationalId,
                PiiKind::NationalId,
                PiiKind::Phone
            ]
        );
        assert_eq!(found[0].1, "j***@gmail.com");
        assert_eq!(found[1].1, "************1486");
        assert_eq!(found[2].1, "***-**-1120");
        assert!(found
            .iter()
            .all(|(_, m)| !m.contains("jane") && !m.contains("4539")));
    }

    #[test]
    fn look_alikes_are_not_personal_data() {
        for line in [
            "id,amount,ts",
            "1,3.14159265358979,2026-01-01",
            "user@example.com,fixture@test.example",
            "4539578763621487",                    // fails Luhn
            "1234567890123456",                    // no issuer, fails Luhn
            "000-12-3456,666-12-3456,900-12-3456", // invalid SSN areas
            "0.5,0.25,0.125,12,1998",
            "version 1.2.3, build 20260101",
        ] {
            assert_eq!(scan(line), vec![], "{line}");
        }
    }

    #[test]
    fn allow_patterns_silence_reviewed_values() {
        let allow = vec![Regex::new(r".*@acme-fixtures\.io").unwrap()];
        let mut out = Vec::new();
        scan_line(b"bot@acme-fixtures.io,jo@gmail.com", &[], &allow, &mut out);
        assert_eq!(out, vec![(PiiKind::Email, "j***@gmail.com".to_string())]);
        out.clear();
        scan_line(
            b"jo@gmail.com 078-05-1120",
            &[PiiKind::NationalId],
            &[],
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }
}
