//! Guides: longer reading than the API docs, with runnable examples.

pub mod for_dask_users {
    //! # drask for Dask users
    //!
    //! drask keeps Dask's model — lazy collections, a task graph, an optimizer, pluggable
    //! executors — and its vocabulary where it is the user's. What changes is what Rust changes:
    //! types at the edges, closures instead of pickled functions, `Result` instead of exceptions.
    //!
    //! | Dask | drask |
    //! |---|---|
    //! | `dask.delayed(f)(x, y)` | `delayed(f).call((x, y))` — `f` takes `&X, &Y` |
    //! | `delayed(f, pure=True)` | `delayed(f).name("f")`: same name and inputs, same key |
    //! | `dask.compute(a, b)` | `drask::compute((a, b))` |
    //! | `x.compute(scheduler="sync")` | `x.compute_with(&ComputeOptions::new().executor(Synchronous))` |
    //! | `x.compute(optimize_graph=False)` | `ComputeOptions::new().optimize(false)` |
    //! | `x.visualize()` | `x.graph(true)?.to_dot()`; text: `x.explain()` |
    //! | `ProgressBar()` | `ComputeOptions::new().progress()` (feature `progress`) |
    //! | dashboard task stream | [`TaskStream`](crate::diagnostics::TaskStream), exported as a Chrome trace |
    //! | `db.from_sequence(seq, npartitions=n)` | `Bag::from_vec(seq, n)` |
    //! | `db.read_text(pattern)` | `Bag::read_text(pattern)?` (globs, lists, `.gz`) |
    //! | `bag.map(json.loads).pluck("k")` | `Bag::read_json(p)?.pluck("k")`, or faster `ReadJson::new(p).field("k")` |
    //! | `bag.frequencies().topk(k, key=1)` | `bag.frequencies().topk(k, \|(_, n)\| *n)` |
    //! | `bag.foldby(key, binop, init, combine)` | `bag.foldby(key, init, binop, combine)` |
    //! | `da.from_array(x, chunks=(1000, 1000))` | `Array::from_array(x, &[1000, 1000])?` |
    //! | `(x + x.T).mean(axis=0)` | `(&x + &x.t()).mean_axis(0)?` (chunks unified as in Dask) |
    //! | `x[1::2, -5:]` | `x.slice(&[Slice::new(1, None, 2), Slice::new(-5, None, 1)])?` |
    //! | `da.where(c, a, b)` | `a.select(&c, &b)?` |
    //! | `x.rechunk((500, 500))` | `x.rechunk(&[500, 500])?` |
    //! | `x @ y` | `x.dot(&y)?` |
    //! | `dd.read_csv("*.csv", blocksize="64MB")` | `ReadCsv::new("*.csv").build()?` (feature `frame`; 64 MiB blocks) |
    //! | `dd.read_parquet(path)` | `DataFrame::read_parquet(path)?` |
    //! | `dd.from_pandas(pdf, npartitions=4)` | `DataFrame::from_polars(df, 4)?` |
    //! | `df[df.y > 0.5].assign(z=df.x * df.y)` | `df.filter(col("y").gt(lit(0.5)))?.with_columns([(col("x") * col("y")).alias("z")])?` |
    //! | `df.groupby("k").x.mean()` | `df.group_by([col("k")]).agg([col("x").mean()])?` (`split_out`, `split_every` as in Dask) |
    //! | `df.merge(other, on="k", how="left")` | `df.join(&other, &["k"], &["k"], How::Left)?` |
    #![cfg_attr(
        feature = "frame",
        doc = "| `df.set_index(\"k\")` | `df.set_index(\"k\")?` (a sorted column with known [`divisions`](crate::frame::DataFrame::divisions)) |"
    )]
    #![cfg_attr(
        not(feature = "frame"),
        doc = "| `df.set_index(\"k\")` | `df.set_index(\"k\")?` (a sorted column with known `divisions`) |"
    )]
    //! | `df.map_partitions(f, meta=...)` | `df.map_partitions(f, Some(schema))?` (or `map_partitions_registered(registered!(f), ..)` for remote) |
    //! | `df.describe()`, `df.quantile(0.9)` | `df.describe()?`, `df.quantile(0.9, QuantileMethod::Linear)?` (exact percentiles, polars' table) |
    //! | `df.repartition(partition_size="100MB")` | `df.repartition_by_size(100 << 20)?` |
    //! | `df.to_parquet(dir)` | `df.to_parquet(dir)?.compute()?` |
    //!
    //! ## Differences that matter
    //! - **Errors are values.** A failing task makes `compute()` return
    //!   [`Error::Task`](crate::Error::Task), naming the task's key; a panicking task becomes the
    //!   same error. Wrong metadata fails while the graph is built, before anything runs.
    //! - **Functions take references.** A delayed function receives `&T` for each `Delayed<T>`,
    //!   so one computed value feeds many consumers without a copy. Bag methods take items by
    //!   value: the last reader of a partition owns it, so `map` and `filter` reuse its memory.
    //! - **Closures are local.** A closure cannot be sent to another process; functions that
    //!   must run remotely are registered by name with [`register_fn!`](crate::register_fn).
    //! - **Operators panic, `try_` methods return errors.** `&x + &y` panics if the shapes do
    //!   not broadcast (like ndarray); `x.try_add(&y)?` returns the error instead. Arrays take
    //!   `&` operands so that one array can feed many expressions without clones.
    //! - **Unnamed calls are impure.** Like Dask's `pure=False`, each call of an unnamed closure
    //!   gets a fresh key; name it to share results between identical calls.
    //!
    //! ```
    //! use drask::prelude::*;
    //! use drask::sched::Synchronous;
    //!
    //! // dask: total = delayed(sum)([delayed(inc)(i) for i in range(10)])
    //! fn inc(x: &i64) -> i64 { x + 1 }
    //! let total = delayed(|xs: &Vec<i64>| xs.iter().sum::<i64>())
    //!     .call((Delayed::collect((0..10).map(|i| delayed(inc).call((i,)))),));
    //! assert_eq!(total.compute_with(&ComputeOptions::new().executor(Synchronous))?, 55);
    //!
    //! // dask: db.from_sequence(range(10), npartitions=3).filter(odd).map(square).sum()
    //! let bag = Bag::from_vec((0..10).collect::<Vec<i64>>(), 3);
    //! assert_eq!(bag.filter(|x| x % 2 == 1).map(|x| x * x).sum().compute()?, 165);
    //! # Ok::<(), drask::Error>(())
    //! ```
}

pub mod feature_flags {
    //! # Feature flags
    //!
    //! | feature | default | what it adds | dependency |
    //! |---|---|---|---|
    //! | `progress` | yes | [`ComputeOptions::progress`](crate::ComputeOptions) and [`ProgressBar`](crate::diagnostics) | indicatif |
    //! | `array` | yes | the chunked [`Array`](crate::array::Array) and its kernels (SIMD correlation) | ndarray |
    //! | `mmap` | yes | memory-mapped `.npy` input ([`npy::NpyMap`](crate::array::npy)) | memmap2 |
    #![cfg_attr(
        feature = "frame",
        doc = "| `frame` | no | the partitioned [`DataFrame`](crate::frame::DataFrame) over polars | polars (a long first build: about 10 minutes in debug, 13 in release on 2 cores) |"
    )]
    #![cfg_attr(
        not(feature = "frame"),
        doc = "| `frame` | no | the partitioned `DataFrame` over polars | polars (a long first build: about 10 minutes in debug, 13 in release on 2 cores) |"
    )]
    //!
    //! The core — task graph, optimizer, executors, Delayed, Bag, registry, task stream — always
    //! builds (`--no-default-features`). Heavy dependencies get a feature of their own: polars
    //! behind `frame`, networking behind `distributed` when it comes.
}
