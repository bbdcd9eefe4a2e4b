"""Python side of bench/mlflow-log.mjs: logs the benchmark's metrics and params with MLflow's own client.

Usage: python mlflow_log.py TRACKING_URI EXPERIMENT_ID MODE   (MODE: sync | async)
Prints one JSON line: {"ms": <log_batch time>, "run_id": ...}. Only the log_batch call is timed: interpreter start-up,
imports, run creation, a warm-up call and building the Metric/Param objects are not.
"""
import json
import math
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

T0 = 1_700_000_000_000
KEYS = 10
STEPS = 1000
PARAMS = 200


def main() -> None:
    uri, experiment_id, mode = sys.argv[1:4]
    client = MlflowClient(tracking_uri=uri)
    run_id = client.create_run(experiment_id, run_name=f"python-{mode}").info.run_id
    # Warm the HTTP session and the imports log_batch makes, as the oracx side is warm too.
    client.log_batch(run_id, params=[Param("warmup", "1")])
    metrics = [Metric(f"m{k}", math.sin(k * STEPS + s), T0 + s, s) for k in range(KEYS) for s in range(STEPS)]
    params = [Param(f"p{i}", f"value-{i}") for i in range(PARAMS)]
    start = time.perf_counter()
    if mode == "sync":
        client.log_batch(run_id, metrics=metrics, params=params)
    else:
        # MLflow's asynchronous logging: batches go out on a thread pool; wait() returns once all are stored.
        client.log_batch(run_id, metrics=metrics, params=params, synchronous=False).wait()
    ms = (time.perf_counter() - start) * 1000
    client.set_terminated(run_id)
    print(json.dumps({"ms": ms, "run_id": run_id}))


if __name__ == "__main__":
    main()
