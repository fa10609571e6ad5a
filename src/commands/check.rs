//! `mlscore check`: score the repository, optionally against a base revision,
//! write the reports, and exit with the gate's code.

use crate::cli::CheckArgs;
use crate::error::Error;

use super::pipeline::{self, Revisions};

pub fn run(args: &CheckArgs) -> Result<i32, Error> {
    // Validate the outputs before the work, so a typo costs nothing.
    super::output::plan(&args.report)?;
    let revs = Revisions {
        base: args.base.as_deref(),
        head: None,
        run_probes: true,
    };
    let report = pipeline::run(&args.source, &revs, &args.gate)?;
    super::output::write(&report, &args.report, &args.source.path, false)?;
    Ok(report.exit_code())
}
