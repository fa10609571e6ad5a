import json
from pathlib import Path

import pandera as pa
import pytest

from pipeline.schema import COUNTRIES, TERMS, Applications

SUITE = Path(__file__).parents[2] / "great_expectations/expectations/training_data.json"
PREPARED = Path("data/prepared/train.parquet")


def test_synthetic_applications_pass(applications):
    Applications.validate(applications)


@pytest.mark.parametrize(
    "column, value",
    [("income", -1.0), ("country", "UK"), ("term_months", 18), ("customer_key", "not-a-hash")],
)
def test_out_of_range_values_are_rejected(applications, column, value):
    bad = applications.copy()
    bad.loc[bad.index[0], column] = value
    with pytest.raises(pa.errors.SchemaErrors):
        Applications.validate(bad, lazy=True)


def test_duplicate_application_ids_are_rejected(applications):
    bad = applications.copy()
    bad.loc[bad.index[1], "application_id"] = bad["application_id"].iloc[0]
    with pytest.raises(pa.errors.SchemaError):
        Applications.validate(bad)


def test_implausible_default_rate_is_rejected(applications):
    with pytest.raises(pa.errors.SchemaError):
        Applications.validate(applications.assign(defaulted=1))


def test_pandera_schema_and_gx_suite_agree():
    suite = json.loads(SUITE.read_text())
    in_set = {
        e["kwargs"]["column"]: e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert sorted(in_set["country"]) == COUNTRIES
    assert sorted(in_set["term_months"]) == TERMS
    columns = next(
        e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set"
    )
    assert set(columns["kwargs"]["column_set"]) == set(Applications.columns)


@pytest.mark.skipif(not PREPARED.exists(), reason="no prepared data: run `dvc pull` or `dvc repro`")
def test_prepared_training_data_matches_schema():
    import pandas as pd

    Applications.validate(pd.read_parquet(PREPARED), lazy=True)
