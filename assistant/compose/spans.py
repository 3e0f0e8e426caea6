"""The part of a table row that answers: the cell asked for (with the row's name), the name alone in a
list, or the row without its "Table N, row M:" head.

For: quoting rows in fact and list answers; every span returned is an exact span of the row's text (verify.py
checks it). Not for: deciding which rows answer (lists.py)."""

from __future__ import annotations

from ..ingest import join_bullets
from ..profile import Profile, TableRole
from ..query import content_terms, stem
from ..text import ROW_HEAD, stems
from ..types import Lang, Passage
from ..verify import ELLIPSIS
from .weights import TermWeights


def row_span(profile: Profile, p: Passage, lang: Lang, question: str, weights: TermWeights, brief: bool = False) -> str:
    """The part of a row that answers: the cell asked for (with the row's name), the name alone in a list
    of a table that has names, or the row without its "Table N, row M:" head in a list. weights: the
    document's word frequencies, to tell a word specific to another cell of the row."""
    text = p.text_in(lang)
    role = profile.tables.get(p.table) if p.table is not None else None
    name = (p.cells.get(role.name_column) or {}).get(lang, "") if role and role.name_column else ""
    if role is not None and p.cells and p.table is not None:
        want = profile.attribute_named(p.table, question)
        if want and _said_elsewhere(profile, p, role, want, question, weights):
            want = None  # the question also asks what another cell says: the whole row answers
        if want:
            cell = join_bullets((p.cells.get(want) or {}).get(lang, ""), lang)
            if cell and cell in text:
                return f"{name}{ELLIPSIS}{cell}" if name and name in text and name != cell else cell
        if brief and name and name in text and role.attributes:
            return name
    if brief and p.kind == "table_row":
        return ROW_HEAD.sub("", text, count=1)
    return text


def _said_elsewhere(
    profile: Profile, p: Passage, role: TableRole, want: str, question: str, weights: TermWeights
) -> bool:
    """Does the question use a word of another attribute cell of this row, a word few passages use that is not
    the row's name, the cell asked for or a word that names a column? ("what weapons does it work to abolish,
    and how many member countries ...": "members" names the reach, "weapons" is said in the goals.)"""

    def cell(col: str | None) -> frozenset[str]:
        c = (p.cells.get(col) or {}) if col else {}
        return stems(c.get("fa", "")) | stems(c.get("en", ""))

    column_words = {stem(t) for words in role.attributes.values() for w in words for t in content_terms(w)}
    asked = {s for t in content_terms(question) if weights.rare(s := stem(t))}
    asked -= cell(role.name_column) | cell(want) | column_words
    return any(asked & cell(col) for col in role.attributes if col != want)
