"""One retry and a circuit breaker around a chat model's calls, the same for every client.

For: `call` (one reply) and `stream` (chunks) retry once, after half a second, when the failure may pass
(a failed connection, a 5xx or 429: `ChatError.retryable`); after a failure that outlived the retry,
or a timeout, the `Breaker` makes calls fail at once for DOWN_FOR_S, so that a follow-up's rewrite and
its answer, or an eval run, wait for one timeout, not one per call.
Must not: retry a timeout (the model is slow; a second wait would double it), retry a stream that has
already yielded text (the caller has shown it), let a stream run past twice the timeout, or catch
anything but ChatError (backend.py turns every failure into the extractive answer with a note).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from .protocol import ChatError, ChatModel

DOWN_FOR_S = 15.0
RETRY_PAUSE_S = 0.5


class Breaker:
    """Remembers that the endpoint is down, and until when."""

    def __init__(self, down_for: float = DOWN_FOR_S):
        self.down_for = down_for
        self._down_until = 0.0
        self._down_reason = ""

    def check(self) -> None:
        """Raise at once while the endpoint is marked down."""
        if time.monotonic() < self._down_until:
            raise ChatError(f"{self._down_reason}; not retried for {self.down_for:.0f} s")

    def trip(self, exc: ChatError) -> None:
        """Mark the endpoint down after a failure that a call soon after would repeat."""
        if exc.retryable or "timed out" in exc.reason or "connect" in exc.reason:
            self._down_until = time.monotonic() + self.down_for
            self._down_reason = exc.reason


def call(model: ChatModel, messages: list[dict], max_tokens: int, timeout: float, breaker: Breaker) -> str:
    """One call, and one retry after a failed connection or a 5xx/429 (not after a timeout)."""
    breaker.check()
    try:
        return model.chat(messages, max_tokens=max_tokens, timeout=timeout)
    except ChatError as exc:
        if not exc.retryable:
            breaker.trip(exc)
            raise
    time.sleep(RETRY_PAUSE_S)
    try:
        return model.chat(messages, max_tokens=max_tokens, timeout=timeout)
    except ChatError as exc:
        breaker.trip(exc)
        raise


def stream(model: ChatModel, messages: list[dict], max_tokens: int, timeout: float, breaker: Breaker) -> Iterator[str]:
    """The reply's chunks; one retry as for `call` while nothing has been yielded; at most 2 x timeout."""
    breaker.check()
    deadline = time.monotonic() + 2 * timeout
    for attempt in (1, 2):
        started = False
        try:
            for chunk in model.stream(messages, max_tokens=max_tokens, timeout=timeout):
                if chunk:
                    started = True
                    yield chunk
                if time.monotonic() > deadline:
                    raise ChatError(f"still writing after {2 * timeout:.0f} s")
            return
        except ChatError as exc:
            if started or not exc.retryable or attempt == 2:
                breaker.trip(exc)
                raise
        time.sleep(RETRY_PAUSE_S)
