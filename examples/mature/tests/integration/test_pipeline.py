"""The whole pipeline on a small synthetic sample: every stage, the validation gate,
then the registered model loaded by the serving app. Runs in CI on every PR."""

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from pipeline import data, evaluate, features, train, validate_model

REPO = Path(__file__).parents[2]


@pytest.fixture
def workdir(tmp_path, monkeypatch, raw_factory):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"].update(n_trials=3, cv_folds=3)
    params["evaluate"]["min_slice_size"] = 50
    params["validate"].update(min_auc=0.6, min_slice_auc=0.5, max_dpd=0.3)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data/raw").mkdir(parents=True)
    raw_factory(4_000, seed=1).to_parquet(tmp_path / "data/raw/applications.parquet")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTOMER_KEY_SALT", "integration")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    return tmp_path


@pytest.mark.slow
def test_pipeline_trains_validates_and_serves(workdir, monkeypatch, application):
    for stage in (data, features, train, evaluate):
        stage.main()
    validate_model.main(["--promote"])

    metrics = json.loads(Path("metrics.json").read_text())
    assert metrics["auc"] > metrics["baseline"]["prior_auc"] + 0.1
    assert set(metrics["slices"]["country"]) == {"DE", "ES", "FR", "IT", "NL"}
    assert json.loads(Path("reports/validation.json").read_text())["passed"]

    monkeypatch.setenv("MODEL_URI", "models:/credit-risk@champion")
    from serving.app import app

    with TestClient(app) as client:
        response = client.post("/predict", json=application)
        assert response.status_code == 200
        assert 0.0 < response.json()["default_probability"] < 1.0
        assert client.post("/predict", json={**application, "income": -5}).status_code == 422
        explained = client.post("/explain", json=application).json()
        assert set(explained["contributions"]) >= {"loan_to_income", "bias"}
