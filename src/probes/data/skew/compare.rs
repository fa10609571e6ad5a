//! Comparing a column of the reference with the current file: the
//! statistics of numeric and categorical columns, and unseen levels.

use std::sync::Mutex;

use super::super::DataError;
use super::*;
use super::{accumulate::*, plan::*, thresholds::*, verdict::*};
use crate::probes::stats::{
    self, CategoryCounts, Dropped, NumericSample, StatsError, DEFAULT_BINS,
};
use crate::text::number::thousands;

/// Compares every planned entry in place, within the memory budget.
///
/// A text side (CSV, NDJSON) is streamed once up front, since each pass
/// parses the whole file; its numbers stay in memory if they fit the budget,
/// else they go to temporary files. A Parquet side is streamed one column at
/// a time, as each column's turn comes. The calling thread does the reading
/// (polars parallelizes each read on its own pool) and hands each column to
/// a rayon pool that sorts and compares it while the next is read. Reads
/// stay off the rayon workers on purpose: a worker waiting on polars steals
/// other columns' work, so reads pile up under long comparisons and memory
/// grows with them.
pub(super) fn compare_planned(
    reference: &mut Side,
    current: &mut Side,
    entries: &mut [Entry],
    limits: Limits,
) -> Result<(), DataError> {
    let planned: Vec<(usize, &Planned)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| match entry {
            Entry::Planned(p) => Some((i, p)),
            Entry::Done(_) => None,
        })
        .collect();
    if planned.is_empty() {
        return Ok(());
    }
    let columns: Vec<&Planned> = planned.iter().map(|(_, p)| *p).collect();
    let up_front = |side: &mut Side| -> Result<Vec<Option<Collected>>, DataError> {
        Ok(if side.columnar {
            columns.iter().map(|_| None).collect()
        } else {
            side.collect(&columns, limits.memory_budget, limits.max_levels)?
                .into_iter()
                .map(Some)
                .collect()
        })
    };
    let (early_reference, early_current) = (up_front(reference)?, up_front(current)?);

    // A column being compared holds both sides' values, once sorted.
    let rows = reference
        .rows
        .unwrap_or(0)
        .max(current.rows.unwrap_or(0))
        .max(1);
    let comparing = (limits.memory_budget / (rows * 8)).max(1) as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = threads.min(comparing).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|err| DataError::Read {
            path: reference.shown(),
            reason: format!("cannot start worker threads: {err}"),
            help: "retry with more free memory or a higher thread limit".into(),
        })?;
    // One more than the workers, when the budget holds it: the next column
    // is read while they compare.
    let permits = Permits::new(workers + usize::from(comparing > workers));
    let results = Mutex::new(Vec::with_capacity(planned.len()));

    pool.in_place_scope(|scope| -> Result<(), DataError> {
        for ((&(i, planned), r), c) in planned.iter().zip(early_reference).zip(early_current) {
            permits.acquire();
            // One column read on its own is never spilled: it is sorted
            // in memory next anyway.
            let read = |side: &mut Side, early: Option<Collected>| match early {
                Some(collected) => Ok(collected),
                None => side
                    .collect(&[planned], u64::MAX, limits.max_levels)
                    .map(|mut one| one.remove(0)),
            };
            let (r, c) = match (read(reference, r), read(current, c)) {
                (Ok(r), Ok(c)) => (r, c),
                (Err(err), _) | (_, Err(err)) => {
                    permits.release();
                    return Err(err);
                }
            };
            let (results, permits) = (&results, &permits);
            scope.spawn(move |_| {
                let compared = compare_column(planned, r, c, limits);
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((i, compared));
                permits.release();
            });
        }
        Ok(())
    })?;
    for (i, column) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        entries[i] = Entry::Done(column);
    }
    Ok(())
}

/// Compares one column read from both files.
pub(super) fn compare_column(
    planned: &Planned,
    reference: Collected,
    current: Collected,
    limits: Limits,
) -> ColumnSkew {
    let mut result = ColumnSkew::bare(&planned.name, Some(planned.kind), ColumnVerdict::Stable);
    match (reference, current) {
        (
            Collected::Numbers {
                values: r,
                nulls: r_nulls,
            },
            Collected::Numbers {
                values: c,
                nulls: c_nulls,
            },
        ) => {
            let (r, c) = rayon::join(|| numeric_sample(r, r_nulls), || numeric_sample(c, c_nulls));
            match (r, c) {
                (Ok(r), Ok(c)) => compare_numeric(&mut result, &r, &c, &planned.thresholds),
                (Err(err), _) | (_, Err(err)) => {
                    result.verdict = ColumnVerdict::Skipped;
                    result.notes.push(format!(
                        "cannot read its values back from a temporary file: {err}"
                    ));
                }
            }
        }
        (
            Collected::Categories {
                counts: r,
                overflow: r_overflow,
            },
            Collected::Categories {
                counts: c,
                overflow: c_overflow,
            },
        ) => {
            if r_overflow || c_overflow {
                result.verdict = ColumnVerdict::Skipped;
                result.notes.push(format!(
                    "more than {} distinct values: an identifier or free text, not a category; \
                     give it a numeric `type` in the schema or leave it out",
                    thousands(limits.max_levels as u64)
                ));
            } else {
                compare_categorical(&mut result, &r, &c, &planned.thresholds);
            }
        }
        // Both sides are read with the planned kind.
        _ => result.verdict = ColumnVerdict::Skipped,
    }
    if result.verdict == ColumnVerdict::Empty {
        // The side with values knows the column's kind; the other side's
        // type (text, for an all-empty CSV column) says nothing.
        let known = match (result.values.reference, result.values.current) {
            (0, 0) => None,
            (0, _) => planned.dtype_kinds.current,
            _ => planned.dtype_kinds.reference,
        };
        result.kind = known.or(result.kind);
    } else if let Some(note) = &planned.type_note {
        result.notes.push(note.clone());
    }
    result.failed = match result.verdict {
        ColumnVerdict::Drifted | ColumnVerdict::Missing => true,
        ColumnVerdict::Empty => result.values.reference > 0 && result.values.current == 0,
        _ => false,
    };
    result
}

/// A numeric sample and the nulls left out of it.
pub(super) struct Numbers {
    pub(super) sample: NumericSample,
    pub(super) nulls: u64,
}

/// Loads a column's numbers and sorts them into a sample.
pub(super) fn numeric_sample(values: Stored, nulls: u64) -> std::io::Result<Numbers> {
    let values = values.load()?;
    Ok(Numbers {
        sample: NumericSample::from_vec(sort_by_order_keys(values)),
        nulls,
    })
}

/// Sorts `values` in `f64::total_cmp` order by sorting their order keys as
/// `u64`: about 1.6× faster than sorting with `total_cmp` on 10M normal
/// values, in place. [`NumericSample::from_vec`] then finds them sorted in
/// one linear pass.
pub(super) fn sort_by_order_keys(values: Vec<f64>) -> Vec<f64> {
    // Same layout, so both collects reuse the allocation.
    let mut keys: Vec<u64> = values.into_iter().map(order_key).collect();
    keys.sort_unstable();
    keys.into_iter().map(from_order_key).collect()
}

/// A key whose unsigned order is `f64::total_cmp`'s: flip every bit of a
/// negative number, only the sign bit of a positive one.
pub(super) fn order_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

pub(super) fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

pub(super) fn compare_numeric(
    result: &mut ColumnSkew,
    reference: &Numbers,
    current: &Numbers,
    thresholds: &SkewThresholds,
) {
    let (r, c) = (&reference.sample, &current.sample);
    result.values = Pair {
        reference: r.len() as u64,
        current: c.len() as u64,
    };
    result.nulls = Pair {
        reference: reference.nulls,
        current: current.nulls,
    };
    result.dropped = Dropped {
        reference: r.dropped(),
        current: c.dropped(),
    };
    let computed = (|| -> Result<_, StatsError> {
        Ok((
            stats::psi_samples(r, c, DEFAULT_BINS)?,
            stats::jensen_shannon_samples(r, c, DEFAULT_BINS)?,
            stats::ks_2samp_samples(r, c)?,
            stats::wasserstein_samples(r, c)?,
        ))
    })();
    let (psi, js, ks, wasserstein) = match computed {
        Ok(all) => all,
        Err(_) => {
            result.verdict = ColumnVerdict::Empty;
            return;
        }
    };
    result.statistics = vec![
        StatisticResult::judge(SkewStatistic::Psi, psi.value, thresholds),
        StatisticResult::judge(SkewStatistic::JsDistance, js.distance, thresholds),
        StatisticResult::judge(SkewStatistic::KsStatistic, ks.statistic, thresholds),
        StatisticResult::judge(SkewStatistic::KsPValue, ks.p_value, thresholds),
        StatisticResult::judge(
            SkewStatistic::Wasserstein,
            wasserstein.normalized,
            thresholds,
        ),
    ];
    result.numeric = Some(NumericDetails {
        bins: psi.bins,
        js_divergence: js.divergence,
        ks_method: ks.method,
        wasserstein_distance: wasserstein.distance,
        mean: Pair {
            reference: r.mean().unwrap_or(f64::NAN),
            current: c.mean().unwrap_or(f64::NAN),
        },
        reference_std: wasserstein.reference_std,
    });
    result.verdict = verdict_of(&result.statistics);
}

pub(super) fn verdict_of(statistics: &[StatisticResult]) -> ColumnVerdict {
    if statistics.iter().any(|s| s.drifted) {
        ColumnVerdict::Drifted
    } else {
        ColumnVerdict::Stable
    }
}

pub(super) fn compare_categorical(
    result: &mut ColumnSkew,
    reference: &CategoryCounts,
    current: &CategoryCounts,
    thresholds: &SkewThresholds,
) {
    result.values = Pair {
        reference: reference.total(),
        current: current.total(),
    };
    result.nulls = Pair {
        reference: reference.missing(),
        current: current.missing(),
    };
    let (js, linf) = match (
        stats::jensen_shannon_categorical(reference, current),
        stats::l_infinity(reference, current),
    ) {
        (Ok(js), Ok(linf)) => (js, linf),
        _ => {
            result.verdict = ColumnVerdict::Empty;
            return;
        }
    };
    let unseen = unseen_levels(reference, current);
    let mut statistics = Vec::new();
    let (mut chi2_statistic, mut chi2_df) = (None, None);
    match stats::chi_square(reference, current) {
        Ok(chi2) => {
            statistics.push(StatisticResult::judge(
                SkewStatistic::Chi2PValue,
                chi2.p_value,
                thresholds,
            ));
            chi2_statistic = Some(chi2.statistic);
            chi2_df = Some(chi2.df);
        }
        Err(err) => result.notes.push(format!("no chi-square test: {err}")),
    }
    statistics.push(StatisticResult::judge(
        SkewStatistic::Linf,
        linf.distance,
        thresholds,
    ));
    statistics.push(StatisticResult::judge(
        SkewStatistic::JsDistance,
        js.distance,
        thresholds,
    ));
    statistics.push(StatisticResult::judge(
        SkewStatistic::Unseen,
        unseen.fraction,
        thresholds,
    ));
    result.categorical = Some(CategoricalDetails {
        levels: Pair {
            reference: reference.level_count(),
            current: current.level_count(),
        },
        chi2_statistic,
        chi2_df,
        js_divergence: js.divergence,
        linf_level: linf.level,
    });
    result.unseen = Some(unseen);
    result.verdict = verdict_of(&statistics);
    result.statistics = statistics;
}

/// The current levels absent from the reference, most frequent first.
pub(super) fn unseen_levels(reference: &CategoryCounts, current: &CategoryCounts) -> Unseen {
    let mut unseen: Vec<(&str, u64)> = current
        .iter()
        .filter(|(level, _)| reference.count(level) == 0)
        .collect();
    // Most frequent first; level order breaks ties, so output is stable.
    unseen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let count: u64 = unseen.iter().map(|(_, n)| n).sum();
    let total = current.total();
    Unseen {
        levels: unseen.len(),
        count,
        fraction: if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        },
        examples: unseen
            .iter()
            .take(UNSEEN_EXAMPLES)
            .map(|(level, _)| super::super::shown::value(level))
            .collect(),
    }
}
