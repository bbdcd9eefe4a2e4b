"""The serve benchmark's Python baseline: FastAPI + uvicorn + onnxruntime scoring oracx's exported ONNX model.

POST /v1/predict takes the same body as oracx's (a pydantic model of the pairing), looks the pairing's feature vector
up in a dict of precomputed float32 [1, F] arrays and answers with one session.run per request. Started by
bench/serve.mjs as `uvicorn serve_fastapi:app`, with ORACX_BENCH_ONNX (model.onnx) and ORACX_BENCH_VECTORS (JSON
{"E0|Arsenal|Chelsea|2020-09-12": [...]}) in the environment; ORACX_BENCH_SYNC=1 serves from a plain def instead of
a coroutine.
"""
import json
import os

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
# One thread per run: a one-row run gains nothing from a pool, and with 2 workers each would spin threads on 2 CPUs.
options.intra_op_num_threads = int(os.environ.get("ORACX_BENCH_ORT_THREADS", "1"))
session = ort.InferenceSession(os.environ["ORACX_BENCH_ONNX"], options, providers=["CPUExecutionProvider"])

with open(os.environ["ORACX_BENCH_VECTORS"], encoding="utf-8") as f:
    VECTORS = {key: np.asarray([row], dtype=np.float32) for key, row in json.load(f).items()}


class Pairing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competition: str = Field(min_length=1, max_length=100)
    home: str = Field(min_length=1, max_length=100)
    away: str = Field(min_length=1, max_length=100)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


app = FastAPI()


def score(p: Pairing) -> dict:
    x = VECTORS.get(f"{p.competition}|{p.home}|{p.away}|{p.date}")
    if x is None:
        raise HTTPException(status_code=404, detail="unknown pairing")
    probs = session.run(["probs"], {"features": x})[0][0]
    return {
        "competition": p.competition,
        "home": p.home,
        "away": p.away,
        "date": p.date,
        "probabilities": {"home": float(probs[0]), "draw": float(probs[1]), "away": float(probs[2])},
    }


if os.environ.get("ORACX_BENCH_SYNC") == "1":
    # FastAPI's tutorial style: a plain def, which FastAPI runs in its thread pool.
    @app.post("/v1/predict")
    def predict(p: Pairing):
        return score(p)

else:
    # A coroutine: no thread hop; session.run on one row is short enough to run on the event loop.
    @app.post("/v1/predict")
    async def predict(p: Pairing):
        return score(p)
