"""Question keys: for each passage, the questions it answers (corpus/keys.jsonl), as a second way in.

This is doc2query / FAQ matching: a user's question is compared with questions (same form, same register,
colloquial or formal) instead of only with the passage's prose, so "how does the paper define city
diplomacy?" and «دیپلماسی شهری یعنی چی؟» meet at the same passage. Keys are embedded as queries (e5's
"query: " side: question-to-question similarity) and indexed for BM25; each carries an answer-type label,
which trains the question-type classifier (qtype.py).

Built with each index version (keys.npz beside the Chroma folder), so a fresh process loads the vectors
instead of embedding a thousand questions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .lexical import BM25
from .normalize import tokens

KEYS_FILE = "keys.jsonl"
KEYS_NPZ = "keys.npz"
KEYS_JSON = "keys.json"
# Near misses: per passage, questions a reader would expect it to answer that the whole document does not
# (the year an agreement was signed, a mayor's name). A question closer to one of these than to any key is
# probably not answered; calibration.py reads the margin.
ANTIKEYS_FILE = "antikeys.jsonl"
TYPES = (
    "year",
    "number",
    "person",
    "entity",
    "list",
    "definition",
    "reason",
    "recommendation",
    "comparison",
    "yesno",
    "other",
)


@dataclass(frozen=True)
class QuestionKey:
    passage: str
    q: str
    lang: str
    register: str
    type: str


def load_keys(corpus_dir: Path, name: str = KEYS_FILE) -> list[QuestionKey]:
    """The keys (or anti-keys) of a corpus folder (none when it has no such file); malformed lines are an error."""
    path = Path(corpus_dir) / name
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        kind = d.get("type", d.get("missing", "other")) if name != KEYS_FILE else d.get("type")
        if name == KEYS_FILE and kind not in TYPES:
            raise ValueError(f"{path}:{n}: unknown answer type {d.get('type')!r}")
        out.append(QuestionKey(d["passage"], d["q"], d.get("lang", ""), d.get("register", ""), kind))
    return out


class KeyIndex:
    """Key vectors (one row per key, unit length) and BM25 over the keys' tokens."""

    def __init__(self, keys: list[QuestionKey], vectors: np.ndarray):
        self.keys = keys
        self.vectors = vectors.astype(np.float32) if len(keys) else np.zeros((0, 1), np.float32)
        self._bm25: BM25 | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def passages(self) -> set[str]:
        """The passages that have keys."""
        if not hasattr(self, "_passages"):
            self._passages = {k.passage for k in self.keys}
        return self._passages

    @property
    def bm25(self) -> BM25:
        if self._bm25 is None:
            self._bm25 = BM25([tokens(k.q) for k in self.keys])
        return self._bm25

    def similarities(self, query_vec) -> np.ndarray:
        if not self.keys:
            return np.zeros(0)
        return self.vectors @ np.asarray(query_vec, dtype=np.float32)

    def dense(self, query_vec, k: int, sims: np.ndarray | None = None) -> list[tuple[int, float]]:
        sims = self.similarities(query_vec) if sims is None else sims
        if not len(sims):
            return []
        best = np.argsort(-sims, kind="stable")[:k]
        return [(int(i), float(sims[i])) for i in best]

    def lexical(self, query_tokens: list[str], k: int) -> list[tuple[int, float]]:
        return self.bm25.top(query_tokens, k) if self.keys else []

    # ------------------------------------------------------------------ storage
    def top_similarity(self, query_vec) -> float:
        sims = self.similarities(query_vec)
        return float(sims.max()) if len(sims) else 0.0

    def save(self, folder: Path, stem: str = "keys") -> None:
        folder = Path(folder)
        np.savez(folder / f"{stem}.npz", vectors=self.vectors)
        (folder / f"{stem}.json").write_text(
            json.dumps([asdict(k) for k in self.keys], ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path, stem: str = "keys") -> KeyIndex:
        folder = Path(folder)
        try:
            keys = [QuestionKey(**d) for d in json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))]
            with np.load(folder / f"{stem}.npz") as data:
                vectors = data["vectors"]
        except (OSError, ValueError, KeyError, TypeError):
            return cls([], np.zeros((0, 1), np.float32))  # built without keys (or before they existed)
        if len(vectors) != len(keys):
            return cls([], np.zeros((0, 1), np.float32))
        return cls(keys, vectors)


def build_keys(corpus_dir: Path, passage_ids: set[str], embed_queries, name: str = KEYS_FILE) -> KeyIndex:
    """Embed the keys (or anti-keys) of the passages present (embed_queries: texts -> vectors, as questions)."""
    keys = [k for k in load_keys(corpus_dir, name) if k.passage in passage_ids]
    return from_questions(keys, embed_queries)


def from_questions(keys: list[QuestionKey], embed_queries) -> KeyIndex:
    if not keys:
        return KeyIndex([], np.zeros((0, 1), np.float32))
    vecs = np.asarray(embed_queries([k.q for k in keys]), dtype=np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
    return KeyIndex(keys, vecs)
