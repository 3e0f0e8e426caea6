"""List answers: which table a question asks to list, the rows of it that the question's words keep (a group,
a status, a place or region, a name, a number bound, all read from the document's profile), and the list.

For: "which cities in a region ...", "the challenges listed in Table N", "the ones with more than M members".
Not for: the answer/abstain decision (decision.py) or the answer language (twins.py)."""

from __future__ import annotations

import re

from ..normalize import NUMBER_WORDS, normalize, tokens
from ..profile import Entity, Group, Profile, TableRole, find_phrase
from ..query import content_terms, stem
from ..text import numbers_in, prefix_in, stems
from ..types import Analysis, Composition, Evidence, Hit, Passage, Statement
from .decision import counts_in
from .spans import row_span
from .weights import TermWeights

# A table's passage counts as retrieval agreeing that the question is about the table only when the reranker
# gives it at least this share of the best hit's probability of being evidence (all 1.0 without a reranker).
# 0.3 chosen on dev, test and the dev rewordings (0.5 and 0.7: dev -1; none: rewordings -1).
AGREEMENT = 0.3


# A number, in digits or words, and the word after it (the question writes a figure: "104 members", «۱۶۶ کشور»,
# "fifty cities"). Not the number words that are mostly something else: the article or pronoun "one" / «یک»
# ("one of them", «یک سازمان») and «نه», which is also "no".
_AMBIGUOUS_NUMBERS = {"one", "یک", "نه"}
_NUMBER = "(?:[0-9][0-9,]*|" + "|".join(w for w in NUMBER_WORDS if w not in _AMBIGUOUS_NUMBERS) + ")"
_COUNT = re.compile(
    rf"(?<![\w.])({_NUMBER}(?:\s+(?:(?:and|و)\s+)?{_NUMBER})*)\s+([^\s0-9؟?.,،]+(?: [^\s0-9؟?.,،]+)?)", re.I
)

# A negated verb: "not", "n't", "never", "without"; Persian verbs take the prefix «ن» («ندارد», «نداره», «نکرده»,
# «نشده», «نیست», «نمی‌کند»). "Which cities have no sister-city agreement yet?" asks the rows of every other status.
_NEGATED = re.compile(
    r"\b(?:not|no|never|without)\b|n't\b|(?<!\S)ن(?:می\s?)?(?:دار|کرد|کن|شد|شو|بست|یست|بود|رسید|پیوست)\S*"
)


class ListAnswers:
    def __init__(
        self,
        passages: list[Passage],
        profile: Profile,
        weights: TermWeights,
        key_words: dict[str, frozenset[str]] | None = None,
    ):
        self.profile = profile
        # Stems of each passage's question keys: a table's own keys are how people ask for its whole list.
        self.key_words = key_words or {}
        self.weights = weights
        self.by_table: dict[int, list[Passage]] = {}
        self.heads: dict[int, Passage] = {}  # each table's own passage (its title)
        for p in passages:
            if p.kind == "table_row" and p.table is not None:
                self.by_table.setdefault(p.table, []).append(p)
            elif p.table is not None:
                self.heads[p.table] = p
        self._cells_seen: dict[tuple[str, str], set[str]] = {}
        self._rows_named: dict[str, set[str]] = {}

    def table_for(self, a: Analysis, question: str, query: str, hits: list[Hit]) -> int | None:
        """The table the question asks to list, if any."""
        if a.table in self.by_table and (a.wants_list or not a.mentions):
            return a.table
        if (a.p("year", "number") >= 0.3 and not a.comparator) or a.counted or (a.section and not a.table):
            return None  # "in which year ...", "how many ..." ask for one fact, not the table
        named = self.profile.tables_named(question) or self.profile.tables_named(query)
        # "Which cities ..." is a list or an entity question by its form alone: a list when the question also
        # names what a table lists (its kind of row, a group, a status) or a place its rows are filtered by.
        places = [m for m in a.mentions if m.entity.type in ("region", "country")]
        # A bound on a number ("more than 150 countries") asks for the rows of a named table that has such numbers.
        bounded = bool(a.comparator) and any(
            (role := self.profile.tables.get(t)) is not None and role.measure_column for t in named
        )
        listish = (
            a.wants_list
            or bool(places)
            or bounded
            or (bool(named) and a.p("list", "recommendation", "entity", "other") >= 0.6)
            # A status of a table's rows named ("which cities is it still negotiating with?"): those rows, unless
            # the question asks why, who, when, where or a name (of those rows' status: a fact, not the list), or
            # names one thing a row is about ("does it have a sister-city agreement with <city>?": that row).
            or (
                not a.interrogatives & {"reason", "person", "year", "place", "title", "name"}
                and not any(m.entity.type not in ("region", "country") for m in a.mentions)
                and any(self.profile.statuses_named(t, question) for t in named)
            )
        )
        if not listish:
            return None
        best = max((h.confidence for h in hits[:8]), default=0.0)
        hit_tables = [
            h.passage.table for h in hits[:8] if h.passage.table in self.by_table and h.confidence >= AGREEMENT * best
        ]
        for t in hit_tables:  # the best-ranked table that the question's words also point at
            if t in named:
                return t
        # Beyond this point the table is chosen by the question's words alone; retrieval must agree that the
        # table is about it (one of its passages among the hits), or a common word that also names a table
        # ("organisations", "position") turns a question about a paragraph into that table's list.
        if places:
            with_places = [t for t, r in self.profile.tables.items() if r.place_column and t in self.by_table]
            if len(with_places) == 1 and with_places[0] in hit_tables:
                return with_places[0]
        if len(named) == 1 and named[0] in self.by_table and named[0] in hit_tables:
            return named[0]
        top = hits[0].passage if hits else None
        if a.wants_list and top is not None and top.kind == "heading" and top.table in self.by_table:
            return top.table  # a table's own passage first: its keys are the list questions it answers
        rows = [h.passage.table for h in hits[:6] if h.passage.kind == "table_row"]
        if a.wants_list and rows and rows.count(rows[0]) >= 3:
            return rows[0]
        return None

    def answer(
        self, table: int, a: Analysis, question: str, query: str, hits: list[Hit] | None = None
    ) -> Composition | None:
        """The rows of the table that the question keeps, as a list (one row: a fact); None when none is kept.
        hits: the retrieved passages; a narrowing by words must agree with them."""
        rows, strong = self._rows_filtered(table, a, question, query)
        role = self.profile.tables.get(table)
        # Words beyond the table's own vocabulary narrow the list ("recommendations on education").
        head = self.heads.get(table)
        framing: set[str] = set()
        for p in self.by_table[table]:
            framing |= stems(_group_cell(p, role, "en")) | stems(_group_cell(p, role, "fa"))
        if head is not None:
            framing |= stems(head.text) | stems(head.text_en) | self.key_words.get(head.id, frozenset())
        if role is not None:
            for w in list(role.names) + [x for g in role.groups + role.statuses for x in g.aliases]:
                framing |= stems(w)
        # Names the question uses (the document's subject included: every row of a table about it names it).
        entity_words = {
            stem(t)
            for m in self.profile.mentions(question)
            for t in content_terms(" ".join((m.entity.fa, m.entity.en, *m.entity.aliases)))
        }
        specific = {
            stem(t)
            for t in a.terms
            if self.weights.rare(stem(t))
            and not prefix_in(stem(t), framing)
            and stem(t) not in entity_words
            and t not in a.unknown
        }
        if specific and not (role and role.place_column and strong):
            # A row the question names by name stays: the words narrow the others ("what X does about disputes,
            # and what Y does about money" keeps both X's and Y's rows).
            by_name = self._named_rows(rows, a, role)
            narrowed = [
                p
                for p in rows
                if p.id in by_name or self.weights.coverage(specific, stems(p.text) | stems(p.text_en)) > 0
            ]
            if narrowed and len(narrowed) < len(rows) and _retrieval_agrees(narrowed, head, hits):
                rows, strong = narrowed, strong or len(narrowed) <= 3
        if not rows:
            return None
        return self.compose_rows(table, rows, a, question, framing, strong)

    def compose_rows(
        self,
        table: int,
        rows: list[Passage],
        a: Analysis,
        question: str,
        framing: set[str] | None = None,
        strong: bool = False,
        ranked: bool = False,
    ) -> Composition:
        """These rows of the table as the answer: one row a fact, several a list under the table's title.
        ranked: the rows a count ranks first ("the most members"): under the title even when one, each with what
        it says of the count, and read whole (the title and the rows are what the question is checked against)."""
        role = self.profile.tables.get(table)
        head = self.heads.get(table)
        read = set(framing or ())
        for p in rows:
            read |= stems(p.text) | stems(p.text_en) if ranked else self._cell_stems(p, role)
        if ranked and head is not None:
            read |= stems(head.text) | stems(head.text_en)
        evidence = Evidence(
            cover=round(self.weights.coverage({stem(t) for t in a.terms}, read), 3),
            table=table,
            rows=len(rows),
            strong=strong,
        )
        if len(rows) == 1 and not ranked:  # one matching row is a fact, not a list
            return Composition(
                [Statement(row_span(self.profile, rows[0], a.lang, question, self.weights), rows[0])],
                False,
                kind="fact",
                tables={table},
                evidence=evidence,
            )
        # Names alone, unless the question names every row itself: then what the rows say of them.
        brief = not ranked and not {p.id for p in rows} <= self._named_rows(rows, a, role)
        statements = [
            Statement(row_span(self.profile, p, a.lang, question, self.weights, brief=brief), p) for p in rows
        ]
        if head is not None:
            statements.insert(0, Statement(head.heading_en if a.lang == "en" else head.heading, head))
        return Composition(statements, False, kind="list", tables={table}, evidence=evidence)

    def _rows_filtered(self, table: int, a: Analysis, question: str, query: str) -> tuple[list[Passage], bool]:
        """The table's rows that the question's filters keep, and whether a filter chose them (strong)."""
        role = self.profile.tables.get(table)
        rows = sorted(self.by_table[table], key=lambda p: p.row or 0)
        strong = False
        if role is None:
            return rows, strong
        # The current question's words win over the earlier turn's ("and the challenges?").
        groups = self.profile.groups_named(table, question) or (
            self.profile.groups_named(table, query) if query != question else []
        )
        if groups and len(groups) < len(role.groups):
            rows = [p for p in rows if any(g.match_en.lower() in _group_cell(p, role).lower() for g in groups)]
            strong = True
        if role.place_column:
            places = [m.entity for m in a.mentions if m.entity.type in ("region", "country")]
            if places:
                kept = [p for p in rows if self._place_matches(p, role.place_column, places)]
                if kept:
                    rows, strong = kept, True
        if role.status_column:
            kept = _status_rows(rows, role.status_column, role, question)
            if kept and len(kept) < len(rows):
                rows, strong = kept, True
        if role.name_column:
            names = [m.entity for m in a.mentions if m.entity.type not in ("region", "country")]
            kept = [p for p in rows if self.cell_entities(p, role.name_column) & {e.id for e in names}]
            if kept:
                rows, strong = kept, True
        # A thing the question names, said anywhere in a row ("the challenge about <country>"); a region only
        # where no place column filters by it.
        ids = {m.entity.id for m in a.mentions if m.entity.type != "region" or not role.place_column}
        kept = [p for p in rows if ids & self.row_entities(p)] if ids else []
        if kept and len(kept) < len(rows):
            rows, strong = kept, True
        if role.measure_column and a.comparator:
            rows, strong = _within_bound(rows, role.measure_column, a.comparator), True
        # A count the question states locates the rows that give it, as a name does ("which body has 104
        # members?": the row that counts 104 members); "which ten institutions" counts the answer, no row says so.
        counts = self.stated_counts(a)
        kept = [p for p in rows if self.counts_given(p, a, counts)] if counts else []
        if kept and len(kept) < len(rows):
            rows, strong = kept, True
        return rows, strong

    @staticmethod
    def stated_counts(a: Analysis) -> list[tuple[float, str]]:
        """The counts the question states, its comparison's bound aside ("more than 100 members" is no count)."""
        return [(n, noun) for n, noun in _stated_counts(a) if not (a.comparator and n == a.comparator[1])]

    def counts_given(
        self, p: Passage, a: Analysis, counts: list[tuple[float, str]] | None = None
    ) -> set[tuple[float, str]]:
        """The counts the question states (counts: read once by the caller) that this passage gives: "104 members"
        in a row that counts 104 members."""
        counts = self.stated_counts(a) if counts is None else counts
        return {(n, noun) for n, noun in counts if n in counts_in(p.text_in(a.lang), noun)}

    def _named_rows(self, rows: list[Passage], a: Analysis, role: TableRole | None) -> set[str]:
        """The rows whose name cell names something the question names."""
        if role is None or not role.name_column:
            return set()
        ids = {m.entity.id for m in a.mentions if m.entity.type not in ("region", "country")}
        return {p.id for p in rows if ids & self.cell_entities(p, role.name_column)} if ids else set()

    def cell_entities(self, p: Passage, column: str) -> set[str]:
        """Entities a cell names (either language); the same cells for every question: memoized."""
        key = (p.id, column)
        if key not in self._cells_seen:
            cell = p.cells.get(column) or {}
            self._cells_seen[key] = {
                m.entity.id for lang in ("en", "fa") for m in self.profile.mentions(cell.get(lang, ""))
            }
        return self._cells_seen[key]

    def row_entities(self, p: Passage) -> set[str]:
        """Entities a row's text names (either language); memoized like the cells'."""
        if p.id not in self._rows_named:
            self._rows_named[p.id] = {m.entity.id for t in (p.text, p.text_en) for m in self.profile.mentions(t)}
        return self._rows_named[p.id]

    def _place_matches(self, p: Passage, place_column: str, places: list[Entity]) -> bool:
        ids = self.cell_entities(p, place_column)
        for e_id in ids:
            e = self.profile.by_id[e_id]
            regions = self.profile.regions_of(e)
            if any(pl.id == e.id or pl.id in regions for pl in places):
                return True
        return False

    def _cell_stems(self, p: Passage, role: TableRole | None) -> set[str]:
        """What a row says about itself as a member of its list: its name, place and status cells."""
        out: set[str] = set()
        if role is None:
            return out
        for col in (role.name_column, role.place_column, role.status_column, role.group_column):
            if col:
                cell = p.cells.get(col) or {}
                out |= stems(cell.get("fa", "")) | stems(cell.get("en", ""))
        for e_id in self.cell_entities(p, role.place_column) if role.place_column else set():
            e = self.profile.by_id[e_id]
            for r in self.profile.regions_of(e):
                reg = self.profile.by_id.get(r)
                if reg:
                    for n in (reg.fa, reg.en, *reg.aliases):
                        out |= stems(n)
        return out


def _retrieval_agrees(narrowed: list[Passage], head: Passage | None, hits: list[Hit] | None) -> bool:
    """A row kept by a shared word alone is the one asked about only if retrieval ranks it above the table's
    own passage: a word the whole-list question happens to share with a row ("influencing") does not narrow."""
    if hits is None:
        return True
    ranked = [h.passage.id for h in hits[:8]]
    head_rank = ranked.index(head.id) if head is not None and head.id in ranked else len(ranked)
    kept = {p.id for p in narrowed}
    return any(pid in kept for pid in ranked[:head_rank])


def _group_cell(p: Passage, role: TableRole | None, lang: str = "en") -> str:
    col = role.group_column if role else None
    return ((p.cells.get(col) or {}).get(lang, "")) if col else ""


def _status_rows(rows: list[Passage], column: str, role: TableRole, question: str) -> list[Passage]:
    """The rows whose status is one the question names. A row has one status: the one its cell opens with ("In
    consultation towards a sister-city agreement" is in consultation, not a sister-city agreement); an alias names
    a status however the cell words it ("MoU", «تفاهم‌نامه» for "Memorandum of understanding", «یادداشت تفاهم»).
    Two statuses named ("still in consultation towards a sister-city agreement") are the rows whose cell says both;
    a status negated ("which have no sister-city agreement yet?"), the rows of every other status."""
    qtoks = tokens(question)
    named = [g for g in role.statuses if any(find_phrase(qtoks, tuple(tokens(a_))) >= 0 for a_ in g.aliases)]
    if not named:
        return []

    def cell(p: Passage) -> dict:
        return p.cells.get(column) or {}

    def opens_with(p: Passage) -> Group | None:
        en = cell(p).get("en", "").lower()
        found = [(en.find(g.match_en.lower()), k) for k, g in enumerate(role.statuses) if g.match_en.lower() in en]
        return role.statuses[min(found)[1]] if found else None

    def says(p: Passage, g: Group) -> bool:
        toks = tokens(cell(p).get("fa", "") + " " + cell(p).get("en", ""))
        return g.match_en.lower() in cell(p).get("en", "").lower() or any(
            find_phrase(toks, tuple(tokens(a_))) >= 0 for a_ in g.aliases
        )

    if len(named) > 1:
        both = [p for p in rows if all(says(p, g) for g in named)]
        if both:  # "not yet signed, still under negotiation": the rows in consultation towards an agreement
            return both
    if _NEGATED.search(normalize(question)):  # "... have no sister-city agreement": the other statuses' rows
        return [p for p in rows if opens_with(p) not in named]
    return [p for p in rows if opens_with(p) in named]


def _stated_counts(a: Analysis) -> list[tuple[float, str]]:
    """The counts a question states, as (number, the words after it): "104 members" -> (104, "members"); none
    when it asks for a row ("row 5") or names a table by number."""
    if a.asks_row:
        return []
    found = ((numbers_in(m.group(1).replace(",", "")), m.group(2)) for m in _COUNT.finditer(normalize(a.raw)))
    return [(n[0], noun) for n, noun in found if n and n[0] not in a.tables]


def _within_bound(rows: list[Passage], column: str, comparator: tuple[str, float]) -> list[Passage]:
    """The rows whose largest number in the measure cell passes the bound ("more than 100 members")."""
    op, bound = comparator
    kept = []
    for p in rows:
        values = numbers_in((p.cells.get(column) or {}).get("en", ""))
        top = max(values, default=None)
        if top is not None and ((op == "gt" and top > bound) or (op == "lt" and top < bound)):
            kept.append(p)
    return kept
