"""The web server (assistant/webserver.py) against real servers on 127.0.0.1 (`python -m assistant serve`,
one anonymous, one with a login): security headers on every response, a page that renders and answers
under the Content-Security-Policy in Debian Chromium, uploads size- and rate-limited, bounded bodies, login
throttling with backoff, and a log that a malformed request cannot flood."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, CORPUS, ROOT, free_port, start_server

from assistant.offline import child_env

VIETNAM = "Which city in Vietnam is Tehran's sister city?"
USER, PASSWORD = "reader", "s3cret-pass"


class Server:
    def __init__(self, settings, tmp: Path, auth: bool):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.uploads = tmp / "gradio-tmp"
        self.uploads.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "GRADIO_"))}
        env.update(
            {
                "ASSISTANT_INDEX_DIR": str(settings.index_dir),
                "ASSISTANT_CORPUS_DIR": str(CORPUS),
                "ASSISTANT_FEEDBACK_FILE": str(tmp / "feedback.jsonl"),
                "PYTHONPATH": str(ROOT),
                "GRADIO_TEMP_DIR": str(self.uploads),
            }
        )
        env = child_env(env)
        if auth:
            env.update({"ASSISTANT_UI_USER": USER, "ASSISTANT_UI_PASSWORD": PASSWORD})
        self.proc = start_server(settings, self.port, self.log, env, new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # up (a login page may answer otherwise)
            except OSError:
                time.sleep(0.5)
        raise AssertionError("the server did not start: " + self.log.read_text(errors="replace")[-3000:])

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def log_lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def anon(settings, store, tmp_path_factory):
    server = Server(settings, tmp_path_factory.mktemp("anon-server"), auth=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def with_login(settings, store, tmp_path_factory):
    server = Server(settings, tmp_path_factory.mktemp("login-server"), auth=True)
    yield server
    server.stop()


def _assert_security_headers(headers: dict, where: str) -> None:
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "assistant-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + b"A" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------------- headers and the page
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),
        ("GET", "/config"),
        ("GET", "/gradio_api/info"),
        ("GET", "/no/such/page"),
        ("POST", "/gradio_api/upload"),
        ("GET", "/theme.css"),
    ],
)
def test_security_headers_on_every_response(anon, method, path):
    status, headers, _ = anon.request(method, path, body=b"" if method == "POST" else None)
    assert status < 500 or path == "/no/such/page", status
    _assert_security_headers(headers, f"{method} {path} -> {status}")


def test_login_page_and_refusals_carry_the_headers_too(with_login):
    for method, path, body in [("GET", "/", None), ("POST", "/login", b"username=x&password=y")]:
        status, headers, _ = with_login.request(
            method, path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        _assert_security_headers(headers, f"{method} {path} -> {status}")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
@pytest.mark.browser
def test_the_page_renders_and_answers_under_the_policy_in_chromium(anon):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => "
                "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
            )
            response = page.goto(anon.url + "/")
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.wait_for_selector("#question textarea", timeout=60_000)
            page.fill("#question textarea", VIETNAM)
            page.click("#ask")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#chat .msg.bot:not(.writing)')]"
                ".some(b => b.innerText.includes('Hanoi'))",
                timeout=60_000,
            )
            page.wait_for_function("() => document.querySelectorAll('#chat .cite-card').length > 0", timeout=30_000)
        finally:
            browser.close()
    blocked = [m for m in messages if "Content Security Policy" in m or "CSP violation" in m]
    assert not blocked, blocked


# ---------------------------------------------------------------------- uploads and bodies
def _stored(folder: Path) -> dict:
    return {str(p): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_anonymous_uploads_are_size_limited_and_rate_limited(anon):
    """The Evaluate tab takes a test set of up to 1 MB: a larger upload is refused before it is stored
    (with or without a Content-Length), and one client gets a few uploads a minute, not a disk's worth."""
    before = _stored(anon.uploads)
    body, ctype = _multipart(3_000_000)
    status, headers, _ = anon.request("POST", "/gradio_api/upload", body=body, headers={"Content-Type": ctype})
    assert status == 413
    _assert_security_headers(headers, "upload 413")
    # The same body sent in chunks, without a Content-Length: cut off as it arrives.
    conn = http.client.HTTPConnection("127.0.0.1", anon.port, timeout=30)
    try:
        conn.putrequest("POST", "/gradio_api/upload")
        conn.putheader("Content-Type", ctype)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for k in range(0, len(body), 65536):
                piece = body[k : k + 65536]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close as soon as it has refused
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    assert not [size for size in _stored(anon.uploads).values() if size >= 1_000_000]
    statuses = []
    for _i in range(12):
        small, ctype = _multipart(100)
        statuses.append(anon.request("POST", "/gradio_api/upload", body=small, headers={"Content-Type": ctype})[0])
    assert statuses.count(200) >= 1 and 429 in statuses, statuses
    assert statuses.count(200) <= 6  # the big ones above counted too
    new = set(_stored(anon.uploads)) - set(before)
    assert all(_stored(anon.uploads)[f] < 10_000 for f in new)


def test_request_bodies_are_bounded(anon):
    big = json.dumps({"data": ["x" * 3_000_000], "fn_index": 0, "session_hash": "s"}).encode()
    status, headers, _ = anon.request(
        "POST", "/gradio_api/queue/join", body=big, headers={"Content-Type": "application/json"}
    )
    assert status == 413
    _assert_security_headers(headers, "413")


# ---------------------------------------------------------------------- login throttling
def _login(server, password: str) -> tuple[int, dict]:
    body = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    status, headers, _ = server.request(
        "POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    return status, headers


def test_login_attempts_are_throttled_with_backoff(with_login):
    results: list[int] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        status, _ = _login(with_login, f"wrong-{i}")
        with lock:
            results.append(status)

    t = time.monotonic()
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    burst_s = time.monotonic() - t
    tried = results.count(400)  # Gradio's "incorrect credentials": the password was compared
    assert sorted(set(results)) == [400, 429] and tried <= 3, (results, burst_s)
    # The right password during the lockout waits too, told how long.
    status, headers = _login(with_login, PASSWORD)
    assert status == 429 and int(headers["retry-after"]) >= 1
    time.sleep(int(headers["retry-after"]) + 0.2)
    status, headers = _login(with_login, PASSWORD)
    assert status == 200 and "set-cookie" in headers
    # A successful login forgives: the next wrong password is compared again, not refused unseen.
    assert _login(with_login, "wrong-again")[0] == 400


def test_throttle_backoff_per_client_with_a_clock():
    from assistant.webserver import LoginThrottle

    now = [1000.0]
    t = LoginThrottle(free=3, base_s=1.0, max_s=8.0, max_clients=3, forget_s=60, clock=lambda: now[0])
    assert [t.begin("a") for _ in range(3)] == [0, 0, 0]
    assert t.begin("a") == pytest.approx(1.0) and t.begin("b") == 0  # another client is not held up
    waits = []
    for _ in range(6):
        now[0] += t.begin("a") or 0
        assert t.begin("a") == 0  # the wait is over: one attempt
        waits.append(t.begin("a"))
    assert waits == pytest.approx([2.0, 4.0, 8.0, 8.0, 8.0, 8.0])  # doubles, capped
    t.succeeded("a")
    assert t.begin("a") == 0
    for c in "cdef":
        t.begin(c)
    assert len(t._clients) == 3  # bounded memory: the oldest forgotten
    now[0] += 61
    assert t.begin("f") == 0  # an hour of quiet (here: a minute) forgives


def test_upload_rate_limit_is_a_sliding_window():
    from assistant.webserver import RateLimit

    now = [0.0]
    r = RateLimit(3, 60.0, clock=lambda: now[0])
    assert [r.begin("a") for _ in range(3)] == [0, 0, 0]
    assert r.begin("a") == pytest.approx(60.0) and r.begin("b") == 0
    now[0] = 30.0
    assert r.begin("a") == pytest.approx(30.0)
    now[0] = 60.0  # the first three have left the window
    assert [r.begin("a") for _ in range(3)] == [0, 0, 0] and r.begin("a") == pytest.approx(60.0)


# ---------------------------------------------------------------------- the log
def _raw(server, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(data)
        try:
            s.recv(65536)
        except OSError:
            pass


def test_a_malformed_request_writes_at_most_one_short_log_line(anon):
    before = len(anon.log_lines())
    requests = [
        ("POST", "/gradio_api/queue/join", b'{"data": [', {"Content-Type": "application/json"}),
        (
            "POST",
            "/gradio_api/queue/join",
            json.dumps({"data": ["x"], "fn_index": 99999, "session_hash": "s"}).encode(),
            {"Content-Type": "application/json"},
        ),
        ("POST", "/gradio_api/queue/join", ("[" * 5000 + "]" * 5000).encode(), {"Content-Type": "application/json"}),
        (
            "POST",
            "/gradio_api/run/predict",
            json.dumps({"data": [{"x": "y" * 5000}] * 50, "fn_index": 0}).encode(),
            {"Content-Type": "application/json"},
        ),
        ("GET", "/gradio_api/queue/data?session_hash=" + "z" * 5000, None, {}),
        ("POST", "/gradio_api/upload", b"--x\r\n" * 1000, {"Content-Type": "multipart/form-data; boundary=x"}),
    ]
    for method, path, body, headers in requests:
        try:
            anon.request(method, path, body=body, headers=headers)
        except (OSError, http.client.HTTPException):
            pass
    _raw(anon, b"GARBAGE / HTTP/9.9\r\n\r\n")
    _raw(anon, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"h" * 70_000 + b"\r\n\r\n")
    time.sleep(1.5)
    new = anon.log_lines()[before:]
    assert len(new) <= 10, new  # 8 malformed requests: at most about one line each
    assert all(len(line) <= 400 for line in new), max(new, key=len)[:500]
    assert not any("Traceback" in line for line in new), new
    status, _, _ = anon.request("GET", "/")  # and the server still serves
    assert status == 200
