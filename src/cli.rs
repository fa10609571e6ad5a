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
    /// Write a starter mlscore.yaml fitted to the repository.
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The repository to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Config file (default: mlscore.yaml or .mlscore.yaml in PATH).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Human)]
    pub format: Format,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text for a terminal.
    Human,
    /// The versioned JSON report (schema_version 1).
    Json,
}

/// Colour policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    Auto,
    Always,
    Never,
}
