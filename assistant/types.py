"""Typed records that flow between the stages: Passage in; Hit (retrieval), Analysis (the question),
Candidate, Statement, Evidence and Composition (the composer); Citation and Answer out.

Records only: no retrieval, analysis or composition logic lives here (a property that reads a record's
own fields is fine), so every stage can import this module without importing another stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .profile import Mention

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

    def text_in(self, lang: str) -> str:
        """The rendering in `lang`: English for "en" (when there is one), the Persian original otherwise."""
        return self.text_en if lang == "en" and self.text_en else self.text

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> Passage:
        return Passage(**d)


@dataclass
class Hit:
    """One passage as retrieval ranks it (retrieve.py)."""

    passage: Passage
    score: float  # fused RRF score
    dense: float = 0.0  # best cosine similarity of the passage (either language), 0 if not in the dense list
    lexical: float = 0.0  # best BM25 score, 0 if not in the lexical list
    key: float = 0.0  # best cosine similarity of one of its question keys to the question
    confidence: float = 1.0  # the reranker's P(the passage is evidence for the question); 1 without a reranker


@dataclass(frozen=True)
class Superlative:
    """A superlative a question uses: "newest" (its word only), or "most" and the noun it counts ("member
    countries")."""

    word: str  # as the question writes it, normalized ("newest", «جدید ترین», "most", «بیشترین»)
    counted: str | None = None  # "the most X": X


@dataclass
class Analysis:
    """What a question asks (query.Analyzer.analyse)."""

    lang: Lang  # the question's language: every decision is made in it (the answer language only renders)
    terms: list[str]  # content tokens (normalized, stop words removed)
    qtype: str = "other"  # the answer type (qtype.py), or "other" when the document has no keys
    probs: dict[str, float] = field(default_factory=dict)  # answer type -> probability
    mentions: list[Mention] = field(default_factory=list)  # entities named, the document's subject excluded
    unknown: list[str] = field(default_factory=list)  # content words the document never uses
    unknown_names: list[str] = field(default_factory=list)  # of those, the ones written as names
    table: int | None = None  # a table named by number ("Table N", «جدول N»)
    tables: list[int] = field(default_factory=list)  # every table named, in order ("in Table N and in Table M")
    section: str | None = None  # a part named ("according to the abstract")
    counted: str | None = None  # the noun of "how many X" / «چند X»
    focus: str | None = None  # the noun of "which X" / «چه X» (what kind of thing is wanted)
    comparator: tuple[str, float] | None = None  # ("gt", 100) for "more than 100"
    asks_row: bool = False  # "which row is X in?": a row number is the answer
    superlative: Superlative | None = None  # "the newest", "the most member countries" (query.superlative)
    # The answer types whose interrogative the question uses anywhere ("who", «چند», "in what year").
    interrogatives: set[str] = field(default_factory=set)
    # A place asked of something other than where a named place lies ("where was the agreement with <city>
    # signed?"): that place's country is then no answer.
    place_of_event: bool = False
    raw: str = ""

    def p(self, *types: str) -> float:
        return sum(self.probs.get(t, 0.0) for t in types)

    @property
    def wants_list(self) -> bool:
        if self.comparator and self.qtype not in ("year", "number"):
            return True  # "which ... have more than 100 members": the rows that pass the bound
        return self.qtype == "list" or self.p("list") >= 0.45

    @property
    def wants_number(self) -> bool:
        return self.qtype in ("number", "year") or bool(self.counted)

    @property
    def wants_year(self) -> bool:
        return self.qtype == "year"


@dataclass
class Candidate:
    """A sentence (or a row's span) the composer weighs as evidence for a fact or an explanation."""

    score: float
    cover: float
    text: str  # a sentence of the passage, or a row's span, in the question's language
    passage: Passage
    matched: set[str] = field(default_factory=set)  # the question's stems it carries
    position: int = 0  # sentence index inside its passage


@dataclass
class Statement:
    text: str  # an exact span of the passage text in the answer language
    passage: Passage
    n: int = 0
    generated: bool = False  # written by a chat model (llm.py): checked for support, not for being a span


# The order of the evidence object's keys in the JSON (--json, eval output): fixed by the order in which
# the composer used to fill the dict; a key whose field is None is absent.
_EVIDENCE_KEYS = (
    "cover",
    "own_cover",
    "table",
    "rows",
    "strong",
    "features",
    "p_answer",
    "qtype",
    "entities",
    "unknown",
    "abstain_reasons",
    "not_said",
    "generator",
)


@dataclass
class Evidence:
    """The figures the answer/abstain decision was made on; shown as the answer's `evidence` object.

    `cover` and `strong` also steer the composer's choice between a fact and a list answer; the rest is
    read only by people, calibration (`features`) and tests. None = not established for this answer."""

    cover: float | None = None  # idf-weighted share of the question's terms the chosen evidence carries
    own_cover: float | None = None  # the same for the question's own terms (a follow-up without its history)
    table: int | None = None  # a list answer: the table listed
    rows: int | None = None  # ... and how many of its rows were kept
    strong: bool | None = None  # ... and whether the question's own filters (a group, a place) chose them
    features: dict[str, float] | None = None  # calibration.py's inputs, rounded
    p_answer: float | None = None  # the calibrated probability that the paper answers
    qtype: str | None = None
    entities: list[str] | None = None  # ids of the entities the question names
    unknown: list[str] | None = None  # its words the document never uses
    abstain_reasons: list[str] | None = None  # empty when it answers
    # What the paper does not speak of, told to the user with the abstention: ("name", "Jakarta", ...) for names
    # it never mentions, ("ranking", "newest") for an order it never gives (answer.abstention renders it).
    not_said: tuple[str, ...] | None = None
    generator: dict[str, Any] | None = None  # what a chat-model backend did (llm/backend.py)

    def to_dict(self) -> dict[str, Any]:
        """The `evidence` object of the answer's JSON."""
        return {k: getattr(self, k) for k in _EVIDENCE_KEYS if getattr(self, k) is not None}


@dataclass
class Composition:
    """What the composer (or a chat-model backend) answers, before verification and rendering."""

    statements: list[Statement]
    abstained: bool
    kind: str = "fact"  # fact | list | abstain
    tables: set[int] = field(default_factory=set)  # tables the composer read whole (their rows count as retrieved)
    evidence: Evidence = field(default_factory=Evidence)  # the figures the decision was made on (shown in --json)
    read: set[str] = field(default_factory=set)  # passages consulted directly (e.g. the title), besides retrieval
    note: str = ""  # shown with the answer (e.g. "the chat model gave no answer; this is the extractive answer")


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
    evidence: dict = field(default_factory=dict)  # Evidence.to_dict(): what the answer/abstain decision rested on

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
