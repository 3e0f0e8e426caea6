"""Soak: the real server (`python -m assistant serve`, its own temp folder) answers SOAK_REQUESTS (default
2,000) questions over loopback through its API endpoint, two clients at a time, and stops by itself.
Checked: the server's memory grows by less than 10 MB over the last half of the requests, its temp folder
gets no files, and its log stays a few lines. Marked slow (several minutes on a shared CPU)."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port, start_server, stop_process

from assistant.offline import child_env

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "2000"))
QUESTIONS = [
    "Which of Tehran's sister cities are in Europe?",
    "کدام خواهرشهرهای تهران در آفریقا هستند؟",
    "صندوق جهانی توسعه شهرها چند شهر عضو دارد؟",
    "What policy recommendations does the paper make?",
    "Which Table 2 city is in Vietnam?",
    "What is the population of Mars?",
    "   ",
    "x" * 2500,
    "<script>alert(1)</script> what is UCLG?",
    "تهران در سازمان متروپلیس چه جایگاهی دارد؟",
]

pytestmark = pytest.mark.slow


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_soak_memory_levels_off_and_no_temp_files(settings, store, tmp_path):
    from gradio_client import Client

    port = free_port()
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    log = tmp_path / "server.log"
    env = child_env(
        TMPDIR=str(server_tmp),
        ASSISTANT_FEEDBACK_FILE=str(tmp_path / "feedback.jsonl"),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    env.pop("GRADIO_TEMP_DIR", None)
    env.pop("ASSISTANT_UI_USER", None)
    env.pop("ASSISTANT_UI_PASSWORD", None)
    proc = start_server(settings, port, log, env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        log_lines_at_start = len(log.read_text().splitlines())
        files_at_start = _files(server_tmp)
        done, errors, rss = [0], [], {}
        lock = threading.Lock()

        def client(k: int) -> None:
            c = Client(url, verbose=False)
            while True:
                with lock:
                    i = done[0]
                    if i >= REQUESTS:
                        return
                    done[0] += 1
                    if i + 1 in (REQUESTS // 2, REQUESTS):
                        rss[i + 1] = _rss_kb(proc.pid)
                try:
                    _box, chat = c.predict(QUESTIONS[i % len(QUESTIONS)], [], "auto", api_name="/respond")
                    assert chat and chat[-1]["role"] == "assistant"
                except Exception as exc:  # noqa: BLE001 - counted
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        rss[REQUESTS] = _rss_kb(proc.pid)
        growth_mb = (rss[REQUESTS] - rss[REQUESTS // 2]) / 1024
        print(
            f"soak: {REQUESTS} requests in {elapsed:.0f} s; RSS {rss[REQUESTS // 2] / 1024:.1f} MB at "
            f"{REQUESTS // 2}, {rss[REQUESTS] / 1024:.1f} MB at {REQUESTS} (growth {growth_mb:+.1f} MB); "
            f"errors {len(errors)}"
        )
        assert not errors, errors[:5]
        assert growth_mb < 10
        assert _files(server_tmp) - files_at_start == set()
        new_log = log.read_text().splitlines()[log_lines_at_start:]
        assert len(new_log) <= 5, new_log[:10]
    finally:
        stop_process(proc)
