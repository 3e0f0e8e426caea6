"""Typed records that flow through every stage: Passage in, Answer out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Kind = Literal["paragraph", "table_row", "heading", "figure"]
Lang = Literal["fa", "en"]


@dataclass(frozen=True)
class Passage:
    id: str
    kind: Kind
    section: str  # section id, e.g. "s6.2", or "tN" for table N
    heading: str  # Persian heading path, e.g. "۶.۲. همکاری‌های بین‌المللی ..."
    heading_en: str
    text: str  # Persian (original), display form
    text_en: str  # English rendering (a translation)
    table: int | None = None
    row: int | None = None
    page: int | None = None
    source: str = "corpus/edition.fa.json"
    # Structured cells of a table row (key -> {"fa","en"}); empty for paragraphs.
    cells: dict = field(default_factory=dict, compare=False, hash=False)

    def text_in(self, lang: Lang) -> str:
        return self.text_en if lang == "en" and self.text_en else self.text

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> Passage:
        return Passage(**d)


@dataclass
class Citation:
    n: int
    id: str
    kind: str
    section: str
    table: int | None
    row: int | None
    page: int | None
    text: str
    text_en: str
    heading: str = ""
    heading_en: str = ""
    quote: str = ""  # the sentence of the passage that the answer uses

    def contract(self) -> dict:
        """The citation object of the ask-JSON contract (plus a few extra keys)."""
        return {
            "n": self.n,
            "id": self.id,
            "kind": self.kind,
            "section": self.section,
            "table": self.table,
            "row": self.row,
            "page": self.page,
            "text": self.text,
            "text_en": self.text_en,
            "heading": self.heading,
            "heading_en": self.heading_en,
            "quote": self.quote,
        }


@dataclass
class Answer:
    question: str
    answer: str
    language: Lang
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    latency_ms: float = 0.0
    timings: dict = field(default_factory=dict)
    retrieved: list[str] = field(default_factory=list)  # passage ids, best first
    note: str = ""
    backend: str = "extractive"
    evidence: dict = field(default_factory=dict)  # what the answer/abstain decision rested on

    def contract(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [c.contract() for c in self.citations],
            "latency_ms": round(self.latency_ms, 1),
            "retrieved": self.retrieved,
            "backend": self.backend,
            "note": self.note,
            "evidence": self.evidence,
        }
