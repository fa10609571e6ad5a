"""Stage `evaluate`: test metrics for the model and for a majority-class baseline.

Writes metrics.json (tracked by DVC as a metric, committed to git) and fails the
stage if the model does not beat the baseline.
"""

import json
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.dummy import DummyClassifier
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score


def scores(model, X, y) -> dict:
    pred = model.predict(X)
    proba = model.predict_proba(X)[:, 1]
    return {
        "f1": round(f1_score(y, pred, zero_division=0), 4),
        "precision": round(precision_score(y, pred, zero_division=0), 4),
        "recall": round(recall_score(y, pred, zero_division=0), 4),
        "roc_auc": round(roc_auc_score(y, proba), 4),
    }


def main() -> None:
    X_train, y_train = sp.load_npz("data/features/train.npz"), np.load("data/features/train_y.npy")
    X_test, y_test = sp.load_npz("data/features/test.npz"), np.load("data/features/test_y.npy")
    model = joblib.load("model.pkl")
    baseline = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)

    metrics = {
        "model": scores(model, X_test, y_test),
        "baseline": scores(baseline, X_test, y_test),
        "n_test": int(len(y_test)),
    }
    Path("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))

    if metrics["model"]["f1"] <= metrics["baseline"]["f1"]:
        raise SystemExit("evaluate: model does not beat the majority-class baseline")


if __name__ == "__main__":
    main()
