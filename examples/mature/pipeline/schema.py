"""Expectations for prepared applications, enforced by `prepare` on every run.

Kept in step with the Great Expectations suite great_expectations/expectations/
training_data.json (tests/data/test_schema.py checks that they agree).
"""

import pandera as pa

COUNTRIES = ["DE", "ES", "FR", "IT", "NL"]
AGE_BANDS = ["18-25", "26-40", "41-60", "60+"]
TERMS = [12, 24, 36, 48, 60]


def _default_rate_plausible(df) -> bool:
    return 0.02 <= df["defaulted"].mean() <= 0.25


Applications = pa.DataFrameSchema(
    {
        "application_id": pa.Column(str, unique=True),
        "customer_key": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{16}$")),
        "applied_at": pa.Column("datetime64[ns]"),
        "country": pa.Column(str, pa.Check.isin(COUNTRIES)),
        "age_band": pa.Column(str, pa.Check.isin(AGE_BANDS)),
        "income": pa.Column(float, pa.Check.in_range(0, 5_000_000)),
        "loan_amount": pa.Column(float, pa.Check.in_range(500, 1_000_000)),
        "term_months": pa.Column(int, pa.Check.isin(TERMS)),
        "credit_history_months": pa.Column(float, pa.Check.ge(0), nullable=True),
        "open_accounts": pa.Column(int, pa.Check.in_range(0, 60)),
        "delinquencies_2y": pa.Column(int, pa.Check.in_range(0, 30)),
        "employment_years": pa.Column(float, pa.Check.in_range(0, 60), nullable=True),
        "defaulted": pa.Column(int, pa.Check.isin([0, 1])),
    },
    checks=pa.Check(_default_rate_plausible, name="default_rate_between_2_and_25_percent"),
    strict=True,
    coerce=True,
)
