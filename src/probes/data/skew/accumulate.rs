//! Where the values of a column land while a file streams: numbers in
//! memory or spilled to temporary files, levels counted.

use polars::prelude::*;

use super::verdict::*;
use crate::probes::stats::CategoryCounts;

/// One side of one column once read: its numbers, or its level counts.
pub(super) enum Collected {
    Numbers {
        values: Stored,
        nulls: u64,
    },
    Categories {
        counts: CategoryCounts,
        /// Counting stopped past the limit of distinct values.
        overflow: bool,
    },
}

/// Numbers in memory, or in an anonymous temporary file (8 bytes each,
/// little-endian), deleted when closed.
pub(super) enum Stored {
    Memory(Vec<f64>),
    Spilled { file: std::fs::File, len: usize },
}

impl Stored {
    pub(super) fn load(self) -> std::io::Result<Vec<f64>> {
        use std::io::{Read, Seek};
        match self {
            Stored::Memory(values) => Ok(values),
            Stored::Spilled { mut file, len } => {
                file.rewind()?;
                let mut values = Vec::with_capacity(len);
                let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
                let mut bytes = vec![0u8; 1 << 16];
                let mut left = len * 8;
                while left > 0 {
                    let take = left.min(bytes.len());
                    reader.read_exact(&mut bytes[..take])?;
                    values.extend(
                        bytes[..take]
                            .chunks_exact(8)
                            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
                    );
                    left -= take;
                }
                Ok(values)
            }
        }
    }
}

/// The batches of one streaming pass, folded into one accumulator per column.
pub(super) struct Collector {
    pub(super) accumulators: Vec<Accumulator>,
    /// Rows seen.
    pub(super) rows: u64,
    /// Bytes of numbers kept in memory before they move to temporary files.
    pub(super) budget: u64,
    /// The first temporary-file error; the pass stops there.
    pub(super) failure: Option<std::io::Error>,
}

impl Collector {
    /// Folds one batch in; true stops the pass.
    pub(super) fn add(&mut self, batch: &DataFrame) -> bool {
        self.rows += batch.height() as u64;
        let folded = (|| -> std::io::Result<()> {
            for (accumulator, column) in self.accumulators.iter_mut().zip(batch.columns()) {
                accumulator.add(column)?;
            }
            let in_memory: u64 = self.accumulators.iter().map(Accumulator::memory).sum();
            if in_memory > self.budget {
                for accumulator in &mut self.accumulators {
                    accumulator.spill()?;
                }
            }
            Ok(())
        })();
        match folded {
            Ok(()) => false,
            Err(err) => {
                self.failure = Some(err);
                true
            }
        }
    }
}

/// One column's values so far.
pub(super) enum Accumulator {
    Numbers {
        sink: NumberSink,
        nulls: u64,
    },
    Categories {
        levels: PlHashMap<String, u64>,
        missing: u64,
        max_levels: usize,
        overflow: bool,
    },
}

pub(super) enum NumberSink {
    Memory(Vec<f64>),
    Spilling {
        writer: std::io::BufWriter<std::fs::File>,
        len: usize,
    },
}

impl Accumulator {
    pub(super) fn new(kind: ColumnKind, capacity: usize, max_levels: usize) -> Self {
        match kind {
            ColumnKind::Numeric => Accumulator::Numbers {
                sink: NumberSink::Memory(Vec::with_capacity(capacity)),
                nulls: 0,
            },
            ColumnKind::Categorical => Accumulator::Categories {
                levels: PlHashMap::default(),
                missing: 0,
                max_levels,
                overflow: false,
            },
        }
    }

    /// Bytes of numbers held in memory.
    pub(super) fn memory(&self) -> u64 {
        match self {
            Accumulator::Numbers {
                sink: NumberSink::Memory(values),
                ..
            } => values.capacity() as u64 * 8,
            _ => 0,
        }
    }

    /// Moves the numbers held in memory to a temporary file, where the
    /// rest will follow.
    pub(super) fn spill(&mut self) -> std::io::Result<()> {
        if let Accumulator::Numbers { sink, .. } = self {
            if let NumberSink::Memory(values) = sink {
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
                write_numbers(&mut writer, values)?;
                *sink = NumberSink::Spilling {
                    writer,
                    len: values.len(),
                };
            }
        }
        Ok(())
    }

    pub(super) fn add(&mut self, column: &Column) -> std::io::Result<()> {
        match self {
            Accumulator::Numbers { sink, nulls } => {
                let Ok(floats) = column.f64() else {
                    return Ok(());
                };
                let batch_nulls = floats.null_count();
                *nulls += batch_nulls as u64;
                for array in floats.downcast_iter() {
                    let values: std::borrow::Cow<[f64]> = if batch_nulls == 0 {
                        std::borrow::Cow::Borrowed(array.values().as_slice())
                    } else {
                        std::borrow::Cow::Owned(array.iter().flatten().copied().collect())
                    };
                    match sink {
                        NumberSink::Memory(all) => all.extend_from_slice(&values),
                        NumberSink::Spilling { writer, len } => {
                            write_numbers(writer, &values)?;
                            *len += values.len();
                        }
                    }
                }
            }
            Accumulator::Categories {
                levels,
                missing,
                max_levels,
                overflow,
            } => {
                let Ok(text) = column.str() else {
                    return Ok(());
                };
                *missing += text.null_count() as u64;
                if *overflow {
                    return Ok(());
                }
                for level in text.iter().flatten() {
                    match levels.get_mut(level) {
                        Some(count) => *count += 1,
                        None => {
                            if levels.len() == *max_levels {
                                // An identifier, not a category: stop
                                // counting and free what was counted.
                                *overflow = true;
                                *levels = PlHashMap::default();
                                return Ok(());
                            }
                            levels.insert(level.to_owned(), 1);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> std::io::Result<Collected> {
        Ok(match self {
            Accumulator::Numbers { sink, nulls } => Collected::Numbers {
                values: match sink {
                    NumberSink::Memory(values) => Stored::Memory(values),
                    NumberSink::Spilling { writer, len } => Stored::Spilled {
                        file: writer.into_inner().map_err(|err| err.into_error())?,
                        len,
                    },
                },
                nulls,
            },
            Accumulator::Categories {
                levels,
                missing,
                overflow,
                ..
            } => {
                let mut counts = CategoryCounts::from_pairs(levels);
                counts.add_missing(missing);
                Collected::Categories { counts, overflow }
            }
        })
    }
}

/// Writes numbers as 8 little-endian bytes each.
pub(super) fn write_numbers(
    writer: &mut impl std::io::Write,
    values: &[f64],
) -> std::io::Result<()> {
    for chunk in values.chunks(1 << 13) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_all(&bytes)?;
    }
    Ok(())
}
