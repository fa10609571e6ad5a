#!/usr/bin/env bash
# Benchmark: `mlscore check` on a generated 100,000-file repository.
# Prints the wall time of warm runs (the tree is in the page cache) and peak RSS.
# Usage: benches/check_100k.sh [FILES]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
files="${1:-100000}"
. benches/release_bin.sh ""  # "": not this script's own arguments
repo="${TMPDIR:-/tmp}/mlscore-bench-$files"

if [ ! -f "$repo/.generated" ]; then
  rm -rf "$repo"
  python3 - "$repo" "$files" <<'PY'
import os, sys, random
root, total = sys.argv[1], int(sys.argv[2])
random.seed(7)
def write(path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
write(".github/workflows/ci.yml", "on: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest tests/unit\n      - run: make integration\n")
write(".github/workflows/nightly.yml", "on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  drift:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python monitoring/drift.py\n")
write("Makefile", "integration:\n\tpytest tests/integration\n")
write("requirements.txt", "pandas==2.2.2\nscikit-learn==1.5.0\npandera==0.20.0\noptuna==3.6.1\n")
write("monitoring/drift.py", "import evidently\n")
bodies = [
    "import numpy as np\nimport pandas as pd\n\n\ndef transform(df):\n    return df.fillna(0)\n",
    "from sklearn.linear_model import LogisticRegression\n\nmodel = LogisticRegression(random_state=0)\n",
    "import pandera as pa\n\nschema = pa.DataFrameSchema({'age': pa.Column(int, pa.Check.between(0, 120))})\n",
    "def helper(x):\n    # plain code with no evidence at all\n    return [i * 2 for i in range(x)]\n" * 4,
]
n = 5
for i in range(total - n):
    pkg = f"pkg{i % 200}/sub{i % 17}"
    kind = i % 10
    if kind < 6:
        path = f"src/{pkg}/module_{i}.py"
    elif kind < 8:
        path = f"tests/unit/{pkg}/test_module_{i}.py"
    elif kind == 8:
        path = f"docs/{pkg}/page_{i}.md"
    else:
        path = f"configs/{pkg}/conf_{i}.yaml"
    body = bodies[i % len(bodies)] if path.endswith(".py") else f"# page {i}\nvalue: {i}\n"
    write(path, body)
open(os.path.join(root, ".generated"), "w").close()
PY
fi

count=$(find "$repo" -type f | wc -l)
echo "repository: $repo ($count files)"
python3 - "$bin" "$repo" "$count" <<'PY'
import subprocess, sys, time
binary, repo, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
cmd = [binary, "check", repo, "--format", "json", "--output", "/dev/null"]
subprocess.run(cmd, check=True)  # warm the page cache
times = []
for _ in range(5):
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    times.append(time.perf_counter() - start)
print(f"mlscore check, {count} files, warm: best {min(times):.3f} s, mean {sum(times)/len(times):.3f} s over {len(times)} runs")
PY
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bin" check "$repo" --format json --output /dev/null 2>&1 | awk -F': ' '/Maximum resident/ {printf "peak RSS: %.1f MiB\n", $2/1024}'
fi
