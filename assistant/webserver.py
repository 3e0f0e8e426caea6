"""The chat window's web server: Gradio's app behind a guard of our own.

What the guard (an ASGI middleware handed to Gradio's FastAPI app) adds to every request:
- security headers on every response: a Content-Security-Policy that Gradio's page works under (inline
  scripts and styles are Gradio's own, and its HTML components evaluate their templates, hence
  'unsafe-eval': without it Chromium refuses them; nothing is loaded from another origin, no framing),
  nosniff, X-Frame-Options, no referrer;
- login throttling per client address: a few attempts are free, then each one opens a wait that doubles
  (1 s, 2 s, 4 s, … 5 min); an attempt during the wait is refused unseen (429 + Retry-After), so neither a
  burst nor a patient script gets many guesses, and a right password after a lockout waits too;
- no uploads: the chat window has no file input, so Gradio's upload route is closed (and Gradio's own
  size limit is set as a second line);
- request bodies bounded (a question, a correction, an event: far below 1 MB);
- one short log line per failure: a malformed request cannot fill the log with tracebacks.
"""
from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections import OrderedDict
from typing import Optional

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' data: blob:; "
       "worker-src 'self' blob:; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
MAX_BODY = 1_000_000  # bytes of any request body
MAX_LOG_CHARS = 300  # per log line
UPLOAD_ROUTES = ("/upload", "/gradio_api/upload", "/upload_progress", "/gradio_api/upload_progress")
LOGIN_ROUTES = ("/login", "/login/")

log = logging.getLogger("assistant.web")


class LoginThrottle:
    """Per-client login attempts with exponential backoff. Attempts are counted when they start (so a
    burst of simultaneous guesses is counted as it comes, not after the answers), and forgiven by a
    successful login. At most `max_clients` addresses are remembered (the oldest forgotten first)."""

    def __init__(self, free: int = 3, base_s: float = 1.0, max_s: float = 300.0, max_clients: int = 10_000,
                 forget_s: float = 3600.0, clock=time.monotonic):
        self.free, self.base_s, self.max_s = free, base_s, max_s
        self.max_clients, self.forget_s, self.clock = max_clients, forget_s, clock
        self._clients: OrderedDict[str, list[float]] = OrderedDict()  # address -> [attempts, locked until, last]

    def begin(self, client: str) -> float:
        """0 when `client` may try now (the attempt is counted), else the seconds it still has to wait."""
        now = self.clock()
        state = self._clients.get(client)
        if state is not None and now - state[2] > self.forget_s:
            state = None
        if state is None:
            state = [0, 0.0, now]
        if now < state[1]:
            return state[1] - now
        state[0] += 1
        state[2] = now
        if state[0] >= self.free:
            state[1] = now + min(self.max_s, self.base_s * 2 ** (state[0] - self.free))
        self._clients[client] = state
        self._clients.move_to_end(client)
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        return 0.0

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


class Guard:
    """ASGI middleware: see the module doc."""

    def __init__(self, app, throttle: Optional[LoginThrottle] = None, max_body: int = MAX_BODY,
                 root_path: str = ""):
        self.app = app
        self.throttle = throttle or LoginThrottle()
        self.max_body = max_body
        self.root = root_path.rstrip("/")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if self.root and path.startswith(self.root):
            path = path[len(self.root):] or "/"
        method = scope.get("method", "GET")
        started = {"status": 0}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                started["status"] = message["status"]
                present = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", []))
                           + [(k, v) for k, v in SECURITY_HEADERS if k not in present]}
            await send(message)

        if method == "POST" and path.rstrip("/") in UPLOAD_ROUTES:
            return await _respond(send_with_headers, 403, {"detail": "uploads are disabled on this server"})
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            return await _respond(send_with_headers, 413, {"detail": f"request body over {self.max_body} bytes"})

        client = (scope.get("client") or ("?", 0))[0]
        login = method == "POST" and path in LOGIN_ROUTES
        if login:
            wait = self.throttle.begin(client)
            if wait > 0:
                return await _respond(send_with_headers, 429,
                                      {"detail": f"too many login attempts: try again in {wait:.0f} s"},
                                      [(b"retry-after", str(max(1, round(wait + 0.49))).encode())])

        seen = {"bytes": 0}

        async def bounded_receive():
            message = await receive()
            if message.get("type") == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > self.max_body:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except _BodyTooLarge:
            if not started["status"]:
                await _respond(send_with_headers, 413, {"detail": f"request body over {self.max_body} bytes"})
            return
        except Exception as exc:  # noqa: BLE001 - one line in the log, a plain 500 to the client
            log.error("%s %s failed: %s", method, path[:100], _one_line(exc))
            if not started["status"]:
                await _respond(send_with_headers, 500, {"detail": "internal error"})
            return
        if login and started["status"] == 200:
            self.throttle.succeeded(client)


class _BodyTooLarge(Exception):
    pass


def _content_length(scope) -> Optional[int]:
    for k, v in scope.get("headers", []):
        if k.lower() == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


async def _respond(send, status: int, body: dict, headers: Optional[list] = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
                + (headers or [])})
    await send({"type": "http.response.body", "body": data})


# ---------------------------------------------------------------------- logs
def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:MAX_LOG_CHARS]


class OneLine(logging.Filter):
    """Every record one line of at most MAX_LOG_CHARS: a traceback becomes its exception's type and first
    words, and a message that repeats a request's content is cut."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not format
            msg = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            msg = f"{msg} ({_one_line(record.exc_info[1])})"
        record.msg, record.args = " ".join(msg.split())[:MAX_LOG_CHARS], None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _print_exc_one_line(limit=None, file=None, chain=True) -> None:
    exc = sys.exc_info()[1]
    if exc is not None:
        print(f"error: {_one_line(exc)}", file=file or sys.stderr)


def bound_logs() -> None:
    """One line per record on the server's loggers; Gradio's traceback.print_exc() calls (a failing event)
    print one line too. For the server process only (serve() runs nothing else)."""
    one = OneLine()
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "gradio", "fastapi", "asyncio", "httpx",
                 "assistant.web"):
        logger = logging.getLogger(name)
        if one not in logger.filters:
            logger.addFilter(one)
        for handler in logger.handlers:
            if one not in handler.filters:
                handler.addFilter(one)
    if not logging.getLogger("assistant.web").handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(one)
        handler.setFormatter(logging.Formatter("assistant: %(message)s"))
        logging.getLogger("assistant.web").addHandler(handler)
    traceback.print_exc = _print_exc_one_line  # Gradio prints a failing event's traceback this way


# ---------------------------------------------------------------------- launch
def launch(blocks, settings, host: str = "127.0.0.1", port: int = 7860, auth=None, *, block: bool = True,
           **launch_kwargs):
    """Serve `blocks` (the chat window) behind the guard. `block=False` returns once the server listens
    (tests); `launch_kwargs` go to Gradio's launch (css, head)."""
    from starlette.middleware import Middleware

    bound_logs()
    guard = Middleware(Guard, throttle=LoginThrottle())
    blocks.queue(default_concurrency_limit=4, max_size=64)  # a burst waits in a bounded line, not in memory
    return blocks.launch(
        server_name=host, server_port=port, auth=auth, show_error=False, footer_links=[], ssr_mode=False,
        allowed_paths=[], quiet=True, max_file_size="1mb", app_kwargs={"middleware": [guard]},
        prevent_thread_lock=not block, **launch_kwargs)
