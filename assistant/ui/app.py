"""The chat window's wiring: components, events and the launch. The behaviour is in handlers.py
(chat, feedback, exports), chatlog.py (the conversation as HTML), sources.py (citation cards) and
recommendations.py (the policymaker's tab); the page's CSS and JavaScript are files in static/.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import cast

from .. import offline
from ..answer import Assistant
from ..settings import Settings
from .chatlog import SESSION_TTL_S
from .handlers import FeedbackLog, Handlers
from .text import LANG_CHOICES, bi

# Gradio 6 still takes api_name=False (a private endpoint with no name), as this window has always used;
# its type hints say str | None only.
NO_API = cast(str, False)
STATIC = Path(__file__).resolve().parent / "static"
CSS = (STATIC / "app.css").read_text(encoding="utf-8")
# The CSS goes in <head> as it is: Gradio's css= would scope every rule under its `.contain` element, and
# the page padding and the tab row (which decide whether a phone shows every tab) sit outside it.
HEAD = "<style>\n" + CSS + "\n</style>\n<script>\n" + (STATIC / "app.js").read_text(encoding="utf-8") + "\n</script>"
TITLE_HTML = (
    '<div id="app-title"><h1><bdi class="fa" dir="rtl" lang="fa">دستیار مقاله «دیپلماسی شهری در کلانشهر تهران»'
    '</bdi> · <span lang="en">Paper assistant: city diplomacy in Tehran</span></h1></div>'
)
REC_HELP = (
    "<p lang='en'>The paper's recommendations, expected results, opportunities, challenges, shortcomings, "
    "advantages and necessities. Open an item to see what the paper relates to it, with sources; tick items "
    "and export a bilingual policy brief.</p>"
    "<p dir='rtl' lang='fa' class='rec-fa'>توصیه‌ها، نتایج مورد انتظار، فرصت‌ها، چالش‌ها، کاستی‌ها، مزیت‌ها و "
    "ضرورت‌های مقاله. هر مورد را باز کنید تا موارد مرتبط و منابع آن را ببینید؛ موردها را علامت بزنید و گزارش "
    "سیاستی دوزبانه بگیرید.</p>"
)
REC_TOOLBAR = (
    '<div class="rec-toolbar" role="toolbar" aria-label="Policy brief · گزارش سیاستی">'
    '<button type="button" data-select="all">Select all shown · <bdi lang="fa">انتخاب همه</bdi></button>'
    '<button type="button" data-select="none">Clear selection · <bdi lang="fa">لغو انتخاب</bdi></button>'
    '<button type="button" class="main" data-brief="md" id="brief-md">Policy brief (Markdown) · '
    '<bdi lang="fa">گزارش سیاستی</bdi></button>'
    '<button type="button" class="main" data-brief="pdf" id="brief-pdf">Policy brief (PDF) · '
    '<bdi lang="fa">گزارش PDF</bdi></button></div>'
)
REC_CARD_EMPTY = (
    '<p class="tr">Open an item to see its expected results, related items and the paragraphs that '
    'argue for it. · <bdi lang="fa" dir="rtl">موردی را باز کنید.</bdi></p>'
)


def counter_html(limit: int) -> str:
    return (
        f'<div class="q-counter-row"><span id="q-counter" data-limit="{limit}" aria-live="polite">'
        f'0 / {limit:,}</span> <span class="tr">characters · <bdi lang="fa">نویسه</bdi></span></div>'
    )


def tables_html(assistant: Assistant, lang: str) -> str:
    data = json.loads((assistant.settings.corpus_dir / "tables.json").read_text(encoding="utf-8"))
    d = "rtl" if lang == "fa" else "ltr"
    parts = []
    for t in data["tables"]:
        cols = t["columns"]
        head = "".join(f"<th>{html.escape(c[lang])}</th>" for c in cols)
        rows = "".join(
            "<tr>"
            + "".join(
                "<td>"
                + "<br>".join(html.escape(x) for x in ((r["cells"].get(c["key"]) or {}).get(lang, "")).split("\n"))
                + "</td>"
                for c in cols
            )
            + "</tr>"
            for r in t["rows"]
        )
        title = t["title_fa"] if lang == "fa" else t["title_en"]
        src = t.get("source_fa" if lang == "fa" else "source_en") or ""
        note = "" if lang == "fa" else "<p class='tr'>English translation of the Persian original.</p>"
        parts.append(
            f"<h3 dir='{d}' lang='{lang}'>{html.escape(title)}</h3>{note}"
            f"<table class='paper {lang}' dir='{d}' lang='{lang}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f"<p dir='{d}'><small>{html.escape(src)}</small></p>"
        )
    return f"<div class='tables-{lang}' dir='{d}'>" + "\n".join(parts) + "</div>"


# ---------------------------------------------------------------------- app
def build_app(assistant: Assistant, feedback_path: Path | None = None):
    import gradio as gr

    handlers = Handlers(assistant, FeedbackLog(feedback_path or assistant.settings.feedback_file))
    recs = handlers.recs
    limit = assistant.settings.max_question_chars
    from ..profile import Profile

    profile = Profile.load(assistant.settings.corpus_dir)

    # delete_cache: anything Gradio itself caches (uploads) is removed after 10 minutes and on exit.
    with gr.Blocks(title="Tehran city diplomacy — paper assistant", delete_cache=(600, 600)) as app:
        session = gr.State(None, time_to_live=SESSION_TTL_S)
        gr.HTML(TITLE_HTML, padding=False)
        with gr.Tabs(elem_id="tabs", overflow_behavior="wrap"):  # a phone shows every tab
            with gr.Tab("Chat · گفت‌وگو", id="chat-tab"):
                log = gr.HTML(handlers.render(None), elem_id="chat")
                with gr.Row(equal_height=True, elem_id="ask-row"):
                    box = gr.Textbox(
                        label="Question · پرسش",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                        lines=1,
                        max_lines=8,
                        max_length=None,
                        placeholder=bi(
                            "Ask a question in Persian or English.", "پرسش خود را به فارسی یا انگلیسی بنویسید."
                        ),
                    )
                    send = gr.Button("Ask · بپرس", variant="primary", scale=1, elem_id="ask", min_width=90)
                    stop = gr.Button(
                        "Stop · توقف", variant="stop", scale=1, elem_id="stop", visible=False, min_width=90
                    )
                gr.HTML(counter_html(limit), padding=False)
                with gr.Row():
                    lang = gr.Radio(
                        LANG_CHOICES,
                        value="auto",
                        elem_id="answer-lang",
                        label="Answer language (rendering only) · زبان پاسخ",
                    )
                    clear = gr.Button("Clear · پاک کردن", elem_id="clear", size="sm")
                    export = gr.Button("Export conversation (Markdown) · خروجی", elem_id="export", size="sm")
                status = gr.HTML("", elem_id="status", padding=False)
                if profile.examples:  # the document's own examples (corpus/profile.json)
                    gr.Examples(profile.examples, inputs=box, label="Examples · نمونه‌ها")
            with gr.Tab("Recommendations · توصیه‌ها", id="policy"):
                gr.HTML(REC_HELP, elem_id="policy-help", padding=False)
                with gr.Row():
                    kinds = gr.CheckboxGroup(recs.kind_choices(), value=[], label="Kind · نوع", elem_id="rec-kinds")
                    search = gr.Textbox(
                        label="Search · جستجو",
                        elem_id="policy-search",
                        placeholder=bi(
                            "e.g. " + profile.search_example.get("en", "a name"),
                            "مثلاً " + profile.search_example.get("fa", "یک نام"),
                        ),
                    )
                gr.HTML(REC_TOOLBAR, padding=False)
                rec_status = gr.HTML("", elem_id="rec-status", padding=False)
                with gr.Row():
                    with gr.Column(scale=3, min_width=300):
                        rec_list = gr.HTML(recs.list_html(), elem_id="rec-list")
                    with gr.Column(scale=2, min_width=300):
                        rec_card = gr.HTML(REC_CARD_EMPTY, elem_id="rec-card")
            with gr.Tab("Tables · جدول‌ها", id="tables-tab"):
                tlang = gr.Radio(["فارسی", "English"], value="فارسی", label="Language · زبان", elem_id="tables-lang")
                tables = gr.HTML(tables_html(assistant, "fa"), elem_id="tables")
            # ---- further tabs go here
            with gr.Tab("Evaluate · ارزیابی", id="evaluate"):
                from ..evaluation.tab import build_evaluate_tab

                build_evaluate_tab(lambda: assistant, assistant.settings)
            # ---- end of further tabs

        # hidden plumbing: the page's action channel, the download payload, the one-call API
        action = gr.Textbox(elem_id="ui-action", elem_classes=["ui-hidden"], show_label=False, container=False)
        action_btn = gr.Button("action", elem_id="ui-action-btn", elem_classes=["ui-hidden"])
        payload = gr.Textbox(elem_id="ui-download", elem_classes=["ui-hidden"], show_label=False, container=False)
        api_q = gr.Textbox(elem_classes=["ui-hidden"], show_label=False, container=False)
        api_chat = gr.JSON(elem_classes=["ui-hidden"])
        api_btn = gr.Button("api", elem_classes=["ui-hidden"])

        # A question: shown at once (user message + typing indicator, Stop offered), then answered.
        def _submit(q, s, lg):
            box_v, html_, s2, waiting = handlers.submit(q, s, lg)
            return box_v, html_, s2, gr.update(visible=not waiting), gr.update(visible=waiting), ""

        def _answer(s, lg):
            yield from handlers.answer(s, lg)

        def _idle():
            return gr.update(visible=True), gr.update(visible=False)

        answering = []
        for trigger in (box.submit, send.click):
            ev = trigger(
                _submit,
                [box, session, lang],
                [box, log, session, send, stop, status],
                show_progress="hidden",
                api_name=NO_API,
            )
            ans_ev = ev.then(_answer, [session, lang], [log, session], show_progress="hidden", api_name=NO_API)
            ans_ev.then(_idle, None, [send, stop], show_progress="hidden", api_name=NO_API)
            answering.append(ans_ev)
        stop.click(
            handlers.stop, [session], [log, session], cancels=answering, show_progress="hidden", api_name=NO_API
        ).then(_idle, None, [send, stop], api_name=NO_API)
        clear.click(lambda: (*handlers.clear(), ""), None, [log, session, status], api_name=NO_API)

        def _export(s):
            return handlers.export_chat(s)

        export.click(_export, [session], [payload, status], show_progress="hidden", api_name=NO_API).then(
            None, [payload], None, js="(p) => { window.taDownload(p); }", api_name=NO_API
        )

        def _action(p, s):
            html_, s2, st, card, dl = handlers.action(p, s)
            return html_, s2, st, st, (card if card is not None else gr.skip()), dl

        action_btn.click(
            _action,
            [action, session],
            [log, session, status, rec_status, rec_card, payload],
            show_progress="hidden",
            api_name=NO_API,
        ).then(
            None,
            [payload],
            None,
            js="(p) => { window.taDownload(p); const c = document.querySelector('#rec-card .rec-card');"
            " if (c) c.scrollIntoView({block: 'nearest'}); }",
            api_name=NO_API,
        )

        def _list(q, k):
            return recs.list_html(q, k)

        search.change(_list, [search, kinds], rec_list, show_progress="hidden", api_name=NO_API)
        kinds.change(_list, [search, kinds], rec_list, show_progress="hidden", api_name=NO_API)
        tlang.change(lambda v: tables_html(assistant, "en" if v == "English" else "fa"), tlang, tables, api_name=NO_API)

        def respond(q, c, lg):
            """One question, answered on its own: (box value, messages). For scripts and load tests."""
            _box, chat, _s, _cites, _choices = handlers.respond(q, None, None, lg, standalone=True)
            return "", chat

        api_btn.click(respond, [api_q, api_chat, lang], [api_q, api_chat], api_name="respond")
    app.handlers = handlers  # for tests and the launch below
    return app


def launch_options(app) -> dict:
    """What the page needs from launch(): its CSS and script, and the one file it may serve (the paper's PDF,
    for the page links of the source cards)."""
    handlers = getattr(app, "handlers", None)
    allowed = [str(handlers.pdf_path)] if handlers is not None and handlers.pdf_path.exists() else []
    return {"head": HEAD, "allowed_paths": allowed}


def ui_auth_from_env(environ=None) -> tuple[str, str] | None:
    """The window's login (user, password) from ASSISTANT_UI_USER / ASSISTANT_UI_PASSWORD; None when neither
    is set. Only one of them set is refused (ValueError): serving without the login its operator meant to
    have is worse than not starting."""
    env = os.environ if environ is None else environ
    user, password = env.get("ASSISTANT_UI_USER"), env.get("ASSISTANT_UI_PASSWORD")
    if user and password:
        return (user, password)
    if user or password:
        missing = "ASSISTANT_UI_PASSWORD" if user else "ASSISTANT_UI_USER"
        raise ValueError(
            f"the chat window's login needs both ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD; "
            f"{missing} is not set (unset both for no login)"
        )
    return None


# ---------------------------------------------------------------------- launch (kept apart: the web server may change)
def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    offline.apply_defaults()  # no gradio analytics (nor telemetry, nor model hub) when called from Python
    from ..index import open_index

    auth = ui_auth_from_env()  # first: half a login is refused before anything is loaded
    print("preparing the index (first run builds it)…", flush=True)
    assistant = Assistant(settings, open_index(settings))
    assistant.warm_up()
    app = build_app(assistant)
    print(f"chat window: http://{host}:{port}", flush=True)
    return launch(app, host, port, auth, settings=settings)


def launch(app, host: str, port: int, auth, settings: Settings | None = None, **extra) -> int:
    """Start the server behind the web server's guard (assistant/webserver.py: security headers, login
    throttling, bounded uploads and logs). Blocks unless extra has block=False."""
    from .. import webserver

    block = not extra.pop("prevent_thread_lock", False)
    webserver.launch(
        app, settings, host, port, auth, block=block, state_session_capacity=1000, **launch_options(app), **extra
    )
    return 0
