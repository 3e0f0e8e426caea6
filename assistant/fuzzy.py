"""Typo-tolerant word lookup: "is this word one the document uses, perhaps misspelt or inflected?"

Users type «تهرون» for «تهران», "Habitatt", "recomendations". Comparing every question word with every
vocabulary word by edit distance would cost tens of milliseconds a question; a deletion index (each word
filed under itself and its one-letter deletions) finds every word within one insertion, deletion,
substitution or swap of neighbours by a few dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

# Persian plural, possessive, colloquial and adjectival endings; English inflections. Language-general:
# a word that only differs by one of these from a vocabulary word is that word.
SUFFIXES = ("های", "ها", "ای", "ات", "ان", "یی", "ی", "ش", "ست", "ه", "ا", "s", "es", "ed", "ing")


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
