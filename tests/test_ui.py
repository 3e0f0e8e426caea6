"""The chat window's functions, without a browser: the handlers over the real session index
(conftest's `assistant`), escaping, the sources panel, feedback under concurrency, export and
the recommendations browser."""
from __future__ import annotations

import html
import json
import re
import threading
import warnings

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from markdown_it import MarkdownIt

from assistant.types import Answer, Citation
from assistant.ui import (
    CSS, FeedbackLog, Handlers, Session, citation_choices, citation_html, esc, filter_items, highlight,
    item_question, item_samples, policy_items, tables_html, wrap,
)

Q_FA = "کدام خواهرشهرهای تهران در آفریقا هستند؟"
Q_EN = "Which of Tehran's sister cities are in Europe?"
WRAP_FA = '<div class="msg-fa" dir="rtl" lang="fa">'
WRAP_EN = '<div class="msg-en" dir="ltr" lang="en">'
CHOICE = re.compile(r"^\[(\d+)\] (t\d(\.r\d+)?|[\w.]+)$")


@pytest.fixture()
def handlers(assistant, tmp_path):
    return Handlers(assistant, FeedbackLog(tmp_path / "feedback.jsonl"))


def _md(text: str) -> str:
    """CommonMark rendering with raw HTML on, the way the chat renders a message."""
    return MarkdownIt("commonmark", {"html": True}).render(text)


def _visible(rendered_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html))


def _no_error_text(chat: list) -> None:
    text = json.dumps(chat, ensure_ascii=False)
    assert "Traceback" not in text and "QuestionError" not in text and "Error" not in text


# ---------------------------------------------------------------------- respond
def test_respond_persian_question(handlers):
    box, chat, session, cites, choices = handlers.respond(Q_FA, [], None, "auto")
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[0]["content"].startswith(WRAP_FA) and chat[1]["content"].startswith(WRAP_FA)
    answer = chat[1]["content"]
    assert "پروتوریا" in answer and "خارطوم" in answer
    # Markdown inside the direction wrapper still renders: blank lines around, list items, markers.
    assert answer.startswith(WRAP_FA + "\n\n") and answer.endswith("\n\n</div>")
    rendered = _md(answer)
    assert rendered.count("<li>") >= 2 and "<strong>[1]</strong>" in rendered
    ans = session.turns[-1][1]
    assert ans.language == "fa" and not ans.abstained
    assert session.answer_at == {1: 0}
    # One picker choice per citation, numbered in order, valued "[n] passage-id".
    values = [v for _label, v in choices]
    assert len(values) == len(ans.citations) >= 3
    assert [int(CHOICE.match(v).group(1)) for v in values] == list(range(1, len(values) + 1))
    assert [v.split(" ", 1)[1] for v in values] == [c.id for c in ans.citations]
    assert all(label.startswith(f"[{i}] ") for i, (label, _v) in enumerate(choices, 1))
    assert {"t2.r2", "t2.r8"} <= {c.id for c in ans.citations}  # Pretoria, Khartoum
    assert cites.count('class="cite-card"') == len(ans.citations) and "<mark>" in cites


def test_respond_english_question(handlers):
    box, chat, session, cites, choices = handlers.respond(Q_EN, [], None, "auto")
    assert box == ""
    assert chat[0]["content"].startswith(WRAP_EN) and chat[1]["content"].startswith(WRAP_EN)
    assert "Moscow" in chat[1]["content"] and "London" in chat[1]["content"]
    assert "'" in chat[0]["content"] and "&#x27;" not in chat[0]["content"]  # "Tehran's", not an entity
    assert _md(chat[1]["content"]).count("<li>") >= 4
    ans = session.turns[-1][1]
    assert ans.language == "en"
    assert [v for _l, v in choices] == [f"[{c.n}] {c.id}" for c in ans.citations]
    # The sources panel shows the Persian original (cited row highlighted) for an English answer.
    assert "مسکو" in cites and "English translation of the Persian original" in cites
    fa_moscow = re.search(r'<div class="fa" dir="rtl" lang="fa">جدول ۲، ردیف ۳: (.*?)</div>', cites)
    assert fa_moscow and fa_moscow.group(1).startswith("<mark>مسکو")


def test_answer_language_choice_overrides_detection(handlers):
    _box, chat, session, _c, _ch = handlers.respond(Q_EN, [], None, "فارسی")
    assert session.turns[-1][1].language == "fa"
    assert chat[0]["content"].startswith(WRAP_EN)  # the question keeps its own direction
    assert chat[1]["content"].startswith(WRAP_FA)


def test_two_turns_keep_the_session(handlers):
    _b, chat, session, *_ = handlers.respond(Q_FA, [], None, "auto")
    _b, chat, session, cites, choices = handlers.respond(Q_EN, chat, session, "auto")
    assert len(chat) == 4 and len(session.turns) == 2
    assert session.answer_at == {1: 0, 3: 1}
    assert "London" in cites or "لندن" in cites  # the panel shows the latest answer's sources


@pytest.mark.parametrize("question", ["", "   ", "؟!", "\n\t", None])
def test_empty_question_gets_a_friendly_message(handlers, question):
    box, chat, session, cites, choices = handlers.respond(question, [], None, "auto")
    assert box == "" and choices == [] and session.turns == []
    assert len(chat) == 1 and chat[0]["role"] == "assistant"
    msg = chat[0]["content"]
    assert "Please type a question about the paper" in msg and "لطفاً پرسشی درباره مقاله بنویسید" in msg
    assert WRAP_FA in msg and WRAP_EN in msg  # said in both languages, each in its direction
    _no_error_text(chat)
    assert "Sources of the latest answer" in cites


@pytest.mark.parametrize("lang, unit", [("en", "sister city "), ("fa", "خواهرشهر تهران ")])
def test_overlong_question_gets_a_friendly_message(handlers, lang, unit):
    question = (unit * (100_000 // len(unit) + 1))[:100_000]
    assert len(question) == 100_000
    box, chat, session, cites, choices = handlers.respond(question, [{"role": "user", "content": "x"}], None, "auto")
    assert session.turns == [] and choices == []
    assert box == question  # kept in the box, to be shortened
    assert [m["role"] for m in chat] == ["user", "user", "assistant"]
    shown, msg = chat[1]["content"], chat[2]["content"]
    assert len(shown) < 1000 and shown.rstrip("\n</div>").endswith("…")
    if lang == "en":
        assert msg.startswith(WRAP_EN) and "too long" in msg and "100,000" in msg and "2,000" in msg
    else:
        assert msg.startswith(WRAP_FA) and "بلند" in msg and "۱۰۰٬۰۰۰" in msg
    _no_error_text(chat)


def test_failure_inside_the_chain_is_a_friendly_message(assistant, tmp_path):
    class Broken:
        settings, store = assistant.settings, assistant.store

        def ask(self, *a, **k):
            raise RuntimeError("index exploded")

    h = Handlers(Broken(), FeedbackLog(tmp_path / "f.jsonl"))
    _box, chat, session, _cites, choices = h.respond(Q_EN, [], None, "auto")
    assert session.turns == [] and choices == []
    assert "something went wrong" in chat[-1]["content"]
    assert "exploded" not in json.dumps(chat) and "Traceback" not in json.dumps(chat)


def test_question_with_script_and_markdown_link_is_shown_as_text(handlers):
    q = "What about <script>alert(1)</script> and [x](http://evil.example) or www.evil.example?"
    _box, chat, _session, _cites, _choices = handlers.respond(q, [], None, "auto")
    user = chat[0]["content"]
    assert "<script" not in user and "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in user
    assert "http://" not in user and "www.evil" not in user  # bare URLs cannot be autolinked
    rendered = _md(user)
    assert "<a " not in rendered and "<script" not in rendered
    assert q in _visible(rendered)  # ...and the user still sees exactly what was typed
    assert all("<script" not in m["content"] for m in chat)


def test_persian_question_with_markup_is_escaped(handlers):
    q = "سند <img src=x onerror=alert(1)> درباره [پیوند](javascript:alert(1)) چیست؟"
    _box, chat, *_ = handlers.respond(q, [], None, "auto")
    rendered = _md(chat[0]["content"])
    assert chat[0]["content"].startswith(WRAP_FA)
    assert "<img" not in rendered and "<a " not in rendered and q in _visible(rendered)


@hsettings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab تهران<>&'\"\\`*_{}[]()#+-.!|~$@:/=1\n")), max_size=60))
def test_esc_renders_as_the_same_text(text):
    rendered = _md(esc(text))
    assert "<a " not in rendered and "<script" not in rendered and "<img" not in rendered
    assert not re.search(r"<(h\d|ul|ol|blockquote|code|em|strong|hr|pre)\b", rendered)
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731 - Markdown folds whitespace
    assert squash(_visible(rendered)) == squash(text)


# ---------------------------------------------------------------------- sources panel
def _citation(**kw) -> Citation:
    base = dict(n=1, id="s1.p1", kind="paragraph", section="s1", table=None, row=None, page=3,
                text="متن فارسی.", text_en="English text.", heading="۱. مقدمه", heading_en="1. Introduction")
    return Citation(**{**base, **kw})


def test_citation_html_highlights_the_quote_and_escapes_the_passage():
    c = _citation(text="جمله اول اینجاست و کوتاه نیست. سند <b>مهم</b> & «تهران» در این جمله است.",
                  text_en="The first sentence is here and is not short. The <b>important</b> document & Tehran is here.",
                  quote="سند <b>مهم</b> & «تهران» در این جمله است.")
    ans = Answer(question="q", answer="a [1]", language="fa", abstained=False, citations=[c])
    out = citation_html(ans)
    assert "<b>مهم</b>" not in out and "&lt;b&gt;مهم&lt;/b&gt;" in out and "&amp;" in out
    assert "<mark>سند &lt;b&gt;مهم&lt;/b&gt; &amp; «تهران» در این جمله است.</mark>" in out
    # the English rendering: the sentence with the same index, marked, and labelled a translation
    assert "<mark>The &lt;b&gt;important&lt;/b&gt; document &amp; Tehran is here.</mark>" in out
    assert "English translation of the Persian original" in out
    assert 'dir="rtl" lang="fa"' in out and "1. Introduction" in out and "page 3" in out and "صفحه ۳" in out


def test_citation_html_english_quote_marks_the_persian_row(store):
    p = store.by_id["t2.r3"]
    c = _citation(id=p.id, kind=p.kind, section=p.section, table=p.table, row=p.row, page=p.page,
                  text=p.text, text_en=p.text_en, quote="Moscow (Russia) — Sister-city agreement")
    fa, en = highlight(c, p.cells)
    assert fa.startswith("جدول ۲، ردیف ۳: <mark>مسکو") and fa.endswith("</mark>")
    assert en == "Table 2, row 3: <mark>Moscow (Russia) — Sister-city agreement</mark>"
    out = citation_html(Answer("q", "a", "en", False, citations=[c]))
    assert "Table 2, row 3" in out and "جدول ۲، ردیف ۳" in out


def test_highlight_of_a_table_cell_and_a_name(store):
    """A quote of two spans ("name … cell") marks both, in both languages, through the cells."""
    p = store.by_id["t1.r10"]
    c = _citation(id=p.id, kind=p.kind, table=1, row=10, text=p.text, text_en=p.text_en,
                  quote="International Monetary Fund (IMF) … 184 member countries")
    fa, en = highlight(c, p.cells)
    assert re.findall(r"<mark>(.*?)</mark>", en) == ["International Monetary Fund (IMF)", "184 member countries"]
    assert re.findall(r"<mark>(.*?)</mark>", fa) == ["صندوق بین‌المللی پول (IMF)", "۱۸۴ کشور عضو"]


def test_highlight_by_sentence_order(store):
    p = store.by_id["abstract.p1"]
    from assistant.ui import _sentence_spans

    fa_s, en_s = _sentence_spans(p.text), _sentence_spans(p.text_en)
    assert len(fa_s) == len(en_s) >= 3
    quote = p.text_en[en_s[1][0]:en_s[1][1]]
    fa, en = highlight(_citation(id=p.id, text=p.text, text_en=p.text_en, quote=quote))
    assert re.findall(r"<mark>(.*?)</mark>", fa) == [html.escape(p.text[fa_s[1][0]:fa_s[1][1]], quote=False)]
    assert re.findall(r"<mark>(.*?)</mark>", en) == [html.escape(quote, quote=False)]


def test_picker_shows_one_source(handlers):
    _b, _chat, session, all_cards, choices = handlers.respond(Q_FA, [], None, "auto")
    assert all_cards.count('class="cite-card"') >= 3
    second = choices[1][1]
    one = handlers.show_citation(second, session)
    assert one.count('class="cite-card"') == 1 and 'id="cite-2"' in one
    assert handlers.show_citation("all", session).count('class="cite-card"') == all_cards.count('class="cite-card"')
    assert "Sources of the latest answer" in handlers.show_citation(second, None)


def test_abstained_answer_has_no_sources(handlers):
    _b, chat, session, cites, choices = handlers.respond("What is the population of Mars?", [], None, "auto")
    assert session.turns[-1][1].abstained and choices == [] and "No sources" in cites
    assert chat[-1]["content"].startswith(WRAP_EN)


def test_citation_choices_label_and_value():
    c = _citation(n=2, id="t2.r3", kind="table_row", table=2, row=3)
    assert citation_choices(Answer("q", "a", "en", False, citations=[c])) == [("[2] Table 2, row 3, page 3", "[2] t2.r3")]
    assert citation_choices(None) == []


# ---------------------------------------------------------------------- feedback, export
def test_feedback_log_loses_nothing_under_concurrency(tmp_path):
    path = tmp_path / "feedback.jsonl"
    logs = [FeedbackLog(path), FeedbackLog(path)]  # two writers (as two processes would be) and threads
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(50):
                logs[t % 2].add({"thread": t, "i": i, "text": "پاسخ «درست» بود\nline two " + "x" * (i * 37)})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    records = [json.loads(line) for line in lines]  # every line is one valid JSON record
    assert {(r["thread"], r["i"]) for r in records} == {(t, i) for t in range(8) for i in range(50)}
    assert all(r["text"].startswith("پاسخ «درست» بود\nline two") for r in records)


def test_record_feedback_rates_the_answer_that_was_clicked(handlers):
    assert "Nothing to rate" in handlers.record_feedback(None, 1, True)
    _b, chat, session, *_ = handlers.respond("", [], None, "auto")  # a notice, not an answer
    _b, chat, session, *_ = handlers.respond(Q_FA, chat, session, "auto")
    _b, chat, session, *_ = handlers.respond(Q_EN, chat, session, "auto")
    assert session.answer_at == {2: 0, 4: 1}
    assert "Only answers" in handlers.record_feedback(session, 0, True)
    assert "Thank you" in handlers.record_feedback(session, 2, True)
    assert "Thank you" in handlers.record_feedback(session, 4, False)
    assert "Thank you" in handlers.record_feedback(session, None, False, "بهتر بود لندن اول بیاید" + "!" * 9000)
    recs = [json.loads(x) for x in handlers.feedback.path.read_text(encoding="utf-8").splitlines()]
    assert [(r["question"], r["rating"]) for r in recs] == [(Q_FA, "up"), (Q_EN, "down"), (Q_EN, "down")]
    assert recs[0]["citations"] and len(recs[2]["correction"]) == 4000


def test_export_writes_markdown_with_the_citations(handlers):
    assert handlers.export(None) is None and handlers.export(Session()) is None
    _b, chat, session, *_ = handlers.respond(Q_FA, [], None, "auto")
    _b, chat, session, *_ = handlers.respond(Q_EN, chat, session, "auto")
    path = handlers.export(session)
    assert path.endswith(".md")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# Conversation about the paper")
    assert f"## {Q_FA}" in text and f"## {Q_EN}" in text
    for _q, ans in session.turns:
        assert ans.answer in text
        for c in ans.citations:
            assert f"- [{c.n}] `{c.id}`" in text and c.text in text and c.text_en in text
    assert "پروتوریا" in text and "London" in text and "English translation:" in text
    assert handlers.export(session) == path  # one file per session, rewritten


# ---------------------------------------------------------------------- recommendations, tables
def test_filter_items_searches_both_languages(assistant):
    items = policy_items(assistant)
    assert len(items) == 52 and {it["id"][:2] for it in items} == {"t6", "t5", "t4"}
    assert [r[0] for r in filter_items(items, "")][:2] == ["t6.r1", "t6.r2"]  # Table 6 first
    assert len(filter_items(items, "")) == 52
    assert [r[0] for r in filter_items(items, "World Bank")] == ["t6.r4"]
    assert [r[0] for r in filter_items(items, "بانک جهانی")] == ["t6.r4"]
    assert [r[0] for r in filter_items(items, "بانك جهاني")] == ["t6.r4"]  # Arabic kaf and yeh
    assert [r[0] for r in filter_items(items, "WORLD bank")] == ["t6.r4"]
    opp_fa, opp_en = filter_items(items, "فرصت"), filter_items(items, "opportunity")
    assert opp_fa == opp_en and len(opp_fa) == 9 and all(r[0].startswith("t5.") for r in opp_fa)
    assert filter_items(items, "no such words anywhere") == []
    row = filter_items(items, "World Bank")[0]
    assert row[2].startswith("Developing cooperation with the World Bank") and "بانک جهانی" in row[3]


def test_item_samples_escape_and_set_direction(assistant):
    items = [{"id": "t6.r99", "table": 6, "row": 99, "group_fa": "گروه", "group_en": "Group <i>",
              "fa": "<script>alert(1)</script> مورد", "en": "item & <b>x</b>"}]
    (row,) = item_samples(items, "")
    assert row[0] == "t6.r99" and "<script>" not in "".join(row) and "<b>" not in "".join(row)
    assert 'dir="rtl" lang="fa">&lt;script&gt;' in row[3] and "item &amp; &lt;b&gt;x&lt;/b&gt;" in row[2]


def test_clicking_a_recommendation_asks_about_it(handlers):
    _b, chat, session, *_ = handlers.respond(Q_FA, [], None, "auto")  # earlier turns are not its context
    _b, chat, session, cites, choices = handlers.ask_item("t4.r12", chat, session, "auto")
    ans = session.turns[-1][1]
    assert ans.language == "fa" and "t4.r12" in [c.id for c in ans.citations]
    assert "مجمع شهرداران آسیایی" in chat[-2]["content"] and chat[-1]["content"].startswith(WRAP_FA)
    _b, chat, session, cites, choices = handlers.ask_item("t6.r4", chat, session, "English")
    assert session.turns[-1][1].language == "en" and "t6.r4" in [c.id for c in session.turns[-1][1].citations]
    assert "World Bank" in chat[-1]["content"] and len(chat) == 6
    assert "[1]" in choices[0][0]
    _b, chat2, session, *_ = handlers.ask_item("nonexistent", chat, session, "auto")
    assert chat2 == chat


def test_item_questions_name_the_item():
    it = {"id": "t5.r3", "table": 5, "fa": "مورد", "en": "item"}
    assert item_question(it, "en") == "What does the paper say about “item”?"
    assert item_question(it, "en", scoped=True) == "What does Table 5 of the paper say about “item”?"
    assert item_question(it, "fa", scoped=True) == "مقاله در جدول ۵ درباره «مورد» چه می‌گوید؟"


def test_tables_in_both_languages(assistant):
    fa, en = tables_html(assistant, "fa"), tables_html(assistant, "en")
    assert fa.count("<table") == en.count("<table") == 6
    assert "class='paper fa' dir='rtl'" in fa and "class='paper en' dir='ltr'" in en
    assert "English translation of the Persian original" in en and "English translation" not in fa
    assert "پروتوریا" in fa and "Pretoria" in en and "<script" not in fa + en


def test_wrap_and_css_set_direction():
    assert wrap("x", "fa").startswith(WRAP_FA) and wrap("x", "en").startswith(WRAP_EN)
    assert re.search(r"\.msg-fa \{ direction: rtl; text-align: right;", CSS)
    assert re.search(r"\.msg-en \{ direction: ltr; text-align: left;", CSS)


def test_build_app_wires_every_handler(assistant, tmp_path):
    import gradio as gr

    from assistant.ui import build_app

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = build_app(assistant, feedback_path=tmp_path / "f.jsonl")
    assert isinstance(app, gr.Blocks)
    # A handler whose event data (gr.LikeData) is not recognised gets "Expected 2 arguments".
    assert not [w for w in caught if "Expected" in str(w.message)], [str(w.message) for w in caught]
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"chat", "question", "ask", "citations", "picker", "policy-list", "tables", "export"} <= ids
