//! `mlscore check`: index, assess, report.

use std::io::IsTerminal;
use std::path::Path;

use crate::ci::CiModel;
use crate::cli::{CheckArgs, ColorChoice, Format};
use crate::config::{self, LoadedConfig};
use crate::error::{Error, EXIT_OK};
use crate::repo::{RepoIndex, ScanOptions, DEFAULT_MAX_FILE_SIZE};
use crate::report::{human, Report};
use crate::rubric::{self, Catalogue};

/// Where a repository's own checks live.
pub const CUSTOM_CHECKS_DIR: &str = ".mlscore/checks";

pub fn run(args: &CheckArgs) -> Result<i32, Error> {
    let report = build_report(&args.path, args.config.as_deref())?;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text = match args.format {
        Format::Human => human::render(&report, color),
        Format::Json => report.to_json() + "\n",
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::io("write the report to", path, &e))?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

/// Scans, assesses and builds the report for the repository at `root`.
pub fn build_report(root: &Path, config_path: Option<&Path>) -> Result<Report, Error> {
    let mut catalogue = super::catalogue()?;
    let ids = catalogue.ids();
    let LoadedConfig { config, path } = config::load(root, config_path, &ids)?;
    let options = ScanOptions {
        include: config.scan.include.clone(),
        exclude: config.scan.exclude.clone(),
        max_file_size: config.scan.max_file_size.map_or(DEFAULT_MAX_FILE_SIZE, |s| s.0),
    };
    let index = RepoIndex::scan(root, &options)?;
    load_custom_checks(&mut catalogue, &index)?;
    let ci = CiModel::build(&index);
    let assessment = rubric::assess(&catalogue, &index, &ci, &config.waivers);
    let config_shown = path.map(|p| match p.strip_prefix(root) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => p.display().to_string(),
    });
    Ok(Report::new(assessment, &ci, index.warnings(), config_shown, index.files().len()))
}

/// Adds `.mlscore/checks/*.yaml` from the repository to the catalogue.
fn load_custom_checks(catalogue: &mut Catalogue, index: &RepoIndex) -> Result<(), Error> {
    let prefix = format!("{CUSTOM_CHECKS_DIR}/");
    for entry in index.files() {
        let Some(name) = entry.path.strip_prefix(&prefix) else { continue };
        if name.contains('/') || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let display = index.root().join(&entry.path).display().to_string();
        let Some(text) = index.entry_text(entry) else {
            let err = std::io::Error::other("binary, too large or unreadable");
            return Err(Error::io("read the custom check", display, &err));
        };
        catalogue.add_custom(&display, text)?;
    }
    Ok(())
}
