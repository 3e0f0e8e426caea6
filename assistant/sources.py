"""The registry of ingested files (index/sources.json) and the copy of each file's passages kept in the index
(index/sources/<sha256>.jsonl), so that every rebuild has every ingested document, even one whose file was
moved or deleted since. A damaged registry is gathered again from the kept copies and the versions'
manifests; a damaged file is moved aside, never deleted.

This module does not embed or build: build.py and index.py call it under the writers' lock.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

from .errors import IndexDamaged
from .ingest import IngestError, load_path
from .settings import Settings
from .types import Passage
from .versions import (
    KEPT,
    SOURCES,
    Report,
    _atomic_write_many,
    _Locked,
    _move_aside,
    _plural,
    _versions,
    _why,
)


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


def _migrate(settings: Settings, report: Report) -> None:
    """An index from before the registry: sources.json is written from its manifest (best effort: a
    read-only folder is migrated by the next writer)."""
    try:
        with _Locked(settings, "recording the ingested files"):
            if not (settings.index_dir / SOURCES).exists():
                _read_registry(settings, report, write=True)
    except IndexDamaged:
        pass
