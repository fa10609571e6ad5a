"""Stage `features`, and the one implementation of feature logic.

serving/app.py imports build_features, so training and serving compute features
with the same code. Adding a feature: docs/features/adding-a-feature.md.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.schema import COUNTRIES

# Every feature and the upstream source it comes from. Only approved sources
# may feed the model (data governance review DG-112).
FEATURE_SOURCES = {
    "country": "application_form",
    "income_log": "application_form",
    "loan_to_income": "application_form",
    "payment_to_income": "application_form",
    "term_months": "application_form",
    "employment_years": "application_form",
    "credit_history_years": "credit_bureau",
    "open_accounts": "credit_bureau",
    "delinquencies_2y": "credit_bureau",
}
FEATURES = list(FEATURE_SOURCES)
APPROVED_SOURCES = {"application_form", "credit_bureau"}
# Never features: identifiers, the label, and protected attributes (used for fairness checks only).
DENYLIST = {"application_id", "customer_key", "applied_at", "defaulted", "age_band"}
ANNUAL_RATE = 0.069  # reference rate for the affordability ratio


def check_allowed(columns) -> None:
    denied = sorted(set(columns) & DENYLIST)
    unapproved = sorted(c for c in columns if FEATURE_SOURCES.get(c) not in APPROVED_SOURCES)
    if denied or unapproved:
        raise ValueError(f"disallowed features: denied={denied} unapproved={unapproved}")


def monthly_payment(amount: pd.Series, months: pd.Series) -> pd.Series:
    r = ANNUAL_RATE / 12
    return amount * r / (1 - (1 + r) ** -months)


def build_features(df: pd.DataFrame) -> pd.DataFrame:
    income = df["income"].clip(lower=1.0)  # zero income: ratios saturate at their caps
    out = pd.DataFrame(index=df.index)
    out["country"] = pd.Categorical(df["country"], categories=COUNTRIES)
    out["income_log"] = np.log1p(df["income"].clip(lower=0))
    out["loan_to_income"] = (df["loan_amount"] / income).clip(upper=20.0)
    out["payment_to_income"] = (
        12 * monthly_payment(df["loan_amount"], df["term_months"]) / income
    ).clip(upper=5.0)
    out["term_months"] = df["term_months"].astype("int64")
    out["employment_years"] = pd.to_numeric(df["employment_years"]).fillna(0.0)
    # missing stays NaN (no bureau file); LightGBM learns its own branch for it
    out["credit_history_years"] = pd.to_numeric(df["credit_history_months"]) / 12
    out["open_accounts"] = df["open_accounts"].astype("int64")
    out["delinquencies_2y"] = df["delinquencies_2y"].astype("int64")
    check_allowed(out.columns)
    return out[FEATURES]


def main() -> None:
    out = Path("data/features")
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        df = pd.read_parquet(f"data/prepared/{split}.parquet")
        features = build_features(df).assign(defaulted=df["defaulted"].to_numpy())
        features.to_parquet(out / f"{split}.parquet", index=False)


if __name__ == "__main__":
    main()
