//! Read access to environment variables, so the CI context can be read from
//! the process or, in tests, from a map.

use std::collections::BTreeMap;

/// Read access to environment variables; empty values count as unset.
pub trait Env {
    /// The variable's value, or `None` when unset or empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}
