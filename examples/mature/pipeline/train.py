"""Stage `train`: tune LightGBM with optuna, fit, log to MLflow, register a challenger.

The registered version gets the alias `challenger`; only validate_model.py
--promote moves `champion` (what serving loads), keeping `previous` for rollback.
"""

import json
import os
import random
import time
from pathlib import Path

import joblib
import lightgbm as lgb
import mlflow
import numpy as np
import optuna
import pandas as pd
from mlflow import MlflowClient
from sklearn.model_selection import StratifiedKFold, cross_val_score

from pipeline import MODEL_NAME, load_params
from pipeline.features import FEATURES


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - libraries that still draw from the global state


def make_model(params: dict, seed: int) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(**params, random_state=seed, deterministic=True, n_jobs=1, verbose=-1)


def tune(X: pd.DataFrame, y: pd.Series, cfg: dict, seed: int) -> optuna.Study:
    cv = StratifiedKFold(n_splits=cfg["cv_folds"], shuffle=True, random_state=seed)

    def objective(trial: optuna.Trial) -> float:
        params = {
            "n_estimators": trial.suggest_int("n_estimators", 100, 800, step=50),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 10, 200, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        }
        return cross_val_score(make_model(params, seed), X, y, cv=cv, scoring="roc_auc").mean()

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=cfg["n_trials"], timeout=cfg["timeout_minutes"] * 60)
    return study


def main() -> None:
    params = load_params()
    seed = params["seed"]
    set_seeds(seed)
    train = pd.read_parquet("data/features/train.parquet")
    X, y = train[FEATURES], train["defaulted"]

    mlflow.set_experiment(MODEL_NAME)
    with mlflow.start_run() as run:
        started = time.perf_counter()
        study = tune(X, y, params["train"], seed)
        model = make_model(study.best_params, seed).fit(X, y)
        mlflow.log_params({**study.best_params, "seed": seed, "n_trials": len(study.trials)})
        mlflow.log_metrics(
            {"cv_auc": study.best_value, "train_seconds": time.perf_counter() - started}
        )
        mlflow.set_tag("git_commit", os.environ.get("GITHUB_SHA", "local"))
        mlflow.lightgbm.log_model(model, "model", input_example=X.head(3))

    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL_NAME)
    MlflowClient().set_registered_model_alias(MODEL_NAME, "challenger", version.version)

    Path("models").mkdir(exist_ok=True)
    joblib.dump(model, "models/model.joblib")
    Path("models/run.json").write_text(
        json.dumps(
            {
                "run_id": run.info.run_id,
                "version": version.version,
                "cv_auc": round(study.best_value, 4),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
