"""The Evaluate tab end to end: the real server (`python -m assistant serve`) over the session index, driven
in headless Debian Chromium: upload the team's 20-question CSV, watch the progress, read the report in the
page, download HTML, CSV and XLSX, and check that nothing of the upload or the run is left on the server.
Screenshots go to tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import csv
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, start_server, stop_process

from assistant.offline import child_env

ARTIFACTS = ROOT / "tests" / "artifacts"
TEAM = ROOT / "tests" / "data" / "team_questions.csv"
PERSON = ROOT / "tests" / "data" / "team_questions.person.csv"
SERVER_WAIT_S = 90
RUN_WAIT_MS = 240_000

pytestmark = pytest.mark.browser


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


def _upload_and_run(page, path: Path) -> None:
    page.set_input_files("#eval-upload input[type=file]", str(path))
    page.wait_for_function("(name) => document.querySelector('#eval-upload').innerText.includes(name)", arg=path.name)
    page.click("#eval-run")


def test_evaluate_tab_end_to_end(settings, store, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from openpyxl import load_workbook
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    gradio_tmp, run_tmp = tmp_path / "gradio", tmp_path / "tmp"
    gradio_tmp.mkdir()
    run_tmp.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    env = child_env(
        ASSISTANT_FEEDBACK_FILE=str(tmp_path / "feedback.jsonl"),
        GRADIO_TEMP_DIR=str(gradio_tmp),
        TMPDIR=str(run_tmp),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    env.pop("ASSISTANT_UI_USER", None)
    env.pop("ASSISTANT_UI_PASSWORD", None)
    bad = tmp_path / "upload" / "windows.csv"  # Persian saved in the Windows code page, not UTF-8
    bad.parent.mkdir()
    bad.write_bytes("question,reference\nتهران چند خواهرخوانده دارد؟,هفده\n".encode("cp1256"))
    proc = start_server(settings, port, log, env)
    try:
        _wait_until_up(url, proc, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
            page = context.new_page()
            # An evaluation run on 2 busy cores may take minutes: this bounds a hang, not the speed.
            page.set_default_timeout(180_000)
            page.goto(url)
            page.get_by_role("tab", name="Evaluate · ارزیابی").click()
            page.wait_for_selector("#eval-run")

            # A file in the wrong encoding: a friendly message in both languages, no error toast.
            _upload_and_run(page, bad)
            page.wait_for_selector("#eval-status .eval-error")
            msg = page.inner_text("#eval-status")
            assert "not UTF-8 text" in msg and "خوانده نشد" in msg
            assert page.evaluate("document.querySelectorAll('.toast-body.error').length") == 0

            # The team's CSV: progress while it runs, then the report and the downloads.
            _upload_and_run(page, TEAM)
            page.wait_for_selector("#eval-status .eval-progress")
            seen = set()
            deadline = time.monotonic() + RUN_WAIT_MS / 1000
            progress = "(document.querySelector('#eval-status .eval-progress') || {}).dataset?.done"
            while not page.query_selector("#eval-dl-html") and time.monotonic() < deadline:
                done = page.evaluate(progress)
                if done is not None:
                    seen.add(int(done))
                page.wait_for_timeout(150)
            assert page.query_selector("#eval-dl-html"), "no report within the time limit"
            # The final count arrives with the report, in the same update that ends the loop: read it too.
            done = page.evaluate(progress)
            if done is not None:
                seen.add(int(done))
            assert 20 in seen and len(seen) >= 2, seen  # the count moved while the questions were answered
            status = page.inner_text("#eval-status")
            assert "Answered 20 of 20 questions" in status and "۲۰ از ۲۰" in status
            page.screenshot(path=str(ARTIFACTS / "eval-tab.png"))

            frame = page.frame_locator("#eval-report-frame")
            frame.locator("h1").wait_for()
            assert "Evaluation report" in frame.locator("h1").inner_text()
            fa_question = frame.locator('td div[lang="fa"]').first
            assert fa_question.evaluate("e => getComputedStyle(e).direction") == "rtl"
            assert frame.locator(".fail").count() >= 1

            got = {}
            for key in ("html", "csv", "xlsx"):
                with page.expect_download() as dl:
                    page.click(f"#eval-dl-{key}")
                target = tmp_path / "downloads" / dl.value.suggested_filename
                dl.value.save_as(target)
                got[key] = target
            assert got["html"].name == "team_questions-report.html"
            html = got["html"].read_text(encoding="utf-8")
            assert html.startswith("<!DOCTYPE html>") and "<svg" in html
            with got["csv"].open(encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
            with PERSON.open(encoding="utf-8") as fh:
                person = {r["id"]: r["person_verdict"] == "correct" for r in csv.DictReader(fh)}
            agree = sum((r["correct"] == "True") == person[r["id"]] for r in rows)
            print(f"\nEvaluate tab: agreement with the person {agree}/20; progress seen {sorted(seen)}")
            assert len(rows) == 20 and agree >= 18
            assert load_workbook(got["xlsx"]).worksheets[0].max_row == 21
            browser.close()
    finally:
        stop_process(proc, timeout=15)
    # Nothing kept on the server: the uploads are gone from Gradio's cache, the run's folder is removed,
    # and no report was ever written to Gradio's cache (the downloads were data: links).
    left = [p for p in gradio_tmp.rglob("*") if p.is_file()]
    assert not [p for p in left if p.suffix in (".csv", ".xlsx", ".html", ".jsonl")], left
    assert not list(run_tmp.glob("assistant-eval-*"))
