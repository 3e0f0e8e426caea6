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

from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .index import Store
from .normalize import tokens
from .types import Passage


@dataclass
class Hit:
    passage: Passage
    score: float  # fused RRF score
    dense: float = 0.0  # best cosine similarity of the passage (either language), 0 if not in the dense list
    lexical: float = 0.0  # best BM25 score, 0 if not in the lexical list
    key: float = 0.0  # best cosine similarity of one of its question keys to the question


@dataclass
class Filters:
    table: int | None = None
    section: str | None = None
    kind: str | None = None
    lang: str | None = None  # restrict matching to one language's text

    def where(self) -> dict | None:
        clauses = []
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
        dense = self.store.dense(query_vec, self.settings.k_dense, filters.where())
        lexical = self.store.lexical(
            tokens(query),
            self.settings.k_lexical,
            allow=filters.allows if (filters.table or filters.section or filters.kind) else None,
        )
        if filters.lang:
            lexical = [x for x in lexical if x[1] == filters.lang]
        fused: dict[str, Hit] = {}
        lists = [(dense, "dense"), (lexical, "lexical")]
        key_dense: list = []
        keys = self.store.keys
        if len(keys):
            allowed = (
                (lambda pid: pid in self.store.by_id and filters.allows(self.store.by_id[pid]))
                if (filters.table or filters.section or filters.kind)
                else (lambda pid: pid in self.store.by_id)
            )
            k_keys = self.settings.k_dense
            key_dense = [
                (keys.keys[i].passage, "key", sim)
                for i, sim in keys.dense(query_vec, 4 * k_keys)
                if allowed(keys.keys[i].passage)
            ]
            key_lex = [
                (keys.keys[i].passage, "key", sc)
                for i, sc in keys.lexical(tokens(query), 4 * k_keys)
                if allowed(keys.keys[i].passage)
            ]
            lists += [(key_dense, "key"), (key_lex, None)]
        weights = {"dense": 1.0, "lexical": 1.0, "key": self.settings.key_weight, None: 1.0}
        with_keys = keys.passages if len(keys) else set()
        for ranked, attr in lists:
            seen: set[str] = set()
            rank = 0
            for pid, _lang, score in ranked:
                if pid in seen or pid not in self.store.by_id:
                    continue  # a passage's best rank counts once per list
                seen.add(pid)
                rank += 1
                hit = fused.setdefault(pid, Hit(self.store.by_id[pid], 0.0))
                hit.score += weights[attr] / (self.settings.rrf_k + rank)
                if attr:
                    setattr(hit, attr, max(getattr(hit, attr), score))
        if key_dense and key_dense[0][2] >= self.settings.key_promote:
            # A near-paraphrase of one of a passage's keys: that passage first (on dev, the passage of a key this
            # close was the right one 19 times in 20; see README).
            pid, _, sim = key_dense[0]
            hit = fused.setdefault(pid, Hit(self.store.by_id[pid], 0.0))
            hit.key = max(hit.key, sim)
            hit.score = max(h.score for h in fused.values()) + 1.0
        if with_keys:
            # A passage that has no keys (an ingested document) can only be found by the passage lists:
            # its score is scaled to the same total weight, so it competes on equal terms.
            full = sum(weights[a] for _, a in lists)
            part = weights["dense"] + weights["lexical"]
            for pid, hit in fused.items():
                if pid not in with_keys:
                    hit.score *= full / part
        return sorted(fused.values(), key=lambda h: -h.score)[:k]


def fuse(rankings: list[list[Hit]], rrf_k: int = 60, weights: list[float] | None = None) -> list[Hit]:
    """Reciprocal rank fusion of several hit lists (e.g. a follow-up alone and with its history)."""
    fused: dict[str, Hit] = {}
    for i, hits in enumerate(rankings):
        w = weights[i] if weights else 1.0
        for rank, h in enumerate(hits, 1):
            cur = fused.setdefault(h.passage.id, Hit(h.passage, 0.0))
            cur.score += w / (rrf_k + rank)
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
