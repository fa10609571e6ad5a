//! mlscore's integration tests, one binary: each module drives the real
//! `mlscore` binary (or the library's pure statistics) against real git
//! repositories, data files and a fake GitHub API made in temp dirs. One binary
//! links polars once instead of once per file.

mod common;
mod fake_github;

mod action_install;
mod catalogue;
mod check;
mod ci;
mod ci_systems;
mod data;
mod data_skew;
mod diagnostics;
mod diff;
mod examples;
mod hook;
mod hostile;
mod pipelines;
mod probes;
mod renderers;
mod roles;
mod scan;
mod security;
mod stats;
