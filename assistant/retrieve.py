"""Hybrid retrieval: dense (Chroma, both languages) + BM25 over normalized tokens, and the same two over the
passages' question keys (keys.py), all fused by RRF.

Reciprocal rank fusion scores a passage by sum(1 / (rrf_k + rank)) over the ranked lists it
appears in: it needs no score calibration between cosine similarities and BM25 scores, and a
passage that both retrievers like rises above one that only one of them likes.
Each passage is indexed twice (Persian original and English rendering); a passage's rank in a
list is its best rank in either language, so a question in either language meets both. A passage reached
through its keys ranks by its best key: four lists in all (passage dense, passage BM25, key dense, key BM25).
With a fitted reranker (rerank.py) the fused order is one of its features: it reorders every passage in the
top `rerank_depth` of any list, and gives each hit its probability of being evidence (`Hit.confidence`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from . import rerank
from .index import Store
from .normalize import tokens
from .rerank import Reranker
from .types import Analysis, Hit, Passage  # Hit lives in types.py; imported from here too


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

    @classmethod
    def named_in(cls, a: Analysis) -> Filters:
        """The part of the paper a question names ("in Table N", "according to the abstract"), if any."""
        return cls(table=a.table, section=a.section)

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
        self.reranker = Reranker.load(self.settings.corpus_dir)
        self._type_shares: dict[str, dict[str, float]] | None = None
        self._df: dict[str, int] = {}  # entity id -> how many passages name it

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        query_vec: list[float] | None = None,
        analysis: Analysis | None = None,
    ) -> list[Hit]:
        """The best k passages. analysis (query.Analyzer's, of the question): what the reranker reads of the
        question beyond its words (the entities it names, its answer type, a table it names)."""
        k = k or self.settings.k
        filters = filters or Filters()
        if query_vec is None:
            query_vec = self.store.embeddings.embed_query(query)
        known, fused = self._fuse(query, filters, query_vec)
        ranked = sorted(fused.values(), key=lambda h: -h.score)
        if self.reranker.fitted:
            ranked = self._rerank(known, ranked, query_vec, analysis)
        key_dense = known.get("key", [])
        if key_dense and key_dense[0].score >= self.settings.key_promote:
            # A near-paraphrase of one of a passage's keys: that passage first (on dev and its rewordings the key's
            # passage was right 18 times in 20 above 0.97, 23 in 36 between 0.95 and 0.97; see README).
            top = key_dense[0]
            hit = fused.setdefault(top.passage, Hit(self.store.by_id[top.passage], 0.0))
            hit.key = max(hit.key, top.score)
            hit.score = max(h.score for h in ranked) + 1.0 if ranked else 1.0
            ranked = [hit] + [h for h in ranked if h is not hit]
        return ranked[:k]

    def _fuse(self, query: str, filters: Filters, query_vec) -> tuple[dict[str, list[Ranked]], dict[str, Hit]]:
        """The four ranked lists (best entry first, unknown passages dropped) and their RRF fusion."""
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
        # (name, list, the Hit attribute its best score goes to, its weight in the fusion)
        lists: list[tuple[str, list[Ranked], str | None, float]] = [
            ("dense", dense, "dense", 1.0),
            ("lexical", lexical, "lexical", 1.0),
        ]
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
            lists += [("key", key_dense, "key", self.settings.key_weight), ("key_lexical", key_lex, None, 1.0)]
        known = {name: [x for x in ranked if x.passage in self.store.by_id] for name, ranked, _, _ in lists}
        scores = rrf(
            [[x.passage for x in known[name]] for name, _, _, _ in lists],
            self.settings.rrf_k,
            [w for _, _, _, w in lists],
        )
        fused = {pid: Hit(self.store.by_id[pid], score) for pid, score in scores.items()}
        for name, _, attr, _ in lists:
            if attr:
                for pid, score in _best(known[name]).items():
                    setattr(fused[pid], attr, max(getattr(fused[pid], attr), score))
        with_keys = keys.passages if len(keys) else set()
        if with_keys:
            # A passage that has no keys (an ingested document) can only be found by the passage lists:
            # its score is scaled to the same total weight, so it competes on equal terms.
            full = sum(w for _, _, _, w in lists)
            part = 1.0 + 1.0  # the dense and lexical passage lists
            for pid, hit in fused.items():
                if pid not in with_keys:
                    hit.score *= full / part
        return known, fused

    def candidates(
        self, known: dict[str, list[Ranked]], ranked: list[Hit], query_vec, analysis: Analysis | None
    ) -> tuple[list[rerank.Candidate], list[dict[str, float]]]:
        """The reranker's candidates (the top `rerank_depth` of every list and of the fusion) and their
        features. Shared with the fitting (calibrate.py), so both read the same."""
        depth = self.settings.rerank_depth
        by_pid: dict[str, rerank.Candidate] = {}
        for r, h in enumerate(ranked):
            by_pid[h.passage.id] = rerank.Candidate(h.passage.id, r)
        pool = {h.passage.id for h in ranked[:depth]}
        for name, entries in known.items():
            for r, (pid, score) in enumerate(_best(entries).items()):
                by_pid.setdefault(pid, rerank.Candidate(pid, None)).lists[name] = (r, score)
                if r < depth:
                    pool.add(pid)
        cands = [c for pid, c in by_pid.items() if pid in pool]
        qv = np.asarray(query_vec, dtype=np.float32)
        langs = (analysis.lang,) if analysis is not None else ("fa", "en")
        vectors = self.store.sentence_vectors
        sims: dict[str, float] = {}
        for c in cands:
            found = [vectors[(c.passage, lang)] for lang in langs if (c.passage, lang) in vectors]
            if found:
                sims[c.passage] = max(float((v @ qv).max()) for v in found if len(v))
        names = [m.entity for m in analysis.mentions if m.entity.type != "region"] if analysis else []
        if self._type_shares is None:
            self._type_shares = rerank.type_shares(self.store.keys.keys) if len(self.store.keys) else {}
        probs = analysis.probs if analysis else {}
        named_tables = set(analysis.tables) if analysis else set()
        by_id = self.store.by_id
        keyed = self.store.keys.passages if len(self.store.keys) else set()
        # The things the question names that each candidate names too (as whole words; acronyms as written).
        said = {c.passage: [e for e in names if e.named_in(self._raw(c.passage))] for c in cands}
        rows = rerank.features(
            cands,
            sims,
            {pid: bool(es) for pid, es in said.items()},
            {
                c.passage: sum(probs.get(t, 0.0) * share for t, share in self._type_shares.get(c.passage, {}).items())
                for c in cands
            },
            {c.passage: by_id[c.passage].kind for c in cands},
            {c.passage: by_id[c.passage].table in named_tables for c in cands},
            probs.get("list", 0.0),
            {c.passage: c.passage in keyed for c in cands},
            {pid: max((1.0 / self._naming(e) for e in es), default=0.0) for pid, es in said.items()},
        )
        return cands, rows

    def _naming(self, entity) -> int:
        """How many passages name the entity (at least 1): a name said in one passage points at it."""
        if entity.id not in self._df:
            self._df[entity.id] = max(1, sum(entity.named_in(self._raw(pid)) for pid in self.store.by_id))
        return self._df[entity.id]

    def _rerank(
        self, known: dict[str, list[Ranked]], ranked: list[Hit], query_vec, analysis: Analysis | None
    ) -> list[Hit]:
        cands, rows = self.candidates(known, ranked, query_vec, analysis)
        scores = self.reranker.scores(rows)
        hits = {h.passage.id: h for h in ranked}
        out = []
        for c, score in sorted(zip(cands, scores), key=lambda x: -x[1]):
            hit = hits[c.passage]
            hit.score = score
            hit.confidence = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))
            out.append(hit)
        return out

    def _raw(self, pid: str) -> str:
        p = self.store.by_id[pid]
        return f"{p.text} {p.text_en}"


def fuse(rankings: list[list[Hit]], rrf_k: int = 60, weights: list[float] | None = None) -> list[Hit]:
    """Reciprocal rank fusion of several hit lists (e.g. a follow-up alone and with its history)."""
    scores = rrf([[h.passage.id for h in hits] for hits in rankings], rrf_k, weights or [1.0] * len(rankings))
    fused: dict[str, Hit] = {}
    for hits in rankings:
        for h in hits:
            cur = fused.setdefault(h.passage.id, Hit(h.passage, scores[h.passage.id], confidence=0.0))
            cur.dense, cur.lexical, cur.key = max(cur.dense, h.dense), max(cur.lexical, h.lexical), max(cur.key, h.key)
            cur.confidence = max(cur.confidence, h.confidence)
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
