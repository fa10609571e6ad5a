//! `mlscore hook install|uninstall`: the git pre-push hook.

use miette::Diagnostic;

use crate::cli::{HookAction, HookArgs};
use crate::error::{Error, EXIT_OK};
use crate::hook::{self, HookError, Installed, Removed};

/// Installs or removes mlscore's pre-push hook and says what it did.
pub fn run(args: &HookArgs) -> Result<i32, Error> {
    match &args.action {
        HookAction::Install { path, force } => install(path, *force).map_err(into_error),
        HookAction::Uninstall { path } => uninstall(path).map_err(into_error),
    }
}

fn install(path: &std::path::Path, force: bool) -> Result<i32, HookError> {
    let site = hook::locate(path)?;
    let outcome = hook::install(&site, force)?;
    let hook_path = site.hook();
    let said = match outcome.action {
        Installed::Created | Installed::Chained => "installed mlscore's pre-push hook",
        Installed::Updated => "updated mlscore's pre-push hook",
        Installed::Unchanged => "mlscore's pre-push hook is up to date",
    };
    println!("{said}: {}", hook_path.display());
    let scope = if site.scope.is_empty() {
        "the work tree"
    } else {
        site.scope.as_str()
    };
    println!("  before each push it runs `mlscore check` on {scope} against the upstream branch");
    if let Some(chained) = &outcome.chained {
        if outcome.action == Installed::Chained {
            println!("  the hook that was there moved to {}", chained.display());
        }
        if outcome.chained_runs {
            println!("  it runs {} first, with the same arguments and input; `mlscore hook uninstall` puts it back", chained.display());
        } else {
            println!(
                "  {} is not executable, so git did not run it and mlscore's hook does not either (chmod +x to run it)",
                chained.display()
            );
        }
    }
    println!("  skip it once with `git push --no-verify`");
    Ok(EXIT_OK)
}

fn uninstall(path: &std::path::Path) -> Result<i32, HookError> {
    let site = hook::locate(path)?;
    let hook_path = site.hook();
    match hook::uninstall(&site)? {
        Removed::Removed => println!("removed mlscore's pre-push hook {}", hook_path.display()),
        Removed::Restored => println!(
            "removed mlscore's pre-push hook and put back the hook it chained: {}",
            hook_path.display()
        ),
        Removed::NotOurs { stray_chained } => {
            println!(
                "{} is not mlscore's hook; left it in place",
                hook_path.display()
            );
            if stray_chained {
                println!(
                    "  {} is also there, from an earlier install; left it in place too",
                    site.chained().display()
                );
            }
        }
        Removed::NothingInstalled => println!(
            "no mlscore pre-push hook in {}; nothing to do",
            site.dir.display()
        ),
    }
    Ok(EXIT_OK)
}

/// The command's error, keeping the hook error's message and help.
fn into_error(err: HookError) -> Error {
    match err {
        HookError::Io {
            action,
            path,
            reason,
            help,
        } => Error::Io {
            action,
            path,
            reason,
            help,
        },
        other => Error::Usage {
            help: other.help().map(|h| h.to_string()).unwrap_or_default(),
            message: other.to_string(),
        },
    }
}
