//! Markdown reports rendered with minijinja templates (PR comment, job summary).
//!
//! Everything the repository controls (paths, metric names and values, evidence
//! excerpts, job names, commands, messages, waiver reasons) is untrusted: a
//! metric named `<img src=x onerror=…>` or `@everyone` must come out inert. The
//! environment escapes by construction: every `{{ value }}` goes through
//! [`escape`] unless the template marks it `|safe`, and the helpers that emit
//! markup (`code`, `loc`) escape their own input.
//!
//! Bodies have hard limits (65,536 characters for a comment, 1 MiB for the job
//! summary). A report that is too big is re-rendered with fewer details, and as
//! a last resort cut at a line boundary with a note; it is never rejected.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, Error, State};
use serde::Serialize;

use super::context::RenderContext;
use super::{CiJobSummary, Finding, Report, Warning};
use crate::metrics::{Change, MetricRow};

/// Which Markdown report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The sticky pull-request comment.
    Comment,
    /// The CI job summary.
    Summary,
}

/// The hidden first line by which the forge finds its sticky comment.
pub const COMMENT_MARKER: &str = "<!-- mlscore:report -->";

/// GitHub's limit for a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// GitHub's limit for `$GITHUB_STEP_SUMMARY`, in bytes.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Where a repository keeps templates that replace mlscore's own.
pub const OVERRIDE_DIR: &str = ".mlscore/templates";

/// The default templates: (name, text). `macros.md.j2` holds the pieces both
/// reports share; a repository may override any of the three.
const TEMPLATES: [(&str, &str); 3] = [
    (
        "comment.md.j2",
        include_str!("../../templates/comment.md.j2"),
    ),
    (
        "summary.md.j2",
        include_str!("../../templates/summary.md.j2"),
    ),
    ("macros.md.j2", include_str!("../../templates/macros.md.j2")),
];

/// Evidence items per test in the comment; the summary shows all the report keeps.
const COMMENT_EVIDENCE: usize = 3;

impl Kind {
    fn template(self) -> &'static str {
        match self {
            Kind::Comment => "comment.md.j2",
            Kind::Summary => "summary.md.j2",
        }
    }

    /// The size limit, in this kind's unit.
    pub fn limit(self) -> usize {
        match self {
            Kind::Comment => COMMENT_LIMIT,
            Kind::Summary => SUMMARY_LIMIT,
        }
    }

    /// A body's size as GitHub counts it: characters for a comment, bytes for
    /// the step summary file.
    pub fn size(self, text: &str) -> usize {
        match self {
            Kind::Comment => text.chars().count(),
            Kind::Summary => text.len(),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Comment => "characters",
            Kind::Summary => "bytes",
        }
    }
}

/// How much a rendering shows; each rung of the ladder shows less.
#[derive(Debug, Clone, Serialize)]
struct Detail {
    /// Evidence items listed per test (`None`: all the report keeps).
    evidence: Option<usize>,
    /// Whether the per-test list is shown at all.
    tests: bool,
    /// At most this many metric rows, failing ones first.
    metric_rows: Option<usize>,
    /// At most this many findings, errors first.
    findings: Option<usize>,
    /// At most this many CI jobs (summary).
    jobs: Option<usize>,
    /// At most this many warnings.
    warnings: Option<usize>,
    /// Whether anything was left out for size.
    trimmed: bool,
}

fn ladder(kind: Kind) -> [Detail; 4] {
    let evidence = match kind {
        Kind::Comment => Some(COMMENT_EVIDENCE),
        Kind::Summary => None,
    };
    let full = Detail {
        evidence,
        tests: true,
        metric_rows: None,
        findings: None,
        jobs: None,
        warnings: None,
        trimmed: false,
    };
    [
        full.clone(),
        Detail {
            evidence: Some(0),
            trimmed: true,
            ..full.clone()
        },
        Detail {
            evidence: Some(0),
            tests: false,
            metric_rows: Some(100),
            findings: Some(50),
            jobs: Some(50),
            warnings: Some(50),
            trimmed: true,
        },
        Detail {
            evidence: Some(0),
            tests: false,
            metric_rows: Some(10),
            findings: Some(10),
            jobs: Some(10),
            warnings: Some(10),
            trimmed: true,
        },
    ]
}

/// What the templates get beside `report`: selections of the report's lists
/// for this rendering, never new facts.
#[derive(Debug, Serialize)]
struct View<'a> {
    kind: &'static str,
    detail: &'a Detail,
    /// Metric rows to show, in report order.
    metrics: Vec<&'a MetricRow>,
    /// Rows left out by `detail.metric_rows`.
    metrics_hidden: usize,
    /// Unchanged rows without a policy, which the comment leaves to the summary.
    metrics_unchanged: usize,
    /// The distinct metrics files, to decide whether rows name their file.
    metric_files: Vec<&'a str>,
    /// Findings to show, errors first.
    findings: Vec<&'a Finding>,
    findings_hidden: usize,
    jobs: Vec<&'a CiJobSummary>,
    jobs_hidden: usize,
    warnings: Vec<&'a Warning>,
    warnings_hidden: usize,
    /// The base commit, shortened, when it differs from the revision given.
    base_commit: Option<&'a str>,
    /// Show the metric diff before the score (`mlscore diff`).
    metrics_first: bool,
}

impl<'a> View<'a> {
    fn new(kind: Kind, report: &'a Report, detail: &'a Detail, metrics_first: bool) -> View<'a> {
        let candidates: Vec<&MetricRow> = match kind {
            // A comment shows what moved or is judged; the summary shows everything.
            Kind::Comment => report
                .metrics
                .iter()
                .filter(|r| r.change != Change::Unchanged || !r.checks.is_empty())
                .collect(),
            Kind::Summary => report.metrics.iter().collect(),
        };
        let metrics_unchanged = report.metrics.len() - candidates.len();
        let (metrics, metrics_hidden) =
            cap_by_priority(candidates, detail.metric_rows, metric_priority);
        let mut findings: Vec<&Finding> = report.findings.iter().collect();
        findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        let findings_hidden = detail
            .findings
            .map_or(0, |n| findings.len().saturating_sub(n));
        findings.truncate(findings.len() - findings_hidden);
        let mut jobs: Vec<&CiJobSummary> = report.ci.jobs.iter().collect();
        let jobs_hidden = detail.jobs.map_or(0, |n| jobs.len().saturating_sub(n));
        jobs.truncate(jobs.len() - jobs_hidden);
        let mut warnings: Vec<&Warning> = report.warnings.iter().collect();
        let warnings_hidden = detail
            .warnings
            .map_or(0, |n| warnings.len().saturating_sub(n));
        warnings.truncate(warnings.len() - warnings_hidden);
        let mut metric_files: Vec<&str> = report.metrics.iter().map(|r| r.file.as_str()).collect();
        metric_files.sort_unstable();
        metric_files.dedup();
        let base_commit = report
            .base
            .as_ref()
            .filter(|b| !b.commit.starts_with(&b.rev))
            .map(|b| &b.commit[..b.commit.len().min(12)]);
        View {
            kind: match kind {
                Kind::Comment => "comment",
                Kind::Summary => "summary",
            },
            detail,
            metrics,
            metrics_hidden,
            metrics_unchanged,
            metric_files,
            findings,
            findings_hidden,
            jobs,
            jobs_hidden,
            warnings,
            warnings_hidden,
            base_commit,
            metrics_first,
        }
    }
}

/// Lower is shown first when rows must be cut: failing, regressed, changed, the rest.
fn metric_priority(row: &MetricRow) -> u8 {
    if !row.passed() {
        0
    } else if row.regressed {
        1
    } else if row.change != Change::Unchanged {
        2
    } else {
        3
    }
}

/// Keeps at most `cap` items, the best by `priority`, in their original order;
/// returns them and how many were left out.
fn cap_by_priority<T>(
    items: Vec<&T>,
    cap: Option<usize>,
    priority: fn(&T) -> u8,
) -> (Vec<&T>, usize) {
    let Some(cap) = cap.filter(|&c| c < items.len()) else {
        return (items, 0);
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| priority(items[i]));
    let mut keep: Vec<usize> = order.into_iter().take(cap).collect();
    keep.sort_unstable();
    let hidden = items.len() - keep.len();
    (keep.into_iter().map(|i| items[i]).collect(), hidden)
}

/// Renders a Markdown report, within GitHub's size limit for its kind. A
/// report that had to shrink ends with a note saying by how much it was over.
pub fn render(kind: Kind, report: &Report, ctx: &RenderContext) -> Result<String, RenderError> {
    let templates = Templates::load(ctx.repo_root.as_deref())?;
    let env = environment(&templates, ctx)?;
    let limit = kind.limit();
    let [full_detail, smaller @ ..] = ladder(kind);
    let full = render_once(&env, &templates, kind, report, &full_detail, ctx)?;
    if kind.size(&full) <= limit {
        return Ok(full);
    }
    let note = truncation_note(kind, kind.size(&full) - limit);
    let mut smallest = full;
    for detail in smaller {
        let mut text = render_once(&env, &templates, kind, report, &detail, ctx)?;
        if kind.size(&text) + kind.size(&note) <= limit {
            text.push_str(&note);
            return Ok(text);
        }
        smallest = text;
    }
    Ok(cut(kind, &smallest, &note))
}

/// The last lines of a report that had to shrink.
fn truncation_note(kind: Kind, over: usize) -> String {
    format!(
        "\n> [!WARNING]\n> Report truncated: {over} {} over GitHub's limit; the full report is in the job's artifacts (--format json)\n",
        kind.unit()
    )
}

fn render_once(
    env: &Environment<'_>,
    templates: &Templates,
    kind: Kind,
    report: &Report,
    detail: &Detail,
    ctx: &RenderContext,
) -> Result<String, RenderError> {
    let view = View::new(kind, report, detail, ctx.metrics_first);
    let template = env
        .get_template(kind.template())
        .map_err(|e| templates.error(&e))?;
    let context = minijinja::context! {
        report => Value::from(Serde(report)),
        view => Value::from(Serde(&view)),
    };
    let mut text = template.render(context).map_err(|e| templates.error(&e))?;
    if kind == Kind::Comment && text.lines().next() != Some(COMMENT_MARKER) {
        // The forge finds its comment by this line; a custom template that
        // forgets it must not make mlscore post a new comment on every run.
        text.insert_str(0, &format!("{COMMENT_MARKER}\n"));
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A template that failed to load or render.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("template {name}: {message}")]
#[diagnostic(
    code(mlscore::template),
    help("fix the template, or delete it to use mlscore's own")
)]
pub struct RenderError {
    pub name: String,
    pub message: String,
}

/// Instructions a template may run. The built-in templates render a report of
/// thousands of findings in a few million; a repository's template that
/// needs more than this is stuck in a loop.
const TEMPLATE_FUEL: u64 = 50_000_000;

/// The templates in use, and where each came from (for error messages).
struct Templates {
    /// name → (source text, name shown in errors).
    sources: BTreeMap<&'static str, (String, String)>,
}

impl Templates {
    fn load(repo_root: Option<&Path>) -> Result<Templates, RenderError> {
        let mut sources = BTreeMap::new();
        for (name, text) in TEMPLATES {
            let shown = format!("{OVERRIDE_DIR}/{name}");
            let custom = repo_root
                .map(|root| root.join(OVERRIDE_DIR).join(name))
                .filter(|p| p.is_file());
            let entry = match (custom, repo_root) {
                (Some(_), Some(root)) => {
                    let fail = |message: String| RenderError {
                        name: shown.clone(),
                        message,
                    };
                    // A template is repository text, and so is a symlink: one
                    // pointing at /proc/self/environ would post the job's
                    // environment, tokens included, as the comment.
                    let real = crate::repo::contain::inside(root, &shown).map_err(|err| {
                        fail(format!(
                            "{err}; a template must be a file of the repository"
                        ))
                    })?;
                    let text = std::fs::read_to_string(&real)
                        .map_err(|e| fail(format!("cannot be read: {e}")))?;
                    (text, shown)
                }
                _ => (text.to_string(), format!("{name} (built in)")),
            };
            sources.insert(name, entry);
        }
        Ok(Templates { sources })
    }

    /// A minijinja error as a [`RenderError`] naming the file and line.
    fn error(&self, err: &Error) -> RenderError {
        if err.kind() == minijinja::ErrorKind::OutOfFuel {
            let name = err
                .name()
                .and_then(|n| self.sources.get(n))
                .map_or_else(|| "template".to_string(), |(_, shown)| shown.clone());
            return RenderError {
                name,
                message: format!(
                    "runs more than {TEMPLATE_FUEL} steps and was stopped; loop over the report's lists, not over large ranges"
                ),
            };
        }
        let name = err
            .name()
            .and_then(|n| self.sources.get(n))
            .map(|(_, shown)| shown.clone())
            .unwrap_or_else(|| err.name().unwrap_or("template").to_string());
        let what = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        let mut message = match err.line() {
            Some(line) => format!("line {line}: {what}"),
            None => what,
        };
        // A failing filter or include keeps its own cause underneath.
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message.push_str(&format!("; {cause}"));
            source = cause.source();
        }
        RenderError { name, message }
    }
}

/// The environment: Markdown auto-escaping on every template, whitespace
/// control so block tags leave no blank lines, and the helpers.
fn environment<'a>(
    templates: &Templates,
    ctx: &RenderContext,
) -> Result<Environment<'a>, RenderError> {
    let mut env = Environment::new();
    // A repository's template is code from a stranger: a nested loop of
    // 100,000 × 100,000 must end with an error, not hold the CI job.
    env.set_fuel(Some(TEMPLATE_FUEL));
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| templates.error(&e))?;
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown".into()));
    env.set_formatter(format_value);
    env.add_filter("points", |v: f64| crate::text::number::points(v));
    env.add_filter("signed", signed_points);
    env.add_filter("signed_num", signed_number);
    env.add_filter("pct", percent);
    env.add_filter("num", metric_value);
    env.add_filter("code", |v: Value| Value::from_safe_string(code(&plain(&v))));
    env.add_filter("ci_system", ci_system);
    let link_base = ctx.link_base.clone();
    env.add_function("loc", move |path: Value, line: Option<u64>| -> Value {
        match path.as_str() {
            Some(path) => Value::from_safe_string(location(link_base.as_deref(), path, line)),
            None => Value::from_safe_string(String::new()),
        }
    });
    for (name, (text, _)) in &templates.sources {
        env.add_template_owned(*name, text.clone())
            .map_err(|e| templates.error(&e))?;
    }
    Ok(env)
}

/// Writes a value: safe strings as they are, everything else escaped. `none`
/// prints nothing, so optional fields need no guards in templates.
fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    let result = if value.is_none() || value.is_undefined() {
        Ok(())
    } else if value.is_safe() || matches!(state.auto_escape(), AutoEscape::None) {
        // `|safe` and `{% autoescape false %}` are the template's explicit word.
        write!(out, "{value}")
    } else {
        out.write_str(&escape(&plain(value)))
    };
    result.map_err(|_| {
        Error::new(
            minijinja::ErrorKind::WriteFailure,
            "cannot write the report",
        )
    })
}

/// A value's text as a reader should see it.
fn plain(value: &Value) -> String {
    match value.as_str() {
        Some(s) => s.to_string(),
        None if value.is_none() || value.is_undefined() => String::new(),
        None => value.to_string(),
    }
}

/// Escapes untrusted text for GitHub-flavoured Markdown, in running text and
/// in table cells alike.
///
/// - HTML: `& < > " '` become entities, so no tag or attribute survives.
/// - Markdown: `\ ` * _ [ ] | ~ $` are backslash-escaped everywhere
///   (emphasis, code spans, links and images, table cells, strikethrough,
///   math), and block markers (`#`, `-`, `+`, `=`, `1.`) at the start of the
///   value. `(` and `)` stay: they only form a link after a `]`, which is escaped.
/// - Mentions: a zero-width joiner after each `@`, so `@everyone` shows but
///   does not notify.
/// - Line breaks, other control characters, bidirectional controls and
///   invisible format characters become spaces, so a value never ends a table
///   row, starts a block or reorders what a reviewer reads.
///
/// Escaping twice is harmless (the text shows its escapes); the output never
/// holds a raw `<`, `>`, or an unescaped `|`, backtick, `*`, `_`, `[` or `]`.
pub fn escape(text: &str) -> String {
    // Line breaks become spaces first, so block markers are judged on what
    // will be written (`-\0` must not become a list item `- `).
    let text: String = text
        .chars()
        .map(|c| {
            if crate::text::inert::is_hazard(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let text = text.as_str();
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 4);
    let rest = match block_marker(text) {
        Some(len) => {
            // Digits of `1.` are harmless; the marker's last character is not.
            out.push_str(&text[..len - 1]);
            out.push('\\');
            out.push_str(&text[len - 1..len]);
            &text[len..]
        }
        None => text,
    };
    for c in rest.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200d}"),
            c => out.push(c),
        }
    }
    out
}

/// The byte length of a block marker at the very start of a value, whose last
/// character needs escaping: a heading `#`, a list or setext `-`, `+`, `=`
/// (followed by a space, the end, or itself), an ordered list `12.`.
fn block_marker(text: &str) -> Option<usize> {
    let mut chars = text.chars();
    let first = chars.next()?;
    let second = chars.next();
    match first {
        '#' => Some(1),
        '-' | '+' | '=' if second.is_none_or(|c| c.is_whitespace() || c == first) => Some(1),
        c if c.is_ascii_digit() => {
            let digits = text.bytes().take_while(u8::is_ascii_digit).count();
            let after = text[digits..].chars().nth(1);
            (text[digits..].starts_with('.') && after.is_none_or(char::is_whitespace))
                .then_some(digits + 1)
        }
        _ => None,
    }
}

/// Monospace text as an HTML `<code>` element with escaped content: unlike a
/// backtick span, backticks, pipes and `<` inside stay inert, with no fence
/// lengths to get right.
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// A file location: a link when `link_base` is known, monospace text otherwise.
pub fn location(link_base: Option<&str>, path: &str, line: Option<u64>) -> String {
    let shown = match line {
        Some(line) => format!("{path}:{line}"),
        None => path.to_string(),
    };
    match link_base {
        Some(base) => {
            let mut url = url_safe(base);
            if !url.ends_with('/') {
                url.push('/');
            }
            url.push_str(&percent_encode(path.trim_start_matches('/')));
            if let Some(line) = line {
                url.push_str(&format!("#L{line}"));
            }
            format!("[{}]({url})", code(&shown))
        }
        None => code(&shown),
    }
}

/// Percent-encodes a repository path for a URL: only unreserved characters
/// and `/` stay as they are.
pub fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The link base comes from the forge, not the repository, but a stray space
/// or parenthesis would still end the Markdown link early.
fn url_safe(base: &str) -> String {
    let mut out = String::with_capacity(base.len());
    for c in base.chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '"' | '\'' | '`' | '|' | '[' | ']' | '\\' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A score delta: `+0.5`, `−1`, `±0`; empty without a base.
fn signed_points(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(d) if d > 0.0 => format!("+{}", crate::text::number::points(d)),
        Some(d) if d < 0.0 => format!("−{}", crate::text::number::points(-d)),
        Some(_) => "±0".into(),
    }
}

/// A metric's absolute change, rounded for display as the terminal shows it.
fn signed_number(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(d) => format!(
            "{}{}",
            if d > 0.0 { "+" } else { "" },
            crate::metrics::value::format_number(d)
        ),
    }
}

/// A relative change (a fraction) as a signed percentage to two decimals:
/// a table cell, where `-17.58242%` would be false precision.
fn percent(value: Option<f64>) -> String {
    match value {
        None => String::new(),
        Some(d) => {
            let pct = (d * 10_000.0).round() / 100.0;
            format!(
                "{}{}%",
                if pct > 0.0 { "+" } else { "" },
                crate::metrics::value::format_number(pct)
            )
        }
    }
}

/// A metric value as tables show it: numbers rounded for display (raw values
/// stay in the JSON report), `—` when absent.
fn metric_value(value: Value) -> String {
    if value.is_none() || value.is_undefined() {
        return "—".into();
    }
    match f64::try_from(value.clone()) {
        Ok(n)
            if value.as_str().is_none()
                && !matches!(value.kind(), minijinja::value::ValueKind::Bool) =>
        {
            crate::metrics::value::format_number(n)
        }
        _ => plain(&value),
    }
}

/// The serialized CI system as users know it.
fn ci_system(value: Value) -> String {
    match value.as_str().and_then(crate::ci::CiSystem::from_id) {
        Some(system) => system.display_name().into(),
        None => plain(&value),
    }
}

/// Cuts a body that is still too big at a line boundary, closes what the cut
/// leaves open (`<details>`, a code fence) and appends the note.
fn cut(kind: Kind, text: &str, note: &str) -> String {
    let budget = kind.limit().saturating_sub(kind.size(note));
    let mut kept = 0;
    let mut best = (0, String::new());
    let (mut open_details, mut in_fence) = (0usize, false);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            open_details += line.matches("<details").count();
            open_details = open_details.saturating_sub(line.matches("</details>").count());
        }
        kept += kind.size(line);
        let mut closers = String::new();
        if in_fence {
            closers.push_str("```\n");
        }
        for _ in 0..open_details {
            closers.push_str("\n</details>\n");
        }
        if kept + kind.size(&closers) > budget {
            break;
        }
        best = (kept, closers);
    }
    let (kept, closers) = best;
    // `kept` counts in the kind's unit; find the byte offset where it ends.
    let end = match kind {
        Kind::Summary => kept,
        Kind::Comment => text.char_indices().nth(kept).map_or(text.len(), |(i, _)| i),
    };
    let mut out = String::with_capacity(end + closers.len() + note.len());
    out.push_str(&text[..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&closers);
    out.push_str(note);
    out
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A hand-built report for the renderers' unit tests (the pipeline needs a
    //! real repository; these tests need only the model).

    use crate::ci::CiSystem;
    use crate::metrics::{Change, MetricRow, MetricValue, PolicyCheck};
    use crate::report::*;
    use crate::report::{Condition, Verdict};
    use crate::rubric::Waiver;
    use crate::rubric::{Band, CiLink, Evidence, Section, SectionScore, Status, TestResult};

    fn test(id: &str, section: Section, status: Status, evidence: Vec<Evidence>) -> TestResult {
        let points = match status {
            Status::Automated => 1.0,
            Status::Manual => 0.5,
            _ => 0.0,
        };
        TestResult {
            id: id.into(),
            section,
            title: format!("Title of {id}"),
            points,
            status,
            waiver: (status == Status::Waived).then(|| Waiver {
                reason: "Batch only | no @serving".into(),
                points: 0.0,
            }),
            evidence_total: evidence.len(),
            evidence,
            // As the rubric fills it: the check file's words.
            prose: crate::rubric::Catalogue::embedded()
                .ok()
                .and_then(|c| c.get(id).cloned())
                .map(|d| crate::rubric::Prose {
                    asks: d.asks,
                    why: d.why,
                    earn_half: d.earn_half,
                    earn_full: d.earn_full,
                }),
        }
    }

    /// Evidence at `path:line`, run by a CI job when `automated`.
    pub fn evidence(path: &str, line: Option<usize>, automated: bool) -> Evidence {
        Evidence {
            what: "pandera schema".into(),
            path: path.into(),
            line,
            excerpt: Some("schema = pa.DataFrameSchema({})".into()),
            automated,
            ci: automated.then(|| {
                Box::new(CiLink {
                    system: CiSystem::GithubActions,
                    job: "ci.yml › test".into(),
                    job_file: ".github/workflows/ci.yml".into(),
                    job_line: 4,
                    command: "pytest tests/data".into(),
                    command_file: ".github/workflows/ci.yml".into(),
                    command_line: 8,
                    scheduled: false,
                    automatic: true,
                    manual_because: None,
                })
            }),
            automated_when: crate::rubric::catalogue::Automated::Ci,
        }
    }

    /// A metric row with an optional failing policy.
    pub fn metric(name: &str, base: f64, head: f64, failing: bool) -> MetricRow {
        MetricRow {
            file: "metrics.json".into(),
            name: name.into(),
            base: Some(MetricValue::Number(base)),
            head: Some(MetricValue::Number(head)),
            change: if base == head {
                Change::Unchanged
            } else {
                Change::Changed
            },
            abs_change: Some(head - base),
            rel_change: Some((head - base) / base.abs()),
            direction: None,
            regressed: failing,
            checks: vec![PolicyCheck {
                rule: "min",
                threshold: Some(0.8),
                observed: Some(head),
                passed: !failing,
                message: format!("{head} ≥ 0.8"),
            }],
        }
    }

    /// A report: data is the lowest section, one metric fails, the gate fails.
    pub fn report() -> Report {
        let mut tests = Vec::new();
        for section in Section::RUBRIC {
            for i in 1..=7 {
                let id = format!("{}-{i}", section.id());
                let status = match (section, i) {
                    (Section::Data, 1) => Status::Automated,
                    (Section::Data, 2) => Status::Manual,
                    (Section::Data, _) => Status::Missing,
                    (Section::Infra, 6) => Status::Waived,
                    (_, i) if i <= 3 => Status::Automated,
                    _ => Status::Missing,
                };
                let ev = match status {
                    Status::Automated => vec![
                        evidence("tests/data/test_schema.py", Some(1), true),
                        evidence("src/x.py", None, false),
                    ],
                    Status::Manual => vec![evidence("notebooks/eda.ipynb", Some(3), false)],
                    _ => vec![],
                };
                tests.push(test(&id, section, status, ev));
            }
        }
        let sections = Section::RUBRIC
            .iter()
            .map(|&section| {
                let of: Vec<&TestResult> = tests.iter().filter(|t| t.section == section).collect();
                let count = |s: Status| of.iter().filter(|t| t.status == s).count();
                let score = of.iter().map(|t| t.points).sum();
                SectionScore {
                    section,
                    title: section.title(),
                    score,
                    max: 7.0,
                    is_minimum: section == Section::Data,
                    automated: count(Status::Automated),
                    manual: count(Status::Manual),
                    missing: count(Status::Missing),
                    waived: count(Status::Waived),
                    delta: Some(if section == Section::Data { 0.5 } else { 0.0 }),
                }
            })
            .collect();
        let metrics = vec![
            metric("eval.auc", 0.91, 0.75, true),
            metric("eval.f1", 0.8, 0.8, false),
        ];
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "mlscore",
                version: "0.0.0-test",
            },
            score: ScoreSummary {
                final_score: 1.5,
                delta: Some(0.5),
                band: Band::FirstPass,
                band_range: Band::FirstPass.range(),
                band_meaning: Band::FirstPass.meaning(),
                minimum_sections: vec![Section::Data],
            },
            maturity: crate::rubric::Maturity {
                level: 0,
                name: "manual process",
                missing: vec![
                    "data is validated automatically against a schema (data-1 or monitor-2)".into(),
                ],
            },
            sections,
            tests,
            custom_checks: vec![],
            next_steps: vec![NextStep {
                test: "data-2".into(),
                title: "Title of data-2".into(),
                gain: 0.5,
                action: "run `notebooks/eda.ipynb` from CI".into(),
            }],
            ci: CiSummary {
                systems: vec![CiSystem::GithubActions],
                jobs: vec![CiJobSummary {
                    name: "ci.yml › test".into(),
                    system: CiSystem::GithubActions,
                    file: ".github/workflows/ci.yml".into(),
                    line: 4,
                    scheduled: false,
                    automatic: true,
                    submitted_by: None,
                }],
                runs_mlscore: false,
            },
            config: ConfigSummary {
                path: Some("mlscore.yaml".into()),
            },
            findings: vec![Finding {
                level: Level::Error,
                kind: FindingKind::Metric,
                check: "regression".into(),
                message: "metric `eval.auc` fails its policy: 0.75 ≥ 0.8".into(),
                path: Some("metrics.json".into()),
                line: None,
            }],
            warnings: vec![Warning {
                path: ".github/workflows/bad.yml".into(),
                line: Some(3),
                message: "not YAML".into(),
            }],
            files_indexed: 12,
            base: Some(BaseScore {
                rev: "origin/main".into(),
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                score: 1.0,
                sections: vec![],
            }),
            head: None,
            metrics,
            metric_files: Vec::new(),
            probes: Vec::new(),
            verdict: Some(Verdict {
                passed: false,
                advisory: false,
                conditions: vec![
                    Condition {
                        name: "min_score".into(),
                        passed: false,
                        value: "1.5".into(),
                        threshold: "≥ 2".into(),
                        message: "final score 1.5 must be at least 2".into(),
                    },
                    Condition {
                        name: "no_errors".into(),
                        passed: true,
                        value: "0".into(),
                        threshold: "0".into(),
                        message: "0 error finding(s)".into(),
                    },
                ],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether every occurrence of `c` in `text` is backslash-escaped (an odd
    /// run of backslashes before it).
    fn all_escaped(text: &str, c: char) -> bool {
        let chars: Vec<char> = text.chars().collect();
        chars
            .iter()
            .enumerate()
            .filter(|(_, &x)| x == c)
            .all(|(i, _)| {
                let run = chars[..i].iter().rev().take_while(|&&b| b == '\\').count();
                run % 2 == 1
            })
    }

    const NASTY: &[&str] = &[
        "<img src=x onerror=alert(1)>",
        "@everyone please look",
        "a|b|c",
        "`rm -rf /`",
        "```fence```",
        "**bold** _it_ [link](http://x) ![img](y)",
        "\\|escaped pipe\\`",
        "line1\nline2\r\nline3",
        "# heading",
        "- item",
        "1. first",
        "&amp; &lt;",
        "\"quoted\" 'single'",
        "~~strike~~ $x$ {a}",
        "\u{2028}sep",
        "",
    ];

    #[test]
    fn escaping_leaves_no_syntax_and_survives_double_escaping() {
        for &input in NASTY {
            let once = escape(input);
            let twice = escape(&once);
            for text in [&once, &twice] {
                assert!(
                    !text.contains('<') && !text.contains('>'),
                    "raw angle bracket in {text:?}"
                );
                assert!(
                    !text.contains('\n') && !text.contains('\r'),
                    "line break in {text:?}"
                );
                for c in ['|', '`', '*', '_', '[', ']'] {
                    assert!(
                        all_escaped(text, c),
                        "unescaped {c:?} in {text:?} (from {input:?})"
                    );
                }
                assert!(!text.contains("@everyone"), "mention survives in {text:?}");
            }
        }
    }

    /// Random strings over an alphabet of everything that means something in
    /// Markdown or HTML (a tiny xorshift keeps the test deterministic).
    #[test]
    fn escaping_holds_for_generated_strings() {
        const ALPHABET: &[char] = &[
            '<', '>', '&', '"', '\'', '\\', '`', '*', '_', '[', ']', '(', ')', '|', '~', '$', '#',
            '-', '+', '=', '!', '@', '.', '1', 'a', ' ', '\n', '\r', '\t', '\u{0}', '\u{2028}',
            'é', '€',
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let input: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let once = escape(&input);
            for text in [once.clone(), escape(&once)] {
                assert!(
                    !text.contains(['<', '>', '\n', '\r', '\u{0}']),
                    "{input:?} → {text:?}"
                );
                for c in ['|', '`', '*', '_', '[', ']', '~', '$'] {
                    assert!(
                        all_escaped(&text, c),
                        "unescaped {c:?}: {input:?} → {text:?}"
                    );
                }
                assert!(
                    text.match_indices('@')
                        .all(|(i, _)| text[i + 1..].starts_with('\u{200d}')),
                    "{input:?} → {text:?}"
                );
                assert!(
                    block_marker(&text).is_none()
                        || text.starts_with('\\')
                        || text.starts_with(|c: char| c.is_ascii_digit())
                );
            }
        }
    }

    #[test]
    fn escaping_keeps_plain_text_and_numbers_readable() {
        assert_eq!(escape("src/train.py"), "src/train.py");
        assert_eq!(escape("0.85 ≥ 0.8"), "0.85 ≥ 0.8");
        assert_eq!(escape("-0.06"), "-0.06");
        assert_eq!(escape("ci.yml › test"), "ci.yml › test");
        assert_eq!(escape("@everyone"), "@\u{200d}everyone");
        assert_eq!(escape("<b>"), "&lt;b&gt;");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("1. first"), "1\\. first");
        assert_eq!(escape("1.5"), "1.5");
        assert_eq!(escape("# h"), "\\# h");
        assert_eq!(escape("a\nb"), "a b");
    }

    #[test]
    fn code_and_links_escape_their_content() {
        assert_eq!(code("a`b|c"), "<code>a\\`b\\|c</code>");
        assert_eq!(
            location(None, "src/a b.py", Some(3)),
            "<code>src/a b.py:3</code>"
        );
        assert_eq!(
            location(Some("https://github.com/o/r/blob/abc"), "src/a b(1).py", Some(3)),
            "[<code>src/a b(1).py:3</code>](https://github.com/o/r/blob/abc/src/a%20b%281%29.py#L3)"
        );
    }

    fn ctx() -> RenderContext {
        RenderContext::default()
    }

    #[test]
    fn probes_table_shows_each_probe_and_keeps_its_columns_whatever_the_text() {
        use crate::probes::configured::{ProbeOutcome, ProbeStatus};
        let mut report = fixture::report();
        report.set_probes(vec![
            ProbeOutcome {
                probe: "slices",
                name: "preds|<img src=x onerror=alert(1)>".into(),
                tests: vec!["model-6".into()],
                status: ProbeStatus::Failed,
                summary: "1 slice fails | `x`".into(),
                details: vec![
                    "country=US: accuracy 0.65 on 180 rows: below min 0.8".into(),
                    "note that passed".into(),
                ],
                failures: 1,
                path: Some("eval/preds.csv".into()),
                config_line: Some(4),
            },
            ProbeOutcome {
                probe: "schema",
                name: "data/train.csv".into(),
                tests: vec!["data-1".into(), "monitor-2".into()],
                status: ProbeStatus::Passed,
                summary: "every rule holds".into(),
                details: vec![],
                failures: 0,
                path: None,
                config_line: Some(2),
            },
        ]);
        let text = render(Kind::Comment, &report, &ctx()).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "### Probes")
            .skip(4)
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        for row in &rows {
            let cells = row.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 5, "{row}");
            assert!(!row.contains("<img"), "{row}");
        }
        assert!(rows[0].starts_with("| ❌ | slices: preds"), "{}", rows[0]);
        assert!(rows[0].contains("<br>• country=US: accuracy 0.65 on 180 rows: below min 0.8"));
        assert!(
            !rows[0].contains("note that passed"),
            "notes stay in the JSON"
        );
        assert!(rows[1]
            .contains("| ✅ | schema: data/train.csv | data-1, monitor-2 | every rule holds |"));
        assert!(
            text.contains("slices probe \\`preds"),
            "the failure is also a finding"
        );
    }

    #[test]
    fn comment_starts_with_the_marker_and_shows_score_sections_metrics_and_gate() {
        let report = fixture::report();
        let text = render(Kind::Comment, &report, &ctx()).unwrap();
        assert_eq!(text.lines().next(), Some(COMMENT_MARKER));
        assert!(
            text.contains("**ML Test Score 1.5** (+0.5 vs base)"),
            "{text}"
        );
        assert!(text.contains("(1, 2\\]"));
        assert!(text.contains("**Data** ◀ lowest"));
        assert!(text.contains("eval.auc"));
        assert!(text.contains("❌"));
        assert!(text.contains("Gate: ❌ failed"));
        assert!(text.contains("<code>min\\_score</code>: 1.5 (threshold ≥ 2)"));
        assert!(
            text.contains("| -0.16 | -17.58% | ❌ 0.75 ≥ 0.8 |"),
            "{text}"
        );
        assert!(text.contains("<details>"));
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
        // Unchanged metrics with a passing policy still show in the comment.
        assert!(text.contains("eval.f1"));
        assert!(
            text.contains("(waived: Batch only \\| no @\u{200d}serving)"),
            "{text}"
        );
    }

    #[test]
    fn summary_lists_all_tests_and_ci_jobs() {
        let report = fixture::report();
        let text = render(Kind::Summary, &report, &ctx()).unwrap();
        for test in &report.tests {
            assert!(
                text.contains(&format!("**{}**", test.id)),
                "{} missing",
                test.id
            );
        }
        assert!(text.contains("CI jobs"));
        assert!(text.contains("GitHub Actions"));
        assert!(!text.contains("<details>"), "the summary is unfolded");
    }

    #[test]
    fn the_diff_command_puts_metrics_first() {
        let ctx = RenderContext {
            metrics_first: true,
            ..RenderContext::default()
        };
        let text = render(Kind::Comment, &fixture::report(), &ctx).unwrap();
        assert!(
            text.find("### Metrics").unwrap() < text.find("**ML Test Score").unwrap(),
            "{text}"
        );
        assert_eq!(text.lines().next(), Some(COMMENT_MARKER));
    }

    #[test]
    fn links_use_the_link_base() {
        let report = fixture::report();
        let ctx = RenderContext {
            link_base: Some("https://github.com/o/r/blob/abc/".into()),
            ..RenderContext::default()
        };
        let text = render(Kind::Comment, &report, &ctx).unwrap();
        assert!(
            text.contains("(https://github.com/o/r/blob/abc/metrics.json)"),
            "{text}"
        );
        assert!(text.contains("(https://github.com/o/r/blob/abc/tests/data/test_schema.py#L1)"));
    }

    #[test]
    fn repository_templates_override_and_their_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join(OVERRIDE_DIR);
        std::fs::create_dir_all(&templates).unwrap();
        std::fs::write(
            templates.join("comment.md.j2"),
            "Score {{ report.score.final|points }} for {{ report.metrics[0].name }}\n",
        )
        .unwrap();
        let mut report = fixture::report();
        report.metrics[0].name = "<b>x</b>".into();
        let ctx = RenderContext {
            repo_root: Some(dir.path().to_path_buf()),
            ..RenderContext::default()
        };
        let text = render(Kind::Comment, &report, &ctx).unwrap();
        assert_eq!(
            text,
            format!("{COMMENT_MARKER}\nScore 1.5 for &lt;b&gt;x&lt;/b&gt;\n")
        );

        std::fs::write(
            templates.join("comment.md.j2"),
            "ok\n\n{% if report %}\nunclosed\n",
        )
        .unwrap();
        let err = render(Kind::Comment, &report, &ctx).unwrap_err();
        assert_eq!(err.name, ".mlscore/templates/comment.md.j2");
        assert!(err.message.starts_with("line "), "{}", err.message);
        assert!(err.message.contains("syntax error"), "{}", err.message);

        std::fs::write(
            templates.join("comment.md.j2"),
            "a\nb\n{{ report.score.final|nosuchfilter }}\n",
        )
        .unwrap();
        let err = render(Kind::Comment, &report, &ctx).unwrap_err();
        assert!(err.message.starts_with("line 3: "), "{}", err.message);
        assert!(err.message.contains("nosuchfilter"), "{}", err.message);
    }

    #[cfg(unix)]
    #[test]
    fn a_template_linking_outside_the_repository_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), "SECRET_TOKEN=x\n").unwrap();
        let templates = dir.path().join(OVERRIDE_DIR);
        std::fs::create_dir_all(&templates).unwrap();
        std::os::unix::fs::symlink(outside.path(), templates.join("comment.md.j2")).unwrap();
        let ctx = RenderContext {
            repo_root: Some(dir.path().to_path_buf()),
            ..RenderContext::default()
        };
        let err = render(Kind::Comment, &fixture::report(), &ctx).unwrap_err();
        assert_eq!(err.name, ".mlscore/templates/comment.md.j2");
        assert!(
            err.message.contains("outside the repository"),
            "{}",
            err.message
        );
    }

    #[test]
    fn safe_is_the_only_way_to_raw_output() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join(OVERRIDE_DIR);
        std::fs::create_dir_all(&templates).unwrap();
        std::fs::write(
            templates.join("summary.md.j2"),
            "{{ report.findings[0].message ~ '<i>' }}|{{ '<i>'|safe }}|{{ report.findings[0].path|e }}\n",
        )
        .unwrap();
        let ctx = RenderContext {
            repo_root: Some(dir.path().to_path_buf()),
            ..RenderContext::default()
        };
        let text = render(Kind::Summary, &fixture::report(), &ctx).unwrap();
        assert_eq!(
            text,
            "metric \\`eval.auc\\` fails its policy: 0.75 ≥ 0.8&lt;i&gt;|<i>|metrics.json\n"
        );
    }

    #[test]
    fn oversized_bodies_shrink_then_cut_with_a_note() {
        let mut report = fixture::report();
        let row = report.metrics[0].clone();
        report.metrics = (0..3000)
            .map(|i| MetricRow {
                name: format!("metric_{i:05}_{}", "x".repeat(20)),
                ..row.clone()
            })
            .collect();
        let text = render(Kind::Comment, &report, &ctx()).unwrap();
        assert!(text.chars().count() <= COMMENT_LIMIT);
        // The ladder caps rows before anything is cut.
        assert!(text.contains("more rows"), "{}", &text[text.len() - 2000..]);
        assert!(text.trim_end().ends_with("(--format json)"));
        assert!(text.contains("Report truncated: "));

        let long = "y".repeat(400);
        report.findings = (0..400)
            .map(|i| Finding {
                message: format!("{i} {long}"),
                ..report.findings[0].clone()
            })
            .collect();
        let huge: String = (0..300)
            .map(|i| format!("line {i} {}\n", "z".repeat(300)))
            .collect();
        let note = truncation_note(Kind::Comment, 999);
        let cut_text = cut(
            Kind::Comment,
            &format!("{COMMENT_MARKER}\n<details><summary>x</summary>\n\n```\n{huge}"),
            &note,
        );
        assert!(cut_text.chars().count() <= COMMENT_LIMIT);
        assert!(cut_text.trim_end().ends_with("(--format json)"));
        assert!(cut_text.contains("Report truncated: 999 characters over GitHub's limit"));
        assert_eq!(
            cut_text.matches("<details>").count(),
            cut_text.matches("</details>").count()
        );
        assert_eq!(cut_text.matches("```").count() % 2, 0);
        assert!(cut_text.starts_with(COMMENT_MARKER));
    }

    #[test]
    fn priority_cap_keeps_failing_rows_in_order() {
        let rows = [
            fixture::metric("a", 1.0, 1.0, false),
            fixture::metric("b", 1.0, 0.5, true),
            fixture::metric("c", 1.0, 2.0, false),
        ];
        let refs: Vec<&MetricRow> = rows.iter().collect();
        let (kept, hidden) = cap_by_priority(refs, Some(2), metric_priority);
        let names: Vec<&str> = kept.iter().map(|r| r.name.as_str()).collect();
        assert_eq!((names, hidden), (vec!["b", "c"], 1));
    }
}
