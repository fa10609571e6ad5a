//! The catalogue of checks: the 28 rubric tests embedded from `checks/`, the
//! tool footprints of `checks/tools.yaml`, and a repository's own checks from
//! `.mlscore/checks/`. Everything is validated here, with spans, so the matcher
//! can trust what it gets.

use std::collections::BTreeMap;
use std::fmt;

use miette::SourceSpan;
use serde::{Deserialize, Serialize};

use crate::yaml_span;

include!(concat!(env!("OUT_DIR"), "/embedded_checks.rs"));

/// A section of the rubric; `Custom` holds a repository's own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Data,
    Model,
    Infra,
    Monitor,
    Custom,
}

impl Section {
    /// The four rubric sections, in the paper's order.
    pub const RUBRIC: [Section; 4] = [
        Section::Data,
        Section::Model,
        Section::Infra,
        Section::Monitor,
    ];

    /// The id used in check ids and JSON (`data`, `model`, `infra`, `monitor`).
    pub fn id(self) -> &'static str {
        match self {
            Section::Data => "data",
            Section::Model => "model",
            Section::Infra => "infra",
            Section::Monitor => "monitor",
            Section::Custom => "custom",
        }
    }

    /// The section's title as the paper names it.
    pub fn title(self) -> &'static str {
        match self {
            Section::Data => "Data",
            Section::Model => "Model",
            Section::Infra => "Infrastructure",
            Section::Monitor => "Monitoring",
            Section::Custom => "Custom",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// When a rule's evidence counts as automated (1.0 rather than 0.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Automated {
    /// When a CI job runs or reaches the file.
    Ci,
    /// When a scheduled CI job runs or reaches the file.
    Scheduled,
    /// Always: the evidence is automation itself.
    Always,
    /// Never: it proves a practice done by hand.
    Never,
}

/// Why evidence of a rule that asks for a scheduled job is manual though
/// an automatic job runs it.
const NEEDS_SCHEDULE: &str =
    "this evidence counts when a scheduled job runs it, and no schedule starts this one";

impl Automated {
    /// Why evidence under this setting can stay manual though an automatic
    /// job runs it: the rule's own words (`written`, its `manual_because`)
    /// for `never`, mlscore's for `scheduled`; `None` where a run by an
    /// automatic job makes it automated.
    pub fn why_manual(self, written: Option<&str>) -> Option<&str> {
        match self {
            Automated::Never => written,
            Automated::Scheduled => Some(NEEDS_SCHEDULE),
            Automated::Ci | Automated::Always => None,
        }
    }
}

/// One evidence rule, as written in a check file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Short label shown beside every hit.
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_runs: Option<String>,
    /// A rule over the roles of repository code (see `roles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<super::roles::RoleRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// With `automated: never`: why the evidence stays manual even when an
    /// automatic CI job runs it, shown beside the job in the reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_because: Option<String>,
}

impl RuleDef {
    /// The automation default of the rule's kind, unless the rule sets one.
    pub fn automation(&self) -> Automated {
        self.automated.unwrap_or(if self.dependency.is_some() {
            Automated::Never
        } else if self.ci_runs.is_some() {
            Automated::Always
        } else {
            Automated::Ci
        })
    }

    /// A one-line description of what the rule matches, for `explain`.
    pub fn describe(&self) -> String {
        let list = |items: &[String]| items.join(", ");
        if let Some(files) = &self.files {
            match &self.contains {
                Some(re) => format!("lines matching `{re}` in {}", list(files)),
                None => format!("files {}", list(files)),
            }
        } else if let Some(modules) = &self.import {
            format!("Python code or notebooks importing {}", list(modules))
        } else if let Some(packages) = &self.dependency {
            format!("a declared dependency on {}", list(packages))
        } else if let Some(tool) = &self.tool {
            format!("the footprint of `{tool}` (see tools.yaml)")
        } else if let Some(re) = &self.ci_runs {
            format!("a CI command matching `{re}`")
        } else if let Some(role) = &self.role {
            role.describe()
        } else {
            String::new()
        }
    }
}

/// One check: a rubric test, or a repository's own.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    pub id: String,
    pub section: Section,
    pub title: String,
    pub asks: String,
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub earn_half: String,
    #[serde(default)]
    pub earn_full: String,
    #[serde(default)]
    pub probes: Vec<String>,
    pub evidence: Vec<RuleDef>,
}

/// A known tool's footprint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolDef {
    pub title: String,
    pub evidence: Vec<RuleDef>,
}

/// The validated catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// The 28 rubric tests in the paper's order.
    pub checks: Vec<CheckDef>,
    /// Tool footprints by name.
    pub tools: BTreeMap<String, ToolDef>,
    /// A repository's own checks, in file order.
    pub custom: Vec<CheckDef>,
}

/// An invalid check or tools file.
pub type CheckFileError = yaml_span::YamlError;

struct FileCtx<'a> {
    path: &'a str,
    text: &'a str,
}

impl FileCtx<'_> {
    fn error(
        &self,
        key: &[&str],
        message: String,
        label: &str,
        help: impl Into<String>,
    ) -> CheckFileError {
        self.at(
            yaml_span::key_span(self.text, key),
            message,
            label,
            help.into(),
        )
    }

    /// An error at `span`, showing only an excerpt around it.
    fn at(&self, span: SourceSpan, message: String, label: &str, help: String) -> CheckFileError {
        yaml_span::YamlError::at(
            "mlscore::checks::invalid",
            self.path,
            self.text,
            span,
            message,
            label,
            help,
        )
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, CheckFileError> {
        if let Err(deep) = yaml_span::check_depth(self.text) {
            return Err(self.at(
                SourceSpan::new(deep.offset.into(), 1),
                deep.message(),
                "too deep",
                yaml_span::TooDeep::HELP.into(),
            ));
        }
        serde_yaml::from_str(self.text).map_err(|err| {
            let raw = err.to_string();
            let message = raw.split(" at line ").next().unwrap_or(&raw).to_string();
            self.at(
                yaml_span::error_span(&err),
                message,
                "here",
                "checks/README.md describes the check file format".into(),
            )
        })
    }
}

impl Catalogue {
    /// The embedded catalogue. It is validated by the test suite, so a failure
    /// here is a build of mlscore with a broken check file. It is read once per
    /// process: every later call is a copy.
    pub fn embedded() -> Result<Catalogue, CheckFileError> {
        static LOADED: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        if let Some(catalogue) = LOADED.get() {
            return Ok(catalogue.clone());
        }
        let catalogue = Catalogue::read_embedded()?;
        Ok(LOADED.get_or_init(|| catalogue).clone())
    }

    fn read_embedded() -> Result<Catalogue, CheckFileError> {
        let mut tools = BTreeMap::new();
        let mut checks = Vec::new();
        for (path, text) in EMBEDDED_CHECKS {
            let ctx = FileCtx { path, text };
            if path.ends_with("/tools.yaml") {
                tools = ctx.parse()?;
            }
        }
        for (path, text) in EMBEDDED_CHECKS {
            if path.ends_with("/tools.yaml") {
                continue;
            }
            let ctx = FileCtx { path, text };
            let check: CheckDef = ctx.parse()?;
            validate_check(&ctx, &check, &tools, Origin::Embedded)?;
            checks.push(check);
        }
        for (name, tool) in &tools {
            let text = EMBEDDED_CHECKS
                .iter()
                .find(|(p, _)| p.ends_with("/tools.yaml"))
                .map(|(_, t)| *t)
                .unwrap_or("");
            let ctx = FileCtx {
                path: "checks/tools.yaml",
                text,
            };
            for (i, rule) in tool.evidence.iter().enumerate() {
                validate_rule(
                    &ctx,
                    &[name, "evidence", &i.to_string()],
                    rule,
                    &BTreeMap::new(),
                    Origin::Embedded,
                )?;
                if rule.tool.is_some() {
                    return Err(ctx.error(
                        &[name, "evidence", &i.to_string(), "tool"],
                        format!("tool `{name}` refers to another tool"),
                        "nested tool",
                        "a footprint lists its own rules; copy the other tool's rules instead",
                    ));
                }
            }
        }
        checks.sort_by_key(|c| (c.section, id_number(&c.id)));
        Ok(Catalogue {
            checks,
            tools,
            custom: Vec::new(),
        })
    }

    /// Adds a repository's own check, read from `path`.
    pub fn add_custom(&mut self, path: &str, text: &str) -> Result<(), CheckFileError> {
        let ctx = FileCtx { path, text };
        let check: CheckDef = ctx.parse()?;
        validate_check(&ctx, &check, &self.tools, Origin::Repository)?;
        if self.get(&check.id).is_some() {
            return Err(ctx.error(
                &["id"],
                format!("id `{}` is already taken", check.id),
                "duplicate id",
                "give your check an id of its own, e.g. `team-feature-docs`; the 28 rubric ids are reserved",
            ));
        }
        self.custom.push(check);
        Ok(())
    }

    /// The rubric test or custom check with this id.
    pub fn get(&self, id: &str) -> Option<&CheckDef> {
        self.checks.iter().chain(&self.custom).find(|c| c.id == id)
    }

    /// The ids of the rubric tests.
    pub fn ids(&self) -> Vec<&str> {
        self.checks.iter().map(|c| c.id.as_str()).collect()
    }

    /// The rubric tests a configured probe entry is evidence for: those whose
    /// check files list the probe, or `probe.facet` for a facet it has.
    pub fn tests_served(&self, probe: &str, facets: &[&str]) -> Vec<String> {
        let serves = |named: &str| match named.split_once('.') {
            None => named == probe,
            Some((name, facet)) => name == probe && facets.contains(&facet),
        };
        self.checks
            .iter()
            .filter(|c| c.probes.iter().any(|p| serves(p)))
            .map(|c| c.id.clone())
            .collect()
    }
}

/// The number in an id like `data-3`, for ordering.
fn id_number(id: &str) -> u32 {
    id.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Where a check file comes from, which decides how much is checked on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Embedded in mlscore: a rubric test or tools.yaml. Its patterns are only
    /// parsed here (microseconds); compiling them all cost most of start-up,
    /// and the test suite compiles every one (`embedded_patterns_compile`).
    Embedded,
    /// A repository's own check: everything is checked, patterns compiled.
    Repository,
}

fn validate_check(
    ctx: &FileCtx<'_>,
    check: &CheckDef,
    tools: &BTreeMap<String, ToolDef>,
    origin: Origin,
) -> Result<(), CheckFileError> {
    if origin == Origin::Embedded {
        let stem = ctx
            .path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml");
        if check.id != stem {
            return Err(ctx.error(
                &["id"],
                format!("id `{}` differs from the file name", check.id),
                "id",
                format!("name the file `{}.yaml` or set `id: {stem}`", check.id),
            ));
        }
        if check.section == Section::Custom
            || !check.id.starts_with(&format!("{}-", check.section.id()))
        {
            return Err(ctx.error(
                &["section"],
                format!(
                    "section `{}` does not match id `{}`",
                    check.section, check.id
                ),
                "section",
                "a rubric check's id starts with its section: data-, model-, infra-, monitor-",
            ));
        }
        for (key, text) in [
            ("why", &check.why),
            ("earn_half", &check.earn_half),
            ("earn_full", &check.earn_full),
        ] {
            if text.trim().is_empty() {
                return Err(ctx.error(
                    &[key],
                    format!("`{key}` is missing or empty"),
                    key,
                    "every rubric check documents what it asks, why, and how to earn 0.5 and 1",
                ));
            }
        }
    } else if check.section != Section::Custom {
        return Err(ctx.error(&["section"], format!("section `{}` is reserved for the rubric", check.section), "section", "your own checks use `section: custom`; they are reported apart and never change the score"));
    }
    if check.asks.trim().is_empty() || check.title.trim().is_empty() {
        return Err(ctx.error(
            &["title"],
            "`title` and `asks` must not be empty".into(),
            "here",
            "say in a sentence what the check asks",
        ));
    }
    for (i, probe) in check.probes.iter().enumerate() {
        if !crate::probes::configured::is_known(probe) {
            return Err(ctx.error(
                &["probes", &i.to_string()],
                format!("unknown probe `{probe}`"),
                "unknown probe",
                format!(
                    "probes are: {}",
                    crate::probes::configured::known_names().join(", ")
                ),
            ));
        }
    }
    if check.evidence.is_empty() && check.probes.is_empty() {
        return Err(ctx.error(
            &["evidence"],
            "no evidence rules and no probes: this check could never score".into(),
            "empty",
            "add at least one rule under `evidence:`",
        ));
    }
    for (i, rule) in check.evidence.iter().enumerate() {
        validate_rule(ctx, &["evidence", &i.to_string()], rule, tools, origin)?;
    }
    Ok(())
}

fn validate_rule(
    ctx: &FileCtx<'_>,
    at: &[&str],
    rule: &RuleDef,
    tools: &BTreeMap<String, ToolDef>,
    origin: Origin,
) -> Result<(), CheckFileError> {
    let key = |k: &str| {
        let mut path: Vec<&str> = at.to_vec();
        path.push(k);
        path.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let err = |k: &str, message: String, label: &str, help: &str| {
        let path = key(k);
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        ctx.error(&refs, message, label, help)
    };
    let kinds = [
        rule.files.is_some(),
        rule.import.is_some(),
        rule.dependency.is_some(),
        rule.tool.is_some(),
        rule.ci_runs.is_some(),
        rule.role.is_some(),
    ];
    let count = kinds.iter().filter(|k| **k).count();
    if count != 1 {
        return Err(err("what", format!("rule `{}` must have exactly one of files, import, dependency, tool, ci_runs, role (it has {count})", rule.what), "this rule", "split it into one rule per kind"));
    }
    if let Some(Err(why)) = rule.role.as_ref().map(super::roles::RoleRule::validate) {
        return Err(err(
            "role",
            why,
            "role rule",
            "e.g. `role: {tests_import: [feature]}` or `role: {runs_in_order: [training, evaluation]}`; checks/README.md lists the roles",
        ));
    }
    if rule.what.trim().is_empty() {
        return Err(err(
            "what",
            "`what` is empty".into(),
            "label",
            "give the rule a short label, shown beside every hit",
        ));
    }
    if rule.manual_because.is_some() && rule.automation() != Automated::Never {
        return Err(err(
            "manual_because",
            "`manual_because` explains evidence that never counts as automated".into(),
            "manual_because",
            "add `automated: never`, or remove `manual_because`",
        ));
    }
    if rule.contains.is_some() && rule.files.is_none() {
        return Err(err(
            "contains",
            "`contains` needs `files`".into(),
            "contains",
            "add `files:` globs saying where to look",
        ));
    }
    if let Some(files) = &rule.files {
        if files.is_empty() {
            return Err(err(
                "files",
                "`files` is empty".into(),
                "files",
                "list at least one glob",
            ));
        }
        for (i, glob) in files.iter().enumerate() {
            if let Err(why) = crate::glob::compile(glob) {
                let path = key("files");
                let mut refs: Vec<&str> = path.iter().map(String::as_str).collect();
                let index = i.to_string();
                refs.push(&index);
                return Err(ctx.error(
                    &refs,
                    format!("`{glob}` is not a valid glob ({why})"),
                    "glob",
                    "globs use `*`, `**`, `?` and `[abc]`",
                ));
            }
        }
    }
    for (k, pattern) in [("contains", &rule.contains), ("ci_runs", &rule.ci_runs)] {
        if let Some(pattern) = pattern {
            let checked = match origin {
                Origin::Embedded => regex_syntax::ast::parse::Parser::new()
                    .parse(pattern)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Origin::Repository => regex::Regex::new(pattern)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            if let Err(e) = checked {
                let first = e
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string();
                return Err(err(
                    k,
                    format!("`{pattern}` is not a valid regex: {first}"),
                    "regex",
                    "patterns use Rust regex syntax: no look-around or back-references",
                ));
            }
        }
    }
    for (k, list) in [("import", &rule.import), ("dependency", &rule.dependency)] {
        if let Some(list) = list {
            if list.is_empty()
                || list
                    .iter()
                    .any(|m| m.trim().is_empty() || m.contains(char::is_whitespace))
            {
                return Err(err(
                    k,
                    format!("`{k}` needs one or more names without spaces"),
                    k,
                    "e.g. `import: [pandera]`",
                ));
            }
        }
    }
    if let Some(tool) = &rule.tool {
        if !tools.contains_key(tool) {
            let names: Vec<&str> = tools.keys().map(String::as_str).collect();
            let hint = crate::text::suggest::closest(tool, &names)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            return Err(err(
                "tool",
                format!("unknown tool `{tool}`"),
                "unknown tool",
                &format!("{hint}tools are defined in checks/tools.yaml"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Start-up only parses the embedded patterns; this compiles every one, as
    /// a repository's own check is compiled on load.
    #[test]
    fn embedded_patterns_compile() {
        let catalogue = Catalogue::embedded().expect("embedded catalogue");
        let rules = catalogue
            .checks
            .iter()
            .flat_map(|c| &c.evidence)
            .chain(catalogue.tools.values().flat_map(|t| &t.evidence));
        let mut count = 0;
        for rule in rules {
            for pattern in [&rule.contains, &rule.ci_runs].into_iter().flatten() {
                if let Err(err) = regex::Regex::new(pattern) {
                    panic!("`{}`: `{pattern}` does not compile: {err}", rule.what);
                }
                count += 1;
            }
        }
        assert!(count > 100, "only {count} patterns");
    }

    /// The rule's words for `never`, mlscore's for `scheduled`, none where
    /// an automatic job's run is enough.
    #[test]
    fn why_manual_follows_the_setting() {
        let written = Some("people read it");
        assert_eq!(Automated::Never.why_manual(written), written);
        assert_eq!(Automated::Never.why_manual(None), None);
        assert_eq!(
            Automated::Scheduled.why_manual(written),
            Some(NEEDS_SCHEDULE)
        );
        assert_eq!(Automated::Ci.why_manual(written), None);
        assert_eq!(Automated::Always.why_manual(written), None);
    }

    /// Evidence that never counts as automated says why, for the reports to
    /// show beside a CI job that runs it; only such evidence may.
    #[test]
    fn evidence_that_stays_manual_says_why() {
        let catalogue = Catalogue::embedded().unwrap();
        let mut never = 0;
        for rule in catalogue.checks.iter().flat_map(|c| &c.evidence) {
            if rule.automated == Some(Automated::Never) {
                never += 1;
                assert!(rule.manual_because.is_some(), "`{}` says no why", rule.what);
            }
        }
        assert!(never > 30, "only {never}");

        let mut catalogue = Catalogue::embedded().unwrap();
        let text = "id: team-x\nsection: custom\ntitle: T\nasks: A\nevidence:\n  - what: w\n    files: ['*.py']\n    manual_because: people read it\n";
        let err = catalogue
            .add_custom(".mlscore/checks/x.yaml", text)
            .unwrap_err();
        assert!(err.message.contains("`manual_because`"), "{}", err.message);
        let fixed = text.replace(
            "    manual_because",
            "    automated: never\n    manual_because",
        );
        catalogue
            .add_custom(".mlscore/checks/x.yaml", &fixed)
            .expect("valid with `automated: never`");
    }

    #[test]
    fn a_repository_check_with_a_bad_pattern_is_refused_with_its_line() {
        let mut catalogue = Catalogue::embedded().unwrap();
        let text = "id: team-x\nsection: custom\ntitle: T\nasks: A\nevidence:\n  - what: w\n    files: ['*.py']\n    contains: 'a{99999999}'\n";
        let err = catalogue
            .add_custom(".mlscore/checks/x.yaml", text)
            .unwrap_err();
        assert!(
            err.message.contains("is not a valid regex"),
            "{}",
            err.message
        );
    }
}
