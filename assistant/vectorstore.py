"""Everything that talks to Chroma: the client (local folder or server), the embedding-function
adapter Chroma requires, and a fast read-only path for querying a local collection.

Why a read path of its own: importing chromadb's Python client costs ~0.6 s of a fresh process here
(telemetry, auth, server types), more than everything else a one-shot `assistant ask` does. The client
is a thin shim over Chroma's Rust engine, shipped with chromadb as the ``chromadb_rust_bindings``
module (imported in ~25 ms). ``LocalReader`` opens the same database through that engine, read-only
(migrations validated, never applied) and queries it as the client would; results are identical
(tests/test_index.py compares them). Writes always go through the public client. Should a chromadb
release change the bindings, opening the reader fails and the store falls back to the client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexDamaged, is_fatal

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from .settings import Settings

from . import offline  # noqa: F401 - for its effect: no telemetry (before chromadb is imported)

# Chroma's defaults for a PersistentClient (chromadb.config): the tenant and database it creates.
TENANT, DATABASE = "default_tenant", "default_database"


def chroma_client(settings: Settings, version_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    _register_embedding_function()
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise IndexDamaged(f"--chroma-url {settings.chroma_url!r}: expected http://HOST:PORT")
        try:
            from .chroma_http import limit_requests

            limit_requests(settings.chroma_timeout_s)
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except IndexDamaged:
            raise
        except BaseException as exc:  # noqa: BLE001 - refused, DNS, TLS, silence: "server not reachable"
            if is_fatal(exc):
                raise
            why = f"no answer within {settings.chroma_timeout_s:g} s" if _timed_out(exc) else type(exc).__name__
            raise IndexDamaged(
                f"Chroma server at {settings.chroma_url} is not reachable ({why})",
                "start it with `chroma run --path DIR --port N` or drop --chroma-url",
            ) from None
        return client
    return chromadb.PersistentClient(path=str(version_dir / "chroma"), settings=chroma_settings)


def _timed_out(exc: BaseException) -> bool:
    """Did the request time out? chromadb re-raises httpx's timeout as a ValueError: look down the chain."""
    link: BaseException | None = exc
    seen = 0
    while link is not None and seen < 10:
        if "Timeout" in type(link).__name__:
            return True
        link, seen = link.__cause__ or link.__context__, seen + 1
    return False


class LocalReader:
    """Read-only queries on a local Chroma collection through Chroma's own engine (see the module doc)."""

    def __init__(self, chroma_dir: Path, collection: str):
        import resource

        import chromadb_rust_bindings as rb

        db = chroma_dir / "chroma.sqlite3"
        if not db.is_file():  # the engine would create an empty database: never for a reader
            raise FileNotFoundError(db)
        config = rb.SqliteDBConfig(
            hash_type=rb.MigrationHash.MD5, migration_mode=rb.MigrationMode.Validate, url=str(db)
        )
        # Same HNSW cache sizing as chromadb's client: 5 files per index, within the fd limit.
        cache = max(1, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 5)
        self._engine = rb.Bindings(
            allow_reset=False, sqlite_db_config=config, persist_path=str(chroma_dir), hnsw_cache_size=cache
        )
        found = self._engine.get_collection(collection, TENANT, DATABASE)
        self._id = str(found.id)
        self._dimension = getattr(found, "dimension", None)

    def dimensions(self) -> int | None:
        """Length of the stored vectors (None: not told by this engine version, or an empty collection)."""
        return self._dimension if isinstance(self._dimension, int) and self._dimension > 0 else None

    def query(self, vector: list[float], k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(record id, cosine distance), nearest first."""
        res = self._engine.query(
            self._id, None, [vector], k, json.dumps(where) if where else None, None, ["distances"], TENANT, DATABASE
        )
        return list(zip(res.ids[0], res.distances[0]))


_registered = False


def _register_embedding_function() -> None:
    # Registered under its name so that Chroma can re-open a collection without warnings; the assistant
    # still passes its own instance every time it opens one. Done with the client, not at import time:
    # chromadb's registry lives in the client package the reader avoids importing.
    global _registered
    if not _registered:
        _registered = True
        try:
            from chromadb.utils.embedding_functions import register_embedding_function

            register_embedding_function(ChromaEmbeddingFunction)
        except Exception:  # noqa: BLE001 - its registry changed, or already registered: nothing to do
            pass


class ChromaEmbeddingFunction:
    """Chroma's embedding-function protocol over a LangChain Embeddings.

    Passed to every collection so that Chroma never falls back to its own
    default model (which would try to download one).
    """

    def __init__(self, embeddings: Embeddings, name: str = "assistant") -> None:
        self._emb = embeddings
        self._name = name

    def __call__(self, input: list[str]) -> list[Any]:  # noqa: A002 (Chroma's name)
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in self._emb.embed_documents(list(input))]

    def embed_query(self, input: list[str]) -> list[Any]:  # noqa: A002
        import numpy as np

        return [np.asarray(self._emb.embed_query(t), dtype=np.float32) for t in input]

    @staticmethod
    def name() -> str:
        return "tehran-assistant"

    def get_config(self) -> dict:
        return {"name": self._name}

    @staticmethod
    def build_from_config(config: dict) -> ChromaEmbeddingFunction:
        # Only used when Chroma re-opens a collection; lazy, so nothing loads unless it embeds.
        from .embeddings import E5Embeddings

        return ChromaEmbeddingFunction(E5Embeddings(), config.get("name", "assistant"))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]
