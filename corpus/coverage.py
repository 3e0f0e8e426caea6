"""Word coverage of the edition against the raw extraction, in both directions.

Both texts are normalized the same way (tatweel, ya/kaf, digits, diacritics, half-spaces; plural
and verb affixes joined whether written with a space, a half-space or nothing), the running page
headers are left out, and the table cells that the edition repeats on every row (a row's axis or
kind) are counted once, as the extraction prints them once.

usage: python corpus/coverage.py   -> prints the two figures and the largest differences
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from assistant.normalize import normalize  # noqa: E402

RUNNING_HEADER = "تحلیل فرصت ها و چالش های توسعه دیپلماسی شهری در"
GROUP_COLUMNS = {"axis", "kind", "group"}
_SUFFIX = re.compile(r"(?<=\w) +(ها|های|هایی|ای|ترین|تر)(?=\W|$)")
_PREFIX = re.compile(r"(?<!\w)(ن?می) +(?=\w)")
_WORD = re.compile(r"[0-9]+|[^\W\d_]+")


def words(text: str) -> list[str]:
    t = normalize(text)  # half-spaces are spaces here
    t = _PREFIX.sub(r"\1", _SUFFIX.sub(r"\1", t))
    return _WORD.findall(t)


def extraction_words(path: Path = HERE / "paper.extracted.fa.txt") -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    return [w for line in lines if RUNNING_HEADER not in line for w in words(line)]


def edition_words(corpus: Path = HERE) -> list[str]:
    fa = json.loads((corpus / "edition.fa.json").read_text(encoding="utf-8"))
    tables = json.loads((corpus / "tables.json").read_text(encoding="utf-8"))["tables"]
    out: list[str] = []
    for b in fa["blocks"]:
        if b["kind"] == "figure":  # the figure's text was never extracted; its caption line was
            out += words(b["text"])
            continue
        out += words(b["text"])
    for t in tables:
        for key in ("title_fa", "source_fa"):
            if t.get(key):
                out += words(t[key])
        seen_groups = set()
        for row in t["rows"]:
            for key, cell in row["cells"].items():
                if key in GROUP_COLUMNS:
                    if cell["fa"] in seen_groups:
                        continue
                    seen_groups.add(cell["fa"])
                out += words(cell["fa"])
    return out


def coverage() -> tuple[float, float, collections.Counter, collections.Counter]:
    src = collections.Counter(extraction_words())
    ed = collections.Counter(edition_words())
    common = sum((src & ed).values())
    return common / sum(src.values()), common / sum(ed.values()), src - ed, ed - src


if __name__ == "__main__":
    forward, backward, missing, extra = coverage()
    print(f"extraction words found in the edition: {forward:.4f}")
    print(f"edition words found in the extraction: {backward:.4f}")
    print("largest gaps (missing from the edition):", missing.most_common(25))
    print("largest gaps (not in the extraction):", extra.most_common(25))
