"""What the chat window does, as plain functions of (inputs, session) -> outputs, unit-tested without a
browser; app.py only wires them to components.

A question takes two steps so that it shows at once: `submit` puts the user's message and a typing
indicator in the log (or, for a refused question, the message and a short system note), then `answer`
runs the assistant and yields the log as the answer is written (a streaming chat model's sentences as
they pass verification; the extractive answer whole). Nothing is written to disk per question: the only
files are the feedback log (size- and rate-limited) and explicit exports, which are handed to the
browser as data and removed at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..answer import Assistant, QuestionError, abstention
from ..normalize import clean_display
from ..types import Answer
from .chatlog import Message, Session, log_html
from .export import conversation_markdown, download_payload, plain_messages
from .feedback import (
    FEEDBACK_MAX_BYTES,
    FEEDBACK_PER_SESSION,
    FEEDBACK_WINDOW_S,
    MAX_FEEDBACK_CHARS,
    FeedbackLog,
)
from .recommendations import Recommendations
from .sources import PdfPages, card_html, where
from .stream import STREAM_POLL_S, StreamTap
from .text import friendly_messages, lang_of, preview, question_language, question_problem

# The feedback log, the stream tap and the exports live in their own modules; these names are still
# imported from here.
__all__ = [
    "FEEDBACK_MAX_BYTES",
    "FEEDBACK_PER_SESSION",
    "FEEDBACK_WINDOW_S",
    "MAX_FEEDBACK_CHARS",
    "STREAM_POLL_S",
    "FeedbackLog",
    "Handlers",
    "StreamTap",
    "download_payload",
    "plain_messages",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- handlers
class Handlers:
    def __init__(self, assistant: Assistant, feedback: FeedbackLog):
        self.assistant = assistant
        self.feedback = feedback
        corpus = assistant.settings.corpus_dir
        self.cells = {p.id: p.cells for p in assistant.store.passages if p.cells}
        self.pages = PdfPages(corpus / "paper.fa.pdf")
        self.pdf_path = (corpus / "paper.fa.pdf").resolve()
        self.pdf_url = f"/gradio_api/file={self.pdf_path}" if self.pdf_path.exists() else None
        self.table_titles = _table_titles(corpus)
        gen = getattr(assistant, "generator", None)
        self.tap = StreamTap(gen) if gen is not None and getattr(gen, "streams", False) else None
        self.recs = Recommendations(assistant, self)

    # -------------------------------------------------------------- rendering
    def page_of(self, c) -> int | None:
        page = c.page or self.pages.page_of(c.id, c.text, self.cells.get(c.id))
        if page is None and c.table:  # not matched on its own: where its table's title, or first row, is
            by_id = self.assistant.store.by_id
            for other in (by_id.get(f"t{c.table}"), by_id.get(f"t{c.table}.r1")):
                if other is not None and other.id != c.id and page is None:
                    page = self.pages.page_of(other.id, other.text, other.cells)
        return page or None

    def render(self, session: Session | None) -> str:
        return log_html(session, self.cells, self.page_of, self.pdf_url, self.table_titles)

    def card(self, c, msg_id: str, links: bool = True) -> str:
        return card_html(c, msg_id, self.cells.get(c.id), self.page_of(c), self.pdf_url, self.table_titles, links)

    # -------------------------------------------------------------- asking
    def ask(self, question: str, history: list, lang_choice: str | None) -> Answer:
        """The answer, in the chosen language; the choice changes the rendering only, never whether the
        question is answered: the decision is the one made for the question in its own language."""
        want = lang_of(lang_choice)
        auto = self.assistant.ask(question, history=history, lang=None)
        if want is None or want == auto.language:
            return auto
        if auto.abstained:
            return replace(auto, answer=abstention(want, auto.evidence.get("not_said")), language=want, note="")
        other = self.assistant.ask(question, history=history, lang=want)
        if other.abstained:  # rendered in the other language it would not pass its checks: keep the answer
            note = (
                "No verified English rendering of this answer; shown in the question's language."
                if want == "en"
                else "پاسخ تأییدشده‌ای به فارسی نیست؛ پاسخ به زبان پرسش نمایش داده شده است."
            )
            return replace(auto, note=(auto.note + " " + note).strip())
        return other

    def submit(self, question, session: Session | None, lang_choice: str | None = None):
        """Step 1: show the question at once. -> (box value, log html, session, waiting for an answer?)"""
        session = session or Session()
        question = question if isinstance(question, str) else ""
        problem = question_problem(question, self.assistant.settings)
        if problem:
            self._refuse(session, question, problem)
            # A too-long question stays in the box to be shortened; an empty one is cleared.
            return ("" if problem == "empty" else question), self.render(session), session, False
        q = clean_display(question)
        session.add(Message(session.new_id(), "user", question_language(q), text=q))
        want = lang_of(lang_choice) or question_language(q)
        session.add(Message(session.new_id(), "assistant", want, state="pending"))
        return "", self.render(session), session, True

    def _refuse(self, session: Session, question: str, problem: str, detail: str = "") -> None:
        msgs = friendly_messages(problem, question, self.assistant.settings, detail)
        if problem == "empty":  # no language to go by: said in both
            if question.strip():
                session.add(Message(session.new_id(), "user", question_language(question), text=preview(question)))
            else:
                session.add(Message(session.new_id(), "user", "en", text="(empty · خالی)"))
            session.add(Message(session.new_id(), "note", "fa", note_lang_pair=msgs))
            return
        lg = question_language(question)
        session.add(Message(session.new_id(), "user", lg, text=preview(question)))
        session.add(Message(session.new_id(), "note", lg, text=msgs[lg]))

    def _pending(self, session: Session | None) -> tuple[Message, str] | None:
        if not session:
            return None
        for i in range(len(session.messages) - 1, -1, -1):
            m = session.messages[i]
            if m.role == "assistant" and m.state in ("pending", "streaming"):
                q = next((p.text for p in reversed(session.messages[:i]) if p.role == "user"), "")
                return m, q
        return None

    def answer(
        self, session: Session | None, lang_choice: str | None = None, standalone: bool = False
    ) -> Iterator[tuple[str, Session | None]]:
        """Step 2: answer the pending question; yields (log html, session) as the answer is written."""
        found = self._pending(session)
        if found is None:
            yield self.render(session), session
            return
        assert session is not None  # a pending message was found in it
        msg, question = found
        history = [] if standalone else self._history_before(session, msg)
        if self.tap is None:
            self._finish(session, msg, question, lambda: self.ask(question, history, lang_choice))
            yield self.render(session), session
            return
        result: dict = {}

        def work():
            listener = self.tap.listen()
            result["listener"] = listener
            try:
                result["answer"] = self.ask(question, history, lang_choice)
            except Exception as exc:  # noqa: BLE001 - handed to _finish below
                result["error"] = exc
            finally:
                self.tap.done()

        worker = threading.Thread(target=work, daemon=True, name="answer")
        worker.start()
        while worker.is_alive():
            worker.join(STREAM_POLL_S)
            listener = result.get("listener")
            if listener is None:
                continue
            latest = None
            while not listener.updates.empty():
                latest = listener.updates.get_nowait()
            if latest is not None and msg.id not in session.cancelled:
                msg.draft, msg.state = latest, "streaming"
                yield self.render(session), session
        if msg.id in session.cancelled:
            return

        def outcome():
            if "error" in result:
                raise result["error"]
            return result["answer"]

        self._finish(session, msg, question, outcome)
        yield self.render(session), session

    def _history_before(self, session: Session, msg: Message) -> list[dict]:
        idx = session.messages.index(msg)
        earlier = Session(messages=session.messages[:idx])
        return earlier.history()

    def _finish(self, session: Session, msg: Message, question: str, get_answer) -> None:
        try:
            ans = get_answer()
        except QuestionError as exc:
            self._to_note(session, msg, question, "other", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the window stays usable; one log line, no traceback
            log.error("answering failed: %s", " ".join(f"{type(exc).__name__}: {exc}".split())[:300])  # one line
            self._to_note(session, msg, question, "error")
            return
        msg.answer, msg.state, msg.draft, msg.lang, msg.text = ans, "done", [], ans.language, ans.answer

    def _to_note(self, session: Session, msg: Message, question: str, problem: str, detail: str = "") -> None:
        lg = question_language(question)
        msg.role, msg.state, msg.lang = "note", "done", lg
        msg.text = friendly_messages(problem, question, self.assistant.settings, detail)[lg]
        msg.draft = []

    def stop(self, session: Session | None):
        """The Stop button: the answer being written is dropped and a note says so."""
        found = self._pending(session)
        if found is not None:
            assert session is not None  # a pending message was found in it
            msg, question = found
            session.cancelled.add(msg.id)
            self._to_note(session, msg, question, "stopped")
        return self.render(session), session

    def clear(self):
        return self.render(None), None

    # -------------------------------------------------------------- feedback
    def feedback_action(self, session: Session | None, msg_id: str, rating: str | None, correction: str = "") -> str:
        """A rating or a correction of the answer `msg_id` -> a status line."""
        msg = session.get(msg_id) if session else None
        if session is None or msg is None or msg.role != "assistant" or msg.answer is None:
            return "Only answers can be rated. · فقط پاسخ‌ها را می‌توان ارزیابی کرد.\u200f"
        now = time.monotonic()
        session.feedback_times = [t for t in session.feedback_times if now - t < FEEDBACK_WINDOW_S]
        if len(session.feedback_times) >= FEEDBACK_PER_SESSION:
            return "Too much feedback at once; please try again in a few minutes. · بازخورد زیادی فرستاده شد؛ چند دقیقه بعد دوباره بفرستید.\u200f"
        session.feedback_times.append(now)
        q = next((m.text for m in reversed(session.messages[: session.messages.index(msg)]) if m.role == "user"), "")
        ans = msg.answer
        saved = self.feedback.add(
            {
                "question": q[:MAX_FEEDBACK_CHARS],
                "answer": ans.answer[:MAX_FEEDBACK_CHARS],
                "language": ans.language,
                "abstained": ans.abstained,
                "citations": [c.id for c in ans.citations],
                "rating": rating,
                "correction": (correction or "")[:MAX_FEEDBACK_CHARS],
            }
        )
        if not saved:
            return "Feedback could not be saved (the feedback file is full). · بازخورد ذخیره نشد.\u200f"
        msg.rating = rating or "correction"
        return "Thank you, feedback saved. · سپاس، بازخورد ثبت شد.\u200f"

    # -------------------------------------------------------------- export
    def export_markdown(self, session: Session | None) -> str | None:
        """The conversation as Markdown text (None when there is nothing to export)."""
        return conversation_markdown(session.answered() if session else [], self.table_titles, self.page_of)

    def export_chat(self, session: Session | None) -> tuple[str, str]:
        """-> (download payload for the browser, status line). Nothing is kept on disk."""
        text = self.export_markdown(session)
        if text is None:
            return (
                "",
                "Nothing to export yet: ask a question first. · هنوز چیزی برای خروجی نیست؛ ابتدا پرسشی بپرسید.\u200f",
            )
        return download_payload(
            "conversation.md", "text/markdown", text.encode("utf-8")
        ), "Conversation exported (Markdown). · گفت‌وگو به صورت مارک‌داون ذخیره شد.\u200f"

    # -------------------------------------------------------------- the browser's action channel
    def action(self, payload: str, session: Session | None):
        """A click inside the HTML (rating, correction, recommendation card, brief) as JSON from the page.
        -> (log html, session, status, recommendation card html or None, download payload)"""
        try:
            act = json.loads(payload or "{}")
            kind = str(act.get("act", ""))
        except (ValueError, AttributeError):
            return self.render(session), session, "", None, ""
        if kind in ("up", "down", "fix"):
            rating = {"up": "up", "down": "down", "fix": "correction"}[kind]
            text = str(act.get("text", ""))[:MAX_FEEDBACK_CHARS]
            if kind == "fix" and not text.strip():
                return (
                    self.render(session),
                    session,
                    "Type the correction first. · ابتدا اصلاح را بنویسید.\u200f",
                    None,
                    "",
                )
            status = self.feedback_action(session, str(act.get("msg", "")), "down" if kind == "fix" else rating, text)
            return self.render(session), session, status, None, ""
        if kind == "open":
            return self.render(session), session, "", self.recs.card_html(str(act.get("id", ""))), ""
        if kind == "brief":
            ids = [str(x) for x in (act.get("ids") or [])][:60]
            fmt = "pdf" if act.get("fmt") == "pdf" else "md"
            payload_out, status = self.recs.brief(ids, fmt)
            return self.render(session), session, status, None, payload_out
        return self.render(session), session, "", None, ""

    # -------------------------------------------------------------- whole question, one call (API, tests)
    def respond(
        self,
        question,
        chat=None,
        session: Session | None = None,
        lang_choice: str | None = "auto",
        standalone: bool = False,
    ):
        """Submit and answer in one call -> (box value, messages [{'role','content'}], session, sources html of
        the latest answer, [(label, '[n] id')]). The programmatic endpoint (scripts/load.py) and tests use it."""
        box, _html, session, waiting = self.submit(question, session, lang_choice)
        if waiting:
            for _ in self.answer(session, lang_choice, standalone=standalone):
                pass
        return box, plain_messages(session, self), session, *self._latest_sources(session)

    def _latest_sources(self, session: Session) -> tuple[str, list]:
        last = session.messages[-1] if session.messages else None
        if last is None or last.role != "assistant" or last.answer is None:
            return "", []
        ans = last.answer
        cards = "\n".join(self.card(c, last.id, links=False) for c in ans.citations)
        choices = [(f"[{c.n}] {where(c)[0][:38]}", f"[{c.n}] {c.id}") for c in ans.citations]
        return cards, choices


def _table_titles(corpus: Path) -> dict:
    try:
        data = json.loads((corpus / "tables.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {t["number"]: {"en": t.get("title_en", ""), "fa": t.get("title_fa", "")} for t in data.get("tables", [])}
