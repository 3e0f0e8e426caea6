"""Fit the answer-or-abstain decision (calibration.py) on the dev split only.

    python -m assistant.calibrate [--questions evals/questions.jsonl --paraphrases evals/paraphrases.jsonl]

Every dev question (and its dev rewordings) is asked once, with the decision switched off; the features of
each answer and whether answering is right (the paper answers it and the answer carries its facts) train a
logistic regression (scikit-learn, balanced classes,
standardised). The threshold is the one with the fewest
abstention mistakes on those items (ties: the middle of the best run). Written to corpus/calibration.json
with what it was fitted on; the held-out and test splits are never read.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .calibration import CALIBRATION_FILE, FEATURES
from .settings import ROOT, Settings


def collect(assistant, items: list[dict]) -> tuple[list[list[float]], list[int]]:
    """Features of each item's answer (composed as if the paper answered) and whether answering is right:
    the paper answers it and the composed answer carries its key facts. Abstaining on an answerable
    question whose answer would be wrong anyway costs nothing; answering it does not gain anything."""
    from .evaluate import score_item

    xs, ys = [], []
    for item in items:
        ans = assistant.ask(item["question"], item.get("history") or [])
        feats = ans.evidence.get("features")
        if feats is None:
            continue  # no content words: abstained before any evidence
        xs.append([float(feats.get(f, 0.0)) for f in FEATURES])
        ys.append(1 if item.get("answerable", True) and score_item(item, ans.contract()).correct else 0)
    return xs, ys


def _model(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000)


def fit(xs: list[list[float]], ys: list[int]) -> dict:
    """Standardised features; the regularisation chosen by 5-fold cross-validated log-loss on the same dev
    items; the threshold with the fewest mistakes on them."""
    import numpy as np
    from sklearn.model_selection import cross_val_score

    x, y = np.asarray(xs, dtype=float), np.asarray(ys)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    scores = {c: cross_val_score(_model(c), z, y, cv=5, scoring="neg_log_loss").mean() for c in (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)}
    c = max(scores, key=scores.get)
    model = _model(c).fit(z, y)
    p = model.predict_proba(z)[:, 1]
    cands = sorted(set(np.round(p, 4)))
    errors = [(int(((p >= t) != np.asarray(ys, dtype=bool)).sum()), t) for t in cands]
    best = min(e for e, _ in errors)
    run = [t for e, t in errors if e == best]
    threshold = float(run[len(run) // 2])
    return {"coef": {f: float(w) for f, w in zip(FEATURES, model.coef_[0])}, "intercept": float(model.intercept_[0]),
            "threshold": threshold, "mean": dict(zip(FEATURES, mean.tolist())), "scale": dict(zip(FEATURES, scale.tolist())),
            "C": c, "fitted_on": {"items": len(ys), "answer_right": int(sum(ys)),
                                                   "answer_wrong": int(len(ys) - sum(ys)), "errors": best},
            "fitted": time.strftime("%Y-%m-%d")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.calibrate", description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "evals" / "questions.jsonl")
    ap.add_argument("--paraphrases", type=Path, default=ROOT / "evals" / "paraphrases.jsonl")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    settings = Settings()
    from .answer import Assistant
    from .calibration import Calibration

    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev = [i for i in items if i.get("split") == "dev"]
    dev_ids = {i["id"] for i in dev}
    if args.paraphrases.is_file():
        dev += [json.loads(line) for line in args.paraphrases.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("of") in dev_ids]
    assistant = Assistant(settings)
    # Features must not depend on the calibration being replaced: it only reads them.
    assistant._engine.composer.calibration = Calibration({}, 0.0, 0.0)  # p = 0.5 >= 0: always answer
    xs, ys = collect(assistant, dev)
    result = fit(xs, ys)
    out = args.out or settings.corpus_dir / CALIBRATION_FILE
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"fitted on {len(ys)} dev items ({result['fitted_on']['answer_wrong']} where answering is wrong): "
          f"threshold {result['threshold']:.3f}, {result['fitted_on']['errors']} errors; written to {out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
