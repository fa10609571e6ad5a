//! The content scan through the real binary: notebooks are read as their cell
//! sources with the JSON line of each source line as evidence, their outputs
//! are never matched, a broken notebook is a warning, and a rule whose pattern
//! needs Unicode matches non-ASCII text.

use crate::common::{json_report, repo_with};

/// A notebook as Jupyter writes it. The HTML and image outputs hold text that
/// rules would match; only the code cell's own seed may be found.
const NOTEBOOK: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# Training\n",
    "The seed is fixed below."
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {},
   "outputs": [
    {
     "data": {
      "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\n",
      "text/html": ["<pre>torch.manual_seed(7)</pre>"],
      "text/plain": ["tf.random.set_seed(7)"]
     },
     "metadata": {},
     "output_type": "display_data"
    }
   ],
   "source": [
    "import numpy as np\n",
    "\n",
    "np.random.seed(0)  # é ✓ 模型\n",
    "model = train(X)"
   ]
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

fn evidence_of<'a>(report: &'a serde_json::Value, id: &str) -> &'a Vec<serde_json::Value> {
    report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["custom_checks"].as_array().into_iter().flatten())
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{id} in report"))["evidence"]
        .as_array()
        .unwrap()
}

#[test]
fn notebook_evidence_carries_its_path_and_the_json_line_of_the_source_line() {
    let repo = repo_with(&[("notebooks/train.ipynb", NOTEBOOK)]);
    let report = json_report(repo.path());
    let seeds: Vec<&serde_json::Value> = evidence_of(&report, "infra-1")
        .iter()
        .filter(|e| e["what"] == "random seed fixed in code")
        .collect();
    assert_eq!(seeds.len(), 1, "{seeds:#?}");
    assert_eq!(seeds[0]["path"], "notebooks/train.ipynb");
    assert_eq!(
        seeds[0]["line"],
        line_of(NOTEBOOK, "np.random.seed(0)"),
        "the line of the notebook file a reader can open"
    );
    // The excerpt is the source line, decoded from its JSON string.
    assert_eq!(seeds[0]["excerpt"], "np.random.seed(0)  # é ✓ 模型");
    assert!(report["warnings"]
        .as_array()
        .is_none_or(|w| w.iter().all(|w| w["path"] != "notebooks/train.ipynb")));
}

#[test]
fn a_notebook_that_does_not_parse_is_a_warning_and_scanned_without_long_lines() {
    let long = format!(
        "    \"data\": \"torch.manual_seed(1) {}\",",
        "A".repeat(8000)
    );
    let broken = format!(
        "{{\n \"cells\": [\n  {{\n   \"source\": [\n    \"np.random.seed(0)\\n\",\n{long}\n"
    );
    let repo = repo_with(&[("nb/broken.ipynb", broken.as_str())]);
    let report = json_report(repo.path());
    let warning = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "nb/broken.ipynb")
        .expect("a warning naming the notebook");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("not a valid notebook (line 6"),
        "{warning}"
    );
    let lines: Vec<&serde_json::Value> = evidence_of(&report, "infra-1")
        .iter()
        .filter(|e| e["path"] == "nb/broken.ipynb")
        .map(|e| &e["line"])
        .collect();
    assert_eq!(lines, vec![&serde_json::json!(5)]);
}

#[test]
fn a_rule_whose_pattern_needs_unicode_still_matches_non_ascii_text() {
    // Case folding of `é` and `\w` over `ï` and kana need Unicode: compiled
    // ASCII-only, neither rule would match.
    let check = "id: team-cafe\nsection: custom\ntitle: Cafe models\nasks: Cafe models are named.\nevidence:\n  - what: cafe model\n    files: [\"**/*.py\"]\n    contains: '(?i)\\bcafé_\\w+\\('\n  - what: model evaluation note\n    files: [\"**/*.md\"]\n    contains: '模型\\w*評価'\n";
    let repo = repo_with(&[
        (".mlscore/checks/cafe.yaml", check),
        ("src/models.py", "import x\nm = CAFÉ_naïve(1)\n"),
        ("docs/notes.md", "# Notes\n\n模型の評価は毎週。\n"),
    ]);
    let report = json_report(repo.path());
    let found: Vec<(String, String, u64)> = evidence_of(&report, "team-cafe")
        .iter()
        .map(|e| {
            (
                e["what"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("model evaluation note".into(), "docs/notes.md".into(), 3),
            ("cafe model".into(), "src/models.py".into(), 2),
        ]
    );
}
