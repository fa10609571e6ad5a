//! Opens CSV/TSV (optionally gzip), Parquet and NDJSON files as polars
//! `LazyFrame`s and runs queries on them with polars' streaming engine, so a
//! file larger than memory is checked in bounded memory.
//!
//! Two things polars does not bound, and what this module does instead:
//! - polars memory-maps the file it scans, so every page it has read stays
//!   resident until the scan ends and peak RSS grows with the file. A
//!   [`Source`] scans a file in pieces instead: text files in pieces of whole
//!   lines read with plain `read` calls, Parquet a few row groups at a time
//!   (each piece its own scan, so its pages are unmapped when it ends).
//!   [`Source::aggregate`] folds the pieces' aggregates, running one piece
//!   per core.
//! - An exact distinct count keeps every distinct value in a hash table (3.2
//!   GB for 50M distinct integers). [`DistinctCounter`] hashes values instead
//!   and merges sorted runs of hashes on disk.

mod distinct;
mod open;
mod pieces;

pub use distinct::*;
pub use open::*;
pub use pieces::*;

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;
    use std::path::Path;

    use polars::prelude::*;

    use super::super::progress::Progress;
    use super::*;

    /// Counts `values` through a streaming query, as the probes do.
    fn count(values: Vec<Option<i64>>, budget: usize, stop_at_repeat: bool) -> DistinctCount {
        let counter = DistinctCounter::new(budget, stop_at_repeat);
        let frame = DataFrame::new_infer_height(vec![Column::new("v".into(), values)])
            .unwrap()
            .lazy()
            .select([counter.observe(col("v")).null_count()]);
        frame.collect_with_engine(Engine::Streaming).unwrap();
        counter.finish().unwrap()
    }

    #[test]
    fn lines_end_at_newlines_outside_quotes() {
        let q = Some(b'"');
        let text = b"a,\"x\ny\",b\nc,\"say \"\"hi\"\"\n\",d\ne";
        assert_eq!(first_line_end(text, q), Some(9));
        assert_eq!(last_line_end(text, q), Some(27));
        assert_eq!(first_line_end(text, None), Some(4));
        assert_eq!(last_line_end(b"no newline", q), None);
        assert_eq!(last_line_end(b"a\nb\n", q), Some(3));
    }

    /// Rows, and the nulls, sum, and text extremes of columns `n` and `s`.
    fn n_and_s_aggregates() -> [Aggregate; 5] {
        [
            Aggregate::sum(len(), "rows"),
            Aggregate::sum(col("n").null_count(), "nulls"),
            Aggregate::sum(col("n").sum(), "total"),
            Aggregate::min(col("s").min(), "first"),
            Aggregate::max(col("s").max(), "last"),
        ]
    }

    /// `source`'s aggregates read in pieces of `piece_bytes`.
    fn aggregate_in_pieces(path: &Path, piece_bytes: usize) -> DataFrame {
        let mut source = Source::open(path).unwrap();
        source.piece_bytes = piece_bytes;
        let aggregates = n_and_s_aggregates();
        source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap()
    }

    #[test]
    fn pieces_cut_only_between_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("n,s\r\n");
        let mut ndjson = String::new();
        for i in 0..500 {
            // A quoted field holding a newline, a separator and a doubled quote.
            csv.push_str(&format!("{i},\"line {i}\nwith, \"\"quotes\"\"\"\r\n"));
            ndjson.push_str(&format!("{{\"n\": {i}, \"s\": \"v{i:03}\"}}\n"));
        }
        csv.push_str(",\"last\""); // a null, and no newline at the end
        std::fs::write(dir.path().join("d.csv"), &csv).unwrap();
        std::fs::write(dir.path().join("d.jsonl"), &ndjson).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(csv.as_bytes()).unwrap();
        std::fs::write(dir.path().join("d.csv.gz"), gz.finish().unwrap()).unwrap();

        for name in ["d.csv", "d.csv.gz", "d.jsonl"] {
            let path = dir.path().join(name);
            let whole = aggregate_in_pieces(&path, PIECE_BYTES);
            // 100-byte pieces: every few rows, often inside a quoted field.
            let pieces = aggregate_in_pieces(&path, 100);
            for column in ["rows", "nulls", "total", "first", "last"] {
                let (a, b) = (
                    whole.column(column).unwrap(),
                    pieces.column(column).unwrap(),
                );
                assert_eq!(
                    a.get(0).unwrap().to_string(),
                    b.get(0).unwrap().to_string(),
                    "{name} {column}"
                );
            }
            let rows = whole
                .column("rows")
                .unwrap()
                .get(0)
                .unwrap()
                .extract::<u64>();
            let expected = if name == "d.jsonl" { 500 } else { 501 };
            assert_eq!(rows, Some(expected), "{name}");
        }
    }

    #[test]
    fn csv_date_columns_are_typed_like_polars_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "day,stamp,utc,clock,mixed,ip,text\n\
             2021-02-25,2021-02-25 10:00:00,2021-02-25T10:00:00Z,12:30:00,2021-02-25,10.0.0.1,a\n\
             2021-03-01,2021-03-01 11:30:00,2021-03-01T11:30:00+01:00,13:00:00,nope,10.0.0.2,b\n\
             ,,,,,,\n",
        )
        .unwrap();
        let mut frame = scan(&path).unwrap();
        let schema = columns(&path, &mut frame).unwrap();
        let dtype = |c: &str| schema.get(c).unwrap().clone();
        assert_eq!(dtype("day"), DataType::Date);
        assert!(matches!(dtype("stamp"), DataType::Datetime(..)));
        assert_eq!(dtype("clock"), DataType::Time);
        for text in ["mixed", "ip", "text"] {
            assert_eq!(dtype(text), DataType::String, "{text}");
        }
        // Every column is typed as polars' own (slower) inference types it.
        let polars = LazyCsvReader::new(PlRefPath::try_from_path(&path).unwrap())
            .with_try_parse_dates(true)
            .finish()
            .unwrap()
            .collect_schema()
            .unwrap();
        assert_eq!(&schema, polars.as_ref());
        // The typed columns parse when the file is read.
        let out = collect(&path, frame.select([col("day").max(), col("stamp").min()])).unwrap();
        assert_eq!(
            out.column("day").unwrap().get(0).unwrap().to_string(),
            "2021-03-01"
        );
    }

    #[test]
    fn parquet_is_scanned_by_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        let n: Vec<Option<i64>> = (0..5000).map(|i| (i % 7 != 0).then_some(i)).collect();
        let s: Vec<String> = (0..5000).map(|i| format!("v{i:04}")).collect();
        let mut df = df!("n" => n, "s" => s).unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(1000))
            .finish(&mut df)
            .unwrap();

        let mut source = Source::open(&path).unwrap();
        let slices = row_slices(&path, 1).unwrap();
        assert_eq!(slices.len(), 5, "{slices:?}");
        assert_eq!(slices[4].offset, 4000);
        source.layout = Layout::RowGroups(slices);
        let aggregates = n_and_s_aggregates();
        let out = source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap();
        let get = |c: &str| out.column(c).unwrap().get(0).unwrap().to_string();
        assert_eq!(get("rows"), "5000");
        assert_eq!(get("nulls"), "715");
        let total: i64 = (0..5000).filter(|i| i % 7 != 0).sum();
        assert_eq!(get("total"), total.to_string());
        assert_eq!(
            (get("first"), get("last")),
            ("\"v0000\"".into(), "\"v4999\"".into())
        );

        let rows = source
            .first_rows(&|frame| frame.filter(col("n").gt(lit(2500))), 2)
            .unwrap();
        assert_eq!(rows.column("n").unwrap().i64().unwrap().get(0), Some(2501));
    }

    #[test]
    fn first_rows_stop_reading_once_found() {
        let dir = tempfile::tempdir().unwrap();
        let csv: String = std::iter::once("n\n".to_string())
            .chain((0..1000).map(|i| format!("{i}\n")))
            .collect();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, csv).unwrap();
        let mut source = Source::open(&path).unwrap();
        source.piece_bytes = 50;
        let rows = source
            .first_rows(&|frame| frame.filter(col("n").gt(lit(990))), 3)
            .unwrap();
        let values: Vec<i64> = rows
            .column("n")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(values, [991, 992, 993]);
    }

    #[test]
    fn a_ragged_row_is_named_by_its_line() {
        let dir = tempfile::tempdir().unwrap();
        // A quoted newline on line 3 makes file lines and rows differ.
        let mut csv = String::from("n,s\n1,a\n2,\"two\nlines\"\n");
        for i in 3..200 {
            csv.push_str(&format!("{i},x\n"));
        }
        csv.push_str("200,x,extra\n201,x\n");
        let path = dir.path().join("d.csv");
        std::fs::write(&path, csv).unwrap();
        let mut source = Source::open(&path).unwrap();
        source.piece_bytes = 64;
        let aggregates = [Aggregate::sum(len(), "rows")];
        let err = source
            .aggregate(&aggregates, &Progress::start("test", 0))
            .unwrap_err();
        // Header, two rows (one of two lines), then rows 3..=199 one a line.
        let text = err.to_string();
        assert!(
            text.contains("line 202 has 3 fields, the header has 2"),
            "{text}"
        );
    }

    #[test]
    fn counts_distinct_values_in_memory() {
        let got = count(
            vec![Some(1), Some(2), Some(2), None, Some(3), Some(3), Some(3)],
            1 << 20,
            false,
        );
        assert_eq!((got.values, got.distinct), (6, Some(3)));
        assert_eq!(got.repeated.len(), 2);
        assert!(got.repeated_complete);
        assert!(!got.all_distinct());
    }

    #[test]
    fn counts_across_spilled_runs() {
        // 64 KiB holds 8192 hashes: 100,000 values make a dozen runs.
        let mut values: Vec<Option<i64>> = (0..100_000).map(Some).collect();
        let unique = count(values.clone(), 64 << 10, false);
        assert_eq!((unique.values, unique.distinct), (100_000, Some(100_000)));
        assert!(unique.all_distinct() && unique.repeated.is_empty());

        // Repeats far apart land in different runs and are still found.
        values[99_999] = Some(5);
        values[50_000] = Some(7);
        let repeated = count(values, 64 << 10, false);
        assert_eq!(repeated.distinct, Some(99_998));
        assert_eq!(repeated.repeated.len(), 2);
    }

    #[test]
    fn stops_at_the_first_repeat_when_asked() {
        let mut values: Vec<Option<i64>> = (0..100_000).map(Some).collect();
        values[99_999] = Some(0);
        let got = count(values, 64 << 10, true);
        assert_eq!(got.distinct, None);
        assert!(!got.all_distinct());
    }

    #[test]
    fn hash_is_in_finds_the_repeated_rows() {
        let counter = DistinctCounter::new(1 << 20, false);
        let df = df!("s" => ["a", "b", "a"]).unwrap();
        let out = df
            .clone()
            .lazy()
            .select([counter.observe(col("s")).null_count()])
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        assert_eq!(out.height(), 1);
        let repeated = counter.finish().unwrap().repeated;
        let rows = df
            .lazy()
            .filter(hash_is_in(col("s"), &repeated))
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        assert_eq!(rows.height(), 2);
    }
}
