"""Stage `validate`: block promotion unless the challenger is good enough to serve.

Thresholds live in params.yaml `validate`:
  * absolute floors (overall AUC, every country's AUC): catch slow leaks that
    a chain of "only slightly worse" models would otherwise let through;
  * relative: no more than `max_auc_drop` below the production model (`champion`),
    both scored on this test set: catches sudden drops;
  * fairness: demographic parity difference across age bands.
With --promote (retrain.yml only) a passing challenger becomes `champion` and the
old champion keeps the alias `previous` (see docs/runbooks/rollback.md).
"""

import argparse
import json
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import roc_auc_score

from pipeline import MODEL_NAME, load_params
from pipeline.features import FEATURES


def champion_auc(X: pd.DataFrame, y: pd.Series) -> float | None:
    try:
        champion = mlflow.lightgbm.load_model(f"models:/{MODEL_NAME}@champion")
    except MlflowException:
        return None  # first model, or a CI run against a local tracking store
    return round(roc_auc_score(y, champion.predict_proba(X)[:, 1]), 4)


def problems(metrics: dict, prod_auc: float | None, cfg: dict) -> list[str]:
    found = []
    if metrics["auc"] < cfg["min_auc"]:
        found.append(f"AUC {metrics['auc']} below floor {cfg['min_auc']}")
    for country, m in metrics["slices"]["country"].items():
        if m["auc"] < cfg["min_slice_auc"]:
            found.append(f"AUC for country={country} is {m['auc']} < {cfg['min_slice_auc']}")
    dpd = metrics["fairness"]["age_band"]["demographic_parity_difference"]
    if dpd > cfg["max_dpd"]:
        found.append(f"demographic parity difference {dpd} > {cfg['max_dpd']}")
    if prod_auc is not None and metrics["auc"] < prod_auc - cfg["max_auc_drop"]:
        found.append(f"AUC {metrics['auc']} is worse than production ({prod_auc})")
    return found


def promote() -> None:
    client = MlflowClient()
    challenger = client.get_model_version_by_alias(MODEL_NAME, "challenger")
    try:
        current = client.get_model_version_by_alias(MODEL_NAME, "champion")
        client.set_registered_model_alias(MODEL_NAME, "previous", current.version)
    except MlflowException:
        pass
    client.set_registered_model_alias(MODEL_NAME, "champion", challenger.version)
    print(f"validate: version {challenger.version} is now champion")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--promote", action="store_true")
    args = parser.parse_args(argv)

    metrics = json.loads(Path("metrics.json").read_text())
    test = pd.read_parquet("data/features/test.parquet")
    prod_auc = champion_auc(test[FEATURES], test["defaulted"])
    found = problems(metrics, prod_auc, load_params()["validate"])

    Path("reports").mkdir(exist_ok=True)
    Path("reports/validation.json").write_text(
        json.dumps(
            {
                "passed": not found,
                "problems": found,
                "challenger_auc": metrics["auc"],
                "champion_auc": prod_auc,
            },
            indent=2,
        )
        + "\n"
    )
    if found:
        sys.exit("validate: model blocked:\n  " + "\n  ".join(found))
    if args.promote:
        promote()


if __name__ == "__main__":
    main()
