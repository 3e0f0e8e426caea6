"""A conversation as the window shows it: a bounded list of messages (the user's, the assistant's
answers, short system notes) rendered as one accessible HTML log.

Each message carries its own language and direction (`lang`/`dir`), and an answer carries its own
sources, so an earlier answer's sources stay reachable after a new question. System notes (a refused
question, an error, a stop) have no rating buttons.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..normalize import persian_digits
from ..types import Answer
from .sources import card_html, chips_html, linked_markers
from .text import dir_of, h, multiline

MAX_MESSAGES = 40  # a session keeps the latest 40 messages (20 questions and answers); older ones are dropped
SESSION_TTL_S = 2 * 3600  # an idle session is dropped after two hours (gr.State time_to_live)


@dataclass
class Message:
    id: str
    role: str  # "user" | "assistant" | "note"
    lang: str
    text: str = ""  # the question as typed (display form), the answer's text, or the note
    answer: Answer | None = None
    state: str = "done"  # "pending" (typing indicator), "streaming", "done"
    draft: list[str] = field(default_factory=list)  # verified sentences shown while a chat model writes
    rating: str | None = None
    note_lang_pair: dict | None = None  # {'fa':..., 'en':...}: a note said in both languages


_ids = itertools.count(1)


@dataclass
class Session:
    messages: list[Message] = field(default_factory=list)
    id: str = field(default_factory=lambda: f"{next(_ids):x}{int(time.time() * 1000) % 100000:x}")
    feedback_times: list[float] = field(default_factory=list)
    cancelled: set = field(default_factory=set)  # ids of answers the user stopped
    _n: int = 0

    def new_id(self) -> str:
        self._n += 1
        return f"m{self._n}"

    def add(self, msg: Message) -> Message:
        self.messages.append(msg)
        if len(self.messages) > MAX_MESSAGES:
            del self.messages[: len(self.messages) - MAX_MESSAGES]
            self.cancelled &= {m.id for m in self.messages}
        return msg

    def get(self, msg_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == msg_id), None)

    def answered(self) -> list[tuple[str, Answer]]:
        """(question, answer) pairs, in order."""
        out, last_q = [], None
        for m in self.messages:
            if m.role == "user":
                last_q = m.text
            elif m.role == "assistant" and m.answer is not None:
                out.append((last_q or m.answer.question, m.answer))
        return out

    @property
    def turns(self) -> list[tuple[str, Answer]]:
        return self.answered()

    def history(self) -> list[dict]:
        out = []
        for q, a in self.answered()[-3:]:
            out += [{"role": "user", "content": q}, {"role": "assistant", "content": a.answer}]
        return out

    @property
    def language(self) -> str | None:
        pairs = self.answered()
        return pairs[-1][1].language if pairs else None


# ---------------------------------------------------------------------- rendering
def answer_body(ans: Answer, msg_id: str) -> str:
    """The answer's text as HTML: lines starting with '- ' as a list, [n] as links to this message's cards."""
    known = {c.n for c in ans.citations}
    out: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>")
            items.clear()

    for line in ans.answer.split("\n"):
        if not line.strip():
            continue
        escaped = linked_markers(h(line[2:] if line.startswith("- ") else line), msg_id, known)
        if line.startswith("- "):
            items.append(escaped)
        else:
            flush()
            out.append(f"<p>{escaped}</p>")
    flush()
    if ans.note:
        out.append(f'<p class="note-line"><em>{h(ans.note)}</em></p>')
    return "".join(out)


def sources_html(
    ans: Answer,
    msg_id: str,
    cells: dict,
    page_of: Callable,
    pdf_url: str | None,
    table_titles: dict,
    open_: bool = False,
) -> str:
    if not ans.citations:
        return ""
    n = len(ans.citations)
    cards = "".join(card_html(c, msg_id, cells.get(c.id), page_of(c), pdf_url, table_titles) for c in ans.citations)
    return (
        f'<details class="sources" id="{msg_id}-sources"{" open" if open_ else ""}>'
        f'<summary>Sources ({n}) · <bdi lang="fa" dir="rtl">منابع ({persian_digits(str(n))})</bdi></summary>'
        f"{cards}</details>"
    )


def _actions(msg: Message) -> str:
    rated = msg.rating or ""
    up = ' aria-pressed="true"' if rated == "up" else ' aria-pressed="false"'
    down = ' aria-pressed="true"' if rated == "down" else ' aria-pressed="false"'
    thanks = (
        (
            '<span class="thanks" role="status">Thank you, feedback saved. · '
            '<bdi lang="fa" dir="rtl">سپاس، بازخورد ثبت شد.</bdi></span>'
        )
        if rated
        else ""
    )
    return (
        f'<div class="actions" data-msg="{msg.id}">'
        f'<button type="button" class="act" data-act="copy" aria-label="Copy answer · رونوشت پاسخ">⧉ Copy</button>'
        f'<button type="button" class="act" data-act="up"{up} aria-label="Good answer · پاسخ خوب">👍</button>'
        f'<button type="button" class="act" data-act="down"{down} aria-label="Bad answer · پاسخ نادرست">👎</button>'
        f'<button type="button" class="act" data-act="fix" aria-expanded="false" '
        f'aria-label="Correct this answer · اصلاح این پاسخ">✎ Correct · <bdi lang="fa">اصلاح</bdi></button>'
        f"{thanks}"
        f'<div class="fix" hidden><label>What should the answer have said? · '
        f'<bdi lang="fa" dir="rtl">پاسخ درست چه بود؟</bdi>'
        f'<textarea class="fix-text" rows="2" maxlength="4000" dir="auto"></textarea></label>'
        f'<button type="button" class="act" data-act="send-fix">Send · <bdi lang="fa">ارسال</bdi></button></div>'
        f"</div>"
    )


def message_html(
    msg: Message, cells: dict, page_of: Callable, pdf_url: str | None, table_titles: dict, latest: bool = False
) -> str:
    d = dir_of(msg.lang)
    if msg.role == "user":
        return (
            f'<div class="msg user" id="{msg.id}" lang="{msg.lang}" dir="{d}">'
            f'<div class="who" lang="en" dir="ltr">You · <bdi lang="fa">شما</bdi></div>'
            f'<div class="body">{multiline(msg.text)}</div></div>'
        )
    if msg.role == "note":
        pair = msg.note_lang_pair or {}
        if pair:
            body = "".join(
                f'<p lang="{lg}" dir="{dir_of(lg)}">⚠️ {h(pair[lg])}</p>' for lg in ("fa", "en") if lg in pair
            )
        else:
            body = f"<p>⚠️ {h(msg.text)}</p>"
        return (
            f'<div class="msg note" id="{msg.id}" role="note" lang="{msg.lang}" dir="{d}">'
            f'<div class="who" lang="en" dir="ltr">System note · <bdi lang="fa">یادداشت سامانه</bdi></div>'
            f"{body}</div>"
        )
    # assistant
    if msg.state in ("pending", "streaming"):
        draft = "".join(f"<p>{h(s)}</p>" for s in msg.draft)
        return (
            f'<div class="msg bot writing" id="{msg.id}" lang="{msg.lang}" dir="{d}" aria-busy="true">'
            f'<div class="who" lang="en" dir="ltr">Assistant · <bdi lang="fa">دستیار</bdi></div>'
            f'<div class="body">{draft}</div>'
            f'<div class="typing" role="status" lang="en" dir="ltr"><span class="dots" aria-hidden="true">'
            f'<i></i><i></i><i></i></span> Writing… · <bdi lang="fa">در حال نوشتن…</bdi></div></div>'
        )
    ans = msg.answer
    assert ans is not None  # an assistant message that is neither pending nor streaming carries its answer
    body = answer_body(ans, msg.id)
    extra = ""
    if ans.abstained:
        extra = (
            '<p class="tr">No sources: the paper does not answer this. · '
            '<bdi dir="rtl" lang="fa">منبعی نیست: مقاله به این پرسش پاسخ نمی‌دهد.</bdi></p>'
        )
    return (
        f'<div class="msg bot" id="{msg.id}" lang="{ans.language}" dir="{dir_of(ans.language)}">'
        f'<div class="who" lang="en" dir="ltr">Assistant · <bdi lang="fa">دستیار</bdi></div>'
        f'<div class="body">{body}</div>{extra}'
        f"{chips_html(ans, msg.id)}"
        f"{sources_html(ans, msg.id, cells, page_of, pdf_url, table_titles, open_=latest)}"
        f"{_actions(msg)}</div>"
    )


EMPTY = (
    '<div class="empty-chat"><p lang="en">Ask about the paper in Persian or English.</p>'
    '<p lang="fa" dir="rtl">درباره مقاله به فارسی یا انگلیسی بپرسید.</p></div>'
)


def log_html(session: Session | None, cells: dict, page_of: Callable, pdf_url: str | None, table_titles: dict) -> str:
    msgs = session.messages if session else []
    last_answer = next((m.id for m in reversed(msgs) if m.role == "assistant" and m.answer is not None), None)
    inner = (
        "".join(message_html(m, cells, page_of, pdf_url, table_titles, latest=(m.id == last_answer)) for m in msgs)
        or EMPTY
    )
    return f'<div class="chat-log" role="log" aria-live="polite" aria-label="Conversation · گفت‌وگو">{inner}</div>'
