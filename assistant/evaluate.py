"""`assistant eval`: answer a JSONL question set, score what has gold data, write a report.

Question lines: {"id", "question", "history"?, "lang"?, "answerable"?, "gold"?: [passage ids],
"facts"?: [[alias, alias...], ...], "min_hits"?: int}. Lines without gold data are answered
and written out, but not scored. See evals/README.md.
"""
from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .normalize import normalize
from .query import detect_language

THRESHOLDS_FILE = Path(__file__).resolve().parent.parent / "evals" / "thresholds.json"
RECALL_K = 5


class EvalInputError(ValueError):
    pass


def read_questions(path: Path) -> list[dict]:
    if not path.is_file():
        raise EvalInputError(f"{path}: no such file")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise EvalInputError(f"{path}:{n}: each line needs a \"question\" string")
        item.setdefault("id", f"line{n}")
        items.append(item)
    if not items:
        raise EvalInputError(f"{path}: no questions")
    return items


# ---------------------------------------------------------------------- scoring
def fact_present(aliases: list[str], answer: str) -> bool:
    """A key fact counts when any alias occurs in the answer (digits, ya/kaf, half-spaces, tatweel normalized)."""
    text = f" {normalize(answer)} "
    return any(normalize(a) and normalize(a) in text for a in aliases)


def scored(item: dict) -> bool:
    return "answerable" in item or "gold" in item or "facts" in item


@dataclass
class Score:
    correct: bool
    answerable: bool
    abstained: bool
    hit_at_k: Optional[float]
    rr: Optional[float]
    support: Optional[bool]
    precision: Optional[float]
    lang_match: bool
    latency_ms: float
    facts_found: int
    facts_needed: int


def score_item(item: dict, result: dict) -> Score:
    answerable = bool(item.get("answerable", True))
    abstained = bool(result["abstained"])
    answer = result["answer"]
    facts = item.get("facts") or []
    found = sum(fact_present(f if isinstance(f, list) else [f], answer) for f in facts)
    needed = int(item.get("min_hits", len(facts)))
    correct = (not abstained and found >= needed) if answerable else abstained
    gold = set(item.get("gold") or [])
    hit = rr = None
    if answerable and gold:
        ranked = result.get("retrieved") or []
        # A table's own passage (its title, "t2") finds the evidence of its rows: the composer reads the table.
        def is_gold(pid: str) -> bool:
            return pid in gold or any(g.startswith(pid + ".r") for g in gold)
        hit = float(any(is_gold(pid) for pid in ranked[:RECALL_K]))
        rr = next((1.0 / i for i, pid in enumerate(ranked, 1) if is_gold(pid)), 0.0)
    support = precision = None
    cits = result.get("citations") or []
    if answerable and not abstained and cits:
        def supports(c: dict) -> bool:
            body = f"{c.get('text', '')} {c.get('text_en', '')}"
            return c["id"] in gold or any(fact_present(f if isinstance(f, list) else [f], body) for f in facts)
        flags = [supports(c) for c in cits]
        support = any(flags)
        precision = sum(flags) / len(flags)
    want_lang = item.get("lang") or detect_language(item["question"])
    lang_match = result["language"] == want_lang and (abstained or detect_language(answer) == want_lang)
    return Score(correct, answerable, abstained, hit, rr, support, precision, lang_match,
                 float(result.get("latency_ms", 0.0)), found, needed)


def slices_of(item: dict) -> list[str]:
    lang = item.get("lang") or detect_language(item["question"])
    gold = item.get("gold") or []
    out = ["all", lang, "answerable" if item.get("answerable", True) else "unanswerable",
           "multi-turn" if item.get("history") else "single-turn"]
    if item.get("answerable", True):
        out.append("table" if any(g.startswith("t") for g in gold) else "text")
    if item.get("split") in ("dev", "test"):
        out.append(item["split"])
    return out


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 4) if xs else None


def _pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def summarize(scores: list[Score]) -> dict:
    ans = [s for s in scores if s.answerable]
    una = [s for s in scores if not s.answerable]
    abst = [s for s in scores if s.abstained]
    return {
        "n": len(scores),
        "accuracy": _mean([float(s.correct) for s in scores]),
        "answer_accuracy": _mean([float(s.correct) for s in ans]),
        f"recall@{RECALL_K}": _mean([s.hit_at_k for s in ans]),
        "mrr": _mean([s.rr for s in ans]),
        "citation_support": _mean([None if s.support is None else float(s.support) for s in ans]),
        "citation_precision": _mean([s.precision for s in ans]),
        "abstention_recall": _mean([float(s.abstained) for s in una]),
        "abstention_precision": _mean([float(not s.answerable) for s in abst]),
        "false_abstentions": sum(1 for s in ans if s.abstained),
        "false_answers": sum(1 for s in una if not s.abstained),
        "language_match": _mean([float(s.lang_match) for s in scores]),
        "latency_p50_ms": _pct([s.latency_ms for s in scores], 0.5),
        "latency_p95_ms": _pct([s.latency_ms for s in scores], 0.95),
    }


# ---------------------------------------------------------------------- report
SLICE_ORDER = ["all", "fa", "en", "table", "text", "answerable", "unanswerable", "single-turn", "multi-turn",
               "dev", "test"]


def write_report(folder: Path, summary: dict, failures: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    metrics = ["accuracy", f"recall@{RECALL_K}", "mrr", "citation_support", "citation_precision",
               "abstention_recall", "abstention_precision", "language_match", "latency_p50_ms", "latency_p95_ms"]
    lines = ["# Evaluation report", "", f"Backend: `{summary['backend']}`; questions: {summary['slices']['all']['n']}"
             f" ({summary['unscored']} unscored).", "",
             "| slice | n | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 2) + "|"]
    for name in SLICE_ORDER:
        s = summary["slices"].get(name)
        if s:
            lines.append(f"| {name} | {s['n']} | " + " | ".join("–" if s.get(m) is None else str(s[m]) for m in metrics) + " |")
    lines += ["", f"## Failures ({len(failures)})", ""]
    for f in failures:
        lines += [f"### {f['id']}: {f['question']}", "",
                  f"- expected: {'abstain' if not f['answerable'] else f['facts']}",
                  f"- answer ({'abstained' if f['abstained'] else 'answered'}): {f['answer']}",
                  f"- citations: {', '.join(f['citations']) or '–'}; retrieved: {', '.join(f['retrieved'][:5])}",
                  f"- gold: {', '.join(f['gold']) or '–'}", ""]
    (folder / "report.md").write_text("\n".join(lines), encoding="utf-8")
    _chart(folder / "slices.png", summary)


def _chart(path: Path, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["accuracy", f"recall@{RECALL_K}", "citation_support", "abstention_recall", "language_match"]
    names = [n for n in SLICE_ORDER if n in summary["slices"]]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / len(metrics)
    for i, m in enumerate(metrics):
        vals = [summary["slices"][n].get(m) or 0 for n in names]
        ax.bar([x + i * width for x in range(len(names))], vals, width, label=m)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(names))], names, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Per-slice figures ({summary['backend']} backend)")
    ax.legend(fontsize=8, ncol=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------- command
def evaluate(assistant, items: list[dict], progress=None) -> tuple[list[dict], dict, list[dict]]:
    results, per_slice, failures = [], {}, []
    unscored = 0
    for i, item in enumerate(items):
        ans = assistant.ask(item["question"], history=item.get("history") or [], lang=item.get("lang_override"))
        res = {"id": item["id"], **ans.contract()}
        results.append(res)
        if progress:
            progress(i + 1, len(items))
        if not scored(item):
            unscored += 1
            continue
        s = score_item(item, res)
        for name in slices_of(item):
            per_slice.setdefault(name, []).append(s)
        if not s.correct or (s.support is False) or not s.lang_match:
            failures.append({"id": item["id"], "question": item["question"], "answerable": s.answerable,
                             "facts": item.get("facts"), "answer": res["answer"], "abstained": s.abstained,
                             "citations": [c["id"] for c in res["citations"]], "retrieved": res["retrieved"],
                             "gold": item.get("gold") or []})
    summary = {"backend": assistant.settings.backend, "unscored": unscored,
               "slices": {name: summarize(scores) for name, scores in per_slice.items()}}
    return results, summary, failures


def check_thresholds(summary: dict, thresholds: dict) -> list[str]:
    problems = []
    overall = summary["slices"].get("all", {})
    for metric, floor in thresholds.items():
        value = overall.get(metric)
        if value is None:
            continue
        if metric.startswith("latency"):
            if value > floor:
                problems.append(f"{metric} {value} > {floor}")
        elif value < floor:
            problems.append(f"{metric} {value} < {floor}")
    return problems


def run_eval(args, settings) -> int:
    from .answer import Assistant
    from .cli import UserError, _progress
    from .index import open_index

    try:
        items = read_questions(args.questions)
    except EvalInputError as exc:
        raise UserError(str(exc)) from None
    if args.lang:
        for it in items:
            it["lang_override"] = args.lang
    assistant = Assistant(settings, open_index(settings, progress=_progress("building index")))
    assistant.warm_up()
    results, summary, failures = evaluate(assistant, items, progress=_progress("answering"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    report = args.report or Path("evals/report")
    if summary["slices"]:
        write_report(report, summary, failures)
        overall = summary["slices"]["all"]
        print(json.dumps({k: overall[k] for k in overall}, ensure_ascii=False))
        for name in SLICE_ORDER[1:]:
            if name in summary["slices"]:
                s = summary["slices"][name]
                print(f"{name:13s} n={s['n']:3d} acc={s['accuracy']} recall@{RECALL_K}={s[f'recall@{RECALL_K}']} "
                      f"support={s['citation_support']} abst_recall={s['abstention_recall']} lang={s['language_match']}")
        print(f"report: {report}/report.md, {report}/slices.png, {report}/summary.json")
    if args.check and summary["slices"]:
        thresholds = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8")) if THRESHOLDS_FILE.exists() else {}
        problems = check_thresholds(summary, thresholds)
        if problems:
            print("below threshold: " + "; ".join(problems), file=sys.stderr)
            return 1
    return 0
