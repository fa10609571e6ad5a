"""Stage `prepare`: refuse PII, pseudonymise the customer id, validate, split by time.

The raw export (warehouse view risk.applications_ml) must not contain direct
identifiers; if one appears the stage fails instead of silently dropping it.
"""

import hashlib
import os
from pathlib import Path

import pandas as pd

from pipeline import load_params
from pipeline.schema import Applications

RAW = Path("data/raw/applications.parquet")
OUT = Path("data/prepared")
PII_COLUMNS = {"full_name", "email", "phone", "date_of_birth", "address", "iban", "national_id"}


def pseudonymize(customer_id: pd.Series, salt: str) -> pd.Series:
    """Salted SHA-256, truncated: a stable join key that cannot be reversed without the salt."""
    return customer_id.astype(str).map(
        lambda c: hashlib.sha256(f"{salt}{c}".encode()).hexdigest()[:16]
    )


def prepare(raw: pd.DataFrame, salt: str) -> pd.DataFrame:
    leaked = sorted(PII_COLUMNS & set(raw.columns))
    if leaked:
        raise ValueError(f"PII columns in the training export: {leaked}; fix the warehouse view")
    df = raw.copy()
    df["customer_key"] = pseudonymize(df.pop("customer_id"), salt)
    return Applications.validate(df, lazy=True)


def split_by_time(df: pd.DataFrame, test_months: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cutoff = df["applied_at"].max() - pd.DateOffset(months=test_months)
    return df[df["applied_at"] <= cutoff], df[df["applied_at"] > cutoff]


def main() -> None:
    params = load_params()["data"]
    df = prepare(pd.read_parquet(RAW), salt=os.environ["CUSTOMER_KEY_SALT"])
    train, test = split_by_time(df, params["test_months"])
    OUT.mkdir(parents=True, exist_ok=True)
    train.to_parquet(OUT / "train.parquet", index=False)
    test.to_parquet(OUT / "test.parquet", index=False)
    print(f"prepare: {len(train)} train / {len(test)} test applications")


if __name__ == "__main__":
    main()
