//! Distinct counts in bounded memory: values hashed, runs of sorted hashes
//! spilled to disk and merged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

// ---------------------------------------------------------------------------
// Distinct counts in bounded memory

/// How many repeated hashes a [`DistinctCount`] keeps, to find examples and
/// to confirm the repeats exactly.
pub const REPEATED_SAMPLE: usize = 1024;

/// Hashes are written to disk in sorted runs of at most this many bytes per
/// counter (8 bytes a value), unless the caller gives a smaller budget.
pub(super) const RUN_BYTES: usize = 64 << 20;

/// What a [`DistinctCounter`] saw.
#[derive(Debug, Clone, Default)]
pub struct DistinctCount {
    /// Non-null values seen.
    pub values: u64,
    /// Distinct 64-bit hashes among them: the number of distinct values, but
    /// for hash collisions (about one in 10^5 for 50M distinct values; a
    /// collision can only make two different values look equal). `None` when
    /// counting stopped at the first repeat.
    pub distinct: Option<u64>,
    /// Up to [`REPEATED_SAMPLE`] hashes seen more than once, smallest first.
    pub repeated: Vec<u64>,
    /// True when `repeated` holds every hash seen more than once.
    pub repeated_complete: bool,
}

impl DistinctCount {
    /// Whether no value was seen twice.
    pub fn all_distinct(&self) -> bool {
        self.distinct == Some(self.values)
    }
}

/// Counts the distinct non-null values of one column in bounded memory.
///
/// [`DistinctCounter::observe`] wraps the column in a query; as the streaming
/// engine evaluates it batch by batch, each value is hashed to 64 bits
/// (polars' own hash, with a fixed seed). Hashes fill a buffer; a full buffer
/// is sorted and appended to an anonymous temporary file as a run. At the end
/// the runs are merged, counting distinct hashes. Memory is the buffer plus
/// 64 KiB per run; disk is 8 bytes per value.
#[derive(Clone)]
pub struct DistinctCounter {
    pub(super) state: Arc<Mutex<Runs>>,
}

pub(super) struct Runs {
    /// Hashes not yet written.
    pub(super) buffer: Vec<u64>,
    /// Hashes per run.
    pub(super) capacity: usize,
    /// The runs written so far (created at the first spill).
    pub(super) file: Option<BufWriter<File>>,
    /// Each run's length in hashes, in file order.
    pub(super) lengths: Vec<u64>,
    pub(super) values: u64,
    /// Stop at the first repeat (inferring only asks "are all values distinct?").
    pub(super) stop_at_repeat: bool,
    pub(super) repeat_seen: bool,
    pub(super) error: Option<io::Error>,
}

impl DistinctCounter {
    /// A counter that may keep `budget` bytes of hashes in memory. With
    /// `stop_at_repeat` it stops counting at the first repeated value, which
    /// is all that inferring `unique` needs.
    pub fn new(budget: usize, stop_at_repeat: bool) -> DistinctCounter {
        let capacity = prev_power_of_two(budget.clamp(64 << 10, RUN_BYTES) / 8);
        DistinctCounter {
            state: Arc::new(Mutex::new(Runs {
                buffer: Vec::new(),
                capacity,
                file: None,
                lengths: Vec::new(),
                values: 0,
                stop_at_repeat,
                repeat_seen: false,
                error: None,
            })),
        }
    }

    /// `expr` unchanged, but every batch it evaluates is counted (see [`tap`]).
    pub fn observe(&self, expr: Expr) -> Expr {
        let counter = self.clone();
        tap(expr, move |column| counter.add(column))
    }

    pub(super) fn add(&self, column: &Column) -> PolarsResult<()> {
        if self.lock().done() {
            return Ok(());
        }
        let column = column.drop_nulls();
        if column.is_empty() {
            return Ok(());
        }
        let hashes = hash_values(&column)?;
        let mut runs = self.lock();
        // Spilling before the buffer would outgrow its capacity (a power of
        // two) keeps its allocation within the budget.
        if !runs.buffer.is_empty() && runs.buffer.len() + hashes.len() > runs.capacity {
            runs.spill();
        }
        if !runs.done() {
            runs.values += hashes.len() as u64;
            runs.buffer.extend_from_slice(&hashes);
        }
        Ok(())
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        // A panic while holding the lock leaves plain counters behind; keep them.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Merges the runs and counts. An error means the temporary file could
    /// not be written or read back.
    pub fn finish(&self) -> io::Result<DistinctCount> {
        let mut runs = self.lock();
        if let Some(err) = runs.error.take() {
            return Err(err);
        }
        let values = runs.values;
        if runs.repeat_seen {
            return Ok(DistinctCount {
                values,
                ..Default::default()
            });
        }
        let mut tail = std::mem::take(&mut runs.buffer);
        radsort::sort(&mut tail);
        let mut readers = Vec::new();
        if let Some(writer) = runs.file.take() {
            let mut file = writer.into_inner().map_err(|err| err.into_error())?;
            file.flush()?;
            let file = Arc::new(Mutex::new(file));
            let mut offset = 0;
            for &len in &runs.lengths {
                readers.push(RunReader::file(Arc::clone(&file), offset, len));
                offset += len * 8;
            }
        }
        readers.push(RunReader::memory(tail));
        let merged = merge_count(readers, runs.stop_at_repeat)?;
        Ok(DistinctCount { values, ..merged })
    }
}

impl Runs {
    pub(super) fn done(&self) -> bool {
        self.repeat_seen || self.error.is_some()
    }

    /// Sorts the buffer and appends it to the run file.
    pub(super) fn spill(&mut self) {
        // Radix sort: 8-byte hashes sort in a few linear passes.
        radsort::sort(&mut self.buffer);
        if self.stop_at_repeat && self.buffer.windows(2).any(|w| w[0] == w[1]) {
            self.repeat_seen = true;
            self.buffer = Vec::new();
            self.file = None;
            return;
        }
        let written = (|| -> io::Result<()> {
            if self.file.is_none() {
                self.file = Some(BufWriter::with_capacity(1 << 16, tempfile::tempfile()?));
            }
            let file = self.file.as_mut().expect("created above");
            for hash in &self.buffer {
                file.write_all(&hash.to_le_bytes())?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => self.lengths.push(self.buffer.len() as u64),
            Err(err) => self.error = Some(err),
        }
        self.buffer.clear();
    }
}

pub(super) fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.max(1).leading_zeros())
}

/// One sorted run, read back in 64 KiB pieces.
pub(super) struct RunReader {
    pub(super) source: Option<Arc<Mutex<File>>>,
    /// Next byte to read from the file.
    pub(super) offset: u64,
    /// Hashes left in the file after `chunk`.
    pub(super) left: u64,
    pub(super) chunk: Vec<u64>,
    pub(super) at: usize,
}

impl RunReader {
    const CHUNK: u64 = 8 << 10;

    pub(super) fn file(file: Arc<Mutex<File>>, offset: u64, len: u64) -> RunReader {
        RunReader {
            source: Some(file),
            offset,
            left: len,
            chunk: Vec::new(),
            at: 0,
        }
    }

    pub(super) fn memory(hashes: Vec<u64>) -> RunReader {
        RunReader {
            source: None,
            offset: 0,
            left: 0,
            chunk: hashes,
            at: 0,
        }
    }

    pub(super) fn next(&mut self) -> io::Result<Option<u64>> {
        if self.at == self.chunk.len() {
            let Some(source) = &self.source else {
                return Ok(None);
            };
            if self.left == 0 {
                return Ok(None);
            }
            let n = self.left.min(Self::CHUNK);
            let mut bytes = vec![0u8; (n * 8) as usize];
            {
                let mut file = source.lock().unwrap_or_else(|p| p.into_inner());
                file.seek(SeekFrom::Start(self.offset))?;
                file.read_exact(&mut bytes)?;
            }
            self.offset += n * 8;
            self.left -= n;
            self.chunk = bytes
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            self.at = 0;
        }
        let hash = self.chunk[self.at];
        self.at += 1;
        Ok(Some(hash))
    }
}

/// Merges sorted runs, counting distinct hashes and sampling repeated ones.
pub(super) fn merge_count(
    mut readers: Vec<RunReader>,
    stop_at_repeat: bool,
) -> io::Result<DistinctCount> {
    let mut heap = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some(hash) = reader.next()? {
            heap.push(Reverse((hash, i)));
        }
    }
    let mut out = DistinctCount {
        distinct: Some(0),
        repeated_complete: true,
        ..Default::default()
    };
    let mut distinct = 0u64;
    let mut last: Option<u64> = None;
    let mut last_counted_repeat = false;
    while let Some(Reverse((hash, i))) = heap.pop() {
        if last == Some(hash) {
            if stop_at_repeat {
                out.distinct = None;
                return Ok(out);
            }
            if !last_counted_repeat {
                last_counted_repeat = true;
                if out.repeated.len() < REPEATED_SAMPLE {
                    out.repeated.push(hash);
                } else {
                    out.repeated_complete = false;
                }
            }
        } else {
            distinct += 1;
            last = Some(hash);
            last_counted_repeat = false;
        }
        if let Some(next) = readers[i].next()? {
            heap.push(Reverse((next, i)));
        }
    }
    out.distinct = Some(distinct);
    Ok(out)
}

/// Each value's 64-bit hash, the same for equal values in any batch.
pub(super) fn hash_values(column: &Column) -> PolarsResult<Vec<u64>> {
    let series = column.as_materialized_series();
    // Categories are hashed by their text, not by a batch-dependent code.
    let series = match series.dtype() {
        DataType::Categorical(..) | DataType::Enum(..) => series.cast(&DataType::String)?,
        _ => series.clone(),
    };
    let mut hashes = Vec::with_capacity(series.len());
    series.vec_hash(
        PlSeedableRandomStateQuality::seed_from_u64(0x6d6c_7363),
        &mut hashes,
    )?;
    Ok(hashes)
}

/// `expr` unchanged, with `watch` shown every batch of values the streaming
/// engine evaluates it on: how the counters and trackers of a pass see the
/// data without a query of their own. Use the result in an aggregate that
/// reads every row (`null_count`), once per query.
pub fn tap(
    expr: Expr,
    watch: impl Fn(&Column) -> PolarsResult<()> + Send + Sync + 'static,
) -> Expr {
    expr.map(
        move |column: Column| {
            watch(&column)?;
            Ok(column)
        },
        |_: &Schema, field: &Field| Ok(field.clone()),
    )
}

/// True where `expr`'s value hashes (as [`DistinctCounter`] hashes it) to
/// one of `hashes`: finds again the rows holding repeated values.
pub fn hash_is_in(expr: Expr, hashes: &[u64]) -> Expr {
    let wanted: Arc<PlHashSet<u64>> = Arc::new(hashes.iter().copied().collect());
    expr.map(
        move |column: Column| {
            let found: BooleanChunked = hash_values(&column)?
                .into_iter()
                .map(|hash| wanted.contains(&hash))
                .collect();
            Ok(found.with_name(column.name().clone()).into_column())
        },
        |_: &Schema, field: &Field| Ok(Field::new(field.name().clone(), DataType::Boolean)),
    )
}
