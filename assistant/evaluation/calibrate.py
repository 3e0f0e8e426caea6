"""Calibrating the similarity cut-off on our own labelled set (evals/questions.jsonl).

Our items have no plain-words reference, but they have key facts and gold passages. A reference is
derived for each: the clauses of its gold passages (in the item's language) that state a key fact.
The labels are the fact-based verdicts (every key fact in the answer, `score_item`):
- each answered item gives one pair (its answer, its reference), labelled by its own verdict;
- each also gives a mismatched pair (the next answered item's answer in the same language, its
  reference), labelled by whether that answer happens to hold the item's facts (almost never).
The cut-off is fitted on the dev split; its agreement is reported on dev and on the held-out test split.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from ..normalize import normalize
from .pipeline import CALIBRATION_FILE, Progress, Similarity, ask_item
from .scoring import fact_present, fit_threshold, score_item, strip_markers

_LABEL = re.compile(r"^(?:Table|جدول)[^:]*:\s*")
_CLAUSE = re.compile(r"[,;:،؛—()]|\.\s")


def derived_reference(item: dict, by_id: dict) -> str:
    """A short reference in the words of the paper: the clauses of the gold passages (in the item's
    language, without the "Table N, row M:" head) that state a key fact, joined by commas. Clauses rather than
    whole sentences, because a team's reference is a phrase ("a city's name.", "more than 25 percent"), and a
    whole sentence would be nearly the extractive answer itself."""
    lang = item.get("lang") or "en"
    facts = [f if isinstance(f, list) else [f] for f in item.get("facts") or []]
    out: list[str] = []
    for pid in item.get("gold") or []:
        p = by_id.get(pid)
        if p is None:
            continue
        for clause in _CLAUSE.split(_LABEL.sub("", p.text_in(lang))):
            clause = clause.strip()
            if clause and clause not in out and any(fact_present(f, clause) for f in facts):
                out.append(clause)
    if out:
        return ", ".join(out)
    # No gold clause states a fact in this language: the facts themselves, in the item's script.
    pick = [next((a for a in f if normalize(a).isascii() == (lang == "en")), f[0]) for f in facts]
    return ", ".join(pick)


def calibrate(assistant, items: list[dict], progress: Progress | None = None) -> dict:
    by_id = assistant.store.by_id
    sim = Similarity(assistant.store.embeddings)
    usable = [it for it in items if it.get("answerable", True) and it.get("facts") and it.get("gold")]
    answered: list[tuple[dict, dict, str]] = []
    for i, item in enumerate(usable):
        res = ask_item(assistant, item)
        if not res["abstained"] and res["answer"]:
            answered.append((item, res, derived_reference(item, by_id)))
        if progress:
            progress(i + 1, len(usable))
    pairs: dict[str, list[tuple[float, bool]]] = {"dev": [], "test": []}
    positives = negatives = 0
    for k, (item, res, ref) in enumerate(answered):
        split = "test" if item.get("split") == "test" else "dev"
        label = score_item(item, res).correct
        pairs[split].append((sim(strip_markers(res["answer"]), ref), label))
        positives += label
        negatives += not label
        other = next(
            (
                o
                for o in answered[k + 1 :] + answered[:k]
                if o[0].get("lang") == item.get("lang") and o[0]["id"] != item["id"] and o[1]["answer"] != res["answer"]
            ),
            None,
        )
        if other is not None:
            facts = [f if isinstance(f, list) else [f] for f in item["facts"]]
            needed = int(item.get("min_hits", len(facts)))
            mislabel = sum(fact_present(f, other[1]["answer"]) for f in facts) >= needed
            pairs[split].append((sim(strip_markers(other[1]["answer"]), ref), mislabel))
            positives += mislabel
            negatives += not mislabel
    threshold, agreement = fit_threshold(pairs["dev"] or pairs["test"])
    test = pairs["test"]
    agreement_test = round(sum((s >= threshold) == lab for s, lab in test) / len(test), 4) if test else None
    everything = pairs["dev"] + pairs["test"]
    return {
        "model": f"{assistant.settings.embedding_backend}:{assistant.settings.embedding_model}",
        "backend": assistant.settings.backend,
        "threshold": threshold,
        "agreement": agreement,
        "agreement_test": agreement_test,
        "agreement_all": round(sum((s >= threshold) == lab for s, lab in everything) / len(everything), 4),
        "n": len(pairs["dev"]),
        "n_test": len(test),
        "positives": positives,
        "negatives": negatives,
        "items": len(usable),
        "answered": len(answered),
        "date": date.today().isoformat(),
        "how": "fitted on dev pairs (answer, reference = the clauses of the gold passages that state a key fact), "
        "labelled by the fact-based verdict; mismatched same-language pairs as negatives",
    }


def write_calibration(cal: dict, path: Path = CALIBRATION_FILE) -> None:
    path.write_text(json.dumps(cal, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
