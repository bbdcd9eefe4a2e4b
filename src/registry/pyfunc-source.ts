/**
 * The Python loader module shipped in every model package (`code/oracx_pyfunc.py`, the python_function flavor's
 * `loader_module`). MLflow prepends the package's `code` folder to sys.path and calls `_load_pyfunc(<package>/model.onnx)`;
 * the object it returns turns a pandas DataFrame with named columns (feature values, team names, competition codes)
 * into the graph's tensors and answers home/draw/away columns.
 *
 * Kept as a string here rather than a .py file beside the sources: the CLI is bundled by esbuild (scripts/bundle.mjs)
 * and also run from src/ by tsx/vitest, and a string needs no copy step to be found in both. The integration tests
 * (tests/integration/mlflow-pyfunc.test.ts) run it under Python's MLflow, also as written by the built CLI.
 */

/** Name of the loader module, and of its file under the package's `code/` folder. */
export const PYFUNC_MODULE = 'oracx_pyfunc';

/** The JSON file (at the package root) holding what the wrapper maps columns with; see PyfuncInputs in pyfunc.ts. */
export const PYFUNC_INPUTS_FILE = 'pyfunc-inputs.json';

/** Source of code/oracx_pyfunc.py. No backticks or dollar-brace sequences in it (it is a template literal). */
// biome-ignore lint/complexity/noUselessStringRaw: Python source; String.raw keeps any backslash it gains literal
export const PYFUNC_SOURCE = String.raw`"""MLflow pyfunc loader for oracx model packages (written by oracx register; do not edit).

MLflow adds this package's code/ folder to sys.path and calls _load_pyfunc(<package>/model.onnx). The returned
model scores a pandas DataFrame with named columns:

  * feature models: one numeric column per feature name, cast to float32 (the signature says double, so
    MLflow's schema check in front of this module accepts float64, float32 and int up to 32 bits, not int64);
  * rating models (dixon-coles, ensembles with a dixon-coles member): string columns competition, home_team and
    away_team. Team names are the oracx store's names, listed in pyfunc-inputs.json (matched exactly, else
    case-insensitively, else as one of the team's aliases there); a name not there is an error naming it with the closest known names, unless
    params={"unknown_teams": "unseen"} asks to score it as the graph's unseen team (the new-team prior, as oracx
    predict does for promoted teams). A competition code the model was not trained on is scored as the graph's
    unseen competition (average teams, mean intercept and home advantage: the same as oracx predict).

Columns not used by the model are ignored. predict returns a DataFrame with float64 columns home, draw, away
(P(home win), P(draw), P(away win)), one row per input row, with the input's index.
"""
import difflib
import json
import os

import numpy as np
import pandas as pd

INPUTS_FILE = "pyfunc-inputs.json"
OUTPUT_COLUMNS = ["home", "draw", "away"]
RATING_COLUMNS = ["competition", "home_team", "away_team"]


class OracxModel:
    """An oracx ONNX graph behind named DataFrame columns."""

    def __init__(self, onnx_path, spec):
        import onnxruntime

        self.spec = spec
        self.session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        self.graph_inputs = {i.name for i in self.session.get_inputs()}
        self.feature_names = list(spec.get("featureNames") or [])
        teams = spec.get("teams") or []
        self.team_index = {t["name"]: i for i, t in enumerate(teams)}
        self.team_folded = {t["name"].casefold(): i for i, t in enumerate(teams)}
        # Other names of the teams (the store's aliases: lower-cased, whitespace collapsed), e.g. a provider's spelling.
        self.team_alias = {a: i for i, t in enumerate(teams) for a in t.get("aliases") or []}
        # Index len(vocabulary) is the graph's unseen slot (see the model's oracx.input_conventions).
        competitions = spec.get("competitions") or []
        self.competition_index = {c: i for i, c in enumerate(competitions)}
        self.unseen_competition = len(competitions)

    def _team_indices(self, values, column, unknown_teams):
        out = np.empty(len(values), dtype=np.int64)
        unknown = []
        for row, name in enumerate(values):
            index = self.team_index.get(name) if isinstance(name, str) else None
            if index is None and isinstance(name, str):
                index = self.team_folded.get(name.casefold())
            if index is None and isinstance(name, str):
                index = self.team_alias.get(" ".join(name.split()).lower())
            if index is None and unknown_teams == "unseen":
                index = len(self.team_index)
            if index is None:
                if name not in unknown:
                    unknown.append(name)
                continue
            out[row] = index
        if unknown:
            parts = []
            for name in unknown[:5]:
                close = difflib.get_close_matches(str(name), list(self.team_index), n=3, cutoff=0.5)
                hint = " (did you mean " + ", ".join(repr(c) for c in close) + "?)" if close else ""
                parts.append(repr(name) + hint)
            more = "" if len(unknown) <= 5 else " and %d more" % (len(unknown) - 5)
            raise ValueError(
                "unknown team name(s) in column '%s': %s%s. This %s model knows the %d teams listed in %s."
                % (column, "; ".join(parts), more, self.spec.get("kind", "oracx"), len(self.team_index), INPUTS_FILE)
                + ' Pass params={"unknown_teams": "unseen"} to score unknown teams as new teams.'
            )
        return out

    def predict(self, model_input, params=None):
        unknown_teams = (params or {}).get("unknown_teams") or "error"
        if unknown_teams not in ("error", "unseen"):
            raise ValueError("params unknown_teams must be 'error' or 'unseen', not %r" % (unknown_teams,))
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        needed = list(self.feature_names)
        if {"home", "away", "competition"} & self.graph_inputs:
            needed += RATING_COLUMNS
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError("missing input column(s): %s" % ", ".join(repr(c) for c in missing))
        feeds = {}
        if "features" in self.graph_inputs:
            try:
                features = frame[self.feature_names].to_numpy(dtype=np.float32)
            except (TypeError, ValueError) as error:
                raise ValueError("feature columns must be numeric: %s" % error) from None
            feeds["features"] = features.reshape(len(frame), len(self.feature_names))
        if "home" in self.graph_inputs:
            feeds["home"] = self._team_indices(frame["home_team"].tolist(), "home_team", unknown_teams)
        if "away" in self.graph_inputs:
            feeds["away"] = self._team_indices(frame["away_team"].tolist(), "away_team", unknown_teams)
        if "competition" in self.graph_inputs:
            feeds["competition"] = np.array(
                [self.competition_index.get(c, self.unseen_competition) for c in frame["competition"].tolist()],
                dtype=np.int64,
            )
        (probs,) = self.session.run(["probs"], feeds)
        return pd.DataFrame(probs.astype(np.float64), columns=OUTPUT_COLUMNS, index=frame.index)


def _load_pyfunc(path):
    """MLflow's entry point: path is the flavor's data (model.onnx) or the package folder."""
    onnx_path = path if os.path.isfile(path) else os.path.join(path, "model.onnx")
    with open(os.path.join(os.path.dirname(onnx_path), INPUTS_FILE), encoding="utf-8") as f:
        spec = json.load(f)
    return OracxModel(onnx_path, spec)
`;
