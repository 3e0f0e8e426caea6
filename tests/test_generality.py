"""The code speaks of roles, never of this paper: no name from the paper's profile, no table number and no
evaluation item appears in assistant/ (comments included). Paper knowledge lives in corpus/."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "assistant").rglob("*.py"))


def _code() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in SOURCES}


def test_no_entity_of_the_paper_in_code():
    profile = json.loads((ROOT / "corpus" / "profile.json").read_text(encoding="utf-8"))
    # Names of four letters or more (shorter acronyms collide with ordinary words); the document's subject
    # (Tehran) may be named in module docstrings that say what the product is, nowhere else.
    subject = set(profile["document"]["subject"])
    names = {
        n
        for e in profile["entities"]
        if e["id"] not in subject
        for n in [e["fa"], e["en"], *e["aliases"]]
        if len(n) >= 4
    }
    hits = []
    for path, text in _code().items():
        for name in names:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I):
                hits.append(f"{path.relative_to(ROOT)}: {name}")
    assert not hits, hits


def test_no_table_number_in_code():
    pattern = re.compile(
        r"\btable\s*(?:==|!=|in|=)\s*[\d(\[{]|\.table\s*==\s*\d|\btable\s+\d\b|جدول\s*[0-9۰-۹]|"
        r"\bt[1-9](?:\.r\d+)?\b[\"']",
        re.I,
    )
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p, text in _code().items()
        for n, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, hits


def test_no_evaluation_item_in_code():
    ids = set()
    for f in ("questions.jsonl", "heldout.jsonl", "paraphrases.jsonl"):
        for line in (ROOT / "evals" / f).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                ids.add(item["id"])
    hits = [f"{p.relative_to(ROOT)}: {i}" for p, text in _code().items() for i in ids if i in text]
    assert not hits, hits
