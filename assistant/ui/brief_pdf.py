"""The policy brief as a PDF: its Markdown rendered as a printable page (Persian right to left) and printed
by headless Chromium in a private temporary folder.

Must not: keep files (the folder is removed at once), or reach the network (Chromium runs with background
networking, sync and component updates off, on a local file).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .text import FA_FONTS

# ---------------------------------------------------------------------- PDF through headless Chromium
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def brief_html(markdown_text: str) -> str:
    """The brief's Markdown as a printable HTML page: Persian lines right to left in Noto Naskh Arabic."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).render(markdown_text)
    # each block takes the direction of its text (dir=auto), so Persian lines read right to left
    body = re.sub(r"<(p|li|h1|h2|h3|h4)>", r'<\1 dir="auto">', body)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Policy brief</title><style>'
        f'@page {{ size: A4; margin: 18mm; }} body {{ font-family: "Noto Sans", "DejaVu Sans", sans-serif; '
        f'font-size: 11pt; line-height: 1.55; color: #111; }} [dir="rtl"], :lang(fa) {{ font-family: "Noto Naskh Arabic", '
        f"{FA_FONTS}; }} h1 {{ font-size: 17pt; margin: 0 0 4pt; }} h2 {{ font-size: 13pt; border-top: 1px solid #999; "
        f"padding-top: 6pt; }} h3 {{ font-size: 11.5pt; }} code {{ font-size: 9pt; }}</style></head>"
        f"<body>{body}</body></html>"
    )


def markdown_to_pdf(markdown_text: str, timeout: float = 60.0) -> bytes:
    """PDF bytes of the brief, printed by headless Chromium in a private folder that is removed at once."""
    exe = next((c for c in CHROMIUM if Path(c).exists()), None) or shutil.which("chromium")
    if not exe:
        raise RuntimeError("no chromium to print the PDF")
    work = Path(tempfile.mkdtemp(prefix="brief-"))
    try:
        page = work / "brief.html"
        out = work / "brief.pdf"
        page.write_text(brief_html(markdown_text), encoding="utf-8")
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-sync",
                "--disable-component-update",
                f"--user-data-dir={work / 'profile'}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return out.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
