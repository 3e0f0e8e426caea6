"""The per-item results of a run as a table: CSV (UTF-8 with a byte-order mark, for Excel) and XLSX (Persian
cells right to left, verdicts coloured, a summary sheet).

Must not: compute a figure (the records and the summary come scored from pipeline.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from .report_html import text_lang

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
            if isinstance(c.value, str) and text_lang(c.value) == "fa":
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
