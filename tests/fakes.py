"""Fakes for fast unit tests, named as such: nothing here is used by the assistant itself.

FakeEmbeddings stands in for the bundled e5 model where a test is about query analysis or composition, not
about what the model understands. It is deterministic and instant, so a tiny index builds in a second.
It knows no meaning and does not cross languages: a Persian question lands near Persian text that shares
its words, an English one near English text (the index embeds each passage in both languages).
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Iterator

import pytest
from langchain_core.embeddings import Embeddings

from assistant.normalize import tokens

FAKE_DIM = 256
_CHAR_WEIGHT = 0.5  # a shared trigram counts half a shared word: typos and inflections land close, not on top


def _bucket(feature: str) -> tuple[int, float]:
    # crc32, not hash(): the same text gets the same vector in every process (hash() is salted per process).
    h = zlib.crc32(feature.encode("utf-8"))
    return h % FAKE_DIM, (1.0 if (h >> 16) & 1 else -1.0)


def fake_vector(text: str) -> list[float]:
    """Hashed word tokens and character trigrams of the normalized text, unit length."""
    v = [0.0] * FAKE_DIM
    for word in tokens(text):
        i, sign = _bucket("w:" + word)
        v[i] += sign
        padded = f" {word} "
        for j in range(len(padded) - 2):
            i, sign = _bucket("c:" + padded[j : j + 3])
            v[i] += sign * _CHAR_WEIGHT
    norm = math.sqrt(sum(x * x for x in v))
    if norm == 0.0:  # no words at all: one fixed direction (a zero vector has no cosine)
        v[0], norm = 1.0, 1.0
    return [x / norm for x in v]


class FakeEmbeddings(Embeddings):
    """A FAKE of the LangChain Embeddings the index uses (E5Embeddings' interface): hashed n-grams, no model."""

    def __init__(self) -> None:
        self.calls = 0  # texts embedded: a test can see that this fake, not the model, did the work

    def warm_up(self) -> None:
        """Nothing to load."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [fake_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return fake_vector(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


@contextlib.contextmanager
def fake_embedding_backend(fake: FakeEmbeddings) -> Iterator[FakeEmbeddings]:
    """While inside, every index built or opened embeds with `fake`.

    The seam is the one factory the index asks for its embeddings (assistant.embeddings.make_embeddings);
    the index imports it when it needs it, so replacing the module attribute reaches every caller."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("assistant.embeddings.make_embeddings", lambda settings: fake)
        yield fake
