"""The Gradio chat window: bilingual RTL/LTR chat with checkable citations, the recommendations
browser, the six tables, feedback and export.

The handlers are plain functions of (inputs, state) -> outputs, so they are unit-tested without
a browser; `build_app` only wires them to components. User and document text is escaped before
it is rendered (a `<script>` in a question or a passage shows as text).
"""
from __future__ import annotations

import html
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .answer import Assistant, QuestionError
from .query import detect_language
from .settings import Settings
from .types import Answer

LANG_CHOICES = ["auto", "فارسی", "English"]
EXAMPLES = [
    "تهران با کدام شهرها قرارداد خواهرشهری دارد؟",
    "کدام خواهرشهرهای تهران در آفریقا هستند؟",
    "صندوق جهانی توسعه شهرها چند شهر عضو دارد؟",
    "Which of Tehran's sister cities are in Europe?",
    "What policy recommendations does the paper make?",
    "What challenges does Tehran face in developing city diplomacy?",
]
CSS = """
.msg-fa { direction: rtl; text-align: right; font-family: 'Vazirmatn', 'Noto Naskh Arabic', 'Nazli', Tahoma, sans-serif; line-height: 1.9; }
.msg-en { direction: ltr; text-align: left; }
.msg-fa ul, .msg-fa ol { padding-right: 1.4em; padding-left: 0; }
.cite-card { border: 1px solid #ccc; border-radius: 8px; padding: 10px 12px; margin: 8px 0; }
.cite-card .fa { direction: rtl; text-align: right; font-family: 'Vazirmatn', 'Noto Naskh Arabic', 'Nazli', Tahoma, sans-serif; line-height: 1.9; }
.cite-card .en { direction: ltr; text-align: left; color: #333; }
.cite-card .tr { font-size: 0.8em; color: #777; }
.cite-card mark { background: #fff3a0; }
table.paper { border-collapse: collapse; width: 100%; font-size: 0.92em; }
table.paper th, table.paper td { border: 1px solid #bbb; padding: 4px 6px; vertical-align: top; }
table.paper.fa { direction: rtl; text-align: right; }
"""
MAX_FEEDBACK_CHARS = 4000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~])")


def esc(text: str) -> str:
    """Escape for HTML and Markdown: document and user text is data, never markup or links."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def lang_of(choice: Optional[str]) -> Optional[str]:
    return {"فارسی": "fa", "English": "en"}.get(choice or "auto")


def wrap(text_md: str, lang: str) -> str:
    """A chat message whose direction follows its language (blank lines keep Markdown inside working)."""
    cls = "msg-fa" if lang == "fa" else "msg-en"
    return f'<div class="{cls}" dir="{"rtl" if lang == "fa" else "ltr"}" lang="{lang}">\n\n{text_md}\n\n</div>'


def answer_markdown(ans: Answer) -> str:
    body = "\n".join(esc(line) if not line.startswith("- ") else "- " + esc(line[2:]) for line in ans.answer.split("\n"))
    body = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", body)  # citation markers, made visible
    if ans.note:
        body += "\n\n_" + esc(ans.note) + "_"
    return body


def citation_html(ans: Optional[Answer], selected: Optional[int] = None) -> str:
    if ans is None or not ans.citations:
        if ans is not None and ans.abstained:
            return '<p class="tr">No sources: the paper does not answer this. / منبعی نیست: مقاله به این پرسش پاسخ نمی‌دهد.</p>'
        return '<p class="tr">Sources of the latest answer appear here. / منابع آخرین پاسخ اینجا نمایش داده می‌شود.</p>'
    cards = []
    for c in ans.citations:
        if selected is not None and c.n != selected:
            continue
        where_en = f"Table {c.table}, row {c.row}" if c.row else (f"Table {c.table}" if c.table else c.heading_en)
        where_fa = f"جدول {c.table}، ردیف {c.row}" if c.row else (f"جدول {c.table}" if c.table else c.heading)
        fa = html.escape(c.text)
        en = html.escape(c.text_en)
        if c.quote:
            q = html.escape(c.quote)
            fa = fa.replace(q, f"<mark>{q}</mark>") if q in fa else fa
            en = en.replace(q, f"<mark>{q}</mark>") if q in en else en
        cards.append(
            f'<div class="cite-card" id="cite-{c.n}"><b>[{c.n}]</b> <code>{html.escape(c.id)}</code> — '
            f'{html.escape(where_en)} / <span dir="rtl">{html.escape(where_fa)}</span>'
            f'{f" — page {c.page}" if c.page else ""}'
            f'<div class="fa" dir="rtl" lang="fa">{fa}</div>'
            f'<div class="en" dir="ltr" lang="en"><span class="tr">English translation of the Persian original:</span> {en}</div></div>'
        )
    return "\n".join(cards)


# ---------------------------------------------------------------------- feedback
class FeedbackLog:
    """Append-only JSONL; one write per record under a lock, so concurrent users lose nothing."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def add(self, record: dict) -> None:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": time.time(), **record}, ensure_ascii=False) + "\n"
        with self._lock, FileLock(str(self.path) + ".lock", timeout=30):
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())


# ---------------------------------------------------------------------- handlers
@dataclass
class Session:
    turns: list = field(default_factory=list)  # [(question, Answer)]

    def history(self) -> list[dict]:
        out = []
        for q, a in self.turns[-3:]:
            out += [{"role": "user", "content": q}, {"role": "assistant", "content": a.answer}]
        return out


class Handlers:
    def __init__(self, assistant: Assistant, feedback: FeedbackLog):
        self.assistant = assistant
        self.feedback = feedback

    def respond(self, question: str, chat: list, session: Optional[Session], lang_choice: str):
        """-> (textbox value, chat messages, session, citations html, citation choices)"""
        session = session or Session()
        chat = list(chat or [])
        question = question if isinstance(question, str) else ""
        q_lang = detect_language(question)
        try:
            ans = self.assistant.ask(question, history=session.history(), lang=lang_of(lang_choice))
        except QuestionError as exc:
            msg = (f"⚠️ {exc}." if q_lang == "en" else f"⚠️ پرسش پذیرفته نشد: {exc}.")
            if question.strip():
                chat.append({"role": "user", "content": wrap(esc(question[:500]), q_lang)})
            chat.append({"role": "assistant", "content": wrap(esc(msg), q_lang)})
            return question, chat, session, citation_html(None), []
        except Exception as exc:  # noqa: BLE001 - the window must stay usable
            msg = ("Sorry, something went wrong while answering; please try again."
                   if q_lang == "en" else "متأسفیم، در پاسخ‌گویی خطایی رخ داد؛ لطفاً دوباره تلاش کنید.")
            chat.append({"role": "user", "content": wrap(esc(question[:500]), q_lang)})
            chat.append({"role": "assistant", "content": wrap(esc(msg) + f" ({type(exc).__name__})", q_lang)})
            return "", chat, session, citation_html(None), []
        session.turns.append((ans.question, ans))
        chat.append({"role": "user", "content": wrap(esc(ans.question), detect_language(ans.question))})
        chat.append({"role": "assistant", "content": wrap(answer_markdown(ans), ans.language)})
        choices = [f"[{c.n}] {c.id}" for c in ans.citations]
        return "", chat, session, citation_html(ans), choices

    def show_citation(self, choice: Optional[str], session: Optional[Session]) -> str:
        if not session or not session.turns:
            return citation_html(None)
        ans = session.turns[-1][1]
        m = re.match(r"\[(\d+)\]", choice or "")
        return citation_html(ans, int(m.group(1)) if m else None)

    def record_feedback(self, session: Optional[Session], message_index: int, liked: Optional[bool],
                        correction: str = "") -> str:
        if not session or not session.turns:
            return "Nothing to rate yet. / هنوز پاسخی نیست."
        turn = min(max(message_index // 2, 0), len(session.turns) - 1)
        q, ans = session.turns[turn]
        self.feedback.add({"question": q, "answer": ans.answer, "language": ans.language,
                           "abstained": ans.abstained, "citations": [c.id for c in ans.citations],
                           "rating": None if liked is None else ("up" if liked else "down"),
                           "correction": (correction or "")[:MAX_FEEDBACK_CHARS]})
        return "Thank you, feedback saved. / سپاس، بازخورد ثبت شد."

    def export(self, session: Optional[Session]) -> Optional[str]:
        if not session or not session.turns:
            return None
        lines = ["# Conversation about the paper on city diplomacy in Tehran", ""]
        for q, a in session.turns:
            lines += [f"## {q}", "", a.answer, ""]
            for c in a.citations:
                where = f"Table {c.table}, row {c.row}" if c.row else (f"Table {c.table}" if c.table else c.section)
                lines += [f"- [{c.n}] `{c.id}` ({where}): {c.text}", f"  - English translation: {c.text_en}"]
            lines.append("")
        fd, path = tempfile.mkstemp(prefix="conversation-", suffix=".md")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        return path


def tables_html(assistant: Assistant, lang: str) -> str:
    import json as _json

    data = _json.loads((assistant.settings.corpus_dir / "tables.json").read_text(encoding="utf-8"))
    parts = []
    for t in data["tables"]:
        cols = t["columns"]
        head = "".join(f"<th>{html.escape(c[lang])}</th>" for c in cols)
        rows = "".join("<tr>" + "".join(
            "<td>" + "<br>".join(html.escape(x) for x in ((r["cells"].get(c["key"]) or {}).get(lang, "")).split("\n")) + "</td>"
            for c in cols) + "</tr>" for r in t["rows"])
        title = t["title_fa"] if lang == "fa" else t["title_en"]
        src = t.get("source_fa" if lang == "fa" else "source_en") or ""
        note = "" if lang == "fa" else "<p class='tr'>English translation of the Persian original.</p>"
        parts.append(f"<h3 dir='{'rtl' if lang == 'fa' else 'ltr'}'>{html.escape(title)}</h3>{note}"
                     f"<table class='paper {lang}' dir='{'rtl' if lang == 'fa' else 'ltr'}'><tr>{head}</tr>{rows}</table>"
                     f"<p dir='{'rtl' if lang == 'fa' else 'ltr'}'><small>{html.escape(src)}</small></p>")
    return "\n".join(parts)


def policy_items(assistant: Assistant) -> list[dict]:
    """Rows of Tables 6, 5 and 4 for the recommendations browser."""
    out = []
    for p in sorted(assistant.store.passages, key=lambda p: ({6: 0, 5: 1, 4: 2}.get(p.table or 0, 9), p.row or 0)):
        if p.kind != "table_row" or p.table not in (4, 5, 6):
            continue
        group = p.cells.get("kind") or p.cells.get("axis") or {}
        item = p.cells.get("item") or {}
        out.append({"id": p.id, "group_fa": group.get("fa", ""), "group_en": group.get("en", ""),
                    "fa": item.get("fa", ""), "en": item.get("en", "")})
    return out


def filter_items(items: list[dict], query: str) -> list[list[str]]:
    from .normalize import normalize

    q = normalize(query or "")
    rows = [it for it in items if not q or q in normalize(" ".join([it["fa"], it["en"], it["group_fa"], it["group_en"]]))]
    return [[it["id"], it["group_en"], it["en"], it["fa"]] for it in rows]


# ---------------------------------------------------------------------- app
def build_app(assistant: Assistant, feedback_path: Optional[Path] = None):
    import gradio as gr

    handlers = Handlers(assistant, FeedbackLog(feedback_path or assistant.settings.feedback_file))
    items = policy_items(assistant)

    with gr.Blocks(title="Tehran city diplomacy — paper assistant") as app:
        session = gr.State(None)
        gr.Markdown("## دستیار مقاله «دیپلماسی شهری در کلانشهر تهران» · Paper assistant: city diplomacy in Tehran",
                    rtl=False)
        with gr.Tabs() as tabs:
            with gr.Tab("Chat · گفت‌وگو", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(label="Conversation", height=520, elem_id="chat", buttons=["copy"],
                                          feedback_options=("Like", "Dislike"), sanitize_html=True)
                        with gr.Row():
                            box = gr.Textbox(placeholder="پرسش خود را بنویسید · Ask a question (Persian or English)",
                                             show_label=False, scale=5, elem_id="question", max_length=4000)
                            send = gr.Button("Ask · بپرس", variant="primary", scale=1, elem_id="ask")
                        with gr.Row():
                            lang = gr.Radio(LANG_CHOICES, value="auto", label="Answer language · زبان پاسخ")
                            clear = gr.Button("Clear · پاک کردن", elem_id="clear")
                            export = gr.DownloadButton("Export Markdown · خروجی", elem_id="export")
                        gr.Examples(EXAMPLES, inputs=box, label="Examples · نمونه‌ها")
                        with gr.Accordion("Correct the last answer · اصلاح آخرین پاسخ", open=False):
                            correction = gr.Textbox(lines=2, show_label=False, max_length=MAX_FEEDBACK_CHARS,
                                                    placeholder="What should the answer have said? · پاسخ درست چه بود؟")
                            send_correction = gr.Button("Send correction · ارسال")
                        status = gr.Markdown("", elem_id="status")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources · منابع")
                        picker = gr.Radio([], label="Show source · نمایش منبع", elem_id="picker")
                        cites = gr.HTML(citation_html(None), elem_id="citations")
            with gr.Tab("Recommendations · توصیه‌ها", id="policy"):
                gr.Markdown("Policy recommendations and their expected results (Table 6), opportunities and "
                            "challenges (Table 5), shortcomings, advantages and necessities (Table 4). "
                            "Click a row to ask the chat about it.")
                search = gr.Textbox(label="Search · جستجو", elem_id="policy-search")
                policy = gr.Dataset(components=[gr.Textbox(visible=False), gr.Textbox(visible=False),
                                                gr.Textbox(visible=False), gr.Textbox(visible=False)],
                                    headers=["id", "group", "English (translation)", "فارسی"],
                                    samples=filter_items(items, ""), samples_per_page=60, elem_id="policy-list",
                                    label="Click to ask · برای پرسیدن کلیک کنید")
            with gr.Tab("Tables · جدول‌ها", id="tables"):
                tlang = gr.Radio(["فارسی", "English"], value="فارسی", label="Language · زبان")
                tables = gr.HTML(tables_html(assistant, "fa"), elem_id="tables")

        outs = [box, chat, session, cites, picker]

        def _respond(q, c, s, lg):
            q2, c2, s2, html_, choices = handlers.respond(q, c, s, lg)
            return q2, c2, s2, html_, gr.update(choices=choices, value=None)

        box.submit(_respond, [box, chat, session, lang], outs)
        send.click(_respond, [box, chat, session, lang], outs)
        picker.change(handlers.show_citation, [picker, session], cites)
        clear.click(lambda: ("", [], None, citation_html(None), gr.update(choices=[], value=None), ""),
                    None, outs + [status])
        export.click(handlers.export, session, export)

        def _like(s, data: gr.LikeData):
            return handlers.record_feedback(s, data.index if isinstance(data.index, int) else data.index[0], data.liked)

        chat.like(_like, session, status)
        send_correction.click(lambda s, t: (handlers.record_feedback(s, 10**9, False, t), ""),
                              [session, correction], [status, correction])
        search.change(lambda q: gr.update(samples=filter_items(items, q)), search, policy)

        def _ask_item(sample, c, s, lg):
            item_id, _group, en, fa = sample
            question = (f"درباره این مورد از مقاله بیشتر توضیح بده: {fa}" if lang_of(lg) != "en"
                        else f"What does the paper say about: {en}")
            q2, c2, s2, html_, choices = handlers.respond(question, c, s, lg)
            return q2, c2, s2, html_, gr.update(choices=choices, value=None), gr.Tabs(selected="chat")

        policy.click(_ask_item, [policy, chat, session, lang], outs + [tabs])
        tlang.change(lambda v: tables_html(assistant, "en" if v == "English" else "fa"), tlang, tables)
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from .index import open_index

    print("preparing the index (first run builds it)…", flush=True)
    assistant = Assistant(settings, open_index(settings))
    assistant.warm_up()
    app = build_app(assistant)
    user, password = os.environ.get("ASSISTANT_UI_USER"), os.environ.get("ASSISTANT_UI_PASSWORD")
    auth = (user, password) if user and password else None
    print(f"chat window: http://{host}:{port}", flush=True)
    app.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, auth=auth, css=CSS, show_error=False, footer_links=[],
        ssr_mode=False, allowed_paths=[], quiet=True)
    return 0
