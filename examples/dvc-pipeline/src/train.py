"""Stage `train`: an L2 logistic regression on the features, fully seeded."""

import random
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
import yaml
from sklearn.linear_model import LogisticRegression


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def train_model(X, y, params: dict, seed: int) -> LogisticRegression:
    model = LogisticRegression(
        C=params["C"],
        class_weight=params["class_weight"],
        max_iter=params["max_iter"],
        solver="liblinear",
        random_state=seed,
    )
    return model.fit(X, y)


def main() -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    set_seeds(params["seed"])
    X = sp.load_npz("data/features/train.npz")
    y = np.load("data/features/train_y.npy")
    model = train_model(X, y, params["train"], seed=params["seed"])
    joblib.dump(model, "model.pkl")
    print(f"train: fitted on {X.shape[0]} messages, {X.shape[1]} features")


if __name__ == "__main__":
    main()
