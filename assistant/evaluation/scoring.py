"""Scores of one answer, none of which needs a chat model.

Two kinds of item:
- ours (evals/questions.jsonl): gold passage ids and key facts as alias groups -> `score_item` (accuracy,
  recall@5, MRR, citation support and precision, abstention, language match), unchanged;
- a team's (a spreadsheet row): a reference answer in plain words -> `score_reference`: key facts of the
  reference found in the answer, semantic similarity of answer and reference, faithfulness, context
  recall and abstention correctness, combined into one verdict with the reason for it.
How each is computed and its known limits: docs in evals/README.md (section "A team's own test set").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from ..normalize import normalize
from ..query import detect_language
from ..stats import percentile
from .facts import (
    DISTINCTIVE_DF,
    PREFIX,
    SOFT_SHARE,
    STOPWORDS,
    Fact,
    Vocabulary,
    answer_sentences,
    fact_found,
    faithfulness,
    key_facts,
    strip_markers,
)

RECALL_K = 5

# The reference's key facts moved to facts.py; these names are still imported from here.
__all__ = [
    "DISTINCTIVE_DF",
    "PREFIX",
    "RECALL_K",
    "SOFT_SHARE",
    "STOPWORDS",
    "Fact",
    "RefScore",
    "Score",
    "Vocabulary",
    "answer_sentences",
    "check_thresholds",
    "cosine",
    "fact_found",
    "fact_present",
    "faithfulness",
    "fit_threshold",
    "key_facts",
    "latency_percentile",
    "mean",
    "score_item",
    "score_reference",
    "scored",
    "slices_of",
    "strip_markers",
    "summarize",
]


# ====================================================================== our JSONL items (gold ids, facts)
def fact_present(aliases: list[str], answer: str) -> bool:
    """A key fact counts when any alias occurs in the answer (digits, ya/kaf, half-spaces, tatweel normalized)."""
    text = f" {normalize(answer)} "
    return any(normalize(a) and normalize(a) in text for a in aliases)


def scored(item: dict) -> bool:
    return "answerable" in item or "gold" in item or "facts" in item


@dataclass
class Score:
    correct: bool
    answerable: bool
    abstained: bool
    hit_at_k: float | None
    rr: float | None
    support: bool | None
    precision: float | None
    lang_match: bool
    latency_ms: float
    facts_found: int
    facts_needed: int


def _lang_match(item: dict, result: dict, abstained: bool) -> bool:
    want = item.get("lang") or detect_language(item["question"])
    return result["language"] == want and (abstained or detect_language(result["answer"]) == want)


def score_item(item: dict, result: dict) -> Score:
    answerable = bool(item.get("answerable", True))
    abstained = bool(result["abstained"])
    answer = result["answer"]
    facts = item.get("facts") or []
    found = sum(fact_present(f if isinstance(f, list) else [f], answer) for f in facts)
    needed = int(item.get("min_hits", len(facts)))
    correct = (not abstained and found >= needed) if answerable else abstained
    gold = set(item.get("gold") or [])
    hit = rr = None
    if answerable and gold:
        ranked = result.get("retrieved") or []

        # A table's own passage (its title, "tN") finds the evidence of its rows: the composer reads the table.
        def is_gold(pid: str) -> bool:
            return pid in gold or any(g.startswith(pid + ".r") for g in gold)

        hit = float(any(is_gold(pid) for pid in ranked[:RECALL_K]))
        rr = next((1.0 / i for i, pid in enumerate(ranked, 1) if is_gold(pid)), 0.0)
    support = precision = None
    cits = result.get("citations") or []
    if answerable and not abstained and cits:

        def supports(c: dict) -> bool:
            body = f"{c.get('text', '')} {c.get('text_en', '')}"
            return c["id"] in gold or any(fact_present(f if isinstance(f, list) else [f], body) for f in facts)

        flags = [supports(c) for c in cits]
        support = any(flags)
        precision = sum(flags) / len(flags)
    return Score(
        correct,
        answerable,
        abstained,
        hit,
        rr,
        support,
        precision,
        _lang_match(item, result, abstained),
        float(result.get("latency_ms", 0.0)),
        found,
        needed,
    )


def slices_of(item: dict) -> list[str]:
    lang = item.get("lang") or detect_language(item["question"])
    gold = item.get("gold") or []
    out = [
        "all",
        lang,
        "answerable" if item.get("answerable", True) else "unanswerable",
        "multi-turn" if item.get("history") else "single-turn",
    ]
    if item.get("answerable", True) and gold:
        out.append("table" if any(g.startswith("t") for g in gold) else "text")
    if item.get("split") in ("dev", "test"):
        out.append(item["split"])
    return out


def mean(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def latency_percentile(xs: list[float], q: float) -> float | None:
    """A latency figure of the summaries (ms, one decimal): stats.percentile's rank rule."""
    p = percentile(xs, q)
    return None if p is None else round(p, 1)


def summarize(scores: list[Score]) -> dict:
    ans = [s for s in scores if s.answerable]
    una = [s for s in scores if not s.answerable]
    abst = [s for s in scores if s.abstained]
    return {
        "n": len(scores),
        "accuracy": mean([float(s.correct) for s in scores]),
        "answer_accuracy": mean([float(s.correct) for s in ans]),
        f"recall@{RECALL_K}": mean([s.hit_at_k for s in ans]),
        "mrr": mean([s.rr for s in ans]),
        "citation_support": mean([None if s.support is None else float(s.support) for s in ans]),
        "citation_precision": mean([s.precision for s in ans]),
        "abstention_recall": mean([float(s.abstained) for s in una]),
        "abstention_precision": mean([float(not s.answerable) for s in abst]),
        "false_abstentions": sum(1 for s in ans if s.abstained),
        "false_answers": sum(1 for s in una if not s.abstained),
        "language_match": mean([float(s.lang_match) for s in scores]),
        "latency_p50_ms": latency_percentile([s.latency_ms for s in scores], 0.5),
        "latency_p95_ms": latency_percentile([s.latency_ms for s in scores], 0.95),
    }


def check_thresholds(summary: dict, thresholds: dict) -> list[str]:
    problems = []
    overall = summary["slices"].get("all", {})
    for metric, floor in thresholds.items():
        value = overall.get(metric)
        if value is None:
            continue
        if metric.startswith("latency"):
            if value > floor:
                problems.append(f"{metric} {value} > {floor}")
        elif value < floor:
            problems.append(f"{metric} {value} < {floor}")
    return problems


# ====================================================================== a team's items (plain-words reference)
# Key facts, vocabulary and faithfulness are in facts.py.
@dataclass
class RefScore:
    correct: bool
    reason: str
    answerable: bool
    abstained: bool
    abstention_correct: bool
    facts: list[str]
    facts_found: list[str]
    fact_recall: float | None
    fact_verdict: bool | None
    similarity: float | None
    semantic_verdict: bool | None
    faithfulness: float | None
    context_recall: float | None
    lang_match: bool
    latency_ms: float
    judge: bool | None = None
    judge_reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def score_reference(
    item: dict,
    result: dict,
    vocab: Vocabulary,
    passage_text: Callable[[str], str],
    similarity: float | None,
    threshold: float,
) -> RefScore:
    """One team item. `passage_text(id)` gives a retrieved passage's text in both languages; `similarity`
    is the cosine of answer and reference embeddings (None when not computed); `threshold` its calibrated
    cut-off."""
    answerable = bool(item.get("answerable", True))
    abstained = bool(result["abstained"])
    reference = item.get("reference") or ""
    facts = key_facts(reference, vocab, item.get("question", "")) if answerable else []
    answer = strip_markers(result.get("answer", ""))
    found = [f for f in facts if fact_found(f, answer)] if not abstained else []
    hard = [f for f in facts if f.hard]
    soft = [f for f in facts if not f.hard]
    fact_verdict: bool | None = None
    if hard:
        fact_verdict = all(f in found for f in hard)
    elif soft:
        fact_verdict = sum(f in found for f in soft) / len(soft) >= SOFT_SHARE
    semantic = None if similarity is None or abstained else similarity >= threshold
    # The context: what the retriever ranked, and the passages the answer drew on (a list answer reads
    # a whole table, beyond the ranked rows).
    read = list(result.get("retrieved") or []) + [c["id"] for c in result.get("citations") or []]
    context = " ".join(passage_text(pid) for pid in dict.fromkeys(read))
    ctx_recall = round(sum(fact_found(f, context) for f in facts) / len(facts), 4) if facts and context else None
    if not answerable:
        correct, reason = (
            abstained,
            (
                "abstained, as it should"
                if abstained
                else "answered a question the reference says the paper does not answer"
            ),
        )
    elif abstained:
        correct, reason = False, "abstained, but the reference has an answer"
    elif hard:
        missing = [f.label for f in hard if f not in found]
        correct = not missing
        reason = "all key facts found" if correct else f"missing: {', '.join(missing)}"
    elif semantic is not None and soft:
        # No number or named entity to check: the meaning must be close enough AND the answer must have most
        # of the reference's distinctive words (the names and terms it adds to the question). Similarity
        # alone is weak evidence: with this model an answer on the same topic that says something else
        # scores about as high as a right one (calibration agreement ~0.8).
        correct = bool(semantic and fact_verdict)
        reason = (
            f"similarity {similarity:.3f} {'≥' if semantic else '<'} {threshold:.3f}; "
            f"{sum(f in found for f in soft)}/{len(soft)} distinctive words" + ("" if correct else " (both are needed)")
        )
    elif semantic is not None:
        correct, reason = semantic, f"similarity {similarity:.3f} {'≥' if semantic else '<'} {threshold:.3f}"
    else:
        correct = bool(fact_verdict)
        reason = f"{len(found)}/{len(facts)} key words found" if facts else "nothing to check it against"
    return RefScore(
        correct=correct,
        reason=reason,
        answerable=answerable,
        abstained=abstained,
        abstention_correct=abstained == (not answerable),
        facts=[f.label for f in facts],
        facts_found=[f.label for f in found],
        fact_recall=round(len(found) / len(facts), 4) if facts else None,
        fact_verdict=fact_verdict,
        similarity=None if similarity is None else round(similarity, 4),
        semantic_verdict=semantic,
        faithfulness=faithfulness(result),
        context_recall=ctx_recall,
        lang_match=_lang_match(item, result, abstained),
        latency_ms=float(result.get("latency_ms", 0.0)),
    )


# ---------------------------------------------------------------------- calibration of the similarity cut-off
def fit_threshold(pairs: list[tuple[float, bool]]) -> tuple[float, float]:
    """The similarity cut-off that agrees best with the labels (a midpoint between two observed values),
    and that agreement. Ties go to the higher cut-off (fewer false passes)."""
    if not pairs:
        raise ValueError("no labelled pairs to calibrate on")
    values = sorted({round(s, 6) for s, _ in pairs})
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    best = (-1.0, 0.0)
    for cut in cuts:
        agree = sum((s >= cut) == label for s, label in pairs) / len(pairs)
        if agree >= best[0]:
            best = (agree, cut)
    return round(best[1], 4), round(best[0], 4)
