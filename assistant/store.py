"""An opened index version (Store): its passages by id, their matching tokens, the two dense read paths
(Chroma's engine directly, or chromadb's client), BM25 over both renderings, the question keys and the
answer-type classifier; and opening a version from its folder, checking it for damage on the way.

A Store neither builds nor repairs (build.py, index.py); ingesting writes through its `collection`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import REBUILD, IndexDamaged, VersionDamaged, is_fatal
from .normalize import tokens
from .settings import Settings
from .types import Passage
from .versions import LEXICAL, Manifest, _read_current, _why

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.embeddings import Embeddings

    from .keys import KeyIndex
    from .lexical import BM25
    from .qtype import QuestionTyper
    from .vectorstore import LocalReader


class Store:
    """An opened index version: passages by id, the Chroma collection and the BM25 index."""

    def __init__(self, settings: Settings, version_dir: Path, manifest: Manifest, passages: list[Passage]):
        self.settings = settings
        self.dir = version_dir
        self.manifest = manifest
        self.passages = passages
        self.by_id = {p.id: p for p in passages}
        self._collection: Any = None  # a chromadb Collection (its client is imported only when needed)
        # vectorstore.LocalReader once opened; False when the client is used instead
        self._reader: LocalReader | Literal[False] | None = None
        self._embeddings: Embeddings | None = None
        self._bm25: BM25 | None = None
        self._bm25_docs: list[tuple[str, str]] = []
        self._tokens: dict | None = None
        self._keys: KeyIndex | None = None
        self._antikeys: tuple[KeyIndex, KeyIndex] | None = None
        self._typer: QuestionTyper | None | Literal[False] = False  # not loaded yet (None: no classifier)
        self._answerable: QuestionTyper | None | Literal[False] = False
        self._sentences: dict[tuple[str, str], np.ndarray] | None = None
        self.manifest_mtime = 0  # of manifest.json when this version was read (set by _load_version)

    def changed(self) -> bool:
        """Has another process replaced this version (a rebuild) or extended it (an ingest) since it was
        opened? A small read and a stat; False when it cannot tell (the index is gone: see dense())."""
        current, _problem = _read_current(self.settings)
        if current is None:
            return False
        try:
            mtime = (current / "manifest.json").stat().st_mtime_ns
        except OSError:
            return False
        return current.name != self.dir.name or mtime != self.manifest_mtime

    def tokens(self, p: Passage, lang: str) -> list[str]:
        """Matching tokens of a passage's text in one language (from lexical.json when it has them)."""
        if self._tokens is None:
            self._tokens = {}
            try:
                self._tokens = json.loads((self.dir / LEXICAL).read_text(encoding="utf-8"))["tokens"]
            except (OSError, ValueError, KeyError, TypeError):
                pass  # an index built before lexical.json existed: computed below
        got = self._tokens.get(p.id, {}).get(lang)
        if got is None:
            got = tokens(p.text_in("en" if lang == "en" else "fa") if lang == "fa" or p.text_en else "")
        return got

    # -- question keys and the answer-type classifier trained on them (built with the version)
    @property
    def keys(self) -> KeyIndex:
        if self._keys is None:
            from .keys import KeyIndex

            self._keys = KeyIndex.load(self.dir)
        return self._keys

    @property
    def antikeys(self) -> tuple[KeyIndex, KeyIndex]:
        """Near-miss questions (keys.ANTIKEYS_FILE) and the document-independent question forms, as reference
        points for "is this question answered here?" (calibration features)."""
        if self._antikeys is None:
            from .keys import KeyIndex

            self._antikeys = (KeyIndex.load(self.dir, "antikeys"), KeyIndex.load(self.dir, "forms"))
        return self._antikeys

    @property
    def typer(self) -> QuestionTyper | None:
        if self._typer is False:
            from .qtype import QuestionTyper

            self._typer = QuestionTyper.load(self.dir)
        return self._typer

    @property
    def answerable(self) -> QuestionTyper | None:
        """The classifier of "does the document answer this question?" (keys vs anti-keys vs forms)."""
        if self._answerable is False:
            from .qtype import ANSWERABLE_NPZ, QuestionTyper

            self._answerable = QuestionTyper.load(self.dir, ANSWERABLE_NPZ)
        return self._answerable

    @property
    def sentence_vectors(self) -> dict[tuple[str, str], np.ndarray]:
        """(passage id, language) -> one row per sentence (text.sentences order); empty for an older build."""
        if self._sentences is None:
            import numpy as np

            out: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
            try:
                with np.load(self.dir / "sentences.npz") as f:
                    for key, vec in zip(f["ids"], f["vectors"]):
                        pid, lang, i = str(key).rsplit("|", 2)
                        out.setdefault((pid, lang), []).append((int(i), vec))
            except (OSError, ValueError, KeyError):
                out = {}
            self._sentences = {
                k: np.vstack([v for _, v in sorted(rows, key=lambda r: r[0])]) for k, rows in out.items()
            }
        return self._sentences

    # -- dense
    @property
    def embeddings(self) -> Embeddings:
        if self._embeddings is None:
            from .embeddings import make_embeddings

            self._embeddings = make_embeddings(self.settings)
        return self._embeddings

    @property
    def collection(self) -> Any:
        """The collection through chromadb's client (server mode, writes, and the fallback read path)."""
        if self._collection is None:
            from .vectorstore import ChromaEmbeddingFunction, chroma_client

            client = chroma_client(self.settings, self.dir)
            try:
                self._collection = client.get_collection(
                    self.manifest.collection, embedding_function=ChromaEmbeddingFunction(self.embeddings)
                )
            except BaseException as exc:  # noqa: BLE001 - Chroma's Rust panics derive from BaseException only
                if is_fatal(exc):
                    raise
                if not self.settings.chroma_url:
                    self._read_only_check()
                raise IndexDamaged(
                    f"the vector collection {self.manifest.collection!r} cannot be opened ({type(exc).__name__})",
                    f"rebuild it: {REBUILD}",
                ) from None
        return self._collection

    def _nearest(self, query_vec: list[float], k: int, where: dict | None) -> list[tuple[str, float]]:
        # Local index: Chroma's engine without its client's import cost (vectorstore.LocalReader);
        # server mode, or a reader that cannot open or answer: the client.
        if self._reader is None:
            self._reader = False
            if not self.settings.chroma_url:
                try:
                    from .vectorstore import LocalReader

                    self._reader = LocalReader(self.dir / "chroma", self.manifest.collection)
                except BaseException as exc:  # noqa: BLE001 - bindings changed or database unusable (a Rust
                    if is_fatal(exc):  # panic included): the client decides
                        raise
        if self._reader:
            try:
                return self._reader.query(query_vec, k, where)
            except BaseException as exc:  # noqa: BLE001 - as above; a real failure is raised again by the client
                if is_fatal(exc):
                    raise
                self._reader = False
        res = self.collection.query(query_embeddings=[query_vec], n_results=k, where=where, include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))

    def dense(self, query_vec: list[float], k: int, where: dict | None = None) -> list[tuple[str, str, float]]:
        """(passage id, language, cosine similarity), best first."""
        try:
            nearest = self._nearest(query_vec, k, where)
        except IndexDamaged:
            raise
        except BaseException as exc:  # noqa: BLE001 - deleted, damaged or gone while in use (or a Rust panic)
            if is_fatal(exc):
                raise
            if self.settings.chroma_url:
                raise IndexDamaged(
                    f"the Chroma server at {self.settings.chroma_url} failed while answering ({type(exc).__name__})",
                    "check that it is running, or drop --chroma-url",
                ) from None
            self._read_only_check()
            raise VersionDamaged(
                f"index version {self.dir.name} in {self.dir.parent} failed while answering "
                f"({type(exc).__name__}): it was deleted or damaged while in use",
                f"the next start repairs it, or {REBUILD}",
            ) from None
        out = []
        for record_id, dist in nearest:
            pid, _, lang = record_id.rpartition("#")  # records are "<passage id>#<language>"
            out.append((pid, lang, 1.0 - float(dist)))
        return out

    # -- lexical
    def _build_bm25(self) -> BM25:
        # Both renderings of every passage, scored by the one BM25 of the project (lexical.py: rank_bm25's
        # formula as postings, computed once).
        from .lexical import BM25

        corpus = []
        for p in self.passages:
            for lang in ("fa", "en"):
                if lang == "fa" or p.text_en:
                    self._bm25_docs.append((p.id, lang))
                    corpus.append(self.tokens(p, lang))
        self._bm25 = BM25(corpus)
        return self._bm25

    def bm25_scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 (Okapi, rank_bm25's variant) of every indexed text, in _bm25_docs order."""
        if self._bm25 is None:
            self._bm25 = self._build_bm25()
        return self._bm25.scores(query_tokens)

    def lexical(
        self, query_tokens: list[str], k: int, allow: Callable[[Passage], bool] | None = None
    ) -> list[tuple[str, str, float]]:
        """(passage id, language, BM25 score), best first; only passages `allow` accepts."""
        import numpy as np

        if not query_tokens:
            return []
        scores = self.bm25_scores(query_tokens)
        out: list[tuple[str, str, float]] = []
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] <= 0 or len(out) >= k:
                break
            pid, lang = self._bm25_docs[i]
            if allow is None or allow(self.by_id[pid]):
                out.append((pid, lang, float(scores[i])))
        return out

    def probe(self) -> None:
        """Local mode: read the vector database once when the version is opened, so that damage (a cut or
        overwritten file) is found then, not by the first question: sqlite's quick integrity check and the
        number of stored vectors against the passages. Through Python's sqlite3, read-only and immutable:
        Chroma's engine caches what it opens for the whole process, and a reader opened here would keep
        serving vectors from before a later ingest. A few milliseconds."""
        if self.settings.chroma_url:
            return
        import sqlite3

        db = (self.dir / "chroma" / "chroma.sqlite3").resolve()
        want = sum(2 if p.text_en else 1 for p in self.passages)
        try:
            con = sqlite3.connect(db.as_uri() + "?mode=ro&immutable=1", uri=True)
            try:
                check = con.execute("PRAGMA quick_check").fetchone()[0]
                stored = con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise VersionDamaged(
                f"index version {self.dir.name} is damaged (its vector database cannot be "
                f"read: {' '.join(str(exc).split())[:80]})"
            ) from None
        if check != "ok":
            raise VersionDamaged(
                f"index version {self.dir.name} is damaged (its vector database cannot be "
                f"read: it fails sqlite's integrity check)"
            )
        if stored != want:
            raise VersionDamaged(
                f"index version {self.dir.name} is damaged (its vector database holds {stored} of {want} vectors)"
            )

    def _read_only_check(self) -> None:
        """Chroma opens its database for writing even to read it: in a folder that cannot be written it
        fails, and that is not damage (a rebuild would fail the same way); said as what it is."""
        chroma = self.dir / "chroma"
        if all(os.access(p, os.W_OK) for p in (chroma, chroma / "chroma.sqlite3") if p.exists()):
            return
        raise IndexDamaged(
            f"the index folder {self.settings.index_dir} is read-only, and Chroma needs to write "
            "to its database even to read it",
            f"make it writable (chmod -R u+w "
            f"{self.settings.index_dir}), or copy it to a writable folder and pass that with --index",
        )

    def warm_up(self) -> None:
        """Load the model, open the collection and build the lexical index now, not on the first question."""
        self.dense(self.embeddings.embed_query("warm up"), 1)
        if self._bm25 is None:
            self._build_bm25()


def _load_version(settings: Settings, d: Path) -> Store:
    try:
        mtime = (d / "manifest.json").stat().st_mtime_ns  # before reading: a rewrite after the read shows
        manifest = Manifest(**json.loads((d / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise VersionDamaged(f"index version {d.name} is damaged (manifest.json: {_why(exc)})") from None
    try:
        passages = [
            Passage.from_dict(json.loads(line))
            for line in (d / "passages.jsonl").read_text(encoding="utf-8").splitlines()
            if line
        ]
    except (OSError, ValueError, TypeError) as exc:
        raise VersionDamaged(f"index version {d.name} is damaged (passages.jsonl: {_why(exc)})") from None
    if len(passages) != manifest.n_passages:
        raise VersionDamaged(
            f"index version {d.name} is damaged (passages.jsonl holds {len(passages)} of "
            f"{manifest.n_passages} passages)"
        )
    if not settings.chroma_url and manifest.fingerprint == settings.index_fingerprint(manifest.corpus_digest):
        # Built locally with these settings: its Chroma database must be there and be a database
        # (a cheap header check, no Chroma import); Store.probe() then reads it.
        db = d / "chroma" / "chroma.sqlite3"
        try:
            with db.open("rb") as fh:
                ok = fh.read(16) == b"SQLite format 3\x00"
            why = "is not a database"
        except OSError as exc:
            ok, why = False, _why(exc)
        if not ok:
            raise VersionDamaged(f"index version {d.name} is damaged (chroma/chroma.sqlite3 {why})")
    store = Store(settings, d, manifest, passages)
    store.manifest_mtime = mtime
    return store


def _inspect(settings: Settings, want: str) -> tuple[Store | None, str]:
    """The active version opened and, when it is the one wanted, read once; or what is wrong with it."""
    d, problem = _read_current(settings)
    if d is None:
        return None, problem
    try:
        store = _load_version(settings, d)
        if store.manifest.fingerprint == want:
            store.probe()
    except VersionDamaged as exc:
        return None, exc.what
    return store, ""
