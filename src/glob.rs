//! Path globs with gitignore-like meaning: `*` stays within one path component,
//! `**` crosses any number of them. Shared by config, checks and the CI model.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiles one glob, or says why it is invalid.
pub fn compile(glob: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|err| err.kind().to_string())
}

/// Compiles a list of globs into one set; the error names the bad glob.
pub fn compile_set(globs: &[String]) -> Result<GlobSet, (String, String)> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(compile(glob).map_err(|why| (glob.clone(), why))?);
    }
    builder
        .build()
        .map_err(|err| (globs.join(", "), err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_one_component_and_double_star_crosses() {
        let set = compile_set(&["tests/*.py".into()]).unwrap();
        assert!(set.is_match("tests/test_a.py"));
        assert!(!set.is_match("tests/unit/test_a.py"));
        let set = compile_set(&["**/schema.pbtxt".into()]).unwrap();
        assert!(set.is_match("schema.pbtxt"));
        assert!(set.is_match("a/b/schema.pbtxt"));
    }

    #[test]
    fn invalid_glob_names_itself() {
        let err = compile_set(&["ok/**".into(), "bad/[".into()]).unwrap_err();
        assert_eq!(err.0, "bad/[");
    }
}
