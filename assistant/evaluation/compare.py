"""`--compare RUN_A RUN_B`: what changed between two runs of the same test set.

A run is the per-item file of `assistant eval` (items.jsonl in its report folder, or the --out results
file, whose lines carry a "score"), or the report folder itself. Items are matched by id; each is
better (wrong in A, right in B), worse, or same. The headline figure (accuracy) gets an exact McNemar
test on the items whose verdict changed, and a paired bootstrap interval of the difference."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from .io import EvalInputError
from .scoring import mean

FIGURES = [
    "accuracy",
    "fact_recall",
    "similarity",
    "faithfulness",
    "context_recall",
    "abstention_correct",
    "language_match",
    "judge_accuracy",
]


def load_run(path: Path) -> dict[str, dict]:
    """id -> per-item record (with at least "correct")."""
    path = Path(path)
    if path.is_dir():
        path = path / "items.jsonl"
    if not path.is_file():
        raise EvalInputError(f"{path}: no such run (give the report folder or its items.jsonl)")
    out: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise EvalInputError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise EvalInputError(f"{path}:{n}: not JSON") from None
        if not isinstance(row, dict) or "id" not in row:
            raise EvalInputError(f'{path}:{n}: a run\'s lines need an "id"')
        if "correct" not in row and isinstance(row.get("score"), dict):
            row = {**row, **row["score"]}  # a --out results line: the answer contract + its score
        if row.get("correct") is None:
            continue  # not scored (no reference): nothing to compare
        out[str(row["id"])] = row
    if not out:
        raise EvalInputError(f"{path}: no scored items (run `assistant eval` with references first)")
    return out


def exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: b and c are the items that went one way and the other."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(a: list[float], b: list[float], rounds: int = 10000, seed: int = 17) -> dict:
    """95% interval of mean(b) - mean(a) over items resampled in pairs, and the share of resamples in
    which the difference has the other sign (a one-sided p-value)."""
    n = len(a)
    rng = random.Random(seed)
    diffs = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        diffs.append(sum(b[i] - a[i] for i in idx) / n)
    diffs.sort()
    observed = (sum(b) - sum(a)) / n
    other = sum(1 for d in diffs if (d <= 0 if observed > 0 else d >= 0)) / rounds if observed else 1.0
    return {
        "difference": round(observed, 4),
        "ci95": [round(diffs[int(0.025 * rounds)], 4), round(diffs[int(0.975 * rounds) - 1], 4)],
        "p_one_sided": round(other, 4),
        "rounds": rounds,
        "seed": seed,
    }


@dataclass
class Comparison:
    a_name: str
    b_name: str
    items: list[dict] = field(default_factory=list)  # id, question, change, a/b verdict, answers
    figures: dict = field(default_factory=dict)  # figure -> {"a", "b"}
    significance: dict = field(default_factory=dict)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[dict]:
        return [it for it in self.items if it["change"] != "same"]

    def to_dict(self) -> dict:
        return {
            "a": self.a_name,
            "b": self.b_name,
            "figures": self.figures,
            "significance": self.significance,
            "better": [it["id"] for it in self.items if it["change"] == "better"],
            "worse": [it["id"] for it in self.items if it["change"] == "worse"],
            "same": sum(1 for it in self.items if it["change"] == "same"),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "items": self.items,
        }


def compare_runs(a: dict[str, dict], b: dict[str, dict], a_name: str = "A", b_name: str = "B") -> Comparison:
    common = [i for i in a if i in b]
    if not common:
        raise EvalInputError("the two runs have no item ids in common: were they run on the same test set?")
    cmp = Comparison(a_name, b_name, only_in_a=[i for i in a if i not in b], only_in_b=[i for i in b if i not in a])
    for i in common:
        ra, rb = a[i], b[i]
        ca, cb = bool(ra["correct"]), bool(rb["correct"])
        change = "same" if ca == cb else ("better" if cb else "worse")
        cmp.items.append(
            {
                "id": i,
                "lang": ra.get("lang", ""),
                "question": ra.get("question", ""),
                "reference": ra.get("reference", ""),
                "change": change,
                "a_correct": ca,
                "b_correct": cb,
                "a_answer": ra.get("answer", ""),
                "b_answer": rb.get("answer", ""),
                "a_reason": ra.get("reason", ""),
                "b_reason": rb.get("reason", ""),
                "answer_changed": ra.get("answer", "") != rb.get("answer", ""),
            }
        )
    for fig in FIGURES:
        va = (
            mean([_num(a[i].get(fig if fig != "accuracy" else "correct")) for i in common])
            if fig != "judge_accuracy"
            else mean([_num(a[i].get("judge")) for i in common])
        )
        vb = (
            mean([_num(b[i].get(fig if fig != "accuracy" else "correct")) for i in common])
            if fig != "judge_accuracy"
            else mean([_num(b[i].get("judge")) for i in common])
        )
        if va is not None or vb is not None:
            cmp.figures[fig] = {"a": va, "b": vb}
    better = sum(1 for it in cmp.items if it["change"] == "better")
    worse = sum(1 for it in cmp.items if it["change"] == "worse")
    xs = [float(it["a_correct"]) for it in cmp.items]
    ys = [float(it["b_correct"]) for it in cmp.items]
    cmp.significance = {
        "figure": "accuracy",
        "n": len(common),
        "better": better,
        "worse": worse,
        "mcnemar_exact_p": round(exact_mcnemar(better, worse), 4),
        "bootstrap": paired_bootstrap(xs, ys),
    }
    return cmp


def _num(v) -> float | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
