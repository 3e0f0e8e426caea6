"""The index folder's layout and its safe writes: version names, CURRENT, the manifest, atomic writes,
the writers' lock, and removing what a build replaced.

Layout of index/ (README "Operating it"):
  CURRENT                      the active version's name and nothing else ("v-<fingerprint>-<stamp>"),
                               swapped atomically; anything else in it is "corrupt" and never followed
  v-<fingerprint>-<stamp>/     one version: chroma/ (local mode), passages.jsonl, manifest.json (what this
                               version was built from), lexical.json (every passage's matching tokens)
  sources.json                 the registry of ingested files (sources.py)
  sources/<sha256>.jsonl       the passages of each ingested file, kept for rebuilds (sources.py)
  embedding-cache.sqlite       vectors by (model, text) (embedcache.py)
  .lock                        held while building or ingesting, so two writers cannot interleave
Only folders whose names are version names are ever removed, and only inside this index folder: nothing else
in it (feedback, the registry, the cache) and nothing outside it is deleted, whatever CURRENT holds.

This module reads and writes files only: it opens no version (store.py), embeds nothing and never imports
Chroma.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import REBUILD, IndexDamaged

if TYPE_CHECKING:
    from filelock import FileLock

    from .settings import Settings

Progress = Callable[[int, int], None]
Report = Callable[[str], None]

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


LEXICAL = "lexical.json"  # every passage's matching tokens, stored with each version (store.Store.tokens)


def _lock(settings: Settings, timeout: float = 600) -> FileLock:
    from filelock import FileLock  # here, not at import: a question never takes the lock

    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.index_dir / ".lock"), timeout=timeout)


class _Locked:
    """The writers' lock, with a folder that cannot be written (read-only, full) said as such."""

    def __init__(self, settings: Settings, doing: str, then: str = REBUILD):
        self.settings, self.doing, self.then = settings, doing, then
        self.lock: FileLock | None = None

    def __enter__(self) -> FileLock:
        try:
            self.lock = _lock(self.settings)
            self.lock.acquire()
        except OSError as exc:
            raise _write_error(self.settings, exc, self.doing, self.then) from None
        return self.lock

    def __exit__(self, *exc_info: object) -> None:
        if self.lock is not None:
            self.lock.release()


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


def _move_aside(path: Path) -> str:
    """Keep a damaged file's bytes under another name (nothing is deleted); returns that name."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, aside)
    except OSError:
        return ""
    return aside.name
