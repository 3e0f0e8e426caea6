"""Feedback -> candidate test items: every thumbs-down (or correction) from the chat window becomes a
line in evals/candidates.jsonl for a person to review, add gold ids and facts, and move into
evals/questions.jsonl. Already-present questions are skipped, so running it twice adds nothing.

usage: python -m assistant.candidates [--feedback index/feedback.jsonl] [--out evals/candidates.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from .normalize import normalize
from .query import detect_language
from .settings import ROOT, Settings


def candidates_from_feedback(feedback: Path, existing: set[str]) -> list[dict]:
    out: list[dict] = []
    if not feedback.exists():
        return out
    for line in feedback.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a crash: skip it, keep the rest
        if rec.get("rating") != "down" and not rec.get("correction"):
            continue
        q = rec.get("question") or ""
        key = normalize(q)
        if not key or key in existing:
            continue
        existing.add(key)
        out.append(
            {
                "id": "fb-" + hashlib.sha1(key.encode()).hexdigest()[:8],
                "question": q,
                "lang": rec.get("language") or detect_language(q),
                "answerable": None,  # to be decided by the reviewer
                "gold": [],
                "facts": [],
                "review": {
                    "answer_given": rec.get("answer"),
                    "correction": rec.get("correction"),
                    "cited": rec.get("citations"),
                    "abstained": rec.get("abstained"),
                },
            }
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.candidates", description=__doc__.splitlines()[0])
    ap.add_argument("--feedback", type=Path, default=Settings().feedback_file)
    ap.add_argument("--out", type=Path, default=ROOT / "evals" / "candidates.jsonl")
    args = ap.parse_args(argv)
    existing = set()
    for path in (ROOT / "evals" / "questions.jsonl", args.out):
        if path.exists():
            existing |= {
                normalize(json.loads(line)["question"])
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            }
    new = candidates_from_feedback(args.feedback, existing)
    with args.out.open("a", encoding="utf-8") as fh:
        for item in new:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(new)} new candidate(s) appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
