"""Language-general text helpers shared by answering, verification and the UI: sentences, stems,
numbers, years, and the "Table N, row M" head of a row passage. Nothing here knows a document."""

from __future__ import annotations

import re
from functools import lru_cache

from .normalize import NUMBER, normalize, number_runs, tokens
from .query import stem

# Sentence ends, but not "1." in an enumeration ("two forms, namely: 1. ... 2. ...").
_SENT_SPLIT = re.compile(r"(?<=[^0-9۰-۹][.!?؟])\s+(?=\S)")
YEAR = re.compile(r"(?<![0-9۰-۹])([12][0-9]{3}|[۱۲][۰-۹]{3})(?![0-9۰-۹])|\b(1[0-9]|20)[0-9]0s\b|دهه [0-9۰-۹]+")
# How a sentence says what something is, in either language (a definition question prefers such a sentence).
DEFINES = re.compile(
    r"\b(?:is an?|means|is meant by|refers? to|signifies|is defined as|in other words)\b|"
    r"یعنی|عبارت است از|به معنای|منظور از|تعریف|اطلاق می|به شمار می"
)
# How a text gives a reason or a purpose, in either language: a "why" question answered by a sentence that has
# none of these is answered with a fact it asked the reason for.
CAUSAL = re.compile(
    r"\b(?:because|due to|owing to|as a result|results? (?:of|in|from)|resulted|in order to|so that|so as to|"
    r"therefore|thus|hence|that is why|this is why|caus(?:e|es|ed|ing)|leads? to|led to|leading to|"
    r"stem(?:s|med)? from|aris(?:e|es|ing) from|reasons?|aim(?:s|ed)? (?:at|to)|purpose|goals?|given that|"
    r"in view of|so long as|if)\b|"
    r"(?<!\w)(?:زیرا|چرا که|چون|چونکه|به دلیل|به علت|به سبب|به خاطر|از این رو|بنابراین|در نتیجه|به منظور|"
    r"برای اینکه|ناشی از|موجب|باعث|منجر|سبب|علت|دلیل|هدف|اهداف|از آنجا که|با توجه به|به همین|لذا|اگر|چنانچه)(?!\w)"
)
# The head every row passage starts with (ingest.py writes it): "Table N, row M: " / «جدول N، ردیف M: »
ROW_HEAD = re.compile(r"^(?:Table \d+, row \d+|جدول [۰-۹]+، ردیف [۰-۹]+)(?: \([^)]*\))?:\s*")


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for s in (s.strip() for s in _SENT_SPLIT.split(text)):
        if not s:
            continue
        if out and len(out[-1].split()) < 4:  # "Figure 1." is a label, not a sentence
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return tuple(out)


# A sentence that opens by pointing back ("This is a matter that ...", «امری که ...», «این امر ...») goes on with the
# one before it: said alone, the earlier sentence leaves out what the later one says of it.
CONTINUES = re.compile(
    r"^\W*(?:(?:(?:in|on|for|by|from|with|at|to|under)\s+)?(?:this|these|that|those|such)\b|(?:it|they|its|their)\b|"
    r"(?:(?:از|در|بر|به|با)\s+)?(?:این|آن|چنین|همین|اینها|آنها|بدین|بدان)(?!\w)|[\w\u200c]+ی\s+که(?!\w))",
    re.IGNORECASE,
)


# A sentence that opens with a consequence ("Consequently, women should be ...", «بنابراین ...») draws it from the
# sentence before: asked why, that one gives the reason.
CONSEQUENCE = re.compile(
    r"^\W*(?:(?:consequently|therefore|thus|hence|accordingly|as a result|for this reason)\b|"
    r"(?:بنابراین|از این رو|از این‌رو|در نتیجه|لذا|به همین دلیل|به همین جهت|بدین ترتیب)(?!\w))",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    return list(_sentences(text))


# Persian compound prepositions: a preposition and a noun that together mean "as", "in order to", "because of",
# "through" ... The noun there is no topic: «به عنوان» (as) says nothing of a title («عنوان»).
_COMPOUND_PREPOSITIONS = frozenset(
    tuple(tokens(p))
    for p in (
        "به عنوان",
        "به منظور",
        "به دلیل",
        "به سبب",
        "به خاطر",
        "به جای",
        "به وسیله",
        "به رغم",
        "به واسطه",
        "از طریق",
        "از نظر",
        "از لحاظ",
        "در راستای",
        "در جهت",
        "با توجه",
        "بر اساس",
        "بر پایه",
    )
)


# And the other order: a word and the preposition it governs that together mean "concerning", "based on",
# "related to": «ناظر بر» (concerning) says nothing of an observer («ناظر»).
_PREPOSITIONAL_PHRASES = frozenset(
    tuple(tokens(p)) for p in ("ناظر بر", "مبنی بر", "مربوط به", "راجع به", "نسبت به", "حاکی از")
)


@lru_cache(maxsize=8192)
def stems(text: str) -> frozenset[str]:
    # Pure and called on the same passages and sentences for every question: memoized.
    toks = tokens(text)
    return frozenset(
        stem(t)
        for i, t in enumerate(toks)
        if not (i and (toks[i - 1], t) in _COMPOUND_PREPOSITIONS)
        and not (i + 1 < len(toks) and (t, toks[i + 1]) in _PREPOSITIONAL_PHRASES)
    )


def prefix_in(term: str, stem_set) -> bool:
    """The term is in the set, or an inflected form of it is ("cooperate" ~ "cooperation")."""
    if term in stem_set:
        return True
    return len(term) >= 6 and any(len(s) >= 6 and s[:6] == term[:6] for s in stem_set)


def has_number(text: str, rows_too: bool = False) -> bool:
    """A number stated by the text (a row's own "Table N, row M" counts only when the row is asked)."""
    return bool(NUMBER.search(text if rows_too else ROW_HEAD.sub("", text)))


def has_year(text: str) -> bool:
    return bool(YEAR.search(ROW_HEAD.sub("", text)))


def numbers_in(text: str) -> list[float]:
    """The quantities a text states, digits or words ("more than one thousand" -> 1000, «سی شهر» -> 30; "one
    hundred and four", «صد و چهار», "twenty four" -> 104, 24: a word number adds a smaller one that follows)."""
    return [v for _, v in number_runs(ROW_HEAD.sub("", text))]


# A question that asks for a difference ("how does X differ from Y", «تفاوت X با Y»): its two sides are joined
# by the words below, not by "or".
_DIFFERENCE = re.compile(r"\b(?:differ\w*|difference|compare\w*|comparison|versus|vs)\b|تفاوت|فرق|مقایسه")
_SIDE_JOINS = (
    " compared with ",
    " compared to ",
    " versus ",
    " vs ",
    " differ from ",
    " differs from ",
    " from ",
    " and ",
    " با ",
    " و ",
)


def halves(question: str) -> list[str]:
    """The two sides of an "X or Y" question, or of one that asks how X and Y differ (empty otherwise)."""
    norm = normalize(question)
    for sep in (" یا ", " or "):
        if sep in norm:
            left, right = norm.split(sep, 1)
            return [left, right]
    if _DIFFERENCE.search(norm):
        for sep in _SIDE_JOINS:  # the first joining word found, in this order of preference
            if sep in norm:
                left, right = norm.split(sep, 1)
                if left.strip() and right.strip():
                    return [left, right]
    return []


def row_label(table: int, row: int, lang: str) -> str:
    """'Table N, row M' / «جدول N، ردیف M» (the words of a row's citation)."""
    from .normalize import persian_digits

    if lang == "fa":
        return f"جدول {persian_digits(str(table))}، ردیف {persian_digits(str(row))}"
    return f"Table {table}, row {row}"
