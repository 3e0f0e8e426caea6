"""The chat window's functions without a browser, over the real session index (conftest's `assistant`):
the two-step question (shown at once, then answered), refusals, sources kept per message, citation links,
escaping, the answer-language switch, feedback and its limits, exports that leave no file, bounded
sessions, PDF pages, the recommendations tool and its brief, and streaming through a FAKE chat model."""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
import threading

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.types import Citation
from assistant.ui import (
    KINDS,
    MAX_MESSAGES,
    FeedbackLog,
    Handlers,
    build_app,
    filter_items,
    highlight,
    items_from,
    log_html,
    tables_html,
)
from assistant.ui.sources import _sentence_spans, linked_markers, short_where
from assistant.ui.text import RLM, bi, h

Q_FA = "کدام خواهرشهرهای تهران در آفریقا هستند؟"
Q_EN = "Which of Tehran's sister cities are in Europe?"
VIETNAM = "Which Table 2 city is in Vietnam?"


@pytest.fixture()
def handlers(assistant, tmp_path):
    return Handlers(assistant, FeedbackLog(tmp_path / "feedback.jsonl"))


def ask(handlers, question, session=None, lang="auto"):
    box, html_, session, waiting = handlers.submit(question, session, lang)
    outs = list(handlers.answer(session, lang)) if waiting else []
    return box, (outs[-1][0] if outs else html_), session


def _tags(markup: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", markup)}


# ---------------------------------------------------------------------- a question in two steps
def test_question_shows_at_once_then_the_answer(handlers):
    box, html_, session, waiting = handlers.submit(Q_FA, None, "auto")
    assert box == "" and waiting
    assert [m.role for m in session.messages] == ["user", "assistant"]
    assert session.messages[1].state == "pending"
    assert Q_FA in html_ and 'class="typing"' in html_ and 'aria-busy="true"' in html_
    outs = list(handlers.answer(session, "auto"))
    assert len(outs) == 1  # the extractive answer appears whole
    html_ = outs[-1][0]
    ans = session.messages[1].answer
    assert not ans.abstained and {"t2.r2", "t2.r8"} <= {c.id for c in ans.citations}
    assert 'class="typing"' not in html_ and "پروتوریا" in html_ and "خارطوم" in html_
    # the answer message carries its language, its [n] links, its chips and its own cards
    mid = session.messages[1].id
    assert f'<div class="msg bot" id="{mid}" lang="fa" dir="rtl">' in html_
    for c in ans.citations:
        assert f'href="#{mid}-s{c.n}"' in html_ and f'id="{mid}-s{c.n}"' in html_
    assert html_.count('class="chip"') == len(ans.citations)
    assert html_.count('<div class="cite-card"') == len(ans.citations)


def test_earlier_sources_stay_with_their_message(handlers):
    _b, _h, session = ask(handlers, Q_FA)
    _b, html_, session = ask(handlers, Q_EN, session)
    first, second = [m for m in session.messages if m.role == "assistant"]
    assert first.id != second.id
    for m in (first, second):
        for c in m.answer.citations:
            assert f'id="{m.id}-s{c.n}"' in html_
    # the latest answer's sources are open, the earlier ones folded but there
    assert f'id="{second.id}-sources" open' in html_ and f'id="{first.id}-sources">' in html_
    assert "Moscow" in html_ and "پروتوریا" in html_


def test_citation_markers_link_only_known_sources():
    out = linked_markers(h("A [1] and [2] and [9]"), "m4", {1, 2})
    assert out.count('class="cite"') == 2 and 'href="#m4-s2"' in out and "[9]" in out and "#m4-s9" not in out


def test_card_names_the_location_in_words_and_links_the_page(handlers, store):
    p = store.by_id["t2.r8"]
    c = Citation(
        n=3,
        id=p.id,
        kind=p.kind,
        section=p.section,
        table=p.table,
        row=p.row,
        page=None,
        text=p.text,
        text_en=p.text_en,
        heading=p.heading,
        heading_en=p.heading_en,
        quote=p.text,
    )
    out = handlers.card(c, "m2")
    assert "Table 2 (Tehran&#x27;s cooperation and sister-city relations…), row 8" in out
    assert "جدول ۲" in out and "ردیف ۸" in out and "<code>t2.r8</code>" in out
    page = handlers.page_of(c)
    assert page is not None and f"paper.fa.pdf#page={page}" in out
    assert short_where(c) == ("Table 2, row 8", "جدول ۲، ردیف ۸")


def test_pdf_pages_are_found_for_the_passages(handlers, store):
    pages = {
        p.id: handlers.page_of(Citation(0, p.id, p.kind, p.section, p.table, p.row, None, p.text, p.text_en))
        for p in store.passages
    }
    found = [v for v in pages.values() if v]
    assert len(found) == len(pages)  # every passage: its own page, or its table's
    assert pages["abstract.p1"] == 1 and pages["title.h"] == 1
    assert pages["conclusion.p1"] >= pages["s6.3.p1"] >= pages["intro.p1"]


# ---------------------------------------------------------------------- refusals
@pytest.mark.parametrize("question", ["", "   ", "؟!", "\n\t", None, "😀😀😀", "\x00\x07\u200b"])
def test_empty_question_is_a_message_and_a_note(handlers, question):
    _b, _h, session = ask(handlers, Q_EN)
    before = len(session.messages)
    box, html_, session = ask(handlers, question, session)
    assert box == ""
    new = session.messages[before:]
    assert [m.role for m in new] == ["user", "note"]
    note = html_[html_.index(f'id="{new[1].id}"') :]
    assert "Please type a question about the paper" in note and "لطفاً پرسشی درباره مقاله بنویسید" in note
    assert "data-act" not in note  # no thumbs on a refusal
    assert len(session.answered()) == 1  # the earlier answer is untouched


@pytest.mark.parametrize("n", [2_001, 5_000, 100_000])
def test_overlong_question_is_kept_counted_and_refused(handlers, n):
    question = ("sister city " * (n // 12 + 1))[:n]
    box, html_, session = ask(handlers, question)
    assert box == question  # nothing cut: left in the box to be shortened
    assert [m.role for m in session.messages] == ["user", "note"]
    assert len(session.messages[0].text) < 400 and session.messages[0].text.endswith("…")
    assert f"{n:,} characters" in session.messages[1].text and "2,000" in session.messages[1].text


def test_failure_inside_the_chain_is_a_friendly_note(assistant, tmp_path, caplog):
    class Broken:
        settings, store, generator = assistant.settings, assistant.store, None
        retriever = assistant.retriever

        def ask(self, *a, **k):
            raise RuntimeError("index exploded\n" + "x" * 10_000)

    h_ = Handlers(Broken(), FeedbackLog(tmp_path / "f.jsonl"))
    _b, html_, session = ask(h_, Q_EN)
    assert session.messages[-1].role == "note" and "something went wrong" in html_
    assert "exploded" not in html_ and "Traceback" not in html_
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("assistant.ui")]
    assert len(logged) == 1 and "\n" not in logged[0] and len(logged[0]) < 400  # one bounded log line


def test_markup_in_a_question_is_text(handlers):
    q = "What about <script>alert(1)</script> and <img src=x onerror=alert(1)> [x](http://evil.example)?"
    _b, html_, session = ask(handlers, q)
    assert "<script" not in html_ and "<img" not in html_ and "&lt;script&gt;" in html_
    assert "onerror=alert" not in html_.replace("onerror=alert(1)&gt;", "")
    assert not re.search(r'href="(?!#m\d+-s\d+|/gradio_api/file=)', html_)  # only our own links


@hsettings(max_examples=120, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab تهران<>&'\"\\`*_{}[]()#+-.!|~$@:/=1\n")), max_size=60))
def test_escaping_leaves_no_markup(text):
    out = h(text)
    assert "<" not in out and ">" not in out and '"' not in out
    assert _tags(linked_markers(out, "m1", {1})) <= {"a"}


# ---------------------------------------------------------------------- the answer-language switch
@pytest.mark.parametrize(
    "question",
    [
        "صندوق جهانی توسعه شهرها چند شهر عضو دارد؟",
        "کدام خواهرشهرهای تهران در آفریقا هستند؟",
        "Which of Tehran's sister cities are in Europe?",
        "What is the population of Mars?",
        "سازمان متروپلیس چه اهدافی دارد؟",
    ],
)
def test_language_switch_never_changes_whether_it_is_answered(handlers, question):
    flags, langs = {}, {}
    for choice in ("auto", "فارسی", "English"):
        ans = handlers.ask(question, [], choice)
        flags[choice], langs[choice] = ans.abstained, ans.language
    assert len(set(flags.values())) == 1, flags
    if flags["auto"]:
        assert langs["فارسی"] == "fa" and langs["English"] == "en"  # the refusal in the chosen language


# ---------------------------------------------------------------------- feedback
def test_feedback_on_an_earlier_answer_and_its_thanks(handlers, tmp_path):
    _b, _h, session = ask(handlers, Q_FA)
    _b, _h, session = ask(handlers, Q_EN, session)
    first = [m for m in session.messages if m.role == "assistant"][0]
    html_, session, status, card, dl = handlers.action(
        json.dumps({"act": "fix", "msg": first.id, "text": "Tunis is not yet a sister city."}), session
    )
    assert "Thank you" in status and dl == "" and card is None
    assert f'data-msg="{first.id}"' in html_ and 'class="thanks"' in html_
    rec = [json.loads(line) for line in handlers.feedback.path.read_text(encoding="utf-8").splitlines()]
    assert rec[-1]["question"] == Q_FA and rec[-1]["correction"] == "Tunis is not yet a sister city."
    # a note cannot be rated; nor can an unknown message
    _b, _h, session = ask(handlers, "   ", session)
    note = session.messages[-1]
    assert "Only answers" in handlers.feedback_action(session, note.id, "up")
    assert "Only answers" in handlers.feedback_action(session, "m999", "up")
    # an empty correction is asked for first
    assert "Type the correction first" in handlers.action(json.dumps({"act": "fix", "msg": first.id}), session)[2]
    # malformed actions change nothing
    assert handlers.action("{not json", session)[2] == ""


def test_feedback_is_rate_limited_and_size_limited(assistant, tmp_path):
    h_ = Handlers(assistant, FeedbackLog(tmp_path / "f.jsonl", max_bytes=12_000))
    _b, _h, session = ask(h_, Q_EN)
    mid = session.messages[-1].id
    statuses = [h_.feedback_action(session, mid, "down", "x" * 10_000) for _ in range(25)]
    rec = json.loads((tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert len(rec["correction"]) == 4_000  # each field cut
    assert statuses[:2] == [statuses[0]] * 2 and "Thank you" in statuses[0]
    assert "file is full" in statuses[2]  # the file stops at its size limit
    assert statuses[19] != statuses[20] and all("Too much feedback" in s for s in statuses[20:])  # 20 per 10 minutes
    assert (tmp_path / "f.jsonl").stat().st_size <= 12_000


def test_feedback_log_loses_nothing_under_concurrency(tmp_path):
    path = tmp_path / "feedback.jsonl"
    logs = [FeedbackLog(path), FeedbackLog(path)]

    def writer(t: int) -> None:
        for i in range(25):
            logs[t % 2].add({"t": t, "i": i, "text": "تهران " * 50})

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and len({(json.loads(x)["t"], json.loads(x)["i"]) for x in lines}) == 200


# ---------------------------------------------------------------------- exports, files, memory
def _tmp_entries() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


def test_export_before_a_question_says_so_and_after_leaves_no_file(handlers):
    payload, status = handlers.export_chat(None)
    assert payload == "" and "Nothing to export yet" in status
    before = _tmp_entries()
    _b, _h, session = ask(handlers, Q_FA)
    _b, _h, session = ask(handlers, "   ", session)  # a refusal is not exported
    payload, status = handlers.export_chat(session)
    data = json.loads(payload)
    text = base64.b64decode(data["b64"]).decode("utf-8")
    assert data["name"] == "conversation.md" and "exported" in status
    assert text.count("\n## ") == 1 and "Sources / منابع" in text and "`t2.r8`" in text and "page" in text
    assert _tmp_entries() == before  # nothing written under the temp folder


def test_sessions_are_bounded(handlers):
    session = None
    for i in range(MAX_MESSAGES):  # questions and refusals alternate: cheap, and both kinds count
        _b, _h, session = ask(handlers, Q_EN if i % 5 == 0 else "  ", session)
    assert len(session.messages) == MAX_MESSAGES
    assert len(session.history()) <= 6


def test_stop_turns_the_pending_answer_into_a_note(handlers):
    _box, _h, session, waiting = handlers.submit(Q_EN, None, "auto")
    html_, session = handlers.stop(session)
    assert session.messages[-1].role == "note" and "Stopped" in session.messages[-1].text
    assert list(handlers.answer(session, "auto"))[-1][0] == html_  # nothing left to answer


# ---------------------------------------------------------------------- streaming (FAKE chat model)
class FakeStreamingChatModel:
    """A FAKE chat model (no model behind it): copies the first sentence of the prompt's first two passages,
    each with its number, in small chunks; the second sentence cites a passage that does not support it."""

    streams = True

    def reply(self, messages) -> str:
        lines = [re.match(r"^\[(\d+)\] (?:\([^)]*\) )?(.+)$", x) for x in messages[-1]["content"].splitlines()]
        lines = [m for m in lines if m]
        first = re.split(r"(?<=[.!?])\s", lines[0].group(2))[0].rstrip(".")
        return f"{first}. [{lines[0].group(1)}] The moon is made of green cheese and music. [{lines[0].group(1)}] "

    def chat(self, messages, *, max_tokens, timeout):
        return self.reply(messages)

    def stream(self, messages, *, max_tokens, timeout):
        text = self.reply(messages)
        for i in range(0, len(text), 5):
            yield text[i : i + 5]


def test_streaming_shows_only_verified_sentences(settings, store, tmp_path):
    from assistant.answer import Assistant
    from assistant.llm import Generator

    a = Assistant(settings.with_overrides(backend="openai", llm_base_url="http://127.0.0.1:9/v1"), store)
    a.generator = Generator(a.settings, FakeStreamingChatModel(), name="fake")
    h_ = Handlers(a, FeedbackLog(tmp_path / "f.jsonl"))
    assert h_.tap is not None
    _box, _h, session, _w = h_.submit(VIETNAM, None, "auto")
    outs = [o[0] for o in h_.answer(session, "auto")]
    drafts = [o for o in outs if 'class="msg bot writing"' in o]
    final = outs[-1]
    assert drafts and "Hanoi" in drafts[-1]  # a verified sentence while writing
    assert all("green cheese" not in o for o in outs)  # the unsupported one never shows
    assert "Hanoi" in final and 'class="chips"' in final and "writing" not in final


# ---------------------------------------------------------------------- recommendations
def test_kinds_come_from_the_data(assistant):
    from assistant.ui.recommendations import profile_kinds

    profile = profile_kinds(assistant.settings.corpus_dir)
    derived = items_from(assistant.store.passages, {})  # from the group cells alone
    for items in (items_from(assistant.store.passages, profile), derived):
        counts = {k: sum(1 for it in items if it["kind"] == k) for k in KINDS}
        # corpus/README: Table 4: 9 shortcomings, 7 advantages, 7 necessities; 5: 9 + 6; 6: 7 + 7
        assert counts == {
            "recommendation": 7,
            "result": 7,
            "opportunity": 9,
            "challenge": 6,
            "shortcoming": 9,
            "advantage": 7,
            "necessity": 7,
        }
        assert [it["kind"] for it in items][:7] == ["recommendation"] * 7
    if profile:  # the profile decides: a table it does not give groups to is not listed
        table = next(it["table"] for it in derived if it["kind"] == "opportunity")
        fewer = {t: v for t, v in profile.items() if t != table}
        assert not [it for it in items_from(assistant.store.passages, fewer) if it["table"] == table]


def test_filter_by_kind_and_search(assistant):
    items = items_from(assistant.store.passages, {})
    assert len(filter_items(items, "", ["challenge"])) == 6
    both = filter_items(items, "بانك جهاني", None)  # Arabic kaf/ya: normalized
    assert both and all("World Bank" in it["en"] for it in both)
    assert filter_items(items, "world bank", ["opportunity"]) == [it for it in both if it["kind"] == "opportunity"]


def test_recommendation_card_has_expected_results_related_items_and_paragraphs(handlers):
    recs = handlers.recs
    rec = next(it for it in recs.items if it["kind"] == "recommendation")
    card = recs.related(rec["id"])
    sections = {en: ps for en, _fa, ps in card["sections"]}
    results = sections["Expected results"]
    assert 1 <= len(results) <= 3 and all(recs.by_id[p.id]["kind"] == "result" for p in results)
    related = sections["Related necessities and challenges"]
    assert related and all(recs.by_id[p.id]["kind"] in ("necessity", "challenge", "shortcoming") for p in related)
    assert card["paragraphs"] and all(p.kind == "paragraph" for p in card["paragraphs"])
    out = recs.card_html(rec["id"])
    msg = f"rec-{rec['id'].replace('.', '-')}"
    for _p, n in recs.numbered(card):
        assert f'href="#{msg}-s{n}"' in out and f'id="{msg}-s{n}"' in out
    assert "Expected results" in out and "نتایج مورد انتظار" in out
    assert recs.card_html("t9.r99") == ""


def test_policy_brief_markdown_and_pdf(handlers):
    recs = handlers.recs
    ids = [recs.items[0]["id"], next(it["id"] for it in recs.items if it["kind"] == "challenge")]
    md = recs.brief_markdown(ids)
    assert md.startswith("# Policy brief") and "## Sources · منابع" in md
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", md)}
    listed = re.findall(r"^(\d+)\. .*\(`([\w.]+)`\)$", md, re.M)
    assert cited == {int(n) for n, _ in listed} and {ids[0], ids[1]} <= {pid for _, pid in listed}
    assert recs.items[0]["fa"] in md and recs.items[0]["en"] in md
    assert recs.brief([], "md")[0] == ""
    before = _tmp_entries()
    payload, status = recs.brief(ids, "pdf")
    pdf = base64.b64decode(json.loads(payload)["b64"])
    assert pdf[:4] == b"%PDF" and "PDF" in status
    assert _tmp_entries() == before  # the printing folder is gone


# ---------------------------------------------------------------------- the rest of the page
def test_highlight_keeps_both_languages(store):
    p = store.by_id["t2.r3"]
    c = Citation(
        1,
        p.id,
        p.kind,
        p.section,
        p.table,
        p.row,
        None,
        p.text,
        p.text_en,
        quote="Moscow (Russia) — Sister-city agreement",
    )
    fa, en = highlight(c, p.cells)
    assert (
        fa.startswith("جدول ۲، ردیف ۳: <mark>مسکو")
        and en == "Table 2, row 3: <mark>Moscow (Russia) — Sister-city agreement</mark>"
    )


def test_highlight_by_sentence_order(store):
    p = store.by_id["abstract.p1"]
    _fa_s, en_s = _sentence_spans(p.text), _sentence_spans(p.text_en)
    quote = p.text_en[en_s[1][0] : en_s[1][1]]
    fa, _en = highlight(Citation(1, p.id, p.kind, p.section, None, None, None, p.text, p.text_en, quote=quote))
    assert len(re.findall(r"<mark>", fa)) == 1


def test_persian_full_stops_stay_at_their_end():
    label = bi("Ask a question.", "پرسش خود را بنویسید.")
    assert label.endswith("بنویسید." + RLM)


def test_tables_in_both_languages(assistant):
    fa, en = tables_html(assistant, "fa"), tables_html(assistant, "en")
    assert fa.count("<table") == en.count("<table") == 6 and "dir='rtl'" in fa


def test_build_app_wires_the_window(assistant, tmp_path):
    app = build_app(assistant, feedback_path=tmp_path / "f.jsonl")
    cfg = app.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in cfg["components"]}
    assert {
        "chat",
        "question",
        "ask",
        "stop",
        "answer-lang",
        "export",
        "rec-list",
        "rec-card",
        "rec-kinds",
        "policy-search",
        "ui-action",
        "ui-action-btn",
        "tables",
    } <= ids
    apis = {d.get("api_name") for d in cfg["dependencies"]}
    assert "respond" in apis
    assert log_html(None, {}, lambda c: None, None, {}).count("empty-chat") == 1


def test_a_card_shows_each_text_once(handlers):
    recs = handlers.recs
    for it in recs.items:
        card = recs.related(it["id"])
        texts = [recs.by_id[p.id]["fa"] for _e, _f, ps in card["sections"] for p in ps]
        assert len(texts) == len(set(texts)) and it["fa"] not in texts
