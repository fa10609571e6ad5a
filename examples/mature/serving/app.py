"""Online scoring API for loan applications.

* Inputs are validated by a pydantic model mirroring pipeline/schema.py; rejects are counted.
* Features come from pipeline.features.build_features, the code training uses.
* Every scored request logs its features (JSON on stdout → serving-log bucket),
  which monitoring/drift_report.py compares with the training features.
* Prometheus metrics: latency, score distribution, non-finite scores, model age.
"""

import json
import logging
import math
import os
import sys
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Literal

import mlflow
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Gauge, Histogram, make_asgi_app
from pydantic import BaseModel, Field

from pipeline.features import FEATURES, build_features

feature_log = logging.getLogger("serving.features")
feature_log.setLevel(logging.INFO)
feature_log.addHandler(logging.StreamHandler(sys.stdout))
LATENCY = Histogram(
    "credit_risk_prediction_latency_seconds",
    "Time to score one application",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0),
)
SCORE = Histogram(
    "credit_risk_prediction_score",
    "Predicted probability of default",
    buckets=tuple(i / 20 for i in range(1, 20)),
)
PREDICTIONS = Counter("credit_risk_predictions_total", "Applications scored")
NON_FINITE = Counter("credit_risk_prediction_nan_total", "Scores that were NaN or infinite")
INVALID = Counter(
    "credit_risk_invalid_requests_total", "Requests rejected by validation", ["field"]
)
MODEL_AGE = Gauge("credit_risk_model_age_seconds", "Seconds since the served model was created")
state: dict = {}


class LoanApplication(BaseModel):
    application_id: str = Field(min_length=1, max_length=64)
    country: Literal["DE", "ES", "FR", "IT", "NL"]
    income: float = Field(ge=0, le=5_000_000)
    loan_amount: float = Field(ge=500, le=1_000_000)
    term_months: Literal[12, 24, 36, 48, 60]
    credit_history_months: float | None = Field(default=None, ge=0)
    open_accounts: int = Field(ge=0, le=60)
    delinquencies_2y: int = Field(ge=0, le=30)
    employment_years: float | None = Field(default=None, ge=0, le=60)


@asynccontextmanager
async def lifespan(app: FastAPI):
    uri = os.environ.get("MODEL_URI", "models:/credit-risk@champion")
    info = mlflow.models.get_model_info(uri)
    created = datetime.fromisoformat(info.utc_time_created).replace(tzinfo=timezone.utc)
    state.update(model=mlflow.lightgbm.load_model(uri), uri=uri, run_id=info.run_id)
    MODEL_AGE.set_function(lambda: (datetime.now(timezone.utc) - created).total_seconds())
    yield


app = FastAPI(title="credit-risk", lifespan=lifespan)
app.mount("/metrics", make_asgi_app())


@app.exception_handler(RequestValidationError)
async def count_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    for error in exc.errors():
        INVALID.labels(field=str(error["loc"][-1])).inc()
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(exc.errors())})


def features_of(application: LoanApplication) -> pd.DataFrame:
    return build_features(pd.DataFrame([application.model_dump()]))


@app.post("/predict")
def predict(application: LoanApplication) -> dict:
    started = time.perf_counter()
    features = features_of(application)
    score = float(state["model"].predict_proba(features)[0, 1])
    PREDICTIONS.inc()
    if not math.isfinite(score):
        NON_FINITE.inc()
        raise HTTPException(status_code=503, detail="model returned a non-finite score")
    SCORE.observe(score)
    feature_log.info(
        json.dumps(
            {
                "application_id": application.application_id,
                "model_run": state["run_id"],
                "score": score,
                "features": json.loads(features.to_json(orient="records"))[0],
            }
        )
    )
    LATENCY.observe(time.perf_counter() - started)
    return {"application_id": application.application_id, "default_probability": score}


@app.post("/explain")
def explain(application: LoanApplication) -> dict:
    """Debug one application: its features and each feature's contribution (log-odds)."""
    features = features_of(application)
    contributions = state["model"].predict(features, pred_contrib=True)[0]
    return {
        "features": json.loads(features.to_json(orient="records"))[0],
        "contributions": dict(zip([*FEATURES, "bias"], map(float, contributions), strict=True)),
        "default_probability": float(state["model"].predict_proba(features)[0, 1]),
    }


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok", "model_uri": state.get("uri"), "model_run": state.get("run_id")}
