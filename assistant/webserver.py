"""The chat window's web server: Gradio's app behind a guard of our own.

What the guard (an ASGI middleware handed to Gradio's FastAPI app) adds to every request:
- security headers on every response: a Content-Security-Policy that Gradio's page works under (inline
  scripts and styles are Gradio's own, and its HTML components evaluate their templates, hence
  'unsafe-eval': without it Chromium refuses them; nothing is loaded from another origin, no framing),
  nosniff, X-Frame-Options, no referrer;
- login throttling per client address: a few attempts are free, then each one opens a wait that doubles
  (1 s, 2 s, 4 s, … 5 min); an attempt during the wait is refused unseen (429 + Retry-After), so neither a
  burst nor a patient script gets many guesses, and a right password after a lockout waits too;
- uploads bounded: the Evaluate tab takes a test set (at most 1 MB, evaluation/tab.py), so Gradio's upload
  route stays open, but each file is limited to that size (Gradio's max_file_size, and the body itself
  here), each client to a few uploads a minute, and Gradio's cache forgets files after an hour; with a
  login, Gradio refuses uploads from anyone not logged in;
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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' data: blob:; "
    "worker-src 'self' blob:; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
MAX_BODY = 1_000_000  # bytes of any request body but an upload
MAX_UPLOAD_BYTES = 1_000_000  # one uploaded file (the Evaluate tab's limit for a test set)
# The body of an upload may run a little past the file's limit: Gradio's own check (which deletes the
# partial file) must fire before this cut-off (which cannot reach Gradio's temporary file).
MAX_UPLOAD_BODY = MAX_UPLOAD_BYTES + 256 * 1024
UPLOADS_PER_MINUTE = 6
MAX_LOG_CHARS = 300  # per log line
UPLOAD_ROUTES = ("/upload", "/gradio_api/upload", "/upload_progress", "/gradio_api/upload_progress")
LOGIN_ROUTES = ("/login", "/login/")

log = logging.getLogger("assistant.web")

# ASGI's shapes: a connection's scope, one message, and the two channels.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Refusal = tuple[int, dict, list]  # status, JSON body, extra headers


class LoginThrottle:
    """Per-client login attempts with exponential backoff. Attempts are counted when they start (so a
    burst of simultaneous guesses is counted as it comes, not after the answers), and forgiven by a
    successful login. At most `max_clients` addresses are remembered (the oldest forgotten first)."""

    def __init__(
        self,
        free: int = 3,
        base_s: float = 1.0,
        max_s: float = 300.0,
        max_clients: int = 10_000,
        forget_s: float = 3600.0,
        clock=time.monotonic,
    ):
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


class RateLimit:
    """At most `n` events per `window_s` per client (a sliding window); bounded like LoginThrottle."""

    def __init__(self, n: int, window_s: float, max_clients: int = 10_000, clock=time.monotonic):
        self.n, self.window_s, self.max_clients, self.clock = n, window_s, max_clients, clock
        self._clients: OrderedDict[str, list[float]] = OrderedDict()

    def begin(self, client: str) -> float:
        """0 when the event may happen now (it is counted), else the seconds until it may."""
        now = self.clock()
        times = [t for t in self._clients.get(client, []) if now - t < self.window_s]
        if len(times) >= self.n:
            self._clients[client] = times
            return times[0] + self.window_s - now
        times.append(now)
        self._clients[client] = times
        self._clients.move_to_end(client)
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        return 0.0


class Guard:
    """ASGI middleware: see the module doc."""

    def __init__(
        self,
        app,
        throttle: LoginThrottle | None = None,
        max_body: int = MAX_BODY,
        uploads: RateLimit | None = None,
        root_path: str = "",
    ):
        self.app = app
        self.throttle = throttle or LoginThrottle()
        self.uploads = uploads or RateLimit(UPLOADS_PER_MINUTE, 60.0)
        self.max_body = max_body
        self.root = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if self.root and path.startswith(self.root):
            path = path[len(self.root) :] or "/"
        method = scope.get("method", "GET")
        client = (scope.get("client") or ("?", 0))[0]
        started = {"status": 0}
        send_with_headers = _with_security_headers(send, started)
        upload = method == "POST" and path.rstrip("/") in UPLOAD_ROUTES
        login = method == "POST" and path in LOGIN_ROUTES
        limit = MAX_UPLOAD_BODY if upload else self.max_body
        refusal = self._refusal(scope, client, upload, login, limit)
        if refusal is not None:
            return await _respond(send_with_headers, *refusal)
        served = await self._serve(scope, receive, send_with_headers, started, limit, f"{method} {path[:100]}")
        if served and login and started["status"] == 200:
            self.throttle.succeeded(client)

    def _refusal(self, scope: Scope, client: str, upload: bool, login: bool, limit: int) -> Refusal | None:
        """(status, body, headers) of a request refused before Gradio sees it, or None. The checks run in this
        order, and each counts what it lets through: an upload over the rate, a body declared over `limit`,
        a login attempt during its wait."""
        if upload:
            wait = self.uploads.begin(client)
            if wait > 0:
                return _too_many("too many uploads", wait)
        length = _content_length(scope)
        if length is not None and length > limit:
            return 413, {"detail": f"request body over {limit} bytes"}, []
        if login:
            wait = self.throttle.begin(client)
            if wait > 0:
                return _too_many("too many login attempts", wait)
        return None

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, started: dict[str, int], limit: int, what: str
    ) -> bool:
        """Hand the request to Gradio with its body counted as it arrives (cut off past `limit`: a chunked
        body declares no length). False when it failed: the client gets a plain 413 or 500, the log one line."""
        seen = {"bytes": 0}

        async def bounded_receive() -> Message:
            message = await receive()
            if message.get("type") == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, bounded_receive, send)
        except _BodyTooLarge:
            if not started["status"]:
                await _respond(send, 413, {"detail": f"request body over {limit} bytes"})
            return False
        except Exception as exc:  # noqa: BLE001 - one line in the log, a plain 500 to the client
            log.error("%s failed: %s", what, _one_line(exc))
            if not started["status"]:
                await _respond(send, 500, {"detail": "internal error"})
            return False
        return True


def _with_security_headers(send: Send, started: dict[str, int]) -> Send:
    """`send` that adds the security headers a response lacks, and notes its status in `started`."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            started["status"] = message["status"]
            present = {k.lower() for k, _ in message.get("headers", [])}
            message = {
                **message,
                "headers": list(message.get("headers", [])) + [(k, v) for k, v in SECURITY_HEADERS if k not in present],
            }
        await send(message)

    return send_with_headers


def _too_many(what: str, wait: float) -> Refusal:
    return (
        429,
        {"detail": f"{what}: try again in {wait:.0f} s"},
        [(b"retry-after", str(max(1, round(wait + 0.49))).encode())],
    )


class _BodyTooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k.lower() == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


async def _respond(send: Send, status: int, body: dict, headers: list | None = None) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            + (headers or []),
        }
    )
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


class _OneLineTraceback:
    """Stands in for the `traceback` module inside Gradio's modules: print_exc() prints one line (Gradio
    calls it for every failing event); everything else is the real module."""

    def __getattr__(self, name):
        return getattr(traceback, name)

    @staticmethod
    def print_exc(limit=None, file=None, chain=True) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            print(f"assistant: error: {_one_line(exc)}", file=file or sys.stderr)


def bound_logs() -> None:
    """One line per record from the server's loggers (uvicorn, Gradio, ours), and one line where Gradio
    prints a failing event's traceback. Touches only those loggers and Gradio's modules, plus a root
    handler when the process has none (the server's own process; under pytest it has one)."""
    one = OneLine()
    for name in (
        "uvicorn",
        "uvicorn.error",
        "uvicorn.access",
        "uvicorn.asgi",
        "gradio",
        "fastapi",
        "httpx",
        "assistant.web",
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLine) for f in logger.filters):
            logger.addFilter(one)
    root = logging.getLogger()
    if not root.handlers:  # records of Gradio's per-module loggers end here (else: logging's last resort)
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(one)
        handler.setFormatter(logging.Formatter("assistant: %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    import importlib

    for name in ("gradio.queueing", "gradio.routes", "gradio.utils", "gradio.route_utils", "gradio.blocks"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "traceback", None) is traceback:
            vars(module)["traceback"] = _OneLineTraceback()  # the module's own name, rebound


# ---------------------------------------------------------------------- launch
def launch(
    blocks, settings, host: str = "127.0.0.1", port: int = 7860, auth=None, *, block: bool = True, **launch_kwargs
):
    """Serve `blocks` (the chat window) behind the guard. `block=False` returns once the server listens
    (tests); `launch_kwargs` go to Gradio's launch (css, head)."""
    from starlette.middleware import Middleware

    bound_logs()
    guard = Middleware(Guard, throttle=LoginThrottle())
    blocks.queue(default_concurrency_limit=4, max_size=64)  # a burst waits in a bounded line, not in memory
    # Gradio's cache (uploads) forgets files older than an hour, checked every 10 minutes, unless the app
    # chose otherwise when it built the Blocks.
    blocks.delete_cache = getattr(blocks, "delete_cache", None) or (600, 3600)
    allowed = launch_kwargs.pop("allowed_paths", [])  # only what the window names (the paper's PDF)
    return blocks.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        show_error=False,
        footer_links=[],
        ssr_mode=False,
        allowed_paths=allowed,
        quiet=True,
        max_file_size=MAX_UPLOAD_BYTES,
        app_kwargs={"middleware": [guard]},
        prevent_thread_lock=not block,
        **launch_kwargs,
    )
