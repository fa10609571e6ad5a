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
/// `${NAME}` and `$NAME`; and the workspace expression (group 4).
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|(\$\{\{\s*github\.workspace\s*\}\})",
    )
    .expect("valid regex")
});

/// What `${{ github.workspace }}` is written as once expanded: Actions puts
/// the checkout's absolute path there before the shell runs, and the shell
/// variable is how `shell::cd_target` and `paths::join` know the root. Left
/// as an expression, `cd ${{ github.workspace }}/app` is split at its spaces.
const WORKSPACE_VARIABLE: &str = "$GITHUB_WORKSPACE";

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

    /// `text` with every reference to a plain value replaced by it and the
    /// workspace expression by [`WORKSPACE_VARIABLE`]; other references stay
    /// as written.
    pub(super) fn expand<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !text.contains('$') || (self.vars.is_empty() && !text.contains("${{")) {
            return Cow::Borrowed(text);
        }
        REFERENCE.replace_all(text, |caps: &Captures<'_>| {
            if caps.get(4).is_some() {
                return WORKSPACE_VARIABLE.to_string();
            }
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
/// variable (other references in it stay, for the shell to expand).
fn plain(value: String) -> Option<String> {
    let value = Env::default().expand(&value).into_owned();
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

    /// The workspace expression, however spaced, is the shell variable even
    /// where no `env:` is set, so that `cd` reads it as one word.
    #[test]
    fn the_workspace_expression_is_the_shell_variable() {
        let none = Env::default();
        for written in [
            "cd ${{ github.workspace }}/app",
            "cd ${{github.workspace}}/app",
            "cd ${{  github.workspace\t}}/app",
        ] {
            assert_eq!(
                none.expand(written),
                "cd $GITHUB_WORKSPACE/app",
                "{written}"
            );
        }
        assert_eq!(
            none.expand("cd ${{ github.workspaces }} ${{ runner.workspace }} $APP"),
            "cd ${{ github.workspaces }} ${{ runner.workspace }} $APP"
        );
        assert!(matches!(none.expand("cd $APP"), Cow::Borrowed(_)));
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
