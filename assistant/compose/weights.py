"""How much each question term weighs: idf over the document's passages (both languages), and the
idf-weighted share of a question's terms that a piece of evidence carries.

For: the composer's scores and the coverage figures its decision reads. Not for: choosing evidence."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from ..query import stem
from ..text import prefix_in, stems
from ..types import Passage

# A word in fewer than this share of the passages is specific to what it speaks of ("weapons", not "city").
RARE_SHARE = 0.15


class TermWeights:
    def __init__(self, passages: list[Passage], tokens_of: Callable[[Passage, str], list[str]] | None = None):
        # Document frequencies over both languages. tokens_of: the index's stored tokens (Store.tokens), so a
        # fresh process does not re-normalize the corpus.
        df: dict[str, int] = {}
        for p in passages:
            st: Collection[str]
            if tokens_of is not None:
                st = {stem(t) for lang in ("fa", "en") for t in tokens_of(p, lang)}
            else:
                st = stems(p.text) | stems(p.text_en)
            for s in st:
                df[s] = df.get(s, 0) + 1
        self.df = df
        self.n_docs = max(1, len(passages))

    def rare(self, s: str) -> bool:
        """Said in few passages (under RARE_SHARE of them): a word that tells one passage from the others."""
        return self.df.get(s, 0) < RARE_SHARE * self.n_docs

    def idf(self, s: str) -> float:
        return math.log(1 + self.n_docs / (1 + self.df.get(s, 0)))

    def coverage(self, terms: set[str], stem_set: Collection[str]) -> float:
        """idf-weighted share of the terms found in a set of stems (prefix match for inflections)."""
        if not terms:
            return 0.0
        total = sum(self.idf(t) for t in terms) or 1.0
        return sum(self.idf(t) for t in terms if prefix_in(t, stem_set)) / total
