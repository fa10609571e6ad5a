"""Feast definitions for credit-risk features. Process: docs/features/adding-a-feature.md.

Bureau attributes are looked up online at scoring time; application-form fields
arrive in the request. Tags record owner, approved source and measured lookup cost.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float32, Int64

customer = Entity(
    name="customer",
    join_keys=["customer_key"],
    description="Pseudonymised customer (salted SHA-256, pipeline/data.py)",
)

bureau_daily = FileSource(
    name="credit_bureau_daily",
    path="s3://acme-feast/credit_risk/bureau_daily.parquet",
    timestamp_field="snapshot_date",
    created_timestamp_column="ingested_at",
)

bureau_features = FeatureView(
    name="bureau_features",
    entities=[customer],
    ttl=timedelta(days=35),
    schema=[
        Field(name="credit_history_months", dtype=Float32),
        Field(name="open_accounts", dtype=Int64),
        Field(name="delinquencies_2y", dtype=Int64),
    ],
    source=bureau_daily,
    online=True,
    tags={"owner": "risk-ml", "source": "credit_bureau", "pii": "none", "lookup_p99_ms": "4"},
)

credit_risk_v2 = FeatureService(
    name="credit_risk_v2",
    features=[bureau_features],
    description="Features served to the credit-risk model since 2.0",
)
