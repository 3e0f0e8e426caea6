"""Reports people can share: one self-contained HTML file (inline CSS, inline SVG chart, Persian right to
left), Markdown and JSON beside it, and the per-item results as CSV and XLSX (report_tables.py). The report
of a comparison of two runs is in report_compare.py.

Must not: score (the run comes scored from pipeline.py), or write outside the folder it is given."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .pipeline import Run
from .report_compare import compare_html, compare_markdown, write_compare_report
from .report_html import CSS, bar_chart, bidi, esc, fmt, page_html
from .report_tables import CSV_COLUMNS, write_csv, write_xlsx
from .scoring import RECALL_K

# The shared HTML, the tables and the comparison's report are in report_html.py, report_tables.py and
# report_compare.py; these names are still imported from here.
__all__ = [
    "CSS",
    "CSV_COLUMNS",
    "FIGURES",
    "LEGACY",
    "SLICE_ORDER",
    "bar_chart",
    "compare_html",
    "compare_markdown",
    "run_html",
    "run_markdown",
    "write_compare_report",
    "write_csv",
    "write_run_report",
    "write_xlsx",
]

SLICE_ORDER = [
    "all",
    "fa",
    "en",
    "table",
    "text",
    "answerable",
    "unanswerable",
    "single-turn",
    "multi-turn",
    "dev",
    "test",
]
# The team figures, their names in both languages, and what each measures (shown in the report).
FIGURES = [
    (
        "accuracy",
        "Accuracy · درستی",
        "share of items whose verdict is correct (answerable: the answer has "
        "the reference's key facts, or means the same; unanswerable: it abstained)",
    ),
    (
        "fact_recall",
        "Key facts · واقعیت‌های کلیدی",
        "share of the reference's key facts (numbers, years, names; distinctive words) found in the answer",
    ),
    (
        "semantic_pass",
        "Similar meaning · هم‌معنایی",
        "share of answers whose embedding similarity to the reference reaches the calibrated cut-off",
    ),
    ("faithfulness", "Faithfulness · وفاداری به منبع", "share of answer sentences found in a passage they cite"),
    (
        "context_recall",
        "Context recall · پوشش بافت",
        "share of the reference's key facts present in the passages retrieved or cited",
    ),
    (
        "abstention_correct",
        "Abstention · خودداری درست",
        "share of items where the assistant abstained exactly when the reference says the paper has no answer",
    ),
    ("language_match", "Language · زبان پاسخ", "share of answers in the question's language"),
    ("judge_accuracy", "Judge · داور", "share judged correct by the chat model (--judge), when used"),
]
LEGACY = [
    "accuracy",
    f"recall@{RECALL_K}",
    "mrr",
    "citation_support",
    "citation_precision",
    "abstention_recall",
    "abstention_precision",
    "language_match",
    "latency_p50_ms",
    "latency_p95_ms",
]


# ====================================================================== one run
def write_run_report(
    folder: Path, run: Run, title: str = "Evaluation report · گزارش ارزیابی", source: str = ""
) -> dict[str, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = {**run.summary, "generated": stamp, "source": source}
    paths = {
        "summary": folder / "summary.json",
        "markdown": folder / "report.md",
        "html": folder / "report.html",
        "jsonl": folder / "items.jsonl",
        "csv": folder / "items.csv",
        "xlsx": folder / "items.xlsx",
    }
    paths["summary"].write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    with paths["jsonl"].open("w", encoding="utf-8") as fh:
        for rec in run.records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    write_csv(paths["csv"], run.records)
    write_xlsx(paths["xlsx"], run.records, summary)
    paths["markdown"].write_text(run_markdown(run, summary), encoding="utf-8")
    paths["html"].write_text(run_html(run, summary, title), encoding="utf-8")
    if run.summary["slices"]:
        paths["chart"] = folder / "slices.png"
        _legacy_chart(paths["chart"], run.summary)
    return paths


def _headline(summary: dict) -> dict:
    """The figures of the whole set: a team set's when there is one, else ours."""
    return (summary.get("reference") or {}).get("all") or (summary.get("slices") or {}).get("all") or {}


def run_html(run: Run, summary: dict, title: str) -> str:
    ref = summary.get("reference") or {}
    head = _headline(summary)
    n = head.get("n", 0)
    cal = summary.get("calibration") or {}
    unscored = f" ({summary['unscored']} not scored)" if summary.get("unscored") else ""
    source = f" · {esc(summary['source'])}" if summary.get("source") else ""
    parts = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">Backend <b>{esc(run.backend)}</b> · {n} questions scored{unscored}'
        f" · {esc(summary.get('generated', ''))}{source}</p>",
    ]
    cards = [
        ("Accuracy · درستی", head.get("accuracy")),
        ("Answered right · پاسخ درست", head.get("answer_accuracy")),
        ("Abstention · خودداری", head.get("abstention_correct", head.get("abstention_recall"))),
        ("Faithfulness · وفاداری", head.get("faithfulness", head.get("citation_support"))),
        ("Context recall · پوشش بافت", head.get("context_recall", head.get(f"recall@{RECALL_K}"))),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{fmt(v)}</b><span>{esc(k)}</span></div>' for k, v in cards if v is not None)
        + "</div>"
    )
    if ref:
        names = [s for s in SLICE_ORDER if s in ref]
        shown = [s for s in ("all", "fa", "en") if s in ref]
        parts.append("<h2>Figures · ارقام</h2>")
        parts.append(
            bar_chart(
                [
                    (label.split(" · ")[0], [ref[s].get(key) for s in shown])
                    for key, label, _ in FIGURES
                    if any(ref[s].get(key) is not None for s in shown)
                ],
                shown,
            )
        )
        cols = [(k, label) for k, label, _ in FIGURES if any(ref[s].get(k) is not None for s in names)]
        parts.append(
            "<table><tr><th>slice</th><th>n</th>"
            + "".join(f"<th>{esc(label)}</th>" for _, label in cols)
            + "<th>similarity (mean)</th><th>latency p50 ms</th></tr>"
        )
        for s in names:
            f = ref[s]
            parts.append(
                f"<tr><td>{esc(s)}</td><td class=num>{f['n']}</td>"
                + "".join(f"<td class=num>{fmt(f.get(k))}</td>" for k, _ in cols)
                + f"<td class=num>{fmt(f.get('similarity'))}</td><td class=num>{fmt(f.get('latency_p50_ms'))}</td></tr>"
            )
        parts.append("</table>")
        parts.append(
            f'<p class="meta">Similarity cut-off {run.threshold:.4f}'
            + (
                f" — calibrated on our labelled set ({cal.get('n')} pairs): agreement with the fact-based "
                f"verdict {cal.get('agreement')} (held-out split {cal.get('agreement_test')})"
                if cal
                else " (not calibrated: evals/similarity_calibration.json is missing)"
            )
            + "</p>"
        )
    if summary.get("slices"):
        sl = summary["slices"]
        parts.append(
            "<h2>Our labelled set: figures by slice</h2><table><tr><th>slice</th><th>n</th>"
            + "".join(f"<th>{esc(m)}</th>" for m in LEGACY)
            + "</tr>"
        )
        for s in SLICE_ORDER:
            if s in sl:
                parts.append(
                    f"<tr><td>{esc(s)}</td><td class=num>{sl[s]['n']}</td>"
                    + "".join(f"<td class=num>{fmt(sl[s].get(m))}</td>" for m in LEGACY)
                    + "</tr>"
                )
        parts.append("</table>")
    parts.append(
        "<h2>Every item · همه پرسش‌ها</h2><table><tr><th>id</th><th>verdict</th><th>question</th>"
        "<th>why</th><th>key facts</th><th>similarity</th><th>faithful</th><th>context</th></tr>"
    )
    for r in run.records:
        v = r.get("correct")
        mark = '<span class="ok">✓ correct</span>' if v else ('<span class="bad">✗ wrong</span>' if v is False else "–")
        parts.append(
            f"<tr><td>{esc(r['id'])}</td><td>{mark}</td><td>{bidi(r['question'], 'div')}</td>"
            f"<td>{esc(r.get('reason', ''))}</td><td class=num>{fmt(r.get('fact_recall'))}</td>"
            f"<td class=num>{fmt(r.get('similarity'))}</td><td class=num>{fmt(r.get('faithfulness'))}</td>"
            f"<td class=num>{fmt(r.get('context_recall'))}</td></tr>"
        )
    parts.append("</table>")
    parts.append(f"<h2>Failures · خطاها ({len(run.failures)})</h2>")
    for f in run.failures:
        parts.append(_failure_html(f))
    parts.append(
        "<h2>How the scores are computed · روش امتیازدهی</h2><dl class=defs>"
        + "".join(f"<dt>{esc(label)}</dt><dd>{esc(how)}</dd>" for _, label, how in FIGURES)
        + "</dl>"
    )
    return page_html(title, "\n".join(parts))


def _failure_html(f: dict) -> str:
    why = f.get("reason", "")
    out = [
        f'<div class="fail" id="fail-{esc(f["id"])}"><h3>{esc(f["id"])} — {esc(why)}</h3>',
        '<div class="label">Question · پرسش</div>',
        bidi(f["question"]),
    ]
    if f.get("history"):
        out += ['<div class="label">Earlier question · پرسش پیشین</div>', bidi(f["history"])]
    ref = f.get("reference") or (", ".join(f.get("facts") or []) if f.get("facts") else "")
    if ref:
        out += ['<div class="label">Reference · پاسخ مرجع</div>', bidi(ref)]
    out += ['<div class="label">Answer · پاسخ</div>', bidi(f.get("answer") or "(no answer)")]
    if f.get("error"):
        out.append(f"<div>not asked: {esc(f['error'])}</div>")
    if f.get("sources"):
        out.append('<div class="label">Sources · منابع</div>')
        for s in f["sources"]:
            out.append(
                f'<div class="src"><b>[{s["n"]}] {esc(s["id"])}</b>'
                f'<div lang="fa" dir="rtl">{esc(s.get("text", ""))}</div>'
                f'<div lang="en" dir="ltr">{esc(s.get("text_en", ""))}</div></div>'
            )
    elif f.get("retrieved"):
        out.append(f'<div class="label">Retrieved · بازیابی‌شده</div><div>{esc(", ".join(f["retrieved"]))}</div>')
    out.append("</div>")
    return "".join(out)


def run_markdown(run: Run, summary: dict) -> str:
    head = _headline(summary)
    lines = [
        "# Evaluation report",
        "",
        f"Backend: `{run.backend}`; questions: {head.get('n', 0)}"
        f" ({summary.get('unscored', 0)} unscored). Similarity cut-off: {run.threshold:.4f}.",
        "",
    ]
    ref = summary.get("reference") or {}
    if ref:
        keys = [k for k, _, _ in FIGURES] + ["similarity"]
        lines += ["| slice | n | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
        for s in SLICE_ORDER:
            if s in ref:
                lines.append(f"| {s} | {ref[s]['n']} | " + " | ".join(fmt(ref[s].get(k)) for k in keys) + " |")
        lines.append("")
    if summary.get("slices"):
        lines += ["| slice | n | " + " | ".join(LEGACY) + " |", "|---" * (len(LEGACY) + 2) + "|"]
        for s in SLICE_ORDER:
            sl = summary["slices"].get(s)
            if sl:
                lines.append(f"| {s} | {sl['n']} | " + " | ".join(fmt(sl.get(m)) for m in LEGACY) + " |")
        lines.append("")
    lines += [f"## Failures ({len(run.failures)})", ""]
    for f in run.failures:
        lines += [f"### {f['id']}: {f['question']}", "", f"- why: {f.get('reason', '')}"]
        if f.get("reference"):
            lines.append(f"- reference: {f['reference']}")
        elif f.get("facts"):
            lines.append(f"- expected: {f['facts']}")
        lines += [
            f"- answer: {(f.get('answer') or '').replace(chr(10), ' / ')}",
            f"- citations: {', '.join(s['id'] for s in f.get('sources') or []) or '–'}; "
            f"retrieved: {', '.join(f.get('retrieved') or [])}",
            "",
        ]
    return "\n".join(lines)


def _legacy_chart(path: Path, summary: dict) -> None:
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
