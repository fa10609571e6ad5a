"""Generate a synthetic tabular data set for the data-probe benchmarks.

    python gen_data.py OUT.{csv,parquet} --rows N [--columns 20|10] [--seed S] [--drift]

20 columns (10 numeric, 8 categorical/text, a boolean and a date), a few
nulls, written in chunks of a million rows so memory stays small whatever N
is. `--drift` shifts the numeric distributions and the category weights: use
it for the "current" side of a skew benchmark. `--columns 10` keeps the first
ten columns (the >4 GiB CSV of the memory measurement).

Needs numpy and polars (the benchmark's venv has them).
"""

import argparse
import sys

import numpy as np
import polars as pl

COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "SE", "PL", "BR", "IN", "JP"]
DEVICES = ["ios", "android", "web"]
PLANS = ["free", "pro", "team", "enterprise"]
CHANNELS = ["ads", "organic", "referral", "email", "social", "partner"]
SEGMENTS = [f"seg_{i:02d}" for i in range(30)]
BROWSERS = ["chrome", "firefox", "safari", "edge", "opera", "brave", "samsung", "other"]


def weights(n, rng, drift):
    w = np.linspace(1.0, 2.0, n)
    if drift:
        w = w[::-1] ** 2
    return w / w.sum()


def chunk(start, n, rng, drift):
    """Rows start..start+n as a polars DataFrame with all 20 columns."""
    shift = 0.3 if drift else 0.0
    ids = np.arange(start, start + n, dtype=np.int64)

    def with_nulls(values, fraction):
        mask = rng.random(n) < fraction
        return pl.Series(values).scatter(np.flatnonzero(mask), None)

    cols = {
        "id": ids,
        "age": rng.integers(18, 91, n) + (5 if drift else 0),
        "income": with_nulls(np.round(rng.lognormal(10.5 + shift, 0.6, n), 2), 0.01),
        "score": np.round(np.clip(rng.beta(2 + 3 * shift, 5, n), 0, 1), 4),
        "country": rng.choice(COUNTRIES, n, p=weights(len(COUNTRIES), rng, drift)),
        "device": rng.choice(DEVICES, n, p=weights(len(DEVICES), rng, drift)),
        "email": np.char.add(np.char.add("user", ids.astype("U12")), "@example.com"),
        "tenure_days": rng.integers(0, 3651, n),
        "rating": with_nulls(np.round(rng.uniform(1 + shift, 5, n), 1), 0.02),
        "plan": with_nulls(rng.choice(PLANS, n, p=weights(len(PLANS), rng, drift)), 0.005),
        "user_id": rng.integers(0, 1_000_000, n),
        "balance": np.round(rng.normal(100 + 50 * shift, 40, n), 2),
        "n_orders": rng.poisson(3 + shift, n),
        "clicks": rng.negative_binomial(3, 0.2, n),
        "channel": rng.choice(CHANNELS, n, p=weights(len(CHANNELS), rng, drift)),
        # Country-prefixed, so CSV readers keep it as text (bare digits would
        # be read as integers and lose their leading zeros).
        "zip": np.char.add("Z-", np.char.zfill(rng.integers(0, 100_000, n).astype("U5"), 5)),
        "segment": rng.choice(SEGMENTS, n, p=weights(len(SEGMENTS), rng, drift)),
        "browser": with_nulls(rng.choice(BROWSERS, n), 0.01),
        "is_active": rng.random(n) < (0.7 - shift / 3),
        "signup_date": (np.datetime64("2020-01-01") + rng.integers(0, 1826, n)).astype("datetime64[D]"),
    }
    return pl.DataFrame(cols)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--columns", type=int, choices=[10, 20], default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drift", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    step = 1_000_000
    parquet = args.out.endswith(".parquet")
    writer = None
    with open(args.out, "wb") as out:
        for start in range(0, args.rows, step):
            df = chunk(start, min(step, args.rows - start), rng, args.drift)
            df = df.select(df.columns[: args.columns])
            if parquet:
                import pyarrow.parquet as pq

                table = df.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(out, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=step)
            else:
                df.write_csv(out, include_header=start == 0)
        if writer is not None:
            writer.close()
    print(f"wrote {args.out}: {args.rows} rows x {args.columns} columns", file=sys.stderr)


if __name__ == "__main__":
    main()
