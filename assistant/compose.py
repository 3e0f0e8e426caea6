"""The offline extractive composer: picks the sentences and table rows that answer, and cites each.

Given the question's analysis (query.py) and the retrieved hits, it
- answers list questions from every row of the table the question is about, filtered by what the question
  names (a group, a status, a place or region, a number bound), all read from the document's profile;
- answers other questions with the evidence sized to the answer type: the one sentence or row that carries
  a fact (year, number, person, entity, yes/no); the two or three sentences, in order, that carry a
  definition, reason or conclusion; both sides of a comparison;
- decides whether the paper answers at all with one calibrated score (calibration.py).
Decisions are made in the question's language; the answer language only chooses which rendering is quoted.
Every statement is an exact span of its passage, with a [n] marker (verify.py checks it before display).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .calibration import Calibration
from .ingest import join_bullets
from .normalize import normalize, tokens
from .profile import Profile, TableRole, find_phrase
from .query import Analysis, content_terms, is_comparison, stem
from .retrieve import Hit
from .text import DEFINES, ROW_HEAD, halves, has_number, has_year, numbers_in, prefix_in, sentences, stems
from .types import Passage
from .verify import ELLIPSIS, Composition, Statement, generated_check, render, verify  # noqa: F401 (re-exported)

FACT_TYPES = ("year", "number", "person", "entity", "yesno")
EXPLAIN_TYPES = ("definition", "reason", "other", "recommendation")
_CAPITALISED = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]+)")
_CITATION = re.compile(r"\([A-Z][a-z]+(?: et al\.)?,? \d{4}\)")


@dataclass
class Candidate:
    score: float
    cover: float
    text: str  # a sentence of the passage, or a row's span, in the question's language
    passage: Passage
    matched: set = field(default_factory=set)
    position: int = 0  # sentence index inside its passage


class Composer:
    def __init__(
        self,
        passages: list[Passage],
        settings,
        tokens_of: Callable[[Passage, str], list[str]] | None = None,
        profile: Profile | None = None,
        calibration: Calibration | None = None,
        key_words: dict[str, frozenset] | None = None,
        key_types: dict[str, frozenset] | None = None,
    ):
        self.settings = settings
        # The answer types of each passage's keys: the kinds of question it is known to answer.
        self.key_types = key_types or {}
        # Stems of each passage's question keys: the words people use when they ask what it answers.
        self.key_words = key_words or {}
        self.passages = passages
        self.profile = profile or Profile({})
        self.calibration = calibration or Calibration.load(settings.corpus_dir)
        # Document frequencies over both languages, for idf weights of question terms. tokens_of:
        # the index's stored tokens (Store.tokens), so a fresh process does not re-normalize the corpus.
        df: dict[str, int] = {}
        for p in passages:
            if tokens_of is not None:
                st = {stem(t) for lang in ("fa", "en") for t in tokens_of(p, lang)}
            else:
                st = stems(p.text) | stems(p.text_en)
            for s in st:
                df[s] = df.get(s, 0) + 1
        self.df = df
        self.n_docs = max(1, len(passages))
        self.by_id = {p.id: p for p in passages}
        self.by_table: dict[int, list[Passage]] = {}
        self.heads: dict[int, Passage] = {}
        for p in passages:
            if p.kind == "table_row" and p.table is not None:
                self.by_table.setdefault(p.table, []).append(p)
            elif p.table is not None:
                self.heads[p.table] = p
        self._cells_seen: dict[tuple[str, str], set[str]] = {}

    def idf(self, s: str) -> float:
        return math.log(1 + self.n_docs / (1 + self.df.get(s, 0)))

    def coverage(self, terms: set[str], stem_set) -> float:
        """idf-weighted share of the terms found in a set of stems (prefix match for inflections)."""
        if not terms:
            return 0.0
        total = sum(self.idf(t) for t in terms) or 1.0
        return sum(self.idf(t) for t in terms if prefix_in(t, stem_set)) / total

    # ------------------------------------------------------------------ entry
    def compose(
        self,
        question: str,
        query: str,
        a: Analysis,
        hits: list[Hit],
        lang: str | None = None,
        signals: dict | None = None,
    ) -> Composition:
        """lang: the answer language (rendering only); a.lang, the question's, makes every decision."""
        lang = lang or a.lang
        signals = signals or {}
        terms = {stem(t) for t in content_terms(query)}
        own = {stem(t) for t in a.terms} or terms
        if not hits or not terms:
            return Composition(
                [], True, kind="abstain", evidence={"abstain_reasons": ["the question has no content words"]}
            )
        fact = self._fact_answer(terms, own, a, hits, question)
        chosen = fact
        table = self._list_table(a, question, query, hits)
        if table is not None:
            listed = self._list_answer(table, a, question, query, hits)
            if listed is not None and (
                a.table == table
                or listed.evidence.get("strong")
                or a.wants_list
                or listed.evidence["cover"] >= fact.evidence.get("cover", 0) - 0.1
            ):
                chosen = listed
        features, reasons = self._features(a, chosen, fact, hits, signals)
        ok, p = self.calibration.answers(features)
        if a.unknown_names or (len(a.unknown) >= 2 and 2 * len(a.unknown) > len(a.terms)):
            # The two checks that are not weighed: a name or a number the document never uses ("Jakarta",
            # "in 2020"), or a question most of whose words the document never uses (off-topic). Dev has too
            # few of either for the regression to learn their weight.
            ok = False
        chosen.evidence.update(
            {
                "features": {k: round(v, 3) for k, v in features.items()},
                "p_answer": round(p, 3),
                "qtype": a.qtype,
                "entities": [m.entity.id for m in a.mentions],
                "unknown": a.unknown,
            }
        )
        if not ok or not chosen.statements:
            chosen.evidence["abstain_reasons"] = reasons or ["the evidence found does not carry what is asked"]
            return Composition([], True, kind="abstain", evidence=chosen.evidence, tables=chosen.tables)
        chosen.evidence["abstain_reasons"] = []
        return self._in_language(chosen, a.lang, lang)

    # ------------------------------------------------------------------ the decision
    def _features(
        self, a: Analysis, chosen: Composition, fact: Composition, hits: list[Hit], signals: dict
    ) -> tuple[dict, list[str]]:
        ev = chosen.evidence
        best_text = " ".join(st.passage.text + " " + st.passage.text_en for st in chosen.statements[:3])
        reasons: list[str] = []
        n_terms = max(1, len(a.terms))
        unknown_share = len(a.unknown) / n_terms
        if a.unknown_names:
            reasons.append("the paper never mentions " + ", ".join(a.unknown_names))
        elif a.unknown:
            reasons.append("the paper never uses the words: " + ", ".join(a.unknown))
        type_missing = 0.0
        if chosen.kind != "list" and chosen.statements:
            spans = " ".join(st.text + " " + _twin(st) for st in chosen.statements)
            # Weighted by how sure the classifier is that this kind of answer is asked for.
            if a.p("year") >= 0.2 and not has_year(spans):
                type_missing = a.p("year")
                reasons.append("it asks for a year; the evidence gives none")
            elif a.p("number") >= 0.2 and not has_number(spans, a.asks_row):
                type_missing = a.p("number")
                reasons.append("it asks for a number; the evidence states none")
            elif a.p("person") >= 0.2 and not _names_someone(spans, a.raw):
                type_missing = a.p("person")
                reasons.append("it asks for a person; the evidence names no one")
        entity_missing = 0.0
        specific = [m.entity for m in a.mentions if m.entity.type not in ("region",)]
        if specific and chosen.statements:
            text = normalize(best_text)
            absent = [e for e in specific if not any(normalize(n) in text for n in (e.fa, e.en, *e.aliases) if n)]
            if absent and len(absent) == len(specific):
                entity_missing = 1.0
                reasons.append("the evidence does not speak of " + ", ".join(e.name(a.lang) for e in absent))
        # The words the evidence and the questions it is known to answer (its keys) speak of.
        said = set(stems(best_text))
        for st in chosen.statements[:8]:
            said |= self.key_words.get(st.passage.id, frozenset())
        focus_missing = 0.0
        if (
            a.focus
            and chosen.statements
            and not prefix_in(stem(a.focus), said)
            and not any(
                prefix_in(stem(a.focus), stems(" ".join((m.entity.fa, m.entity.en, *m.entity.aliases))))
                for m in a.mentions
            )
        ):
            # What a which/what question asks for ("which journal", "what budget") is absent from the evidence
            # and from the questions it answers, or from the whole paper.
            focus_missing = 1.0
            reasons.append(
                f"it asks for '{a.focus}'; "
                + ("the paper never speaks of it" if a.focus in a.unknown else "the evidence does not speak of it")
            )
        count_missing = 0.0
        if (
            a.counted
            and a.wants_number
            and chosen.kind != "list"
            and not any(
                _states_count(st.text, a.counted) or _states_count(_twin(st), a.counted) for st in chosen.statements
            )
        ):
            count_missing = 1.0
            reasons.append(f"it asks how many '{a.counted}'; the evidence gives no such count")
        # What the question asks that neither the evidence nor the questions it is known to answer (its keys)
        # speak of: a paraphrase is explained by the keys, a near miss ("in what year ...") is not.
        own = {stem(t) for t in a.terms if not t.isdigit()}
        unexplained = 1.0 - self.coverage(own, said) if own else 0.0
        # How much of the asked answer type the evidence is known to answer (its keys' types).
        types: set = set()
        for st in chosen.statements[:8]:
            types |= self.key_types.get(st.passage.id, frozenset())
        type_support = sum(p for t, p in a.probs.items() if t in types) if (a.probs and types) else 0.5
        features = {
            "answered_share": float(signals.get("answered_share", 0.5)),
            "near_miss": float(signals.get("near_miss", 0.0)),
            "offtopic": float(signals.get("offtopic", 0.0)),
            "type_support": type_support,
            "unexplained": unexplained,
            "focus_missing": focus_missing,
            "count_missing": count_missing,
            "cover": float(ev.get("cover", fact.evidence.get("cover", 0.0))),
            "own_cover": float(fact.evidence.get("own_cover", 0.0)),
            "dense": float(max((h.dense for h in hits[:5]), default=0.0)),
            "key": float(signals.get("key_top", 0.0)),
            "unknown": unknown_share,
            "unknown_name": 1.0 if a.unknown_names else 0.0,
            "type_missing": type_missing,
            "entity_missing": entity_missing,
        }
        if features["cover"] < 0.2 and not reasons:
            reasons.append("little of the question is found in the paper")
        return features, reasons

    # ------------------------------------------------------------------ lists
    def _list_table(self, a: Analysis, question: str, query: str, hits: list[Hit]) -> int | None:
        if a.table in self.by_table and (a.wants_list or not a.mentions):
            return a.table
        if a.p("year", "number") >= 0.3 or a.counted or (a.section and not a.table):
            return None  # "in which year ...", "how many ..." ask for one fact, not the table
        named = self.profile.tables_named(question) or self.profile.tables_named(query)
        # "Which cities ..." is a list or an entity question by its form alone: a list when the question also
        # names what a table lists (its kind of row, a group, a status) or a place its rows are filtered by.
        places = [m for m in a.mentions if m.entity.type in ("region", "country")]
        listish = (
            a.wants_list or bool(places) or (bool(named) and a.p("list", "recommendation", "entity", "other") >= 0.6)
        )
        if not listish:
            return None
        hit_tables = [h.passage.table for h in hits[:8] if h.passage.table in self.by_table]
        for t in hit_tables:  # the best-ranked table that the question's words also point at
            if t in named:
                return t
        if places:
            with_places = [t for t, r in self.profile.tables.items() if r.place_column and t in self.by_table]
            if len(with_places) == 1:
                return with_places[0]
        if len(named) == 1 and named[0] in self.by_table:
            return named[0]
        top = hits[0].passage if hits else None
        if a.wants_list and top is not None and top.kind == "heading" and top.table in self.by_table:
            return top.table  # a table's own passage first: its keys are the list questions it answers
        rows = [h.passage.table for h in hits[:6] if h.passage.kind == "table_row"]
        if a.wants_list and rows and rows.count(rows[0]) >= 3:
            return rows[0]
        return None

    def _group_cell(self, p: Passage, role: TableRole | None, lang: str = "en") -> str:
        col = role.group_column if role else None
        return ((p.cells.get(col) or {}).get(lang, "")) if col else ""

    def _rows_filtered(self, table: int, a: Analysis, question: str, query: str) -> tuple[list[Passage], bool]:
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
            rows = [p for p in rows if any(g.match_en.lower() in self._group_cell(p, role).lower() for g in groups)]
            strong = True
        if role.place_column:
            places = [m.entity for m in a.mentions if m.entity.type in ("region", "country")]
            if places:
                kept = [p for p in rows if self._place_matches(p, role, places)]
                if kept:
                    rows, strong = kept, True
        if role.status_column:
            # The rows whose status cell says the most of what the question says about status: "still in
            # consultation towards a sister-city agreement" names two statuses, and one cell says both.
            qtoks = tokens(question)
            phrases = [a_ for g in role.statuses for a_ in g.aliases if find_phrase(qtoks, tuple(tokens(a_))) >= 0]
            if phrases:

                def said(p: Passage) -> int:
                    cell = p.cells.get(role.status_column) or {}
                    toks = tokens(cell.get("fa", "") + " " + cell.get("en", ""))
                    return sum(find_phrase(toks, tuple(tokens(ph))) >= 0 for ph in phrases)

                best = max(said(p) for p in rows) if rows else 0
                kept = [p for p in rows if best and said(p) == best]
                if kept and len(kept) < len(rows):
                    rows, strong = kept, True
        if role.name_column:
            names = [m.entity for m in a.mentions if m.entity.type not in ("region", "country")]
            kept = [p for p in rows if self._cell_entities(p, role.name_column) & {e.id for e in names}]
            if kept:
                rows, strong = kept, True
        if role.measure_column and a.comparator:
            op, bound = a.comparator
            kept = []
            for p in rows:
                values = numbers_in((p.cells.get(role.measure_column) or {}).get("en", ""))
                top = max(values, default=None)
                if top is not None and ((op == "gt" and top > bound) or (op == "lt" and top < bound)):
                    kept.append(p)
            rows, strong = kept, True
        return rows, strong

    def _cell_entities(self, p: Passage, column: str) -> set[str]:
        """Entities a cell names (either language); the same cells for every question: memoized."""
        key = (p.id, column)
        if key not in self._cells_seen:
            cell = p.cells.get(column) or {}
            self._cells_seen[key] = {
                m.entity.id for lang in ("en", "fa") for m in self.profile.mentions(cell.get(lang, ""))
            }
        return self._cells_seen[key]

    def _place_matches(self, p: Passage, role: TableRole, places: list) -> bool:
        ids = self._cell_entities(p, role.place_column)
        for e_id in ids:
            e = self.profile.by_id[e_id]
            regions = self.profile.regions_of(e)
            if any(pl.id == e.id or pl.id in regions for pl in places):
                return True
        return False

    def _list_answer(self, table: int, a: Analysis, question: str, query: str, hits: list[Hit]) -> Composition | None:
        rows, strong = self._rows_filtered(table, a, question, query)
        role = self.profile.tables.get(table)
        # Words beyond the table's own vocabulary narrow the list ("recommendations on education").
        head = self.heads.get(table)
        framing: set[str] = set()
        for p in self.by_table[table]:
            framing |= stems(self._group_cell(p, role, "en")) | stems(self._group_cell(p, role, "fa"))
        if head is not None:
            framing |= stems(head.text) | stems(head.text_en)
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
            if self.df.get(stem(t), 0) < 0.15 * self.n_docs
            and not prefix_in(stem(t), framing)
            and stem(t) not in entity_words
            and t not in a.unknown
        }
        if specific and not (role and role.place_column and strong):
            narrowed = [p for p in rows if self.coverage(specific, stems(p.text) | stems(p.text_en)) > 0]
            if narrowed and len(narrowed) < len(rows):
                rows, strong = narrowed, strong or len(narrowed) <= 3
        if not rows:
            return None
        read = set(framing)
        for p in rows:
            read |= self._cell_stems(p, role)
        evidence = {
            "cover": round(self.coverage({stem(t) for t in a.terms}, read), 3),
            "table": table,
            "rows": len(rows),
            "strong": strong,
        }
        if len(rows) == 1:  # one matching row is a fact, not a list
            return Composition(
                [Statement(self._row_span(rows[0], a.lang, a, question), rows[0])],
                False,
                kind="fact",
                tables={table},
                evidence=evidence,
            )
        statements = [Statement(self._row_span(p, a.lang, a, question, brief=True), p) for p in rows]
        if head is not None:
            statements.insert(0, Statement(head.heading_en if a.lang == "en" else head.heading, head))
        return Composition(statements, False, kind="list", tables={table}, evidence=evidence)

    def _cell_stems(self, p: Passage, role: TableRole | None) -> set[str]:
        """What a row says about itself as a member of its list: its name, place and status cells."""
        out: set[str] = set()
        if role is None:
            return out
        for col in (role.name_column, role.place_column, role.status_column, role.group_column):
            if col:
                cell = p.cells.get(col) or {}
                out |= stems(cell.get("fa", "")) | stems(cell.get("en", ""))
        for e_id in self._cell_entities(p, role.place_column) if role.place_column else set():
            e = self.profile.by_id[e_id]
            for r in self.profile.regions_of(e):
                reg = self.profile.by_id.get(r)
                if reg:
                    for n in (reg.fa, reg.en, *reg.aliases):
                        out |= stems(n)
        return out

    def _row_span(self, p: Passage, lang: str, a: Analysis, question: str, brief: bool = False) -> str:
        """The part of a row that answers: the cell asked for (with the row's name), the name alone in a list
        of a table that has names, or the row without its "Table N, row M:" head in a list."""
        text = p.text_in(lang)
        role = self.profile.tables.get(p.table) if p.table is not None else None
        name = (p.cells.get(role.name_column) or {}).get(lang, "") if role and role.name_column else ""
        if role is not None and p.cells:
            want = self.profile.attribute_named(p.table, question)
            if want:
                cell = join_bullets((p.cells.get(want) or {}).get(lang, ""), lang)
                if cell and cell in text:
                    return f"{name}{ELLIPSIS}{cell}" if name and name in text and name != cell else cell
            if brief and name and name in text and role.attributes:
                return name
        if brief and p.kind == "table_row":
            return ROW_HEAD.sub("", text, count=1)
        return text

    # ------------------------------------------------------------------ facts
    def _candidates(
        self, terms: set[str], own: set[str], a: Analysis, hits: list[Hit], question: str
    ) -> list[Candidate]:
        lang = a.lang
        out: list[Candidate] = []
        names = [m.entity for m in a.mentions if m.entity.type != "region"]
        for rank, h in enumerate(hits[:8]):
            p = h.passage
            prior = 1.0 / (1 + 0.12 * rank)
            other = stems(p.text if lang == "en" else p.text_en)  # names match across scripts
            spans = [self._row_span(p, lang, a, question)] if p.kind == "table_row" else sentences(p.text_in(lang))
            row_stems = stems(p.text_in(lang)) if p.kind == "table_row" else frozenset()
            for i, s in enumerate(spans):
                st = stems(s) | row_stems  # a cell is read with its row (its name)
                matched = {t for t in terms if prefix_in(t, st) or (t.isascii() and t in other)}
                cover = self.coverage(terms, matched)
                if a.wants_number and not has_number(s, a.asks_row):
                    cover *= 0.3
                score = (0.5 * cover + 0.5 * self.coverage(own, matched)) * prior + 0.1 * h.dense
                # The passage's keys speak for all its sentences: a question its keys ask ("what is the
                # paper's title?") is answered by it even in words its text does not use.
                keyed = self.key_words.get(p.id)
                if keyed:
                    score += 0.3 * self.coverage(own, {t for t in own if prefix_in(t, keyed)}) * prior
                if names:
                    text = normalize(s + " " + (p.text if p.kind == "table_row" else ""))
                    if any(normalize(n) in text for e in names for n in (e.fa, e.en, *e.aliases) if n):
                        score += 0.15  # the sentence speaks of the thing the question names
                if a.qtype == "definition" and DEFINES.search(s):
                    score += 0.1
                out.append(Candidate(score, cover, s, p, matched, i))
        return out

    def _fact_answer(self, terms: set[str], own: set[str], a: Analysis, hits: list[Hit], question: str) -> Composition:
        candidates = self._candidates(terms, own, a, hits, question)
        if not candidates:
            return Composition([], True, kind="abstain", evidence={"cover": 0.0})
        counting = []
        if a.counted and a.wants_number:  # "how many X": sentences that count X answer first
            counting = [
                c
                for c in candidates
                if _states_count(c.text, a.counted) or _states_count(_twin_text(c.passage, c.text, a.lang), a.counted)
            ]
            candidates = counting or candidates
        candidates.sort(key=lambda c: -c.score)
        best = candidates[0]
        evidence = {"cover": round(best.cover, 3), "own_cover": round(self.coverage(own, best.matched), 3)}
        if is_comparison(question) and a.qtype in ("comparison", "yesno", "entity", "other", "list"):
            sides = halves(question)
            if len(sides) == 2:  # "X or Y?": the best evidence for each side
                chosen: list[Candidate] = []
                side_terms = [{stem(t) for t in content_terms(h)} for h in sides]
                for i, _half in enumerate(sides):
                    # What distinguishes this side from the other (one organisation's name vs the other's).
                    half_terms = (side_terms[i] - side_terms[1 - i]) or side_terms[i] or own
                    # The side's own words, then the whole question's (the compared attribute: "members").
                    pick = max(
                        candidates,
                        key=lambda c: (
                            self.coverage(half_terms, c.matched) + 0.5 * self.coverage(own, c.matched) + 0.3 * c.score
                        ),
                    )
                    if pick.text not in {c.text for c in chosen}:
                        chosen.append(pick)
                return Composition(
                    [Statement(c.text, c.passage) for c in chosen], False, kind="fact", evidence=evidence
                )
        if a.qtype in EXPLAIN_TYPES and best.passage.kind != "table_row":
            chosen = self._explanation(best, candidates)
        else:
            chosen = [best]
            covered = set(best.matched)
            limit = 2 if a.qtype in FACT_TYPES else self.settings.max_sentences
            for c in candidates[1:]:
                if len(chosen) >= limit:
                    break
                if c.text in {x.text for x in chosen} or c.score < 0.7 * best.score:
                    continue
                if a.wants_number and not has_number(c.text, a.asks_row):
                    continue
                if (c.matched - covered) & own:
                    chosen.append(c)
                    covered |= c.matched
        return Composition([Statement(c.text, c.passage) for c in chosen], False, kind="fact", evidence=evidence)

    def _explanation(self, best: Candidate, candidates: list[Candidate]) -> list[Candidate]:
        """A definition, reason or conclusion: the best passage's two or three strongest sentences, in the
        order the paper gives them (the best one and its neighbours when they carry the question too)."""
        same = [c for c in candidates if c.passage.id == best.passage.id]
        keep = [c for c in same if c is best or (c.score >= 0.6 * best.score and abs(c.position - best.position) <= 2)]
        keep = sorted(keep, key=lambda c: -c.score)[:3]
        if len(keep) == 1:  # a one-sentence reason often needs the sentence that follows it
            nxt = [c for c in same if c.position == best.position + 1 and c.score >= 0.35 * best.score]
            keep += nxt[:1]
        return sorted(keep, key=lambda c: c.position)

    # ------------------------------------------------------------------ rendering language
    def _in_language(self, comp: Composition, qlang: str, lang: str) -> Composition:
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
                    parts.append(_cell_twin(p, part, qlang, lang) or ROW_HEAD.sub("", p.text_in(lang), count=1))
                out.append(Statement(ELLIPSIS.join(dict.fromkeys(parts)), p))
            else:
                out.append(Statement(_twin_text(p, st.text, qlang, lang), p))
        return Composition(out, comp.abstained, comp.kind, comp.tables, comp.evidence, comp.read, comp.note)


def _twin(st: Statement) -> str:
    return (
        st.passage.text
        if st.passage.text_in("en") == st.passage.text_en and st.text in st.passage.text_en
        else st.passage.text_en
    )


def _twin_text(p: Passage, sentence: str, src: str, dst: str | None = None) -> str:
    """The sentence of the other rendering at the same position (the whole passage when they do not align)."""
    dst = dst or ("en" if src == "fa" else "fa")
    if src == dst:
        return sentence
    a, b = sentences(p.text_in(src)), sentences(p.text_in(dst))
    if sentence in a and len(a) == len(b):
        return b[a.index(sentence)]
    return p.text_in(dst)


def _cell_twin(p: Passage, part: str, src: str, dst: str) -> str | None:
    for cell in p.cells.values():
        if not isinstance(cell, dict):
            continue
        for form in (cell.get(src, ""), join_bullets(cell.get(src, ""), src)):
            if form and form == part:
                return join_bullets(cell.get(dst, ""), dst)
    return None


def _names_someone(text: str, question: str) -> bool:
    """Does the text name a person the question does not? (a capitalised Latin name, or a citation)"""
    from .normalize import tokens

    asked = set(tokens(question))
    return any(w.lower() not in asked for w in _CAPITALISED.findall(text)) or bool(_CITATION.search(text))


def _states_count(text: str, noun: str) -> bool:
    """Is there a number followed (within two words) by the counted noun? ("سی شهر", "184 member countries")"""
    from .query import STOP_EN, STOP_FA
    from .text import NUMBER_WORDS

    norm = normalize(text)
    keys = [re.escape(stem(w)[:4]) for w in normalize(noun).split() if w not in STOP_EN and w not in STOP_FA]
    if not keys:
        return True
    key = "(?:" + "|".join(keys) + ")"
    number = "(?:[0-9]+|" + "|".join(NUMBER_WORDS) + ")"
    return bool(re.search(rf"(?<!\w){number}(?:[\s,]+\S+){{0,2}}?[\s,]+{key}", norm))
