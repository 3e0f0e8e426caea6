"""Answer or abstain: one calibrated decision over general evidence features.

Each question yields a few document-agnostic features (how well the best evidence covers the question,
how close the nearest passage is, where the question falls among the document's keys, near misses and everyday
questions (a soft vote and a classifier), how much of the question the document never
mentions, whether the kind of answer asked for — a year, a number, a person — is absent from the evidence,
whether a named entity is absent from it). A logistic regression turns them into P(the paper answers), and
the threshold is the one that made the fewest abstention mistakes on the dev split. Both are fitted by
`python -m assistant.calibrate` on dev questions only and stored in corpus/calibration.json; the held-out
set never sees the fitting.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALIBRATION_FILE = "calibration.json"
# The fitted decision reads where the question falls among the document's keys, near misses and everyday
# questions only through the soft vote of its nearest ones and the answerability classifier: both are the same
# for a question uniformly far from everything. The raw similarities ("key": the nearest key; "near_miss",
# "offtopic": the nearest near miss or everyday question minus it) are computed and reported, and the prior
# reads them, but a fit on them learned that a question far from all keys is answerable (the dev questions
# nearest no key are long answerable ones), so an off-topic question with no close everyday twin was answered.
FEATURES = (
    "cover",
    "own_cover",
    "dense",
    "unknown",
    "unknown_name",
    "type_missing",
    "entity_missing",
    "focus_missing",
    "count_missing",
    "unexplained",
    "type_support",
    "answered_share",
    "learned_logodds",
)

# Before any fitting (a new document): a prior that reads the features in the obvious direction.
_PRIOR: dict[str, Any] = {
    "coef": {
        "cover": 3.0,
        "own_cover": 2.0,
        "dense": 4.0,
        "key": 6.0,
        "unknown": -4.0,
        "unknown_name": -3.0,
        "type_missing": -3.0,
        "entity_missing": -2.0,
        "focus_missing": -2.0,
        "count_missing": -2.0,
        "unexplained": -3.0,
        "type_support": 2.0,
        "near_miss": -20.0,
        "offtopic": -20.0,
        "answered_share": 4.0,
        # 4.0 on the probability before: 0.22 over the log-odds' range (+-9.2, decision.log_odds) spans the
        # same 4 (-2 .. +2 around even odds, with the intercept 2 higher): a new document's prior as before.
        "learned_logodds": 0.22,
    },
    "intercept": -8.0,
    "threshold": 0.5,
}


@dataclass
class Calibration:
    coef: dict[str, float]
    intercept: float
    threshold: float
    info: dict = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)  # standardisation fitted with the weights
    scale: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, corpus_dir: Path) -> Calibration:
        path = Path(corpus_dir) / CALIBRATION_FILE
        data: dict[str, Any] = _PRIOR
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                data = _PRIOR
        return cls(
            {k: float(v) for k, v in data["coef"].items()},
            float(data["intercept"]),
            float(data["threshold"]),
            {k: v for k, v in data.items() if k not in ("coef", "intercept", "threshold")},
            {k: float(v) for k, v in data.get("mean", {}).items()},
            {k: float(v) for k, v in data.get("scale", {}).items()},
        )

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(
            w * (float(features.get(name, 0.0)) - self.mean.get(name, 0.0)) / (self.scale.get(name, 1.0) or 1.0)
            for name, w in self.coef.items()
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, features: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(features)
        return p >= self.threshold, p
