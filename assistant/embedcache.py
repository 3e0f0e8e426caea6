"""The embedding cache (index/embedding-cache.sqlite): vectors by (model, text), so that a rebuild embeds
only texts it has not seen; and embedding many questions at once with any LangChain embeddings.

It stores vectors only: it knows nothing of versions, passages or Chroma.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .versions import Report, _move_aside, _notify

if TYPE_CHECKING:
    import sqlite3

    from langchain_core.embeddings import Embeddings

    from .settings import Settings

T = TypeVar("T")


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
        self.db: sqlite3.Connection | None = None
        self._guard(self._open)

    def _open(self) -> None:
        import sqlite3

        self.db = db = sqlite3.connect(str(self.path), timeout=60)
        db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        db.execute("SELECT count(*) FROM vec").fetchone()  # a cut or overwritten file fails here

    def _connection(self) -> sqlite3.Connection:
        if self.db is None:  # only after a reset that could not open a fresh one (it raised then)
            raise OSError(errno.EIO, "embedding cache: not open")
        return self.db

    def _guard(self, fn: Callable[..., T], *args: Any) -> T:
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
        raise AssertionError("unreachable: the second attempt returns or raises")

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

    def _lookup(self, keys: list[str]) -> dict[str, list[float]]:
        import numpy as np

        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self._connection().execute(
                f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update({k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows})
        return found

    def _store(self, rows: list[tuple[str, bytes]]) -> None:
        db = self._connection()
        with db:
            db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows)

    def embed(self, embeddings: Embeddings, texts: list[str], as_query: bool = False) -> list[list[float]]:
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


def embed_queries(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Vectors of texts as questions, in one batch when the backend has a batch call for questions."""
    batch = getattr(embeddings, "embed_queries", None)
    return batch(texts) if batch else [embeddings.embed_query(t) for t in texts]
