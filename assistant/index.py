"""Build, load, repair and update the index: a Chroma collection (local folder or server) + a lexical index.
The public face of the index: open_index, build, status and add_documents; the parts live in
versions.py (layout, CURRENT, atomic writes, the lock), store.py (an opened version), sources.py (the
registry of ingested files), embedcache.py (the embedding cache) and build.py (building a version). Names
they define are re-exported here, so older imports (`from assistant.index import ...`) keep working.

Layout of index/ (README "Operating it"):
  CURRENT                      the active version's name and nothing else ("v-<fingerprint>-<stamp>"),
                               swapped atomically; anything else in it is "corrupt" and never followed
  v-<fingerprint>-<stamp>/     one version: chroma/ (local mode), passages.jsonl, manifest.json (what this
                               version was built from), lexical.json (every passage's matching tokens)
  sources.json                 the registry of ingested files (path, content hash, date): every rebuild
                               reads it, so no rebuild (automatic or `index --rebuild`) drops a document
  sources/<sha256>.jsonl       the passages of each ingested file, kept so that a rebuild still has them
                               when the file itself was moved or deleted since
  embedding-cache.sqlite       vectors by (model, text): rebuilds re-embed nothing they have seen
  .lock                        held while building or ingesting, so two writers cannot interleave
A new build is written beside the active one and only then made current, so a failed or interrupted build
(disk full, crash) leaves the previous index working. Only folders whose names are version names are ever
removed, and only inside this index folder: nothing else in it (feedback, the registry, the cache) and
nothing outside it is deleted, whatever CURRENT holds.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import offline  # noqa: F401 - for its effect: no telemetry (before chromadb is imported)
from .build import (  # noqa: F401 - re-exported
    _BUILDS,
    _build_keys,
    _build_locked,
    _drop_replaced_collections,
    _embed_and_add,
    _lexical_json,
    _want,
)
from .embedcache import EmbeddingCache, embed_queries  # noqa: F401 - re-exported
from .errors import REBUILD, IndexDamaged, IndexError_, VersionDamaged, is_fatal  # noqa: F401 - re-exported
from .ingest import load_path
from .settings import Settings
from .sources import (  # noqa: F401 - re-exported
    _gather_sources,
    _kept_path,
    _kept_text,
    _migrate,
    _now,
    _read_kept,
    _read_registry,
    _registry_text,
    _sha256,
    _source_passages,
    _valid_entries,
)
from .store import Store, _inspect, _load_version  # noqa: F401 - re-exported
from .types import Passage
from .versions import (  # noqa: F401 - re-exported
    KEPT,
    LEXICAL,
    SOURCES,
    VERSION_NAME,
    Manifest,
    Progress,
    Report,
    _atomic_write,
    _atomic_write_many,
    _cleanup_orphans,
    _current_dir,
    _lock,
    _Locked,
    _move_aside,
    _notify,
    _plural,
    _read_current,
    _remove_version,
    _shown,
    _version_dir,
    _versions,
    _why,
    _write_error,
)


def status(settings: Settings) -> dict:
    """What is there and whether it is current (no model load, no Chroma client import, nothing written)."""
    want = _want(settings)
    sources = [e["path"] for e in _read_registry(settings)]
    try:
        store, problem = _inspect(settings, want)
    except IndexDamaged as exc:  # read-only: nothing to repair, something to change
        return {"state": "read-only", "error": str(exc), "fingerprint": want, "sources": sources}
    if store is None:
        out = {"state": "corrupt" if problem else "missing", "fingerprint": want, "sources": sources}
        if problem:
            out["error"] = problem
        return out
    state = "current" if store.manifest.fingerprint == want else "stale"
    return {
        "state": state,
        "dir": str(store.dir),
        "fingerprint": store.manifest.fingerprint,
        "wanted": want,
        "passages": store.manifest.n_passages,
        "sources": sources,
    }


def build(
    settings: Settings,
    extra_sources: list[str] | None = None,
    progress: Progress | None = None,
    report: Report | None = None,
) -> Store:
    """Build a fresh version from the edition and every registered ingested file (+ `extra_sources`, which
    are registered) and make it current."""
    with _Locked(settings, "building the index"):
        return _build_locked(settings, progress, report or _notify, extra_sources or [])


def open_index(
    settings: Settings, rebuild_if_needed: bool = True, progress: Progress | None = None, report: Report | None = None
) -> Store:
    """The current index; rebuilt first when missing, damaged or stale (settings or corpus changed), from
    the corpus and every ingested file. A repair is reported in one line (to standard error by default)."""
    report = report or _notify
    want = _want(settings)
    store, problem = _inspect(settings, want)
    if store is not None and store.manifest.fingerprint == want:
        if store.manifest.sources and not (settings.index_dir / SOURCES).exists():
            _migrate(settings, report)
        return store
    if not rebuild_if_needed:
        raise IndexDamaged(
            problem
            or (
                "the index was built with other settings or another corpus"
                if store
                else f"there is no index in {settings.index_dir} yet"
            ),
            f"build it: {REBUILD}",
        )
    doing = f"repairing it ({problem})" if problem else "building the index"
    with _Locked(settings, doing):
        # Another process may have built it while we waited for the lock.
        again, problem = _inspect(settings, want)
        if again is not None and again.manifest.fingerprint == want:
            return again
        if problem:
            n = len(_read_registry(settings, report, write=True))
            report(f"{problem}: rebuilding from the corpus and {_plural(n, 'ingested file')}")
        return _build_locked(settings, progress, report)


def add_documents(
    settings: Settings, paths: list[Path], progress: Progress | None = None, report: Report | None = None
) -> dict:
    """Ingest user files into the current index and the registry; ids are content hashes, so repeats add
    nothing. A copy of each file's passages is kept, so a later rebuild has them even without the file."""
    report = report or _notify
    new_passages: list[Passage] = []
    parsed = [(p, load_path(p)) for p in paths]  # parse all first: a bad file changes nothing
    store = open_index(settings, progress=progress, report=report)
    then = "ingest the files again"
    with _Locked(settings, "ingesting", then):
        store = _load_version(settings, store.dir)
        registry = _read_registry(settings, report, write=True)
        for _path, passages in parsed:
            new_passages.extend(
                p for p in passages if p.id not in store.by_id and p.id not in {q.id for q in new_passages}
            )
        kept = []
        for path, passages in parsed:
            src = str(path.resolve())
            entry = {"path": src, "sha256": _sha256(path), "added": _now(), "passages": len(passages)}
            registry = [e for e in registry if e["path"] != src] + [entry]
            kept.append((_kept_path(settings, src), _kept_text(entry, passages)))
        sources = list(dict.fromkeys(store.manifest.sources + [str(p.resolve()) for p, _ in parsed]))
        all_passages = store.passages + new_passages
        store.manifest.n_passages = len(all_passages)
        store.manifest.sources = sources
        try:
            if new_passages:
                _embed_and_add(
                    store.collection, store.embeddings, new_passages, progress, EmbeddingCache(settings, report)
                )
            (settings.index_dir / KEPT).mkdir(parents=True, exist_ok=True)
            _atomic_write_many(
                kept
                + [
                    (settings.index_dir / SOURCES, _registry_text(registry)),
                    (
                        store.dir / "passages.jsonl",
                        "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in all_passages),
                    ),
                    (store.dir / LEXICAL, _lexical_json(all_passages)),
                    (store.dir / "manifest.json", store.manifest.dump()),
                ]
            )
        except BaseException as exc:  # noqa: BLE001 - Rust panics included
            # Disk full, a failing store, Ctrl-C: take back the vectors added (best effort); passages.jsonl
            # and the manifest are swapped in together only at the end, so the index stays as it was.
            if new_passages:
                try:
                    store.collection.delete(ids=[f"{p.id}#{lang}" for p in new_passages for lang in ("fa", "en")])
                except BaseException as undo:  # noqa: BLE001 - vectors without a passage are ignored anyway
                    if is_fatal(undo):
                        raise
            try:
                (settings.index_dir / KEPT).rmdir()  # made for this ingest and left empty: gone again
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise _write_error(settings, exc, "ingesting", then) from None
            if isinstance(exc, Exception) or is_fatal(exc):
                raise
            raise IndexDamaged(
                f"Chroma's engine failed while ingesting ({type(exc).__name__}); the index is unchanged", REBUILD
            ) from None
    return {"added": len(new_passages), "files": len(paths), "total": len(all_passages)}
