//! The gate's verdict, as the report holds it: each condition with its value
//! and threshold, and the exit code it asks for. The gate (`crate::gate`)
//! decides it; every renderer reads it from here.

use serde::Serialize;

/// One condition of the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// Stable name: `min_score`, `min_section.data`, `no_score_drop`, `metric:<file>:<name>`, `no_errors`.
    pub name: String,
    pub passed: bool,
    /// The observed value, as shown.
    pub value: String,
    /// The threshold, as shown.
    pub threshold: String,
    /// A sentence for the reader.
    pub message: String,
}

/// The gate's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// When true the exit code is 0 whatever `passed` says.
    pub advisory: bool,
    pub conditions: Vec<Condition>,
}

impl Verdict {
    /// The process exit code the verdict asks for.
    pub fn exit_code(&self) -> i32 {
        if self.passed || self.advisory {
            crate::exit::EXIT_OK
        } else {
            crate::exit::EXIT_GATE_FAILED
        }
    }
}
