"""Reports people can share: one self-contained HTML file (inline CSS, inline SVG chart, Persian right to
left), Markdown and JSON beside it, and the per-item results as CSV and XLSX. Also the report of a
comparison of two runs."""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from ..query import detect_language
from .compare import Comparison
from .pipeline import Run
from .scoring import RECALL_K

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
CSV_COLUMNS = [
    "id",
    "lang",
    "question",
    "history",
    "reference",
    "answerable",
    "answer",
    "correct",
    "reason",
    "fact_recall",
    "facts",
    "facts_found",
    "similarity",
    "semantic_verdict",
    "faithfulness",
    "context_recall",
    "abstained",
    "abstention_correct",
    "lang_match",
    "judge",
    "judge_reason",
    "sources",
    "retrieved",
    "latency_ms",
    "error",
]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Tahoma,"Vazirmatn","Noto Sans Arabic",sans-serif;margin:24px auto;
max-width:1100px;padding:0 16px;color:#1d2430;line-height:1.5}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}
.meta{color:#5a6475}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #d8dde6;border-radius:8px;padding:8px 14px;min-width:130px}
.card b{display:block;font-size:1.5em}.card span{color:#5a6475;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.92em}
th,td{border:1px solid #d8dde6;padding:4px 7px;vertical-align:top}th{background:#f2f4f8;text-align:start}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#11703a;font-weight:600}.bad{color:#b3261e;font-weight:600}
.fail{border:1px solid #e4c6c4;border-radius:8px;padding:10px 14px;margin:12px 0;background:#fffafa}
.fail h3{margin:.1em 0 .4em;font-size:1.05em}.label{color:#5a6475;font-size:.85em;margin-top:.4em}
.src{border-inline-start:3px solid #c9d3e3;padding-inline-start:8px;margin:4px 0}
[dir=rtl]{text-align:right}.defs dt{font-weight:600}.defs dd{margin:0 0 .5em 1em}
.better{color:#11703a}.worse{color:#b3261e}
"""


def _e(text) -> str:
    return html.escape("" if text is None else str(text))


def _lang_of(text: str) -> str:
    return detect_language(text) if text and text.strip() else "en"


def _bidi(text: str, tag: str = "div", cls: str = "") -> str:
    """Text in an element that carries its own language and direction (Persian right to left)."""
    lang = _lang_of(text)
    attrs = f' lang="{lang}" dir="{"rtl" if lang == "fa" else "ltr"}"' + (f' class="{cls}"' if cls else "")
    body = "<br>".join(_e(line) for line in (text or "").splitlines()) or "–"
    return f"<{tag}{attrs}>{body}</{tag}>"


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) or abs(v) < 10 else f"{v:.0f}"
    return str(v)


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def bar_chart(rows: list[tuple[str, list[float | None]]], series: list[str], width: int = 760) -> str:
    """A grouped horizontal bar chart (values 0..1) as inline SVG: one group per row, one bar per series."""
    colors = ["#3867d6", "#20bf6b", "#f7b731", "#8854d0"]
    bar_h, gap, label_w = 14, 10, 230
    group_h = bar_h * len(series) + gap
    height = group_h * len(rows) + 34
    scale = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
    ]
    for k, name in enumerate(series):
        parts.append(
            f'<rect x="{label_w + k * 110}" y="4" width="10" height="10" fill="{colors[k % 4]}"/>'
            f'<text x="{label_w + 14 + k * 110}" y="13">{_e(name)}</text>'
        )
    for r, (label, values) in enumerate(rows):
        y0 = 26 + r * group_h
        parts.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2}" text-anchor="end">{_e(label)}</text>')
        for k, v in enumerate(values):
            y = y0 + k * bar_h
            w = 0 if v is None else max(1, v * scale)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colors[k % 4]}">'
                f"<title>{_e(label)} · {_e(series[k])}: {_fmt(v)}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">{_fmt(v)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


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


def _rows(records: Iterable[dict]) -> Iterable[list]:
    for r in records:
        row = []
        for col in CSV_COLUMNS:
            v = r.get(col)
            if col == "sources":
                v = " ".join(f"[{s['n']}] {s['id']}" for s in r.get("sources") or [])
            elif isinstance(v, list):
                v = "; ".join(str(x) for x in v)
            row.append("" if v is None else v)
        yield row


def write_csv(path: Path, records: list[dict]) -> None:
    # UTF-8 with a byte-order mark: Excel then shows Persian as Persian.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        w.writerows(_rows(records))


def write_xlsx(path: Path, records: list[dict], summary: dict) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "items"
    ws.append(CSV_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    red, green = PatternFill("solid", fgColor="FDE2E1"), PatternFill("solid", fgColor="E3F4E8")
    for row in _rows(records):
        ws.append([v if isinstance(v, (int, float, bool)) or v == "" else str(v) for v in row])
        r = ws.max_row
        for c in ws[r]:
            if isinstance(c.value, str) and _lang_of(c.value) == "fa":
                c.alignment = Alignment(readingOrder=2, horizontal="right", wrap_text=True, vertical="top")
            else:
                c.alignment = Alignment(wrap_text=True, vertical="top")
        verdict = ws.cell(row=r, column=CSV_COLUMNS.index("correct") + 1)
        if verdict.value in (True, False):
            verdict.fill = green if verdict.value else red
    widths = {"question": 48, "reference": 40, "answer": 60, "reason": 34, "history": 30, "sources": 24}
    for i, col in enumerate(CSV_COLUMNS, 1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = widths.get(col, 12)
    ws.freeze_panes = "B2"
    s = wb.create_sheet("summary")
    s.append(["slice", "figure", "value"])
    for kind in ("reference", "slices"):
        for name, figs in (summary.get(kind) or {}).items():
            for fig, val in figs.items():
                s.append([name, fig, val])
    s.append(["all", "similarity_threshold", summary.get("similarity_threshold")])
    wb.save(path)


def _headline(summary: dict) -> dict:
    """The figures of the whole set: a team set's when there is one, else ours."""
    return (summary.get("reference") or {}).get("all") or (summary.get("slices") or {}).get("all") or {}


def run_html(run: Run, summary: dict, title: str) -> str:
    ref = summary.get("reference") or {}
    head = _headline(summary)
    n = head.get("n", 0)
    cal = summary.get("calibration") or {}
    unscored = f" ({summary['unscored']} not scored)" if summary.get("unscored") else ""
    source = f" · {_e(summary['source'])}" if summary.get("source") else ""
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Backend <b>{_e(run.backend)}</b> · {n} questions scored{unscored}'
        f" · {_e(summary.get('generated', ''))}{source}</p>",
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
        + "".join(f'<div class="card"><b>{_fmt(v)}</b><span>{_e(k)}</span></div>' for k, v in cards if v is not None)
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
            + "".join(f"<th>{_e(label)}</th>" for _, label in cols)
            + "<th>similarity (mean)</th><th>latency p50 ms</th></tr>"
        )
        for s in names:
            f = ref[s]
            parts.append(
                f"<tr><td>{_e(s)}</td><td class=num>{f['n']}</td>"
                + "".join(f"<td class=num>{_fmt(f.get(k))}</td>" for k, _ in cols)
                + f"<td class=num>{_fmt(f.get('similarity'))}</td><td class=num>{_fmt(f.get('latency_p50_ms'))}</td></tr>"
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
            + "".join(f"<th>{_e(m)}</th>" for m in LEGACY)
            + "</tr>"
        )
        for s in SLICE_ORDER:
            if s in sl:
                parts.append(
                    f"<tr><td>{_e(s)}</td><td class=num>{sl[s]['n']}</td>"
                    + "".join(f"<td class=num>{_fmt(sl[s].get(m))}</td>" for m in LEGACY)
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
            f"<tr><td>{_e(r['id'])}</td><td>{mark}</td><td>{_bidi(r['question'], 'div')}</td>"
            f"<td>{_e(r.get('reason', ''))}</td><td class=num>{_fmt(r.get('fact_recall'))}</td>"
            f"<td class=num>{_fmt(r.get('similarity'))}</td><td class=num>{_fmt(r.get('faithfulness'))}</td>"
            f"<td class=num>{_fmt(r.get('context_recall'))}</td></tr>"
        )
    parts.append("</table>")
    parts.append(f"<h2>Failures · خطاها ({len(run.failures)})</h2>")
    for f in run.failures:
        parts.append(_failure_html(f))
    parts.append(
        "<h2>How the scores are computed · روش امتیازدهی</h2><dl class=defs>"
        + "".join(f"<dt>{_e(label)}</dt><dd>{_e(how)}</dd>" for _, label, how in FIGURES)
        + "</dl>"
    )
    return _page(title, "\n".join(parts))


def _failure_html(f: dict) -> str:
    why = f.get("reason", "")
    out = [
        f'<div class="fail" id="fail-{_e(f["id"])}"><h3>{_e(f["id"])} — {_e(why)}</h3>',
        '<div class="label">Question · پرسش</div>',
        _bidi(f["question"]),
    ]
    if f.get("history"):
        out += ['<div class="label">Earlier question · پرسش پیشین</div>', _bidi(f["history"])]
    ref = f.get("reference") or (", ".join(f.get("facts") or []) if f.get("facts") else "")
    if ref:
        out += ['<div class="label">Reference · پاسخ مرجع</div>', _bidi(ref)]
    out += ['<div class="label">Answer · پاسخ</div>', _bidi(f.get("answer") or "(no answer)")]
    if f.get("error"):
        out.append(f"<div>not asked: {_e(f['error'])}</div>")
    if f.get("sources"):
        out.append('<div class="label">Sources · منابع</div>')
        for s in f["sources"]:
            out.append(
                f'<div class="src"><b>[{s["n"]}] {_e(s["id"])}</b>'
                f'<div lang="fa" dir="rtl">{_e(s.get("text", ""))}</div>'
                f'<div lang="en" dir="ltr">{_e(s.get("text_en", ""))}</div></div>'
            )
    elif f.get("retrieved"):
        out.append(f'<div class="label">Retrieved · بازیابی‌شده</div><div>{_e(", ".join(f["retrieved"]))}</div>')
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
                lines.append(f"| {s} | {ref[s]['n']} | " + " | ".join(_fmt(ref[s].get(k)) for k in keys) + " |")
        lines.append("")
    if summary.get("slices"):
        lines += ["| slice | n | " + " | ".join(LEGACY) + " |", "|---" * (len(LEGACY) + 2) + "|"]
        for s in SLICE_ORDER:
            sl = summary["slices"].get(s)
            if sl:
                lines.append(f"| {s} | {sl['n']} | " + " | ".join(_fmt(sl.get(m)) for m in LEGACY) + " |")
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


# ====================================================================== two runs
def write_compare_report(folder: Path, cmp: Comparison) -> dict[str, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "compare.json", "markdown": folder / "compare.md", "html": folder / "compare.html"}
    paths["json"].write_text(json.dumps(cmp.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    paths["markdown"].write_text(compare_markdown(cmp), encoding="utf-8")
    paths["html"].write_text(compare_html(cmp), encoding="utf-8")
    return paths


def _sig_line(cmp: Comparison) -> str:
    s = cmp.significance
    bs = s["bootstrap"]
    return (
        f"accuracy: {s['better']} better, {s['worse']} worse of {s['n']}; exact McNemar p = {s['mcnemar_exact_p']}; "
        f"paired bootstrap difference {bs['difference']:+.3f} (95% interval {bs['ci95'][0]:+.3f} to "
        f"{bs['ci95'][1]:+.3f})"
    )


def compare_markdown(cmp: Comparison) -> str:
    lines = [
        f"# Comparison: {cmp.a_name} → {cmp.b_name}",
        "",
        _sig_line(cmp),
        "",
        f"| figure | {cmp.a_name} | {cmp.b_name} |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v['a'])} | {_fmt(v['b'])} |" for k, v in cmp.figures.items()]
    for kind in ("worse", "better"):
        items = [it for it in cmp.items if it["change"] == kind]
        lines += ["", f"## {kind.capitalize()} ({len(items)})", ""]
        for it in items:
            lines += [
                f"### {it['id']}: {it['question']}",
                f"- reference: {it['reference']}",
                f"- {cmp.a_name}: {it['a_answer'].replace(chr(10), ' / ')} ({it['a_reason']})",
                f"- {cmp.b_name}: {it['b_answer'].replace(chr(10), ' / ')} ({it['b_reason']})",
                "",
            ]
    if cmp.only_in_a or cmp.only_in_b:
        lines += [
            "",
            f"Only in {cmp.a_name}: {', '.join(cmp.only_in_a) or '–'}; "
            f"only in {cmp.b_name}: {', '.join(cmp.only_in_b) or '–'}",
        ]
    return "\n".join(lines) + "\n"


def compare_html(cmp: Comparison) -> str:
    title = f"Comparison · مقایسه: {cmp.a_name} → {cmp.b_name}"
    parts = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(_sig_line(cmp))}</p>",
        bar_chart([(k, [v["a"], v["b"]]) for k, v in cmp.figures.items()], [cmp.a_name, cmp.b_name]),
        f"<table><tr><th>figure</th><th>{_e(cmp.a_name)}</th><th>{_e(cmp.b_name)}</th></tr>"
        + "".join(
            f"<tr><td>{_e(k)}</td><td class=num>{_fmt(v['a'])}</td><td class=num>{_fmt(v['b'])}</td></tr>"
            for k, v in cmp.figures.items()
        )
        + "</table>",
    ]
    parts.append(
        f"<h2>Changed items · موارد تغییرکرده ({len(cmp.changed)})</h2>"
        f"<table id=changed><tr><th>id</th><th>change</th><th>question</th><th>reference</th>"
        f"<th>{_e(cmp.a_name)}</th><th>{_e(cmp.b_name)}</th></tr>"
    )
    for it in cmp.changed:
        parts.append(
            f'<tr data-id="{_e(it["id"])}"><td>{_e(it["id"])}</td><td class="{it["change"]}">{it["change"]}</td>'
            f"<td>{_bidi(it['question'])}</td><td>{_bidi(it['reference'])}</td>"
            f"<td>{_bidi(it['a_answer'])}<small>{_e(it['a_reason'])}</small></td>"
            f"<td>{_bidi(it['b_answer'])}<small>{_e(it['b_reason'])}</small></td></tr>"
        )
    parts.append("</table>")
    same = [it for it in cmp.items if it["change"] == "same"]
    parts.append(
        f"<h2>Unchanged verdicts · بدون تغییر ({len(same)})</h2><p>"
        + ", ".join(_e(it["id"]) + (" (answer changed)" if it["answer_changed"] else "") for it in same)
        + "</p>"
    )
    return _page(title, "\n".join(parts))
