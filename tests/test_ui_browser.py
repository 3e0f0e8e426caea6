"""End to end: the real server (`python -m assistant serve`) over the session index, driven in
headless Debian Chromium. Screenshots go to tests/artifacts/ (git-ignored)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_WAIT_S = 90
ANSWER_WAIT_MS = 30_000

Q_FA = "کدام خواهرشهرهای تهران در آفریقا هستند؟"
Q_EN = "Which of Tehran's sister cities are in Europe?"

pytestmark = pytest.mark.browser

# The last chat message's wrapper: its class, dir attribute, computed direction and alignment,
# how many list items Markdown made inside it, and its text.
LAST_BOT = """() => {
  const bots = [...document.querySelectorAll('#chat [data-testid="bot"]')];
  const el = bots.length ? bots[bots.length - 1].querySelector('.msg-fa, .msg-en') : null;
  if (!el) return null;
  const cs = getComputedStyle(el);
  return {cls: el.className, dir: el.getAttribute('dir'), direction: cs.direction, align: cs.textAlign,
          items: el.querySelectorAll('li').length, text: el.innerText, n: bots.length};
}"""
LAST_USER_DIRECTION = """() => {
  const users = [...document.querySelectorAll('#chat [data-testid="user"] .msg-fa, #chat [data-testid="user"] .msg-en')];
  return users.length ? getComputedStyle(users[users.length - 1]).direction : null;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the server did not answer within {SERVER_WAIT_S} s:\n{log.read_text(errors='replace')[-3000:]}")


def _ask(page, question: str, answers_before: int, expect: str) -> dict:
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        "([n, expect]) => { const b = [...document.querySelectorAll('#chat [data-testid=\"bot\"]')];"
        " return b.length > n && b[b.length - 1].innerText.includes(expect); }",
        arg=[answers_before, expect], timeout=ANSWER_WAIT_MS)
    page.wait_for_function("() => document.querySelectorAll('#citations .cite-card').length > 0", timeout=ANSWER_WAIT_MS)
    page.wait_for_timeout(300)  # let the panel and the picker settle
    return page.evaluate(LAST_BOT)


def _no_error_toast(page) -> None:
    assert page.evaluate("document.querySelectorAll('.toast-body.error').length") == 0


def test_chat_window_end_to_end(settings, store, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    env = {**os.environ, "ASSISTANT_FEEDBACK_FILE": str(tmp_path / "feedback.jsonl"),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "PYTHONUNBUFFERED": "1"}
    env.pop("ASSISTANT_UI_USER", None)
    env.pop("ASSISTANT_UI_PASSWORD", None)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "--index", str(settings.index_dir), "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    browser = None
    try:
        _wait_until_up(url, proc, log)
        print(f"server up in {time.monotonic() - started:.1f} s")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
            page = context.new_page()
            page.set_default_timeout(ANSWER_WAIT_MS)
            page.goto(url)
            page.wait_for_selector("#question textarea")
            page.screenshot(path=str(ARTIFACTS / "ui-0-start.png"))

            # Persian question: Persian answer, right to left, a Markdown list, sources.
            fa = _ask(page, Q_FA, 0, "خارطوم")
            assert "پروتوریا" in fa["text"] and "خارطوم" in fa["text"]
            assert fa["cls"] == "msg-fa" and fa["dir"] == "rtl"
            assert fa["direction"] == "rtl" and fa["align"] == "right"
            assert fa["items"] >= 2  # the list inside the wrapper is rendered, not shown as "- ..."
            assert page.evaluate(LAST_USER_DIRECTION) == "rtl"
            panel = page.inner_text("#citations")
            assert "پروتوریا" in panel and "Pretoria" in panel and "English translation of the Persian original" in panel
            assert page.locator("#citations .cite-card .fa mark").count() >= 2
            assert page.evaluate("getComputedStyle(document.querySelector('#citations .cite-card .fa')).direction") == "rtl"
            n_cards = page.locator("#citations .cite-card").count()
            assert n_cards >= 3 and page.locator("#picker label").count() == n_cards + 1  # + "All"
            page.screenshot(path=str(ARTIFACTS / "ui-1-persian.png"), full_page=True)

            # The picker shows one source, and "All" shows them all again.
            page.locator("#picker label").nth(1).click()
            page.wait_for_function("() => document.querySelectorAll('#citations .cite-card').length === 1")
            assert "[2]" in page.inner_text("#citations")
            page.screenshot(path=str(ARTIFACTS / "ui-2-one-source.png"))
            page.locator("#picker label").last.click()
            page.wait_for_function(f"() => document.querySelectorAll('#citations .cite-card').length === {n_cards}")

            # English question: English answer, left to right.
            en = _ask(page, Q_EN, 1, "London")
            assert "Moscow" in en["text"] and "London" in en["text"]
            assert en["cls"] == "msg-en" and en["dir"] == "ltr"
            assert en["direction"] == "ltr" and en["align"] == "left" and en["items"] >= 4
            assert page.evaluate(LAST_USER_DIRECTION) == "ltr"
            panel = page.inner_text("#citations")
            assert "Moscow" in panel and "مسکو" in panel and "London" in panel
            # the Persian original of an English answer has the cited row highlighted too
            assert page.locator("#citations .cite-card .fa mark").count() >= 4
            page.screenshot(path=str(ARTIFACTS / "ui-3-english.png"), full_page=True)
            _no_error_toast(page)
            # The copy button copies the answer as plain text, not its direction wrapper and escapes.
            page.locator("#chat button[aria-label='Copy message']").last.click()
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied.startswith("Table 2. Tehran's cooperation") and "- London (England) — Sister-city agreement [" in copied
            assert "<div" not in copied and "\\(" not in copied and "**" not in copied

            # Recommendations tab: the rows of Tables 6, 5 and 4, in full and in both languages.
            page.get_by_role("tab", name="Recommendations · توصیه‌ها").click()
            rows = page.locator("#policy-list tbody tr")
            rows.first.wait_for()
            assert rows.count() >= 40
            listed = page.inner_text("#policy-list")
            assert "Developing cooperation with the World Bank, the United Nations and affiliated institutions" in listed
            assert "توسعه همکاری‌ها با بانک جهانی، سازمان ملل و نهادهای وابسته" in listed
            assert page.evaluate("getComputedStyle(document.querySelector('#policy-list .rec-fa')).direction") == "rtl"
            page.screenshot(path=str(ARTIFACTS / "ui-4-recommendations.png"))

            # Clicking a row asks the chat about it and goes back to the chat.
            page.fill("#policy-search textarea", "World Bank")
            page.wait_for_function("() => document.querySelectorAll('#policy-list tbody tr').length === 1")
            rows.first.click()
            page.wait_for_function(
                "() => { const b = [...document.querySelectorAll('#chat [data-testid=\"bot\"]')];"
                " return b.length === 3 && b[2].innerText.includes('World Bank'); }")
            assert page.locator("#chat").is_visible()
            assert "t6.r4" in page.inner_text("#citations")
            page.screenshot(path=str(ARTIFACTS / "ui-5-asked-about-recommendation.png"))

            # Tables tab: Persian right to left, then the English translation.
            page.get_by_role("tab", name="Tables · جدول‌ها").click()
            page.locator("#tables table.paper.fa").first.wait_for()
            assert page.locator("#tables table.paper").count() == 6
            assert page.evaluate("(() => { const td = document.querySelector('#tables table.paper.fa td');"
                                 " const cs = getComputedStyle(td); return [cs.direction, cs.textAlign]; })()") == ["rtl", "right"]
            page.screenshot(path=str(ARTIFACTS / "ui-6-tables-fa.png"))
            page.locator("#tables-lang label", has_text="English").click()
            page.locator("#tables table.paper.en").first.wait_for()
            assert "Table 2. Tehran's cooperation and sister-city relations" in page.inner_text("#tables")
            page.get_by_role("tab", name="Chat · گفت‌وگو").click()

            # A question with markup shows as text: no link, no script; an empty one gets a notice.
            page.fill("#question textarea", "<script>alert(1)</script> [x](http://evil.example)")
            page.click("#ask")
            page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 4")
            assert page.locator("#chat a[href*='evil']").count() == 0
            assert page.locator("#chat script").count() == 0
            assert "<script>alert(1)</script> [x](http://evil.example)" in page.inner_text("#chat")
            page.fill("#question textarea", "   ")
            page.click("#ask")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#chat [data-testid=\"bot\"]')].pop().innerText"
                ".includes('Please type a question')")
            _no_error_toast(page)
            page.screenshot(path=str(ARTIFACTS / "ui-7-notices.png"))
            browser.close()
            browser = None
    finally:
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - the server must still be stopped
                pass
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    print(f"browser test took {time.monotonic() - started:.1f} s")
