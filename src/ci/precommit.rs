//! pre-commit: the commands of `repo: local` hooks, which are the project's own
//! checks (remote hooks run third-party code mlscore does not follow).

use super::lines;
use super::yaml::{self, YamlError};

/// The arguments of `pre-commit run`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PreCommitArgs {
    /// Whether the subcommand is `run` (`install`, `autoupdate` run nothing).
    pub run: bool,
    /// The one hook named, if any.
    pub hook: Option<String>,
    /// `-c`/`--config`.
    pub config: Option<String>,
}

impl PreCommitArgs {
    /// Reads pre-commit's command-line arguments.
    pub(crate) fn parse(args: &[String]) -> PreCommitArgs {
        let mut out = PreCommitArgs::default();
        let mut i = 0;
        let mut in_files = false;
        while i < args.len() {
            let arg = args[i].as_str();
            i += 1;
            match arg {
                "run" if !out.run => out.run = true,
                "-c" | "--config" => {
                    out.config = args.get(i).cloned();
                    i += 1;
                }
                "--hook-stage" | "--from-ref" | "--to-ref" | "--source" | "--origin" | "-s"
                | "-o" | "--color" => i += 1,
                "--files" => in_files = true,
                _ if arg.starts_with('-') => {
                    in_files = false;
                    if let Some(v) = arg.strip_prefix("--config=") {
                        out.config = Some(v.to_string());
                    }
                }
                _ if out.run && !in_files && out.hook.is_none() => out.hook = Some(arg.to_string()),
                _ => {}
            }
        }
        out
    }
}

/// One local hook's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HookCommand {
    pub id: String,
    pub text: String,
    /// 1-based line of its `entry:`.
    pub line: usize,
}

/// The commands of the local hooks (only `hook` when given).
pub(crate) fn local_hook_commands(
    text: &str,
    hook: Option<&str>,
) -> Result<Vec<HookCommand>, YamlError> {
    let config = yaml::parse(text)?;
    let mut out = Vec::new();
    let repos = yaml::get(&config, "repos")
        .and_then(|r| r.as_sequence())
        .cloned()
        .unwrap_or_default();
    for repo in &repos {
        if yaml::get_str(repo, "repo") != Some("local") {
            continue;
        }
        let hooks = yaml::get(repo, "hooks")
            .and_then(|h| h.as_sequence())
            .cloned()
            .unwrap_or_default();
        for h in &hooks {
            let Some(id) = yaml::get(h, "id").and_then(yaml::scalar) else {
                continue;
            };
            if hook.is_some_and(|wanted| wanted != id) {
                continue;
            }
            // `pygrep` entries are regexes and `fail` entries messages, not commands.
            if matches!(yaml::get_str(h, "language"), Some("pygrep" | "fail")) {
                continue;
            }
            let Some(entry) = yaml::get(h, "entry").and_then(yaml::scalar) else {
                continue;
            };
            let args = yaml::get(h, "args")
                .map(yaml::string_list)
                .unwrap_or_default();
            let mut command = entry.trim().to_string();
            if !args.is_empty() {
                command.push(' ');
                command.push_str(
                    &shlex::try_join(args.iter().map(String::as_str))
                        .unwrap_or_else(|_| args.join(" ")),
                );
            }
            let id_line = lines::find_line(text, &format!("id: {id}"), 1).unwrap_or(1);
            let line = lines::find_key_line(text, "entry", id_line, 0).unwrap_or(id_line);
            out.push(HookCommand {
                id,
                text: command,
                line,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.5.0
    hooks:
      - id: ruff
  - repo: local
    hooks:
      - id: schema-check
        name: validate data schema
        entry: python -m pipeline.validate
        args: [--schema, data/schema.yaml]
        language: system
      - id: no-print
        entry: 'print\\('
        language: pygrep
      - id: unit-tests
        entry: pytest tests/unit
        language: system
        pass_filenames: false
";

    #[test]
    fn local_hooks_become_commands() {
        let got = local_hook_commands(CONFIG, None).unwrap();
        let texts: Vec<(&str, &str, usize)> = got
            .iter()
            .map(|h| (h.id.as_str(), h.text.as_str(), h.line))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    "schema-check",
                    "python -m pipeline.validate --schema data/schema.yaml",
                    10
                ),
                ("unit-tests", "pytest tests/unit", 17)
            ]
        );
        let one = local_hook_commands(CONFIG, Some("unit-tests")).unwrap();
        assert_eq!(one.len(), 1);
        assert!(local_hook_commands("repos: [", None).is_err());
    }

    #[test]
    fn parses_arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let args = PreCommitArgs::parse(&s(&[
            "run",
            "--all-files",
            "schema-check",
            "-c",
            "ci/pc.yaml",
        ]));
        assert_eq!(
            args,
            PreCommitArgs {
                run: true,
                hook: Some("schema-check".into()),
                config: Some("ci/pc.yaml".into())
            }
        );
        assert!(!PreCommitArgs::parse(&s(&["install"])).run);
        assert_eq!(
            PreCommitArgs::parse(&s(&["run", "--files", "a.py", "b.py"])).hook,
            None
        );
    }
}
