"""Fits penaltyblog's Dixon-Coles on the folds bench/penaltyblog.mjs writes, and prints its predictions as JSON.

usage: python penaltyblog_dc.py FOLDS.json
input:  {"xi": float, "folds": [{"id", "train": {"home", "away", "hg", "ag", "dates"}, "test": {"home", "away"}}]}
output: {"version", "folds": [{"id", "fitSeconds", "iterations", "probs": [[h, d, a], ...]}]} on stdout

Only the .fit() calls are timed (time.perf_counter); building the model and predicting are not.
"""

import json
import sys
import time
from datetime import date

import penaltyblog as pb


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    xi = float(spec["xi"])
    out = []
    for fold in spec["folds"]:
        train = fold["train"]
        dates = [date.fromisoformat(d) for d in train["dates"]]
        # Decay from the last training match, the same base oracx uses.
        weights = pb.models.dixon_coles_weights(dates, xi, base_date=max(dates))
        model = pb.models.DixonColesGoalModel(train["hg"], train["ag"], train["home"], train["away"], weights)
        started = time.perf_counter()
        model.fit()
        seconds = time.perf_counter() - started
        test = fold["test"]
        probs = [[float(p) for p in model.predict(h, a).home_draw_away] for h, a in zip(test["home"], test["away"])]
        out.append({"id": fold["id"], "fitSeconds": seconds, "iterations": int(model._res.nit), "probs": probs})
    json.dump({"version": pb.__version__, "folds": out}, sys.stdout)


if __name__ == "__main__":
    main()
