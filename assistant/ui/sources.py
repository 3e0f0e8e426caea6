"""The sources of an answer: where each cited passage is (in words, and the page of the printed paper),
the Persian original with the cited words highlighted, the English rendering marked as a translation,
and the span alignment between the two languages.

Cards are per message: their element ids carry the message id (`m4-s2` is source 2 of message m4), so an
earlier answer's sources stay reachable after a new question.
"""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path

from ..ingest import join_bullets
from ..normalize import normalize, persian_digits
from ..types import Answer, Citation
from .text import h

# ---------------------------------------------------------------------- citations
# Sentence ends, as the composer splits them ("1." in an enumeration is not an end).
_SENT_END = re.compile(r"(?<=[^0-9۰-۹][.!?؟])\s+(?=\S)")
_ROW_HEAD = re.compile(r"^[^:]{0,40}:\s*")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and len(text[merged[-1][0] : merged[-1][1]].split()) < 4:  # "Figure 1." is a label
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(s, e) for s, e in merged if text[s:e].strip()]


def _find(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` is in `text`: exactly, or else the sentence(s) that match it after normalization."""
    if not text or not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    nq = normalize(quote)
    if not nq:
        return None
    spans = _sentence_spans(text)
    for s, e in spans:
        if nq in normalize(text[s:e]):
            return s, e
    inside = [(s, e) for s, e in spans if normalize(text[s:e]) and normalize(text[s:e]) in nq]
    if inside:
        return inside[0][0], inside[-1][1]
    return None


def _counterpart(
    src: str, span: tuple[int, int], dst: str, c: Citation, src_lang: str, cells: dict
) -> tuple[tuple[int, int] | None, bool]:
    """The span of `dst` (the other language) that renders `src[span]`; and whether it is exact.

    A table cell maps to the same cell, a row's body (after "Table N, row M:") to the other body,
    and a sentence to the sentence with the same index (when both texts have as many sentences;
    otherwise to the one at the same relative position, flagged as approximate)."""
    dst_lang = "en" if src_lang == "fa" else "fa"
    quoted = src[span[0] : span[1]].strip()
    for cell in (cells or {}).values():
        sv, dv = (cell or {}).get(src_lang, ""), (cell or {}).get(dst_lang, "")
        if not sv or not dv:
            continue
        src_forms = {sv, join_bullets(sv, src_lang), sv.replace("\n", " ")}
        if quoted in src_forms:
            for form in (dv, join_bullets(dv, dst_lang), dv.replace("\n", " ")):
                j = dst.find(form)
                if j >= 0:
                    return (j, j + len(form)), True
    if c.kind == "table_row":
        ms, md = _ROW_HEAD.match(src), _ROW_HEAD.match(dst)
        if ms and md and quoted == src[ms.end() :].strip():
            return (md.end(), len(dst.rstrip())), True
    ss, ds = _sentence_spans(src), _sentence_spans(dst)
    if not ss or not ds:
        return None, False
    idx = [i for i, (s, e) in enumerate(ss) if s < span[1] and e > span[0]]
    if not idx:
        return None, False
    if len(ss) == len(ds):
        return (ds[idx[0]][0], ds[idx[-1]][1]), True
    lo = min(len(ds) - 1, idx[0] * len(ds) // len(ss))
    hi = min(len(ds) - 1, max(lo, (idx[-1] + 1) * len(ds) // len(ss) - 1))
    return (ds[lo][0], ds[hi][1]), False


def _marked(text: str, spans: list[tuple[int, int, bool]]) -> str:
    """Escaped text with the spans in <mark> (each piece escaped on its own, so no mark is broken).
    A span is (start, end, exact); an inexact one (aligned by position) is marked as approximate."""
    out, pos = [], 0
    for s, e, exact in sorted(spans):
        s = max(s, pos)
        if e <= s:
            continue
        tag = "<mark>" if exact else '<mark class="approx" title="aligned by sentence position (approximate)">'
        out += [html.escape(text[pos:s], quote=False), tag, html.escape(text[s:e], quote=False), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def highlight(c: Citation, cells: dict | None = None) -> tuple[str, str]:
    """(Persian html, English html) of a cited passage, the cited text in <mark> in both languages.

    The quote is in the answer's language; its rendering in the other language is found through
    the table cells, the row body or the sentence order. A quote of several spans joined by "…"
    (an organisation's name, then a cell) marks each span."""
    fa, en, q = c.text or "", c.text_en or "", (c.quote or "").strip()
    fa_spans: list[tuple[int, int, bool]] = []
    en_spans: list[tuple[int, int, bool]] = []
    for part in (x.strip() for x in q.split("…")):
        if not part:
            continue
        sp_fa, sp_en = _find(fa, part), _find(en, part)
        ex_fa = ex_en = True
        if sp_fa and not sp_en:
            sp_en, ex_en = _counterpart(fa, sp_fa, en, c, "fa", cells or {})
        elif sp_en and not sp_fa:
            sp_fa, ex_fa = _counterpart(en, sp_en, fa, c, "en", cells or {})
        if sp_fa:
            fa_spans.append((sp_fa[0], sp_fa[1], ex_fa))
        if sp_en:
            en_spans.append((sp_en[0], sp_en[1], ex_en))
    return _marked(fa, fa_spans), _marked(en, en_spans)


# ---------------------------------------------------------------------- pages of the printed paper
_SPACE = re.compile(r"\s+")
_ROW_PREFIX = re.compile(r"^[^:]{0,40}:\s*")


def _squash(text: str) -> str:
    return _SPACE.sub("", normalize(text or ""))


class PdfPages:
    """The page of corpus/paper.fa.pdf on which each passage is printed, found once with pypdf (the page
    texts are read on first use and kept; a passage is matched by a few windows of its letters, spaces
    removed, because the extraction breaks lines and spacing differently from the edition)."""

    def __init__(self, pdf: Path):
        self.pdf = pdf
        self._pages: list[str] | None = None
        self._found: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def _load(self) -> list[str]:
        with self._lock:
            if self._pages is None:
                try:
                    from pypdf import PdfReader

                    self._pages = [_squash(p.extract_text() or "") for p in PdfReader(str(self.pdf)).pages]
                except Exception:  # noqa: BLE001 - no PDF, no page links; the cards still show
                    self._pages = []
        return self._pages

    def page_of(self, pid: str, text: str, cells: dict | None = None) -> int | None:
        if pid in self._found:
            return self._found[pid]
        pages = self._load()
        page = None
        if cells:  # a table row: the page that has every one of its cells
            parts = [_squash((c or {}).get("fa", "").split("\n")[0])[:24] for c in cells.values()]
            parts = [x for x in parts if len(x) >= 3]
            common = [i + 1 for i, pg in enumerate(pages) if parts and all(x in pg for x in parts)]
            page = common[0] if common else None
        body = _squash(_ROW_PREFIX.sub("", text) if cells else text)
        keys = [body[start : start + 24] for start in (0, len(body) // 3, len(body) // 2, 2 * len(body) // 3)]
        for key in (k for k in keys if page is None and len(k) >= 8):
            hits = [i + 1 for i, pg in enumerate(pages) if key in pg]
            if len(hits) == 1 or (hits and not cells):
                page = hits[0]
        self._found[pid] = page
        return page


# ---------------------------------------------------------------------- words for a location
def where(c: Citation, table_titles: dict | None = None) -> tuple[str, str]:
    """(English, Persian) location of a citation in words: the section's heading, or the table (with its
    title, shortened) and row."""
    titles = (table_titles or {}).get(c.table or 0, {})
    t_en = _short(titles.get("en", ""))
    t_fa = _short(titles.get("fa", ""))
    if c.table:
        en = f"Table {c.table}" + (f" ({t_en})" if t_en else "")
        fa = f"جدول {persian_digits(str(c.table))}" + (f" ({t_fa})" if t_fa else "")
        if c.row:
            en += f", row {c.row}"
            fa += f"، ردیف {persian_digits(str(c.row))}"
        return en, fa
    return (c.heading_en or c.section), (c.heading or c.section)


def short_where(c: Citation) -> tuple[str, str]:
    """The chip label: 'Table N, row M' / 'جدول N، ردیف M', or the section's heading, shortened."""
    if c.table:
        en, fa = f"Table {c.table}", f"جدول {persian_digits(str(c.table))}"
        if c.row:
            en, fa = f"{en}, row {c.row}", f"{fa}، ردیف {persian_digits(str(c.row))}"
        return en, fa
    return _short(c.heading_en or c.section, 34), _short(c.heading or c.section, 34)


def _short(text: str, limit: int = 48) -> str:
    text = re.sub(r"^(Table|جدول)\s*[\d۰-۹]+\s*[.\-–]\s*", "", text or "").rstrip(".")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------- rendering
def card_html(
    c: Citation,
    msg_id: str,
    cells: dict | None,
    page: int | None,
    pdf_url: str | None,
    table_titles: dict | None = None,
    links: bool = True,
) -> str:
    """One source card. `links`: with the page link (off for the plain rendering used in exports/tests)."""
    where_en, where_fa = where(c, table_titles)
    fa_html, en_html = highlight(c, cells)
    page_link = ""
    if page and pdf_url and links:
        page_link = (
            f' · <a class="page-link" href="{h(pdf_url)}#page={page}" target="_blank" rel="noopener"'
            f' aria-label="Page {page} of the paper (PDF) · صفحه {persian_digits(str(page))} مقاله">'
            f'page {page} · <bdi lang="fa">صفحه {persian_digits(str(page))}</bdi></a>'
        )
    elif page:
        page_link = f' · page {page} · <bdi lang="fa">صفحه {persian_digits(str(page))}</bdi>'
    return (
        f'<div class="cite-card" role="group" id="{msg_id}-s{c.n}" data-n="{c.n}" tabindex="-1" '
        f'aria-label="Source {c.n} · منبع {persian_digits(str(c.n))}">'
        f'<div class="cite-head"><span class="cite-n">[{c.n}]</span> <span lang="en">{h(where_en)}</span> · '
        f'<bdi class="fa-inline" dir="rtl" lang="fa">{h(where_fa)}</bdi>{page_link}'
        f' <span class="cite-id" title="passage id">id: <code>{h(c.id)}</code></span></div>'
        f'<div class="fa" dir="rtl" lang="fa">{fa_html}</div>'
        f'<div class="en" dir="ltr" lang="en"><span class="tr">English translation of the Persian original:</span> '
        f"{en_html}</div></div>"
    )


def chips_html(ans: Answer, msg_id: str) -> str:
    """The row of citation chips under an answer ("[1] Table N, row M"), in the answer's language (the other
    language in the tooltip and the accessible name); each opens its card in this message's sources."""
    if not ans.citations:
        return ""
    chips = []
    for c in ans.citations:
        en, fa = short_where(c)
        shown, other = (fa, en) if ans.language == "fa" else (en, fa)
        n = persian_digits(str(c.n)) if ans.language == "fa" else str(c.n)
        chips.append(
            f'<a class="chip" href="#{msg_id}-s{c.n}" data-msg="{msg_id}" data-n="{c.n}" title="{h(other)}" '
            f'aria-label="Source {c.n}: {h(en)} · منبع {persian_digits(str(c.n))}: {h(fa)}">'
            f"<bdi>[{n}] {h(shown)}</bdi></a>"
        )
    return '<nav class="chips" aria-label="Sources of this answer · منابع این پاسخ">' + "".join(chips) + "</nav>"


_CITE_MARK = re.compile(r"\[(\d+)\]")


def linked_markers(escaped: str, msg_id: str, known: set[int]) -> str:
    """`[n]` in escaped answer text -> a link to source n of this message (unknown numbers stay text)."""

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        return (
            f'<a class="cite" href="#{msg_id}-s{n}" data-msg="{msg_id}" data-n="{n}" '
            f'aria-label="Source {n} · منبع {persian_digits(str(n))}">[{n}]</a>'
        )

    return _CITE_MARK.sub(link, escaped)
