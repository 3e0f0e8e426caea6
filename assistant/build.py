"""Building a version of the index: the passages of the edition and of every registered ingested file,
embedded (through the embedding cache) into a fresh Chroma collection, with their matching tokens, question
keys and answer-type classifier, written beside the active version and only then made current. A failed or
interrupted build (disk full, crash) leaves the previous version working.

Callers hold the writers' lock (index.build and index.open_index take it); this module never takes it.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .embedcache import EmbeddingCache
from .errors import REBUILD, IndexDamaged, is_fatal
from .ingest import corpus_digest, load_edition
from .normalize import tokens
from .settings import Settings
from .sources import _kept_path, _now, _read_registry, _registry_text, _source_passages
from .store import Store, _load_version
from .text import sentences
from .types import Passage
from .versions import (
    KEPT,
    LEXICAL,
    SOURCES,
    Manifest,
    Progress,
    Report,
    _atomic_write,
    _atomic_write_many,
    _cleanup_orphans,
    _remove_version,
    _version_dir,
    _versions,
    _why,
    _write_error,
)

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

_BUILDS = itertools.count(1)


def _lexical_json(passages: list[Passage]) -> str:
    toks = {p.id: {"fa": tokens(p.text), "en": tokens(p.text_en) if p.text_en else []} for p in passages}
    return json.dumps({"tokens": toks}, ensure_ascii=False)


SENTENCES_NPZ = "sentences.npz"


def sentence_texts(passages: list[Passage]) -> list[tuple[str, str, int, str]]:
    """(passage id, language, position, sentence) of every sentence of the passages that are not table rows
    (a row is one span: its passage vector is its sentence's)."""
    return [
        (p.id, lang, i, s)
        for p in passages
        if p.kind != "table_row"
        for lang in ("fa", "en")
        for i, s in enumerate(sentences(p.text_in(lang)))
    ]


def _want(settings: Settings) -> str:
    try:
        return settings.index_fingerprint(corpus_digest(settings.corpus_dir))
    except OSError as exc:
        raise IndexDamaged(
            f"the corpus at {settings.corpus_dir} cannot be read ({_why(exc)})",
            "pass --corpus the folder that holds edition.fa.json, edition.en.json and tables.json",
        ) from exc


def _embed_and_add(
    collection: Any,
    embeddings: Embeddings,
    passages: list[Passage],
    progress: Progress | None,
    cache: EmbeddingCache | None = None,
) -> None:
    docs = [(p, lang, p.text_in(lang)) for p in passages for lang in ("fa", "en") if lang == "fa" or p.text_en]
    batch = 32
    done = 0
    if progress:
        progress(0, len(docs))
    for i in range(0, len(docs), batch):
        part = docs[i : i + batch]
        # Section headings travel with paragraphs ("which section discusses X"); table rows
        # already name their table, and repeating long table titles would double the embedding time.
        texts = [
            text if p.kind == "table_row" else f"{(p.heading_en if lang == 'en' else p.heading)}: {text}"
            for p, lang, text in part
        ]
        vecs = cache.embed(embeddings, texts) if cache else embeddings.embed_documents(texts)
        collection.add(
            ids=[f"{p.id}#{lang}" for p, lang, _ in part],
            embeddings=vecs,
            documents=[text for _, _, text in part],
            metadatas=[
                {
                    "pid": p.id,
                    "lang": lang,
                    "kind": p.kind,
                    "section": p.section,
                    "table": p.table if p.table is not None else -1,
                    "row": p.row if p.row is not None else -1,
                }
                for p, lang, _ in part
            ],
        )
        done += len(part)
        if progress:
            progress(done, len(docs))


def _build_keys(
    settings: Settings,
    d: Path,
    embeddings: Embeddings,
    passages: list[Passage],
    cache: EmbeddingCache,
    progress: Progress | None = None,
) -> None:
    """The question keys of the passages present (embedded as questions), the near misses and the question
    forms, and the answer-type classifier trained on the keys; written beside the Chroma folder of the version.
    Progress is reported as its own phase (questions)."""
    from .keys import ANTIKEYS_FILE, QuestionKey, build_keys, from_questions, load_keys
    from .profile import Profile
    from .qtype import ANSWERABLE_C, ANSWERABLE_NPZ, QuestionTyper, answerability_data, load_background, load_forms

    ids = {p.id for p in passages}
    said = sentence_texts(passages)
    background = load_background()  # the question forms and the everyday questions: about other things
    total = (
        len(said)
        + sum(k.passage in ids for k in load_keys(settings.corpus_dir))
        + sum(k.passage in ids for k in load_keys(settings.corpus_dir, ANTIKEYS_FILE))
        + len(background)
    )
    done = 0

    def embed(texts: list[str], as_query: bool = True) -> list[list[float]]:
        nonlocal done
        out: list[list[float]] = []
        for i in range(0, len(texts), 64):
            out.extend(cache.embed(embeddings, texts[i : i + 64], as_query=as_query))
            done += len(texts[i : i + 64])
            if progress and total:
                progress(min(done, total), total)
        return out

    # Each sentence of the text passages, as a passage: which sentence of a passage a question is about.
    import numpy as np

    np.savez(
        d / SENTENCES_NPZ,
        ids=np.asarray([f"{pid}|{lang}|{i}" for pid, lang, i, _ in said]),
        vectors=np.asarray(embed([t for *_, t in said], as_query=False), dtype=np.float32),
    )
    keys = build_keys(settings.corpus_dir, ids, embed)
    keys.save(d)
    antikeys = build_keys(settings.corpus_dir, ids, embed, ANTIKEYS_FILE)
    antikeys.save(d, "antikeys")
    forms = load_forms()
    form_keys = from_questions(
        [QuestionKey("", f["q"], f.get("lang", ""), f.get("register", ""), f["type"]) for f in background], embed
    )
    form_keys.save(d, "forms")
    texts, vectors, labels, _ = answerability_data(keys, antikeys, form_keys)
    subject_free = Profile.load(settings.corpus_dir).without_subject
    texts = [subject_free(t) for t in texts]  # what is asked, not whether the document's subject is named
    if len(set(labels)) >= 2:
        QuestionTyper.train(texts, vectors, labels, c=ANSWERABLE_C).save(d, ANSWERABLE_NPZ)
    if len(keys) and len({k.type for k in keys.keys}) >= 2:
        # The document's keys, plus document-independent question forms (assistant/data): a document
        # seldom asks for every answer type, and the forms teach the shape of the ones it lacks.
        texts = [k.q for k in keys.keys] + [f["q"] for f in forms]
        labels = [k.type for k in keys.keys] + [f["type"] for f in forms]
        vecs = keys.vectors
        if forms:
            extra = np.asarray(cache.embed(embeddings, [f["q"] for f in forms], as_query=True), dtype=np.float32)
            extra /= np.maximum(np.linalg.norm(extra, axis=1, keepdims=True), 1e-9)
            vecs = np.vstack([vecs, extra])
        QuestionTyper.train(texts, vecs, labels).save(d)


def _build_locked(settings: Settings, progress: Progress | None, report: Report, extra: Sequence[str] = ()) -> Store:
    from .embeddings import make_embeddings
    from .vectorstore import ChromaEmbeddingFunction, chroma_client

    want = _want(settings)
    digest = corpus_digest(settings.corpus_dir)
    registry = _read_registry(settings, report, write=True)
    known = {e["path"] for e in registry}
    for src in extra:
        if src not in known and Path(src).exists():
            registry.append({"path": str(src), "sha256": "", "added": _now(), "passages": 0})
    passages = load_edition(settings.corpus_dir)
    ids = {p.id for p in passages}
    built_from, kept_updates = [], []
    for entry in registry:
        found, kept = _source_passages(settings, entry, report)
        if kept:
            kept_updates.append((_kept_path(settings, entry["path"]), kept))
        passages.extend(p for p in found if p.id not in ids)
        ids.update(p.id for p in found)
        if found:
            built_from.append(entry["path"])
    # pid + a per-process count: two builds in the same second (a rebuild right after a build) get two names.
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{next(_BUILDS)}"
    d = _version_dir(settings, f"v-{want}-{stamp}")
    assert d is not None
    collection_name = (
        f"{settings.collection_prefix}-{want}-{stamp}" if settings.chroma_url else settings.collection_prefix
    )
    try:
        d.mkdir(parents=True)
        client = chroma_client(settings, d)  # first: an unreachable server fails before the model loads
        embeddings = make_embeddings(settings)
        collection = client.create_collection(
            collection_name,
            embedding_function=ChromaEmbeddingFunction(embeddings),
            configuration={"hnsw": {"space": "cosine"}},
        )
        cache = EmbeddingCache(settings, report)
        _embed_and_add(collection, embeddings, passages, progress, cache)
        _build_keys(settings, d, embeddings, passages, cache, progress)
        manifest = Manifest(
            want,
            digest,
            settings.embedding_backend,
            settings.embedding_model,
            time.time(),
            len(passages),
            collection_name,
            built_from,
        )
        _atomic_write(
            d / "passages.jsonl", "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in passages)
        )
        _atomic_write(d / LEXICAL, _lexical_json(passages))
        _atomic_write(d / "manifest.json", manifest.dump())
        if kept_updates or extra:
            (settings.index_dir / KEPT).mkdir(parents=True, exist_ok=True)
            _atomic_write_many(kept_updates + [(settings.index_dir / SOURCES, _registry_text(registry))])
        del client, collection
        _atomic_write(settings.index_dir / "CURRENT", d.name)
    except BaseException as exc:  # noqa: BLE001 - Chroma's Rust panics derive from BaseException only
        _remove_version(settings, d)
        if isinstance(exc, OSError):
            raise _write_error(settings, exc, "building the index") from None
        if isinstance(exc, Exception) or is_fatal(exc):
            raise
        raise IndexDamaged(
            f"Chroma's engine failed while building the index ({type(exc).__name__})",
            f"check the folder {settings.index_dir}, then {REBUILD}",
        ) from None
    replaced = []
    for old in _versions(settings):
        try:
            name = json.loads((old / "manifest.json").read_text(encoding="utf-8"))["collection"]
            if old != d and isinstance(name, str) and name != collection_name:
                replaced.append(name)
        except (OSError, ValueError, TypeError, KeyError):
            pass
    _cleanup_orphans(settings, keep=d)  # the version replaced, a damaged one, a crashed build's leftovers
    if settings.chroma_url and replaced:
        _drop_replaced_collections(settings, d, replaced)
    store = _load_version(settings, d)
    store._embeddings = embeddings
    return store


def _drop_replaced_collections(settings: Settings, d: Path, names: list[str]) -> None:
    """Server mode: the collections of the versions just replaced go too, or every rebuild would leave one
    behind on the server. Only names our own manifests gave; best effort."""
    from .vectorstore import chroma_client

    try:
        client = chroma_client(settings, d)
        for name in names:
            client.delete_collection(name)
    except BaseException as exc:  # noqa: BLE001 - server gone, a local build before, already gone: nothing to drop
        if is_fatal(exc):
            raise
