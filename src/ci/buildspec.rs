//! The AWS buildspec format's phases, shared by CodeBuild projects and the
//! inline buildspecs of CodePipeline definitions.

use serde_yaml::Value;

use super::job::Pending;
use super::script::{self, Placer};
use super::yaml::get;

const PHASES: &[&str] = &["install", "pre_build", "build", "post_build"];

/// The commands of a buildspec's phases, in the order CodeBuild runs them.
pub(crate) fn phase_commands(doc: &Value, placer: &mut Placer<'_>, out: &mut Vec<Pending>) {
    let Some(phases) = get(doc, "phases") else {
        return;
    };
    let mut blocks = Vec::new();
    for phase in PHASES {
        let Some(phase) = get(phases, phase) else {
            continue;
        };
        blocks.extend(script::scripts(get(phase, "commands")));
        blocks.extend(script::scripts(get(phase, "finally")));
    }
    placer.blocks(&blocks, "", out);
}
