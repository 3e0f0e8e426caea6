"""Build, load and update the index: a Chroma collection (local folder or server) + a lexical index.

Layout of index/:
  CURRENT                      name of the active version folder (swapped atomically)
  v-<fingerprint>-<stamp>/     chroma/ (local mode), passages.jsonl, manifest.json, lexical.json
                               (every passage's matching tokens in both languages, so a fresh process
                               neither re-normalizes the corpus for BM25 nor for the composer's statistics)
  .lock                        held while building or ingesting, so two writers cannot interleave
A new build is written beside the active one and only then made current, so a failed
or interrupted build (disk full, crash) leaves the previous index working.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .ingest import IngestError, corpus_digest, load_edition, load_path
from .normalize import tokens
from .settings import Settings
from .types import Passage

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

Progress = Callable[[int, int], None]


class IndexError_(RuntimeError):
    """The index is missing, unreadable or unreachable; the message names the fix."""


@dataclass
class Manifest:
    fingerprint: str
    corpus_digest: str
    embedding_backend: str
    embedding_model: str
    created: float
    n_passages: int
    collection: str
    sources: list[str] = field(default_factory=list)  # user-ingested files, re-read on rebuild

    def dump(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1)


def _atomic_write(path: Path, text: str) -> None:
    _atomic_write_many([(path, text)])


def _atomic_write_many(files: list[tuple[Path, str]]) -> None:
    """Write every file beside its old version first, then swap them all in: a failure while writing
    (disk full) leaves all the old files and no half-written temporaries."""
    tmps: list[Path] = []
    try:
        for path, text in files:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmps.append(tmp)
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        for (path, _), tmp in zip(files, tmps):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        raise


LEXICAL = "lexical.json"
_BUILDS = itertools.count(1)


def _lexical_json(passages: list[Passage]) -> str:
    toks = {p.id: {"fa": tokens(p.text), "en": tokens(p.text_en) if p.text_en else []} for p in passages}
    return json.dumps({"tokens": toks}, ensure_ascii=False)


def _lock(settings: Settings, timeout: float = 600):
    from filelock import FileLock

    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.index_dir / ".lock"), timeout=timeout)


class Store:
    """An opened index version: passages by id, the Chroma collection and the BM25 index."""

    def __init__(self, settings: Settings, version_dir: Path, manifest: Manifest, passages: list[Passage]):
        self.settings = settings
        self.dir = version_dir
        self.manifest = manifest
        self.passages = passages
        self.by_id = {p.id: p for p in passages}
        self._collection = None
        self._reader = None  # vectorstore.LocalReader once opened; False when the client is used instead
        self._embeddings = None
        self._bm25 = None
        self._postings: dict = {}
        self._bm25_docs: list[tuple[str, str]] = []
        self._tokens: Optional[dict] = None
        self._keys = None
        self._antikeys = None
        self._typer = False  # not loaded yet (None: this version has no classifier)
        self.manifest_mtime = 0  # of manifest.json when this version was read (set by _load_version)

    def changed(self) -> bool:
        """Has another process replaced this version (a rebuild) or extended it (an ingest) since it was
        opened? A small read and a stat; False when it cannot tell (the index is gone: see dense())."""
        try:
            current = (self.settings.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
            mtime = (self.settings.index_dir / current / "manifest.json").stat().st_mtime_ns
        except OSError:
            return False
        return current != self.dir.name or mtime != self.manifest_mtime

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
            got = tokens(p.text_in(lang) if lang == "fa" or p.text_en else "")
        return got

    # -- question keys and the answer-type classifier trained on them (built with the version)
    @property
    def keys(self):
        if self._keys is None:
            from .keys import KeyIndex

            self._keys = KeyIndex.load(self.dir)
        return self._keys

    @property
    def antikeys(self):
        """Near-miss questions (keys.ANTIKEYS_FILE) and the document-independent question forms, as reference
        points for "is this question answered here?" (calibration features)."""
        if self._antikeys is None:
            from .keys import KeyIndex

            self._antikeys = (KeyIndex.load(self.dir, "antikeys"), KeyIndex.load(self.dir, "forms"))
        return self._antikeys

    @property
    def typer(self):
        if self._typer is False:
            from .qtype import QuestionTyper

            self._typer = QuestionTyper.load(self.dir)
        return self._typer

    # -- dense
    @property
    def embeddings(self):
        if self._embeddings is None:
            from .embeddings import make_embeddings

            self._embeddings = make_embeddings(self.settings)
        return self._embeddings

    @property
    def collection(self):
        """The collection through chromadb's client (server mode, writes, and the fallback read path)."""
        if self._collection is None:
            from .vectorstore import ChromaEmbeddingFunction, chroma_client

            client = chroma_client(self.settings, self.dir)
            try:
                self._collection = client.get_collection(
                    self.manifest.collection, embedding_function=ChromaEmbeddingFunction(self.embeddings))
            except Exception as exc:
                raise IndexError_(f"the vector collection {self.manifest.collection!r} cannot be opened "
                                  f"({type(exc).__name__}); rebuild it with `assistant index --rebuild`") from None
        return self._collection

    def _nearest(self, query_vec: list[float], k: int, where: Optional[dict]) -> list[tuple[str, float]]:
        # Local index: Chroma's engine without its client's import cost (vectorstore.LocalReader);
        # server mode, or a reader that cannot open or answer: the client.
        if self._reader is None:
            self._reader = False
            if not self.settings.chroma_url:
                try:
                    from .vectorstore import LocalReader

                    self._reader = LocalReader(self.dir / "chroma", self.manifest.collection)
                except Exception:  # noqa: BLE001 - bindings changed or database unusable: the client decides
                    pass
        if self._reader:
            try:
                return self._reader.query(query_vec, k, where)
            except Exception:  # noqa: BLE001 - as above; a real failure is raised again by the client
                self._reader = False
        res = self.collection.query(query_embeddings=[query_vec], n_results=k, where=where, include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))

    def dense(self, query_vec: list[float], k: int, where: Optional[dict] = None) -> list[tuple[str, str, float]]:
        """(passage id, language, cosine similarity), best first."""
        try:
            nearest = self._nearest(query_vec, k, where)
        except IndexError_:
            raise
        except Exception as exc:  # noqa: BLE001 - the store was deleted, damaged or went away while in use
            where_ = self.settings.chroma_url or self.dir
            raise IndexError_(f"the index at {where_} failed while answering ({type(exc).__name__}); it was "
                              "probably deleted or damaged while in use: restart (it is rebuilt when opened) "
                              "or run `assistant index --rebuild`") from None
        out = []
        for record_id, dist in nearest:
            pid, _, lang = record_id.rpartition("#")  # records are "<passage id>#<language>"
            out.append((pid, lang, 1.0 - float(dist)))
        return out

    # -- lexical
    def _build_bm25(self) -> None:
        import numpy as np
        from rank_bm25 import BM25Okapi

        corpus = []
        for p in self.passages:
            for lang in ("fa", "en"):
                if lang == "fa" or p.text_en:
                    self._bm25_docs.append((p.id, lang))
                    corpus.append(self.tokens(p, lang))
        bm25 = BM25Okapi(corpus)  # the fitted statistics: idf (with its epsilon floor), k1, b, avgdl
        # Postings holding each term's Okapi weight per document, computed once (vectorized, with
        # rank_bm25's own formula): a question then costs a slice add per token instead of rank_bm25's
        # Python loop over every document (0.02 vs 0.7 ms here).
        vocab: dict[str, int] = {}
        doc_ids, term_ids, tfs = [], [], []
        for i, freqs in enumerate(bm25.doc_freqs):
            for term, tf in freqs.items():
                doc_ids.append(i)
                term_ids.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        doc_ids, term_ids, tf = np.asarray(doc_ids), np.asarray(term_ids), np.asarray(tfs, dtype=float)
        idf = np.asarray([bm25.idf[t] for t in vocab])
        k1, b = bm25.k1, bm25.b
        dl = np.asarray(bm25.doc_len, dtype=float)[doc_ids]
        weight = idf[term_ids] * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / bm25.avgdl)))
        order = np.argsort(term_ids, kind="stable")
        bounds = np.searchsorted(term_ids[order], np.arange(len(vocab) + 1))
        self._post_docs, self._post_weights = doc_ids[order], weight[order]
        self._postings = {t: (bounds[j], bounds[j + 1]) for t, j in vocab.items()}
        self._bm25 = bm25

    def bm25_scores(self, query_tokens: list[str]):
        """BM25 (Okapi, rank_bm25's variant) of every indexed text, in _bm25_docs order."""
        import numpy as np

        if self._bm25 is None:
            self._build_bm25()
        scores = np.zeros(len(self._bm25_docs))
        for t in query_tokens:
            span = self._postings.get(t)
            if span is not None:
                start, end = span
                scores[self._post_docs[start:end]] += self._post_weights[start:end]
        return scores

    def lexical(self, query_tokens: list[str], k: int, allow: Optional[Callable[[Passage], bool]] = None):
        import numpy as np

        if not query_tokens:
            return []
        scores = self.bm25_scores(query_tokens)
        out = []
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] <= 0 or len(out) >= k:
                break
            pid, lang = self._bm25_docs[i]
            if allow is None or allow(self.by_id[pid]):
                out.append((pid, lang, float(scores[i])))
        return out

    def warm_up(self) -> None:
        """Load the model, open the collection and build the lexical index now, not on the first question."""
        self.dense(self.embeddings.embed_query("warm up"), 1)
        if self._bm25 is None:
            self._build_bm25()


# ---------------------------------------------------------------- building
def _current_dir(settings: Settings) -> Optional[Path]:
    pointer = settings.index_dir / "CURRENT"
    if not pointer.exists():
        return None
    d = settings.index_dir / pointer.read_text(encoding="utf-8").strip()
    return d if d.is_dir() else None


def _load_version(settings: Settings, d: Path) -> Store:
    try:
        mtime = (d / "manifest.json").stat().st_mtime_ns  # before reading: a rewrite after the read shows
        manifest = Manifest(**json.loads((d / "manifest.json").read_text(encoding="utf-8")))
        passages = [Passage.from_dict(json.loads(line))
                    for line in (d / "passages.jsonl").read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError, TypeError) as exc:
        raise IndexError_(f"the index at {d} is unreadable ({type(exc).__name__}); "
                          "rebuild it with `assistant index --rebuild`") from None
    if len(passages) != manifest.n_passages:
        raise IndexError_(f"the index at {d} is incomplete; rebuild it with `assistant index --rebuild`")
    if not settings.chroma_url and manifest.fingerprint == settings.index_fingerprint(manifest.corpus_digest):
        # Built locally with these settings: its Chroma database must be there and be a database
        # (a cheap header check, no Chroma import), else status says "corrupt" and open_index rebuilds.
        db = d / "chroma" / "chroma.sqlite3"
        try:
            with db.open("rb") as fh:
                ok = fh.read(16) == b"SQLite format 3\x00"
        except OSError:
            ok = False
        if not ok:
            raise IndexError_(f"the vector store in {d} is missing or damaged; "
                              "rebuild it with `assistant index --rebuild`")
    store = Store(settings, d, manifest, passages)
    store.manifest_mtime = mtime
    return store


def status(settings: Settings) -> dict:
    """What is there and whether it is current (no model load, no Chroma import)."""
    d = _current_dir(settings)
    want = settings.index_fingerprint(corpus_digest(settings.corpus_dir))
    if d is None:
        return {"state": "missing", "fingerprint": want}
    try:
        store = _load_version(settings, d)
    except IndexError_ as exc:
        return {"state": "corrupt", "error": str(exc), "fingerprint": want}
    state = "current" if store.manifest.fingerprint == want else "stale"
    return {"state": state, "dir": str(d), "fingerprint": store.manifest.fingerprint,
            "wanted": want, "passages": store.manifest.n_passages, "sources": store.manifest.sources}


class EmbeddingCache:
    """Vectors by (model, text) in index/embedding-cache.sqlite: a rebuild after a crash, a settings
    change that does not touch the model, or a restored backup re-embeds nothing it has seen."""

    def __init__(self, settings: Settings):
        import sqlite3

        self.model = f"{settings.embedding_backend}:{settings.embedding_model}:{settings.embedding_passage_prefix}"
        self.query_prefix = settings.embedding_query_prefix
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(settings.index_dir / "embedding-cache.sqlite"), timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")

    def _key(self, text: str, as_query: bool = False) -> str:
        import hashlib

        model = f"{self.model}:query:{self.query_prefix}" if as_query else self.model
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def embed(self, embeddings, texts: list[str], as_query: bool = False) -> list[list[float]]:
        """Vectors of texts as passages, or (as_query) as questions: question keys are compared with questions."""
        import numpy as np

        keys = [self._key(t, as_query) for t in texts]
        found = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.db.execute(f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update({k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            todo = [texts[i] for i in missing]
            vecs = embed_queries(embeddings, todo) if as_query else embeddings.embed_documents(todo)
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                                    [(keys[i], np.asarray(v, dtype=np.float32).tobytes()) for i, v in zip(missing, vecs)])
            found.update({keys[i]: v for i, v in zip(missing, vecs)})
        return [found[k] for k in keys]


def _embed_and_add(collection, embeddings, passages: list[Passage], progress: Optional[Progress],
                   cache: Optional["EmbeddingCache"] = None) -> None:
    docs = [(p, lang, p.text_in(lang)) for p in passages for lang in ("fa", "en") if lang == "fa" or p.text_en]
    batch = 32
    done = 0
    if progress:
        progress(0, len(docs))
    for i in range(0, len(docs), batch):
        part = docs[i : i + batch]
        # Section headings travel with paragraphs ("which section discusses X"); table rows
        # already name their table, and repeating long table titles would double the embedding time.
        texts = [text if p.kind == "table_row" else f"{(p.heading_en if lang == 'en' else p.heading)}: {text}"
                 for p, lang, text in part]
        vecs = cache.embed(embeddings, texts) if cache else embeddings.embed_documents(texts)
        collection.add(
            ids=[f"{p.id}#{lang}" for p, lang, _ in part],
            embeddings=vecs,
            documents=[text for _, _, text in part],
            metadatas=[{"pid": p.id, "lang": lang, "kind": p.kind, "section": p.section,
                        "table": p.table if p.table is not None else -1,
                        "row": p.row if p.row is not None else -1} for p, lang, _ in part],
        )
        done += len(part)
        if progress:
            progress(done, len(docs))


def embed_queries(embeddings, texts: list[str]) -> list[list[float]]:
    batch = getattr(embeddings, "embed_queries", None)
    return batch(texts) if batch else [embeddings.embed_query(t) for t in texts]


def _build_keys(settings: Settings, d: Path, embeddings, passages: list[Passage], cache: "EmbeddingCache") -> None:
    """The question keys of the passages present (embedded as questions), and the answer-type classifier
    trained on them; written beside the Chroma folder of the version."""
    from .keys import ANTIKEYS_FILE, QuestionKey, build_keys, from_questions
    from .qtype import QuestionTyper, load_forms

    def embed(texts):
        return cache.embed(embeddings, texts, as_query=True)

    ids = {p.id for p in passages}
    keys = build_keys(settings.corpus_dir, ids, embed)
    keys.save(d)
    build_keys(settings.corpus_dir, ids, embed, ANTIKEYS_FILE).save(d, "antikeys")
    forms = load_forms()
    from_questions([QuestionKey("", f["q"], f.get("lang", ""), f.get("register", ""), f["type"]) for f in forms],
                   embed).save(d, "forms")
    if len(keys) and len({k.type for k in keys.keys}) >= 2:
        # The document's keys, plus document-independent question forms (assistant/data): a document
        # seldom asks for every answer type, and the forms teach the shape of the ones it lacks.
        texts = [k.q for k in keys.keys] + [f["q"] for f in forms]
        labels = [k.type for k in keys.keys] + [f["type"] for f in forms]
        import numpy as np

        vecs = keys.vectors
        if forms:
            extra = np.asarray(cache.embed(embeddings, [f["q"] for f in forms], as_query=True), dtype=np.float32)
            extra /= np.maximum(np.linalg.norm(extra, axis=1, keepdims=True), 1e-9)
            vecs = np.vstack([vecs, extra])
        QuestionTyper.train(texts, vecs, labels).save(d)


def build(settings: Settings, extra_sources: Optional[list[str]] = None, progress: Optional[Progress] = None) -> Store:
    """Build a fresh version from the edition (+ user sources) and make it current."""
    with _lock(settings):
        return _build_locked(settings, extra_sources, progress)


def _build_locked(settings: Settings, extra_sources, progress) -> Store:
    from .embeddings import make_embeddings
    from .vectorstore import ChromaEmbeddingFunction, chroma_client

    digest = corpus_digest(settings.corpus_dir)
    fp = settings.index_fingerprint(digest)
    passages = load_edition(settings.corpus_dir)
    sources = []
    for src in extra_sources or []:
        if Path(src).exists():
            try:
                found = load_path(Path(src))
            except IngestError as exc:  # changed since it was ingested: the rest of the index is still built
                print(f"assistant: warning: left out of the rebuilt index: {exc}", file=sys.stderr)
                continue
            passages.extend(p for p in found if p.id not in {q.id for q in passages})
            sources.append(src)
    # pid + a per-process count: two builds in the same second (a rebuild right after a build) get two names.
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{next(_BUILDS)}"
    d = settings.index_dir / f"v-{fp}-{stamp}"
    d.mkdir(parents=True)
    collection_name = f"{settings.collection_prefix}-{fp}-{stamp}" if settings.chroma_url else settings.collection_prefix
    try:
        client = chroma_client(settings, d)  # first: an unreachable server fails before the model loads
        embeddings = make_embeddings(settings)
        collection = client.create_collection(
            collection_name, embedding_function=ChromaEmbeddingFunction(embeddings),
            configuration={"hnsw": {"space": "cosine"}})
        cache = EmbeddingCache(settings)
        _embed_and_add(collection, embeddings, passages, progress, cache)
        _build_keys(settings, d, embeddings, passages, cache)
        manifest = Manifest(fp, digest, settings.embedding_backend, settings.embedding_model, time.time(),
                            len(passages), collection_name, sources)
        _atomic_write(d / "passages.jsonl",
                      "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages))
        _atomic_write(d / LEXICAL, _lexical_json(passages))
        _atomic_write(d / "manifest.json", manifest.dump())
        del client, collection
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    old = _current_dir(settings)
    _atomic_write(settings.index_dir / "CURRENT", d.name)
    if old is not None and old != d:
        if settings.chroma_url:
            _drop_replaced_collection(settings, d, old, collection_name)
        shutil.rmtree(old, ignore_errors=True)
    _cleanup_orphans(settings, keep=d)
    store = _load_version(settings, d)
    store._embeddings = embeddings
    return store


def _drop_replaced_collection(settings: Settings, d: Path, old: Path, current: str) -> None:
    """Server mode: the collection of the version just replaced goes too, or every rebuild would leave
    one behind on the server. Only the one named in our own old manifest; best effort."""
    from .vectorstore import chroma_client

    try:
        name = json.loads((old / "manifest.json").read_text(encoding="utf-8"))["collection"]
        if name != current:
            chroma_client(settings, d).delete_collection(name)
    except Exception:  # noqa: BLE001 - a local build before, already gone, server down: nothing to drop
        pass


def _cleanup_orphans(settings: Settings, keep: Path) -> None:
    for other in settings.index_dir.glob("v-*"):
        if other != keep and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def open_index(settings: Settings, rebuild_if_needed: bool = True, progress: Optional[Progress] = None) -> Store:
    """The current index, rebuilt first when missing, corrupt or stale (settings or corpus changed)."""
    d = _current_dir(settings)
    want = settings.index_fingerprint(corpus_digest(settings.corpus_dir))
    store = None
    if d is not None:
        try:
            store = _load_version(settings, d)
        except IndexError_:
            if not rebuild_if_needed:
                raise
    if store is not None and store.manifest.fingerprint == want:
        return store
    if not rebuild_if_needed:
        raise IndexError_("the index is missing or stale; build it with `assistant index --rebuild`")
    sources = store.manifest.sources if store else []
    with _lock(settings):
        # Another process may have built it while we waited for the lock.
        d = _current_dir(settings)
        if d is not None:
            try:
                again = _load_version(settings, d)
                if again.manifest.fingerprint == want:
                    return again
            except IndexError_:
                pass
        return _build_locked(settings, sources, progress)


def add_documents(settings: Settings, paths: list[Path], progress: Optional[Progress] = None) -> dict:
    """Ingest user files into the current index; ids are content hashes, so repeats add nothing."""
    new_passages: list[Passage] = []
    parsed = [(p, load_path(p)) for p in paths]  # parse all first: a bad file changes nothing
    store = open_index(settings)
    with _lock(settings):
        store = _load_version(settings, store.dir)
        for path, passages in parsed:
            new_passages.extend(p for p in passages if p.id not in store.by_id
                                and p.id not in {q.id for q in new_passages})
        sources = list(dict.fromkeys(store.manifest.sources + [str(p.resolve()) for p, _ in parsed]))
        all_passages = store.passages + new_passages
        store.manifest.n_passages = len(all_passages)
        store.manifest.sources = sources
        try:
            if new_passages:
                _embed_and_add(store.collection, store.embeddings, new_passages, progress, EmbeddingCache(settings))
            _atomic_write_many([
                (store.dir / "passages.jsonl",
                 "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in all_passages)),
                (store.dir / LEXICAL, _lexical_json(all_passages)),
                (store.dir / "manifest.json", store.manifest.dump()),
            ])
        except BaseException as exc:
            # Disk full, a failing store, Ctrl-C: take back the vectors added (best effort); passages.jsonl
            # and the manifest are swapped in together only at the end, so the index stays as it was.
            if new_passages:
                try:
                    store.collection.delete(ids=[f"{p.id}#{lang}" for p in new_passages for lang in ("fa", "en")])
                except Exception:  # noqa: BLE001 - vectors without a passage are ignored by retrieval anyway
                    pass
            if isinstance(exc, OSError):
                raise IndexError_(f"ingesting failed ({exc.strerror or type(exc).__name__}); "
                                  "the index is unchanged") from None
            raise
    return {"added": len(new_passages), "files": len(paths), "total": len(all_passages)}
