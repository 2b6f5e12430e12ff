"""Reference timings for the frame groupby bench: dask.dataframe, pandas and Python polars on the
CSV set of `cargo run --release --features frame --example gen_csv` (8 x 1,000,000 rows).

    python -m venv /tmp/venv && /tmp/venv/bin/pip install "dask[dataframe]" polars
    /tmp/venv/bin/python benches/python/groupby_reference.py [GLOB]

Prints the best time of each engine for `groupby("name").x.mean()`, and each result's sum over
groups (equal to the `x_mean` checksum of `examples/groupby.rs --by name --agg x:mean`).
"""
import glob
import os
import sys
import tempfile
import time

pattern = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "drask-data/csv-8x1000000/*.csv")
files = sorted(glob.glob(pattern))
assert files, f"no files match {pattern}"


def best(runs, f):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return min(times), result


import dask
import dask.dataframe as dd
import pandas as pd
import polars as pl

dask.config.set(scheduler="threads", num_workers=2)
seconds, r = best(3, lambda: dd.read_csv(files).groupby("name").x.mean().compute())
print(f"dask.dataframe {dask.__version__} (threads, 2): {seconds:.3f} s  checksum {r.sum()}")
seconds, r = best(2, lambda: pd.concat([pd.read_csv(f) for f in files]).groupby("name").x.mean())
print(f"pandas {pd.__version__}: {seconds:.3f} s  checksum {r.sum()}")
for engine in ["auto", "streaming"]:
    seconds, r = best(3, lambda: pl.scan_csv(files).group_by("name").agg(pl.col("x").mean()).collect(engine=engine))
    print(f"polars {pl.__version__} ({engine}): {seconds:.3f} s  checksum {r['x'].sum()}")
