"""End to end in headless Debian Chromium against a real Gradio server on 127.0.0.1 (started in this
process over the session index): citation links and chips, sources kept per message, refusals, the
counter, dark-mode contrast computed from rendered colours, the phone layout, the recommendations tab
and its brief, and a slow FAKE chat model for the question-first / streaming / Stop behaviour.
Screenshots go to tests/artifacts/ (or to the folder named by UI_SCREENSHOTS, e.g. docs/)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port

SHOTS = Path(os.environ.get("UI_SCREENSHOTS") or ROOT / "tests" / "artifacts")
WAIT_MS = 40_000
Q_FA = "کدام خواهرشهرهای تهران در آفریقا هستند؟"
Q_EN = "Which of Tehran's sister cities are in Europe?"
VIETNAM = "Which Table 2 city is in Vietnam?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium"),
]

# WCAG relative luminance / contrast of two CSS colours as the browser computed them (alpha composited on
# the nearest opaque background up the tree).
CONTRAST_JS = r"""
(() => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let base = document.documentElement.classList.contains('dark') || document.body.classList.contains('dark') ? [11, 15, 25, 1] : [255, 255, 255, 1];
    if (layers.length && layers[layers.length - 1][3] >= 1) base = layers.pop();
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base; };
  window.taContrast = (el, pseudo) => {
    const fg = parse(getComputedStyle(el, pseudo || null).color); const bg = background(el);
    const fgc = fg[3] < 1 ? over(fg, bg) : fg; const [a, b] = [lum(fgc), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05); };
  window.taLowContrast = (root, min) => { const out = [];
    for (const el of root.querySelectorAll('*')) {
      if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const r = window.taContrast(el); if (r < min) out.push([el.tagName + '.' + el.className, el.textContent.trim().slice(0, 40), Math.round(r * 100) / 100]); }
    return out; };
})()
"""


def _serve(assistant, tmp_path):
    from assistant.ui import build_app, launch

    app = build_app(assistant, feedback_path=tmp_path / "feedback.jsonl")
    port = free_port()
    launch(app, "127.0.0.1", port, None, prevent_thread_lock=True)
    return app, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(assistant, tmp_path_factory):
    app, url = _serve(assistant, tmp_path_factory.mktemp("ui"))
    yield url
    app.close()


class SlowFakeChatModel:
    """A FAKE chat model (a test double, no model behind it) that writes slowly: it answers from the first
    two passages of its prompt by copying their first sentence with the passage's number, one word every
    `delay` seconds, so the window's question-first, streaming and Stop behaviour can be seen."""

    streams = True

    def __init__(self, delay: float = 0.15):
        self.delay = delay

    def chat(self, messages, *, max_tokens, timeout):
        return self.reply(messages)

    def reply(self, messages) -> str:
        out = []
        for line in messages[-1]["content"].splitlines():
            m = re.match(r"^\[(\d+)\] (?:\([^)]*\) )?(.+)$", line)
            if m:
                first = re.split(r"(?<=[.!?])\s", m.group(2).strip())[0].rstrip(".")
                out.append(f"{first}. [{m.group(1)}]")
            if len(out) == 2:
                break
        return " ".join(out)

    def stream(self, messages, *, max_tokens, timeout):
        for word in self.reply(messages).split(" "):
            time.sleep(self.delay)
            yield word + " "


@pytest.fixture(scope="module")
def slow_server(settings, store, tmp_path_factory):
    from assistant.answer import Assistant
    from assistant.llm import Generator

    a = Assistant(settings.with_overrides(backend="openai", llm_base_url="http://127.0.0.1:9/v1"), store)
    a.generator = Generator(a.settings, SlowFakeChatModel(), name="fake")
    app, url = _serve(a, tmp_path_factory.mktemp("ui-slow"))
    yield url
    app.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser, url, width=1366, height=900, scheme="light"):
    ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.evaluate(CONTRAST_JS)
    return page


def _ask(page, question: str) -> str:
    """Ask and wait for the answer; -> the new answer's message id."""
    n = page.locator("#chat .msg.bot:not(.writing), #chat .msg.note").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#chat .msg.bot:not(.writing), #chat .msg.note').length > n", arg=n
    )
    page.wait_for_selector("#ask", state="visible")  # the Stop button is gone again
    return page.evaluate("[...document.querySelectorAll('#chat .msg')].pop().id")


def _shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=full)


# ---------------------------------------------------------------------- citations, kept per message
def test_citation_link_opens_that_messages_source_and_earlier_sources_stay(browser, server):
    page = _page(browser, server)
    first = _ask(page, Q_FA)
    msg = page.locator(f"#{first}")
    assert msg.get_attribute("lang") == "fa" and msg.get_attribute("dir") == "rtl"
    assert page.evaluate(f"getComputedStyle(document.getElementById('{first}')).direction") == "rtl"
    user = page.locator("#chat .msg.user").first
    assert user.get_attribute("lang") == "fa" and user.get_attribute("dir") == "rtl"
    # [2] in the text is a link; clicking it opens the second source of THIS message
    page.locator(f"#{first} .body a.cite", has_text="[2]").first.click()
    card = page.locator(f"#{first}-s2")
    assert card.is_visible() and "active" in card.get_attribute("class")
    assert page.evaluate("document.activeElement.id") == f"{first}-s2"
    second_id = page.evaluate(f"document.querySelectorAll('#{first} .cite-card')[1].id")
    assert second_id == f"{first}-s2"
    assert "جدول ۲، ردیف" in card.inner_text() and "row" in card.inner_text()  # the location in words
    assert card.locator("mark").count() >= 1
    assert card.locator("a.page-link").count() == 1  # the page of the printed paper
    href = card.locator("a.page-link").get_attribute("href")
    assert re.search(r"paper\.fa\.pdf#page=\d+$", href)
    chips = page.locator(f"#{first} .chips a.chip")
    assert chips.count() == page.locator(f"#{first} .cite-card").count() >= 3
    assert chips.nth(1).inner_text() == "[۲] جدول ۲، ردیف ۲" and chips.nth(1).get_attribute("title") == "Table 2, row 2"
    _shot(page, "chat-light.png")

    second = _ask(page, Q_EN)
    assert page.locator(f"#{second}").get_attribute("dir") == "ltr"
    assert re.fullmatch(r"\[2\] Table 2, row \d+", page.locator(f"#{second} .chips a.chip").nth(1).inner_text())
    # the earlier answer's sources are still there: its chip [3] opens its own third card
    page.locator(f"#{first} .chips a.chip").nth(2).click()
    old = page.locator(f"#{first}-s3")
    assert old.is_visible() and "active" in old.get_attribute("class")
    assert page.evaluate("document.activeElement.id") == f"{first}-s3"
    # the PDF itself is served (the page links work)
    resp = page.request.get(server.rstrip("/") + href.split("#")[0])
    assert resp.status == 200 and resp.body()[:4] == b"%PDF"
    # the page and the inputs have names in both languages
    assert page.evaluate("document.documentElement.lang") == "fa"
    assert page.get_attribute("#question textarea", "aria-label") == "Question · پرسش"
    assert page.locator("#chat .chat-log[role=log]").count() == 1


# ---------------------------------------------------------------------- refusals and the limit
def test_refused_input_shows_as_its_own_message(browser, server):
    page = _page(browser, server)
    _ask(page, Q_EN)
    answers = page.locator("#chat .msg.bot").count()
    page.fill("#question textarea", "😀😀 \u200b")
    page.click("#ask")
    page.wait_for_function("() => [...document.querySelectorAll('#chat .msg')].pop().classList.contains('note')")
    last_two = page.evaluate("[...document.querySelectorAll('#chat .msg')].slice(-2).map(m => m.className)")
    assert last_two == ["msg user", "msg note"]
    note = page.locator("#chat .msg.note").last
    assert "Please type a question" in note.inner_text() and note.locator(".actions, button").count() == 0
    assert page.locator("#chat .msg.bot").count() == answers  # the previous answer is untouched

    # a 5,000-character paste is kept whole, counted against the one limit, and refused in words
    long_q = ("Which of Tehran's sister cities are in Europe? " * 120)[:5000]
    page.fill("#question textarea", long_q)
    assert len(page.input_value("#question textarea")) == 5000
    counter = page.locator("#q-counter")
    assert counter.inner_text() == "5,000 / 2,000" and "over" in counter.get_attribute("class")
    page.click("#ask")
    page.wait_for_function("() => [...document.querySelectorAll('#chat .msg.note')].length >= 2")
    note = page.locator("#chat .msg.note").last
    assert "5,000" in note.inner_text() and "2,000" in note.inner_text()
    assert len(page.input_value("#question textarea")) == 5000  # still there to be shortened
    _shot(page, "ui-refusals.png")


# ---------------------------------------------------------------------- dark mode and contrast
def test_dark_mode_keeps_highlights_readable(browser, server):
    page = _page(browser, server, scheme="dark")
    assert page.evaluate(
        "document.body.classList.contains('dark') || document.documentElement.classList.contains('dark')"
    )
    mid = _ask(page, Q_EN)
    marks = page.locator(f"#{mid} .cite-card mark")
    assert marks.count() >= 4
    ratios = [
        page.evaluate("(el) => window.taContrast(el)", marks.nth(i).element_handle()) for i in range(marks.count())
    ]
    print("dark highlight contrast:", min(ratios))
    assert min(ratios) >= 4.5
    low = page.evaluate("window.taLowContrast(document.body, 4.5)")
    assert low == [], low
    _shot(page, "chat-dark.png")
    page.get_by_role("tab", name=re.compile("Recommendations")).click()
    page.locator("#rec-list .rec-open").first.click()
    page.wait_for_selector("#rec-card .rec-card mark, #rec-card .rec-card .cite-card")
    low = page.evaluate("window.taLowContrast(document.body, 4.5)")
    assert low == [], low


def test_light_mode_controls_meet_aa(browser, server):
    page = _page(browser, server)
    _ask(page, Q_FA)
    ask = page.evaluate("window.taContrast(document.querySelector('#ask'))")
    tab = page.evaluate("window.taContrast(document.querySelector('button[role=tab][aria-selected=true]'))")
    placeholder = page.evaluate("window.taContrast(document.querySelector('#question textarea'), '::placeholder')")
    print(f"contrast: ask {ask:.2f}, selected tab {tab:.2f}, placeholder {placeholder:.2f}")
    assert min(ask, tab, placeholder) >= 4.5
    low = page.evaluate("window.taLowContrast(document.body, 4.5)")
    assert low == [], low


# ---------------------------------------------------------------------- phone
def test_phone_layout_shows_tabs_and_latest_sources(browser, server):
    page = _page(browser, server, width=390, height=844)
    tabs = page.locator("button[role=tab]")
    assert tabs.count() >= 3
    for i in range(tabs.count()):  # every tab in view (none behind a "more" menu)
        box = tabs.nth(i).bounding_box()
        assert tabs.nth(i).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390
    mid = _ask(page, Q_FA)
    # the latest answer's sources open directly under it
    assert page.locator(f"#{mid}-sources").get_attribute("open") is not None
    answer_box = page.locator(f"#{mid} .body").bounding_box()
    card_box = page.locator(f"#{mid}-s1").bounding_box()
    assert 0 < card_box["y"] - (answer_box["y"] + answer_box["height"]) < 400
    page.locator(f"#{mid}-s1").scroll_into_view_if_needed()
    assert page.locator(f"#{mid}-s1").is_visible()
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0
    _shot(page, "chat-phone.png")
    page.get_by_role("tab", name=re.compile("Recommendations")).click()
    page.wait_for_selector("#rec-list .rec-item")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    page.get_by_role("tab", name=re.compile("Tables")).click()
    page.wait_for_selector("#tables table.paper")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


# ---------------------------------------------------------------------- recommendations
def test_recommendation_card_and_policy_brief(browser, server):
    page = _page(browser, server)
    page.get_by_role("tab", name=re.compile("Recommendations")).click()
    page.wait_for_selector("#rec-list .rec-item")
    total = page.locator("#rec-list .rec-item").count()
    page.locator("#rec-kinds label", has_text="Recommendation").click()
    page.wait_for_function("(n) => document.querySelectorAll('#rec-list .rec-item').length < n", arg=total)
    assert (
        page.locator("#rec-list .rec-item").count()
        == page.locator("#rec-list .rec-item.kind-recommendation").count()
        >= 5
    )
    page.locator("#rec-list .rec-open").first.click()
    page.wait_for_selector("#rec-card .rec-card")
    card = page.locator("#rec-card .rec-card")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "recommendations.png")
    text = card.inner_text()
    assert "Expected results" in text and "Where the paper argues for it" in text
    results = card.locator("h4", has_text="Expected results").locator("xpath=following-sibling::ul[1]/li")
    assert results.count() >= 1
    assert results.first.locator("a.cite").count() >= 1  # cited
    n = results.first.locator("a.cite").first.get_attribute("data-n")
    results.first.locator("a.cite").first.click()
    src = card.locator(f".cite-card[data-n='{n}']")
    assert src.is_visible() and "active" in src.get_attribute("class")
    assert re.search(r"Table \d+.*row \d+", src.inner_text())

    # search narrows the list; two items selected; the brief comes back as Markdown and as a PDF
    page.locator("#rec-kinds label", has_text="Recommendation").click()
    page.fill("#policy-search textarea", "World Bank")
    page.wait_for_function("() => document.querySelectorAll('#rec-list .rec-item').length <= 3")
    page.fill("#policy-search textarea", "")
    page.wait_for_function("(n) => document.querySelectorAll('#rec-list .rec-item').length === n", arg=total)
    page.locator("#rec-list .rec-check").nth(0).check()
    page.locator("#rec-list .rec-check").nth(1).check()
    with page.expect_download() as dl:
        page.click("#brief-md")
    md = Path(dl.value.path()).read_text(encoding="utf-8")
    assert md.startswith("# Policy brief") and "## Sources · منابع" in md and re.search(r"\[\d+\]", md)
    assert re.search(r"[\u0600-\u06FF]", md) and "Expected results" in md
    with page.expect_download(timeout=90_000) as dl:
        page.click("#brief-pdf")
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf[:4] == b"%PDF" and len(pdf) > 5000
    if os.environ.get("UI_SCREENSHOTS"):  # the brief as printed, for the README
        from assistant.ui.recommendations import brief_html

        (SHOTS / "policy-brief.md").write_text(md, encoding="utf-8")
        (SHOTS / "policy-brief.pdf").write_bytes(pdf)
        sheet = browser.new_page(viewport={"width": 794, "height": 1123})
        sheet.set_content(brief_html(md))
        sheet.screenshot(path=str(SHOTS / "policy-brief.png"))
        sheet.close()


def test_export_and_feedback_on_an_earlier_answer(browser, server, tmp_path):
    page = _page(browser, server)
    page.click("#export")
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('Nothing to export yet')")
    first = _ask(page, Q_FA)
    _ask(page, Q_EN)
    page.locator(f"#{first} button[data-act=fix]").click()
    page.locator(f"#{first} .fix-text").fill("Tunis is not a sister city yet.")
    page.locator(f"#{first} button[data-act=send-fix]").click()
    page.wait_for_selector(f"#{first} .thanks")
    assert page.locator(f"#{first} .thanks").is_visible()
    with page.expect_download() as dl:
        page.click("#export")
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert text.count("\n## ") == 2 and "Sources / منابع" in text


# ---------------------------------------------------------------------- a slow chat model
def test_question_shows_before_the_answer_and_streams(browser, slow_server):
    page = _page(browser, slow_server)
    page.fill("#question textarea", VIETNAM)
    started = time.monotonic()
    page.click("#ask")
    page.wait_for_selector("#chat .msg.user")
    page.wait_for_selector("#chat .msg.bot.writing .typing")
    shown_after = time.monotonic() - started
    assert VIETNAM in page.inner_text("#chat .msg.user")
    assert page.locator("#stop").is_visible()
    assert page.locator("#chat .msg.bot:not(.writing)").count() == 0  # the answer has not arrived yet
    # a verified sentence appears while the model is still writing
    page.wait_for_function(
        "() => { const w = document.querySelector('#chat .msg.bot.writing .body');"
        " return w && w.innerText.includes('Hanoi'); }"
    )
    _shot(page, "ui-streaming.png")
    page.wait_for_selector("#chat .msg.bot:not(.writing) .chips")
    total = time.monotonic() - started
    print(f"question shown after {shown_after:.2f} s; answer complete after {total:.2f} s")
    assert "Hanoi" in page.inner_text("#chat .msg.bot .body") and shown_after < total
    page.wait_for_selector("#stop", state="hidden")  # Stop goes once the answer is in

    # Stop while writing: the answer is dropped and a note says so
    page.fill("#question textarea", "Which Table 2 city is in Cuba?")
    page.click("#ask")
    page.wait_for_selector("#stop", state="visible")
    page.click("#stop")
    page.wait_for_function("() => [...document.querySelectorAll('#chat .msg')].pop().classList.contains('note')")
    assert "Stopped" in page.locator("#chat .msg.note").last.inner_text()
    page.wait_for_selector("#ask", state="visible")
