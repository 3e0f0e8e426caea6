"""Question keys, near misses and the answer-type classifier trained on the keys (real index, real model)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.ingest import load_edition
from assistant.keys import ANTIKEYS_FILE, TYPES, load_keys

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def passages():
    return load_edition(CORPUS)


def test_every_passage_has_keys_in_every_register(passages):
    keys = load_keys(CORPUS)
    by = {}
    for k in keys:
        by.setdefault(k.passage, Counter())[k.register] += 1
    missing = [p.id for p in passages if sum(by.get(p.id, Counter()).values()) < 6]
    assert not missing, missing
    thin = [p.id for p in passages if min(by[p.id][r] for r in ("formal", "colloquial", "en")) < 2]
    assert not thin, thin
    assert {k.type for k in keys} <= set(TYPES)
    assert not {k.passage for k in keys} - {p.id for p in passages}  # no key for a passage that is not there


def test_keys_are_distinct_and_in_their_language():
    from assistant.query import detect_language

    keys = load_keys(CORPUS)
    assert len({k.q for k in keys}) == len(keys)
    wrong = [k.q for k in keys if detect_language(k.q) != k.lang]
    assert len(wrong) <= 0.01 * len(keys), wrong[:10]


def test_near_misses_cover_every_passage_and_are_not_keys(passages):
    anti = load_keys(CORPUS, ANTIKEYS_FILE)
    assert {p.id for p in passages} <= {k.passage for k in anti}
    assert not {k.q for k in anti} & {k.q for k in load_keys(CORPUS)}


def test_keys_reach_their_passage(assistant):
    """A key asked as a question retrieves its own passage in the top five (keys are indexed)."""
    keys = load_keys(CORPUS)[::7]  # a spread sample
    hits = sum(k.passage in [h.passage.id for h in assistant.retriever.search(k.q, k=5)] for k in keys)
    assert hits / len(keys) >= 0.9


def test_answer_type_classifier_on_held_back_keys(store):
    """Cross-validated by passage (a passage's keys are never both trained on and tested): well above the
    majority class, and every type learned."""
    import numpy as np

    from assistant.index import EmbeddingCache
    from assistant.qtype import cross_validate, load_forms

    k = store.keys
    forms = load_forms()
    fv = np.asarray(
        EmbeddingCache(store.settings).embed(store.embeddings, [f["q"] for f in forms], as_query=True), dtype=np.float32
    )
    result = cross_validate(
        [x.q for x in k.keys],
        k.vectors,
        [x.type for x in k.keys],
        [x.passage for x in k.keys],
        extra=([f["q"] for f in forms], fv, [f["type"] for f in forms]),
    )
    majority = Counter(x.type for x in k.keys).most_common(1)[0][1] / len(k)
    assert result["accuracy"] >= 0.7 > majority + 0.3
    print(json.dumps(result))


def test_question_forms_are_document_independent():
    from assistant.qtype import load_forms

    forms = load_forms()
    assert Counter(f["type"] for f in forms) == Counter({t: 30 for t in TYPES})
    text = " ".join(f["q"] for f in forms).lower()
    assert "tehran" not in text and "تهران" not in text


def test_everyday_questions_are_about_other_things():
    """The background of everyday questions: both languages and registers, every answer type, and none about the
    subject of the paper (cities' international relations) in either language."""
    from assistant.qtype import EVERYDAY_FILE, load_background, load_forms

    everyday = load_forms(EVERYDAY_FILE)
    assert len(everyday) >= 500 and len(load_background()) == len(everyday) + len(load_forms())
    by_register = Counter(f["register"] for f in everyday)
    assert min(by_register[r] for r in ("formal", "colloquial", "en")) >= 150, by_register
    assert set(Counter(f["type"] for f in everyday)) == set(TYPES)
    assert len({f["q"] for f in everyday}) == len(everyday)
    text = " ".join(f["q"] for f in everyday).lower()
    for word in (
        "diplomacy",
        "دیپلماسی",
        "sister cit",
        "twin town",
        "خواهرخوانده",
        "خواهرشهر",
        "globalisation",
        "جهانی‌شدن",
    ):
        assert word not in text, word


def test_answerability_classifier_on_held_back_questions(store):
    """Keys (answered), near misses (anti-keys) and everyday questions (forms), cross-validated by passage:
    well above the majority class, near misses told apart too; the stored classifier is the one used."""
    from assistant.qtype import ANSWERABLE_C, ANSWERED, answerability_data, cross_validate

    anti, forms = store.antikeys
    texts, vectors, labels, groups = answerability_data(store.keys, anti, forms)
    result = cross_validate(texts, vectors, labels, groups, c=ANSWERABLE_C)
    majority = Counter(labels).most_common(1)[0][1] / len(labels)
    assert result["accuracy"] >= majority + 0.15 and result["per_type"]["near_miss"] >= 0.6, result
    print(json.dumps(result))
    clf = store.answerable
    assert clf is not None and ANSWERED in clf.classes
    ask = "جمعیت بیشکک چقدر است؟"  # a figure the paper never gives, about a city it names
    said = "تهران با بیشکک از چه سالی خواهرخوانده شد؟"
    p = {q: clf.probabilities(q, store.embeddings.embed_query(q))[ANSWERED] for q in (ask, said)}
    assert p[said] > 0.5 > p[ask], p


def test_a_question_that_is_a_key_puts_its_passage_first(store, settings):
    """At or above the cosine cut-off (settings.key_promote) a key's passage ranks first; without the
    promotion the fused lists alone put it first less often (measured: 89 of 109 on this sample)."""
    from assistant.retrieve import HybridRetriever

    keys = load_keys(CORPUS)[::11]
    first = sum(HybridRetriever(store).search(k.q, k=5)[0].passage.id == k.passage for k in keys)
    assert first == len(keys)
    assert settings.key_promote == 0.95
