"""Fits penaltyblog's Dixon-Coles on the folds bench/penaltyblog.mjs writes, and prints its predictions as JSON.

usage: python penaltyblog_dc.py FOLDS.json
input:  {"xi": float, "numericGradient": bool,
         "folds": [{"id", "train": {"home", "away", "hg", "ag", "dates"}, "test": {"home", "away"}}]}
output: {"version", "folds": [{"id", "fitSeconds", "iterations", "probs": [[h, d, a], ...], "probsNumeric"?}]} on stdout

Only the default .fit() calls are timed (time.perf_counter); building the model and predicting are not. With
numericGradient, each fold is fitted a second time with fit(use_gradient=False) (untimed): penaltyblog 1.13.1's
analytic Dixon-Coles gradient omits the derivative of the tau correction with respect to attack, defence and home
advantage, so the default fit stops short of the maximum likelihood; finite differences reach it.
"""

import json
import sys
import time
from datetime import date

import penaltyblog as pb


def predict(model, test) -> list:
    return [[float(p) for p in model.predict(h, a).home_draw_away] for h, a in zip(test["home"], test["away"])]


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
        result = {"id": fold["id"], "fitSeconds": seconds, "iterations": int(model._res.nit), "probs": predict(model, fold["test"])}
        if spec.get("numericGradient"):
            # Starts from the default fit's parameters (fit() resumes from them), which only saves time.
            model.fit(use_gradient=False)
            result["probsNumeric"] = predict(model, fold["test"])
        out.append(result)
    json.dump({"version": pb.__version__, "folds": out}, sys.stdout)


if __name__ == "__main__":
    main()
