//! Command-line definitions (clap); no logic lives here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Score an ML repository against the ML Test Score rubric.
#[derive(Debug, Parser)]
#[command(name = "mlscore", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score a repository: the four sections, the final score, and the evidence
    /// behind each of the 28 tests.
    Check(CheckArgs),
    /// List the 28 rubric tests with their ids and titles.
    List(ListArgs),
    /// Print what a test asks, why, how to earn its points and what mlscore looks for.
    Explain(ExplainArgs),
    /// Compare metrics between a base revision and the working tree (or a head
    /// revision), judge them by their policies, and gate on the result.
    Diff(DiffArgs),
    /// Write a starter mlscore.yaml fitted to the repository.
    Init(InitArgs),
    /// Run in CI: detect the context (GitHub Actions, Jenkins, generic), check
    /// against the pull request's base, write the reports, post them to GitHub,
    /// and exit with the gate's code.
    Ci(CiArgs),
    /// Install or remove mlscore's git pre-push hook.
    Hook(HookArgs),
    /// Infer a schema from a data file, or validate data files against one.
    Data(DataArgs),
}

#[derive(Debug, clap::Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub source: RepoArgs,
    /// The base revision (default: the pull request's base from the CI context).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The head commit to post to (default: the pull request's head from the CI context).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The pull request number (default: from the CI context).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// The GitHub repository, OWNER/NAME (default: from the CI context).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// The GitHub API URL (default: $GITHUB_API_URL or https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// What to post: comment, check, status, review (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub post: Vec<PostKind>,
    /// Post nothing; write the local reports only.
    #[arg(long)]
    pub no_post: bool,
    /// Fail (exit 2) when GitHub refuses a post, instead of degrading to the
    /// job summary and annotations with a warning.
    #[arg(long)]
    pub strict_forge: bool,
    /// Name this report, for several mlscore runs in one pull request (a
    /// monorepo): each name keeps its own comment, check run and status.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// What `mlscore ci` posts to GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum PostKind {
    /// One sticky pull-request comment, edited in place.
    Comment,
    /// A check run with the summary and annotations (needs `checks: write`).
    Check,
    /// A commit status (works with a personal token, e.g. from Jenkins).
    Status,
    /// Inline review comments on the pull request's changed lines.
    Review,
}

#[derive(Debug, clap::Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Write a pre-push hook that runs a fast check against the upstream branch;
    /// an existing hook is chained, not replaced.
    Install {
        /// The repository.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Replace a hook that mlscore cannot chain.
        #[arg(long)]
        force: bool,
    },
    /// Remove mlscore's pre-push hook, leaving any other hook in place.
    Uninstall {
        /// The repository.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: RepoArgs,
    /// Also score this base revision (read from git, no checkout) and diff
    /// metrics against it, e.g. `origin/main`.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: RepoArgs,
    /// The base revision.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub base: String,
    /// The head revision (default: the working tree).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// The repository and its config, shared by the commands that score one.
#[derive(Debug, Clone, clap::Args)]
pub struct RepoArgs {
    /// The repository.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Config file (default: mlscore.yaml or .mlscore.yaml in PATH).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Do not run the probes configured in mlscore.yaml (a quick local run);
    /// they still count as configured evidence.
    #[arg(long)]
    pub no_probes: bool,
}

/// Which reports to write, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Report format; repeat for several (each goes to standard output unless
    /// --output says where).
    #[arg(long, short, value_enum, value_name = "FORMAT")]
    pub format: Vec<Format>,
    /// Write a report to a file: `PATH` (for the one --format) or
    /// `FORMAT=PATH`; repeatable, e.g. `-o sarif=mlscore.sarif -o junit=report.xml`.
    #[arg(long, short, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Gate conditions given on the command line; they override mlscore.yaml.
#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// Fail when the final score is below this.
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f64>,
    /// Fail when a section is below a minimum, e.g. `--min-section data=2`; repeatable.
    #[arg(long, value_name = "SECTION=SCORE")]
    pub min_section: Vec<String>,
    /// Fail when the final score or a section drops below the base revision's.
    #[arg(long)]
    pub no_score_drop: bool,
    /// Report the verdict but exit 0 whatever it is.
    #[arg(long)]
    pub advisory: bool,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A test id, e.g. data-1 or monitor-7.
    pub id: String,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The repository to write mlscore.yaml into.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Overwrite an existing mlscore.yaml.
    #[arg(long)]
    pub force: bool,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Format {
    /// Readable text for a terminal.
    Human,
    /// The versioned JSON report (schema_version 1).
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
    /// Markdown for a CI job summary ($GITHUB_STEP_SUMMARY).
    Summary,
    /// SARIF 2.1.0, for code scanning and Jenkins Warnings NG.
    Sarif,
    /// JUnit XML, one test case per rubric test, metric and gate condition.
    Junit,
    /// GitHub Actions workflow commands (::error file=…::…) for annotations.
    Github,
}

/// Colour policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `mlscore data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Infer a schema (types, nulls, ranges, categories, uniqueness) from a
    /// CSV/TSV (optionally .gz), Parquet or NDJSON file; review it, then commit it.
    Infer {
        /// The data file.
        file: PathBuf,
        /// Write the schema here instead of standard output.
        #[arg(long, short, value_name = "PATH")]
        output: Option<PathBuf>,
        /// Keep the distinct values of a text column as its `allowed` set when
        /// it has at most this many.
        #[arg(long, value_name = "N", default_value_t = 20)]
        max_categories: usize,
    },
    /// Validate data files against a schema; exit 1 on any violation.
    Validate {
        /// The schema (YAML, as written by `mlscore data infer`).
        #[arg(long, short, value_name = "PATH")]
        schema: PathBuf,
        /// The data files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = DataFormatArg::Human)]
        format: DataFormatArg,
    },
    /// Compare two data files column by column for training/serving skew
    /// (drift): PSI, Jensen–Shannon, Kolmogorov–Smirnov and Wasserstein for
    /// numbers; chi-square, L-infinity, Jensen–Shannon and unseen levels for
    /// categories. Exit 1 when a column drifted or is missing.
    Skew {
        /// The reference data (training data, a baseline).
        reference: PathBuf,
        /// The current data (serving data, a new batch).
        current: PathBuf,
        /// A data schema: compare only its columns, with its types and its
        /// `skew:` thresholds.
        #[arg(long, short, value_name = "PATH")]
        schema: Option<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = DataFormatArg::Human)]
        format: DataFormatArg,
    },
}

/// Output formats of `mlscore data validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormatArg {
    /// Readable text.
    Human,
    /// JSON: one object per file with its violations.
    Json,
}
