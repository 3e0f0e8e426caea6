"""Text for the chat window: escaping, direction marks, bilingual notices.

Everything the window shows from a user or a document goes through `h()` (HTML-escaped, no markup),
so a `<script>`, a Markdown link or a bare URL in a question or a passage shows as text.
"""

from __future__ import annotations

import html
import re

from ..normalize import clean_display, persian_digits
from ..query import detect_language
from ..settings import Settings
from ..types import Lang

RLM, LRM = "\u200f", "\u200e"
LANG_CHOICES = ["auto", "فارسی", "English"]
FA_FONTS = "'Vazirmatn', 'Noto Sans Arabic', 'Noto Naskh Arabic', Tahoma, sans-serif"
PREVIEW_CHARS = 300  # how much of a refused (too long) question the chat repeats


def h(text: str) -> str:
    """Text -> HTML that shows exactly that text (quotes included, so it is safe in attributes)."""
    return html.escape(text or "", quote=True)


def fa(text: str) -> str:
    """A Persian phrase that keeps its final full stop/question mark at its own (left) end when it sits
    in a left-to-right line (placeholders, status lines): a right-to-left mark closes it."""
    return text + RLM


def bi(en: str, fa_text: str) -> str:
    """A bilingual label 'English · فارسی' whose Persian punctuation lands right in either direction."""
    return f"{en} · {fa(fa_text)}"


def lang_of(choice: str | None) -> Lang | None:
    langs: dict[str, Lang] = {"فارسی": "fa", "English": "en", "fa": "fa", "en": "en"}
    return langs.get(choice or "auto")


def dir_of(lang: str) -> str:
    return "rtl" if lang == "fa" else "ltr"


def fa_number(n: int) -> str:
    return persian_digits(f"{n:,}").replace(",", "٬")


def question_language(question: str) -> str:
    return detect_language(question[:2000]) if question else "en"


def question_problem(question: str, settings: Settings) -> str | None:
    """'empty', 'too_long' or None: the checks `Assistant.ask` makes, done first so the chat answers
    in a friendly way (and never runs the chain on 100,000 characters)."""
    q = clean_display(question)
    if not any(ch.isalnum() for ch in q):
        return "empty"
    if len(q) > settings.max_question_chars:
        return "too_long"
    return None


def friendly_messages(problem: str, question: str, settings: Settings, detail: str = "") -> dict[str, str]:
    """{'fa': ..., 'en': ...} for a question the assistant cannot take."""
    limit = settings.max_question_chars
    if problem == "empty":
        return {
            "fa": "لطفاً پرسشی درباره مقاله بنویسید؛ به فارسی یا انگلیسی.",
            "en": "Please type a question about the paper, in Persian or English.",
        }
    if problem == "too_long":
        n = len(question)  # as typed: what the counter in the box showed
        return {
            "fa": f"پرسش شما {fa_number(n)} نویسه است و بیش از اندازه بلند است؛ لطفاً آن را کوتاه کنید "
            f"(حداکثر {fa_number(limit)} نویسه).",
            "en": f"Your question is {n:,} characters long, which is too long; please shorten it to "
            f"{limit:,} characters or fewer.",
        }
    if problem == "error":
        return {
            "fa": "متأسفیم، در پاسخ‌گویی خطایی رخ داد؛ لطفاً دوباره تلاش کنید.",
            "en": "Sorry, something went wrong while answering; please try again.",
        }
    if problem == "stopped":
        return {"fa": "نوشتن پاسخ متوقف شد.", "en": "Stopped: the answer was not finished."}
    return {
        "fa": f"این پرسش را نمی‌توان به این شکل پاسخ داد ({detail}). لطفاً آن را بازنویسی کنید.",
        "en": f"This question cannot be answered as written ({detail}). Please rephrase it.",
    }


def preview(question: str) -> str:
    """What the chat repeats of a refused question: all of it, or its start and '…' when long."""
    shown = clean_display(question[: PREVIEW_CHARS * 4])
    if len(shown) > PREVIEW_CHARS or len(question) > PREVIEW_CHARS * 4:
        shown = shown[:PREVIEW_CHARS].rstrip() + " …"
    return shown


_MARKER = re.compile(r"\[(\d+)\]")


def multiline(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(h(line) for line in (text or "").split("\n"))
