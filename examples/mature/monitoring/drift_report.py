"""Daily (monitor.yml): training/serving skew and drift, and quality on matured labels.

Reference: the training features (data/features/train.parquet).
Current:   the features serving/app.py logged over the last --days days (the log
           shipper flattens each JSON line into a row of SERVING_LOG). Both come
           from pipeline.features.build_features, so a difference is a change in the
           inputs or in how upstream systems fill them, not in our code.
Labels:    defaults are known ~90 days after the decision; scores logged 90-120
           days ago are joined with outcomes for the delayed-label AUC.
Results go to the Pushgateway (alerts in deploy/alerts.yaml) and reports/drift.html.
"""

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
from evidently.metric_preset import DataDriftPreset
from evidently.report import Report
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from sklearn.metrics import roc_auc_score

from pipeline.features import FEATURES

SERVING_LOG = os.environ.get("SERVING_LOG_URI", "s3://acme-ml-logs/credit-risk/features/")
OUTCOMES = os.environ.get("LABELS_URI", "s3://acme-ml-logs/credit-risk/outcomes/")


def serving_window(logs: pd.DataFrame, newest_days: int, oldest_days: int) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    age = now - logs["logged_at"]
    return logs[(age >= pd.Timedelta(days=newest_days)) & (age < pd.Timedelta(days=oldest_days))]


def delayed_label_auc(logs: pd.DataFrame) -> float | None:
    matured = serving_window(logs, 90, 120).merge(pd.read_parquet(OUTCOMES), on="application_id")
    if len(matured) < 1_000 or matured["defaulted"].nunique() < 2:
        return None
    return roc_auc_score(matured["defaulted"], matured["score"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--max-drift-share", type=float, default=0.3)
    args = parser.parse_args()

    logs = pd.read_parquet(SERVING_LOG)
    current = serving_window(logs, 0, args.days)[FEATURES]
    reference = pd.read_parquet("data/features/train.parquet")[FEATURES]

    report = Report(metrics=[DataDriftPreset(stattest="psi", stattest_threshold=0.2)])
    report.run(reference_data=reference, current_data=current)
    Path("reports").mkdir(exist_ok=True)
    report.save_html("reports/drift.html")
    drift = report.as_dict()["metrics"][0]["result"]

    registry = CollectorRegistry()
    Gauge(
        "credit_risk_feature_drift_share",
        "Share of features with PSI > 0.2 vs training",
        registry=registry,
    ).set(drift["share_of_drifted_columns"])
    Gauge(
        "credit_risk_serving_missing_share",
        "Share of missing feature values in serving",
        registry=registry,
    ).set(float(current.isna().mean().mean()))
    auc = delayed_label_auc(logs)
    if auc is not None:
        Gauge(
            "credit_risk_delayed_label_auc",
            "AUC on loans whose outcome is known",
            registry=registry,
        ).set(auc)
    push_to_gateway(os.environ["PUSHGATEWAY_URL"], job="credit-risk-monitor", registry=registry)

    print(
        f"drifted features: {drift['number_of_drifted_columns']}/{len(FEATURES)}, "
        f"delayed-label AUC: {auc if auc is None else round(auc, 4)}"
    )
    if drift["share_of_drifted_columns"] > args.max_drift_share:
        sys.exit("drift_report: training/serving skew above threshold, see reports/drift.html")


if __name__ == "__main__":
    main()
