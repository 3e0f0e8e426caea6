"""The offline extractive composer: picks the sentences and table rows that answer, and cites each.

Given the retrieved hits, it
- answers list questions from the rows of the table the question is about (complete, filtered by
  what the question restricts: a region, an agreement kind, an axis);
- answers fact and number questions with the sentence that carries the fact first, then only
  sentences that add question terms;
- abstains when no sentence carries what the question asks for.
Every statement is an exact span of its passage, in the question's language, with a [n] marker.
"""
from __future__ import annotations

import math
from functools import lru_cache
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from .ingest import join_bullets
from .normalize import normalize, tokens
from .query import COLLOQUIAL_SUFFIXES, detect_language, STOP_EN, STOP_FA, SYNONYMS, TITLE_Q, Analysis, content_terms, is_comparison, stem
from .retrieve import Hit
from .types import Passage

# Sentence ends, but not "1." in an enumeration ("two forms, namely: 1. ... 2. ...").
_SENT_SPLIT = re.compile(r"(?<=[^0-9۰-۹][.!?؟])\s+(?=\S)")
# Attributes whose value a text states next to the word itself ("the findings were …", "با عنوان …"):
# when one is asked for and the best evidence does not use the word, the paper does not give it.
# (Answer types such as a year, a country or a person are checked by their form, not by a word.)
ATTRIBUTE_FOCUS = {stem(t) for t in tokens(
    "finding findings title budget cost costs population salary area size journal publisher "
    "first previous عنوان بودجه هزینه جمعیت مساحت یافته یافته‌ها مجله ناشر اولویت نخستین قبلی")}
ELLIPSIS = " … "  # joins exact spans of one passage inside a statement; each span is verified
_YEAR = re.compile(r"(?<![0-9۰-۹])([12][0-9]{3}|[۱۲][۰-۹]{3})(?![0-9۰-۹])")
_HAS_NUMBER = re.compile(r"[0-9۰-۹]|\b(one|two|three|four|five|six|seven|eight|nine|ten|thirty|hundred|thousand|million)\b|"
                         r"(?<!\w)(یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|سی|صد|هزار|میلیون)(?!\w)", re.I)

# The table a list question is about, by the words it uses (both languages, normalized stems).
TABLE_CUES = {
    2: ("sister", "twin", "memorand", "agreement", "consultation", "خواهر", "تفاهم", "قرارداد", "رایزنی"),
    1: ("organi", "institution", "goal", "aim", "reach", "member", "سازمان", "نهاد", "اهداف", "گستره", "عضو", "مجامع"),
    3: ("standing", "position", "status", "role", "جایگاه", "وضعیت", "نقش"),
    4: ("shortcoming", "weakness", "advantage", "strength", "necessit", "need", "کاستی", "ضعف", "مزیت", "ضرورت"),
    5: ("opportunit", "challenge", "obstacle", "barrier", "فرصت", "چالش", "مانع", "موانع"),
    6: ("recommend", "polic", "result", "outcome", "benefit", "gain", "should", "سیاستگذار", "باید", "به دست", "توصیه", "سیاستی", "نتایج", "نتیجه", "پیامد"),
}
# Nouns that a list question about a table asks for, besides its cues ("which cities", "کدام شهرها").
LIST_NOUNS = {
    1: ("institution", "bod", "forum", "مجمع", "مجامع"),
    2: ("cit", "capital", "town", "شهر", "پایتخت"),
    3: ("organi", "institution", "سازمان", "نهاد"),
    4: (), 5: (), 6: ("action", "step", "measure", "اقدام", "راهکار", "کار"),
}
# Filters on the group column of tables 4-6: (table, words) -> substring of the group's English cell.
GROUP_CUES = [
    (4, ("shortcoming", "weakness", "deficien", "کاستی", "ضعف"), "shortcoming"),
    (4, ("advantage", "strength", "مزیت"), "advantage"),
    (4, ("necessit", "need", "requirement", "ضرورت"), "necessit"),
    (5, ("opportunit", "فرصت"), "opportunit"),
    (5, ("challenge", "obstacle", "barrier", "چالش", "مانع", "موانع"), "challenge"),
    (6, ("recommend", "polic", "should", "توصیه", "سیاستی", "سیاستگذار", "باید"), "recommend"),
    (6, ("result", "outcome", "benefit", "gain", "achieve", "به دست", "نتایج", "نتیجه", "پیامد", "مثبت"), "result"),
]
COUNTRY_REGIONS = {
    "cuba": {"americas"}, "south africa": {"africa"}, "russia": {"europe"}, "belarus": {"europe"},
    "kyrgyzstan": {"asia", "central_asia"}, "tajikistan": {"asia", "central_asia"},
    "kuwait": {"asia", "middle_east"}, "sudan": {"africa", "middle_east"}, "brazil": {"americas"},
    "venezuela": {"americas"}, "yemen": {"asia", "middle_east"}, "china": {"asia"},
    "turkey": {"asia", "europe", "middle_east"}, "türkiye": {"asia", "europe", "middle_east"},
    "iraq": {"asia", "middle_east"}, "united kingdom": {"europe"}, "england": {"europe"}, "uk": {"europe"},
    "vietnam": {"asia"}, "philippines": {"asia"}, "syria": {"asia", "middle_east"},
    "tunisia": {"africa", "middle_east"}, "afghanistan": {"asia", "central_asia"}, "france": {"europe"},
    "italy": {"europe"},
}


@dataclass
class Statement:
    text: str  # an exact span of the passage text in the answer language
    passage: Passage
    n: int = 0
    generated: bool = False  # written by a chat model (llm.py): checked for support, not for being a span


@dataclass
class Composition:
    statements: list[Statement]
    abstained: bool
    kind: str = "fact"  # fact | list | abstain
    tables: set = field(default_factory=set)  # tables the composer read whole (their rows count as retrieved)
    evidence: dict = field(default_factory=dict)  # the figures the decision was made on (shown in --json)
    read: set = field(default_factory=set)  # passages consulted directly (e.g. the title), besides retrieval
    note: str = ""  # shown with the answer (e.g. "the chat model gave no answer; this is the extractive answer")


@lru_cache(maxsize=2048)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(_split_sentences(text))


def sentences(text: str) -> list[str]:
    return list(_sentences(text))


def _split_sentences(text: str) -> list[str]:
    out: list[str] = []
    for s in (s.strip() for s in _SENT_SPLIT.split(text)):
        if not s:
            continue
        if out and len(out[-1].split()) < 4:  # "Figure 1." is a label, not a sentence
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out


@lru_cache(maxsize=8192)
def _stems(text: str) -> frozenset[str]:
    # Pure and called on the same passages and sentences for every question: memoized.
    return frozenset(stem(t) for t in tokens(text))


class Composer:
    def __init__(self, passages: list[Passage], settings, tokens_of: Optional[Callable[[Passage, str], list[str]]] = None):
        self.settings = settings
        self.passages = passages
        # Document frequencies over both languages, for idf weights of question terms. tokens_of:
        # the index's stored tokens (Store.tokens), so a fresh process does not re-normalize the corpus.
        df: dict[str, int] = {}
        for p in passages:
            if tokens_of is not None:
                stems = {stem(t) for lang in ("fa", "en") for t in tokens_of(p, lang)}
            else:
                stems = _stems(p.text) | _stems(p.text_en)
            for s in stems:
                df[s] = df.get(s, 0) + 1
        self.df = df
        self.prefixes = {s[:5] for s in df if len(s) >= 5}
        self.places = {normalize(c.get(lang, "")) for p in passages if p.table == 2
                       for key in ("country", "city") for c in [p.cells.get(key) or {}] for lang in ("fa", "en")} - {""}
        self.n_docs = max(1, len(passages))
        self.by_id = {p.id: p for p in passages}
        self.by_table: dict[int, list[Passage]] = {}
        self.heads: dict[int, Passage] = {}
        for p in passages:
            if p.kind == "table_row" and p.table is not None:
                self.by_table.setdefault(p.table, []).append(p)
            elif p.table is not None:
                self.heads[p.table] = p

    def idf(self, s: str) -> float:
        return math.log(1 + self.n_docs / (1 + self.df.get(s, 0)))

    def known(self, t: str) -> bool:
        """Does the paper use this word (or, for Persian, a colloquial/inflected form of it)?"""
        if t in self.df:
            return True
        if t.isdigit():
            return False  # a number the paper never states
        if not t.isascii():
            for suf in COLLOQUIAL_SUFFIXES:
                if t.endswith(suf) and len(t) - len(suf) >= 3 and (t[: -len(suf)] in self.df):
                    return True
            # colloquial vowel spelling: "خونده" for "خوانده"
            if t.replace("ون", "وان") in self.df:
                return True
        return len(t) >= 6 and t[:5] in self.prefixes

    def coverage(self, terms: set[str], stems: set[str]) -> float:
        """idf-weighted share of the terms found in a set of stems (prefix match for inflections)."""
        if not terms:
            return 0.0
        total = sum(self.idf(t) for t in terms) or 1.0
        return sum(self.idf(t) for t in terms if _in(t, stems)) / total

    # ------------------------------------------------------------------ entry
    def compose(self, question: str, query: str, a: Analysis, hits: list[Hit]) -> Composition:
        lang = a.lang
        terms = {stem(t) for t in content_terms(query)}
        own = {stem(t) for t in a.terms} or terms
        if not hits or not terms:
            return Composition([], True, kind="abstain", evidence={"reason": "no terms"})
        if TITLE_Q.search(normalize(question)) and "title.h" in self.by_id:
            title = self.by_id["title.h"]
            return Composition([Statement(title.text_in(lang), title)], False, kind="fact", evidence={"intent": "title"},
                               read={title.id})
        fact = self._fact_answer(terms, own, a, hits, lang, question)
        table = self._list_table(a, query, hits)
        if table is not None:
            listed = self._list_answer(table, a, question, query, hits, lang)
            if listed is not None:
                reasons = self._type_checks(a, None)
                if reasons:  # "what budget do the recommendations need": the table is no answer either
                    return Composition([], True, kind="abstain", evidence={**listed.evidence, "abstain_reasons": reasons})
                head = self.heads.get(table)
                about = (_stems(head.text) | _stems(head.text_en)) if head else set()
                about |= set().union(*(_stems(self._group_en(p)) | _stems((p.cells.get("axis") or p.cells.get("kind") or {}).get("fa", ""))
                                       for p in self.by_table[table]))
                if any(not _in(t, about) for t in {stem(t) for t in a.terms} & ATTRIBUTE_FOCUS):
                    return fact  # the table is not about what is asked ("which city was first"): the text decides
                # A table list wins when the question names the table, one of its groups ("challenges")
                # or a filter of it ("in Europe"), or when no sentence answers the question better.
                if (a.table == table or listed.evidence.get("strong")
                        or listed.evidence["cover"] >= fact.evidence.get("cover", 0) - 0.1):
                    return listed
        return fact

    # ------------------------------------------------------------------ lists
    def _list_table(self, a: Analysis, query: str, hits: list[Hit]) -> Optional[int]:
        if not a.wants_list or (a.section and not a.table) or a.wants_year or a.wants_number:
            return None  # "in which year ...", "how many ..." ask for one fact, not the table
        if a.table in self.by_table:
            return a.table
        norm = normalize(query)
        cued = [t for t, cues in TABLE_CUES.items() if any(c in norm for c in cues)]
        if 2 not in cued and {normalize(t) for t in a.terms} & self.places:
            cued.append(2)  # a country or city of Table 2 is named
        hit_tables = [h.passage.table for h in hits[:8] if h.passage.table]
        for t in hit_tables:  # the best-ranked table that the question's words also point at
            if t in cued:
                return t
        if len(cued) == 1:
            return cued[0]
        rows = [h.passage.table for h in hits[:6] if h.passage.kind == "table_row"]
        if rows and rows.count(rows[0]) >= 3:
            return rows[0]
        return None

    def _list_answer(self, table: int, a: Analysis, question: str, query: str, hits: list[Hit],
                     lang: str) -> Optional[Composition]:
        rows = sorted(self.by_table[table], key=lambda p: p.row or 0)
        # The current question's group words win over the earlier turn's ("and the challenges?").
        group_words: list[str] = []
        for text in (question, query):
            norm_q = normalize(text)
            group_words = [sub for t, cues, sub in GROUP_CUES if t == table and any(c in norm_q for c in cues)]
            if group_words:
                break
        if table == 6 and "result" in group_words:
            group_words = ["result"]  # "what would the recommendations achieve" asks for the results
        # "Which researchers studied its weaknesses?" lists researchers, not Table 4's weaknesses: a group
        # word counts only when the question lists that kind of thing (or names nothing else to list).
        asked = normalize(a.asked or "")
        lists_this = not asked or any(c in asked for c in TABLE_CUES[table] + LIST_NOUNS.get(table, ()))
        strong = bool(group_words) and lists_this
        if group_words:
            rows = [p for p in rows if any(g in normalize(self._group_en(p)) for g in group_words)]
        if table == 2:
            before = len(rows)
            rows = self._filter_sister_cities(rows, a)
            strong = strong or len(rows) < before
        # Words beyond the table's own vocabulary narrow the list (e.g. "recommendations on education").
        generic = set()
        for cues in TABLE_CUES.values():
            generic |= set(cues)
        head = self.heads.get(table)
        framing = set().union(*(_stems(self._group_en(p)) | _stems((p.cells.get("axis") or p.cells.get("kind") or {}).get("fa", ""))
                                for p in self.by_table[table]))
        if head is not None:
            framing |= _stems(head.heading) | _stems(head.heading_en)
        specific = {stem(t) for t in a.terms
                    if not any(c in t for c in generic) and self.df.get(stem(t), 0) < 0.15 * self.n_docs
                    and not _in(stem(t), framing)}
        if specific and table != 2:
            narrowed = [p for p in rows if self.coverage(specific, _stems(p.text) | _stems(p.text_en)) > 0]
            if narrowed:
                rows = narrowed
        if not rows:
            return None
        head = self.heads.get(table)
        # What the table is about: its title and the group cells of the rows listed (not their contents,
        # which would cover any question by their sheer number).
        read = set().union(*(_stems(self._group_en(p)) | _stems((p.cells.get("axis") or p.cells.get("kind") or {}).get("fa", ""))
                             for p in rows))
        if head is not None:
            read |= _stems(head.heading) | _stems(head.heading_en)
        if table == 2:
            read |= {stem(t) for t in a.terms if normalize(t) in {normalize(c) for p in rows for c in (
                p.cells.get("country", {}).get("fa", ""), p.cells.get("country", {}).get("en", ""))}}
        evidence = {"cover": round(self.coverage({stem(t) for t in a.terms}, read), 3), "table": table,
                    "rows": len(rows), "strong": strong}
        if len(rows) == 1:  # one matching row is a fact, not a list
            return Composition([Statement(self._row_span(rows[0], lang, a), rows[0])], False, kind="fact",
                               tables={table}, evidence=evidence)
        statements = [Statement(self._row_span(p, lang, a, brief=True), p) for p in rows]
        if head is not None:
            statements.insert(0, Statement(head.heading_en if lang == "en" else head.heading, head))
        return Composition(statements, False, kind="list", tables={table}, evidence=evidence)

    @staticmethod
    def _group_en(p: Passage) -> str:
        cell = p.cells.get("axis") or p.cells.get("kind") or {}
        return cell.get("en", "")

    @staticmethod
    def _filter_sister_cities(rows: list[Passage], a: Analysis) -> list[Passage]:
        asked = {normalize(t) for t in a.terms}
        named = [p for p in rows if {normalize(p.cells.get("country", {}).get(k, "")) for k in ("fa", "en")} & asked]
        if named:  # "which cities in Russia"
            return named
        regions = a.filters.get("region")
        if regions:
            rows = [p for p in rows
                    if COUNTRY_REGIONS.get(normalize(p.cells.get("country", {}).get("en", "")), set()) & set(regions)]
        agreement = a.filters.get("agreement")
        if agreement:
            def kind(p: Passage) -> str:
                en = normalize(p.cells.get("agreement", {}).get("en", ""))
                if "consultation" in en or "negotiat" in en:
                    return "consultation"
                if "memorand" in en:
                    return "memorandum"
                return "signed"
            kept = [p for p in rows if kind(p) == agreement]
            rows = kept or rows  # "the table of sister cities and memoranda" names the table, not a filter
        return rows

    def _row_span(self, p: Passage, lang: str, a: Analysis, brief: bool = False) -> str:
        """The part of a row that answers: for Table 1, the goals or the reach cell when asked for,
        the organisation's name alone in a list; in a list, the row without its "Table N, row M:" head."""
        text = p.text_in(lang)
        name = (p.cells.get("organisation") or {}).get(lang, "") if p.table == 1 else ""
        if p.table == 1 and p.cells:
            q = " ".join(a.terms)
            want = None
            if any(c in q for c in ("goal", "aim", "objective", "field", "work", "mission", "اهداف", "هدف", "زمینه", "کار", "ماموریت")):
                want = "goals"
            if any(c in q for c in ("reach", "member", "countr", "many", "size", "office", "گستره", "عضو", "کشور", "تعداد", "دفتر")):
                want = "reach" if want is None else None
            if want:
                cell = (p.cells.get(want) or {}).get(lang, "")
                cell = join_bullets(cell, lang)
                if cell and cell in text:
                    # The organisation's name, then the cell: two exact spans of the row, "…" between.
                    return f"{name}{ELLIPSIS}{cell}" if name and name in text else cell
            if brief and name and name in text:
                return name
        if brief and p.kind == "table_row":
            return re.sub(r"^[^:]{0,40}:\s*", "", text, count=1)
        return text

    # ------------------------------------------------------------------ facts
    def _fact_answer(self, terms: set[str], own: set[str], a: Analysis, hits: list[Hit], lang: str,
                     question: str) -> Composition:
        candidates: list[tuple[float, float, str, Passage, set]] = []
        for rank, h in enumerate(hits[:8]):
            p = h.passage
            prior = 1.0 / (1 + 0.12 * rank)
            other = _stems(p.text if lang == "en" else p.text_en)  # names match across scripts
            spans = [self._row_span(p, lang, a)] if p.kind == "table_row" else sentences(p.text_in(lang))
            row_stems = _stems(p.text_in(lang)) if p.kind == "table_row" else set()
            for s in spans:
                st = _stems(s) | row_stems  # a cell is read with its row (the organisation's name)
                matched = {t for t in terms if _in(t, st) or (t.isascii() and t in other)}
                cover = self.coverage(terms, matched)
                if a.wants_number and not has_number(s, a.asks_row):
                    cover *= 0.3
                # The current question's own words weigh as much as the whole (history-joined) query.
                score = (0.5 * cover + 0.5 * self.coverage(own, matched)) * prior + 0.1 * h.dense
                candidates.append((score, cover, s, p, matched))
        if not candidates:
            return Composition([], True, kind="abstain", evidence={"reason": "no candidates"})
        if a.counted and a.wants_number:  # "how many X": only sentences that count X can answer
            # The question may be in the other language than the answer (--lang): read both renderings.
            counting = [c for c in candidates if self._states_count(c[2], a.counted)
                        or (lang != detect_language(question) and self._states_count(c[3].text_in(detect_language(question)), a.counted))]
            candidates = counting or candidates
        counts = bool(a.counted and a.wants_number and counting)
        candidates.sort(key=lambda c: -c[0])
        best = candidates[0]
        own_cover = self.coverage(own, best[4])
        unknown = sorted(t for t in own if not self.known(t))
        top_dense = max(h.dense for h in hits[:5])
        best_stems = _stems(best[2]) | (_stems(best[3].text_in(lang)) if best[3].kind == "table_row" else set())
        evidence = {"best_stems": best_stems, "cover": round(best[1], 3), "own_cover": round(own_cover, 3), "dense": round(top_dense, 3),
                    "unknown": unknown, "number": a.wants_number, "counts": counts if a.counted else None}
        if self._abstain(evidence, best[2], a):
            return Composition([], True, kind="abstain", evidence=evidence)
        compare = is_comparison(question)
        halves = _halves(question) if compare else []
        if len(halves) == 2:  # "X or Y?": the best evidence for each side
            chosen = []
            for half in halves:
                half_terms = {stem(t) for t in content_terms(half)} or own
                pool = [c for c in candidates if not a.wants_number or has_number(c[2], a.asks_row)] or candidates
                pick = max(pool, key=lambda c: self.coverage(half_terms, c[4]) + 0.01 * c[0])
                if pick[2] not in {c[2] for c in chosen}:
                    chosen.append(pick)
            return Composition([Statement(c[2], c[3]) for c in chosen], False, kind="fact", evidence=evidence)
        chosen = [best]
        covered = set(best[4])
        limit = self.settings.max_sentences + (1 if compare else 0)
        floor = 0.4 if compare else 0.7
        for c in candidates[1:]:
            if len(chosen) >= limit:
                break
            if c[2] in {x[2] for x in chosen} or c[0] < floor * best[0]:
                continue
            if a.wants_number and not has_number(c[2], a.asks_row):
                continue
            if (c[4] - covered) & own:
                chosen.append(c)
                covered |= c[4]
        return Composition([Statement(c[2], c[3]) for c in chosen], False, kind="fact", evidence=evidence)

    def _type_checks(self, a: Analysis, best: Optional[str]) -> list[str]:
        """Checks of what kind of thing is asked for, independent of how the answer is built."""
        reasons = []
        if any(t.isdigit() and not self.known(t) for t in a.terms):
            reasons.append("names a number the paper never states")
        if a.focus and not self.known(stem(a.focus)):
            reasons.append(f"asks for '{a.focus}', which the paper never mentions")
        own = [stem(t) for t in a.terms if not t.isdigit()]
        if a.wants_number and a.lang == "fa" and own and not self.known(own[0]):
            # "بودجه سالانه FMDV چقدره؟": the thing to be counted comes first and the paper never names it
            reasons.append(f"asks for a figure about '{own[0]}', which the paper never mentions")
        unknown = [t for t in own if not self.known(t)]
        if len(unknown) >= 2 and len(unknown) * 2 > len(own):
            reasons.append(f"most of what it asks about is not in the paper ({', '.join(unknown)})")
        if any(not self.known(stem(SYNONYMS.get(n, n))) for n in a.names):
            reasons.append("names something the paper never mentions")
        return reasons

    def _abstain(self, ev: dict, best: str, a: Analysis) -> bool:
        """Does the best evidence carry what the question asks for? (reasons kept in the evidence)"""
        s = self.settings
        reasons = self._type_checks(a, best)
        asked_attrs = {stem(t) for t in a.terms} & ATTRIBUTE_FOCUS
        if a.focus and stem(a.focus) in ATTRIBUTE_FOCUS:
            asked_attrs.add(stem(a.focus))
        for attr in sorted(asked_attrs):
            if self.known(attr) and not _in(attr, ev.get("best_stems", set())):
                reasons.append(f"asks for '{attr}'; the best evidence does not speak of it")
        if a.lang == "en" and re.search(r"\bname of\b", normalize(" ".join([a.asked or ""] + a.terms)) + " " + (a.raw or "")):
            # "the name of the mayor": a proper name must stand in the evidence that the question lacks
            asked_words = set(tokens(a.raw or ""))
            names = [w for w in re.findall(r"(?<=[a-z,;] )([A-Z][a-z]+)", best) if w.lower() not in asked_words]
            if not names:
                reasons.append("asks for a name; the best evidence names no one")
        if a.wants_number and not has_number(best, a.asks_row):
            reasons.append("asks for a number; the best evidence states none")
        if a.wants_year and not _YEAR.search(best):
            reasons.append("asks for a year; the best evidence gives none")
        if a.counted and a.wants_number and not ev.get("counts"):
            reasons.append(f"asks how many '{a.counted}'; the best evidence gives no such count")
        if ev["cover"] < s.abstain_min_coverage and ev["dense"] < s.abstain_min_dense:
            reasons.append("little of the question is found in the paper")
        if ev["cover"] < 0.12:
            reasons.append("nothing of the question is found in the paper")
        ev["abstain_reasons"] = reasons
        ev.pop("best_stems", None)  # internal: not part of the reported evidence
        return bool(reasons)


    @staticmethod
    def _states_count(text: str, noun: str) -> bool:
        """Is there a number followed (within two words) by the counted noun? ("سی شهر", "184 member countries")"""
        norm = normalize(text)
        keys = [re.escape(stem(w)[:4]) for w in normalize(noun).split() if w not in STOP_EN and w not in STOP_FA]
        if not keys:
            return True
        key = "(?:" + "|".join(keys) + ")"
        number = r"(?:[0-9]+|one|two|three|four|five|six|seven|eight|nine|ten|thirty|hundred|thousand|million|" \
                 r"یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|سی|صد|هزار|میلیون)"
        return bool(re.search(rf"(?<!\w){number}(?:[\s,]+\S+){{0,2}}?[\s,]+{key}", norm))


_ROW_HEAD = re.compile(r"^(?:Table \d+, row \d+|جدول [۰-۹]+، ردیف [۰-۹]+)(?: \([^)]*\))?:\s*")


def has_number(text: str, rows_too: bool = False) -> bool:
    """A number stated by the text (a table row's own "Table 2, row 16" counts only when the row is asked)."""
    return bool(_HAS_NUMBER.search(text if rows_too else _ROW_HEAD.sub("", text)))


def _halves(question: str) -> list[str]:
    """The two sides of an "X or Y" question (empty when it has no such shape)."""
    norm = normalize(question)
    for sep in (" یا ", " or "):
        if sep in norm:
            left, right = norm.split(sep, 1)
            return [left, right]
    return []


def _in(term: str, stems: set[str]) -> bool:
    if term in stems:
        return True
    # Inflected forms: "cooperate" ~ "cooperation", "خواهرخواندگی" ~ "خواهرخوانده".
    return len(term) >= 6 and any(len(s) >= 6 and s[:6] == term[:6] for s in stems)


# ---------------------------------------------------------------------- verification
GENERATED_MIN_SUPPORT = 0.5  # share of a generated sentence's content words that its cited passage must have
_QUOTED = re.compile(r"«([^»]+)»|\"([^\"]+)\"|“([^”]+)”")
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10", "twenty": "20", "thirty": "30", "یک": "1", "دو": "2",
                 "سه": "3", "چهار": "4", "پنج": "5", "شش": "6", "هفت": "7", "هشت": "8", "نه": "9", "ده": "10",
                 "بیست": "20", "سی": "30"}


def generated_check(text: str, p: Passage, lang: str) -> Optional[str]:
    """Why a model-written sentence is not supported by the passage it cites (None when it is): it must be
    in the answer language, every quoted span must be in the passage, every number it states must be
    there, and most of its content words (GENERATED_MIN_SUPPORT) must be in the passage (either language)."""
    # The language by its letters (detect_language would count Persian digits as Persian).
    fa = sum(1 for ch in text if ch.isalpha() and ("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff"))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if (fa >= 0.25 * (fa + latin) or fa >= 6) != (lang == "fa") or fa + latin == 0:
        return "not in the answer language"
    words = tokens(text)
    if len(words) >= 8 and len(set(words)) < 0.3 * len(words):
        return "repeats itself"
    sources = [normalize(p.text_in(lang)), normalize(p.text), normalize(p.text_en)]
    for m in _QUOTED.finditer(text):
        quote = normalize(next(g for g in m.groups() if g is not None))
        if quote and not any(quote in src for src in sources):
            return f"quotes {quote!r}, which the passage does not have"
    have = _stems(p.text) | _stems(p.text_en) | _stems(p.heading) | _stems(p.heading_en)
    have |= {_NUMBER_WORDS[t] for t in tokens(p.text) + tokens(p.text_en) if t in _NUMBER_WORDS}
    terms = {stem(t) for t in content_terms(text)}
    if not terms:
        return "states nothing that can be checked"
    numbers = {t for t in terms if t.isdigit()}
    if numbers - have:
        return f"states {', '.join(sorted(numbers - have))}, which the passage does not"
    share = sum(1 for t in terms if _in(t, have)) / len(terms)
    if share < GENERATED_MIN_SUPPORT:
        return f"only {share:.0%} of its words are in the passage"
    if not any(_in(t, have) for t in terms if not t.isdigit()):
        return "none of its words are in the passage"
    return None


def verify(statements: list[Statement], retrieved_ids: set[str], lang: str) -> list[Statement]:
    """Keep only statements whose passage was retrieved (or is a table head) and whose text is in it.
    A generated statement is kept when its passage was retrieved and supports it (generated_check)."""
    kept = []
    for st in statements:
        p = st.passage
        if p.id not in retrieved_ids:
            continue
        if st.generated:
            if generated_check(st.text, p, lang) is None:
                kept.append(st)
            continue
        source = normalize(p.text_in(lang)), normalize(p.text)
        if not all(any(normalize(part) in src for src in source) for part in st.text.split(ELLIPSIS)):
            continue
        kept.append(st)
    return kept


def render(comp: Composition, lang: str) -> tuple[str, list[Statement]]:
    """Answer text with [n] markers; passages cited once each, numbered in order of first use."""
    numbers: dict[str, int] = {}
    cited: list[Statement] = []
    lines = []
    for st in comp.statements:
        if st.passage.id not in numbers:
            numbers[st.passage.id] = len(numbers) + 1
            st.n = numbers[st.passage.id]
            cited.append(Statement(st.text, st.passage, st.n))
        else:  # a second sentence of the same passage: the citation quotes both
            first = next(c for c in cited if c.passage.id == st.passage.id)
            first.text = f"{first.text}{ELLIPSIS}{st.text}"
        n = numbers[st.passage.id]
        marker = f"[{n}]"  # Latin digits in both languages: the UI and the JSON refer to citations by them
        text = st.text.rstrip()
        if comp.kind == "list":
            if st is comp.statements[0] and st.passage.kind == "heading":
                lines.append(f"{text.rstrip('.:')}: {marker}" if lang == "en" else f"{text.rstrip('.:')}: {marker}")
            else:
                lines.append(f"- {text} {marker}")
        else:
            lines.append(f"{text} {marker}")
    sep = "\n" if comp.kind == "list" else " "
    return sep.join(lines), cited
