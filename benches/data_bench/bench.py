"""Times `mlscore data validate|skew` against its peers; run by ../data_bench.sh.

    python3 bench.py --mlscore BIN --python VENV_PYTHON --data DIR [--runs 3] [--slow-runs 1]

Every command is timed end to end (process start to exit, reading the file
included) with its peak RSS, best of --runs (--slow-runs for Great
Expectations and Evidently). Each command's one-line summary is printed so
a run where a peer checked nothing, or failed a check, is visible.

Wall time is what the targets are stated in; CPU time (user + system) is
printed beside it because it moves less when other work shares the cores.
The load average before each group is printed for the same reason.
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "schema.yaml")
SKEW_SCHEMA = os.path.join(HERE, "skew_schema.yaml")
PEERS = os.path.join(HERE, "peers.py")


def measure(cmd, runs, ok_codes=(0,)):
    """(wall s, peak RSS MiB, summary, CPU s) of the fastest of `runs`."""
    best = None
    for _ in range(runs):
        # /usr/bin/time would do, but wait4 needs nothing installed.
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in ok_codes:
            print(f"  ! exit {code}: {' '.join(cmd)}", file=sys.stderr)
            subprocess.run(cmd)  # show its error
            sys.exit(1)
        rss = usage.ru_maxrss / 1024  # KiB on Linux
        cpu = usage.ru_utime + usage.ru_stime
        lines = [line for line in out.splitlines() if line.strip()]
        summary = lines[-1] if lines else ""
        if best is None or wall < best[0]:
            best = (wall, rss, summary, cpu)
    return best


def row(label, result, summary=None):
    wall, rss, said, cpu = result
    text = (summary or said)[:64]
    print(f"  {label:<38} {wall:8.2f} s {cpu:8.2f} s CPU {rss:7.0f} MiB   {text}", flush=True)


def load():
    return f"(load average {os.getloadavg()[0]:.1f})"


def verdict(name, mine, peer, target, faster):
    """Prints the wall-time ratio against its target, and the CPU-time ratio."""
    if faster:
        ratio, cpu = peer[0] / mine[0], peer[3] / mine[3]
        met = ratio >= target
        text = f"mlscore is {ratio:.2f}x faster (CPU {cpu:.2f}x; target >= {target:g}x)"
    else:
        ratio, cpu = mine[0] / peer[0], mine[3] / peer[3]
        met = ratio <= target
        text = f"mlscore takes {ratio:.2f}x the time (CPU {cpu:.2f}x; target <= {target:g}x)"
    print(f"  {name:<38} {text}: {'met' if met else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlscore", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-runs", type=int, default=1)
    parser.add_argument("--skip-gx", action="store_true")
    parser.add_argument("--skip-skew", action="store_true")
    args = parser.parse_args()
    py, ml, d = args.python, args.mlscore, args.data

    ratios = []
    for fmt in ("parquet", "csv"):
        data = os.path.join(d, f"ref.{fmt}")
        size = os.path.getsize(data) / 2**20
        print(f"\ndata validate, {os.path.basename(data)} ({size:.0f} MiB), best of {args.runs} {load()}:")
        mine = measure([ml, "data", "validate", "--schema", SCHEMA, "--format", "json", data], args.runs)
        row("mlscore data validate", mine, "exit 0: no violations")
        bare = measure([py, PEERS, "polars", SCHEMA, data], args.runs)
        row("polars (Python) lazy scan", bare)
        pandera = measure([py, PEERS, "pandera", SCHEMA, data], args.runs)
        row("pandera (polars backend)", pandera)
        results = {"polars": bare, "pandera": pandera}
        if not args.skip_gx:
            gx = measure([py, PEERS, "gx", SCHEMA, data], args.slow_runs)
            row(f"Great Expectations (best of {args.slow_runs})", gx)
            results["gx"] = gx
        ratios.append((fmt, mine, results))

    skew = None
    if not args.skip_skew:
        ref, cur = os.path.join(d, "ref.parquet"), os.path.join(d, "cur.parquet")
        print(f"\ndata skew, ref.parquet vs cur.parquet (16 columns), {load()}:")
        # Exit 1 means drift was found, which the drifted data should show.
        mine = measure([ml, "data", "skew", ref, cur, "--schema", SKEW_SCHEMA, "--format", "json"], args.runs, (0, 1))
        row(f"mlscore data skew (best of {args.runs})", mine, "exit 1: drift reported")
        ev = measure([py, PEERS, "evidently", SKEW_SCHEMA, ref, cur], args.slow_runs)
        row(f"Evidently DataDriftPreset (best of {args.slow_runs})", ev)
        skew = (mine, ev)

    print("\nratios (wall time of the best runs; CPU time in brackets):")
    for fmt, mine, results in ratios:
        verdict(f"validate {fmt} vs bare polars", mine, results["polars"], 1.5, False)
        verdict(f"validate {fmt} vs pandera", mine, results["pandera"], 2, True)
        if "gx" in results:
            verdict(f"validate {fmt} vs Great Expectations", mine, results["gx"], 20, True)
    if skew:
        verdict("skew parquet vs Evidently", skew[0], skew[1], 20, True)


if __name__ == "__main__":
    main()
