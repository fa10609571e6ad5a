//! The `env:` values a GitHub Actions step's commands see: the workflow's,
//! then the job's, then the step's own, each over the one before. A
//! workflow that names its folders once (`env: APP: ${{ github.workspace
//! }}/app`) and writes `cd "$APP"` or `working-directory: ${{ env.APP }}`
//! is placed there, instead of in a directory mlscore cannot know.
//!
//! Only plain values are used. A value built from an expression mlscore
//! cannot evaluate (`${{ secrets.X }}`, `$(...)`) hides an outer value of
//! the same name and is itself left as written, as is any variable a `run:`
//! block assigns before using it.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_yaml::Value;

use super::invocation;
use super::yaml::{self, get};

/// `${{ env.NAME }}` (which Actions replaces before any shell runs),
/// `${NAME}` and `$NAME`.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
    )
    .expect("valid regex")
});

/// The workspace as an expression, written the way the shell and
/// [`super::paths`] read it: `cd` splits on the expression's spaces.
const WORKSPACE: [&str; 2] = ["${{ github.workspace }}", "${{github.workspace}}"];

/// Names and their plain values (`None`: set, to something unknown).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Env {
    vars: Vec<(String, Option<String>)>,
}

impl Env {
    /// This environment with `node`'s `env:` mapping over it.
    pub(super) fn over(&self, node: &Value) -> Env {
        let mut env = self.clone();
        if let Some(map) = get(node, "env").and_then(Value::as_mapping) {
            for (name, value) in map {
                if let Some(name) = yaml::scalar(name) {
                    env.set(&name, yaml::scalar(value).and_then(plain));
                }
            }
        }
        env
    }

    /// Sets `name`, or marks it unknown with `None`.
    pub(super) fn set(&mut self, name: &str, value: Option<String>) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name.to_string(), value)),
        }
    }

    /// `text` with every reference to a plain value replaced by it; other
    /// references stay as written.
    pub(super) fn expand<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.vars.is_empty() || !text.contains('$') {
            return Cow::Borrowed(text);
        }
        REFERENCE.replace_all(text, |caps: &Captures<'_>| {
            let name = (1..=3)
                .find_map(|group| caps.get(group))
                .map_or("", |m| m.as_str());
            match self.vars.iter().find(|(n, _)| n == name) {
                Some((_, Some(value))) => value.clone(),
                _ => caps[0].to_string(),
            }
        })
    }

    /// Marks unknown the variable a shell command assigns (`NAME=...`,
    /// `export NAME=...`): what it holds after is not the `env:` value.
    pub(super) fn forget_assigned(&mut self, command: &str) {
        let mut words = command.split_whitespace();
        let first = match words.next() {
            Some("export" | "declare" | "local" | "readonly") => words.next(),
            other => other,
        };
        if let Some((name, _)) = first.and_then(invocation::assignment) {
            if self.vars.iter().any(|(n, _)| n == name) {
                self.set(name, None);
            }
        }
    }
}

/// `value` if plain once the workspace expression is spelled as the shell
/// variable.
fn plain(value: String) -> Option<String> {
    let value = WORKSPACE
        .iter()
        .fold(value, |v, form| v.replace(form, "$GITHUB_WORKSPACE"));
    let computed = value.contains("${{") || value.contains("$(") || value.contains('`');
    (!computed).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(yaml: &str) -> Env {
        Env::default().over(&serde_yaml::from_str(yaml).unwrap())
    }

    /// Each form of reference is replaced by a plain value; a longer name,
    /// an unknown name and a value computed by an expression are not.
    #[test]
    fn expands_plain_values_in_every_form() {
        let env = env(
            "env:\n  APP: ${{ github.workspace }}/app\n  TESTS: tests/unit\n  KEY: ${{ secrets.KEY }}\n  REV: $(git rev-parse HEAD)\n  N: 3\n",
        );
        assert_eq!(
            env.expand(r#"cd "${APP}" && pytest $TESTS -n ${{ env.N }} ${{env.TESTS}}"#),
            r#"cd "$GITHUB_WORKSPACE/app" && pytest tests/unit -n 3 tests/unit"#
        );
        assert_eq!(
            env.expand("pytest $TESTSX $OTHER ${KEY} $REV $"),
            "pytest $TESTSX $OTHER ${KEY} $REV $"
        );
        assert!(matches!(env.expand("pytest tests"), Cow::Borrowed(_)));
    }

    /// A job's or step's value is over the workflow's; a computed one hides
    /// the outer plain one.
    #[test]
    fn inner_values_hide_outer_ones() {
        let workflow = env("env:\n  DIR: a\n  KEEP: k\n");
        let job = workflow.over(&serde_yaml::from_str("env:\n  DIR: b\n").unwrap());
        assert_eq!(job.expand("$DIR $KEEP"), "b k");
        let step = job.over(&serde_yaml::from_str("env:\n  DIR: ${{ matrix.d }}\n").unwrap());
        assert_eq!(step.expand("$DIR $KEEP"), "$DIR k");
        assert_eq!(workflow.expand("$DIR"), "a");
    }

    /// Assigning a variable in a block makes it unknown after; commands
    /// that only mention it, or assign another, change nothing.
    #[test]
    fn assignments_make_a_value_unknown() {
        let mut env = env("env:\n  DIR: a\n  OTHER: o\n");
        env.forget_assigned("echo DIR=b");
        env.forget_assigned("X=1");
        assert_eq!(env.expand("$DIR"), "a");
        env.forget_assigned("export DIR=b");
        assert_eq!(env.expand("$DIR $OTHER"), "$DIR o");
        env.forget_assigned("OTHER=$(pwd)");
        assert_eq!(env.expand("$OTHER"), "$OTHER");
    }
}
