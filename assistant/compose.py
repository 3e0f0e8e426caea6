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
import re
from dataclasses import dataclass
from typing import Optional

from .normalize import normalize, persian_digits, tokens
from .query import Analysis, content_terms, stem
from .retrieve import Hit
from .types import Passage

_SENT_SPLIT = re.compile(r"(?<=[.!?؟])\s+(?=\S)")
_HAS_NUMBER = re.compile(r"[0-9۰-۹]|\b(one|two|three|four|five|six|seven|eight|nine|ten|thirty|hundred|thousand|million)\b|"
                         r"(یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|سی|صد|هزار|میلیون)(?!\w)", re.I)

# The table a list question is about, by the words it uses (both languages, normalized stems).
TABLE_CUES = {
    2: ("sister", "twin", "memorand", "خواهر", "تفاهم", "قرارداد"),
    1: ("organi", "goal", "aim", "reach", "member", "سازمان", "نهاد", "اهداف", "گستره", "عضو", "مجامع"),
    3: ("standing", "position", "status", "role", "جایگاه", "وضعیت", "نقش"),
    4: ("shortcoming", "weakness", "advantage", "strength", "necessit", "need", "کاستی", "ضعف", "مزیت", "ضرورت"),
    5: ("opportunit", "challenge", "obstacle", "barrier", "فرصت", "چالش", "مانع", "موانع"),
    6: ("recommend", "polic", "result", "outcome", "benefit", "توصیه", "سیاستی", "نتایج", "نتیجه", "پیامد"),
}
# Filters on the group column of tables 4-6: (table, words) -> substring of the group's English cell.
GROUP_CUES = [
    (4, ("shortcoming", "weakness", "deficien", "کاستی", "ضعف"), "shortcoming"),
    (4, ("advantage", "strength", "مزیت"), "advantage"),
    (4, ("necessit", "need", "requirement", "ضرورت"), "necessit"),
    (5, ("opportunit", "فرصت"), "opportunit"),
    (5, ("challenge", "obstacle", "barrier", "چالش", "مانع", "موانع"), "challenge"),
    (6, ("recommend", "polic", "توصیه", "سیاستی"), "recommend"),
    (6, ("result", "outcome", "benefit", "نتایج", "نتیجه", "پیامد", "مثبت"), "result"),
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


@dataclass
class Composition:
    statements: list[Statement]
    abstained: bool
    intro: str = ""  # unsourced framing shown before a list (never a claim)
    kind: str = "fact"  # fact | list | abstain


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text) if s.strip()]


def _stems(text: str) -> set[str]:
    return {stem(t) for t in tokens(text)}


class Composer:
    def __init__(self, passages: list[Passage], settings):
        self.settings = settings
        self.passages = passages
        # Document frequencies over both languages, for idf weights of question terms.
        df: dict[str, int] = {}
        for p in passages:
            for s in _stems(p.text) | _stems(p.text_en):
                df[s] = df.get(s, 0) + 1
        self.df = df
        self.n_docs = max(1, len(passages))
        self.by_table: dict[int, list[Passage]] = {}
        for p in passages:
            if p.kind == "table_row" and p.table is not None:
                self.by_table.setdefault(p.table, []).append(p)

    def idf(self, s: str) -> float:
        return math.log(1 + self.n_docs / (1 + self.df.get(s, 0)))

    # ------------------------------------------------------------------ entry
    def compose(self, question: str, query: str, a: Analysis, hits: list[Hit]) -> Composition:
        lang = a.lang
        terms = [stem(t) for t in content_terms(query)]
        own_terms = [stem(t) for t in a.terms]
        if not hits or not terms:
            return Composition([], True, kind="abstain")
        table = self._list_table(a, query, hits)
        if table is not None:
            comp = self._list_answer(table, a, query, hits, lang)
            if comp is not None:
                return comp
        return self._fact_answer(terms, own_terms, a, hits, lang)

    # ------------------------------------------------------------------ lists
    def _list_table(self, a: Analysis, query: str, hits: list[Hit]) -> Optional[int]:
        if not a.wants_list:
            return None
        if a.table in self.by_table:
            return a.table
        norm = normalize(query)
        cued = [t for t, cues in TABLE_CUES.items() if any(c in norm for c in cues)]
        top_tables = [h.passage.table for h in hits[:6] if h.passage.kind == "table_row"]
        for t in top_tables:  # the best-ranked table that the question's words also point at
            if t in cued:
                return t
        if top_tables and top_tables.count(top_tables[0]) >= 3:
            return top_tables[0]
        return None

    def _list_answer(self, table: int, a: Analysis, query: str, hits: list[Hit], lang: str) -> Optional[Composition]:
        rows = sorted(self.by_table[table], key=lambda p: p.row or 0)
        norm_q = normalize(query)
        group_words = [sub for t, cues, sub in GROUP_CUES if t == table and any(c in norm_q for c in cues)]
        if group_words:
            rows = [p for p in rows if any(g in normalize(self._group_en(p)) for g in group_words)]
        if table == 2:
            rows = self._filter_sister_cities(rows, a)
        # Words beyond the table's own vocabulary narrow the list (e.g. "recommendations on education").
        generic = set()
        for cues in TABLE_CUES.values():
            generic |= set(cues)
        specific = [stem(t) for t in content_terms(query)
                    if not any(c in t for c in generic) and self.df.get(stem(t), 0) < 0.15 * self.n_docs]
        ranked_ids = {h.passage.id: i for i, h in enumerate(hits)}
        if specific and table != 2:
            narrowed = [p for p in rows if p.id in ranked_ids and _stems(p.text) | _stems(p.text_en) & set(specific)
                        and (_stems(p.text) | _stems(p.text_en)) & set(specific)]
            if narrowed:
                rows = narrowed
        if not rows:
            return None
        statements = [Statement(self._row_span(p, lang, a), p) for p in rows]
        head = next((p for p in self.passages if p.id == f"t{table}"), None)
        if head is not None:
            title = head.heading_en if lang == "en" else head.heading
            intro_stmt = Statement(title, head)
            statements.insert(0, intro_stmt)
        return Composition(statements, False, kind="list")

    @staticmethod
    def _group_en(p: Passage) -> str:
        cell = p.cells.get("axis") or p.cells.get("kind") or {}
        return cell.get("en", "")

    @staticmethod
    def _filter_sister_cities(rows: list[Passage], a: Analysis) -> list[Passage]:
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
            rows = [p for p in rows if kind(p) == agreement]
        return rows

    def _row_span(self, p: Passage, lang: str, a: Analysis) -> str:
        """The part of a row that answers: for Table 1, the goals or the reach cell when asked for."""
        text = p.text_in(lang)
        if p.table == 1 and p.cells:
            q = " ".join(a.terms)
            want = None
            if any(c in q for c in ("goal", "aim", "objective", "field", "work", "اهداف", "هدف", "زمینه", "کار")):
                want = "goals"
            if any(c in q for c in ("reach", "member", "countr", "many", "size", "گستره", "عضو", "کشور", "تعداد")):
                want = "reach" if want is None else None
            if want:
                cell = (p.cells.get(want) or {}).get(lang, "")
                cell = cell.replace("\n", "؛ " if lang == "fa" else "; ")
                name = (p.cells.get("organisation") or {}).get(lang, "")
                if cell and cell in text:
                    return cell if not name else cell
        # Drop the "Table N, row M:" head: the citation carries that.
        return re.sub(r"^[^:]{0,40}:\s*", "", text, count=1) if p.kind == "table_row" else text

    # ------------------------------------------------------------------ facts
    def _fact_answer(self, terms: list[str], own_terms: list[str], a: Analysis, hits: list[Hit], lang: str) -> Composition:
        weights = {t: self.idf(t) for t in set(terms)}
        total = sum(weights.values()) or 1.0
        own = set(own_terms)
        candidates: list[tuple[float, float, str, Passage, set]] = []
        for rank, h in enumerate(hits[:8]):
            p = h.passage
            prior = 1.0 / (1 + 0.15 * rank)
            other = _stems(p.text if lang == "en" else p.text_en)  # names match across scripts
            spans = [self._row_span(p, lang, a)] if p.kind == "table_row" else sentences(p.text_in(lang))
            for s in spans:
                st = _stems(s)
                matched = {t for t in weights if t in st or (t in other and t.isascii())}
                cover = sum(weights[t] for t in matched) / total
                if a.wants_number and not _HAS_NUMBER.search(s):
                    cover *= 0.5
                score = cover * prior + 0.05 * h.dense
                candidates.append((score, cover, s, p, matched))
        if not candidates:
            return Composition([], True, kind="abstain")
        candidates.sort(key=lambda c: -c[0])
        best = candidates[0]
        own_w = sum(self.idf(t) for t in own) or 1.0
        own_cover = sum(self.idf(t) for t in own if t in best[4]) / own_w
        top_dense = max(h.dense for h in hits[:5])
        if self._abstain(best[1], own_cover, top_dense, a, best[2], own):
            return Composition([], True, kind="abstain")
        chosen = [best]
        covered = set(best[4])
        for c in candidates[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if c[2] in {x[2] for x in chosen} or c[0] < 0.55 * best[0]:
                continue
            gain = c[4] - covered
            if gain or (c[0] >= 0.85 * best[0] and c[3].id != best[3].id and len(chosen) < 2):
                chosen.append(c)
                covered |= c[4]
        return Composition([Statement(c[2], c[3]) for c in chosen], False, kind="fact")

    def _abstain(self, cover: float, own_cover: float, top_dense: float, a: Analysis, best: str, own: set) -> bool:
        s = self.settings
        unknown = [t for t in own if t not in self.df and not t.isdigit()]
        if unknown and own_cover < 0.75 and len(unknown) >= max(1, len(own) // 3):
            return True  # the question is about something the paper never names
        if a.wants_number and not _HAS_NUMBER.search(best):
            return True  # a number was asked for and the best evidence states none
        return cover < s.abstain_min_coverage and top_dense < s.abstain_min_dense


# ---------------------------------------------------------------------- verification
def verify(statements: list[Statement], retrieved_ids: set[str], lang: str) -> list[Statement]:
    """Keep only statements whose passage was retrieved (or is a table head) and whose text is in it."""
    kept = []
    for st in statements:
        p = st.passage
        if p.id not in retrieved_ids:
            continue
        if normalize(st.text) not in normalize(p.text_in(lang)) and normalize(st.text) not in normalize(p.text):
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
            cited.append(st)
        n = numbers[st.passage.id]
        marker = f"[{persian_digits(str(n))}]" if False else f"[{n}]"
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
