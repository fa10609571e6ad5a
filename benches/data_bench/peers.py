"""The peers of `mlscore data` in the data benchmark, each doing the same work.

    python peers.py polars   SCHEMA FILE   # bare polars lazy scan, same aggregates
    python peers.py pandera  SCHEMA FILE   # pandera, polars backend
    python peers.py gx       SCHEMA FILE   # Great Expectations, pandas
    python peers.py evidently SCHEMA REF CUR   # Evidently DataDriftPreset report

The checks are not written by hand per tool: each is translated from the
mlscore schema (schema.yaml), rule by rule, so every tool checks the same
things. Each prints one line saying how many checks failed (0 on the
benchmark's clean data), so a broken translation shows up as a failure.
"""

import datetime as dt
import sys

import yaml

TYPES = {
    "int": ("Int64",),
    "float": ("Float64", "Int64"),
    "string": ("String",),
    "bool": ("Boolean",),
    "date": ("Date",),
    "datetime": ("Datetime",),
}


def load(schema_path):
    with open(schema_path) as f:
        return yaml.safe_load(f)


def bound(value, rules):
    """A bound as the column's type wants it (dates are written as text)."""
    if rules.get("type") == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


# --- bare polars --------------------------------------------------------------


def scan_polars(path):
    import polars as pl

    if path.endswith(".parquet"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, try_parse_dates=True, infer_schema_length=10_000)


def run_polars(schema_path, path):
    """The aggregates `mlscore data validate` computes, in one streamed query."""
    import polars as pl

    schema = load(schema_path)
    lf = scan_polars(path)
    names = lf.collect_schema().names()
    exprs = [pl.len().alias("rows")]
    exprs += [pl.col(n).null_count().alias(f"parsed_{n}") for n in names]
    for name, r in schema["columns"].items():
        c = pl.col(name)
        exprs.append(c.null_count().alias(f"nulls_{name}"))
        if "min" in r:
            exprs.append((c < bound(r["min"], r)).sum().alias(f"below_{name}"))
            exprs.append(c.min().alias(f"min_{name}"))
        if "max" in r:
            exprs.append((c > bound(r["max"], r)).sum().alias(f"above_{name}"))
            exprs.append(c.max().alias(f"max_{name}"))
        if "allowed" in r:
            exprs.append((~c.cast(pl.String).is_in([str(v) for v in r["allowed"]])).sum().alias(f"unseen_{name}"))
        if "pattern" in r:
            exprs.append((~c.cast(pl.String).str.contains(f"^(?:{r['pattern']})$")).sum().alias(f"nomatch_{name}"))
        if r.get("unique"):
            exprs.append(c.drop_nulls().n_unique().alias(f"distinct_{name}"))
        if r.get("finite"):
            exprs.append((c.is_nan() | c.is_infinite()).sum().alias(f"nonfinite_{name}"))
    stats = lf.select(exprs).collect(engine="streaming").row(0, named=True)

    rows = stats["rows"]
    failed = 0
    for name, r in schema["columns"].items():
        nulls = stats[f"nulls_{name}"]
        failed += r.get("nullable") is False and nulls > 0
        failed += "max_null_fraction" in r and nulls / rows > r["max_null_fraction"]
        for key in ("below", "above", "unseen", "nomatch", "nonfinite"):
            failed += (stats.get(f"{key}_{name}") or 0) > 0
        if r.get("unique"):
            failed += stats[f"distinct_{name}"] != rows - nulls
    print(f"polars: {rows} rows, {failed} failed checks")


# --- pandera (polars backend) -------------------------------------------------


def run_pandera(schema_path, path):
    import pandera.polars as pa
    import polars as pl

    schema = load(schema_path)
    dtypes = {"int": pl.Int64, "float": pl.Float64, "string": pl.String, "bool": pl.Boolean, "date": pl.Date}

    def finite(data):
        return data.lazyframe.select(pl.col(data.key).is_finite() | pl.col(data.key).is_null())

    def null_fraction(limit):
        def check(data):
            return data.lazyframe.select((pl.col(data.key).null_count() / pl.len()) <= limit)

        return pa.Check(check, name=f"max_null_fraction({limit})")

    columns = {}
    for name, r in schema["columns"].items():
        checks = []
        if "min" in r:
            checks.append(pa.Check.ge(bound(r["min"], r)))
        if "max" in r:
            checks.append(pa.Check.le(bound(r["max"], r)))
        if "allowed" in r:
            checks.append(pa.Check.isin([str(v) for v in r["allowed"]]))
        if "pattern" in r:
            checks.append(pa.Check.str_matches(f"^(?:{r['pattern']})$"))
        if r.get("finite"):
            checks.append(pa.Check(finite, name="finite"))
        if "max_null_fraction" in r:
            checks.append(null_fraction(r["max_null_fraction"]))
        columns[name] = pa.Column(
            dtypes[r["type"]],
            checks=checks,
            nullable=r.get("nullable", True),
            unique=bool(r.get("unique")),
        )
    rows = schema.get("rows", {})
    frame_checks = [
        pa.Check(lambda data: data.lazyframe.select(pl.len().is_between(rows.get("min", 0), rows.get("max", 2**62))))
    ]
    pandera_schema = pa.DataFrameSchema(
        columns, checks=frame_checks, strict=schema.get("extra_columns") == "deny"
    )
    # A DataFrame, not a LazyFrame: pandera checks only dtypes of a LazyFrame
    # unless told to validate its data too.
    df = scan_polars(path).collect()
    try:
        pandera_schema.validate(df, lazy=True)
        failed = 0
    except pa.errors.SchemaErrors as err:
        failed = len(err.failure_cases)
    print(f"pandera: {df.height} rows, {failed} failed checks")


# --- Great Expectations ---------------------------------------------------------


def run_gx(schema_path, path):
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    schema = load(schema_path)
    pandas_types = {
        "int": ["int64", "Int64"],
        "float": ["float64", "Float64", "int64"],
        "string": ["object", "str", "string"],
        "bool": ["bool", "boolean"],
        "date": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    }
    context = gx.get_context(mode="ephemeral")
    try:  # no progress bars: they cost time and clutter the log
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except ImportError:
        pass
    suite = gx.ExpectationSuite(name="bench")
    rows = schema.get("rows", {})
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=rows.get("min"), max_value=rows.get("max")))
    if schema.get("extra_columns") == "deny":
        suite.add_expectation(gxe.ExpectTableColumnsToMatchSet(column_set=list(schema["columns"]), exact_match=True))
    for name, r in schema["columns"].items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=pandas_types[r["type"]]))
        if r.get("nullable") is False:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name))
        if "max_null_fraction" in r:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - r["max_null_fraction"]))
        if "min" in r or "max" in r:
            lo, hi = r.get("min"), r.get("max")
            if r["type"] == "date":
                lo, hi = (pd.Timestamp(v) if v is not None else None for v in (lo, hi))
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=lo, max_value=hi))
        if "allowed" in r:
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=[str(v) for v in r["allowed"]]))
        if "pattern" in r:
            suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=f"^(?:{r['pattern']})$"))
        if r.get("unique"):
            suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=name))
        if r.get("finite"):
            # GX has no "finite" expectation; a range as wide as float64 excludes ±inf.
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=-1.7e308, max_value=1.7e308))

    dates = [n for n, r in schema["columns"].items() if r["type"] == "date"]
    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
        for name in dates:  # pyarrow's dates arrive as Python objects
            df[name] = pd.to_datetime(df[name])
    else:
        df = pd.read_csv(path, parse_dates=dates)
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    result = batch.validate(suite)
    failed = sum(not r.success for r in result.results)
    for r in result.results:
        if not r.success:
            print(f"gx: failed {r.expectation_config.type} {r.expectation_config.kwargs.get('column')}", file=sys.stderr)
    print(f"gx: {len(df)} rows, {failed} failed checks")


# --- Evidently ----------------------------------------------------------------


def run_evidently(schema_path, ref_path, cur_path):
    """A data-drift report over the schema's columns, typed as the schema says."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = load(schema_path)["columns"]
    numeric = [n for n, r in columns.items() if r["type"] in ("int", "float")]
    categorical = [n for n in columns if n not in numeric]

    def read(path):
        if path.endswith(".parquet"):
            return pd.read_parquet(path, columns=list(columns))
        return pd.read_csv(path, usecols=list(columns))

    ref, cur = read(ref_path), read(cur_path)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset()])
    snapshot = report.run(
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
        current_data=Dataset.from_pandas(cur, data_definition=definition),
    )
    drifted = None
    for metric in snapshot.dict().get("metrics", []):
        if "DriftedColumnsCount" in str(metric.get("metric_name", "")):
            drifted = int(metric.get("value", {}).get("count", 0))
    print(f"evidently: {len(ref)} vs {len(cur)} rows, {len(columns)} columns, {drifted} drifted")


if __name__ == "__main__":
    tool, *args = sys.argv[1:]
    {"polars": run_polars, "pandera": run_pandera, "gx": run_gx, "evidently": run_evidently}[tool](*args)
