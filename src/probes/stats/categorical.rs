//! Category counts and the statistics defined only on them: chi-square and
//! L-infinity. (PSI and Jensen–Shannon take categories too.)

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{Dropped, StatsError};

/// How often each level of a categorical column occurs, plus how many
/// values were missing. Levels are kept sorted, so every result lists them in
/// a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryCounts {
    counts: BTreeMap<String, u64>,
    missing: u64,
}

impl CategoryCounts {
    /// No level, nothing missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the values of a column; `None` is a missing value.
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut counts = Self::new();
        for value in values {
            match value {
                Some(level) => counts.add(level, 1),
                None => counts.add_missing(1),
            }
        }
        counts
    }

    /// Builds counts from `(level, count)` pairs, as a `value_counts` query
    /// returns them; repeated levels add up.
    pub fn from_pairs<S: AsRef<str>>(pairs: impl IntoIterator<Item = (S, u64)>) -> Self {
        let mut counts = Self::new();
        for (level, count) in pairs {
            counts.add(level.as_ref(), count);
        }
        counts
    }

    /// Adds `count` occurrences of `level`. A zero count records nothing:
    /// a level is seen only if it occurs.
    pub fn add(&mut self, level: &str, count: u64) {
        if count == 0 {
            return;
        }
        match self.counts.get_mut(level) {
            Some(existing) => *existing += count,
            None => {
                self.counts.insert(level.to_owned(), count);
            }
        }
    }

    /// Adds `count` missing values.
    pub fn add_missing(&mut self, count: u64) {
        self.missing += count;
    }

    /// Occurrences of `level` (0 if never seen).
    pub fn count(&self, level: &str) -> u64 {
        self.counts.get(level).copied().unwrap_or(0)
    }

    /// Number of non-missing values.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Number of missing values.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Number of distinct levels seen.
    pub fn level_count(&self) -> usize {
        self.counts.len()
    }

    /// `(level, count)` pairs in level order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counts
            .iter()
            .map(|(level, &count)| (level.as_str(), count))
    }
}

/// Counts of both sides aligned on the union of their levels.
pub(super) struct AlignedCounts<'a> {
    pub levels: Vec<&'a str>,
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
    pub dropped: Dropped,
}

/// Aligns two count tables on the union of their levels (a sorted merge of
/// two sorted maps), after checking neither is empty.
pub(super) fn aligned_counts<'a>(
    reference: &'a CategoryCounts,
    current: &'a CategoryCounts,
) -> Result<AlignedCounts<'a>, StatsError> {
    let dropped = check_pair(reference, current)?;
    let mut aligned = AlignedCounts {
        levels: Vec::new(),
        reference: Vec::new(),
        current: Vec::new(),
        dropped,
    };
    let mut left = reference.iter().peekable();
    let mut right = current.iter().peekable();
    loop {
        let (level, r, c) = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(&(level, r)), None) => {
                left.next();
                (level, r, 0)
            }
            (None, Some(&(level, c))) => {
                right.next();
                (level, 0, c)
            }
            (Some(&(l, r)), Some(&(k, c))) => match l.cmp(k) {
                std::cmp::Ordering::Less => {
                    left.next();
                    (l, r, 0)
                }
                std::cmp::Ordering::Greater => {
                    right.next();
                    (k, 0, c)
                }
                std::cmp::Ordering::Equal => {
                    left.next();
                    right.next();
                    (l, r, c)
                }
            },
        };
        aligned.levels.push(level);
        aligned.reference.push(r);
        aligned.current.push(c);
    }
    Ok(aligned)
}

fn check_pair(reference: &CategoryCounts, current: &CategoryCounts) -> Result<Dropped, StatsError> {
    if reference.total() == 0 {
        return Err(StatsError::EmptyReference {
            dropped: reference.missing,
        });
    }
    if current.total() == 0 {
        return Err(StatsError::EmptyCurrent {
            dropped: current.missing,
        });
    }
    Ok(Dropped {
        reference: reference.missing,
        current: current.missing,
    })
}

/// Pearson's chi-square goodness of fit of the current counts to the
/// reference proportions.
///
/// Over the `k` levels seen in the reference: expected count
/// `E_i = p_i · N`, with `p_i` the reference proportion and `N` the current
/// total over those same levels; statistic Σ (O_i − E_i)² / E_i; `k − 1`
/// degrees of freedom; p-value from the chi-square survival function
/// (statrs). Current levels the reference never saw have no expected count,
/// so they are left out of the statistic and of `N` and reported in
/// `unseen_levels` / `unseen_count` instead (scipy's `chisquare` would reject
/// observed and expected totals that differ). With a single reference level
/// there is nothing to test: statistic 0, df 0, p = 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChiSquare {
    /// Σ (O − E)² / E over the reference's levels.
    pub statistic: f64,
    /// P(χ²_df ≥ statistic).
    pub p_value: f64,
    /// Degrees of freedom: reference levels − 1.
    pub df: u64,
    /// Current levels absent from the reference, in level order.
    pub unseen_levels: Vec<String>,
    /// Current values belonging to `unseen_levels`.
    pub unseen_count: u64,
    /// Missing values dropped from each side.
    pub dropped: Dropped,
}

/// Chi-square goodness of fit of `current` to `reference` proportions; see
/// [`ChiSquare`] for the conventions.
pub fn chi_square(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<ChiSquare, StatsError> {
    let aligned = aligned_counts(reference, current)?;
    let mut unseen_levels = Vec::new();
    let mut unseen_count = 0;
    let mut seen_current_total = 0;
    for ((level, &r), &c) in aligned
        .levels
        .iter()
        .zip(&aligned.reference)
        .zip(&aligned.current)
    {
        if r == 0 {
            unseen_levels.push((*level).to_owned());
            unseen_count += c;
        } else {
            seen_current_total += c;
        }
    }
    if seen_current_total == 0 {
        return Err(StatsError::NoSharedLevels {
            unseen: unseen_count,
        });
    }
    let reference_total = reference.total() as f64;
    let scale = seen_current_total as f64;
    let mut statistic = 0.0;
    for (&r, &c) in aligned.reference.iter().zip(&aligned.current) {
        if r == 0 {
            continue;
        }
        let expected = r as f64 / reference_total * scale;
        let gap = c as f64 - expected;
        statistic += gap * gap / expected;
    }
    let df = reference.level_count() as u64 - 1;
    let p_value = if df == 0 {
        statistic = 0.0;
        1.0
    } else {
        // df ≥ 1 is a valid shape, so construction cannot fail.
        ChiSquared::new(df as f64)
            .map(|distribution| distribution.sf(statistic).clamp(0.0, 1.0))
            .unwrap_or(f64::NAN)
    };
    Ok(ChiSquare {
        statistic,
        p_value,
        df,
        unseen_levels,
        unseen_count,
        dropped: aligned.dropped,
    })
}

/// L-infinity distance between the level proportions of two categorical
/// samples: max over the union of levels of |p_i − q_i| (TFDV's
/// `infinity_norm`), in [0, 1]. Proportions are over non-missing values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LInfinity {
    /// The distance.
    pub distance: f64,
    /// The level where it is reached (the first in level order on a tie).
    pub level: String,
    /// Missing values dropped from each side.
    pub dropped: Dropped,
}

/// L-infinity distance; see [`LInfinity`].
pub fn l_infinity(
    reference: &CategoryCounts,
    current: &CategoryCounts,
) -> Result<LInfinity, StatsError> {
    let aligned = aligned_counts(reference, current)?;
    let reference_total = reference.total() as f64;
    let current_total = current.total() as f64;
    let mut best = (0.0, aligned.levels[0]);
    for ((level, &r), &c) in aligned
        .levels
        .iter()
        .zip(&aligned.reference)
        .zip(&aligned.current)
    {
        let gap = (r as f64 / reference_total - c as f64 / current_total).abs();
        if gap > best.0 {
            best = (gap, level);
        }
    }
    Ok(LInfinity {
        distance: best.0,
        level: best.1.to_owned(),
        dropped: aligned.dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> CategoryCounts {
        CategoryCounts::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn alignment_is_the_sorted_union() {
        let reference = counts(&[("b", 2), ("a", 1)]);
        let current = counts(&[("c", 3), ("a", 4)]);
        let aligned = aligned_counts(&reference, &current).unwrap();
        assert_eq!(aligned.levels, vec!["a", "b", "c"]);
        assert_eq!(aligned.reference, vec![1, 2, 0]);
        assert_eq!(aligned.current, vec![4, 0, 3]);
    }

    #[test]
    fn single_reference_level_has_nothing_to_test() {
        let result = chi_square(&counts(&[("a", 5)]), &counts(&[("a", 2), ("z", 1)])).unwrap();
        assert_eq!((result.statistic, result.p_value, result.df), (0.0, 1.0, 0));
        assert_eq!(result.unseen_levels, vec!["z".to_owned()]);
        assert_eq!(result.unseen_count, 1);
    }

    #[test]
    fn only_unseen_levels_is_an_error() {
        let result = chi_square(&counts(&[("a", 5), ("b", 1)]), &counts(&[("z", 3)]));
        assert_eq!(result, Err(StatsError::NoSharedLevels { unseen: 3 }));
    }

    #[test]
    fn missing_values_are_dropped_and_counted() {
        let reference = CategoryCounts::from_values([Some("a"), None, Some("b")]);
        let current = CategoryCounts::from_values([None, None]);
        assert_eq!(reference.missing(), 1);
        assert_eq!(
            l_infinity(&reference, &current),
            Err(StatsError::EmptyCurrent { dropped: 2 })
        );
    }
}
