//! The process exit codes, documented in the README: a leaf every stage may
//! name (the gate and the report decide codes; `main` returns them).

/// The gate passed, or nothing was gated.
pub const EXIT_OK: i32 = 0;
/// The gate failed.
pub const EXIT_GATE_FAILED: i32 = 1;
/// A usage, configuration or input error.
pub const EXIT_INPUT: i32 = 2;
