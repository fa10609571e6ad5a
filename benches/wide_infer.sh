#!/usr/bin/env bash
# Benchmark (not a test): `mlscore data infer` on wide files, 50 rows of
# 5,000 to 40,000 integer columns, CSV and NDJSON. The time per column should
# stay about flat as the columns grow (issue 15: it grew with their square).
#
# Usage: benches/wide_infer.sh [MLSCORE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/release_bin.sh "${1:-}"
dir="${TMPDIR:-/tmp}/mlscore-wide"
mkdir -p "$dir"
python3 - "$dir" <<'PY'
import json, os, random, sys
out = sys.argv[1]
random.seed(15)
for n in (5000, 10000, 20000, 40000):
    csv, ndjson = f"{out}/wide{n}.csv", f"{out}/wide{n}.jsonl"
    if os.path.exists(ndjson):
        continue
    rows = [[random.randint(0, 9) for _ in range(n)] for _ in range(50)]
    with open(csv, "w") as f:
        f.write(",".join(f"c{i}" for i in range(n)) + "\n")
        for row in rows:
            f.write(",".join(map(str, row)) + "\n")
    with open(ndjson, "w") as f:
        for row in rows:
            f.write(json.dumps({f"c{i}": v for i, v in enumerate(row)}) + "\n")
PY
printf '| file | columns | wall | µs per column | peak RSS |\n|---|---|---|---|---|\n'
for kind in csv jsonl; do
  for n in 5000 10000 20000 40000; do
    /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" data infer "$dir/wide$n.$kind" > /dev/null
    read -r wall rss < "$dir/time"
    awk -v k="$kind" -v n="$n" -v w="$wall" -v r="$rss" \
      'BEGIN { printf "| %s | %d | %.2f s | %.0f | %d MiB |\n", k, n, w, w * 1e6 / n, r / 1024 }'
  done
done
