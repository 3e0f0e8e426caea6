"""Build, load, repair and update the index: a Chroma collection (local folder or server) + a lexical index.

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

import datetime as _dt
import errno
import hashlib
import itertools
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import offline  # noqa: F401 - for its effect: no telemetry (before chromadb is imported)
from .errors import IndexDamaged, IndexError_, is_fatal  # noqa: F401 - IndexError_: the older name, re-exported
from .ingest import IngestError, corpus_digest, load_edition, load_path
from .normalize import tokens
from .settings import Settings
from .types import Passage

Progress = Callable[[int, int], None]
Report = Callable[[str], None]

REBUILD = "run `assistant index --rebuild`"
# What a version folder is called (the stamp: date-time-pid-count; older builds had date-time only).
VERSION_NAME = re.compile(r"v-[0-9a-f]{16}-[0-9]{8}-[0-9]{6}(?:-[0-9]{1,10}-[0-9]{1,10})?")
SOURCES = "sources.json"
KEPT = "sources"


def _notify(message: str) -> None:
    """Default report of a repair: one line on standard error (the CLI's and the server's log)."""
    print(f"assistant: {message}", file=sys.stderr, flush=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _shown(raw: str) -> str:
    return "empty" if not raw else repr(raw if len(raw) <= 40 else raw[:37] + "...")


class VersionDamaged(IndexDamaged):
    """One version of the index cannot be used; `what` says what was found, in words."""

    def __init__(self, what: str, fix: str = f"rebuild it: {REBUILD}"):
        self.what = what
        super().__init__(what, fix)


def _write_error(settings: Settings, exc: OSError, doing: str, then: str = REBUILD) -> IndexDamaged:
    """A write into the index folder failed: read-only and disk full are said as such, with the fix."""
    folder, why = settings.index_dir, exc.strerror or type(exc).__name__
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return IndexDamaged(
            f"the index folder {folder} is read-only ({why}) while {doing}; the index is unchanged",
            f"make it writable (or pass --index a writable folder), then {then}",
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return IndexDamaged(
            f"the disk holding {folder} is full ({why}) while {doing}; the index is unchanged",
            f"free some space, then {then}",
        )
    return IndexDamaged(
        f"cannot write to the index folder {folder} ({why}) while {doing}; the index is unchanged",
        f"check the folder, then {then}",
    )


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


class _Locked:
    """The writers' lock, with a folder that cannot be written (read-only, full) said as such."""

    def __init__(self, settings: Settings, doing: str, then: str = REBUILD):
        self.settings, self.doing, self.then = settings, doing, then
        self.lock = None

    def __enter__(self):
        try:
            self.lock = _lock(self.settings)
            self.lock.acquire()
        except OSError as exc:
            raise _write_error(self.settings, exc, self.doing, self.then) from None
        return self.lock

    def __exit__(self, *exc_info):
        self.lock.release()


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
        self._bm25_docs: list[tuple[str, str]] = []
        self._tokens: dict | None = None
        self._keys = None
        self._antikeys = None
        self._typer = False  # not loaded yet (None: this version has no classifier)
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
    def _build_bm25(self) -> None:
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

    def bm25_scores(self, query_tokens: list[str]):
        """BM25 (Okapi, rank_bm25's variant) of every indexed text, in _bm25_docs order."""
        if self._bm25 is None:
            self._build_bm25()
        return self._bm25.scores(query_tokens)

    def lexical(self, query_tokens: list[str], k: int, allow: Callable[[Passage], bool] | None = None):
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


# ---------------------------------------------------------------- the layout: CURRENT and version folders
def _version_dir(settings: Settings, name: str) -> Path | None:
    """The folder of version `name` of this index, or None when `name` is not a version name (then it is
    neither opened nor removed: CURRENT holding ".", "", "/home" or "../x" names nothing)."""
    return settings.index_dir / name if VERSION_NAME.fullmatch(name) else None


def _versions(settings: Settings) -> list[Path]:
    try:
        return sorted(
            d
            for d in settings.index_dir.iterdir()
            if VERSION_NAME.fullmatch(d.name) and d.is_dir() and not d.is_symlink()
        )
    except OSError:
        return []


def _read_current(settings: Settings) -> tuple[Path | None, str]:
    """(the active version's folder, what is wrong). (None, "") means there is no index yet."""
    pointer = settings.index_dir / "CURRENT"
    try:
        raw = pointer.read_bytes()[:4096]
    except FileNotFoundError:
        return None, ("index/CURRENT is missing" if _versions(settings) else "")
    except OSError as exc:
        return None, f"index/CURRENT cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, "index/CURRENT is corrupt (not UTF-8 text)"
    d = _version_dir(settings, name)
    if d is None:
        return None, f"index/CURRENT is corrupt ({_shown(name)} is not a version name)"
    if not d.is_dir() or d.is_symlink():
        return None, f"index version {name} named in index/CURRENT is missing"
    return d, ""


def _current_dir(settings: Settings) -> Path | None:
    return _read_current(settings)[0]


def _remove_version(settings: Settings, d: Path) -> None:
    """Remove one version folder of this index; anything else is left alone, whatever the caller passes."""
    if d.parent != settings.index_dir or not VERSION_NAME.fullmatch(d.name):
        return
    if d.is_symlink():
        d.unlink(missing_ok=True)  # a link is not ours to follow
    else:
        shutil.rmtree(d, ignore_errors=True)


def _cleanup_orphans(settings: Settings, keep: Path) -> None:
    for other in _versions(settings):
        if other != keep:
            _remove_version(settings, other)


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


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, ValueError):
        return "not valid JSON"
    return type(exc).__name__


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


def _want(settings: Settings) -> str:
    try:
        return settings.index_fingerprint(corpus_digest(settings.corpus_dir))
    except OSError as exc:
        raise IndexDamaged(
            f"the corpus at {settings.corpus_dir} cannot be read ({_why(exc)})",
            "pass --corpus the folder that holds edition.fa.json, edition.en.json and tables.json",
        ) from exc


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


# ---------------------------------------------------------------- the registry of ingested files
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _kept_path(settings: Settings, source: str) -> Path:
    return (
        settings.index_dir
        / KEPT
        / (hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".jsonl")
    )


def _kept_text(entry: dict, passages: list[Passage]) -> str:
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in [entry] + [p.to_dict() for p in passages])


def _read_kept(settings: Settings, source: str) -> tuple[dict, list[Passage]] | None:
    try:
        lines = _kept_path(settings, source).read_text(encoding="utf-8").splitlines()
        entry = json.loads(lines[0])
        if entry.get("path") != source:
            return None
        return entry, [Passage.from_dict(json.loads(line)) for line in lines[1:] if line]
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return None


def _valid_entries(data) -> list[dict]:
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ValueError("not a registry")
    out = []
    for e in data["sources"]:
        if not (isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("sha256"), str)):
            raise ValueError("not a registry entry")
        out.append(
            {
                "path": e["path"],
                "sha256": e["sha256"],
                "added": str(e.get("added", "")),
                "passages": int(e.get("passages", 0) or 0),
            }
        )
    return out


def _registry_text(entries: list[dict]) -> str:
    return json.dumps({"sources": entries}, ensure_ascii=False, indent=1)


def _read_registry(settings: Settings, report: Report | None = None, write: bool = False) -> list[dict]:
    """The ingested files, from index/sources.json. Absent: gathered from the versions' manifests (an index
    built before the registry existed) with copies of their passages; damaged: gathered from the kept copies.
    With `write` (callers that hold the lock) what was gathered is saved; reports go to `report`."""
    path = settings.index_dir / SOURCES
    try:
        return _valid_entries(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        problem = ""
    except (OSError, ValueError, TypeError) as exc:
        problem = (
            f"index/sources.json is damaged ({_why(exc) if not isinstance(exc, ValueError) else 'not a registry'})"
        )
    entries, kept = _gather_sources(settings)
    if problem and report:
        aside = ""
        if write:
            aside = _move_aside(path)
        report(
            f"{problem}: rebuilt from what the index holds ({_plural(len(entries), 'ingested file')})"
            + (f"; the damaged file was kept as {aside}" if aside else "")
        )
    if write and (entries or problem):
        files = [(path, _registry_text(entries))]
        files += [(_kept_path(settings, e["path"]), _kept_text(e, ps)) for e, ps in kept if ps]
        try:
            (settings.index_dir / KEPT).mkdir(parents=True, exist_ok=True)
            _atomic_write_many(files)
        except OSError:
            pass  # a read-only folder: used as gathered; saved by the next writer
    return entries


def _gather_sources(settings: Settings) -> tuple[list[dict], list[tuple[dict, list[Passage]]]]:
    """Every ingested file this index knows of: kept copies, then the sources the versions' manifests list
    (with their passages taken from the file, or else from the version that holds them)."""
    entries: dict[str, dict] = {}
    kept: list[tuple[dict, list[Passage]]] = []
    try:
        for f in sorted((settings.index_dir / KEPT).glob("*.jsonl")):
            try:
                entry = json.loads(f.read_text(encoding="utf-8").splitlines()[0])
                entries.setdefault(entry["path"], _valid_entries({"sources": [entry]})[0])
            except (OSError, ValueError, TypeError, IndexError, KeyError):
                continue
    except OSError:
        pass
    for d in _versions(settings):
        try:
            listed = json.loads((d / "manifest.json").read_text(encoding="utf-8")).get("sources") or []
        except (OSError, ValueError, AttributeError):
            continue
        for src in (s for s in listed if isinstance(s, str) and s not in entries):
            passages: list[Passage] = []
            sha = ""
            try:
                sha, passages = _sha256(Path(src)), load_path(Path(src))
            except (OSError, IngestError):
                try:
                    for line in (d / "passages.jsonl").read_text(encoding="utf-8").splitlines():
                        if line and json.loads(line).get("source") == src:
                            passages.append(Passage.from_dict(json.loads(line)))
                except (OSError, ValueError, TypeError):
                    pass
            entry = {"path": src, "sha256": sha, "added": _now(), "passages": len(passages)}
            entries[src] = entry
            kept.append((entry, passages))
    return list(entries.values()), kept


def _move_aside(path: Path) -> str:
    """Keep a damaged file's bytes under another name (nothing is deleted); returns that name."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, aside)
    except OSError:
        return ""
    return aside.name


def _source_passages(settings: Settings, entry: dict, report: Report) -> tuple[list[Passage], str | None]:
    """An ingested file's passages for a rebuild: read again from the file (it may have been edited), else
    from the copy kept in the index. Returns them and the kept copy's new text when the file changed."""
    path = Path(entry["path"])
    try:
        found = load_path(path)
        sha = _sha256(path)
        if sha != entry["sha256"]:
            entry.update(sha256=sha, added=_now(), passages=len(found))
            return found, _kept_text(entry, found)
        return found, None
    except (OSError, IngestError) as exc:
        why = "the file is gone" if isinstance(exc, FileNotFoundError) or not path.exists() else str(exc)
    got = _read_kept(settings, entry["path"])
    if got:
        report(f"ingested file {path} cannot be read ({why}): its passages come from the copy kept in the index")
        return got[1], None
    report(
        f"warning: ingested file {path} cannot be read ({why}) and the index keeps no copy of it: "
        "left out of this version; ingest it again with `assistant ingest FILE`"
    )
    return [], None


# ---------------------------------------------------------------- the embedding cache
class EmbeddingCache:
    """Vectors by (model, text) in index/embedding-cache.sqlite: a rebuild after a crash, a settings
    change that does not touch the model, or a restored backup re-embeds nothing it has seen. A damaged
    cache is moved aside (kept, never deleted) and a fresh one started: it only costs time."""

    def __init__(self, settings: Settings, report: Report | None = None):
        self.model = f"{settings.embedding_backend}:{settings.embedding_model}:{settings.embedding_passage_prefix}"
        self.query_prefix = settings.embedding_query_prefix
        self.path = settings.index_dir / "embedding-cache.sqlite"
        self.report = report or _notify
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        self.db = None
        self._guard(self._open)

    def _open(self) -> None:
        import sqlite3

        self.db = sqlite3.connect(str(self.path), timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self.db.execute("SELECT count(*) FROM vec").fetchone()  # a cut or overwritten file fails here

    def _guard(self, fn, *args):
        """Run fn; a damaged database is moved aside and fn runs once more on a fresh one. sqlite's
        read-only and full-disk errors become the OSErrors the index reports as such."""
        import sqlite3

        for attempt in (1, 2):
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if "readonly" in text or "read-only" in text:
                    raise OSError(errno.EROFS, "read-only file system") from None
                if "full" in text:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None
                if "locked" in text or "unable to open" in text or attempt == 2:
                    raise OSError(errno.EIO, f"embedding cache: {exc}") from None
                self._reset(exc)
            except sqlite3.DatabaseError as exc:
                if attempt == 2:
                    raise OSError(errno.EIO, f"embedding cache: {exc}") from None
                self._reset(exc)

    def _reset(self, exc: BaseException) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        aside = _move_aside(self.path)
        for extra in ("-journal", "-wal", "-shm"):
            Path(f"{self.path}{extra}").unlink(missing_ok=True)
        self.report(
            f"index/embedding-cache.sqlite is damaged ({exc}): "
            + (f"kept as {aside}, " if aside else "")
            + "starting a fresh cache (texts are embedded again)"
        )
        self._open()

    def _key(self, text: str, as_query: bool = False) -> str:
        model = f"{self.model}:query:{self.query_prefix}" if as_query else self.model
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict:
        import numpy as np

        found = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.db.execute(f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update({k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows})
        return found

    def _store(self, rows: list[tuple[str, bytes]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows)

    def embed(self, embeddings, texts: list[str], as_query: bool = False) -> list[list[float]]:
        """Vectors of texts as passages, or (as_query) as questions: question keys are compared with questions."""
        import numpy as np

        keys = [self._key(t, as_query) for t in texts]
        found = self._guard(self._lookup, keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            todo = [texts[i] for i in missing]
            vecs = embed_queries(embeddings, todo) if as_query else embeddings.embed_documents(todo)
            self._guard(
                self._store, [(keys[i], np.asarray(v, dtype=np.float32).tobytes()) for i, v in zip(missing, vecs)]
            )
            found.update({keys[i]: v for i, v in zip(missing, vecs)})
        return [found[k] for k in keys]


def _embed_and_add(
    collection, embeddings, passages: list[Passage], progress: Progress | None, cache: EmbeddingCache | None = None
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


def embed_queries(embeddings, texts: list[str]) -> list[list[float]]:
    batch = getattr(embeddings, "embed_queries", None)
    return batch(texts) if batch else [embeddings.embed_query(t) for t in texts]


def _build_keys(
    settings: Settings,
    d: Path,
    embeddings,
    passages: list[Passage],
    cache: EmbeddingCache,
    progress: Progress | None = None,
) -> None:
    """The question keys of the passages present (embedded as questions), the near misses and the question
    forms, and the answer-type classifier trained on the keys; written beside the Chroma folder of the version.
    Progress is reported as its own phase (questions)."""
    from .keys import ANTIKEYS_FILE, QuestionKey, build_keys, from_questions, load_keys
    from .qtype import QuestionTyper, load_forms

    ids = {p.id for p in passages}
    total = (
        sum(k.passage in ids for k in load_keys(settings.corpus_dir))
        + sum(k.passage in ids for k in load_keys(settings.corpus_dir, ANTIKEYS_FILE))
        + len(load_forms())
    )
    done = 0

    def embed(texts):
        nonlocal done
        out = []
        for i in range(0, len(texts), 64):
            out.extend(cache.embed(embeddings, texts[i : i + 64], as_query=True))
            done += len(texts[i : i + 64])
            if progress and total:
                progress(min(done, total), total)
        return out

    keys = build_keys(settings.corpus_dir, ids, embed)
    keys.save(d)
    build_keys(settings.corpus_dir, ids, embed, ANTIKEYS_FILE).save(d, "antikeys")
    forms = load_forms()
    from_questions(
        [QuestionKey("", f["q"], f.get("lang", ""), f.get("register", ""), f["type"]) for f in forms], embed
    ).save(d, "forms")
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


# ---------------------------------------------------------------- building, opening, ingesting
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


def _build_locked(settings: Settings, progress: Progress | None, report: Report, extra: list[str] = ()) -> Store:
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


def _migrate(settings: Settings, report: Report) -> None:
    """An index from before the registry: sources.json is written from its manifest (best effort: a
    read-only folder is migrated by the next writer)."""
    try:
        with _Locked(settings, "recording the ingested files"):
            if not (settings.index_dir / SOURCES).exists():
                _read_registry(settings, report, write=True)
    except IndexDamaged:
        pass


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
