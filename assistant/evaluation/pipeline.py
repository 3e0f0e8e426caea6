"""Answer a test set with an Assistant and score every item: the run that the reports and `--compare` read.

Pure: no argparse, no printing, no exit codes; bad input raises EvalInputError (io.py), and an item the
assistant refuses (an empty or too long question) is recorded as failed with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..query import detect_language
from .scoring import (
    RECALL_K,
    RefScore,
    Score,
    Vocabulary,
    check_thresholds,
    cosine,
    latency_percentile,
    mean,
    score_item,
    score_reference,
    scored,
    slices_of,
    summarize,
)

ROOT = Path(__file__).resolve().parent.parent.parent
THRESHOLDS_FILE = ROOT / "evals" / "thresholds.json"
CALIBRATION_FILE = ROOT / "evals" / "similarity_calibration.json"
DEFAULT_THRESHOLD = 0.88  # used only when the calibration file is missing; see evals/README.md

Progress = Callable[[int, int], None]


@dataclass
class Run:
    """Everything one evaluation produced."""

    backend: str
    results: list[dict]  # the answer contract per item (+ "id", "score")
    records: list[dict]  # one flat row per item: question, reference, answer, verdict, every figure
    summary: dict
    failures: list[dict]
    threshold: float = DEFAULT_THRESHOLD
    calibration: dict = field(default_factory=dict)


def load_calibration(path: Path = CALIBRATION_FILE) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_profile(corpus_dir: Path) -> dict | None:
    """corpus/profile.json (the paper's entities, in both languages), when the corpus has one."""
    path = Path(corpus_dir) / "profile.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def ask_item(assistant, item: dict) -> dict:
    from ..answer import QuestionError

    # A team's row says which language it wants the answer in; our JSONL only with --lang.
    lang = item.get("lang_override") or (item.get("lang") if "reference" in item else None)
    try:
        ans = assistant.ask(item["question"], history=item.get("history") or [], lang=lang)
    except QuestionError as exc:
        want = lang or detect_language(item["question"])
        return {
            "id": item["id"],
            "question": item["question"],
            "answer": "",
            "language": want,
            "abstained": True,
            "citations": [],
            "latency_ms": 0.0,
            "retrieved": [],
            "backend": assistant.settings.backend,
            "note": "",
            "evidence": {},
            "error": str(exc),
        }
    return {"id": item["id"], **ans.contract()}


class Similarity:
    """Cosine of answer and reference in the bundled embedding model's space (both embedded as queries:
    e5's advice for symmetric comparisons)."""

    def __init__(self, embeddings):
        self.embeddings = embeddings
        self._cache: dict[str, list[float]] = {}

    def vec(self, text: str) -> list[float]:
        if text not in self._cache:
            self._cache[text] = self.embeddings.embed_query(text)
        return self._cache[text]

    def __call__(self, a: str, b: str) -> float:
        return cosine(self.vec(a), self.vec(b))


def run_evaluation(
    assistant,
    items: list[dict],
    progress: Progress | None = None,
    judge: Callable[[dict, dict], tuple[bool | None, str]] | None = None,
    threshold: float | None = None,
    profile: dict | None = None,
) -> Run:
    from .scoring import strip_markers

    calibration = load_calibration()
    if threshold is None:
        threshold = float(calibration.get("threshold", DEFAULT_THRESHOLD))
    if profile is None:
        profile = load_profile(assistant.settings.corpus_dir)
    vocab = Vocabulary.of(assistant.store.passages, profile)
    by_id = assistant.store.by_id
    sim = Similarity(assistant.store.embeddings)

    def passage_text(pid: str) -> str:
        p = by_id.get(pid)
        return f"{p.text} {p.text_en}" if p else ""

    results, records, failures = [], [], []
    legacy: dict[str, list[Score]] = {}
    team: dict[str, list[RefScore]] = {}
    unscored = 0
    for i, item in enumerate(items):
        res = ask_item(assistant, item)
        record = _record(item, res)
        if "reference" in item:
            answer = strip_markers(res["answer"])
            s = None
            if item.get("answerable", True) and not res["abstained"] and answer and item["reference"]:
                s = sim(answer, item["reference"])
            rs = score_reference(item, res, vocab, passage_text, s, threshold)
            if judge is not None and item.get("answerable", True) and not res["abstained"]:
                rs.judge, rs.judge_reason = judge(item, res)
            if res.get("error"):
                rs.correct, rs.reason = False, f"not asked: {res['error']}"
            record.update(rs.to_dict())
            res["score"] = rs.to_dict()
            for name in slices_of(item):
                team.setdefault(name, []).append(rs)
        elif scored(item):
            ls = score_item(item, res)
            record.update(
                correct=ls.correct,
                answerable=ls.answerable,
                abstained=ls.abstained,
                abstention_correct=ls.abstained == (not ls.answerable),
                lang_match=ls.lang_match,
                reason=_legacy_reason(ls),
                facts=[a[0] if isinstance(a, list) else a for a in item.get("facts") or []],
                fact_recall=round(ls.facts_found / len(item["facts"]), 4) if item.get("facts") else None,
                citation_support=ls.support,
                hit_at_k=ls.hit_at_k,
            )
            res["score"] = {"correct": ls.correct, "reason": record["reason"]}
            for name in slices_of(item):
                legacy.setdefault(name, []).append(ls)
        else:
            unscored += 1
            record.update(correct=None, reason="not scored (no reference)")
        results.append(res)
        records.append(record)
        if (
            record.get("correct") is False
            or record.get("citation_support") is False
            or record.get("lang_match") is False
        ):
            failures.append(record)
        if progress:
            progress(i + 1, len(items))
    summary = {
        "backend": assistant.settings.backend,
        "unscored": unscored,
        "slices": {name: summarize(scores) for name, scores in legacy.items()},
        "reference": {name: summarize_reference(scores) for name, scores in team.items()},
        "similarity_threshold": threshold,
        "calibration": {
            k: calibration[k] for k in ("threshold", "agreement", "agreement_test", "n", "model") if k in calibration
        },
    }
    return Run(assistant.settings.backend, results, records, summary, failures, threshold, calibration)


def _legacy_reason(s: Score) -> str:
    if not s.answerable:
        return "abstained, as it should" if s.abstained else "answered a question the paper does not answer"
    if s.abstained:
        return "abstained, but the paper answers it"
    return f"{s.facts_found}/{s.facts_needed} key facts found" + ("" if s.correct else " (too few)")


def _record(item: dict, res: dict) -> dict:
    cits = res.get("citations") or []
    return {
        "id": item["id"],
        "lang": item.get("lang") or detect_language(item["question"]),
        "question": item["question"],
        "reference": item.get("reference", ""),
        "history": " | ".join(t.get("content", "") for t in item.get("history") or [] if t.get("role") == "user"),
        "answer": res["answer"],
        "answer_language": res["language"],
        "sources": [{"n": c["n"], "id": c["id"], "text": c["text"], "text_en": c["text_en"]} for c in cits],
        "retrieved": list(res.get("retrieved") or [])[:RECALL_K],
        "latency_ms": res.get("latency_ms", 0.0),
        "note": res.get("note", ""),
        "error": res.get("error", ""),
    }


def summarize_reference(scores: list[RefScore]) -> dict:
    ans = [s for s in scores if s.answerable]
    una = [s for s in scores if not s.answerable]
    judged = [s.judge for s in scores if s.judge is not None]
    return {
        "n": len(scores),
        "accuracy": mean([float(s.correct) for s in scores]),
        "answer_accuracy": mean([float(s.correct) for s in ans]),
        "fact_recall": mean([s.fact_recall for s in ans if not s.abstained]),
        "similarity": mean([s.similarity for s in ans]),
        "semantic_pass": mean([None if s.semantic_verdict is None else float(s.semantic_verdict) for s in ans]),
        "faithfulness": mean([s.faithfulness for s in scores]),
        "context_recall": mean([s.context_recall for s in ans]),
        "abstention_correct": mean([float(s.abstention_correct) for s in scores]),
        "abstention_recall": mean([float(s.abstained) for s in una]),
        "false_abstentions": sum(1 for s in ans if s.abstained),
        "false_answers": sum(1 for s in una if not s.abstained),
        "language_match": mean([float(s.lang_match) for s in scores]),
        "judge_accuracy": mean([float(j) for j in judged]) if judged else None,
        "latency_p50_ms": latency_percentile([s.latency_ms for s in scores], 0.5),
        "latency_p95_ms": latency_percentile([s.latency_ms for s in scores], 0.95),
    }


def failing_thresholds(run: Run, thresholds: dict) -> list[str]:
    """`--check`: figures of our labelled set below evals/thresholds.json (team sets have no floors)."""
    return check_thresholds(run.summary, thresholds)


__all__ = [
    "Run",
    "run_evaluation",
    "failing_thresholds",
    "load_calibration",
    "THRESHOLDS_FILE",
    "CALIBRATION_FILE",
    "summarize_reference",
]
