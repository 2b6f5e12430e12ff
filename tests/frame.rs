//! DataFrame against polars on the whole (unpartitioned) frame, for random partitionings with
//! empty partitions, nulls, string and date columns; and the error cases.

use std::path::PathBuf;

use drask::frame::polars::prelude::{self as pl, *};
use drask::frame::{BadRows, DataFrame, How, Join, Keep, ReadCsv, ReadParquet};
use drask::prelude::*;
use drask::sched::Synchronous;

/// A small deterministic generator (splitmix64), so failures reproduce from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// Columns: `k` (string key with nulls), `g` (small i32 key), `x` (f64 with nulls), `y` (i64),
/// `d` (date).
fn random_frame(seed: u64, rows: usize) -> pl::DataFrame {
    let mut r = Rng(seed);
    let names = ["ant", "bee", "cat", "dog", "eel"];
    let k: Vec<Option<&str>> = (0..rows)
        .map(|_| {
            if r.below(10) == 0 {
                None
            } else {
                Some(names[r.below(5) as usize])
            }
        })
        .collect();
    let g: Vec<i32> = (0..rows).map(|_| r.below(4) as i32).collect();
    let x: Vec<Option<f64>> = (0..rows)
        .map(|_| {
            if r.below(8) == 0 {
                None
            } else {
                Some((r.unit() - 0.3) * 100.0)
            }
        })
        .collect();
    let y: Vec<i64> = (0..rows).map(|_| r.below(1000) as i64 - 500).collect();
    let d: Vec<i32> = (0..rows).map(|_| 19_000 + r.below(30) as i32).collect();
    let d = Series::new("d".into(), d).cast(&DataType::Date).unwrap();
    pl::DataFrame::new(
        rows,
        vec![
            Series::new("k".into(), k).into_column(),
            Series::new("g".into(), g).into_column(),
            Series::new("x".into(), x).into_column(),
            Series::new("y".into(), y).into_column(),
            d.into_column(),
        ],
    )
    .unwrap()
}

/// `df` cut at random points into `n` partitions, some of them empty.
fn partitioned(df: &pl::DataFrame, n: usize, seed: u64) -> DataFrame {
    let mut r = Rng(seed ^ 0xabcdef);
    let mut cuts: Vec<usize> = (0..n.saturating_sub(1))
        .map(|_| r.below(df.height() as u64 + 1) as usize)
        .collect();
    cuts.sort_unstable();
    let mut parts = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([df.height()]) {
        parts.push(df.slice(start as i64, cut - start));
        start = cut;
    }
    DataFrame::from_partitions(parts).unwrap()
}

/// Frames equal up to row order (sorted by every column) and float rounding.
fn assert_same_rows(got: &pl::DataFrame, want: &pl::DataFrame, what: &str) {
    assert_eq!(got.schema(), want.schema(), "{what}: schemas");
    assert_eq!(got.height(), want.height(), "{what}: heights\n{got}\n{want}");
    let by: Vec<PlSmallStr> = want.get_column_names_owned();
    let sort = |df: &pl::DataFrame| {
        df.sort(
            by.clone(),
            SortMultipleOptions::default()
                .with_nulls_last(true)
                .with_maintain_order(true),
        )
        .unwrap()
    };
    let (got, want) = (sort(got), sort(want));
    for (a, b) in got.columns().iter().zip(want.columns()) {
        if a.dtype().is_float() {
            let a = a.cast(&DataType::Float64).unwrap();
            let b = b.cast(&DataType::Float64).unwrap();
            for (i, (x, y)) in a.f64().unwrap().iter().zip(b.f64().unwrap().iter()).enumerate() {
                match (x, y) {
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan()),
                        "{what}: column {} row {i}: {x} vs {y}",
                        a.name()
                    ),
                    (x, y) => assert_eq!(x, y, "{what}: column {} row {i}", a.name()),
                }
            }
        } else {
            assert!(a.equals_missing(b), "{what}: column {}\n{got}\n{want}", a.name());
        }
    }
}

fn seeds() -> impl Iterator<Item = (u64, usize, usize)> {
    // (seed, rows, partitions): empty frames, more partitions than rows, many rows.
    [
        (1, 0, 3),
        (2, 1, 4),
        (3, 7, 9),
        (4, 50, 1),
        (5, 200, 3),
        (6, 500, 7),
        (7, 333, 2),
    ]
    .into_iter()
}

#[test]
fn column_methods_equal_polars() {
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        let ours = df
            .filter(col("x").gt(lit(0.0)).or(col("k").is_null()))
            .unwrap()
            .with_columns([
                (col("x") * col("y").cast(DataType::Float64)).alias("z"),
                col("k").str().to_uppercase(),
            ])
            .unwrap()
            .rename(&["g"], &["group"])
            .unwrap()
            .drop(&["d"])
            .unwrap()
            .cast(&[("y", DataType::Float32)])
            .unwrap()
            .fill_null(lit(-1.0))
            .unwrap()
            .drop_nulls(Some(&["k"]))
            .unwrap()
            .select([col("*")])
            .unwrap();
        let theirs = whole
            .clone()
            .lazy()
            .filter(col("x").gt(lit(0.0)).or(col("k").is_null()))
            .with_columns([
                (col("x") * col("y").cast(DataType::Float64)).alias("z"),
                col("k").str().to_uppercase(),
            ])
            .rename(["g"], ["group"], true)
            .drop(pl::Selector::ByName {
                names: ["d".into()].into(),
                strict: true,
            })
            .with_columns([col("y").strict_cast(DataType::Float32)])
            .fill_null(lit(-1.0))
            .drop_nulls(Some(pl::Selector::ByName {
                names: ["k".into()].into(),
                strict: true,
            }))
            .collect()
            .unwrap();
        let got = ours.compute().unwrap();
        assert_eq!(got, theirs, "seed {seed}: row order is kept by column methods");
        assert_eq!(ours.schema().as_ref(), theirs.schema().as_ref());
        // Synchronous and threaded executors agree.
        let sync = ours.compute_with(&ComputeOptions::new().executor(Synchronous)).unwrap();
        assert_eq!(sync, theirs);
    }
}

fn group_aggs() -> Vec<Expr> {
    vec![
        col("x").sum().alias("x_sum"),
        col("y").sum().alias("y_sum"),
        col("x").mean().alias("x_mean"),
        col("y").mean().alias("y_mean"),
        col("x").min().alias("x_min"),
        col("k").max().alias("k_max"),
        col("d").min().alias("d_min"),
        col("x").count().alias("x_count"),
        len().alias("n"),
        col("x").std(1).alias("x_std"),
        col("y").var(0).alias("y_var"),
        col("x").n_unique().alias("x_distinct"),
        col("k").n_unique().alias("k_distinct"),
        (col("x").sum() / col("y").sum().cast(DataType::Float64)).alias("ratio"),
        col("x").first().alias("x_first"),
        col("y").last().alias("y_last"),
    ]
}

#[test]
fn groupby_equals_polars() {
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        let theirs = whole
            .clone()
            .lazy()
            .group_by([col("k"), col("g")])
            .agg(group_aggs())
            .collect()
            .unwrap();
        for (split_every, split_out) in [(8, 1), (2, 1), (2, 3)] {
            let ours = df
                .group_by([col("k"), col("g")])
                .split_every(split_every)
                .split_out(split_out)
                .agg(group_aggs())
                .unwrap();
            assert_eq!(ours.npartitions(), split_out);
            let got = ours.compute().unwrap();
            // first/last depend on row order within groups, which partitioning keeps.
            assert_same_rows(
                &got,
                &theirs,
                &format!("seed {seed}, split_every {split_every}, split_out {split_out}"),
            );
        }
    }
}

/// Keys that are expressions or literals, and aggregations that read no column: the partial
/// group-by of each partition must still see every row (it runs on polars' streaming engine over
/// just the columns it reads, when it reads any).
#[test]
fn groupby_by_expressions_and_literal_keys_equals_polars() {
    let whole = random_frame(11, 700);
    let df = partitioned(&whole, 5, 11);
    let cases: Vec<(Vec<Expr>, Vec<Expr>)> = vec![
        (
            vec![(col("g") % lit(3)).alias("g3")],
            vec![col("x").sum().alias("s"), len().alias("n")],
        ),
        (vec![lit(1).alias("one")], vec![len().alias("n")]),
        (vec![col("k")], vec![len().alias("n")]),
        (
            vec![col("d").dt().day().alias("day")],
            vec![(col("y") * lit(2)).sum().alias("y2")],
        ),
    ];
    for (keys, aggs) in cases {
        let theirs = whole
            .clone()
            .lazy()
            .group_by(keys.clone())
            .agg(aggs.clone())
            .collect()
            .unwrap();
        let ours = df.group_by(keys.clone()).agg(aggs.clone()).unwrap().compute().unwrap();
        assert_same_rows(&ours, &theirs, &format!("{keys:?} {aggs:?}"));
    }
}

#[test]
fn whole_frame_aggregations_equal_polars() {
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        let mut aggs = group_aggs();
        aggs.retain(|e| !format!("{e:?}").contains("first") && !format!("{e:?}").contains("last"));
        let theirs = whole.clone().lazy().select(aggs.clone()).collect().unwrap();
        let got = df.agg(aggs).unwrap().compute().unwrap();
        assert_same_rows(&got, &theirs, &format!("seed {seed}"));
        assert_eq!(df.len().compute().unwrap(), rows);
        for (ours, theirs) in [
            (
                df.sum().unwrap(),
                whole
                    .clone()
                    .lazy()
                    .select([col("g").sum(), col("x").sum(), col("y").sum()]),
            ),
            (df.max().unwrap(), whole.clone().lazy().select([col("*").max()])),
            (
                df.n_unique().unwrap(),
                whole.clone().lazy().select([col("*").n_unique()]),
            ),
            (
                df.std(1).unwrap(),
                whole
                    .clone()
                    .lazy()
                    .select([col("g").std(1), col("x").std(1), col("y").std(1)]),
            ),
        ] {
            assert_same_rows(
                &ours.compute().unwrap(),
                &theirs.collect().unwrap(),
                &format!("seed {seed} per column"),
            );
        }
    }
}

#[test]
fn head_touches_only_the_partitions_it_needs() {
    let whole = random_frame(11, 100);
    let df = partitioned(&whole, 5, 11);
    for n in [0, 1, 17, 100, 150] {
        assert_eq!(df.head(n).unwrap(), whole.head(Some(n)), "head({n})");
    }
    // A failing later partition is not computed when the first has enough rows.
    let bad = df
        .with_columns([col("x")])
        .unwrap()
        .map_partitions(
            |p| {
                if p.height() > 0 && p.column("y")?.i64()?.get(0) == Some(i64::MIN) {
                    Err(PolarsError::NoData("never".into()))
                } else {
                    Ok(p)
                }
            },
            None,
        )
        .unwrap();
    assert!(bad.head(1).is_ok());
}

#[test]
fn joins_equal_polars_for_every_strategy() {
    let left_whole = random_frame(21, 300);
    let right_whole = random_frame(22, 40)
        .lazy()
        .group_by([col("k"), col("g")])
        .agg([col("y").sum().alias("right_y"), col("x").max()])
        .collect()
        .unwrap();
    for how in [How::Inner, How::Left, How::Full, How::Semi, How::Anti] {
        let join_type = match how {
            How::Inner => JoinType::Inner,
            How::Left => JoinType::Left,
            How::Full => JoinType::Full,
            How::Semi => JoinType::Semi,
            How::Anti => JoinType::Anti,
        };
        let theirs = left_whole
            .clone()
            .lazy()
            .join(
                right_whole.clone().lazy(),
                [col("k"), col("g")],
                [col("k"), col("g")],
                JoinArgs::new(join_type),
            )
            .collect()
            .unwrap();
        for (nl, nr, options) in [
            (4, 1, Join::new(how)),                             // broadcast right
            (1, 3, Join::new(how)),                             // broadcast left (inner) or shuffle
            (3, 2, Join::new(how)),                             // shuffle
            (2, 5, Join::new(how).npartitions(4)),              // shuffle into 4
            (3, 3, Join::new(how).broadcast(how != How::Full)), // forced
        ] {
            let left = partitioned(&left_whole, nl, 5);
            let right = partitioned(&right_whole, nr, 6);
            let ours = left
                .join_with(&right, &["k", "g"], &["k", "g"], options.clone())
                .unwrap();
            let got = ours.compute().unwrap();
            assert_same_rows(&got, &theirs, &format!("{how:?} {nl}x{nr} {options:?}"));
        }
    }
}

#[test]
fn join_errors_name_the_schemas() {
    let left = partitioned(&random_frame(1, 10), 2, 1);
    let right = partitioned(&random_frame(2, 10), 2, 2);
    let err = left
        .join(&right, &["nope"], &["k"], How::Inner)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope") && err.contains("left schema"), "{err}");
    let err = left.join(&right, &["g"], &["y"], How::Inner).unwrap_err().to_string();
    assert!(err.contains("i32") && err.contains("i64"), "{err}");
    assert!(
        left.join_with(&right, &["k"], &["k"], Join::new(How::Full).broadcast(true))
            .is_err()
    );
}

#[test]
fn sort_equals_polars_and_knows_its_divisions() {
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        for (by, desc) in [
            (vec!["y"], vec![false]),
            (vec!["k", "y"], vec![false, true]),
            (vec!["x"], vec![true]),
            (vec!["d", "g", "y"], vec![true, false, false]),
        ] {
            let theirs = whole
                .sort(
                    by.clone(),
                    SortMultipleOptions::default()
                        .with_order_descending_multi(desc.clone())
                        .with_maintain_order(true),
                )
                .unwrap();
            let sorted = df.sort(&by, &desc).unwrap();
            let got = sorted.compute().unwrap();
            assert_eq!(got, theirs, "seed {seed} sort {by:?} {desc:?}");
            if n > 1 && rows > 0 {
                let divisions = sorted.divisions().expect("a shuffled sort knows its divisions");
                assert_eq!(divisions.column, by[0]);
                assert_eq!(divisions.bounds.len() + 1, sorted.npartitions());
            }
        }
    }
}

#[test]
fn drop_duplicates_and_repartition_equal_polars() {
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        for keep in [Keep::First, Keep::Last, Keep::None] {
            let strategy = match keep {
                Keep::First => UniqueKeepStrategy::First,
                Keep::Last => UniqueKeepStrategy::Last,
                Keep::None => UniqueKeepStrategy::None,
            };
            let theirs = whole
                .clone()
                .lazy()
                .unique_stable(
                    Some(pl::Selector::ByName {
                        names: ["k".into(), "g".into()].into(),
                        strict: true,
                    }),
                    strategy,
                )
                .collect()
                .unwrap();
            let got = df.drop_duplicates(Some(&["k", "g"]), keep).unwrap().compute().unwrap();
            assert_same_rows(&got, &theirs, &format!("seed {seed} keep {keep:?}"));
        }
        let all = df.drop_duplicates(None, Keep::First).unwrap().compute().unwrap();
        assert_same_rows(
            &all,
            &whole.unique_stable(None, UniqueKeepStrategy::First, None).unwrap(),
            "all columns",
        );
        for to in [1, 2, 5, 13] {
            let re = df.repartition(to);
            assert_eq!(re.npartitions(), to);
            assert_eq!(re.compute().unwrap(), whole, "seed {seed} repartition({to})");
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drask-frame-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn csv_blocks_read_what_polars_reads() {
    let dir = temp_dir("csv-blocks");
    let whole = random_frame(31, 400);
    let files = DataFrame::from_polars(whole.clone(), 3)
        .unwrap()
        .to_csv(&dir)
        .unwrap()
        .compute()
        .unwrap();
    assert_eq!(files.len(), 3);
    let schema = whole.schema().as_ref().clone();
    for blocksize in [Some(1), Some(50), Some(977), None] {
        let df = ReadCsv::new(dir.join("*.csv"))
            .blocksize(blocksize)
            .schema(schema.clone())
            .build()
            .unwrap();
        if blocksize == Some(1) {
            assert!(
                df.npartitions() > 400,
                "tiny blocks: one partition per byte, most of them empty"
            );
        }
        assert_eq!(df.compute().unwrap(), whole, "blocksize {blocksize:?}");
    }
    // Inferred schema: polars infers the same types from the text.
    let inferred = DataFrame::read_csv(dir.join("*.csv")).unwrap();
    let polars_read = LazyCsvReader::new(PlRefPath::new(files[0].to_string_lossy().as_ref()))
        .finish()
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(inferred.schema().as_ref(), polars_read.schema().as_ref());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pushdown_reaches_the_csv_scan() {
    let dir = temp_dir("pushdown");
    std::fs::write(dir.join("a.csv"), "name,x,y,w,v\na,1,0.9,x,1\nb,2,0.1,y,2\n").unwrap();
    let df = DataFrame::read_csv(dir.join("a.csv"))
        .unwrap()
        .filter(col("y").gt(lit(0.5)))
        .unwrap()
        .select([col("name"), col("x")])
        .unwrap();
    let text = df.explain();
    assert!(text.contains("pushed into the scan"), "{text}");
    assert!(text.contains("PROJECT 3/5 COLUMNS") || text.contains("3/5"), "{text}");
    assert!(text.contains("SELECTION"), "{text}");
    // One task per partition: the filter and select are fused into the read.
    assert_eq!(df.graph(true).unwrap().len(), 1);
    let out = df.compute().unwrap();
    assert_eq!(
        out.column("name").unwrap().str().unwrap().iter().collect::<Vec<_>>(),
        [Some("a")]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_csv_rows_name_the_file_and_line_or_are_counted() {
    let dir = temp_dir("bad-rows");
    let path = dir.join("bad.csv");
    let mut text = String::from("a,b\n");
    for i in 0..100 {
        if i == 61 || i == 62 || i == 90 {
            text.push_str(&format!("x{i},{i}\n"));
        } else {
            text.push_str(&format!("{i},{i}\n"));
        }
    }
    std::fs::write(&path, &text).unwrap();
    let read = || {
        ReadCsv::new(&path)
            .dtypes(&[("a", DataType::Int64)])
            .blocksize(Some(150))
    };
    let err = read().build().unwrap().compute().unwrap_err();
    let msg = err.to_string();
    // Row i is on line i + 2 (the header is line 1); blocks fail in parallel, so any bad row
    // may be the one reported, but its line number must match its text.
    let named = [(63, "x61"), (64, "x62"), (92, "x90")]
        .iter()
        .any(|(line, text)| msg.contains(&format!("line {line}:")) && msg.contains(text));
    assert!(msg.contains("bad.csv") && named, "{msg}");
    // One block alone: the first bad row of the file.
    let first = ReadCsv::new(&path)
        .dtypes(&[("a", DataType::Int64)])
        .blocksize(None)
        .build()
        .unwrap();
    let msg = first.compute().unwrap_err().to_string();
    assert!(msg.contains("line 63:") && msg.contains("\"x61,61\""), "{msg}");
    assert!(err.key().is_some(), "the error names the task");

    let (df, skipped) = read().bad_rows(BadRows::Skip).build_with_report().unwrap();
    let (df, skipped) = drask::compute((df, skipped)).unwrap();
    assert_eq!(skipped, 3);
    assert_eq!(df.height(), 97);
    assert_eq!(
        df.column("b").unwrap().i64().unwrap().sum(),
        Some((0..100).sum::<i64>() - 61 - 62 - 90)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn build_time_errors() {
    let missing = std::env::temp_dir().join("drask-no-such-dir/*.csv");
    assert!(matches!(DataFrame::read_csv(&missing), Err(Error::Metadata(_))));
    let absent = std::env::temp_dir().join("drask-no-such-file.csv");
    assert!(matches!(DataFrame::read_csv(&absent), Err(Error::Io(_))));
    let df = partitioned(&random_frame(3, 20), 2, 3);
    let err = df.select([col("nope")]).unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("k: str"), "{err}");
    let err = df.filter(col("k") + lit(1)).unwrap_err().to_string();
    assert!(err.contains("schema"), "{err}");
    let err = df.filter(col("y")).unwrap_err().to_string();
    assert!(err.contains("Boolean") && err.contains("schema"), "{err}");
    let err = df
        .group_by([col("k")])
        .agg([col("x").median()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("median"), "{err}");
    let err = df.group_by([col("k")]).agg([col("x")]).unwrap_err().to_string();
    assert!(err.contains("without an aggregation"), "{err}");
    assert!(df.sort(&["nope"], &[false]).is_err());
    assert!(df.drop_duplicates(Some(&["nope"]), Keep::First).is_err());

    // Files whose headers differ.
    let dir = temp_dir("headers");
    std::fs::write(dir.join("a.csv"), "x,y\n1,2\n").unwrap();
    std::fs::write(dir.join("b.csv"), "x,z\n1,2\n").unwrap();
    let err = DataFrame::read_csv(dir.join("*.csv")).unwrap_err().to_string();
    assert!(err.contains("b.csv") && err.contains("header"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn map_partitions_checks_the_schema_it_was_given() {
    let df = partitioned(&random_frame(4, 30), 3, 4);
    let wrong = df
        .map_partitions(|p| p.select(["k"]), Some(df.schema().as_ref().clone()))
        .unwrap();
    let err = wrong.compute().unwrap_err();
    assert!(err.to_string().contains("declared"), "{err}");
    assert!(err.key().is_some());
    let inferred = df.map_partitions(|p| p.select(["k", "y"]), None).unwrap();
    assert_eq!(inferred.columns(), ["k", "y"]);
}

#[test]
fn parquet_round_trip_with_row_group_partitions() {
    let dir = temp_dir("parquet");
    let whole = random_frame(41, 1000);
    DataFrame::from_polars(whole.clone(), 2)
        .unwrap()
        .to_parquet(&dir)
        .unwrap()
        .compute()
        .unwrap();
    let back = ReadParquet::new(dir.join("*.parquet")).build().unwrap();
    assert_eq!(back.compute().unwrap(), whole);
    let split = ReadParquet::new(dir.join("*.parquet"))
        .row_groups_per_partition(Some(1))
        .build()
        .unwrap();
    assert!(split.npartitions() >= 2);
    assert_eq!(split.compute().unwrap(), whole);
    let filtered = back.filter(col("y").gt(lit(0))).unwrap().select([col("y")]).unwrap();
    let text = filtered.explain();
    println!("{text}");
    assert!(
        text.contains("pushed into the scan") && text.contains("SELECTION"),
        "{text}"
    );
    let want = whole
        .clone()
        .lazy()
        .filter(col("y").gt(lit(0)))
        .select([col("y")])
        .collect()
        .unwrap();
    assert_eq!(filtered.compute().unwrap(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frame_graphs_round_trip_through_specs() {
    use drask::registry::GraphSpec;
    let dir = temp_dir("specs");
    let whole = random_frame(51, 200);
    DataFrame::from_polars(whole.clone(), 2)
        .unwrap()
        .to_csv(&dir)
        .unwrap()
        .compute()
        .unwrap();
    let df = ReadCsv::new(dir.join("*.csv"))
        .schema(whole.schema().as_ref().clone())
        .build()
        .unwrap()
        .filter(col("x").gt(lit(0.0)))
        .unwrap();
    let small = partitioned(&whole, 1, 1)
        .select([col("k"), col("g"), col("y").alias("y2")])
        .unwrap()
        .drop_duplicates(Some(&["k", "g"]), Keep::First)
        .unwrap();
    let result = df
        .join(&small, &["k", "g"], &["k", "g"], How::Left)
        .unwrap()
        .group_by([col("k")])
        .split_out(2)
        .agg([col("x").mean(), col("y2").sum()])
        .unwrap()
        .sort(&["k"], &[false])
        .unwrap();
    let graph = result.graph(true).unwrap();
    let spec = GraphSpec::from_graph(&graph).unwrap();
    let text = serde_json::to_string(&spec).unwrap();
    let rebuilt: GraphSpec = serde_json::from_str(&text).unwrap();
    let graph2 = rebuilt.to_graph().unwrap();
    let keys = result.keys();
    let values = drask::sched::Executor::execute(&Synchronous, &graph2, &keys, &[]).unwrap();
    let parts: Vec<pl::DataFrame> = values
        .into_iter()
        .map(|v| v.downcast_ref::<pl::DataFrame>().unwrap().clone())
        .collect();
    let mut rebuilt_frame = parts[0].clone();
    for p in &parts[1..] {
        rebuilt_frame.vstack_mut(p).unwrap();
    }
    // Equal up to float summation order: partial group-bys run on polars' streaming engine,
    // which sums a partition's rows in morsels, in whatever order its threads finish them.
    assert_same_rows(&rebuilt_frame, &result.compute().unwrap(), "rebuilt from specs");
    // map_partitions closures have no spec: the conversion refuses, naming the task.
    let closure = df.map_partitions(Ok, None).unwrap();
    let err = GraphSpec::from_graph(&closure.graph(true).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("map_partitions"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frames_cross_process_boundaries_as_ipc() {
    use drask::registry::{decode_value, encode_value};
    let whole = random_frame(61, 50);
    let value: drask::graph::Value = std::sync::Arc::new(whole.clone());
    let back = decode_value(&encode_value(&value).unwrap()).unwrap();
    assert_eq!(back.downcast_ref::<pl::DataFrame>(), Some(&whole));
}

fn add_ten_to_y(part: &pl::DataFrame) -> PolarsResult<pl::DataFrame> {
    part.clone().lazy().with_columns([col("y") + lit(10)]).collect()
}
drask::register_fn!(try add_ten_to_y);

fn keep_k_and_y(part: &pl::DataFrame) -> pl::DataFrame {
    part.select(["k", "y"]).unwrap()
}
drask::register_fn!(keep_k_and_y);

fn wrong_schema(part: &pl::DataFrame) -> PolarsResult<pl::DataFrame> {
    if part.height() == 0 {
        Ok(part.clone())
    } else {
        part.select(["y"])
    }
}
drask::register_fn!(try wrong_schema);

#[test]
fn registered_partition_functions_round_trip_through_specs() {
    use drask::registry::GraphSpec;
    let whole = random_frame(71, 300);
    let df = partitioned(&whole, 5, 71).filter(col("g").gt(lit(0))).unwrap();
    let mapped = df
        .map_partitions_registered(drask::registered!(add_ten_to_y), None)
        .unwrap()
        .map_partitions_registered(drask::registered!(keep_k_and_y), None)
        .unwrap();
    let want = whole
        .clone()
        .lazy()
        .filter(col("g").gt(lit(0)))
        .select([col("k"), col("y") + lit(10)])
        .collect()
        .unwrap();
    assert_eq!(mapped.compute().unwrap(), want);
    let spec = GraphSpec::from_graph(&mapped.graph(true).unwrap()).unwrap();
    let text = serde_json::to_string(&spec).unwrap();
    assert!(text.contains("add_ten_to_y") && text.contains("keep_k_and_y"), "{text}");
    let rebuilt: GraphSpec = serde_json::from_str(&text).unwrap();
    let graph = rebuilt.to_graph().unwrap();
    let values = drask::sched::Executor::execute(&Synchronous, &graph, &mapped.keys(), &[]).unwrap();
    let parts: Vec<pl::DataFrame> = values
        .into_iter()
        .map(|v| v.downcast_ref::<pl::DataFrame>().unwrap().clone())
        .collect();
    let mut rebuilt_frame = parts[0].clone();
    for p in &parts[1..] {
        rebuilt_frame.vstack_mut(p).unwrap();
    }
    assert_eq!(rebuilt_frame, want);
    // The schema check still runs, naming the function's task; a wrong declared schema fails too.
    let bad = df
        .map_partitions_registered(drask::registered!(wrong_schema), None)
        .unwrap();
    let err = bad.compute().unwrap_err().to_string();
    assert!(err.contains("wrong_schema") && err.contains("schema"), "{err}");
    let declared = pl::Schema::from_iter([Field::new("y".into(), DataType::Int64)]);
    let ok = df
        .map_partitions_registered(drask::registered!(wrong_schema), Some(declared))
        .unwrap();
    assert_eq!(ok.compute().unwrap().height(), df.len().compute().unwrap());
}

#[test]
fn repartition_by_size_keeps_rows_and_fits_partitions() {
    let sizes = |df: &DataFrame| -> Vec<usize> {
        (0..df.npartitions())
            .map(|i| df.partition(i).unwrap().compute().unwrap().estimated_size())
            .collect()
    };
    for (seed, rows, n) in seeds() {
        let whole = random_frame(seed, rows);
        // Fixed-width columns: the measured sizes split exactly by rows.
        let numeric = whole.select(["g", "y", "d"]).unwrap();
        let df = partitioned(&numeric, n, seed);
        let total: usize = sizes(&df).iter().sum();
        for bytes in [1, 100, 1000, 4000, total.max(1), 10 * total + 1] {
            let out = df.repartition_by_size(bytes).unwrap();
            assert_eq!(
                out.compute().unwrap(),
                numeric,
                "seed {seed}, {bytes} bytes: rows or order"
            );
            let got = sizes(&out);
            for (i, &size) in got.iter().enumerate() {
                let height = out.partition(i).unwrap().len().compute().unwrap();
                assert!(
                    size <= bytes || height == 1,
                    "seed {seed}, {bytes} bytes: partition {i} has {size}: {got:?}"
                );
            }
            for pair in got.windows(2) {
                assert!(
                    pair[0] + pair[1] > bytes,
                    "seed {seed}, {bytes} bytes: {got:?} could merge"
                );
            }
            if total <= bytes {
                assert_eq!(out.npartitions(), 1, "seed {seed}: everything fits in one");
            }
        }
        // Strings and nulls: order kept, partitions of about the size asked for.
        let df = partitioned(&whole, n, seed);
        let out = df.repartition_by_size(2000).unwrap();
        assert_eq!(out.compute().unwrap(), whole, "seed {seed}: rows or order with strings");
    }
    let df = partitioned(&random_frame(9, 100), 3, 9);
    assert!(matches!(df.repartition_by_size(0), Err(drask::Error::Metadata(_))));
}

/// `random_frame` with more types: `b` (bool with nulls), `t` (datetime with nulls), `f`
/// (f32), `z` (f64 with NaN, -0.0 and many ties).
fn wide_random_frame(seed: u64, rows: usize) -> pl::DataFrame {
    let mut r = Rng(seed ^ 0x5eed);
    let mut df = random_frame(seed, rows);
    let b: Vec<Option<bool>> = (0..rows).map(|_| (r.below(6) != 0).then(|| r.below(3) == 0)).collect();
    let t: Vec<Option<i64>> = (0..rows)
        .map(|_| (r.below(5) != 0).then(|| 1_600_000_000_000_000 + r.below(1_000_000_000) as i64))
        .collect();
    let t = Series::new("t".into(), t)
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .unwrap();
    let f: Vec<f32> = (0..rows).map(|_| r.unit() as f32 * 10.0 - 5.0).collect();
    let z: Vec<Option<f64>> = (0..rows)
        .map(|_| match r.below(20) {
            0 => Some(f64::NAN),
            1 => Some(-0.0),
            2 => None,
            v => Some(f64::from(v as u32 % 5)),
        })
        .collect();
    for column in [
        Series::new("b".into(), b).into_column(),
        t.into_column(),
        Series::new("f".into(), f).into_column(),
        Series::new("z".into(), z).into_column(),
    ] {
        df.with_column(column).unwrap();
    }
    df
}

/// Polars' (Python) `describe` computed with polars on the whole frame: per column, count,
/// null_count, mean, std, min, percentiles (sorted as polars sorts them) and max, as floats
/// for numeric, boolean and null columns and as text otherwise.
fn polars_describe(df: &pl::DataFrame, percentiles: &[f64], method: QuantileMethod) -> pl::DataFrame {
    let mut ps = percentiles.to_vec();
    ps.sort_by(|a, b| (*a >= 0.5).cmp(&(*b >= 0.5)).then(a.total_cmp(b)));
    let rows = 6 + ps.len();
    let mut out = Vec::new();
    for (name, dtype) in df.schema().iter() {
        let numeric = dtype.is_primitive_numeric();
        let temporal = dtype.is_temporal();
        let x = col(name.clone());
        let null = || lit(NULL);
        let mut exprs = vec![
            x.clone().count(),
            x.clone().null_count(),
            if numeric || dtype.is_bool() || temporal {
                x.clone().mean()
            } else {
                null()
            },
            if numeric { x.clone().std(1) } else { null() },
            x.clone().min(),
        ];
        for &p in &ps {
            exprs.push(if numeric {
                x.clone().quantile(lit(p), method)
            } else if temporal {
                x.clone().to_physical().quantile(lit(p), method).cast(dtype.clone())
            } else {
                null()
            });
        }
        exprs.push(x.max());
        let exprs: Vec<Expr> = exprs
            .into_iter()
            .enumerate()
            .map(|(i, e)| e.alias(format!("{i}")))
            .collect();
        let stats = df.clone().lazy().select(exprs).collect().unwrap();
        let cells: Vec<AnyValue> = stats
            .columns()
            .iter()
            .map(|c| c.get(0).unwrap().into_static())
            .collect();
        assert_eq!(cells.len(), rows);
        if numeric || dtype.is_bool() {
            let values: Vec<Option<f64>> = cells
                .iter()
                .map(|v| match v {
                    AnyValue::Null => None,
                    AnyValue::Boolean(b) => Some(f64::from(u8::from(*b))),
                    v => v.extract::<f64>(),
                })
                .collect();
            out.push(Series::new(name.clone(), values).into_column());
        } else {
            let values: Vec<Option<String>> = cells
                .iter()
                .map(|v| match v {
                    AnyValue::Null => None,
                    AnyValue::String(s) => Some(s.to_string()),
                    AnyValue::StringOwned(s) => Some(s.to_string()),
                    v => Some(v.to_string()),
                })
                .collect();
            out.push(Series::new(name.clone(), values).into_column());
        }
    }
    pl::DataFrame::new(rows, out).unwrap()
}

/// `got` (drask's describe) against polars: same labels and types; percentile rows bit for
/// bit, the other rows up to float rounding.
fn assert_describe_matches(
    got: &pl::DataFrame,
    df: &pl::DataFrame,
    percentiles: &[f64],
    method: QuantileMethod,
    what: &str,
) {
    let want = polars_describe(df, percentiles, method);
    let labels: Vec<&str> = got
        .column("statistic")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(labels.len(), want.height(), "{what}: rows");
    assert_eq!(labels[..5], ["count", "null_count", "mean", "std", "min"], "{what}");
    assert_eq!(labels.last(), Some(&"max"), "{what}");
    assert_eq!(got.width(), want.width() + 1, "{what}: columns");
    for w in want.columns() {
        let g = got.column(w.name()).unwrap();
        assert_eq!(g.dtype(), w.dtype(), "{what}: type of {}", w.name());
        for (row, label) in labels.iter().enumerate() {
            let (a, b) = (g.get(row).unwrap(), w.get(row).unwrap());
            let percentile = row >= 5 && row + 1 < want.height();
            match (a.extract::<f64>(), b.extract::<f64>(), g.dtype()) {
                (Some(x), Some(y), DataType::Float64) => {
                    let close = if percentile {
                        x.to_bits() == y.to_bits() || x == y || (x.is_nan() && y.is_nan())
                    } else {
                        (x - y).abs() <= 1e-9 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan())
                    };
                    assert!(close, "{what}: {} {label}: {x} vs {y}", w.name());
                }
                _ => assert_eq!(a, b, "{what}: {} {label}", w.name()),
            }
        }
    }
}

#[test]
fn describe_equals_polars_with_exact_percentiles() {
    let methods = [
        QuantileMethod::Nearest,
        QuantileMethod::Linear,
        QuantileMethod::Lower,
        QuantileMethod::Higher,
        QuantileMethod::Midpoint,
        QuantileMethod::Equiprobable,
    ];
    let cases = seeds().chain([(8, 5000, 7), (9, 3000, 1), (10, 4000, 13)]);
    for (seed, rows, n) in cases {
        let whole = wide_random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        let got = df.describe().unwrap().compute().unwrap();
        assert_describe_matches(
            &got,
            &whole,
            &[0.25, 0.5, 0.75],
            QuantileMethod::Nearest,
            &format!("seed {seed}"),
        );
        let method = methods[seed as usize % methods.len()];
        let ps = [0.999, 0.0, 0.5, 1.0, 0.1, 1.0 / 3.0];
        let got = df.describe_with(&ps, method).unwrap().compute().unwrap();
        assert_describe_matches(&got, &whole, &ps, method, &format!("seed {seed}, {method:?}"));
    }
    // Every method on one sampled frame, with a filter fused before the statistics.
    let whole = wide_random_frame(11, 6000);
    let df = partitioned(&whole, 5, 11).filter(col("g").neq(lit(2))).unwrap();
    let filtered = whole.clone().lazy().filter(col("g").neq(lit(2))).collect().unwrap();
    for method in methods {
        let ps = [0.05, 0.25, 0.5, 0.75, 0.95];
        let got = df.describe_with(&ps, method).unwrap().compute().unwrap();
        assert_describe_matches(&got, &filtered, &ps, method, &format!("{method:?}"));
    }
}

#[test]
fn describe_shape_labels_and_remote_specs() {
    use drask::registry::GraphSpec;
    // The example of polars' own docs (Python), numbers checked against its output.
    let whole = df!(
        "float" => [1.0, 2.8, 3.0],
        "int" => [Some(40_i64), Some(50), None],
        "bool" => [true, false, true],
        "str" => ["zz", "xx", "yy"],
    )
    .unwrap();
    let df = DataFrame::from_polars(whole, 3).unwrap();
    let got = df.describe().unwrap().compute().unwrap();
    let want = df!(
        "statistic" => ["count", "null_count", "mean", "std", "min", "25%", "50%", "75%", "max"],
        "float" => [Some(3.0), Some(0.0), Some(2.266_666_666_666_667), Some(1.101_514_109_481_277), Some(1.0), Some(2.8), Some(2.8), Some(3.0), Some(3.0)],
        "int" => [Some(2.0), Some(1.0), Some(45.0), Some(7.071_067_811_865_476), Some(40.0), Some(40.0), Some(50.0), Some(50.0), Some(50.0)],
        "bool" => [Some(3.0), Some(0.0), Some(2.0 / 3.0), None, Some(0.0), None, None, None, Some(1.0)],
        "str" => [Some("3"), Some("0"), None, None, Some("xx"), None, None, None, Some("zz")],
    )
    .unwrap();
    assert_same_rows(&got, &want, "polars' example");
    for (g, w) in got
        .column("statistic")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .zip(want.column("statistic").unwrap().str().unwrap().iter())
    {
        assert_eq!(g, w);
    }
    // No columns, or a percentile outside [0, 1]: refused when building.
    let err = df
        .select(Vec::<Expr>::new())
        .unwrap()
        .describe()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no columns"), "{err}");
    assert!(df.describe_with(&[-0.1], QuantileMethod::Linear).is_err());
    // No percentiles: the six other rows only.
    let plain = df
        .describe_with(&[], QuantileMethod::Linear)
        .unwrap()
        .compute()
        .unwrap();
    let rows: Vec<&str> = plain
        .column("statistic")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(rows, ["count", "null_count", "mean", "std", "min", "max"]);
    assert_eq!(plain.column("float").unwrap().f64().unwrap().get(5), Some(3.0));
    // The whole describe graph (aggregations and both percentile passes) can be sent.
    let whole = wide_random_frame(12, 700);
    let summary = partitioned(&whole, 4, 12).describe().unwrap();
    let spec = GraphSpec::from_graph(&summary.graph(true).unwrap()).unwrap();
    let rebuilt: GraphSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    let values =
        drask::sched::Executor::execute(&Synchronous, &rebuilt.to_graph().unwrap(), &summary.keys(), &[]).unwrap();
    let remote = values[0].downcast_ref::<pl::DataFrame>().unwrap();
    assert!(remote.equals_missing(&summary.compute().unwrap()));
    // Over CSV blocks: both percentile passes read the files themselves, projected.
    let dir = temp_dir("describe-csv");
    let whole = random_frame(14, 3000);
    DataFrame::from_polars(whole.clone(), 3)
        .unwrap()
        .to_csv(&dir)
        .unwrap()
        .compute()
        .unwrap();
    let csv = ReadCsv::new(dir.join("*.csv"))
        .schema(whole.schema().as_ref().clone())
        .blocksize(Some(20_000))
        .build()
        .unwrap();
    assert!(csv.npartitions() > 3, "{} partitions", csv.npartitions());
    let got = csv
        .describe_with(&[0.1, 0.5, 0.9], QuantileMethod::Linear)
        .unwrap()
        .compute()
        .unwrap();
    assert_describe_matches(&got, &whole, &[0.1, 0.5, 0.9], QuantileMethod::Linear, "csv");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quantile_equals_polars_bit_for_bit() {
    let methods = [
        QuantileMethod::Nearest,
        QuantileMethod::Linear,
        QuantileMethod::Lower,
        QuantileMethod::Higher,
        QuantileMethod::Midpoint,
        QuantileMethod::Equiprobable,
    ];
    for (seed, rows, n) in seeds().chain([(13, 4000, 6)]) {
        let whole = wide_random_frame(seed, rows);
        let df = partitioned(&whole, n, seed);
        for (i, &q) in [0.0, 0.01, 0.3, 0.5, 0.77, 1.0].iter().enumerate() {
            let method = methods[(seed as usize + i) % methods.len()];
            let got = df.quantile(q, method).unwrap().compute().unwrap();
            let numeric: Vec<Expr> = whole
                .schema()
                .iter()
                .filter(|(_, d)| d.is_primitive_numeric())
                .map(|(name, _)| col(name.clone()).quantile(lit(q), method))
                .collect();
            let want = whole.clone().lazy().select(numeric).collect().unwrap();
            assert_eq!(got.schema(), want.schema(), "seed {seed}, q {q}");
            for (a, b) in got.columns().iter().zip(want.columns()) {
                let (a, b) = (a.cast(&DataType::Float64).unwrap(), b.cast(&DataType::Float64).unwrap());
                let (x, y) = (a.f64().unwrap().get(0), b.f64().unwrap().get(0));
                let same = x.map(f64::to_bits) == y.map(f64::to_bits)
                    || x == y
                    || (x.is_some_and(f64::is_nan) && y.is_some_and(f64::is_nan));
                assert!(same, "seed {seed}, q {q}, {method:?}, {}: {x:?} vs {y:?}", a.name());
            }
        }
    }
    let strings = DataFrame::from_polars(df!("s" => ["a"]).unwrap(), 1).unwrap();
    assert!(matches!(
        strings.quantile(0.5, QuantileMethod::Linear),
        Err(drask::Error::Metadata(_))
    ));
}
