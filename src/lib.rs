//! mlscore: measures an ML repository against the ML Test Score rubric.
//!
//! Data flows one way: [`repo`] and [`ci`] index the repository, [`rubric`]
//! turns evidence into points, [`report`] renders the result.

// Diagnostics carry their source text and spans so miette can point at the
// line; they are built at most once per run, on the way out, so their size
// costs nothing worth boxing every error for.
#![allow(clippy::result_large_err)]

pub mod allocator;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod exit;
pub mod forge;
pub mod gate;
pub mod glob;
pub mod hook;
pub mod metrics;
pub mod par;
pub mod probes;
pub mod repo;
pub mod report;
pub mod rubric;
pub mod text;
pub mod timing;
pub mod yaml_span;

#[cfg(test)]
mod fuzz;

use clap::Parser;

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                error::EXIT_INPUT
            } else {
                error::EXIT_OK
            };
        }
    };
    let result = match &cli.command {
        cli::Command::Check(args) => commands::check::run(args),
        cli::Command::List(args) => commands::list::run(args),
        cli::Command::Explain(args) => commands::explain::run(args),
        cli::Command::Diff(args) => commands::diff::run(args),
        cli::Command::Ci(args) => commands::ci::run(args),
        cli::Command::Hook(args) => commands::hook::run(args),
        cli::Command::Init(args) => commands::init::run(args),
        cli::Command::Data(args) => commands::data::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Long lines stay whole: a help line often holds a command to copy.
            // No colour: an error quotes repository text, and escapes from it
            // are shown, not obeyed, which needs a text free of our own.
            let _ = miette::set_hook(Box::new(|_| {
                Box::new(
                    miette::MietteHandlerOpts::new()
                        .wrap_lines(false)
                        .color(false)
                        .build(),
                )
            }));
            let rendered = format!("{:?}", miette::Report::new(err));
            eprintln!("{}", text::inert::terminal(&rendered));
            error::EXIT_INPUT
        }
    }
}
