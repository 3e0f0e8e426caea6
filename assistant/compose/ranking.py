"""Superlatives over a table: "the most X" / «بیشترین X» is answered by the rows that give the largest count of X;
any other superlative ("the newest", «جدیدترین») answered from a table that ranks nothing is an order the paper
does not give, and the reason to abstain.

For: the composer's check once it has chosen a fact or a list (__init__.py). Not for: comparisons of named things
(facts.py) or a bound on a number ("more than 100 members", lists.py)."""

from __future__ import annotations

import re

from ..normalize import normalize
from ..profile import Profile
from ..query import superlative
from ..types import Analysis, Composition, Superlative
from .decision import counts_in
from .lists import ListAnswers


def ranked(
    a: Analysis, chosen: Composition, question: str, lists: ListAnswers, profile: Profile
) -> tuple[Composition, str | None]:
    """The answer to a question with a superlative, and the reason to abstain if the paper gives no such order
    (None otherwise). chosen stands when its evidence uses the superlative itself ("the most important
    organisations" is the paper's own ranking)."""
    sup = a.superlative
    assert sup is not None, "called for a superlative"
    said = evidence_text(chosen, lists)
    if says(sup, said):
        return chosen, None
    # "The most X": the rows of the table in question that give the largest count of X, ties together. Only
    # the most: a row's count of X is the largest it gives, so the fewest would need each row's whole count (a row
    # that gives only a part of its X, "14 honorary members", would look smallest).
    tables = [st.passage.table for st in chosen.statements if st.passage.table is not None]
    for t in dict.fromkeys(tables + profile.tables_named(question)):
        if not sup.counted or t not in lists.by_table:
            continue
        counts = {p.id: counts_in(p.text_in(a.lang), sup.counted) for p in lists.by_table[t]}
        values = {pid: max(v) for pid, v in counts.items() if v}
        if len(values) >= 2:
            best = max(values.values())
            rows = [p for p in lists.by_table[t] if values.get(p.id) == best]
            return lists.compose_rows(t, rows, a, question, strong=True, ranked=True), None
    # Evidence that ranks in words of its own answers a reworded superlative ("the most influential", «اصلی‌ترین»
    # of "the most important organisations"), and evidence that says which are what the superlative grades answers
    # it as far as the paper goes ("where is it most active?": the rows that say it is active); evidence from a
    # table (its list, its title or a row) that does neither does not.
    grade = graded(sup)
    if grade and re.search(r"(?<!\w)" + re.escape(grade), said):
        return chosen, None
    if superlative(said) is None and any(st.passage.table is not None for st in chosen.statements):
        return chosen, f"it asks for the {asked(sup)}; the paper does not rank these so"
    return chosen, None


def asked(sup: Superlative) -> str:
    """The superlative as the question puts it: "newest", "most" with the word after it ("most active")."""
    return f"{sup.word} {sup.counted.split()[0]}" if sup.counted else sup.word


def graded(sup: Superlative) -> str | None:
    """What the superlative grades: "active" of "most active", "new" of "newest", «فعال» of «فعال ترین» (None when
    under three letters: "the best" grades nothing one can look for)."""
    word = sup.counted.split()[0] if sup.counted else sup.word
    for ending in (" ترین", "ترین", "est"):
        if not sup.counted and word.endswith(ending):
            word = word[: -len(ending)]
            break
    return word if len(word) >= 3 else None


def says(sup: Superlative, text: str) -> bool:
    """Does the (normalized) text use the superlative itself? The word whole ("newest", «جدید ترین»); "most" with
    the start of the word after it ("most important")."""
    pattern = re.escape(sup.word) + (r"\S*\s" + re.escape(sup.counted[:5]) if sup.counted else r"(?!\w)")
    return re.search(r"(?<!\w)" + pattern, text) is not None


def evidence_text(chosen: Composition, lists: ListAnswers) -> str:
    """The evidence's passages, and the title of a table it lists, in both languages (normalized)."""
    passages = {st.passage.id: st.passage for st in chosen.statements}
    for t in chosen.tables:
        head = lists.heads.get(t)
        if head is not None:
            passages[head.id] = head
    return " ".join(normalize(p.text + " " + p.text_en) for p in passages.values())
