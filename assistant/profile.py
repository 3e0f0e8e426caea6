"""The paper profile: what the document names and how its tables are organised, read from data.

`corpus/profile.json` lists the entities the paper names (organisations, cities, countries, regions,
indices) with their names in both languages and their aliases, and the role of each table: which column
holds names, places, statuses or groups, and the words people use for each group. Code asks the profile
("which entities does this question name?", "which group of which table does it ask for?") and never
knows a table number or a name itself: another document with its own profile runs through the same code.

Matching forgives what users do: typos (one edit), Persian endings (...‌ها, ...‌هاش), letter and
half-space variants (through normalize), and transliterations listed as aliases.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .fuzzy import SUFFIXES, edit1
from .normalize import normalize, tokens

PROFILE_FILE = "profile.json"
TABLES_FILE = "tables.json"


@dataclass(frozen=True)
class Entity:
    id: str
    type: str  # organisation | city | country | region | index | person | ...
    fa: str
    en: str
    aliases: tuple[str, ...] = ()
    country: str | None = None  # a city's country (entity id)
    regions: tuple[str, ...] = ()  # a country's regions (entity ids)
    within: tuple[str, ...] = ()  # a region's larger regions

    def name(self, lang: str) -> str:
        return self.fa if lang == "fa" else self.en

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every name of it, normalized: what a normalized text that names it contains."""
        return tuple(normalize(n) for n in (self.fa, self.en, *self.aliases) if n)

    def named_in(self, text: str) -> bool:
        """Does a text (as written) name it? Each name as whole words (a Persian name may take an ending:
        «ایرانی»); a short all-capital acronym ("UN", "US") only as written: "us" is a pronoun, "un" begins
        "under"."""
        folded, exact = _name_patterns(self)
        return bool((folded and folded.search(_folded(text))) or (exact and exact.search(text)))


@functools.lru_cache(maxsize=8192)
def _folded(text: str) -> str:
    # The same passages and sentences are read for every question: normalized once.
    return normalize(text)


def _is_acronym(alias: str) -> bool:
    return alias.isascii() and alias.isupper() and len(alias) <= 3


@functools.cache  # one compilation per entity (entities are frozen, hashable)
def _name_patterns(e: Entity) -> tuple[re.Pattern | None, re.Pattern | None]:
    """(names matched in the normalized text, acronyms matched as written), longest first."""
    names = [n for n in (e.fa, e.en, *e.aliases) if n]
    folded = sorted({normalize(n) for n in names if not _is_acronym(n)}, key=len, reverse=True)
    exact = sorted({n for n in names if _is_acronym(n)}, key=len, reverse=True)
    # A Latin name ends at a word's end; a Persian one may take an ending («ایرانی»).
    parts = [
        r"(?<![0-9a-z\u0600-\u06ff])" + re.escape(n) + (r"(?![0-9a-z])" if n[-1:].isascii() else "") for n in folded
    ]
    return (
        re.compile("|".join(parts)) if parts else None,
        re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, exact)) + r")(?![A-Za-z0-9])") if exact else None,
    )


@dataclass(frozen=True)
class Mention:
    entity: Entity
    start: int  # token positions in the question
    end: int


@dataclass(frozen=True)
class Group:
    """A value of a grouping or status column, with the words people use for it."""

    id: str
    match_en: str  # a substring of the column's English cell that identifies the group
    aliases: tuple[str, ...]


@dataclass
class TableRole:
    table: int
    id: str
    role: str
    holds: str
    names: tuple[str, ...] = ()  # words that name what the rows are ("sister city", "challenge")
    name_column: str | None = None
    place_column: str | None = None
    status_column: str | None = None
    group_column: str | None = None
    measure_column: str | None = None  # a column whose numbers can be compared ("more than 100 members")
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> words that ask for it
    groups: tuple[Group, ...] = ()
    statuses: tuple[Group, ...] = ()
    headers: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> its header (fa, en), tables.json

    def described_columns(self) -> dict[str, tuple[str, str]]:
        """The headers that describe a row's own cell ("Country"): not the row number, and not a group or
        status column, whose header names every group at once ("Opportunities / Challenges")."""
        skip = {"row", self.group_column, self.status_column}
        return {k: h for k, h in self.headers.items() if k not in skip}


def _toks(phrase: str) -> tuple[str, ...]:
    return tuple(tokens(phrase))


def _same(q: str, a: str, typo: bool = True) -> bool:
    """Does question token q stand for alias token a (exact, with an ending, or one typo away)?
    typo: whether q may be a misspelling at all (a word the document itself uses is spelt as meant)."""
    if q == a:
        return True
    if len(a) >= 3 and q.startswith(a) and q[len(a) :] in SUFFIXES:
        return True
    # Persian endings on both: «شهردارای» (spoken plural) stands for «شهرداران».
    if q[:4] == a[:4] and not q.isascii() and _base(q) == _base(a) and (_base(q) != q or _base(a) != a):
        return True
    return typo and len(a) >= 5 and q[:1] == a[:1] and edit1(q, a)


_LONGEST_FIRST = sorted(SUFFIXES, key=len, reverse=True)


@functools.lru_cache(maxsize=65536)
def _base(word: str) -> str:
    """The word without one ending, when four letters or more remain."""
    return next((word[: -len(s)] for s in _LONGEST_FIRST if word.endswith(s) and len(word) - len(s) >= 4), word)


def find_phrase(qtoks: list[str], phrase: tuple[str, ...], start: int = 0) -> int:
    """Position of the first occurrence of the phrase's tokens in the question tokens, or -1."""
    n = len(phrase)
    if not n:
        return -1
    for i in range(start, len(qtoks) - n + 1):
        if all(_same(qtoks[i + j], phrase[j]) for j in range(n)):
            return i
    return -1


def _named(groups: tuple[Group, ...], text: str) -> list[Group]:
    """The groups (or statuses) one of whose words the text uses."""
    qtoks = tokens(text)
    return [g for g in groups if any(find_phrase(qtoks, _toks(a)) >= 0 for a in g.aliases)]


# A conditional clause ("if the recommendations are carried out, ...", «اگر توصیه‌ها اجرا شود، ...»): what it names
# is the condition, not what is asked. And "the X of the Y": Y qualifies X.
_CONDITION = re.compile(r"\b(?:if|once|when)\b[^,?؟،]*|(?<!\S)(?:اگر|اگه|چنانچه|درصورتی که|در صورتی که)[^,?؟،]*")
_OF = set(tokens("of from by for the its their"))


def asked_groups(groups: tuple[Group, ...], text: str) -> list[Group]:
    """The groups a question asks for, of those it names: not one named only in a conditional clause ("what does
    the city gain if the recommendations are carried out?") nor one that qualifies another ("the results of the
    recommendations"); all of them otherwise ("the opportunities and challenges")."""
    named = _named(groups, text)
    if len(named) < 2:
        return named
    outside = _CONDITION.sub(" ", normalize(text))
    asked = _named(tuple(named), outside) or named
    qtoks = tokens(outside)
    qualifying = {h.id for g in asked for h in asked if g is not h and _qualifies(qtoks, g, h)}
    return [g for g in asked if g.id not in qualifying] or asked


def _qualifies(qtoks: list[str], g: Group, h: Group) -> bool:
    """Is h named as what g is of ("the results of the recommendations", "benefits from the policies")?"""
    for a in g.aliases:
        i = find_phrase(qtoks, _toks(a))
        j = i + len(_toks(a))
        if i < 0 or j >= len(qtoks) or qtoks[j] not in ("of", "from", "by"):
            continue
        k = j + 1
        while k < len(qtoks) and qtoks[k] in _OF:
            k += 1
        if any(find_phrase(qtoks, _toks(b), k) == k for b in h.aliases if _toks(b)):
            return True
    return False


class Profile:
    def __init__(self, data: dict):
        doc = data.get("document", {})
        self.subject: set[str] = set(doc.get("subject", []))
        self._subject_rx: re.Pattern[str] | None = None  # built on first use (without_subject)
        self.policy_order: list[int] = list(doc.get("policy_order", []))
        # What the chat window offers a newcomer: example questions, and a word to search the policy items by.
        self.examples: list[str] = list(doc.get("examples", []))
        self.search_example: dict = dict(doc.get("search_example", {}))
        self.entities: list[Entity] = []
        for e in data.get("entities", []):
            self.entities.append(
                Entity(
                    id=e["id"],
                    type=e["type"],
                    fa=e.get("fa", ""),
                    en=e.get("en", ""),
                    aliases=tuple(e.get("aliases", [])),
                    country=e.get("country"),
                    regions=tuple(e.get("regions", [])),
                    within=tuple(e.get("within", [])),
                )
            )
        self.by_id = {e.id: e for e in self.entities}
        # The words the document itself uses (set by the engine from its passages and keys): such a word is
        # spelt as meant, never a typo of a name one letter away (a common word is not a city whose name differs
        # from it by one letter).
        self.words: frozenset[str] = frozenset()
        self.tables: dict[int, TableRole] = {}
        for t in data.get("tables", []):
            self.tables[int(t["table"])] = TableRole(
                table=int(t["table"]),
                id=t.get("id", f"t{t['table']}"),
                role=t.get("role", ""),
                holds=t.get("holds", ""),
                names=tuple(t.get("names", [])),
                name_column=t.get("name_column"),
                place_column=t.get("place_column"),
                status_column=t.get("status_column"),
                group_column=t.get("group_column"),
                measure_column=t.get("measure_column"),
                attributes={k: tuple(v) for k, v in (t.get("attributes") or {}).items()},
                groups=tuple(
                    Group(g["id"], g.get("match_en", ""), tuple(g.get("aliases", []))) for g in t.get("groups", [])
                ),
                statuses=tuple(
                    Group(g["id"], g.get("match_en", ""), tuple(g.get("aliases", []))) for g in t.get("statuses", [])
                ),
            )
        # Alias token sequences, longest first, so "New York" wins over "York".
        self._name_spans: dict[str, frozenset[int]] = {}  # text -> the token positions its names take
        self._aliases: list[tuple[tuple[str, ...], Entity, bool]] = []
        for e in self.entities:
            for alias in {e.fa, e.en, *e.aliases} - {""}:
                toks = _toks(alias)
                if toks:
                    # A short all-capital acronym ("UN", "US") matches only as written: "us" is a pronoun.
                    exact_case = _is_acronym(alias)
                    self._aliases.append((toks, e, exact_case))
        self._aliases.sort(key=lambda x: -sum(len(t) for t in x[0]))
        self._first: dict[str, list[int]] = {}
        for i, (toks, _, _) in enumerate(self._aliases):
            self._first.setdefault(toks[0][:1], []).append(i)

    @classmethod
    def load(cls, corpus_dir: Path) -> Profile:
        path = Path(corpus_dir) / PROFILE_FILE
        if not path.is_file():
            return cls({})  # a document without a profile: no entities, no table roles
        profile = cls(json.loads(path.read_text(encoding="utf-8")))
        # The column headers come from the tables themselves (tables.json), not from a second copy here.
        tables = Path(corpus_dir) / TABLES_FILE
        if tables.is_file():
            for t in json.loads(tables.read_text(encoding="utf-8")).get("tables", []):
                role = profile.tables.get(int(t.get("number", 0)))
                if role is not None:
                    role.headers = {
                        c["key"]: (c.get("fa", ""), c.get("en", "")) for c in t.get("columns", []) if "key" in c
                    }
        return profile

    # ------------------------------------------------------------------ entities
    def without_subject(self, text: str) -> str:
        """The normalized text without the document's subject (the city the paper is about): nearly every
        question about the document names it, and questions about other things seldom do, so a classifier of
        "is this asked of the document?" would learn the name instead of what is asked (the subject city's air
        pollution)."""
        if self._subject_rx is None:
            names = sorted({s for i in self.subject if i in self.by_id for s in self.by_id[i].spellings}, key=len)
            # Longest first ("islamic republic of iran" before "iran"); a pattern matching nothing without names.
            alternatives = "|".join(re.escape(n) for n in reversed(names)) or r"(?!)"
            self._subject_rx = re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)")
        return self._subject_rx.sub(" ", normalize(text))

    def mentions(self, text: str) -> list[Mention]:
        """The entities a text names, longest match first, non-overlapping (ties: every entity of that span)."""
        qtoks = tokens(text)
        raw_words = set(text.replace("?", " ").replace(",", " ").split())
        taken: set[int] = set()
        out: list[Mention] = []
        for i, q in enumerate(qtoks):
            for ai in self._first.get(q[:1], []):
                toks, ent, exact_case = self._aliases[ai]
                n = len(toks)
                span = set(range(i, i + n))
                if i + n > len(qtoks) or (span & taken and not any(m.start == i and m.end == i + n for m in out)):
                    continue
                if all(_same(qtoks[i + j], toks[j], qtoks[i + j] not in self.words) for j in range(n)):
                    if exact_case and not any(
                        w.strip("'’.").upper() == w.strip("'’.") and normalize(w.strip("'’.")) == toks[0]
                        for w in raw_words
                    ):
                        continue
                    if not any(m.entity.id == ent.id for m in out):
                        out.append(Mention(ent, i, i + n))
                        taken |= span
        return out

    def regions_of(self, entity: Entity) -> set[str]:
        """Regions a country (or a city, through its country) lies in, with their larger regions."""
        country = self.by_id.get(entity.country) if entity.country else entity
        out: set[str] = set()
        for r in country.regions if country else ():
            out.add(r)
            reg = self.by_id.get(r)
            out |= set(reg.within) if reg else set()
        return out

    def is_subject(self, entity: Entity) -> bool:
        return entity.id in self.subject

    def names_of_type(self, etype: str) -> list[Entity]:
        return [e for e in self.entities if e.type == etype]

    # ------------------------------------------------------------------ table roles
    def groups_named(self, table: int, text: str) -> list[Group]:
        """The groups of the table's rows the text asks for (asked_groups)."""
        role = self.tables.get(table)
        return asked_groups(role.groups, text) if role else []

    def statuses_named(self, table: int, text: str) -> list[Group]:
        role = self.tables.get(table)
        return _named(role.statuses, text) if role else []

    def attribute_named(self, table: int, text: str) -> str | None:
        """The one attribute column a question asks for ("the goals of", "how many members"), if exactly one."""
        role = self.tables.get(table)
        if role is None:
            return None
        # The words of a name are not an attribute's (a fund "for Cities Development" asks for no cities).
        # A question's names are read once, whichever of its rows and tables asks.
        if text not in self._name_spans:
            if len(self._name_spans) > 2048:
                self._name_spans.clear()
            self._name_spans[text] = frozenset(i for m in self.mentions(text) for i in range(m.start, m.end))
        inside = self._name_spans[text]
        qtoks = [t if i not in inside else "" for i, t in enumerate(tokens(text))]
        named = [col for col, words in role.attributes.items() if any(find_phrase(qtoks, _toks(w)) >= 0 for w in words)]
        return named[0] if len(named) == 1 else None

    def tables_named(self, text: str) -> list[int]:
        """Tables whose kind of row or one of whose groups the text names ("sister cities", "challenges")."""
        qtoks = tokens(text)
        out = []
        for n, role in self.tables.items():
            words = list(role.names) + [a for g in role.groups + role.statuses for a in g.aliases]
            if any(find_phrase(qtoks, _toks(w)) >= 0 for w in words):
                out.append(n)
        return out

    def policy_tables(self) -> list[int]:
        """The tables of the policy view (recommendations first), in the profile's order."""
        order = [n for n in self.policy_order if n in self.tables]
        return order or [n for n, r in self.tables.items() if r.role == "policy"]
