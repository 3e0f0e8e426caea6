"""The report of a comparison of two runs (`assistant eval --compare`): JSON, Markdown and one HTML file with
the figures side by side, the significance of the difference, and the items whose verdict changed.

Must not: compare anything itself (compare.py does), or write outside the folder it is given.
"""

from __future__ import annotations

import json
from pathlib import Path

from .compare import Comparison
from .report_html import bar_chart, bidi, esc, fmt, page_html


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
    lines += [f"| {k} | {fmt(v['a'])} | {fmt(v['b'])} |" for k, v in cmp.figures.items()]
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
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(_sig_line(cmp))}</p>",
        bar_chart([(k, [v["a"], v["b"]]) for k, v in cmp.figures.items()], [cmp.a_name, cmp.b_name]),
        f"<table><tr><th>figure</th><th>{esc(cmp.a_name)}</th><th>{esc(cmp.b_name)}</th></tr>"
        + "".join(
            f"<tr><td>{esc(k)}</td><td class=num>{fmt(v['a'])}</td><td class=num>{fmt(v['b'])}</td></tr>"
            for k, v in cmp.figures.items()
        )
        + "</table>",
    ]
    parts.append(
        f"<h2>Changed items · موارد تغییرکرده ({len(cmp.changed)})</h2>"
        f"<table id=changed><tr><th>id</th><th>change</th><th>question</th><th>reference</th>"
        f"<th>{esc(cmp.a_name)}</th><th>{esc(cmp.b_name)}</th></tr>"
    )
    for it in cmp.changed:
        parts.append(
            f'<tr data-id="{esc(it["id"])}"><td>{esc(it["id"])}</td><td class="{it["change"]}">{it["change"]}</td>'
            f"<td>{bidi(it['question'])}</td><td>{bidi(it['reference'])}</td>"
            f"<td>{bidi(it['a_answer'])}<small>{esc(it['a_reason'])}</small></td>"
            f"<td>{bidi(it['b_answer'])}<small>{esc(it['b_reason'])}</small></td></tr>"
        )
    parts.append("</table>")
    same = [it for it in cmp.items if it["change"] == "same"]
    parts.append(
        f"<h2>Unchanged verdicts · بدون تغییر ({len(same)})</h2><p>"
        + ", ".join(esc(it["id"]) + (" (answer changed)" if it["answer_changed"] else "") for it in same)
        + "</p>"
    )
    return page_html(title, "\n".join(parts))
