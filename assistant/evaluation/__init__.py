"""Evaluation: read a test set (our JSONL, or a team's CSV/XLSX with plain-words references), answer it,
score it without a chat model, compare two runs, and write reports people can share.

Modules: io (readers), scoring (per-item scores), facts (a reference's key facts, faithfulness), pipeline
(a run), calibrate (the similarity cut-off), compare (two runs), report (HTML/Markdown/JSON; report_tables:
CSV/XLSX; report_compare: two runs; report_html: what they share), progress (terminal or log), judge
(optional chat-model verdict), tab (the chat window's Evaluate tab)."""

from .io import EvalInputError, read_questions, says_unanswerable
from .pipeline import CALIBRATION_FILE, THRESHOLDS_FILE, Run, failing_thresholds, load_calibration, run_evaluation
from .scoring import (
    RECALL_K,
    Score,
    check_thresholds,
    fact_present,
    fit_threshold,
    key_facts,
    score_item,
    score_reference,
    scored,
    slices_of,
    summarize,
)

__all__ = [
    "EvalInputError",
    "read_questions",
    "says_unanswerable",
    "CALIBRATION_FILE",
    "THRESHOLDS_FILE",
    "Run",
    "failing_thresholds",
    "load_calibration",
    "run_evaluation",
    "RECALL_K",
    "Score",
    "check_thresholds",
    "fact_present",
    "fit_threshold",
    "key_facts",
    "score_item",
    "score_reference",
    "scored",
    "slices_of",
    "summarize",
]
