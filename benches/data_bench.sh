#!/usr/bin/env bash
# Benchmark: `mlscore data validate` and `mlscore data skew` against a bare
# polars lazy scan, pandera (polars backend), Great Expectations and Evidently,
# on 10M rows x 20 columns (Parquet and CSV). Prints wall time (best of N) and
# peak RSS of each, then the ratios against the targets of issue 3.
#
# The peers install from PyPI into a venv this script creates; the data is
# generated once and cached. Nothing here is needed by the tests.
#
# Usage: benches/data_bench.sh [ROWS] [RUNS]   (defaults: 10000000 3)
# Env:   MLSCORE_BENCH_DATA (default ~/.cache/mlscore-bench)
#        MLSCORE_BENCH_VENV (default ~/.cache/mlscore-bench-venv)
#        SLOW_RUNS (default 1: runs of Great Expectations and Evidently)
#        SKIP_GX=1 to leave Great Expectations out (the slowest peer)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-10000000}"
runs="${2:-3}"
data="${MLSCORE_BENCH_DATA:-$HOME/.cache/mlscore-bench}/$rows"
venv="${MLSCORE_BENCH_VENV:-$HOME/.cache/mlscore-bench-venv}"
here=benches/data_bench

. benches/release_bin.sh ""  # "": not this script's own arguments

# pandas < 3: Evidently 0.7 does not import with pandas 3.
peers=(polars "pandera[polars]" great-expectations evidently "pandas<3" pyarrow pyyaml)
if [ ! -f "$venv/.installed" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "${peers[@]}"
  touch "$venv/.installed"
fi
py="$venv/bin/python"

mkdir -p "$data"
for spec in "ref.parquet --seed 7" "ref.csv --seed 7" "cur.parquet --seed 8 --drift"; do
  # shellcheck disable=SC2086 # the spec is split into a name and options on purpose
  set -- $spec
  if [ ! -f "$data/$1" ]; then
    "$py" "$here/gen_data.py" "$data/$1.tmp.${1##*.}" --rows "$rows" "${@:2}"
    mv "$data/$1.tmp.${1##*.}" "$data/$1"
  fi
done

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $rows rows x 20 columns"
"$py" -c 'import importlib.metadata as m; print("peers: " + ", ".join(f"{p} {m.version(p)}" for p in ["polars", "pandera", "great_expectations", "evidently", "pandas"]))'
echo "mlscore: $("$bin" --version)"

skew=()
if ! "$bin" data skew --help >/dev/null 2>&1; then
  echo "(mlscore data skew is not built yet: skipping the Evidently comparison)"
  skew=(--skip-skew)
fi
gx=()
if [ "${SKIP_GX:-0}" = 1 ]; then gx=(--skip-gx); fi
python3 "$here/bench.py" --mlscore "$bin" --python "$py" --data "$data" \
  --runs "$runs" --slow-runs "${SLOW_RUNS:-1}" "${skew[@]}" "${gx[@]}"
