import joblib
import numpy as np
from sklearn.metrics import roc_auc_score

from pipeline.features import FEATURES, build_features
from pipeline.train import make_model

SMALL = {"n_estimators": 50, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20}


def test_can_overfit_a_tiny_batch(applications):
    batch = applications.head(64)
    X, y = build_features(batch), batch["defaulted"]
    tiny = {"n_estimators": 200, "num_leaves": 31, "min_child_samples": 2, "learning_rate": 0.3}
    model = make_model(tiny, seed=0).fit(X, y)
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.99


def test_scores_are_finite_probabilities(applications):
    X, y = build_features(applications), applications["defaulted"]
    scores = make_model(SMALL, seed=0).fit(X, y).predict_proba(X)[:, 1]
    assert np.isfinite(scores).all()
    assert ((scores > 0) & (scores < 1)).all()


def test_same_seed_same_model(applications):
    X, y = build_features(applications), applications["defaulted"]
    a = make_model(SMALL, seed=7).fit(X, y).predict_proba(X)
    b = make_model(SMALL, seed=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_save_and_restore_gives_identical_predictions(tmp_path, applications):
    X, y = build_features(applications), applications["defaulted"]
    model = make_model(SMALL, seed=0).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(model.predict_proba(X), restored.predict_proba(X))
    assert list(restored.feature_name_) == FEATURES
