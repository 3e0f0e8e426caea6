"""A streaming chat model's answer shown as it is written: sentence by sentence, each once it passes the
checks the final answer goes through.

Must not: render HTML or touch a session (handlers.py does both); nothing here decides the final answer.
"""

from __future__ import annotations

import queue
import re
import threading

STREAM_POLL_S = 0.2  # how often the window looks for newly verified sentences


class StreamTap:
    """Shows a streaming chat model's answer sentence by sentence, each once it passes the same checks the
    final answer goes through (llm.parse_reply + compose.verify against the passages the model was given).

    The Generator has one `on_chunk` hook for the whole process; the tap routes each chunk to the question
    being answered on that thread, and notes which passages that question's model call was given."""

    def __init__(self, generator):
        self.generator = generator
        self._listeners: dict[int, _Listener] = {}
        generator.on_chunk = self._dispatch
        original = generator.messages

        def messages(turn, extractive=None):
            msgs, context = original(turn, extractive)
            listener = self._listeners.get(threading.get_ident())
            if listener is not None:
                listener.context = context
                listener.lang = turn.lang if turn.lang in ("fa", "en") else "en"
            return msgs, context

        generator.messages = messages

    def _dispatch(self, chunk: str) -> None:
        listener = self._listeners.get(threading.get_ident())
        if listener is not None:
            listener.feed(chunk)

    def listen(self) -> _Listener:
        listener = _Listener()
        self._listeners[threading.get_ident()] = listener
        return listener

    def done(self) -> None:
        self._listeners.pop(threading.get_ident(), None)


_SENTENCE_END = re.compile(r"[.!?؟](?:\s*\[[\d,\s]+\])*\s")


class _Listener:
    def __init__(self):
        self.text = ""
        self.context: list = []
        self.lang = "en"
        self.verified: list[str] = []
        self.updates: queue.Queue[list[str]] = queue.Queue()
        self._checked_upto = 0

    def feed(self, chunk: str) -> None:
        from ..compose import verify
        from ..llm import parse_reply

        self.text += chunk
        ends = [m.end() for m in _SENTENCE_END.finditer(self.text)]
        if not ends or ends[-1] <= self._checked_upto or not self.context:
            return
        self._checked_upto = ends[-1]
        parsed = parse_reply(self.text[: ends[-1]], self.context, self.lang)
        kept = verify(parsed.statements, {p.id for p, _ in self.context}, self.lang)
        sentences = [st.text for st in kept]
        if sentences != self.verified:
            self.verified = sentences
            self.updates.put(list(sentences))
