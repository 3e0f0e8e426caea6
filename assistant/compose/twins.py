"""Bilingual twins: a sentence or a row's cell in the other rendering of the same passage, and a whole
composition re-rendered in the answer language.

For: answering in the language asked for while every decision is made in the question's language. Not for:
choosing what to say (the composition is fixed before it is rendered here)."""

from __future__ import annotations

from ..ingest import join_bullets
from ..text import ROW_HEAD, sentences
from ..types import Composition, Lang, Passage, Statement
from ..verify import ELLIPSIS


def twin(st: Statement) -> str:
    """The other rendering of a statement's passage (the Persian text when the statement quotes the English)."""
    return (
        st.passage.text
        if st.passage.text_in("en") == st.passage.text_en and st.text in st.passage.text_en
        else st.passage.text_en
    )


def twin_text(p: Passage, sentence: str, src: Lang, dst: Lang | None = None) -> str:
    """The sentence of the other rendering at the same position (the whole passage when they do not align)."""
    dst = dst or ("en" if src == "fa" else "fa")
    if src == dst:
        return sentence
    a, b = sentences(p.text_in(src)), sentences(p.text_in(dst))
    if sentence in a and len(a) == len(b):
        return b[a.index(sentence)]
    return p.text_in(dst)


def cell_twin(p: Passage, part: str, src: Lang, dst: Lang) -> str | None:
    """The other rendering of a row's cell that `part` quotes (None when it quotes no single cell)."""
    for cell in p.cells.values():
        if not isinstance(cell, dict):
            continue
        for form in (cell.get(src, ""), join_bullets(cell.get(src, ""), src)):
            if form and form == part:
                return join_bullets(cell.get(dst, ""), dst)
    return None


def in_language(comp: Composition, qlang: Lang, lang: Lang) -> Composition:
    """The same statements in the answer language: rows by their other rendering, sentences by position."""
    if lang == qlang:
        return comp
    out = []
    for st in comp.statements:
        p = st.passage
        if p.kind == "heading" and p.table is not None:
            out.append(Statement(p.heading_en if lang == "en" else p.heading, p))
        elif p.kind == "table_row":
            text = st.text
            if text == p.text_in(qlang):
                out.append(Statement(p.text_in(lang), p))
                continue
            parts = []
            for part in text.split(ELLIPSIS):
                parts.append(cell_twin(p, part, qlang, lang) or ROW_HEAD.sub("", p.text_in(lang), count=1))
            out.append(Statement(ELLIPSIS.join(dict.fromkeys(parts)), p))
        else:
            out.append(Statement(twin_text(p, st.text, qlang, lang), p))
    return Composition(out, comp.abstained, comp.kind, comp.tables, comp.evidence, comp.read, comp.note)
