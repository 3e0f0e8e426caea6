"""Key facts of a plain-words reference answer and how they are found in an answer: the text matching under
`scoring.score_reference` (numbers, the paper's named entities, distinctive words; citation markers and
statements; faithfulness to the cited passages).

Must not: combine scores into a verdict (scoring.py does), or use a model (all of it is string matching on
normalized text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..normalize import normalize, tokens

_NUMBER = re.compile(r"\d+(?:[.,/]\d+)*")
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,،]\s*\d+)*\s*\]")
_SENTENCE = re.compile(r"(?<=[.!?؟])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
PREFIX = 5  # a word of 6+ letters matches another with the same first 5 letters ("analysed"/"analysis")
SOFT_SHARE = 0.5  # share of the reference's distinctive words an answer needs, when there are no hard facts
DISTINCTIVE_DF = 0.08  # a corpus word found in at most this share of passages is distinctive (names, rare terms)


# Function words never make a key fact, however rare the paper's text makes them.
STOPWORDS = set(
    tokens("""a an the of in on at to for from by with about into over under and or but not no nor is are
was were be been being has have had do does did it its it's this that these those there their they them he she
his her we our you your i as than then so such also very more most less least some any each every all both
which who whom whose what when where why how will would can could may might must shall should one ones
و در به از که این آن با برای را تا یا هم نیز اما ولی اگر چه چی کدام است هست نیست بود بودند شد شده شدن می
کرد کرده کند کنند دارد دارند داشت داشته ای های هایی یک او آنها ما شما من خود بر بین میان پس پیش همه هر
چند چون زیرا سپس باید نباید توان تواند شود شوند گردد بیش کم دیگر""")
)


@dataclass
class Fact:
    label: str  # as written in the reference
    aliases: list[str]  # normalized forms that count as the fact
    hard: bool  # a number, a year or a named entity of the paper; soft = a distinctive word
    number: bool = False  # "332" is found in "332nd" but not in "1332"


@dataclass
class Vocabulary:
    """What the key-fact extractor knows about the paper: its entities (corpus/profile.json, when present)
    and the document frequency of each word over the passages (both languages)."""

    entities: list[dict] = field(default_factory=list)
    df: dict[str, int] = field(default_factory=dict)
    n_passages: int = 0

    @classmethod
    def of(cls, passages: Sequence, profile: dict | None = None) -> Vocabulary:
        df: dict[str, int] = {}
        for p in passages:
            for t in set(tokens(f"{p.text} {p.text_en}")):
                df[t] = df.get(t, 0) + 1
        # The document's subject (named by nearly every reference and answer, or by neither) is no key fact.
        subject = set(((profile or {}).get("document") or {}).get("subject") or [])
        entities = [
            e for e in (profile or {}).get("entities") or [] if isinstance(e, dict) and e.get("id") not in subject
        ]
        return cls(entities, df, len(passages))

    def distinctive(self, word: str) -> bool:
        n = self.df.get(word, 0)
        return 0 < n <= max(2, DISTINCTIVE_DF * self.n_passages)


def _names(entity: dict) -> list[str]:
    names = [entity.get("fa"), entity.get("en"), *(entity.get("aliases") or [])]
    return [normalize(n) for n in names if isinstance(n, str) and normalize(n)]


def _contains(text: str, phrase: str, digits: bool = False) -> bool:
    """`phrase` occurs in `text` (both normalized) as whole words; a number, not inside a longer number."""
    edge = r"\d" if digits else r"\w"
    return re.search(rf"(?<!{edge}){re.escape(phrase)}(?!{edge})", text) is not None


def key_facts(reference: str, vocab: Vocabulary, question: str = "") -> list[Fact]:
    """Numbers and years (either script) and the paper's entities named in the reference are hard facts;
    when there is none, the reference's words that are rare in the paper (names, specific terms) are soft
    facts. What the question already says is no fact of the answer: "Which organisation was
    founded on the mayor's proposal?" -> the reference's rare words, not the question's."""
    ref, asked = normalize(reference), normalize(question)
    asked_words = set(tokens(question))
    facts: list[Fact] = []
    for num in dict.fromkeys(_NUMBER.findall(ref)):
        if not _contains(asked, num, digits=True):
            facts.append(Fact(num, [num], True, number=True))
    for e in vocab.entities:
        names = _names(e)
        hit = next((n for n in names if _contains(ref, n)), None)
        if hit and not any(_contains(asked, n) for n in names):
            facts.append(Fact(hit, names, True))
    if not facts:  # no number and no named entity: the reference's distinctive words
        taken = {f.label for f in facts}
        for w in dict.fromkeys(tokens(reference)):
            if (
                len(w) >= 3
                and not w.isdigit()
                and w not in taken
                and w not in STOPWORDS
                and vocab.distinctive(w)
                and not _word_in(w, asked_words)
            ):
                facts.append(Fact(w, [w], False))
    return facts


def _word_in(word: str, answer_words: set[str]) -> bool:
    if word in answer_words:
        return True
    if len(word) > PREFIX:
        return any(len(a) > PREFIX and a[:PREFIX] == word[:PREFIX] for a in answer_words)
    return False


def fact_found(fact: Fact, text: str) -> bool:
    norm = normalize(text)
    if fact.hard:
        return any(_contains(norm, a, digits=fact.number) for a in fact.aliases)
    words = set(tokens(text))
    return any(_word_in(a, words) for a in fact.aliases)


def strip_markers(answer: str) -> str:
    return _MARKER.sub("", answer).replace("  ", " ").strip()


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """(statement without markers, the citation numbers it carries). A marker closes the statement
    before it ("… states X. [1]" and "… states X [1]" both cite [1]); text after the last marker, or in
    an answer without markers, cites nothing."""
    out: list[tuple[str, list[int]]] = []
    pos = 0
    groups = list(re.finditer(r"(?:\s*" + _MARKER.pattern + r")+", answer or ""))
    segments = [
        (answer[pos if i == 0 else groups[i - 1].end() : g.start()], [int(n) for n in re.findall(r"\d+", g.group())])
        for i, g in enumerate(groups)
    ]
    tail = (answer or "")[groups[-1].end() :] if groups else (answer or "")
    segments.append((tail, []))
    for text, nums in segments:
        for line in text.splitlines():
            line = _BULLET.sub("", line).strip(" :")
            if any(ch.isalnum() for ch in line):
                out.append((line, nums))
    return out


def faithfulness(result: dict) -> float | None:
    """Share of the answer's sentences found in a passage they cite (most of their words, every number):
    the answer chain's own verification, measured again on what it returned."""
    if result.get("abstained"):
        return None
    cits = {c["n"]: c for c in result.get("citations") or []}
    sents = answer_sentences(result.get("answer", ""))
    if not sents:
        return None
    ok = 0
    for text, nums in sents:
        sources = [cits[n] for n in nums if n in cits] or list(cits.values())
        ok += any(
            _supported(
                text, f"{c.get('text', '')} {c.get('text_en', '')} {c.get('heading', '')} {c.get('heading_en', '')}"
            )
            for c in sources
        )
    return round(ok / len(sents), 4)


def _supported(sentence: str, source: str) -> bool:
    if normalize(sentence) in normalize(source):
        return True
    words = [w for w in tokens(sentence) if len(w) > 2 or w.isdigit()]
    have = set(tokens(source))
    if not words or any(w.isdigit() and w not in have for w in words):
        return False
    return sum(_word_in(w, have) for w in words) / len(words) >= 0.8
