"""The part of a table row that answers: the cell asked for (with the row's name), the name alone in a
list, or the row without its "Table N, row M:" head.

For: quoting rows in fact and list answers; every span returned is an exact span of the row's text (verify.py
checks it). Not for: deciding which rows answer (lists.py)."""

from __future__ import annotations

from ..ingest import join_bullets
from ..profile import Profile
from ..text import ROW_HEAD
from ..types import Lang, Passage
from ..verify import ELLIPSIS


def row_span(profile: Profile, p: Passage, lang: Lang, question: str, brief: bool = False) -> str:
    """The part of a row that answers: the cell asked for (with the row's name), the name alone in a list
    of a table that has names, or the row without its "Table N, row M:" head in a list."""
    text = p.text_in(lang)
    role = profile.tables.get(p.table) if p.table is not None else None
    name = (p.cells.get(role.name_column) or {}).get(lang, "") if role and role.name_column else ""
    if role is not None and p.cells and p.table is not None:
        want = profile.attribute_named(p.table, question)
        if want:
            cell = join_bullets((p.cells.get(want) or {}).get(lang, ""), lang)
            if cell and cell in text:
                return f"{name}{ELLIPSIS}{cell}" if name and name in text and name != cell else cell
        if brief and name and name in text and role.attributes:
            return name
    if brief and p.kind == "table_row":
        return ROW_HEAD.sub("", text, count=1)
    return text
