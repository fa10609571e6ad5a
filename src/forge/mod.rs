//! The forge: where mlscore runs (the CI context) and GitHub, where it posts
//! what it found: one sticky pull-request comment, a check run with
//! annotations, a commit status and optional inline review comments.
//!
//! Every post goes through [`github::GitHub`], a thin blocking wrapper around
//! octocrab with a bounded retry loop of its own. A refusal (a read-only token
//! on a fork's pull request, a missing permission) is reported as a
//! [`ForgeError`] that names the permission to grant; the command decides
//! whether that fails the run.

pub mod actions_env;
pub mod check_run;
pub mod comment;
pub mod context;
pub mod env;
pub mod error;
pub mod github;
pub mod hunks;
pub mod name;
pub mod remote;
pub mod retry;
pub mod review;
pub mod status;
pub mod token;

pub use context::{CiContext, Head, Provider};
pub use env::Env;
pub use error::ForgeError;
pub use github::GitHub;
pub use remote::RepoSlug;
pub use token::Token;
