import joblib
import numpy as np

from features import fit_vectorizer, transform
from train import train_model

FEATURIZE = {"max_features": 500, "ngram_range": [1, 1], "min_df": 1}
TRAIN = {"C": 4.0, "class_weight": "balanced", "max_iter": 200}


def featurize(messages):
    vec = fit_vectorizer(messages["message"], FEATURIZE)
    y = (messages["label"] == "spam").to_numpy(dtype=np.int8)
    return transform(vec, messages["message"]), y


def test_can_overfit_a_tiny_batch(messages):
    X, y = featurize(messages)
    model = train_model(X, y, {**TRAIN, "C": 1000.0}, seed=0)
    assert (model.predict(X) == y).all()


def test_scores_are_probabilities(messages):
    X, y = featurize(messages)
    proba = train_model(X, y, TRAIN, seed=0).predict_proba(X)[:, 1]
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()


def test_training_twice_gives_the_same_model(messages):
    X, y = featurize(messages)
    a = train_model(X, y, TRAIN, seed=42)
    b = train_model(X, y, TRAIN, seed=42)
    np.testing.assert_allclose(a.coef_, b.coef_)


def test_model_survives_save_and_load(tmp_path, messages):
    X, y = featurize(messages)
    model = train_model(X, y, TRAIN, seed=0)
    joblib.dump(model, tmp_path / "model.pkl")
    restored = joblib.load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(model.predict_proba(X), restored.predict_proba(X))
