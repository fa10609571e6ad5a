//! The evidence rules' globs, matched against every path of the index.
//!
//! A scan asks this of every file, so the matcher is built for that: the
//! catalogue's globs are deduplicated (a glob such as `**/*.py` serves tens
//! of rules), and nine in ten are `**/NAME`, which only the file name
//! decides. Most of those are literal pieces between `*`s: one Aho-Corasick
//! pass over the name finds the globs whose longest piece it holds, and only
//! those are compared piece by piece. What is left (`?`, braces, escapes,
//! whole-path globs) runs as byte-regex sets, one automaton pass per path.
//! globset's own strategies would run one regex per glob sharing the path's
//! extension, which dominated the scan of large repositories.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use foldhash::HashMap;
use globset::GlobSet;
use memchr::memmem;
use regex_automata::hybrid::BuildError;

use crate::text::pattern_set::PatternSet;

/// Every rule glob in one matcher; answers are places in the list of globs
/// it was built from.
pub(super) struct PathMatcher {
    /// For each distinct glob (or, with `fallback`, each glob), its places
    /// in the list.
    places: Vec<Vec<usize>>,
    /// Name globs made of literal pieces and `*`.
    names: NameGlobs,
    /// Other globs that only the file name decides.
    odd_names: Option<GlobGroup>,
    /// The other globs, matched against the whole path.
    paths: Option<GlobGroup>,
    /// For when a set does not build (far past any catalogue's size).
    fallback: Option<GlobSet>,
}

/// Room [`PathMatcher::key_into`] reuses from path to path.
#[derive(Debug, Default)]
pub(super) struct GlobRoom {
    sets: Vec<bool>,
}

impl PathMatcher {
    pub(super) fn new(globs: &[String]) -> PathMatcher {
        // Globs were validated with the catalogue; a bad one here never matches.
        let compile = |glob: &str| {
            crate::glob::compile(glob)
                .unwrap_or_else(|_| globset::Glob::new("\u{0}never\u{0}").expect("literal glob"))
        };
        let mut distinct: Vec<&str> = Vec::new();
        let mut places: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::default();
        for (place, glob) in globs.iter().enumerate() {
            let id = *seen.entry(glob).or_insert_with(|| {
                distinct.push(glob);
                places.push(Vec::new());
                distinct.len() - 1
            });
            places[id].push(place);
        }
        let (mut pieces, mut odd, mut paths) = (Vec::new(), Vec::new(), Vec::new());
        for (id, glob) in distinct.iter().enumerate() {
            match name_only(glob).map(|name| (name, Pieces::parse(id, name))) {
                Some((name, Some(parsed))) => pieces.push((name, parsed)),
                Some((name, None)) => odd.push((id, compile(name).regex().to_string())),
                None => paths.push((id, compile(glob).regex().to_string())),
            }
        }
        let names = NameGlobs::build(pieces);
        match (GlobGroup::build(odd), GlobGroup::build(paths)) {
            (Ok(odd_names), Ok(paths)) => PathMatcher {
                places,
                names,
                odd_names,
                paths,
                fallback: None,
            },
            _ => {
                let mut builder = globset::GlobSetBuilder::new();
                for glob in globs {
                    builder.add(compile(glob));
                }
                PathMatcher {
                    // The set answers places; each is its own key.
                    places: (0..globs.len()).map(|place| vec![place]).collect(),
                    names: NameGlobs::default(),
                    odd_names: None,
                    paths: None,
                    fallback: Some(builder.build().unwrap_or_else(|_| GlobSet::empty())),
                }
            }
        }
    }

    /// The places of the globs `path` matches, in no particular order.
    #[cfg(test)]
    fn matches(&self, path: &str) -> Vec<usize> {
        let name = path.rsplit_once('/').map_or(path, |(_, name)| name);
        let mut key = Vec::new();
        self.key_into(path, name, &mut key, &mut GlobRoom::default());
        self.places(&key).collect()
    }

    /// The globs `path` matches as a key (sorted, each distinct glob once)
    /// into `key`: paths that match the same globs have the same key, so a
    /// caller can work out once what they mean. `name` is the path's last
    /// component. [`PathMatcher::places`] gives the key's places.
    pub(super) fn key_into(
        &self,
        path: &str,
        name: &str,
        key: &mut Vec<usize>,
        room: &mut GlobRoom,
    ) {
        key.clear();
        if let Some(fallback) = &self.fallback {
            fallback.matches_into(path, key);
        } else {
            self.names.matches_into(name, key);
            for (group, haystack) in [(&self.odd_names, name), (&self.paths, path)] {
                if let Some(group) = group {
                    group.matches_into(haystack, key, &mut room.sets);
                }
            }
        }
        key.sort_unstable();
        key.dedup();
    }

    /// The places in the list of globs of a key from [`PathMatcher::key_into`].
    pub(super) fn places<'a>(&'a self, key: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        key.iter().flat_map(|&id| self.places[id].iter().copied())
    }
}

/// Some of the globs as one pattern set, with each pattern's glob.
struct GlobGroup {
    set: PatternSet,
    globs: Vec<usize>,
}

impl GlobGroup {
    /// The group of `globs` (glob, regex); `Ok(None)` when there are none.
    fn build(globs: Vec<(usize, String)>) -> Result<Option<GlobGroup>, BuildError> {
        if globs.is_empty() {
            return Ok(None);
        }
        let regexes: Vec<&str> = globs.iter().map(|(_, re)| re.as_str()).collect();
        Ok(Some(GlobGroup {
            set: PatternSet::for_paths(&regexes)?,
            globs: globs.into_iter().map(|(i, _)| i).collect(),
        }))
    }

    fn matches_into(&self, haystack: &str, out: &mut Vec<usize>, sets: &mut Vec<bool>) {
        sets.clear();
        sets.resize(self.set.len(), false);
        let walked = self.set.each_match(haystack.as_bytes(), |i| sets[i] = true);
        // It cannot give up (see `PatternSet`); if it did, no glob is
        // claimed rather than a guess.
        if walked {
            out.extend(
                sets.iter()
                    .zip(&self.globs)
                    .filter(|(&hit, _)| hit)
                    .map(|(_, &glob)| glob),
            );
        }
    }
}

/// The part of a glob that only a file name decides: NAME for `**/NAME`,
/// when NAME has no `/` and no character class (a negated class may match
/// `/`, where `*` and `?` never do).
fn name_only(glob: &str) -> Option<&str> {
    let name = glob.strip_prefix("**/")?;
    (!name.contains(['/', '[']) && !name.contains("**") && !name.is_empty()).then_some(name)
}

/// Name globs made of literal pieces and `*`. A name can only match a glob
/// whose longest piece it contains, so one Aho-Corasick pass over the name
/// finds the few globs worth comparing piece by piece (trying every glob
/// of the name's extension, and every glob without one, cost more than the
/// automaton it replaced).
#[derive(Default)]
struct NameGlobs {
    /// Globs without a `*`: the name itself.
    exact: HashMap<Box<str>, Vec<usize>>,
    /// The star globs.
    pieces: Vec<Pieces>,
    /// The longest piece of every star glob that has one.
    keys: Option<AhoCorasick>,
    /// For each key, the star globs (places in `pieces`) it is the key of.
    key_globs: Vec<Vec<usize>>,
    /// Star globs without a literal (`*`): every name matches them.
    keyless: Vec<usize>,
}

impl NameGlobs {
    /// The name globs (the name, and its pieces) as one matcher.
    fn build<'a>(globs: Vec<(&'a str, Pieces)>) -> NameGlobs {
        let mut names = NameGlobs::default();
        let mut keys: Vec<&'a [u8]> = Vec::new();
        let mut key_of: HashMap<&'a [u8], usize> = HashMap::default();
        for (name, pieces) in globs {
            if !pieces.star {
                names
                    .exact
                    .entry(name.into())
                    .or_default()
                    .push(pieces.glob);
                continue;
            }
            let at = names.pieces.len();
            match name.split('*').max_by_key(|piece| piece.len()) {
                Some(key) if !key.is_empty() => {
                    let key = key.as_bytes();
                    let id = *key_of.entry(key).or_insert_with(|| {
                        keys.push(key);
                        names.key_globs.push(Vec::new());
                        keys.len() - 1
                    });
                    names.key_globs[id].push(at);
                }
                _ => names.keyless.push(at),
            }
            names.pieces.push(pieces);
        }
        if !keys.is_empty() {
            names.keys = AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(MatchKind::Standard)
                .build(&keys)
                .ok();
            if names.keys.is_none() {
                // Past any automaton's size: every glob is compared.
                names.keyless = (0..names.pieces.len()).collect();
            }
        }
        names
    }

    /// Pushes the globs `name` matches; a glob whose key occurs twice in
    /// the name is pushed twice.
    fn matches_into(&self, name: &str, out: &mut Vec<usize>) {
        if let Some(globs) = self.exact.get(name) {
            out.extend_from_slice(globs);
        }
        let mut check = |at: usize| {
            let pieces = &self.pieces[at];
            if pieces.matches(name) {
                out.push(pieces.glob);
            }
        };
        if let Some(keys) = &self.keys {
            for found in keys.find_overlapping_iter(name) {
                for &at in &self.key_globs[found.pattern().as_usize()] {
                    check(at);
                }
            }
        }
        for &at in &self.keyless {
            check(at);
        }
    }
}

/// A name glob as its literal pieces: `test_*train*.py` is `test_`, then
/// `train` somewhere after, then `.py` at the end.
#[derive(Debug)]
struct Pieces {
    glob: usize,
    /// Whether the glob has a `*` at all (else `first` is the whole name).
    star: bool,
    first: Box<str>,
    /// Searchers built once: a searcher built per call cost more than the
    /// rest of the scan's matching of names.
    middle: Vec<memmem::Finder<'static>>,
    last: Box<str>,
}

impl Pieces {
    /// The pieces of `name`, the name part of the glob `glob`, or `None`
    /// when it holds more than literals and `*` (`?`, braces, escapes).
    fn parse(glob: usize, name: &str) -> Option<Pieces> {
        if name.contains(['?', '{', '}', '\\', '[', ']']) {
            return None;
        }
        let mut parts: Vec<Box<str>> = name.split('*').map(Box::from).collect();
        let star = parts.len() > 1;
        let last = if star {
            parts.pop().unwrap_or_default()
        } else {
            Box::default()
        };
        let first = parts.remove(0);
        Some(Pieces {
            glob,
            star,
            first,
            middle: parts
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
                .collect(),
            last,
        })
    }

    /// Whether `name` matches: it starts with the first piece, ends with the
    /// last, and holds the middle ones in order between them. Taking each
    /// middle piece at its leftmost place is enough: a `*` takes whatever
    /// lies between.
    fn matches(&self, name: &str) -> bool {
        let Some(mut between) = name
            .as_bytes()
            .strip_prefix(self.first.as_bytes())
            .and_then(|rest| rest.strip_suffix(self.last.as_bytes()))
        else {
            return false;
        };
        for piece in &self.middle {
            match piece.find(between) {
                Some(at) => between = &between[at + piece.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher finds exactly what one glob set over whole paths finds:
    /// name-only globs at the root and deep down, literal names, extensions,
    /// pieces in order, anchored globs, `**` in the middle, classes (kept on
    /// the path side), braces and `?`, repeated globs, and names that a
    /// glob's `*` must not reach across a `/`.
    #[test]
    fn matcher_agrees_with_whole_path_globs() {
        let globs: Vec<String> = [
            "**/*.py",
            "**/test_*.py",
            "**/Makefile",
            "**/*staleness*",
            "**/params.{yml,yaml}",
            "**/x[!a]y",
            "**/tests/e2e/**/*.py",
            "**/configs/**/*model*.yaml",
            ".github/workflows/*.yml",
            "docs/**/*pii*",
            "**/",
            "**/**/deep.txt",
            "**/*.py",
            "**/test_*train*.py",
            "**/*model*card*.md",
            "**/ab_test*",
            "**/*.conda-lock.yml",
            "**/*_test.py",
            "**/dvc.lock",
            "**/ru?book.md",
            "**/*",
            "**/a*a",
        ]
        .map(String::from)
        .to_vec();
        let matcher = PathMatcher::new(&globs);
        assert!(matcher.fallback.is_none());
        assert_eq!(matcher.places.len(), globs.len() - 1, "one repeated glob");
        assert_eq!(matcher.names.exact.len(), 2);
        assert_eq!(matcher.odd_names.as_ref().map(|g| g.globs.len()), Some(2));
        let whole = crate::glob::compile_set(&globs).unwrap();
        for path in [
            "a.py",
            "src/pkg/test_a.py",
            "test_.py",
            "test_train.py",
            "tests/test_trainer.py",
            "test_xtrain.pyc",
            "trainer_test.py",
            "_test.py",
            "Makefile",
            "ci/Makefile.bak",
            "src/model_staleness.py",
            "staleness/readme.md",
            "conf/params.yaml",
            "params.yml",
            "x/y",
            "xby",
            "d/xby",
            "pkg/tests/e2e/a/b/test_flow.py",
            "tests/e2e/test_flow.py",
            "configs/prod/model.yaml",
            "a/configs/model_v2.yaml",
            ".github/workflows/ci.yml",
            ".github/workflows/sub/ci.yml",
            "docs/privacy/pii_policy.md",
            "a/docs/pii.md",
            "deep.txt",
            "a/b/deep.txt",
            "README",
            "docs/MODEL_CARD.md",
            "docs/model_card.md",
            "docs/cardmodel.md",
            "docs/model-card-v2.md",
            "ab_test",
            "ab_tests/config.yaml",
            "x/ab_test_plan.md",
            "env.conda-lock.yml",
            "conda-lock.yml",
            "dvc.lock",
            "a/dvc.lock.bak",
            "runbook.md",
            "docs/rulbook.md",
            "a",
            "aa",
            "a/a",
            "aba",
            "no_extension",
            "trailing.",
            // Line breaks and other bytes a hostile tree may name files with.
            "x\nay",
            "a\nb/test_x.py",
            ".github/workflows/a\n.yml",
            "docs/\n/pii",
            "dé/rübook.md",
            "名前/x\u{0}y",
        ] {
            let mut found = matcher.matches(path);
            found.sort_unstable();
            assert_eq!(found, whole.matches(path), "{path}");
        }
    }

    #[test]
    fn pieces_take_middle_literals_in_order() {
        let pieces = Pieces::parse(0, "a*b*c*d").unwrap();
        assert!(pieces.matches("abcd"));
        assert!(pieces.matches("a-c-b-c-d"));
        assert!(!pieces.matches("acbd"));
        assert!(!pieces.matches("abd"));
        // The first and last piece never share a character.
        assert!(!Pieces::parse(0, "ab*ba").unwrap().matches("aba"));
        assert!(Pieces::parse(0, "ab*ba").unwrap().matches("abba"));
        assert!(Pieces::parse(0, "x?y").is_none());
    }
}
