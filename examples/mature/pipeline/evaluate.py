"""Stage `evaluate`: quality, simpler baselines, slices, fairness, numerics, importance.

Writes metrics.json (committed; mlscore diffs it between base and head of a PR)
and reports/feature_importance.json.
"""

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import shap
from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, recall_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline import load_params
from pipeline.features import FEATURES

NUMERIC = [f for f in FEATURES if f != "country"]


def baselines(train: pd.DataFrame, X: pd.DataFrame, y: pd.Series) -> dict:
    prior = DummyClassifier(strategy="prior").fit(train[FEATURES], train["defaulted"])
    linear = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
    linear.fit(train[NUMERIC], train["defaulted"])
    return {
        "prior_auc": round(roc_auc_score(y, prior.predict_proba(X)[:, 1]), 4),
        "linear_auc": round(roc_auc_score(y, linear.predict_proba(X[NUMERIC])[:, 1]), 4),
    }


def slice_auc(y: pd.Series, scores: np.ndarray, by: pd.Series, min_size: int) -> dict:
    frame = pd.DataFrame({"y": y.to_numpy(), "score": scores, "slice": by.to_numpy()})
    return {
        str(name): {"auc": round(roc_auc_score(g["y"], g["score"]), 4), "n": len(g)}
        for name, g in frame.groupby("slice", observed=True)
        if len(g) >= min_size and g["y"].nunique() == 2
    }


def main() -> None:
    cfg = load_params()["evaluate"]
    train = pd.read_parquet("data/features/train.parquet")
    test = pd.read_parquet("data/features/test.parquet")
    age_band = pd.read_parquet("data/prepared/test.parquet", columns=["age_band"])["age_band"]
    X, y = test[FEATURES], test["defaulted"]
    model = joblib.load("models/model.joblib")

    scores = model.predict_proba(X)[:, 1]
    if not np.isfinite(scores).all():
        raise SystemExit(f"evaluate: {int((~np.isfinite(scores)).sum())} non-finite scores")
    declined = (scores >= cfg["threshold"]).astype(int)

    groups = MetricFrame(
        metrics={"decline_rate": selection_rate, "recall": recall_score},
        y_true=y,
        y_pred=declined,
        sensitive_features=age_band,
    )
    metrics = {
        "auc": round(roc_auc_score(y, scores), 4),
        "pr_auc": round(average_precision_score(y, scores), 4),
        "brier": round(brier_score_loss(y, scores), 4),
        "baseline": baselines(train, X, y),
        "slices": {"country": slice_auc(y, scores, X["country"], cfg["min_slice_size"])},
        "fairness": {
            "age_band": {
                "demographic_parity_difference": round(
                    demographic_parity_difference(y, declined, sensitive_features=age_band), 4
                ),
                "by_group": groups.by_group.round(4).to_dict(orient="index"),
            }
        },
        "n_test": len(test),
    }
    Path("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    sample = X.sample(min(len(X), 2000), random_state=0)
    values = shap.TreeExplainer(model).shap_values(sample)
    values = values[1] if isinstance(values, list) else values
    importance = dict(zip(FEATURES, np.abs(values).mean(axis=0).round(5).tolist(), strict=True))
    Path("reports").mkdir(exist_ok=True)
    Path("reports/feature_importance.json").write_text(
        json.dumps(dict(sorted(importance.items(), key=lambda kv: -kv[1])), indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
