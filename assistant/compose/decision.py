"""The features the answer/abstain decision is made on (calibration.py weighs them) and the reasons
given when the paper does not answer.

For: telling what the chosen evidence lacks (the year, number or person asked for, the entity or the
noun asked about, the count) and how the question sits among the document's keys. Not for: choosing
evidence (facts.py, lists.py) or the decision itself (calibration.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..normalize import NUMBER_WORDS, latin_digits, normalize, tokens
from ..query import STOP_EN, STOP_FA, stem
from ..text import CAUSAL, ROW_HEAD, has_number, has_year, numbers_in, prefix_in, stems
from ..types import Analysis, Composition, Hit, Passage
from .twins import twin
from .weights import TermWeights

_CAPITALISED = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]+)")
_CITATION = re.compile(r"\([A-Z][a-z]+(?: et al\.)?,? \d{4}\)")
_QUOTED = re.compile(r"«([^»]+)»|“([^”]+)”|\"([^\"]+)\"")
# A proper name in English: two or more capitalised words (small joining words between), or an acronym.
_PROPER = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:of|for|and|the|on|de|in)\s+)?[A-Z][\w'’.-]*)+|\b[A-Z]{2,}\b")


def features(
    a: Analysis,
    chosen: Composition,
    fact: Composition,
    hits: list[Hit],
    signals: dict[str, float],
    weights: TermWeights,
    key_words: dict[str, frozenset[str]],
    key_types: dict[str, frozenset[str]],
    common: frozenset[str] = frozenset(),
    places_in: Callable[[str], set[str]] | None = None,
    context_terms: int = 0,
    measured: Callable[[Analysis, Composition], bool] | None = None,
) -> tuple[dict[str, float], list[str]]:
    """The decision's features for the chosen composition (fact: the fact answer, whichever was chosen)
    and the reasons to give if it abstains. key_words/key_types: each passage's keys' stems and types;
    common: the capitalised words that are no one's name in this document (common_words); places_in: the places
    (cities, countries, regions) a text names, the document's subject aside; context_terms: a follow-up's content
    words read with the turn it follows (0 for a question asked alone); measured: does the chosen row count what is
    asked in its table's measure column, whatever the noun ("states" for a column of member countries)?"""
    best_text = " ".join(st.passage.text + " " + st.passage.text_en for st in chosen.statements[:3])
    reasons: list[str] = []
    # A follow-up is read with the turn it follows: the share of words the paper never uses is taken over both
    # ("what is the reason for their insistence?" after a question on who stressed it: one unknown word of many).
    n_terms = max(1, len(a.terms), context_terms)
    unknown_share = len(a.unknown) / n_terms
    if a.unknown_names:
        reasons.append("the paper never mentions " + ", ".join(a.unknown_names))
    elif a.unknown:
        reasons.append("the paper never uses the words: " + ", ".join(a.unknown))
    type_missing = _type_missing(a, chosen, reasons, common, places_in)
    entity_missing = 0.0
    specific = [m.entity for m in a.mentions if m.entity.type not in ("region",)]
    if specific and chosen.statements:
        absent = [e for e in specific if not e.named_in(best_text)]
        if absent and len(absent) == len(specific):
            entity_missing = 1.0
            reasons.append("the evidence does not speak of " + ", ".join(e.name(a.lang) for e in absent))
    # The words the evidence and the questions it is known to answer (its keys) speak of.
    said = set(stems(best_text))
    for st in chosen.statements[:8]:
        said |= key_words.get(st.passage.id, frozenset())
    focus_missing = 0.0
    if (
        a.focus
        and chosen.statements
        and not prefix_in(stem(a.focus), said)
        and not any(
            prefix_in(stem(a.focus), stems(" ".join((m.entity.fa, m.entity.en, *m.entity.aliases)))) for m in a.mentions
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
    if count_missing_in(a, chosen) and not (measured and measured(a, chosen)):
        count_missing = 1.0
        reasons.append(f"it asks how many '{a.counted}'; the evidence gives no such count")
    # What the question asks that neither the evidence nor the questions it is known to answer (its keys)
    # speak of: a paraphrase is explained by the keys, a near miss ("in what year ...") is not.
    own = {stem(t) for t in a.terms if not t.isdigit()}
    unexplained = 1.0 - weights.coverage(own, said) if own else 0.0
    # How much of the asked answer type the evidence is known to answer (its keys' types).
    types: set[str] = set()
    for st in chosen.statements[:8]:
        types |= key_types.get(st.passage.id, frozenset())
    type_support = sum(p for t, p in a.probs.items() if t in types) if (a.probs and types) else 0.5
    cover = chosen.evidence.cover
    if cover is None:
        cover = fact.evidence.cover if fact.evidence.cover is not None else 0.0
    result = {
        "answered_share": float(signals.get("answered_share", 0.5)),
        "near_miss": float(signals.get("near_miss", 0.0)),
        "offtopic": float(signals.get("offtopic", 0.0)),
        # The answerability classifier's probability as log-odds: a second model's output is stacked on its
        # own scale, so its confidence far from even odds counts ("0.001" is not "0.05" with a small step).
        "learned_logodds": log_odds(float(signals.get("learned", 0.5))),
        "type_support": type_support,
        "unexplained": unexplained,
        "focus_missing": focus_missing,
        "count_missing": count_missing,
        "cover": float(cover),
        "own_cover": float(fact.evidence.own_cover if fact.evidence.own_cover is not None else 0.0),
        "dense": float(max((h.dense for h in hits[:5]), default=0.0)),
        "key": float(signals.get("key_top", 0.0)),
        "unknown": unknown_share,
        "unknown_name": 1.0 if a.unknown_names else 0.0,
        "type_missing": type_missing,
        "entity_missing": entity_missing,
    }
    if result["cover"] < 0.2 and not reasons:
        reasons.append("little of the question is found in the paper")
    return result, reasons


def as_written(question: str, word: str) -> str:
    """The question's own spelling of a (normalized) word or two-word phrase ("jakarta" -> "Jakarta", «جدید ترین»
    -> «جدیدترین»), to say back what the paper does not speak of; the word itself when not found."""
    raw = [re.sub(r"['’]s$", "", w.strip("?!.,;:()«»\"“”'؟،")) for w in question.split()]
    for n in (1, 2):
        for i in range(len(raw) - n + 1):
            if normalize(" ".join(raw[i : i + n])) == word:
                return " ".join(raw[i : i + n])
    return word


def log_odds(p: float) -> float:
    """log(p / (1 - p)), p held within [1e-4, 1 - 1e-4]."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _type_missing(
    a: Analysis,
    chosen: Composition,
    reasons: list[str],
    common: frozenset[str] = frozenset(),
    places_in: Callable[[str], set[str]] | None = None,
) -> float:
    """How sure the classifier is that a kind of answer the evidence lacks (a year, a number, a person) is
    asked for, or 1 for a place asked in so many words ("where", «کجا»: no classifier type reads places alone);
    0 when the evidence has it. Adds the reason."""
    if chosen.kind == "list" or not chosen.statements:
        return 0.0
    # A number or year the question itself states is no answer ("about 50 cities: from how many countries?").
    # Each piece read alone: a row's own "Table N, row M" heading is a number only when the row is asked.
    pieces = [x for st in chosen.statements for x in (st.text, twin(st))]
    spans = _unstated(" ".join(x if a.asks_row else ROW_HEAD.sub("", x) for x in pieces), a.raw)
    if a.p("year") >= 0.2 and not has_year(spans):
        reasons.append("it asks for a year; the evidence gives none")
        return a.p("year")
    if a.p("number") >= 0.2 and not has_number(spans, a.asks_row):
        reasons.append("it asks for a number; the evidence states none")
        return a.p("number")
    # A person is asked in so many words ("who", «چه کسی»), as query._ASKS reads them, or a name is asked and the
    # classifier reads a person at even odds or more ("what was the mayor's name?"): the classifier alone also
    # reads the topic, and a question about what some researchers did came out a person question at 0.7.
    # "Who proposed it?" is answered by a title ("the Mayor of Tehran"); "what was the mayor's name?" is not.
    asks_person = "person" in a.interrogatives or ("name" in a.interrogatives and a.p("person") >= 0.5)
    if (
        a.p("person") >= 0.2
        and asks_person
        and not names_someone(
            spans,
            a.raw,
            (common if "name" in a.interrogatives else frozenset()) | _named_words(a),
            items=common,
        )
    ):
        reasons.append("it asks for a person; the evidence names no one")
        return a.p("person")
    # A name or title asked for ("what is the title of ...", "what is it called?", «اسمش چیه»): the evidence must
    # give one the question does not: a quoted title, a proper name, or a place other than those the question
    # names and their countries ("the name of the sister city in <country>": the city; "the title of the agreement
    # with <city>" is not that city's country).
    if "title" in a.interrogatives:
        given = {m.entity.id for m in a.mentions} | {m.entity.country for m in a.mentions if m.entity.country}
        if not names_something(spans, a.raw, places_in, given):
            reasons.append("it asks for a name or title; the evidence gives none")
            return 1.0
    # A reason asked for ("why ...?", «چرا»): the evidence must give one (a cause, a purpose, a condition), or it
    # only states what the question asks the reason for. Asked in so many words, a reason is asked at even odds at
    # least, whatever the classifier reads.
    if "reason" in a.interrogatives and not CAUSAL.search(normalize(" ".join(pieces))):
        reasons.append("it asks why; the evidence gives no reason")
        return max(a.p("reason"), 0.5)
    # A place asked for ("where is its headquarters?"): a place the question does not name itself must be named;
    # asked where something happened ("where was the agreement with <city> signed?"), not that place's country.
    if "place" in a.interrogatives and places_in is not None:
        asked = {m.entity.id for m in a.mentions}
        if a.place_of_event:
            asked |= {m.entity.country for m in a.mentions if m.entity.country}
        if not any(places_in(x) - asked for x in pieces):
            reasons.append("it asks for a place; the evidence names none")
            return 1.0
    return 0.0


def count_missing_in(a: Analysis, chosen: Composition) -> bool:
    """Does a "how many X" question get evidence that states no count of X? A count the question itself states
    is no answer ("of its 95 programmes, how many ...?")."""
    return bool(
        a.counted
        and a.wants_number
        and chosen.kind != "list"
        and not any(
            states_count(_unstated(x, a.raw), a.counted) for st in chosen.statements for x in (st.text, twin(st))
        )
    )


def _unstated(text: str, question: str) -> str:
    """The text without the numbers (digits, either script) that the question states; case kept."""
    given = set(re.findall(r"[0-9]+", normalize(question).replace(",", "")))
    if not given:
        return text
    return re.sub(
        r"[0-9][0-9,]*", lambda m: " " if m.group(0).replace(",", "") in given else m.group(0), latin_digits(text)
    )


def names_someone(
    text: str, question: str, common: frozenset[str] = frozenset(), items: frozenset[str] = frozenset()
) -> bool:
    """Does the text name a person the question does not? (a capitalised Latin name, or a citation). common:
    capitalised words that are no one's name here (a title like "Mayor", a place, an organisation's words). items:
    words that after a semicolon start an item of a list ("...; Protecting the environment"), not a name."""
    asked = set(tokens(question))
    return any(
        (w := m.group(1).lower()) not in asked and w not in common and not (text[m.start() - 2] == ";" and w in items)
        for m in _CAPITALISED.finditer(text)
    ) or bool(_CITATION.search(text))


def _named_words(a: Analysis) -> frozenset[str]:
    """The words of every name of the things the question names (an acronym asked about is written out in full in
    its row): the evidence writing them names no one new."""
    return frozenset(w for m in a.mentions for n in (m.entity.en, *m.entity.aliases) for w in tokens(n))


def names_something(
    text: str,
    question: str,
    places_in: Callable[[str], set[str]] | None = None,
    given: set[str] | frozenset[str] = frozenset(),
) -> bool:
    """Does the text give a name the question does not: a quoted title («...», “...”), an all-capital acronym,
    capitalised words in a row (a plan's or a forum's name) that name no place, or a place other
    than those given (the question's own and their countries)?"""
    asked = normalize(question)
    for m in _QUOTED.finditer(text):
        if normalize(next(g for g in m.groups() if g)) not in asked:
            return True
    for m in _PROPER.finditer(text):
        name = m.group(0)
        if normalize(name) not in asked and not (places_in and places_in(name)):
            return True
    return bool(places_in and places_in(text) - set(given))


def common_words(passages: list[Passage], names: list[str]) -> frozenset[str]:
    """Words that are no one's name in this document: those its English rendering also writes in lower case
    ("mayors" makes "Mayor" a title), and the words of the places and organisations it names (names: their
    spellings)."""
    lower = {w for p in passages for w in re.findall(r"(?<![A-Za-z])[a-z][a-z'-]*", p.text_en)}
    lower |= {w[:-1] for w in lower if w.endswith("s")}  # "mayors" -> "mayor"
    return frozenset(lower | {w for n in names for w in tokens(n)})


def states_count(text: str, noun: str, every: bool = False) -> bool:
    """Is there a number followed (within two words) by the counted noun? ("سی شهر", "184 member countries")
    every: by each of its content words ("17 sister cities" counts "sister cities"; "20 major cities" does not)."""
    if every:
        words = [w for w in normalize(noun).split() if w not in STOP_EN and w not in STOP_FA]
        return all(states_count(text, w) for w in words)
    rx = _count_pattern(noun)
    return True if rx is None else bool(rx.search(normalize(text)))


def counts_in(text: str, noun: str) -> list[float]:
    """The numbers the text gives of the counted noun ("104 members", "one thousand members": 104, 1000), at most
    one word between ("184 member countries"): "250 thousand inhabitants are members" counts no members."""
    rx = _count_pattern(head_noun(noun), 1)
    if rx is None:
        return []
    found = (numbers_in(re.sub(r"(?<=[0-9]),(?=[0-9]{3})", "", m.group("n"))) for m in rx.finditer(normalize(text)))
    return [max(v) for v in found if v]


def head_noun(noun: str) -> str:
    """The word a noun phrase is about: English puts it last ("member countries"), Persian first («کشور عضو»)."""
    words = [w for w in normalize(noun).split() if w not in STOP_EN and w not in STOP_FA] or [noun]
    return words[-1] if words[-1].isascii() else words[0]


def _count_pattern(noun: str, between: int = 2) -> re.Pattern | None:
    """A number (digits or words, several words for one number) followed, with at most `between` words between,
    by one of the noun's content words (their first four letters: "member" counts "members"); None when it has
    none."""
    keys = [re.escape(stem(w)[:4]) for w in normalize(noun).split() if w not in STOP_EN and w not in STOP_FA]
    if not keys:
        return None
    key = "(?:" + "|".join(keys) + ")"
    number = "(?:[0-9][0-9,]*|" + "|".join(NUMBER_WORDS) + ")"
    # A hyphen joins a number to what it counts as a space does ("a 20-year vision", "five-year plans").
    return re.compile(rf"(?<!\w)(?P<n>{number}(?:[\s,-]+{number})*)(?:[\s,]+\S+){{0,{between}}}?[\s,-]+{key}")
