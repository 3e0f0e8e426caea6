"""A learned reranker over the union of the four retrieval lists.

RRF (retrieve.rrf) sums what each list says; a passage first in both passage lists but absent from the key
lists (its keys happen to be worded otherwise) ranks below passages every list holds in the middle, and may
miss the top five altogether. Here every passage in the top `depth` of any list is a candidate, described by
document-agnostic features (its rank and score in each list, relative to the list's best; how much closer its
closest sentence is than the others'; whether it names what the question names; whether its keys ask the
question's answer type; whether it is a table row or a table's own passage), and a logistic regression fitted
on the dev questions (`python -m assistant.calibrate`, which writes corpus/rerank.json) orders them.

Without a fitted model (a new document) the fused RRF order stands: the prior gives weight to that alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RERANK_FILE = "rerank.json"
C = 0.1  # regularisation of the regression (standardised features); 0.1 and 1.0 alike on dev (README)

FEATURES = (
    "fused",  # 1 / (1 + rank) in the RRF fusion
    "dense_rank",
    "dense_in",
    "dense_gap",  # cosine minus the list's best
    "lexical_rank",
    "lexical_in",
    "lexical_rel",  # BM25 over the list's best
    "key_rank",
    "key_in",
    "key_gap",
    "key_lexical_rank",
    "key_lexical_in",
    "key_lexical_rel",
    "sentence_gap",  # its closest sentence's cosine minus the best candidate's
    "names",  # it names an entity the question names
    "names_rare",  # 1 / the number of passages that name it, for the rarest such entity (a name said once locates)
    "type_match",  # P(answer type) summed over the share of its keys labelled with each type
    "row",
    "table_head",
    "list_head",  # P(list) for a table's own passage
    "table_named",  # the question names its table
)
LISTS = ("dense", "lexical", "key", "key_lexical")


@dataclass
class Candidate:
    """One passage as the four lists saw it: list name -> (rank, score)."""

    passage: str
    fused_rank: int | None
    lists: dict[str, tuple[int, float]] = field(default_factory=dict)


def features(
    cands: Sequence[Candidate],
    sentence_sims: Mapping[str, float],
    named: Mapping[str, bool],
    type_match: Mapping[str, float],
    kinds: Mapping[str, str],
    tables_named: Mapping[str, bool],
    p_list: float,
    keyed: Mapping[str, bool],
    rarity: Mapping[str, float] | None = None,
) -> list[dict[str, float]]:
    """The feature rows of the candidates, in their order. keyed: whether a passage has question keys; one that
    has none (an ingested document) is read in the key lists as in the passage lists, so it is not outranked
    for lacking what it could not have."""
    best = {name: max((c.lists[name][1] for c in cands if name in c.lists), default=0.0) or 1.0 for name in LISTS}
    best_sentence = max(sentence_sims.values(), default=0.0)
    rows = []
    for c in cands:
        lists = dict(c.lists)
        if not keyed.get(c.passage, True):
            for own, key in (("dense", "key"), ("lexical", "key_lexical")):
                if own in lists:
                    rank, score = lists[own]
                    lists[key] = (rank, score * best[key] / best[own])
        f: dict[str, float] = {"fused": 0.0 if c.fused_rank is None else 1.0 / (1 + c.fused_rank)}
        for name in LISTS:
            entry = lists.get(name)
            f[f"{name}_rank"] = 0.0 if entry is None else 1.0 / (1 + entry[0])
            f[f"{name}_in"] = float(entry is not None)
        for name in ("dense", "key"):  # cosines: the gap to the best (absent: a little below the list's last)
            entry = lists.get(name)
            f[f"{name}_gap"] = -0.1 if entry is None else entry[1] - best[name]
        for name in ("lexical", "key_lexical"):  # BM25: relative to the best
            entry = lists.get(name)
            f[f"{name}_rel"] = 0.0 if entry is None else entry[1] / best[name]
        f["sentence_gap"] = sentence_sims.get(c.passage, 0.0) - best_sentence
        f["names"] = float(named.get(c.passage, False))
        f["names_rare"] = (rarity or {}).get(c.passage, 0.0)
        f["type_match"] = type_match.get(c.passage, 0.0)
        kind = kinds.get(c.passage, "")
        f["row"] = float(kind == "table_row")
        f["table_head"] = float(kind == "heading")
        f["list_head"] = p_list * f["table_head"]
        f["table_named"] = float(tables_named.get(c.passage, False))
        rows.append(f)
    return rows


def type_shares(keys) -> dict[str, dict[str, float]]:
    """Passage id -> answer type -> share of its question keys labelled so."""
    counts: dict[str, Counter] = {}
    for k in keys:
        counts.setdefault(k.passage, Counter())[k.type] += 1
    return {pid: {t: n / sum(c.values()) for t, n in c.items()} for pid, c in counts.items()}


@dataclass
class Reranker:
    coef: dict[str, float]
    intercept: float = 0.0
    mean: dict[str, float] = field(default_factory=dict)
    scale: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return bool(self.mean)

    def scores(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        names = list(self.coef)
        w = np.array([self.coef[n] for n in names])
        mu = np.array([self.mean.get(n, 0.0) for n in names])
        sd = np.array([self.scale.get(n, 1.0) or 1.0 for n in names])
        x = np.array([[r.get(n, 0.0) for n in names] for r in rows], dtype=float).reshape(len(rows), len(names))
        return ((x - mu) / sd @ w + self.intercept).tolist()

    @classmethod
    def load(cls, corpus_dir: Path) -> Reranker:
        """The fitted model of this corpus, or the prior (the fused order alone)."""
        path = Path(corpus_dir) / RERANK_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                {k: float(v) for k, v in data["coef"].items()},
                float(data["intercept"]),
                {k: float(v) for k, v in data["mean"].items()},
                {k: float(v) for k, v in data["scale"].items()},
                {k: v for k, v in data.items() if k not in ("coef", "intercept", "mean", "scale")},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls({"fused": 1.0})


def fit(groups: Sequence[tuple[list[dict[str, float]], list[bool]]], c: float = C) -> dict:
    """A logistic regression on every (question, candidate) row: is the candidate a gold passage? Standardised
    features. groups: one (feature rows, labels) per question; its cross-validated MRR is reported."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    x = np.array([[r[n] for n in FEATURES] for rows, _ in groups for r in rows], dtype=float)
    y = np.array([lab for _, labels in groups for lab in labels])
    owner = np.array([i for i, (rows, _) in enumerate(groups) for _ in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale

    def mrr(score_of) -> float:
        total = 0.0
        for i in range(len(groups)):
            s, lab = score_of(i), y[owner == i]
            order = np.argsort(-s, kind="stable")
            total += next((1.0 / (r + 1) for r, j in enumerate(order) if lab[j]), 0.0)
        return round(total / max(1, len(groups)), 4)

    cv_scores: dict[int, np.ndarray] = {}
    for train, test in KFold(n_splits=5, shuffle=True, random_state=0).split(np.arange(len(groups))):
        rows = np.isin(owner, train)
        m = LogisticRegression(C=c, max_iter=5000).fit(z[rows], y[rows])
        for i in test:
            cv_scores[i] = m.decision_function(z[owner == i])
    fused = FEATURES.index("fused")
    model = LogisticRegression(C=c, max_iter=5000).fit(z, y)
    return {
        "coef": dict(zip(FEATURES, model.coef_[0].round(6).tolist())),
        "intercept": float(model.intercept_[0]),
        "mean": dict(zip(FEATURES, mean.tolist())),
        "scale": dict(zip(FEATURES, scale.tolist())),
        "C": c,
        "cv_mrr": mrr(lambda i: cv_scores[i]),
        "fused_mrr": mrr(lambda i: x[owner == i, fused]),
        "fitted_on": {"questions": len(groups), "candidates": len(y), "gold": int(y.sum())},
        "fitted": time.strftime("%Y-%m-%d"),
    }
