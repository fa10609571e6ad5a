import numpy as np
import pandas as pd
import pytest

from pipeline.data import prepare, pseudonymize
from pipeline.features import (
    APPROVED_SOURCES,
    DENYLIST,
    FEATURE_SOURCES,
    FEATURES,
    build_features,
    check_allowed,
)


def one(**overrides) -> pd.DataFrame:
    row = {
        "country": "DE",
        "income": 40_000.0,
        "loan_amount": 10_000.0,
        "term_months": 36,
        "credit_history_months": 60.0,
        "open_accounts": 2,
        "delinquencies_2y": 0,
        "employment_years": 3.0,
    }
    return pd.DataFrame([{**row, **overrides}])


def test_columns_are_the_model_features_in_order(applications):
    assert list(build_features(applications).columns) == FEATURES


def test_ratios_are_capped_for_zero_income():
    f = build_features(one(income=0.0)).iloc[0]
    assert f["loan_to_income"] == 20.0
    assert f["payment_to_income"] == 5.0
    assert f["income_log"] == 0.0


def test_payment_to_income_matches_an_annuity():
    f = build_features(one(income=12_000.0, loan_amount=12_000.0, term_months=12)).iloc[0]
    assert f["payment_to_income"] == pytest.approx(1.038, abs=1e-3)  # 12 payments at 6.9 %/yr


@pytest.mark.parametrize("missing", [None, np.nan])  # None is what serving receives
def test_missing_bureau_history_stays_missing_and_employment_defaults_to_zero(missing):
    f = build_features(one(credit_history_months=missing, employment_years=missing)).iloc[0]
    assert np.isnan(f["credit_history_years"])
    assert f["employment_years"] == 0.0


def test_unknown_country_becomes_missing_not_a_new_category():
    f = build_features(one(country="XX"))
    assert f["country"].isna().all()
    assert list(f["country"].cat.categories) == ["DE", "ES", "FR", "IT", "NL"]


def test_features_only_from_approved_sources():
    assert set(FEATURE_SOURCES.values()) <= APPROVED_SOURCES
    assert not DENYLIST & set(FEATURES)


@pytest.mark.parametrize("column", ["age_band", "customer_key", "defaulted", "postcode"])
def test_denied_or_unregistered_columns_are_refused(column):
    with pytest.raises(ValueError, match="disallowed features"):
        check_allowed([*FEATURES, column])


def test_pii_in_the_export_fails_the_prepare_stage(raw_applications):
    with pytest.raises(ValueError, match="PII columns"):
        prepare(raw_applications.assign(email="someone@example.com"), salt="s")


def test_customer_keys_are_stable_salted_and_not_the_raw_id():
    ids = pd.Series(["1234567", "1234567", "7654321"])
    keys = pseudonymize(ids, salt="a")
    assert keys[0] == keys[1] != keys[2]
    assert (keys != pseudonymize(ids, salt="b")).all()
    assert not keys.str.contains("1234567").any()
