//! Turning `--format` and `--output` into reports written where asked.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::cli::{ColorChoice, Format, ReportArgs};
use crate::error::Error;
use crate::report::render::{render, RenderContext};
use crate::report::Report;

/// Where one report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

/// The reports asked for: `(format, destination)` in order.
pub fn plan(args: &ReportArgs) -> Result<Vec<(Format, Destination)>, Error> {
    let mut planned = Vec::new();
    let mut plain_paths = Vec::new();
    for item in &args.output {
        match item.split_once('=') {
            Some((name, path)) if Format::from_str(name, true).is_ok() => {
                let format = Format::from_str(name, true).map_err(|_| usage(item))?;
                if path.is_empty() {
                    return Err(usage(item));
                }
                planned.push((format, Destination::File(PathBuf::from(path))));
            }
            _ => plain_paths.push(PathBuf::from(item)),
        }
    }
    let mut formats = args.format.clone();
    if formats.is_empty() && planned.is_empty() {
        formats.push(Format::Human);
    }
    match plain_paths.len() {
        0 => planned.extend(formats.into_iter().map(|f| (f, Destination::Stdout))),
        1 if formats.len() <= 1 => {
            let format = formats.first().copied().unwrap_or(Format::Human);
            planned.push((format, Destination::File(plain_paths.remove(0))));
        }
        _ => {
            return Err(Error::Usage {
                message: "with several reports, say which goes where".into(),
                help: "write each output as FORMAT=PATH, e.g. `-o json=report.json -o sarif=mlscore.sarif`".into(),
            })
        }
    }
    Ok(planned)
}

fn usage(item: &str) -> Error {
    let names: Vec<String> = Format::value_variants()
        .iter()
        .filter_map(|f| f.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect();
    Error::Usage {
        message: format!("--output `{item}` is not PATH or FORMAT=PATH"),
        help: format!("formats are {}", names.join(", ")),
    }
}

/// Writes every planned report; files first, so nothing is lost if printing fails.
pub fn write(
    report: &Report,
    args: &ReportArgs,
    root: &Path,
    metrics_first: bool,
) -> Result<(), Error> {
    write_with(report, args, root, metrics_first, None)
}

/// [`write`], with Markdown links to files under `link_base` (e.g.
/// `https://github.com/o/r/blob/<sha>/`, known in CI).
pub fn write_with(
    report: &Report,
    args: &ReportArgs,
    root: &Path,
    metrics_first: bool,
    link_base: Option<String>,
) -> Result<(), Error> {
    let planned = plan(args)?;
    let to_terminal = std::io::stdout().is_terminal();
    let color_for = |dest: &Destination| match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            *dest == Destination::Stdout && to_terminal && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut stdout = String::new();
    for (format, dest) in &planned {
        let ctx = RenderContext {
            color: color_for(dest) && *format == Format::Human,
            repo_root: Some(root.to_path_buf()),
            link_base: link_base.clone(),
            metrics_first,
        };
        let text = render(*format, report, &ctx).map_err(Error::Render)?;
        match dest {
            Destination::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("create the folder", parent, &e))?;
                }
                std::fs::write(path, text)
                    .map_err(|e| Error::io("write the report to", path, &e))?;
            }
            // Standard output is a CI log: no line of a report may read as a
            // workflow command, except the `github` format's own.
            Destination::Stdout if *format == Format::Github => stdout.push_str(&text),
            Destination::Stdout => stdout.push_str(&crate::text::inert::guard_lines(&text)),
        }
    }
    print!("{stdout}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(format: &[Format], output: &[&str]) -> ReportArgs {
        ReportArgs {
            format: format.to_vec(),
            output: output.iter().map(|s| s.to_string()).collect(),
            color: ColorChoice::Never,
        }
    }

    #[test]
    fn defaults_to_human_on_stdout() {
        assert_eq!(
            plan(&args(&[], &[])).unwrap(),
            vec![(Format::Human, Destination::Stdout)]
        );
    }

    #[test]
    fn plain_path_takes_the_one_format() {
        assert_eq!(
            plan(&args(&[Format::Json], &["r.json"])).unwrap(),
            vec![(Format::Json, Destination::File("r.json".into()))]
        );
    }

    #[test]
    fn format_equals_path_pairs_and_stdout_formats_mix() {
        let planned = plan(&args(
            &[Format::Human],
            &["sarif=out/m.sarif", "junit=r.xml"],
        ))
        .unwrap();
        assert_eq!(
            planned,
            vec![
                (Format::Sarif, Destination::File("out/m.sarif".into())),
                (Format::Junit, Destination::File("r.xml".into())),
                (Format::Human, Destination::Stdout),
            ]
        );
    }

    #[test]
    fn ambiguous_outputs_are_usage_errors() {
        assert!(plan(&args(&[Format::Json, Format::Sarif], &["r.out"])).is_err());
        assert!(plan(&args(&[], &["json="])).is_err());
    }
}
