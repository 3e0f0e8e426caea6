"""The learned reranker (rerank.py) on the real index and model: fitted on the dev questions, measured here on
the test split, which it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer import Turn
from assistant.rerank import FEATURES, RERANK_FILE, Reranker

ROOT = Path(__file__).resolve().parent.parent


def _test_split() -> list[dict]:
    items = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [i for i in items if i["split"] == "test" and i["answerable"] and i["gold"] and not i.get("history")]


def _is_gold(pid: str, gold: set[str]) -> bool:
    return pid in gold or any(g.startswith(pid + ".r") for g in gold)


@pytest.fixture(scope="module")
def ranked(assistant):
    """Each test-split question's passages, reranked and in the fused order alone (the unfitted prior)."""
    retriever = assistant.retriever
    fitted = retriever.reranker
    out = []
    try:
        for item in _test_split():
            turn = assistant._condense(assistant._prepare(Turn(question=item["question"], history=[])))
            both = {}
            for name, model in (("reranked", fitted), ("fused", Reranker({"fused": 1.0}))):
                retriever.reranker = model
                hits = retriever.search(item["question"], k=5, query_vec=turn.query_vec, analysis=turn.analysis)
                both[name] = [h.passage.id for h in hits]
            known, _ = retriever._fuse(item["question"], _no_filters(), turn.query_vec)
            out.append((item, both, known))
    finally:
        retriever.reranker = fitted
    return out


def _no_filters():
    from assistant.retrieve import Filters

    return Filters()


def test_the_stored_model_reads_every_feature_and_a_new_corpus_keeps_the_fused_order(tmp_path):
    data = json.loads((ROOT / "corpus" / RERANK_FILE).read_text(encoding="utf-8"))
    assert list(data["coef"]) == list(FEATURES) and set(data["mean"]) == set(FEATURES)
    assert data["cv_mrr"] > data["fused_mrr"]  # measured at fitting: 0.961 vs 0.908
    model = Reranker.load(ROOT / "corpus")
    assert model.fitted
    prior = Reranker.load(tmp_path)  # no rerank.json: a corpus nobody fitted
    assert not prior.fitted and prior.coef == {"fused": 1.0}


def test_reranking_finds_the_evidence_better_than_the_fused_order(ranked):
    """On the test split (never fitted on; standalone questions, no filters): MRR above the RRF order's and
    recall@5 no lower (measured: MRR 0.910 vs 0.875, recall@5 0.969 both)."""

    def recall_mrr(name: str) -> tuple[float, float]:
        rec = mrr = 0.0
        for item, both, _ in ranked:
            gold = set(item["gold"])
            rank = next((r for r, pid in enumerate(both[name], 1) if _is_gold(pid, gold)), None)
            rec += rank is not None
            mrr += 1.0 / rank if rank else 0.0
        return rec / len(ranked), mrr / len(ranked)

    reranked, fused = recall_mrr("reranked"), recall_mrr("fused")
    print(f"\ntest split ({len(ranked)} questions): reranked recall@5 / MRR {reranked}, fused {fused}")
    assert reranked[0] >= fused[0] and reranked[0] >= 0.95
    assert reranked[1] >= fused[1] + 0.02


def test_a_passage_first_in_both_passage_lists_stays_in_the_top_five(ranked):
    """RRF buried such a passage when its keys were worded otherwise (three lists out of four held others)."""
    both_first = [
        (item["id"], known["dense"][0].passage, both)
        for item, both, known in ranked
        if known["dense"] and known["lexical"] and known["dense"][0].passage == known["lexical"][0].passage
    ]
    assert len(both_first) >= 20
    lost = [(i, pid) for i, pid, both in both_first if pid not in both["reranked"]]
    assert not lost, lost


def test_the_stored_model_is_what_fitting_on_the_dev_questions_gives(assistant):
    """corpus/rerank.json is reproducible by its documented procedure (`python -m assistant.calibrate`), so a
    change to the retrieval lists or the features that leaves it stale fails here."""
    from assistant.calibrate import collect_rerank
    from assistant.rerank import fit

    items = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    result = fit(collect_rerank(assistant, [i for i in items if i["split"] == "dev"]))
    stored = json.loads((ROOT / "corpus" / RERANK_FILE).read_text(encoding="utf-8"))
    assert result["fitted_on"] == stored["fitted_on"]
    drift = max(abs(result["coef"][f] - stored["coef"][f]) for f in FEATURES)
    assert drift < 0.02, drift
    assert result["cv_mrr"] > result["fused_mrr"] + 0.02
