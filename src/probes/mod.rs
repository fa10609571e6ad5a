//! Native probes: the data and model tests mlscore runs itself instead of
//! only looking for evidence that a repository runs them.
//!
//! [`stats`] holds the drift and skew statistics the probes are built on;
//! it is pure computation on numbers and category counts, with no I/O.

pub mod configured;
pub mod data;
pub mod stats;
