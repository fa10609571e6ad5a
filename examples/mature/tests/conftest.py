"""Synthetic applications shaped like the warehouse export (no real customer data in tests)."""

import numpy as np
import pandas as pd
import pytest

from pipeline.schema import AGE_BANDS, COUNTRIES, TERMS


def make_raw_applications(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.4, 0.5, n).round(2)
    loan = rng.uniform(1_000, 40_000, n).round(2)
    history = rng.gamma(2.0, 60.0, n).round()
    history[rng.random(n) < 0.05] = np.nan  # applicants without a bureau file
    delinquencies = rng.poisson(0.3, n)
    logit = -4.0 + 2.5 * loan / income + 0.8 * delinquencies - 0.004 * np.nan_to_num(history, nan=0)
    return pd.DataFrame(
        {
            "application_id": [f"A{seed:02d}{i:07d}" for i in range(n)],
            "customer_id": rng.integers(1_000_000, 9_999_999, n).astype(str),
            "applied_at": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 540, n)), "D"),
            "country": rng.choice(COUNTRIES, n, p=[0.35, 0.15, 0.25, 0.15, 0.10]),
            "age_band": rng.choice(AGE_BANDS, n, p=[0.15, 0.40, 0.35, 0.10]),
            "income": income,
            "loan_amount": loan,
            "term_months": rng.choice(TERMS, n),
            "credit_history_months": history,
            "open_accounts": rng.poisson(4, n),
            "delinquencies_2y": delinquencies,
            "employment_years": rng.uniform(0, 30, n).round(1),
            "defaulted": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


@pytest.fixture(scope="session")
def raw_factory():
    return make_raw_applications


@pytest.fixture(scope="session")
def raw_applications() -> pd.DataFrame:
    return make_raw_applications(3_000)


@pytest.fixture(scope="session")
def applications(raw_applications) -> pd.DataFrame:
    from pipeline.data import prepare

    return prepare(raw_applications, salt="test-salt")


@pytest.fixture
def application() -> dict:
    """One valid request body for serving/app.py."""
    return {
        "application_id": "A000001",
        "country": "DE",
        "income": 42_000.0,
        "loan_amount": 12_000.0,
        "term_months": 36,
        "credit_history_months": 84.0,
        "open_accounts": 3,
        "delinquencies_2y": 0,
        "employment_years": 6.5,
    }
