"""Citations checked before anything is shown: every statement must be an exact span of a passage the chain
read, and a model-written sentence must be supported by the passage it cites. Also the answer's text with
its [n] markers."""

from __future__ import annotations

import re

from .normalize import NUMBER_WORDS, normalize, tokens
from .query import content_terms, stem
from .text import prefix_in as _in
from .text import stems as _stems
from .types import Composition, Passage, Statement  # the records live in types.py; imported from here too

ELLIPSIS = " … "  # joins exact spans of one passage inside a statement; each span is verified


GENERATED_MIN_SUPPORT = 0.5  # share of a generated sentence's content words that its cited passage must have
_QUOTED = re.compile(r"«([^»]+)»|\"([^\"]+)\"|“([^”]+)”")


def generated_check(text: str, p: Passage, lang: str) -> str | None:
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
    have |= {str(NUMBER_WORDS[t]) for t in tokens(p.text) + tokens(p.text_en) if t in NUMBER_WORDS}
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
