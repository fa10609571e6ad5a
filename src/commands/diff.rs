//! `mlscore diff`: metrics at a base revision against the working tree (or a
//! head revision), judged by their policies; exits with the gate's code.

use crate::cli::DiffArgs;
use crate::error::Error;

use super::pipeline::{self, Revisions};

pub fn run(args: &DiffArgs) -> Result<i32, Error> {
    super::output::plan(&args.report)?;
    let revs = Revisions {
        base: Some(&args.base),
        head: args.head.as_deref(),
        run_probes: false,
    };
    let report = pipeline::run(&args.source, &revs, &args.gate)?;
    super::output::write(&report, &args.report, &args.source.path, true)?;
    Ok(report.exit_code())
}
