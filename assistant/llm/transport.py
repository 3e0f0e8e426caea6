"""The httpx calls the HTTP clients share: one JSON request, or one streamed request read line by line.

For: OpenAIChat's path without the `openai` package, and OllamaChat; every call has a timeout (connect
at most 5 s), and every httpx failure becomes a `ChatError` (retryable for a failed connection or a
5xx/429).
Must not: import httpx at import time (only on the first call), retry (retry.py decides, for every
client alike), or know a protocol's JSON beyond "it is JSON".
"""

from __future__ import annotations

from collections.abc import Iterator

from .protocol import ChatError


def _timeout(timeout: float):
    import httpx

    return httpx.Timeout(timeout, connect=min(5.0, timeout))


def _http_error(exc: Exception) -> ChatError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ChatError("timed out")
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return ChatError(f"HTTP {code}", retryable=code >= 500 or code == 429)
    if isinstance(exc, httpx.TransportError):
        return ChatError("could not connect", retryable=True)
    return ChatError(f"{type(exc).__name__}: {exc}"[:200])


def http_json(method: str, url: str, body: dict, timeout: float, headers: dict | None = None):
    import httpx

    try:
        with httpx.Client(timeout=_timeout(timeout)) as client:
            resp = client.request(method, url, json=body, headers=headers)
            resp.raise_for_status()
            return resp.json()
    except httpx.HTTPError as exc:
        raise _http_error(exc) from None
    except ValueError:
        raise ChatError("the reply was not JSON") from None


def http_lines(url: str, body: dict, timeout: float, headers: dict | None = None) -> Iterator[str]:
    import httpx

    try:
        with httpx.Client(timeout=_timeout(timeout)) as client:
            with client.stream("POST", url, json=body, headers=headers) as resp:
                resp.raise_for_status()
                for line in resp.iter_lines():
                    if line.strip():
                        yield line
    except httpx.HTTPError as exc:
        raise _http_error(exc) from None
