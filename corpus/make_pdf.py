"""Render the Persian edition (text and tables) to a real PDF: an RTL HTML page printed by headless Chromium.

usage: python corpus/make_pdf.py [--out corpus/paper.fa.pdf]
Needs Debian's `chromium` and a Persian font (fonts-noto-core: Noto Naskh Arabic; fonts-farsiweb: Nazli).
The PDF is the realistic fixture of the pypdf ingestion path; it is committed, so tests do not need Chromium.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CSS = """
@page { size: A4; margin: 22mm 18mm; }
body { font-family: 'Noto Naskh Arabic', 'Nazli', serif; font-size: 12.5pt; line-height: 1.75; direction: rtl; }
h1 { font-size: 19pt; text-align: center; margin: 0 0 10mm; }
h2 { font-size: 14pt; margin: 8mm 0 2mm; }
p { text-align: justify; margin: 0 0 3mm; }
figure { border: 1px solid #888; padding: 4mm; margin: 4mm 0; }
table { border-collapse: collapse; width: 100%; margin: 4mm 0; font-size: 10.5pt; page-break-inside: auto; }
th, td { border: 1px solid #555; padding: 1.5mm 2mm; vertical-align: top; }
th { background: #eee; }
caption { font-weight: bold; margin-bottom: 2mm; }
.source { font-size: 9.5pt; color: #333; margin-bottom: 6mm; }
span.latin { direction: ltr; unicode-bidi: isolate; }
"""


def build_html(corpus: Path) -> str:
    fa = json.loads((corpus / "edition.fa.json").read_text(encoding="utf-8"))
    tables = json.loads((corpus / "tables.json").read_text(encoding="utf-8"))["tables"]
    esc = html.escape
    out = [
        f"<!doctype html><html lang='fa' dir='rtl'><head><meta charset='utf-8'><title>{esc(fa['title'])}</title>"
        f"<style>{CSS}</style></head><body>"
    ]
    # Tables follow the section that first mentions them, as in the paper.
    after_section = {"s4": [1], "s6.2": [2, 3], "s6.3": [4], "conclusion": [5, 6]}
    by_num = {t["number"]: t for t in tables}
    blocks = fa["blocks"]
    for i, b in enumerate(blocks):
        if b["kind"] == "heading":
            tag = "h1" if b["section"] == "title" else "h2"
            out.append(f"<{tag}>{esc(b['text'])}</{tag}>")
        elif b["kind"] == "figure":
            out.append(f"<figure><figcaption>{esc(b['text'])}</figcaption><p>{esc(b.get('note', ''))}</p></figure>")
        else:
            out.append(f"<p>{esc(b['text'])}</p>")
        last_of_section = i + 1 == len(blocks) or blocks[i + 1]["section"] != b["section"]
        if last_of_section:
            for n in after_section.get(b["section"], []):
                out.append(table_html(by_num[n]))
    out.append("</body></html>")
    return "\n".join(out)


def table_html(t: dict) -> str:
    esc = html.escape
    cols = t["columns"]
    rows = ["<tr>" + "".join(f"<th>{esc(c['fa'])}</th>" for c in cols) + "</tr>"]
    for r in t["rows"]:
        cells = []
        for c in cols:
            text = (r["cells"].get(c["key"]) or {}).get("fa", "")
            cells.append("<td>" + "<br>".join(esc(x) for x in text.split("\n")) + "</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    source = f"<div class='source'>{esc(t['source_fa'])}</div>" if t.get("source_fa") else ""
    return f"<table><caption>{esc(t['title_fa'])}</caption>{''.join(rows)}</table>{source}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=HERE / "paper.fa.pdf")
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        raise SystemExit("make_pdf: chromium not found (apt-get install chromium fonts-noto-core)")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "paper.html"
        page.write_text(build_html(HERE), encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-pdf-header-footer",
                f"--user-data-dir={tmp}/profile",
                f"--print-to-pdf={args.out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
