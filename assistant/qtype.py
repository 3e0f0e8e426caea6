"""What kind of answer a question wants (year, number, list, definition, reason, ...), learned from the keys.

A multinomial logistic regression over two views of the question:
- its embedding (the same e5 query vector retrieval uses, so it costs nothing extra), which carries meaning
  across languages and registers;
- hashed character n-grams (2-4) of its normalized words, which carry the form of the question word
  («چه سالی», «چندتا», "how many", "why") whatever the topic.
It is trained at index build on the labelled question keys (scikit-learn) and applied at question time with
numpy only (no scikit-learn import in a fresh `ask`). `cross_validate` measures it on keys held back by
passage (a passage's keys are never both trained on and tested).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .normalize import tokens

QTYPE_NPZ = "qtype.npz"
# The same classifier, trained on whether a question is one the document answers (its keys), a near miss it is
# known not to answer (anti-keys) or an everyday question about something else (question forms).
ANSWERABLE_NPZ = "answerable.npz"
ANSWERED = "answered"
ANSWERABLE_C = 64.0  # weaker regularisation than the types': chosen by AUC on dev and its rewordings (README)
FORMS_FILE = Path(__file__).resolve().parent / "data" / "question_forms.jsonl"
# Everyday questions on many other topics (assistant/data/README.md): more of what "about something else" looks
# like, for the answerability classifier and the off-topic neighbours; the answer types stay the forms' job.
EVERYDAY_FILE = Path(__file__).resolve().parent / "data" / "everyday_questions.jsonl"
HASH_DIM = 1 << 13
NGRAMS = (2, 3, 4)
EMB_WEIGHT = 1.0  # the two views are unit vectors; equal weight, the regression learns the rest
C = 4.0  # inverse regularisation of the regression


def load_forms(path: Path = FORMS_FILE) -> list[dict]:
    """Document-independent labelled question forms (assistant/data/question_forms.jsonl)."""
    import json

    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_background() -> list[dict]:
    """The questions about other things: the question forms and the everyday questions."""
    return load_forms() + load_forms(EVERYDAY_FILE)


def char_features(text: str) -> dict[int, float]:
    """Hashed character n-grams of the question's words (padded), unit length."""
    counts: dict[int, float] = {}
    for word in tokens(text):
        w = f" {word} "
        for n in NGRAMS:
            for i in range(len(w) - n + 1):
                h = zlib.crc32(w[i : i + n].encode("utf-8")) % HASH_DIM
                counts[h] = counts.get(h, 0.0) + 1.0
    norm = sum(v * v for v in counts.values()) ** 0.5 or 1.0
    return {h: v / norm for h, v in counts.items()}


def _matrix(texts: Sequence[str], vectors: np.ndarray):
    from scipy.sparse import csr_matrix, hstack

    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        for h, v in char_features(t).items():
            rows.append(i)
            cols.append(h)
            vals.append(v)
    chars = csr_matrix((vals, (rows, cols)), shape=(len(texts), HASH_DIM))
    return hstack([csr_matrix(np.asarray(vectors) * EMB_WEIGHT), chars]).tocsr()


class QuestionTyper:
    def __init__(self, classes: list[str], coef: np.ndarray, intercept: np.ndarray, dim: int):
        self.classes = classes
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        self.dim = dim  # embedding dimension

    @classmethod
    def train(cls, texts: Sequence[str], vectors: np.ndarray, labels: Sequence[str], c: float = C) -> QuestionTyper:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        model.fit(_matrix(texts, vectors), list(labels))
        return cls(list(model.classes_), model.coef_, model.intercept_, np.asarray(vectors).shape[1])

    def probabilities(self, text: str, vector) -> dict[str, float]:
        v = np.asarray(vector, dtype=np.float32)
        z = self.coef[:, : self.dim] @ (v * EMB_WEIGHT) + self.intercept
        for h, x in char_features(text).items():
            z += self.coef[:, self.dim + h] * x
        z = np.exp(z - z.max())
        p = z / z.sum()
        return {c: float(x) for c, x in zip(self.classes, p)}

    def predict(self, text: str, vector) -> tuple[str, float]:
        probs = self.probabilities(text, vector)
        best = max(probs, key=probs.__getitem__)
        return best, probs[best]

    # ------------------------------------------------------------------ storage
    def save(self, folder: Path, name: str = QTYPE_NPZ) -> None:
        np.savez(
            Path(folder) / name,
            classes=np.asarray(self.classes),
            coef=self.coef,
            intercept=self.intercept,
            dim=np.asarray([self.dim]),
        )

    @classmethod
    def load(cls, folder: Path, name: str = QTYPE_NPZ) -> QuestionTyper | None:
        try:
            with np.load(Path(folder) / name) as d:
                return cls([str(c) for c in d["classes"]], d["coef"], d["intercept"], int(d["dim"][0]))
        except (OSError, ValueError, KeyError):
            return None


def answerability_data(keys, antikeys, forms) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """Texts, vectors, labels and groups (a key's or anti-key's passage; a form is its own group) of the
    answerability classifier, from the three KeyIndex sets."""
    parts = [(keys, ANSWERED), (antikeys, "near_miss"), (forms, "offtopic")]
    labelled = [(k, lab) for s, lab in parts for k in s.keys]
    texts = [k.q for k, _ in labelled]
    labels = [lab for _, lab in labelled]
    groups = [k.passage or f"form:{i}" for i, (k, _) in enumerate(labelled)]
    vecs = [s.vectors for s, _ in parts if len(s)]
    return texts, (np.vstack(vecs) if vecs else np.zeros((0, 1), np.float32)), labels, groups


def cross_validate(
    texts: Sequence[str],
    vectors: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str],
    folds: int = 5,
    extra: tuple | None = None,
    c: float = C,
) -> dict:
    """Accuracy on keys held back by passage group (GroupKFold), overall and per type. extra: (texts,
    vectors, labels) always trained on (the document-independent question forms)."""
    from sklearn.model_selection import GroupKFold

    texts, labels = list(texts), list(labels)
    vectors = np.asarray(vectors)
    right = 0
    per: dict[str, list[int]] = {}
    for train, test in GroupKFold(n_splits=folds).split(texts, labels, list(groups)):
        tr_texts, tr_vecs, tr_labels = [texts[i] for i in train], vectors[train], [labels[i] for i in train]
        if extra is not None:
            tr_texts, tr_vecs, tr_labels = (
                tr_texts + list(extra[0]),
                np.vstack([tr_vecs, extra[1]]),
                tr_labels + list(extra[2]),
            )
        typer = QuestionTyper.train(tr_texts, tr_vecs, tr_labels, c=c)
        for i in test:
            ok = typer.predict(texts[i], vectors[i])[0] == labels[i]
            right += ok
            per.setdefault(labels[i], [0, 0])
            per[labels[i]][0] += ok
            per[labels[i]][1] += 1
    return {
        "accuracy": right / max(1, len(texts)),
        "n": len(texts),
        "per_type": {t: round(a / n, 3) for t, (a, n) in sorted(per.items())},
    }
