"""Persian/English text normalization shared by ingestion, queries and evaluation.

Two levels:
- ``clean_display``: repairs that keep the text readable as written (tatweel,
  presentation forms, Arabic ya/kaf, stray bidi controls, whitespace).
- ``normalize``: the matching form: display repairs plus one digit form (Latin),
  no diacritics, half-spaces as spaces, lower case. Used for BM25 tokens,
  quote verification and answer scoring, never shown to a user.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

TATWEEL = "\u0640"
ZWNJ = "\u200c"
# Arabic letters that Persian writes with its own code points.
_CHAR_MAP = {
    "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
    "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
    "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
    TATWEEL: "",
}
_DISPLAY_TABLE = str.maketrans(_CHAR_MAP)
# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits -> ASCII for matching.
_DIGITS = str.maketrans({chr(0x06F0 + i): str(i) for i in range(10)} | {chr(0x0660 + i): str(i) for i in range(10)})
# Matching only: spelling variants Persian writers mix freely (آیین/آئین, مسائل/مسایل, زمینۀ/زمینه).
_MATCH_LETTERS = str.maketrans(
    {
        "\u0622": "\u0627",
        "\u0623": "\u0627",
        "\u0625": "\u0627",
        "\u0671": "\u0627",
        "\u0624": "\u0648",
        "\u0626": "\u06cc",
        "\u06c0": "\u0647",
        "\u0629": "\u0647",
    }
)
# Number words of both languages and their values ("fifty", «پنجاه»: 50).
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "hundred": 100,
    "thousand": 1000,
    "million": 1000000,
    "یک": 1,
    "دو": 2,
    "سه": 3,
    "چهار": 4,
    "پنج": 5,
    "شش": 6,
    "هفت": 7,
    "هشت": 8,
    "نه": 9,
    "ده": 10,
    "بیست": 20,
    "سی": 30,
    "چهل": 40,
    "پنجاه": 50,
    "شصت": 60,
    "هفتاد": 70,
    "هشتاد": 80,
    "نود": 90,
    "یازده": 11,
    "دوازده": 12,
    "پانزده": 15,
    "صد": 100,
    "هزار": 1000,
    "میلیون": 1000000,
}
# A number in a text: a digit, or a number word as a whole word.
NUMBER = re.compile(
    r"[0-9۰-۹]|\b(" + "|".join(k for k in NUMBER_WORDS if k.isascii()) + r")\b|"
    r"(?<!\w)(" + "|".join(k for k in NUMBER_WORDS if not k.isascii()) + r")(?!\w)",
    re.I,
)
_MULTIPLIERS = {100, 1000, 1000000}
_AND = {"and", "و"}
_TO_PERSIAN_DIGITS = str.maketrans({str(i): chr(0x06F0 + i) for i in range(10)})
# Superscript footnote markers used by the edition (¹²³...) -> ordinary digits.
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# Full-width ASCII (U+FF01..FF5E, as typed with CJK input methods) matches its ASCII twin.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
# Harakat, tanwin, shadda, sukun, superscript alef, hamza above/below marks.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
# Bidi embeddings/overrides/isolates and other invisible format controls (ZWNJ handled apart).
_INVISIBLE = re.compile("[\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]")
_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def _nfkc_presentation(text: str) -> str:
    # NFKC only on the Arabic presentation-form blocks: elsewhere it would fold
    # characters (superscripts, ligatures in Latin text) that carry meaning.
    return _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


# Both are pure and called on the same passage texts for every question: memoized (bounded).
@lru_cache(maxsize=32768)
def clean_display(text: str) -> str:
    """Readable repair of extracted or typed text; keeps digits and half-spaces."""
    text = _nfkc_presentation(text)
    text = text.translate(_DISPLAY_TABLE)
    text = _CONTROL.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = re.sub(f"{ZWNJ}+", ZWNJ, text)
    text = re.sub(f" ?{ZWNJ} ?", lambda m: ZWNJ if m.group() == ZWNJ else " ", text)
    text = _SPACES.sub(" ", text)
    return text.strip()


@lru_cache(maxsize=32768)
def normalize(text: str) -> str:
    """Matching form: idempotent, total on any str."""
    text = clean_display(text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_DIGITS).translate(_SUPERSCRIPTS).translate(_FULLWIDTH)
    text = text.replace(ZWNJ, " ").translate(_MATCH_LETTERS)
    text = _SPACES.sub(" ", text).strip()
    return text.lower()


_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Word and number tokens of the matching form (digits split from letters)."""
    return _TOKEN.findall(normalize(text))


def latin_digits(text: str) -> str:
    """Persian and Arabic-Indic digits -> Latin digits; nothing else changed (case and letters kept)."""
    return text.translate(_DIGITS)


def persian_digits(text: str) -> str:
    """Latin digits -> Persian digits, for display in Persian answers."""
    return text.translate(_TO_PERSIAN_DIGITS)


def number_runs(text: str) -> list[tuple[str, float]]:
    """The numbers a text states, each as (its words as written, normalized; its value)."""
    out: list[tuple[str, float]] = []
    run: list[str] = []
    current = None
    worded = joined = False  # current was written in words; an "and" / «و» followed it
    for t in tokens(text):
        if t.replace(",", "").isdigit():
            if current is not None:
                out.append((" ".join(run), current))
            current, worded, run = float(t), False, [t]
        elif t in NUMBER_WORDS:
            v = NUMBER_WORDS[t]
            if current is not None and v in _MULTIPLIERS:
                current *= v
                run.append(t)
            elif current is not None and worded and v < current and current % 10 ** len(str(v)) == 0:
                current += v  # "hundred (and) four", "twenty four": one number
                run.append(t)
            else:
                if current is not None:
                    out.append((" ".join(run), current))
                current, run = float(v), [t]
            worded = True
        elif t in _AND and current is not None and worded and not joined:
            joined = True
            run.append(t)
            continue
        else:
            if current is not None:
                out.append((" ".join(run[:-1] if joined else run), current))
            current, run = None, []
        joined = False
    if current is not None:
        out.append((" ".join(run[:-1] if joined else run), current))
    return out
