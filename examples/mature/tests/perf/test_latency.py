"""Benchmarks (pytest-benchmark): serving latency and the cost of feature code.

CI stores the JSON report; a mean over budget fails the run.
"""

import mlflow
import pytest
from fastapi.testclient import TestClient

from pipeline.features import build_features
from pipeline.train import make_model

PREDICT_BUDGET_S = 0.02  # in-process; production SLO is p99 < 150 ms (deploy/alerts.yaml)
FEATURES_BUDGET_S = 0.05  # 10k rows


@pytest.fixture(scope="module")
def client(tmp_path_factory, applications):
    model = make_model({"n_estimators": 300, "num_leaves": 31}, seed=0)
    model.fit(build_features(applications), applications["defaulted"])
    path = tmp_path_factory.mktemp("model") / "model"
    mlflow.lightgbm.save_model(model, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_URI", str(path))
        from serving.app import app

        with TestClient(app) as c:
            yield c


def test_predict_latency(benchmark, client, application):
    response = benchmark(client.post, "/predict", json=application)
    assert response.status_code == 200
    assert benchmark.stats.stats.mean < PREDICT_BUDGET_S


def test_feature_build_cost(benchmark, raw_applications):
    batch = raw_applications.sample(10_000, replace=True, random_state=0)
    benchmark(build_features, batch)
    assert benchmark.stats.stats.mean < FEATURES_BUDGET_S
