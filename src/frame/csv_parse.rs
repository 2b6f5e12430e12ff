//! Parsing one CSV block: a polars scan of our own ([`AnonymousScan`]) that polars' optimizer
//! pushes the needed columns and a row limit into, and that parses the block's rows with polars'
//! field parser, piece by piece in parallel.
//!
//! Why not polars' CSV reader: before it parses, it counts the rows of each chunk with a
//! quote-aware line counter that is byte-at-a-time unless polars is built with its nightly-only
//! `simd` feature (as the Python wheel is). Built with stable Rust, as drask is, that count takes
//! about half of a read. But when no quoted field spans lines, which is nearly always, a block's
//! rows are its lines: they are found with `memchr` (and the quotes counted per line with
//! `memchr2`), and the pieces go straight to polars' field parser, which handles the quoting
//! within a line. A block with a quoted field that spans lines is read by polars' own reader.

use std::any::Any;
use std::sync::Arc;

use polars::prelude::_csv_read_internal::{
    NullValuesCompiled, cast_columns, prepare_csv_schema, read_chunk, validate_utf8,
};
use polars::prelude::{self as pl, *};
use rayon::prelude::*;

use super::csv::CsvBlock;

/// Pieces of about 4 MiB: enough rows per call for the field parser to run at full speed, few
/// enough bytes that a piece's columns are built while its bytes are still in cache.
const PIECE_BYTES: u64 = 4 << 20;

/// Whether every line of `bytes` holds an even number of `quote`s. Then no quoted field spans
/// lines (a doubled quote inside a field counts twice), and every line is one row: the parity
/// rule of polars' own row counter.
fn quotes_close_on_every_line(bytes: &[u8], quote: u8) -> bool {
    // Most files quote nothing: one scan for the quote, not a stop at every line.
    if memchr::memchr(quote, bytes).is_none() {
        return true;
    }
    let mut open = false;
    for i in memchr::memchr2_iter(quote, b'\n', bytes) {
        if bytes[i] == quote {
            open = !open;
        } else if open {
            return false;
        }
    }
    !open
}

/// A [`CsvBlock`] as a polars scan source that takes pushed-down columns, filters and row limits.
#[derive(Debug)]
pub(crate) struct BlockScan {
    pub(crate) block: CsvBlock,
}

impl BlockScan {
    /// The block as a lazy query: polars' optimizer pushes the columns it needs, its filters
    /// and a row limit into [`AnonymousScan::scan`].
    pub(crate) fn lazy(block: CsvBlock) -> PolarsResult<LazyFrame> {
        let schema = Arc::new(block.format.schema.clone());
        LazyFrame::anonymous_scan(
            Arc::new(BlockScan { block }),
            ScanArgsAnonymous {
                schema: Some(schema),
                name: "CSV BLOCK SCAN",
                ..Default::default()
            },
        )
    }
}

impl AnonymousScan for BlockScan {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn allows_projection_pushdown(&self) -> bool {
        true
    }

    fn allows_predicate_pushdown(&self) -> bool {
        true
    }

    fn scan(&self, args: AnonymousScanArgs) -> PolarsResult<pl::DataFrame> {
        let block = &self.block;
        let columns: Vec<PlSmallStr> = match &args.with_columns {
            Some(names) => names.to_vec(),
            None => block.format.schema.iter_names().cloned().collect(),
        };
        // A filter needs every row; a row limit without one, only the first pieces.
        let limit = if args.predicate.is_some() { None } else { args.n_rows };
        let df = match Parser::new(block, &columns)?.parse(limit)? {
            Some(df) => df.lazy(),
            // Rows may span lines: polars' reader knows how to find them.
            None => block.polars_scan()?,
        };
        finish(df, &columns, args.predicate, args.n_rows)
    }
}

/// The rows of `query` that pass `predicate`, its `columns`, at most `n_rows` of them: what
/// polars expects of a scan it pushed them into.
fn finish(
    query: LazyFrame,
    columns: &[PlSmallStr],
    predicate: Option<Expr>,
    n_rows: Option<usize>,
) -> PolarsResult<pl::DataFrame> {
    let mut query = query;
    if let Some(predicate) = predicate {
        query = query.filter(predicate);
    }
    // A row count needs no columns, and selecting none would lose the rows.
    if !columns.is_empty() {
        query = query.select(columns.iter().map(|c| col(c.clone())).collect::<Vec<_>>());
    }
    if let Some(n) = n_rows {
        query = query.limit(n as IdxSize);
    }
    query.collect()
}

/// Parses a block's pieces with polars' field parser, for the columns a query needs.
struct Parser<'a> {
    block: &'a CsvBlock,
    /// Indices of the columns to parse, ascending (at least one).
    parsed: Vec<usize>,
    /// Their names and types, in that order.
    parsed_schema: Schema,
    /// Whether the query needs no column at all (a row count).
    count_only: bool,
    /// The schema polars' parser reads (a few types are parsed as strings), and the casts back.
    parse_schema: SchemaRef,
    to_cast: Vec<Field>,
    options: CsvParseOptions,
    null_values: Option<NullValuesCompiled>,
    check_utf8: bool,
}

impl<'a> Parser<'a> {
    fn new(block: &'a CsvBlock, columns: &[PlSmallStr]) -> PolarsResult<Parser<'a>> {
        let format = &block.format;
        let full = &format.schema;
        let mut parsed = columns
            .iter()
            .map(|name| full.try_index_of(name))
            .collect::<PolarsResult<Vec<usize>>>()?;
        parsed.sort_unstable();
        parsed.dedup();
        // Polars' parser needs a column to parse; a query that needs none (a row count) gets the
        // first, which also checks that every row parses, and drops it.
        let count_only = parsed.is_empty();
        if count_only {
            parsed.push(0);
        }
        let parsed_schema = parsed
            .iter()
            .filter_map(|&i| full.get_at_index(i))
            .map(|(name, dtype)| Field::new(name.clone(), dtype.clone()))
            .collect();
        let mut parse_schema = Arc::new(full.clone());
        let mut to_cast = Vec::new();
        prepare_csv_schema(&mut parse_schema, &mut to_cast)?;
        let null_values = super::csv::null_values(&format.null_values)
            .map(|v| v.compile(&parse_schema))
            .transpose()?;
        Ok(Parser {
            block,
            parsed,
            parsed_schema,
            count_only,
            parse_schema,
            to_cast,
            options: CsvParseOptions {
                separator: format.separator,
                quote_char: format.quote,
                eol_char: b'\n',
                ..Default::default()
            },
            null_values,
            // As polars' reader: any string column means every byte must be valid UTF-8.
            check_utf8: full.iter_values().any(|dtype| dtype.is_string()),
        })
    }

    /// The block's rows, or `None` if a quoted field spans lines; with a row limit, only the
    /// pieces that hold the first `n_rows` rows.
    fn parse(&self, n_rows: Option<usize>) -> PolarsResult<Option<pl::DataFrame>> {
        if self.block.format.schema.is_empty() {
            return Ok(Some(pl::DataFrame::empty()));
        }
        let pieces = self.block.pieces(PIECE_BYTES);
        let parts: Vec<Option<pl::DataFrame>> = match n_rows {
            Some(limit) => {
                let mut parts = Vec::new();
                let mut rows = 0;
                for piece in &pieces {
                    if rows >= limit {
                        break;
                    }
                    let part = self.parse_piece(piece)?;
                    rows += part.as_ref().map_or(0, pl::DataFrame::height);
                    parts.push(part);
                }
                parts
            }
            None => pieces
                .par_iter()
                .map(|p| self.parse_piece(p))
                .collect::<PolarsResult<_>>()?,
        };
        let Some(parts) = parts.into_iter().collect::<Option<Vec<pl::DataFrame>>>() else {
            return Ok(None);
        };
        Ok(Some(if self.count_only {
            pl::DataFrame::new(parts.iter().map(pl::DataFrame::height).sum(), vec![])?
        } else {
            super::shuffle::concat_frames(parts, &self.parsed_schema)?
        }))
    }

    /// One piece's rows, or `None` if a quoted field in it spans lines. The piece is read on its
    /// own, so the bytes in memory at once are a few pieces', not the block's.
    fn parse_piece(&self, piece: &CsvBlock) -> PolarsResult<Option<pl::DataFrame>> {
        let (_, buf, lines) = piece.read_span().map_err(|e| piece.read_error(e))?;
        let bytes = &buf[lines];
        if self
            .options
            .quote_char
            .is_some_and(|q| !quotes_close_on_every_line(bytes, q))
        {
            return Ok(None);
        }
        let body = if piece.has_header() {
            memchr::memchr(b'\n', bytes).map_or(&bytes[bytes.len()..], |i| &bytes[i + 1..])
        } else {
            bytes
        };
        if body.is_empty() {
            return Ok(Some(pl::DataFrame::empty_with_schema(&self.parsed_schema)));
        }
        if self.check_utf8 && !validate_utf8(body) {
            polars_bail!(ComputeError: "invalid utf-8 sequence");
        }
        let lines = memchr::memchr_iter(b'\n', body).count() + usize::from(body.last() != Some(&b'\n'));
        let mut df = read_chunk(
            body,
            &self.options,
            &self.parse_schema,
            false,
            &self.parsed,
            0,
            lines,
            self.null_values.as_ref(),
            usize::MAX,
            body.len(),
            Some(0),
        )?;
        // Every line is a row: a count that differs means polars' parser skipped or split one.
        polars_ensure!(
            df.height() == lines,
            ComputeError: "CSV malformed: expected {lines} rows, parsed {}", df.height()
        );
        cast_columns(&mut df, &self.to_cast, false, false)?;
        Ok(Some(df))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::frame::csv::BadRows;
    use crate::frame::csv::CsvFormat;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("drask-csv-parse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Polars' own reader over the whole file: the independent result.
    fn polars_reader(path: &Path, quote: Option<u8>, schema: Option<&Schema>) -> PolarsResult<LazyFrame> {
        let mut reader = LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().as_ref()))
            .with_quote_char(quote)
            .with_null_values(Some(NullValues::AllColumns(vec!["NA".into()])));
        if let Some(schema) = schema {
            reader = reader.with_schema(Some(Arc::new(schema.clone())));
        }
        reader.finish()
    }

    fn block(path: &Path, quote: Option<u8>, schema: Schema) -> CsvBlock {
        CsvBlock {
            path: path.to_path_buf(),
            start: 0,
            end: std::fs::metadata(path).unwrap().len(),
            format: Arc::new(CsvFormat {
                separator: b',',
                quote,
                has_header: true,
                null_values: vec!["NA".into()],
                schema,
            }),
            bad_rows: BadRows::Fail,
        }
    }

    /// A query over a scan, by name.
    type Query = (&'static str, fn(LazyFrame) -> LazyFrame);

    /// Every query shape polars pushes into a scan, on the block and on polars' reader.
    fn queries() -> Vec<Query> {
        vec![
            ("all", |q| q),
            ("project", |q| q.select([col("s"), col("f")])),
            ("reorder", |q| q.select([col("f"), col("i")])),
            ("filter", |q| q.filter(col("i").gt(lit(1))).select([col("s")])),
            ("head", |q| q.limit(2)),
            ("filter+head", |q| q.filter(col("i").gt(lit(0))).limit(1)),
            ("len", |q| q.select([len()])),
        ]
    }

    /// The block's results equal polars' for every query; `schema_from` infers the schema when
    /// `data` cannot (a file with a header only).
    fn assert_same(name: &str, data: &[u8], quote: Option<u8>, schema_from: Option<&[u8]>) {
        let path = temp_file(name, data);
        let inferred_from = temp_file(&format!("schema-{name}"), schema_from.unwrap_or(data));
        let schema = polars_reader(&inferred_from, quote, None)
            .unwrap()
            .collect_schema()
            .unwrap();
        let scan = BlockScan::lazy(block(&path, quote, schema.as_ref().clone())).unwrap();
        for (label, query) in queries() {
            let ours = query(scan.clone()).collect();
            let theirs = query(polars_reader(&path, quote, Some(&schema)).unwrap()).collect();
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert!(ours.equals_missing(&theirs), "{name} {label}:\n{ours}\n{theirs}"),
                (Err(_), Err(_)) => {}
                (ours, theirs) => panic!("{name} {label}: ours {ours:?}, polars {theirs:?}"),
            }
        }
    }

    #[test]
    fn equals_polars_reader_on_edge_cases() {
        let cases: &[(&str, &[u8])] = &[
            ("plain.csv", b"i,s,f\n1,a,0.5\n2,b,1.5\n3,c,-2\n"),
            ("no-final-newline.csv", b"i,s,f\n1,a,0.5\n2,b,1.5"),
            ("crlf.csv", b"i,s,f\r\n1,a,0.5\r\n2,b,1.5\r\n"),
            ("nulls.csv", b"i,s,f\n1,,0.5\nNA,b,NA\n3,c,\n"),
            ("short-rows.csv", b"i,s,f\n1,a\n2,b,1.5\n3\n"),
            ("long-row.csv", b"i,s,f\n1,a,0.5,9\n2,b,1.5\n"),
            ("spaces.csv", b"i,s,f\n1, a b ,0.5\n2,b c,1e3\n"),
            ("unicode.csv", "i,s,f\n1,\u{e9}t\u{e9},0.5\n2,\u{1f600},1\n".as_bytes()),
            ("empty-line.csv", b"i,s,f\n1,a,0.5\n\n2,b,1.5\n"),
        ];
        for (name, data) in cases {
            assert_same(name, data, Some(b'"'), None);
            assert_same(name, data, None, None);
        }
        assert_same("header-only.csv", b"i,s,f\n", Some(b'"'), Some(cases[0].1));
        // Quoted fields within a line take the fast path; a quoted line break sends the block
        // to polars' reader. Without quoting, the quote is a plain character.
        let quoted: &[&[u8]] = &[
            b"i,s,f\n1,\"a,b\",0.5\n2,\"say \"\"hi\"\"\",1.5\n3,\"\",2\n",
            b"i,s,f\n1,\"a,b\",0.5\n2,\"line\nbreak\",1.5\n",
            b"i,s,f\n1,\"a,b\",0.5\n2,\"unclosed,1.5\n",
            b"\"i\",\"s\",\"f\"\n\"1\",\"a\",\"0.5\"\n",
        ];
        // (An unclosed quote, quoted[2], is malformed: polars' reader itself counts its rows
        // differently over a file and over a buffer.)
        for n in [0, 1, 3] {
            assert_same(&format!("quoted-{n}.csv"), quoted[n], Some(b'"'), None);
        }
        assert!(quotes_close_on_every_line(quoted[0], b'"'));
        assert!(!quotes_close_on_every_line(quoted[1], b'"'));
        assert!(!quotes_close_on_every_line(quoted[2], b'"'));
    }

    #[test]
    fn temporal_and_bool_columns_equal_polars() {
        let data =
            b"i,s,f,d,t,b\n1,a,0.5,2024-01-31,2024-01-31 10:00:00,true\n2,b,1.5,2000-02-29,1999-12-31 23:59:59,false\n";
        let path = temp_file("temporal.csv", data);
        let mut schema = Schema::default();
        for (name, dtype) in [
            ("i", DataType::Int64),
            ("s", DataType::String),
            ("f", DataType::Float64),
            ("d", DataType::Date),
            ("t", DataType::Datetime(TimeUnit::Microseconds, None)),
            ("b", DataType::Boolean),
        ] {
            schema.with_column(name.into(), dtype);
        }
        let ours = BlockScan::lazy(block(&path, Some(b'"'), schema.clone()))
            .unwrap()
            .collect()
            .unwrap();
        let theirs = polars_reader(&path, Some(b'"'), Some(&schema))
            .unwrap()
            .collect()
            .unwrap();
        assert!(ours.equals_missing(&theirs), "{ours}\n{theirs}");
        assert_eq!(ours.height(), 2);
    }

    #[test]
    fn bad_values_and_bad_utf8_fail() {
        for (name, data) in [
            ("bad-int.csv", &b"i,s,f\n1,a,0.5\nx,b,1\n"[..]),
            ("bad-utf8.csv", b"i,s,f\n1,\xff\xfe,0.5\n"),
        ] {
            let path = temp_file(name, data);
            let mut schema = Schema::default();
            schema.with_column("i".into(), DataType::Int64);
            schema.with_column("s".into(), DataType::String);
            schema.with_column("f".into(), DataType::Float64);
            let ours = BlockScan::lazy(block(&path, Some(b'"'), schema.clone()))
                .unwrap()
                .collect();
            let theirs = polars_reader(&path, Some(b'"'), Some(&schema)).unwrap().collect();
            assert!(ours.is_err() && theirs.is_err(), "{name}: {ours:?} / {theirs:?}");
        }
    }

    #[test]
    fn many_pieces_keep_every_row_in_order() {
        // Over 4 MiB: several pieces parsed in parallel.
        let mut data = String::from("i,s,f\n");
        for i in 0..1_000_000 {
            data.push_str(&format!("{i},name{},{}.25\n", i % 7, i % 1000));
        }
        let path = temp_file("many.csv", data.as_bytes());
        assert!(data.len() as u64 > 2 * PIECE_BYTES);
        let schema = polars_reader(&path, Some(b'"'), None)
            .unwrap()
            .collect_schema()
            .unwrap();
        let scan = BlockScan::lazy(block(&path, Some(b'"'), schema.as_ref().clone())).unwrap();
        let ours = scan.clone().collect().unwrap();
        let theirs = polars_reader(&path, Some(b'"'), Some(&schema))
            .unwrap()
            .collect()
            .unwrap();
        assert!(ours.equals_missing(&theirs));
        let i: Vec<i64> = ours.column("i").unwrap().i64().unwrap().into_no_null_iter().collect();
        assert_eq!(i, (0..1_000_000).collect::<Vec<_>>());
        let head = scan.limit(3).collect().unwrap();
        assert_eq!(head.height(), 3);
    }
}
