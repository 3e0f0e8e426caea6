"""The HTML the evaluation reports share: one stylesheet, escaping, text in its own direction (Persian right
to left), number formatting, the page around a body, and a bar chart as inline SVG.

Must not: read runs or comparisons (report.py and report_compare.py do), or load a script or a file from
elsewhere (a report is one self-contained file).
"""

from __future__ import annotations

import html

from ..query import detect_language

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


def esc(text) -> str:
    return html.escape("" if text is None else str(text))


def text_lang(text: str) -> str:
    return detect_language(text) if text and text.strip() else "en"


def bidi(text: str, tag: str = "div", cls: str = "") -> str:
    """Text in an element that carries its own language and direction (Persian right to left)."""
    lang = text_lang(text)
    attrs = f' lang="{lang}" dir="{"rtl" if lang == "fa" else "ltr"}"' + (f' class="{cls}"' if cls else "")
    body = "<br>".join(esc(line) for line in (text or "").splitlines()) or "–"
    return f"<{tag}{attrs}>{body}</{tag}>"


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) or abs(v) < 10 else f"{v:.0f}"
    return str(v)


def page_html(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
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
            f'<text x="{label_w + 14 + k * 110}" y="13">{esc(name)}</text>'
        )
    for r, (label, values) in enumerate(rows):
        y0 = 26 + r * group_h
        parts.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2}" text-anchor="end">{esc(label)}</text>')
        for k, v in enumerate(values):
            y = y0 + k * bar_h
            w = 0 if v is None else max(1, v * scale)
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colors[k % 4]}">'
                f"<title>{esc(label)} · {esc(series[k])}: {fmt(v)}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}">{fmt(v)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
