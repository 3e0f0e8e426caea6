"""What leaves the chat window as data: the conversation as Markdown, a download for the browser (no file
on the server), and the log as plain {'role', 'content'} messages for API clients.

Must not: write files, or import handlers.py (the handlers and the recommendation cards both import this).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from ..types import Citation
from .chatlog import Session
from .sources import where
from .text import dir_of, h


def conversation_markdown(pairs: list, table_titles: dict, page_of: Callable[[Citation], int | None]) -> str | None:
    """The answered (question, Answer) pairs as Markdown, each source with where it is in the paper (and its
    page, when `page_of` finds one); None when there is nothing to export."""
    if not pairs:
        return None
    lines = [
        "# Conversation about the paper on city diplomacy in Tehran",
        "# گفت‌وگو درباره مقاله «دیپلماسی شهری در کلانشهر تهران»",
        "",
    ]
    for q, a in pairs:
        lines += [f"## {q}", "", a.answer, ""]
        if a.citations:
            lines += ["Sources / منابع:", ""]
        for c in a.citations:
            where_en, where_fa = where(c, table_titles)
            page = page_of(c)
            lines += [
                f"- [{c.n}] {where_en} / {where_fa}" + (f", page {page}" if page else "") + f" — `{c.id}`",
                f"  - Persian original: {c.text}",
                f"  - English translation: {c.text_en}",
            ]
            if c.quote:
                lines.append(f"  - Cited: {c.quote}")
        lines.append("")
    return "\n".join(lines)


def plain_messages(session: Session, handlers: object = None) -> list[dict]:
    """The log as a list of {'role','content'} with each message's text (HTML-escaped, direction wrapper),
    refusal notes as assistant messages starting with ⚠️: what an API client reads. (`handlers` is not
    used; callers have passed it since this lived in handlers.py.)"""
    out = []
    for m in session.messages:
        role = "user" if m.role == "user" else "assistant"
        if m.role == "note" and m.note_lang_pair:
            content = "".join(
                f'<div class="msg-{lg}" dir="{dir_of(lg)}" lang="{lg}">⚠️ {h(m.note_lang_pair[lg])}</div>'
                for lg in ("fa", "en")
            )
        else:
            text = ("⚠️ " if m.role == "note" else "") + (m.text or "")
            content = f'<div class="msg-{m.lang}" dir="{dir_of(m.lang)}" lang="{m.lang}">{h(text)}</div>'
        out.append({"role": role, "content": content})
    return out


def download_payload(name: str, mime: str, data: bytes) -> str:
    """What the page turns into a download (no file on the server)."""
    return json.dumps({"name": name, "mime": mime, "b64": base64.b64encode(data).decode("ascii"), "t": time.time()})
