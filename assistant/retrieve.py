"""Hybrid retrieval: dense (Chroma, both languages) + BM25 over normalized tokens, and the same two over the
passages' question keys (keys.py), all fused by RRF.

Reciprocal rank fusion scores a passage by sum(1 / (rrf_k + rank)) over the ranked lists it
appears in: it needs no score calibration between cosine similarities and BM25 scores, and a
passage that both retrievers like rises above one that only one of them likes.
Each passage is indexed twice (Persian original and English rendering); a passage's rank in a
list is its best rank in either language, so a question in either language meets both. A passage reached
through its keys ranks by its best key: four lists in all (passage dense, passage BM25, key dense, key BM25).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .index import Store
from .normalize import tokens
from .types import Hit, Passage  # Hit lives in types.py; imported from here too


@dataclass
class Filters:
    table: int | None = None
    section: str | None = None
    kind: str | None = None
    lang: str | None = None  # restrict matching to one language's text

    def where(self) -> dict | None:
        clauses: list[dict[str, object]] = []
        if self.table is not None:
            clauses.append({"table": self.table})
        if self.section:
            clauses.append({"section": self.section})
        if self.kind:
            clauses.append({"kind": self.kind})
        if self.lang:
            clauses.append({"lang": self.lang})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, p: Passage) -> bool:
        return (
            (self.table is None or p.table == self.table)
            and (not self.section or p.section == self.section)
            and (not self.kind or p.kind == self.kind)
        )


class Ranked(NamedTuple):
    """One entry of a ranked list: a passage (its best entry counts), the language matched, the raw score."""

    passage: str
    lang: str
    score: float


def rrf(rankings: Sequence[Sequence[str]], rrf_k: int, weights: Sequence[float]) -> dict[str, float]:
    """Reciprocal rank fusion: passage id -> sum of weight / (rrf_k + rank) over the lists it is in.

    A passage counts once per list, at its best rank (a list may hold it twice: once per language).
    The dict keeps the order in which passages first appear, which breaks ties in a stable sort."""
    fused: dict[str, float] = {}
    for ranked, weight in zip(rankings, weights):
        seen: set[str] = set()
        for pid in ranked:
            if pid in seen:
                continue
            seen.add(pid)
            fused[pid] = fused.get(pid, 0.0) + weight / (rrf_k + len(seen))
    return fused


def _best(ranked: Sequence[Ranked]) -> dict[str, float]:
    """Each passage's score at its best rank in one list."""
    first: dict[str, float] = {}
    for entry in ranked:
        first.setdefault(entry.passage, entry.score)
    return first


class HybridRetriever:
    def __init__(self, store: Store):
        self.store = store
        self.settings = store.settings

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, query_vec: list[float] | None = None
    ) -> list[Hit]:
        k = k or self.settings.k
        filters = filters or Filters()
        if query_vec is None:
            query_vec = self.store.embeddings.embed_query(query)
        narrowed = bool(filters.table or filters.section or filters.kind)
        dense = [Ranked(*x) for x in self.store.dense(query_vec, self.settings.k_dense, filters.where())]
        lexical = [
            Ranked(*x)
            for x in self.store.lexical(
                tokens(query), self.settings.k_lexical, allow=filters.allows if narrowed else None
            )
        ]
        if filters.lang:
            lexical = [x for x in lexical if x.lang == filters.lang]
        # (list, the Hit attribute its best score goes to, its weight in the fusion)
        lists: list[tuple[list[Ranked], str | None, float]] = [(dense, "dense", 1.0), (lexical, "lexical", 1.0)]
        key_dense: list[Ranked] = []
        keys = self.store.keys
        if len(keys):

            def allowed(pid: str) -> bool:
                return pid in self.store.by_id and (not narrowed or filters.allows(self.store.by_id[pid]))

            k_keys = self.settings.k_dense
            key_dense = [
                Ranked(keys.keys[i].passage, "key", sim)
                for i, sim in keys.dense(query_vec, 4 * k_keys)
                if allowed(keys.keys[i].passage)
            ]
            key_lex = [
                Ranked(keys.keys[i].passage, "key", sc)
                for i, sc in keys.lexical(tokens(query), 4 * k_keys)
                if allowed(keys.keys[i].passage)
            ]
            lists += [(key_dense, "key", self.settings.key_weight), (key_lex, None, 1.0)]
        known = [[x for x in ranked if x.passage in self.store.by_id] for ranked, _, _ in lists]
        scores = rrf([[x.passage for x in ranked] for ranked in known], self.settings.rrf_k, [w for _, _, w in lists])
        fused = {pid: Hit(self.store.by_id[pid], score) for pid, score in scores.items()}
        for ranked, (_, attr, _) in zip(known, lists):
            if attr:
                for pid, score in _best(ranked).items():
                    setattr(fused[pid], attr, max(getattr(fused[pid], attr), score))
        if key_dense and key_dense[0].score >= self.settings.key_promote:
            # A near-paraphrase of one of a passage's keys: that passage first (on dev, the passage of a key this
            # close was the right one 19 times in 20; see README).
            top = key_dense[0]
            hit = fused.setdefault(top.passage, Hit(self.store.by_id[top.passage], 0.0))
            hit.key = max(hit.key, top.score)
            hit.score = max(h.score for h in fused.values()) + 1.0
        with_keys = keys.passages if len(keys) else set()
        if with_keys:
            # A passage that has no keys (an ingested document) can only be found by the passage lists:
            # its score is scaled to the same total weight, so it competes on equal terms.
            full = sum(w for _, _, w in lists)
            part = 1.0 + 1.0  # the dense and lexical passage lists
            for pid, hit in fused.items():
                if pid not in with_keys:
                    hit.score *= full / part
        return sorted(fused.values(), key=lambda h: -h.score)[:k]


def fuse(rankings: list[list[Hit]], rrf_k: int = 60, weights: list[float] | None = None) -> list[Hit]:
    """Reciprocal rank fusion of several hit lists (e.g. a follow-up alone and with its history)."""
    scores = rrf([[h.passage.id for h in hits] for hits in rankings], rrf_k, weights or [1.0] * len(rankings))
    fused: dict[str, Hit] = {}
    for hits in rankings:
        for h in hits:
            cur = fused.setdefault(h.passage.id, Hit(h.passage, scores[h.passage.id]))
            cur.dense, cur.lexical, cur.key = max(cur.dense, h.dense), max(cur.lexical, h.lexical), max(cur.key, h.key)
    return sorted(fused.values(), key=lambda h: -h.score)


class PaperRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever (Documents carry the passage in metadata)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    hybrid: HybridRetriever
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(
                page_content=h.passage.text,
                id=h.passage.id,
                metadata={
                    "id": h.passage.id,
                    "score": h.score,
                    "dense": h.dense,
                    "lexical": h.lexical,
                    "kind": h.passage.kind,
                    "section": h.passage.section,
                    "table": h.passage.table,
                    "row": h.passage.row,
                    "text_en": h.passage.text_en,
                    "passage": h.passage,
                },
            )
            for h in self.hybrid.search(query, self.k)
        ]
