"""The answer chain (a LangChain Runnable pipeline):

    {question, history, lang} -> prepare -> condense follow-up -> retrieve -> compose -> verify -> Answer

`compose` is the offline extractive composer by default; chat-model backends plug in at the
same step and go through the same verification.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_core.runnables import RunnableLambda

from .compose import Composer, Composition, render, verify
from .errors import QuestionError  # defined with the other errors; imported from here too
from .index import IndexError_, Store, open_index
from .normalize import clean_display, tokens
from .profile import Profile
from .qtype import ANSWERED
from .query import Analysis, Analyzer, acronyms, as_lang, detect_language, is_followup, stem
from .retrieve import Filters, Hit, HybridRetriever, fuse
from .settings import Settings
from .text import numbers_in
from .types import Answer, Citation, Lang, Statement

NOT_IN_PAPER = {
    "fa": "مقاله به این پرسش پاسخ نمی‌دهد: در متن و جدول‌های آن چیزی که این را بیان کند پیدا نشد.",
    "en": "The paper does not answer this question: nothing in its text or tables states it.",
}
# What the paper does not speak of, when a check found it in the question's own words (Evidence.not_said).
NOT_SAID = {
    "name": {"fa": "مقاله از {} نامی نمی‌برد.", "en": "It never mentions {}."},
    "ranking": {
        "fa": "مقاله ترتیب یا رتبه‌بندی‌ای بر پایه «{}» به دست نمی‌دهد.",
        "en": "It gives no order or ranking by “{}”.",
    },
}


def abstention(lang: Lang, not_said: tuple[str, ...] | list[str] | None = None) -> str:
    """The abstention in the answer language, saying what the paper does not speak of when a check found it
    (not_said: its kind, then the words as the question wrote them)."""
    if not not_said:
        return NOT_IN_PAPER[lang]
    kind, *words = not_said
    return NOT_IN_PAPER[lang] + " " + NOT_SAID[kind][lang].format(("، " if lang == "fa" else ", ").join(words))


@dataclass
class Engine:
    """One opened index version and what is built over it: swapped whole when the index changes, and each
    question keeps the one it started with."""

    store: Store
    retriever: HybridRetriever
    composer: Composer
    analyzer: Analyzer

    @classmethod
    def over(cls, store: Store, settings: Settings) -> Engine:
        profile = Profile.load(settings.corpus_dir)
        # The document's vocabulary: its passages (both languages), its question keys (which bring the
        # colloquial and paraphrased forms people use) and the names in its profile.
        vocab = {t for p in store.passages for lang in ("fa", "en") for t in store.tokens(p, lang)}
        vocab |= {t for k in store.keys.keys for t in tokens(k.q)}
        vocab |= {t for e in profile.entities for n in (e.fa, e.en, *e.aliases) for t in tokens(n)}
        # And the words its profile gives for the kinds of rows, their groups and columns ("size" of a membership).
        vocab |= {
            t
            for role in profile.tables.values()
            for w in (*role.names, *(x for ws in role.attributes.values() for x in ws))
            + tuple(x for g in role.groups + role.statuses for x in g.aliases)
            for t in tokens(w)
        }
        # The acronyms of the phrases it writes out ("GNP": "gross national product").
        vocab |= acronyms([p.text_en for p in store.passages if p.text_en])
        # The numbers it states in words as well ("Thirty cities", «سی شهر»): "30" is a number it states.
        vocab |= {str(int(v)) for p in store.passages for v in numbers_in(p.text + " " + p.text_en) if v == int(v)}
        profile.words = frozenset(vocab)
        _ = store.antikeys  # loaded with the rest of the version (a version deleted later still answers alike)
        key_words: dict[str, set] = {}
        key_types: dict[str, set] = {}
        for k in store.keys.keys:
            key_words.setdefault(k.passage, set()).update(stem(t) for t in tokens(k.q))
            key_types.setdefault(k.passage, set()).add(k.type)
        composer = Composer(
            store.passages,
            settings,
            store.tokens,
            profile,
            key_words={p: frozenset(w) for p, w in key_words.items()},
            key_types={p: frozenset(t) for p, t in key_types.items()},
            sentence_vectors=store.sentence_vectors,
        )
        return cls(store, HybridRetriever(store), composer, Analyzer(profile, vocab, store.typer))


@dataclass
class Turn:
    question: str
    history: list = field(default_factory=list)
    lang: Lang | None = None
    # filled in along the chain
    analysis: Analysis | None = None
    query: str = ""
    query_vec: list | None = None  # the embedding of the question itself (analysis and retrieval share it)
    joined_vec: list | None = None  # a follow-up read with its history: embedded once, for retrieval and signals
    hits: list[Hit] = field(default_factory=list)
    composition: Composition | None = None
    timings: dict = field(default_factory=dict)
    started: float = 0.0
    engine: Engine | None = None

    # The chain's later steps read what the earlier ones filled in.
    @property
    def the_engine(self) -> Engine:
        assert self.engine is not None, "set by the prepare step"
        return self.engine

    @property
    def the_analysis(self) -> Analysis:
        assert self.analysis is not None, "set by the condense step"
        return self.analysis

    @property
    def the_lang(self) -> Lang:
        assert self.lang is not None, "set by the prepare step"
        return self.lang


def validate_question(question, settings: Settings) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: invalid UTF-8 bytes on the command line, or a bad API call
        raise QuestionError(
            f"the question is not valid text (invalid UTF-8 or a lone surrogate at character {exc.start})"
        ) from None
    import re

    # Terminal escape sequences (colours, cursor moves, titles; 7-bit ESC and 8-bit CSI forms) go first,
    # whole: `\x1b[31m` is not a question, and a pasted `\x1b[0m` must not change what is retrieved.
    # clean_display then turns any other control character into a space.
    q = re.sub(
        r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
        r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?",
        "",
        question,
    )
    q = clean_display(q)
    if not any(ch.isalnum() for ch in q):
        raise QuestionError("the question is empty: type a question in Persian or English")
    if len(q) > settings.max_question_chars:
        raise QuestionError(f"the question is {len(q):,} characters long; the limit is {settings.max_question_chars:,}")
    return q


def answerability_signals(
    store: Store, query_vec, question: str = "", leave_out_self: bool = False, profile: Profile | None = None
) -> dict:
    """Where the question falls among the questions the document answers (its keys), the near misses it is
    known not to answer (anti-keys) and everyday questions about other things (question forms); and the
    answerability classifier's probability that it is one of the first kind (learned: its words and vector).
    leave_out_self: calibration asks the anti-keys and forms themselves; their own vector is not a neighbour."""
    import numpy as np

    anti, forms = store.antikeys
    groups = [(store.keys, 1.0), (anti, 0.0), (forms, 0.0)]
    sims = [(g.similarities(query_vec), label) for g, label in groups if len(g)]
    if leave_out_self:
        sims = [(np.where(x > 0.9999, -1.0, x), label) for x, label in sims]
    if not sims or not len(store.keys):
        return {"key_top": 0.0, "answered_share": 0.5, "near_miss": 0.0, "offtopic": 0.0, "learned": 0.5}
    key_top = float(sims[0][0].max())
    clf = store.answerable
    # The classifier reads the question without the document's subject, as it was trained (build.py).
    text = profile.without_subject(question) if profile is not None else question
    learned = clf.probabilities(text, query_vec).get(ANSWERED, 0.5) if clf is not None else 0.5
    s = np.concatenate([x for x, _ in sims])
    labels = np.concatenate([np.full(len(x), lab) for x, lab in sims])
    # A soft vote of the ten nearest questions (weights sharpen towards the closest): the share that the
    # document answers. Ten and the temperature 0.02 were chosen on the dev split (README).
    top = np.argsort(-s)[:10]
    w = np.exp((s[top] - s[top].max()) / 0.02)
    return {
        "key_top": key_top,
        "answered_share": float((w * labels[top]).sum() / w.sum()),
        "near_miss": (anti.top_similarity(query_vec) - key_top) if len(anti) else 0.0,
        "offtopic": (forms.top_similarity(query_vec) - key_top) if len(forms) else 0.0,
        "learned": learned,
    }


def history_query(question: str, history: list, known: Callable[[str], bool] | None = None) -> str:
    """The retrieval query for a turn: a follow-up is read together with the previous question.

    Only earlier *user* turns are used: they name the topic (a table's kind of row, an organisation)
    that a follow-up refers to with "them" or "این سازمان"; answers would add noise.
    """
    if not history or not is_followup(question, known):
        return question
    previous = [t.get("content", "") for t in history if isinstance(t, dict) and t.get("role") == "user"]
    previous = [p for p in previous if isinstance(p, str) and p.strip()]
    if not previous:
        return question
    return f"{previous[-1]} {question}"


class Assistant:
    def __init__(self, settings: Settings | None = None, store: Store | None = None):
        self.settings = settings or Settings()
        self._engine = Engine.over(store or open_index(self.settings), self.settings)
        self._checked = time.monotonic()
        self._reload_lock = threading.Lock()
        # Optional chat-model backend (assistant/llm.py); None = the offline extractive composer only.
        self.generator = None
        self.leave_out_self = False  # calibration only (calibrate.py): see answerability_signals
        if self.settings.backend != "extractive":
            from .llm import make_backend

            self.generator = make_backend(self.settings)
        self.chain = (
            RunnableLambda(self._prepare, name="prepare")
            | RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._compose, name="compose")
            | RunnableLambda(self._finish, name="verify_and_answer")
        )

    @property
    def store(self) -> Store:
        return self._engine.store

    @property
    def retriever(self) -> HybridRetriever:
        return self._engine.retriever

    @property
    def composer(self) -> Composer:
        return self._engine.composer

    def warm_up(self) -> None:
        self.store.warm_up()

    def _current_engine(self, force: bool = False) -> Engine:
        """The engine for the next question: reopened when another process rebuilt or extended the index
        (checked at most every settings.reload_check_s), so a running window sees it without a restart."""
        engine = self._engine
        now = time.monotonic()
        if not force and now - self._checked < self.settings.reload_check_s:
            return engine
        self._checked = now
        if not engine.store.changed():
            return engine
        with self._reload_lock:
            if self._engine is not engine:  # another thread reloaded it meanwhile
                return self._engine
            try:
                store = open_index(self.settings, rebuild_if_needed=False)
            except IndexError_:
                return engine  # mid-build or damaged: answer from what we hold (or fail with its message)
            store._embeddings = engine.store._embeddings  # same settings, same model: not loaded again
            self._engine = Engine.over(store, self.settings)
            return self._engine

    # ------------------------------------------------------------------ chain steps
    def _prepare(self, turn: Turn) -> Turn:
        turn.started = time.perf_counter()
        turn.engine = self._current_engine()
        turn.question = validate_question(turn.question, self.settings)
        lang = as_lang(turn.lang)
        if lang is None:
            lang = as_lang(self.settings.language)
        turn.lang = lang or detect_language(turn.question)
        return turn

    def _condense(self, turn: Turn) -> Turn:
        turn.query = history_query(turn.question, turn.history or [], turn.the_engine.analyzer.spelled)
        if self.generator is not None and turn.history:
            # History-aware retrieval: the chat model rewrites the question into a standalone query;
            # on any failure it returns None and the extractive history query stays (llm.py).
            turn.query = self.generator.rewrite(turn.question, turn.history, turn.the_lang) or turn.query
        t = time.perf_counter()
        turn.query_vec = turn.the_engine.store.embeddings.embed_query(turn.question)
        turn.timings["embed_ms"] = (time.perf_counter() - t) * 1000
        # Every decision is taken in the question's own language: the answer language only renders.
        analyzer = turn.the_engine.analyzer
        analysis = analyzer.analyse(turn.question, turn.query_vec, detect_language(turn.question))
        turn.analysis = analysis
        if turn.query != turn.question:
            # A follow-up's entities may be named only in the earlier question ("its goals" after naming an organisation).
            earlier = analyzer.analyse(turn.query, None, analysis.lang)
            have = {m.entity.id for m in analysis.mentions}
            analysis.mentions += [m for m in earlier.mentions if m.entity.id not in have]
            analysis.table = analysis.table or earlier.table
        return turn

    def _retrieve(self, turn: Turn) -> Turn:
        t = time.perf_counter()
        k = max(self.settings.k, 8)
        # A question that names a part of the paper ("according to the abstract") is answered from it.
        analysis, engine = turn.the_analysis, turn.the_engine
        filters = Filters.named_in(analysis)

        def search(text: str, vec) -> list[Hit]:
            if len(analysis.tables) >= 2:  # several tables named ("in Table N and in Table M"): each one's best
                return fuse(
                    [
                        engine.retriever.search(
                            text,
                            k=k,
                            filters=Filters(table=t, section=analysis.section),
                            query_vec=vec,
                            analysis=analysis,
                        )
                        for t in analysis.tables
                    ],
                    self.settings.rrf_k,
                )[:k]
            return engine.retriever.search(text, k=k, filters=filters, query_vec=vec, analysis=analysis)

        own = search(turn.question, turn.query_vec)
        turn.hits = own
        if turn.query != turn.question:
            # History-aware retrieval: the follow-up read with the previous question, fused (RRF) with the
            # follow-up alone, so neither the old topic nor the new detail drowns the other.
            # The follow-up was judged to lean on its history: the joined reading counts double.
            turn.joined_vec = engine.store.embeddings.embed_query(turn.query)
            turn.hits = fuse(
                [search(turn.query, turn.joined_vec), own],
                self.settings.rrf_k,
                [2.0, 1.0],
            )[:k]
        turn.timings["retrieve_ms"] = (time.perf_counter() - t) * 1000
        return turn

    def _compose(self, turn: Turn) -> Turn:
        t = time.perf_counter()
        engine = turn.the_engine
        profile = engine.analyzer.profile
        signals = answerability_signals(engine.store, turn.query_vec, turn.question, self.leave_out_self, profile)
        if turn.query != turn.question:
            # A follow-up ("and which of them are in the south?") is judged with the question it follows too.
            joined = answerability_signals(engine.store, turn.joined_vec, turn.query, profile=profile)
            if joined["answered_share"] > signals["answered_share"]:
                signals = joined
        # The passages the reranker gives almost no chance are not evidence: a table's rows far down the list
        # would otherwise make the table look like what the question is about (lists.table_for).
        hits = [h for h in turn.hits if h.confidence >= self.settings.evidence_floor] or turn.hits[:1]
        turn.composition = engine.composer.compose(
            turn.question, turn.query, turn.the_analysis, hits, turn.lang, signals, turn.query_vec
        )
        if self.generator is not None:
            # The model writes from the same retrieved passages; its answer goes through the same
            # verification, and the extractive composition is the fallback (see llm.py).
            turn.composition = self.generator.compose(turn, turn.composition)
        turn.timings["compose_ms"] = (time.perf_counter() - t) * 1000
        return turn

    def _finish(self, turn: Turn) -> Answer:
        comp = turn.composition
        assert comp is not None, "set by the compose step"
        lang = turn.the_lang
        store = turn.the_engine.store
        retrieved = {h.passage.id for h in turn.hits} | {
            p.id for p in store.passages if p.kind == "heading" and p.table is not None
        }
        # Rows of a table the retriever surfaced count as retrieved: a list answer reads the whole table.
        tables = {h.passage.table for h in turn.hits if h.passage.table} | set(comp.tables)
        retrieved |= set(comp.read)
        retrieved |= {p.id for p in store.passages if p.table in tables}
        statements = verify(comp.statements, retrieved, lang) if not comp.abstained else []
        abstained = comp.abstained or not statements
        cited: list[Statement]
        if abstained:
            text, cited = abstention(lang, comp.evidence.not_said), []
        else:
            comp.statements = statements
            text, cited = render(comp, lang)
        citations = [
            Citation(
                n=st.n,
                id=st.passage.id,
                kind=st.passage.kind,
                section=st.passage.section,
                table=st.passage.table,
                row=st.passage.row,
                page=st.passage.page,
                text=st.passage.text,
                text_en=st.passage.text_en,
                heading=st.passage.heading,
                heading_en=st.passage.heading_en,
                quote=st.text,
            )
            for st in cited
        ]
        latency = (time.perf_counter() - turn.started) * 1000
        return Answer(
            question=turn.question,
            answer=text,
            language=lang,
            abstained=abstained,
            citations=citations,
            latency_ms=latency,
            timings=turn.timings,
            evidence=comp.evidence.to_dict(),
            retrieved=[h.passage.id for h in turn.hits],
            backend=self.settings.backend,
            note=comp.note,
        )

    # ------------------------------------------------------------------ API
    def ask(self, question: str, history: list | None = None, lang: str | None = None) -> Answer:
        def new_turn() -> Turn:
            # An unknown language is left for the prepare step to decide, as if none was given.
            return Turn(question=question, history=list(history or []), lang=as_lang(lang))

        turn = new_turn()
        try:
            return self.chain.invoke(turn)
        except IndexError_:
            # The version in use went away (rebuilt by another process; on a Chroma server its collection is
            # dropped): when a newer one is there, answer from it, once; otherwise the one-line error stands.
            if turn.engine is None or self._current_engine(force=True) is turn.engine:
                raise
            return self.chain.invoke(new_turn())

    def recommendations(self, lang: str = "fa") -> dict:
        """The first policy table of the profile (recommendations, then their results), grouped by its group
        column, each row with its citation data."""
        profile = self._engine.composer.profile
        tables = profile.policy_tables()
        if not tables:
            return {}
        role = profile.tables[tables[0]]
        rows = sorted(
            (p for p in self.store.passages if p.table == role.table and p.kind == "table_row"),
            key=lambda p: p.row or 0,
        )
        groups: dict[str, list] = {}
        for p in rows:
            kind = (p.cells.get(role.group_column or "") or {}).get(lang) or ""
            item = (p.cells.get("item") or {}).get(lang) or p.text_in(lang)
            groups.setdefault(kind, []).append(
                {"id": p.id, "row": p.row, "item": item, "text": p.text, "text_en": p.text_en}
            )
        return groups
