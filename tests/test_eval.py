"""The evaluation harness: scoring rules, and the whole test set on the default pipeline, held to
evals/thresholds.json; the held-out set and the paraphrase consistency held to evals/thresholds-heldout.json;
the later dev sets (several-row answers, near misses, off-topic questions; comparisons, two-part questions; fresh
near misses) to evals/thresholds-dev2.json, -dev3, -dev4, -offtopic and -nearmiss.
Both are set a hair under the first honest run of the current answering code, so a regression fails CI; they are
floors to hold, never targets to tune against (the held-out set is never read while developing)."""

import json

import pytest
from conftest import ROOT

from assistant.evaluate import (
    THRESHOLDS_FILE,
    check_thresholds,
    evaluate,
    fact_present,
    read_questions,
    score_item,
    slices_of,
)

# The lowest the thresholds may ever be set (the answering rewrite of issue 13 lowered dev/test accuracy from the
# rule-tuned 0.907 to 0.80 while raising held-out, paraphrase accuracy and consistency; the general mechanisms
# since brought it to 0.895 and the learned reranker to 0.914, and the floors rose with it: see README).
FLOORS = {"accuracy": 0.89, "citation_support": 0.94, "abstention_recall": 0.50, "language_match": 0.98}


@pytest.mark.parametrize(
    "aliases, answer, expected",
    [
        (["1373"], "در سال ۱۳۷۳ با بیشکک", True),  # Persian digits in the answer
        (["۱۸۴"], "184 member countries", True),  # Persian digits in the alias
        (["خواهرخوانده"], "خواهر‌خوانده اعلام شد", False),  # a half-space splits a word: not the same word
        (["کمک‌های فنی"], "کمک های فنی و مالی", True),  # half-space vs space
        (["کشور"], "كشور", True),  # Arabic kaf
        (["سیاسی"], "سياسي", True),  # Arabic ya
        (["مدیریت"], "مدیــریت", True),  # tatweel
        (["Hanoi"], "HANOI (Vietnam)", True),
        (["Hanoi", "هانوی"], "Manila", False),
    ],
)
def test_fact_matching_normalizes_scripts(aliases, answer, expected):
    assert fact_present(aliases, answer) is expected


def test_scoring_of_answers_lists_and_abstentions():
    ans = {
        "answer": "Pretoria [1] Khartoum [2]",
        "language": "en",
        "abstained": False,
        "citations": [{"id": "t2.r2", "text": "", "text_en": "Pretoria"}, {"id": "s1.p1", "text": "", "text_en": "x"}],
        "retrieved": ["s6.2.p2", "t2", "t2.r8"],
        "latency_ms": 5,
    }
    item = {
        "question": "Which sister cities are in Africa?",
        "gold": ["t2.r2", "t2.r8", "t2.r19"],
        "facts": [["Pretoria"], ["Khartoum"], ["Tunis"]],
        "min_hits": 2,
    }
    s = score_item(item, ans)
    assert s.correct and s.facts_found == 2 and s.hit_at_k == 1.0 and s.rr == 0.5  # "t2" finds its rows
    assert s.support is True and s.precision == 0.5 and s.lang_match
    assert not score_item({**item, "min_hits": 3}, ans).correct
    abst = {**ans, "abstained": True, "citations": [], "answer": "The paper does not answer this question."}
    assert score_item({"question": "Capital of Australia?", "answerable": False}, abst).correct
    assert not score_item({"question": "Capital of Australia?", "answerable": False}, ans).correct
    wrong_lang = {**ans, "language": "fa", "answer": "پرتوریا [1]"}
    assert not score_item(item, wrong_lang).lang_match
    assert slices_of(
        {"question": "و در اروپا؟", "history": [{"role": "user", "content": "x"}], "gold": ["t2.r3"], "split": "dev"}
    ) == ["all", "fa", "answerable", "multi-turn", "table", "dev"]


def test_test_set_meets_its_counts():
    items = read_questions(ROOT / "evals" / "questions.jsonl")
    langs = [i["lang"] for i in items]
    assert len(items) >= 150 and abs(langs.count("fa") - langs.count("en")) <= 10
    assert sum(1 for i in items if not i["answerable"]) >= 15
    assert sum(1 for i in items if i.get("history")) >= 10
    import re

    golds = [g for i in items for g in i.get("gold", [])]
    tables = {g.split(".")[0] for g in golds if re.fullmatch(r"t\d(\.r\d+)?", g)}
    sections = {re.sub(r"\.(p\d+|h|fig\d)$", "", g) for g in golds if not re.fullmatch(r"t\d(\.r\d+)?", g)}
    assert {"abstract", "intro", "s1", "s2", "s3", "s4", "s5", "s6", "s6.1", "s6.2", "s6.3", "conclusion"} <= sections
    assert tables == {"t1", "t2", "t3", "t4", "t5", "t6"}


def test_whole_test_set_holds_the_thresholds(assistant, tmp_path):
    items = read_questions(ROOT / "evals" / "questions.jsonl")
    results, summary, failures = evaluate(assistant, items)
    overall = summary["slices"]["all"]
    print("\n" + json.dumps({k: overall[k] for k in sorted(overall)}, ensure_ascii=False))
    for name in ("fa", "en", "table", "text", "multi-turn", "dev", "test"):
        s = summary["slices"][name]
        print(f"{name}: accuracy={s['accuracy']} recall@5={s['recall@5']} support={s['citation_support']}")
    thresholds = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    for metric, floor in FLOORS.items():
        assert thresholds[metric] >= floor, f"threshold for {metric} is set below the floor"
    problems = check_thresholds(summary, thresholds)
    assert not problems, (
        "; ".join(problems) + "\nfailures:\n" + "\n".join(f"{f['id']}: {f['question']}" for f in failures)
    )
    assert len(results) == len(items) and all(r["id"] == i["id"] for r, i in zip(results, items))


def test_heldout_set_and_paraphrases_hold_their_floors(assistant):
    floors = json.loads((ROOT / "evals" / "thresholds-heldout.json").read_text(encoding="utf-8"))
    held = read_questions(ROOT / "evals" / "heldout.jsonl")
    assert (
        len(held) >= 90
        and sum(not i["answerable"] for i in held) >= 20
        and sum(bool(i.get("history")) for i in held) >= 10
    )
    _, summary, failures = evaluate(assistant, held)
    overall = summary["slices"]["all"]
    print("\nheld-out: " + json.dumps({k: overall[k] for k in sorted(overall)}, ensure_ascii=False))
    problems = check_thresholds(summary, {k: v for k, v in floors.items() if k != "paraphrase_consistency"})
    assert not problems, "; ".join(problems)
    # A reworded dev question scores as its original: same verdict for each of its two rewordings.
    originals = {i["id"]: i for i in read_questions(ROOT / "evals" / "questions.jsonl")}
    paras = read_questions(ROOT / "evals" / "paraphrases.jsonl")
    asked = {i["id"]: i for i in [originals[o] for o in {p["of"] for p in paras}]}
    orig_results, _, _ = evaluate(assistant, list(asked.values()))
    para_results, _, _ = evaluate(assistant, paras)
    verdict = {r["id"]: score_item(asked[r["id"]], r).correct for r in orig_results}
    same = [score_item(p, r).correct == verdict[p["of"]] for p, r in zip(paras, para_results)]
    consistency = sum(same) / len(same)
    print(f"paraphrase consistency: {consistency:.3f} over {len(same)} rewordings")
    assert consistency >= floors["paraphrase_consistency"]


@pytest.mark.parametrize(
    "name, size, unanswerable",
    [
        # dev2 (seventh session): several-row answers, near misses, off-topic questions; first run 0.633,
        # 0.656 after the eighth session's changes.
        ("dev2", 90, 30),
        # dev3 (eighth session): comparisons without "or", two-part questions, lists by meaning, follow-ups;
        # first run 0.650 (recall@5 0.90, abstention recall 0.65), 0.750 after the session's changes.
        ("dev3", 60, 20),
        # dev4 (tenth session): the styles of the held-out set (paraphrases, colloquial Persian, typos, follow-ups,
        # near misses, off-topic), written fresh; first run 0.845 (recall@5 0.966, abstention recall 0.69).
        ("dev4", 71, 13),
        # offtopic (eighth session): 40 everyday questions on other topics, a check never fitted on; 0.875.
        ("offtopic", 40, 40),
        # nearmiss (thirteenth session): 521 near misses written from each passage, never fitted on; first run
        # 0.33, 0.42 after the session's checks.
        ("nearmiss", 521, 521),
    ],
)
def test_the_later_dev_sets_hold_their_floors(assistant, name, size, unanswerable):
    """The dev sets written for the classes the first dev split has few of, each held to floors a little under
    the run of the code of the session that wrote it (evals/thresholds-<name>.json)."""
    floors = json.loads((ROOT / "evals" / f"thresholds-{name}.json").read_text(encoding="utf-8"))
    items = read_questions(ROOT / "evals" / f"{name}.jsonl")
    assert len(items) >= size and sum(not i["answerable"] for i in items) >= unanswerable
    _, summary, _ = evaluate(assistant, items)
    overall = summary["slices"]["all"]
    print(f"\n{name}: " + json.dumps({k: overall[k] for k in sorted(overall)}, ensure_ascii=False))
    problems = check_thresholds(summary, floors)
    assert not problems, "; ".join(problems)
