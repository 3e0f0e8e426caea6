"""Fact and explanation answers: the evidence sized to the answer type — the one sentence or row that carries
a fact (year, number, person, entity, yes/no); the two or three sentences, in order, that carry a definition,
reason or conclusion; the best evidence for each side of an "X or Y" comparison.

For: every question that is not answered with a table's rows (lists.py). Not for: the answer/abstain
decision (decision.py)."""

from __future__ import annotations

from typing import Any

from ..query import content_terms, is_comparison, stem
from ..text import CONSEQUENCE, CONTINUES, halves, has_number
from ..types import Analysis, Candidate, Composition, Evidence, Hit, Statement
from .collect import Collector
from .decision import states_count
from .lists import ListAnswers
from .twins import twin_text

FACT_TYPES = ("year", "number", "person", "entity")
# A list that no table gives (lists.py found none) is said in prose, over a sentence or three: answered the same way.
# So are a yes/no question and a comparison not split into two sides: the sentence that says it ("is not X but Y")
# with the ones around it, in order (one sentence alone was often the wrong one of a paragraph that answers).
EXPLAIN_TYPES = ("definition", "reason", "other", "recommendation", "list", "comparison", "yesno")
# A thing the question names that the chosen evidence does not speak of is answered by its own best evidence
# when that scores at least this share of the best candidate's score.
SIDE_SHARE = 0.5
# A sentence of the best evidence's own passage that adds what the question asks and nothing chosen says joins
# at this share of the best score (other passages: 0.7). 0.3-0.4 alike on the dev sets; 0.55-0.6 lose a dev2 item.
SAME_SHARE = 0.4


class FactAnswers:
    def __init__(self, collector: Collector, max_sentences: int, rows: ListAnswers):
        self.collector = collector
        self.coverage = collector.weights.coverage
        self.max_sentences = max_sentences  # settings.max_sentences: the longest answer of other types
        self.rows = rows  # the entities a row or a cell names (memoized there)
        self._named: dict[str, set[str]] = {}  # sentence -> the entities it names (the passages' texts: memoized)

    def answer(
        self, terms: set[str], own: set[str], a: Analysis, hits: list[Hit], question: str, query_vec: Any = None
    ) -> Composition:
        candidates = self.collector.candidates(terms, own, a, hits, question, query_vec)
        if not candidates:
            return Composition([], True, kind="abstain", evidence=Evidence(cover=0.0))
        if a.counted and a.wants_number:  # "how many X": sentences that count X answer first
            counting = [
                c
                for c in candidates
                if states_count(c.text, a.counted) or states_count(twin_text(c.passage, c.text, a.lang), a.counted)
            ]
            # Among those that speak of what the question names, when any does: a count of members in another
            # organisation's row is no answer to "how many members does <this one> have?" (its row may count
            # them as cities: a count by another word, not a count of another thing).
            ids = {m.entity.id for m in a.mentions if m.entity.type != "region"}
            if ids and any(self._names(c) & ids for c in candidates):
                counting = [c for c in counting if self._names(c) & ids]
            # Those that count the whole of what is asked, when any does: "17 sister cities" before "20 major
            # cities" for "how many sister cities?".
            whole = [
                c
                for c in counting
                if states_count(c.text, a.counted, every=True)
                or states_count(twin_text(c.passage, c.text, a.lang), a.counted, every=True)
            ]
            candidates = whole or counting or candidates
        candidates.sort(key=lambda c: -c.score)
        best = candidates[0]
        evidence = Evidence(cover=round(best.cover, 3), own_cover=round(self.coverage(own, best.matched), 3))
        if len(a.tables) >= 2:  # "how is X described in Table N and in Table M?": the best of each, in order
            per_table = [
                max((c for c in candidates if c.passage.table == t), key=lambda c: c.score, default=None)
                for t in a.tables
            ]
            chosen = [c for c in per_table if c is not None]
            if chosen:
                return Composition(
                    [Statement(c.text, c.passage) for c in chosen], False, kind="fact", evidence=evidence
                )
        if is_comparison(question) and a.qtype in ("comparison", "yesno", "entity", "other", "list"):
            sides = halves(question)
            if len(sides) == 2:  # "X or Y?": the best evidence for each side
                chosen = self._sides(sides, own, candidates)
                if len(chosen) == 1 and chosen[0].passage.kind == "paragraph":
                    # One sentence is the best for both sides: the difference is in what surrounds it (the
                    # paragraph's strong neighbours say the other side), not in that sentence alone.
                    chosen = explanation(chosen[0], candidates)
                chosen = self._each_named(chosen, candidates, a)
                return Composition(
                    [Statement(c.text, c.passage) for c in chosen], False, kind="fact", evidence=evidence
                )
        if a.qtype in EXPLAIN_TYPES and best.passage.kind != "table_row":
            chosen = explanation(best, candidates, "reason" in a.interrogatives or a.qtype == "reason")
            # A question of two parts ("what do they call it and what network do they form?"): the passage's
            # sentences that carry the part not yet answered join, up to three, in the paper's order.
            same = [c for c in candidates if c.passage.id == best.passage.id and c.score >= SAME_SHARE * best.score]
            chosen = sorted(self._cover(chosen, same, own, 3), key=lambda c: c.position)
        else:
            chosen = self._facts(best, candidates, a, own)
        chosen = self._each_named(chosen, candidates, a)
        return Composition([Statement(c.text, c.passage) for c in chosen], False, kind="fact", evidence=evidence)

    def _each_named(self, chosen: list[Candidate], candidates: list[Candidate], a: Analysis) -> list[Candidate]:
        """A question that names two or more things (two organisations, two cities: "how do X and Y differ in
        reach?") is answered about each, whatever its wording: for each named thing the chosen evidence does
        not speak of, its own best candidate joins (at SIDE_SHARE of the best score or more; a row of a table with
        the column asked for, then a row of the first evidence's table, before any other: the same attribute of
        the other thing)."""
        named: list[str] = []
        for m in a.mentions:
            if m.entity.type != "region" and m.entity.id not in named:
                named.append(m.entity.id)
        if len(named) < 2 or not chosen:
            return chosen
        floor = SIDE_SHARE * max(c.score for c in chosen)
        out = list(chosen)
        # Tables with a column the question asks for ("the reach of X and Y"), among the candidates' rows.
        profile = self.collector.profile
        tables = {c.passage.table for c in candidates if c.passage.kind == "table_row" and c.passage.table is not None}
        asking = {t for t in tables if profile.attribute_named(t, a.raw)}

        def asked_in(c: Candidate) -> bool:
            return c.passage.kind == "table_row" and c.passage.table in asking

        # Those tables, when the chosen evidence already quotes them: a thing is spoken of there, like for like,
        # when that table has a row for it.
        asked = {c.passage.table for c in out if asked_in(c)}
        for e in named:
            said = {x.text for x in out}
            own = [c for c in candidates if c.score >= floor and c.text not in said and e in self._names(c)]
            covered = [c for c in out if e in self._names(c)]
            if covered:
                if not asked or any(c.passage.table in asked for c in covered):
                    continue
                own = [c for c in own if c.passage.table in asked]
            if not own:
                continue
            # Like for like: a row of a table with the column asked for, then of the first evidence's table.
            pick = max(own, key=lambda c: (asked_in(c), _alike(c, chosen[0]), c.score))
            # It takes the place of another table's row about the same thing (that row is not what was asked).
            replaced = next((i for i, c in enumerate(out) if c in covered and c.passage.kind == "table_row"), None)
            if replaced is None:
                out.append(pick)
            else:
                out[replaced] = pick
        return out

    def _names(self, c: Candidate) -> set[str]:
        """The entities a candidate speaks of: a row of a table with a name column, the one its name cell
        names (its goals cell's "metropolises" is not the organisation of that name); any other row, what it
        names anywhere (either language); a sentence, what it names."""
        p = c.passage
        if p.kind == "table_row":
            role = self.collector.profile.tables.get(p.table) if p.table is not None else None
            if role is not None and role.name_column and p.cells.get(role.name_column):
                return self.rows.cell_entities(p, role.name_column)
            return self.rows.row_entities(p)
        if c.text not in self._named:
            self._named[c.text] = {m.entity.id for m in self.collector.profile.mentions(c.text)}
        return self._named[c.text]

    def _sides(self, sides: list[str], own: set[str], candidates: list[Candidate]) -> list[Candidate]:
        """The best candidate for each side of "X or Y" (one, when both sides pick the same sentence)."""
        chosen: list[Candidate] = []
        side_terms = [{stem(t) for t in content_terms(h)} for h in sides]
        for i, _half in enumerate(sides):
            # What distinguishes this side from the other (one organisation's name vs the other's).
            half_terms = (side_terms[i] - side_terms[1 - i]) or side_terms[i] or own
            other_terms = side_terms[1 - i] - side_terms[i]
            # The side's own words, then the whole question's (the compared attribute: "members"); evidence
            # that names the other side as well tells nothing of the difference (a sentence listing both).
            pick = max(
                candidates,
                key=lambda c: (
                    self.coverage(half_terms, c.matched)
                    - 0.5 * self.coverage(other_terms, c.matched)
                    + 0.5 * self.coverage(own, c.matched)
                    + 0.3 * c.score
                ),
            )
            if pick.text not in {c.text for c in chosen}:
                chosen.append(pick)
        return chosen

    def _facts(self, best: Candidate, candidates: list[Candidate], a: Analysis, own: set[str]) -> list[Candidate]:
        """The best candidate, and the next ones that add something the question asks (a fact: two at most)."""
        limit = 2 if a.qtype in FACT_TYPES else self.max_sentences
        pool = [
            c
            for c in candidates[1:]
            if c.text != best.text
            and c.score >= (SAME_SHARE if c.passage.id == best.passage.id else 0.7) * best.score
            and not (a.wants_number and not has_number(c.text, a.asks_row))
        ]
        return self._cover([best], pool, own, limit)

    def _cover(self, chosen: list[Candidate], pool: list[Candidate], own: set[str], limit: int) -> list[Candidate]:
        """Add from the pool, while under the limit, the candidate that adds the most of what the question asks
        and is not yet said (greedy cover; ties: the higher score): "who ... and what ..." is two facts, not the
        best one said twice."""
        chosen, pool = list(chosen), list(pool)
        covered = set().union(*(c.matched for c in chosen))
        while len(chosen) < limit:
            said = {x.text for x in chosen}
            gains = [
                (self.coverage(own, covered | c.matched) - self.coverage(own, covered), c.score, i)
                for i, c in enumerate(pool)
                if c.text not in said and (c.matched - covered) & own
            ]
            gains = [g for g in gains if g[0] > 0]
            if not gains:
                break
            c = pool.pop(max(gains)[2])
            chosen.append(c)
            covered |= c.matched
        return chosen


def explanation(best: Candidate, candidates: list[Candidate], why: bool = False) -> list[Candidate]:
    """A definition, reason or conclusion: the best passage's two or three strongest sentences, in the
    order the paper gives them (the best one and its neighbours when they carry the question too). why: a reason
    is asked, and a sentence drawn as a consequence ("Consequently, ...") is said with the one it is drawn from."""
    same = [c for c in candidates if c.passage.id == best.passage.id]
    keep = [c for c in same if c is best or (c.score >= 0.6 * best.score and abs(c.position - best.position) <= 2)]
    keep = sorted(keep, key=lambda c: -c.score)[:3]
    if len(keep) == 1:  # a one-sentence reason often needs the sentence that follows it
        nxt = [c for c in same if c.position == best.position + 1 and c.score >= 0.35 * best.score]
        keep += nxt[:1]
    # The sentences that go on from the last one kept, while each points back at the one before (four in all).
    by_position = {c.position: c for c in same}
    last = max(c.position for c in keep)
    follows: list[Candidate] = []
    while len(keep) + len(follows) < 4 and (after := by_position.get(last + 1)) and CONTINUES.match(after.text):
        follows.append(after)
        last += 1
    first = min(keep, key=lambda c: c.position)
    if why and CONSEQUENCE.match(first.text) and (before := by_position.get(first.position - 1)) is not None:
        follows.append(before)
    return sorted(keep + [c for c in follows if c not in keep], key=lambda c: c.position)


def _alike(c: Candidate, first: Candidate) -> bool:
    """Is the candidate a row of the table the first evidence is a row of (the same attribute, for another)?"""
    return (
        c.passage.kind == "table_row" and first.passage.kind == "table_row" and c.passage.table == first.passage.table
    )
