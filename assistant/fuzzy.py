"""Typo-tolerant word lookup: "is this word one the document uses, perhaps misspelt or inflected?"

Users type «تهرون» for «تهران», "Habitatt", "recomendations". Comparing every question word with every
vocabulary word by edit distance would cost tens of milliseconds a question; a deletion index (each word
filed under itself and its one-letter deletions) finds every word within one insertion, deletion,
substitution or swap of neighbours by a few dictionary lookups.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from functools import lru_cache

# Persian plural, possessive, colloquial and adjectival endings; English inflections. Language-general:
# a word that only differs by one of these from a vocabulary word is that word.
SUFFIXES = ("های", "ها", "ای", "ات", "ان", "یی", "ی", "ش", "ست", "ه", "ا", "s", "es", "ed", "ing")


# A Latin-script word derived from a document word ("dissemination" / "disseminating") shares a long beginning
# with it: at least STEM_MIN letters and STEM_SHARE of the longer word ("population" / "popular" do not: 6 of
# 10). 0.55-0.75 alike on the dev sets (one rewording gained); Persian derivation is not prefix-shaped.
STEM_MIN = 5
STEM_SHARE = 0.65


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class FuzzyVocab:
    """A set of words with lookups that forgive one edit (words of min_len letters or more: shorter Persian
    words are a letter apart from unrelated ones, «بودجه»/«بوده») and an ending."""

    def __init__(self, words: Iterable[str], min_len: int = 6):
        self.words: set[str] = {w for w in words if w}
        self.min_len = min_len
        self._del: dict[str, set[str]] = {}
        for w in self.words:
            if len(w) >= min_len - 1:
                for d in _deletions(w) | {w}:
                    self._del.setdefault(d, set()).add(w)
        self._cache: dict[str, str | None] = {}
        self._latin = sorted(w for w in self.words if w.isascii() and w.isalpha())  # for shares_stem

    def shares_stem(self, word: str) -> bool:
        """Is a Latin-script word a derivation of a vocabulary word: a long common beginning ("dissemination" /
        "disseminating", "largely" / "large")? At least STEM_MIN letters and STEM_SHARE of the longer word."""
        if not (word.isascii() and word.isalpha()) or len(word) < STEM_MIN:
            return False
        i = bisect.bisect_left(self._latin, word[:STEM_MIN])
        while i < len(self._latin) and self._latin[i].startswith(word[:STEM_MIN]):
            other = self._latin[i]
            if _common_prefix(word, other) >= max(STEM_MIN, STEM_SHARE * max(len(word), len(other))):
                return True
            i += 1
        return False

    def __contains__(self, word: str) -> bool:
        return self.match(word) is not None

    def match(self, word: str) -> str | None:
        """The vocabulary word this word is (itself, without an ending, or one edit away), or None."""
        if word in self._cache:
            return self._cache[word]
        found = self._match(word)
        if len(self._cache) < 50000:
            self._cache[word] = found
        return found

    def _match(self, word: str) -> str | None:
        if word in self.words:
            return word
        if word.isdigit():
            return None  # a number is stated or it is not: never "close to" another number
        for suf in SUFFIXES:
            # A one-letter ending only on a stem of four letters or more: «فردا» is not «فرد» + «ا».
            if (
                word.endswith(suf)
                and len(word) - len(suf) >= (4 if len(suf) == 1 else 3)
                and word[: -len(suf)] in self.words
            ):
                return word[: -len(suf)]
        if len(word) < self.min_len:
            return None
        cands: set[str] = set()
        for d in _deletions(word) | {word}:
            cands |= self._del.get(d, set())
        # Same first letter: a typo seldom hits the first letter, and this keeps "plants" from "plans"-like
        # accidents rarer; the closest (longest common prefix) wins.
        cands = {c for c in cands if c[0] == word[0] and edit1(word, c)}
        if not cands:
            return None
        return max(sorted(cands), key=lambda c: _common_prefix(word, c))


@lru_cache(maxsize=65536)
def edit1(a: str, b: str) -> bool:
    """Within one insertion, deletion, substitution or swap of neighbours ("fomr" / "form")."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return True
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :] if la < lb else a[i + 1 :] == b[i + 1 :]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
