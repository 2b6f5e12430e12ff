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
    assert_eq!(rebuilt_frame, result.compute().unwrap());
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
