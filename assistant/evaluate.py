"""`from assistant.evaluate import ...` keeps working (tests, benchmarks): the evaluation now lives in the
package assistant/evaluation/ (readers, scores, comparison, reports, the Evaluate tab)."""

from __future__ import annotations

from .evaluation import (
    CALIBRATION_FILE,
    RECALL_K,
    THRESHOLDS_FILE,
    EvalInputError,
    Run,
    Score,
    check_thresholds,
    fact_present,
    read_questions,
    run_evaluation,
    score_item,
    scored,
    slices_of,
    summarize,
)
from .evaluation.report import SLICE_ORDER


def evaluate(assistant, items: list[dict], progress=None) -> tuple[list[dict], dict, list[dict]]:
    """(per-item answers, summary, failures) of one run; see evaluation.pipeline.run_evaluation."""
    run = run_evaluation(assistant, items, progress=progress)
    return run.results, run.summary, run.failures


__all__ = [
    "CALIBRATION_FILE",
    "RECALL_K",
    "THRESHOLDS_FILE",
    "EvalInputError",
    "Run",
    "Score",
    "SLICE_ORDER",
    "check_thresholds",
    "evaluate",
    "fact_present",
    "read_questions",
    "run_evaluation",
    "score_item",
    "scored",
    "slices_of",
    "summarize",
]
