"""The answering code holds no knowledge of the Tehran paper: a second, unrelated document (an invented note on
water management in Isfahan, tests/fixtures/second_doc/) with its own profile and question keys goes through
the same ingestion, index, analysis, composition and abstention, with the Tehran paper's calibration (its
features are document-agnostic). Real index, real embedding model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.evaluate import score_item

FIXTURE = Path(__file__).parent / "fixtures" / "second_doc"
CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def water(tmp_path_factory):
    from assistant.answer import Assistant
    from assistant.settings import Settings

    root = tmp_path_factory.mktemp("second-doc")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE, corpus)
    shutil.copy(CORPUS / "calibration.json", corpus / "calibration.json")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", feedback_file=root / "feedback.jsonl")
    return Assistant(settings)


def _items():
    return [json.loads(line) for line in (FIXTURE / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line]


def test_second_document_is_indexed_with_its_own_keys(water):
    store = water.store
    assert {p.id for p in store.passages} >= {"title.h", "abstract.p1", "t1", "t1.r1"}
    assert not any(p.id.startswith("t2") for p in store.passages)  # nothing of the Tehran paper
    assert len(store.keys) >= 6 * len(store.passages)
    assert store.typer is not None


def test_second_document_questions(water):
    results = []
    for item in _items():
        ans = water.ask(item["question"], item.get("history") or [])
        res = ans.contract()
        results.append((item, score_item(item, res), res))
    wrong = [(i["id"], i["question"], r["answer"][:160]) for i, s, r in results if not s.correct]
    answerable = [s for i, s, _ in results if i["answerable"]]
    unanswerable = [s for i, s, _ in results if not i["answerable"]]
    # Nearly every question the note does not answer is abstained on, and nearly every one it answers is
    # answered right (today: one near miss, the mayor's name, is answered; see README).
    print("\nsecond document, wrong:", wrong)
    assert sum(s.correct for s in unanswerable) >= len(unanswerable) - 1, wrong
    assert sum(s.correct for s in answerable) >= len(answerable) - 1, wrong
    # Lists come from the note's own table, filtered by its own profile's groups and places.
    listed = [r for i, s, r in results if i.get("kind") == "list" and s.correct]
    assert listed and all(c["table"] == 1 for r in listed for c in r["citations"] if c["kind"] == "table_row")


def test_entity_the_note_never_names_is_reported(water):
    ans = water.ask("What water-saving measures were carried out in the Zeynabiyeh district?")
    assert ans.abstained
    assert any("zeynabiyeh" in r.lower() for r in ans.evidence["abstain_reasons"])


@pytest.mark.parametrize(
    "question", ["Which water-saving measure in the note was the cheapest?", "ارزان‌ترین اقدام صرفه‌جویی آب کدام بود؟"]
)
def test_a_ranking_the_note_does_not_give_is_abstained_on(water, question):
    """The note's table gives no costs: its measures are not ranked by price, whatever the retrieval finds."""
    ans = water.ask(question)
    assert ans.abstained, ans.answer[:200]
