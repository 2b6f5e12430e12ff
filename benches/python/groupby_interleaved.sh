#!/usr/bin/env bash
# drask's groupby example and Python polars, timed in alternation on the same CSV files: each
# round is the best of 5 runs of each. Noise on a shared 2-core machine moves both sides by
# 5-10%, so a ratio from one pair of runs means little; rounds show the spread.
#
#   cargo build --release --features frame --example groupby
#   python -m venv /tmp/venv && /tmp/venv/bin/pip install polars
#   PYTHON=/tmp/venv/bin/python benches/python/groupby_interleaved.sh [ROUNDS]
#
# Reads (and writes once) the set of `examples/gen_csv.rs` in $TMPDIR/drask-data/csv-8x1000000.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
rounds=${1:-5}
dir=${TMPDIR:-/tmp}/drask-data/csv-8x1000000
for round in $(seq "$rounds"); do
  drask=$(target/release/examples/groupby --csv generate --by name --agg x:mean --repeat 5 |
    "$python" -c 'import sys, json; print(round(json.load(sys.stdin)["seconds"], 3))')
  polars=$("$python" - "$dir" <<'PY'
import glob, sys, time
import polars as pl
files = sorted(glob.glob(sys.argv[1] + "/*.csv"))
times = []
for _ in range(5):
    start = time.perf_counter()
    pl.scan_csv(files).group_by("name").agg(pl.col("x").mean()).collect()
    times.append(time.perf_counter() - start)
print(round(min(times), 3))
PY
)
  echo "round $round: drask $drask s, python polars $polars s, ratio $("$python" -c "print(round($drask / $polars, 3))")"
done
