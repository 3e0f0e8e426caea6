"""A client for any OpenAI-compatible /v1/chat/completions endpoint (OpenAI, llama.cpp's server, vLLM, ...).

For: one reply, or its chunks, through the `openai` package when it is installed (`pip install '.[llm]'`),
else through httpx with the same protocol (JSON, or server-sent events `data: {...}` ending `[DONE]`).
Must not: import `openai` or httpx at import time, wait without a timeout, or retry. The SDK's own
retries stay off (`max_retries=0`): they would also retry a timeout (waiting twice for a slow model),
retry a 408/409 and honour a server's Retry-After of up to two minutes, and they would apply to this one
client only. retry.py's single retry (a failed connection or a 5xx/429, never a timeout) serves every
client alike.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from .protocol import ChatError
from .transport import http_json, http_lines


def api_key_from(settings) -> str | None:
    """The key from the settings (a SecretStr or a string), else ASSISTANT_LLM_API_KEY or OPENAI_API_KEY."""
    key = getattr(settings, "llm_api_key", None)
    if key is not None and hasattr(key, "get_secret_value"):
        key = key.get_secret_value()
    return key or os.environ.get("ASSISTANT_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY") or None


class OpenAIChat:
    """Any OpenAI-compatible /v1/chat/completions endpoint, through the `openai` package when it is
    installed (`pip install '.[llm]'`), else through httpx."""

    streams = True

    def __init__(self, base_url: str | None, model: str, api_key: str | None, transport: str = "auto"):
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.model = model
        # Local servers want no key, but the client wants one: a placeholder is sent to them.
        self.api_key = api_key or "not-needed"
        self.transport = transport
        self._client: Any = None  # an openai.OpenAI once the SDK is used (the package is optional)

    def _use_sdk(self) -> bool:
        if self.transport != "auto":
            return self.transport == "openai"
        try:
            import openai  # noqa: F401
        except ImportError:
            return False
        return True

    def _sdk(self, timeout: float):
        import openai

        if self._client is None:  # max_retries=0: see the module header
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=timeout, max_retries=0)
        return self._client.with_options(timeout=timeout)

    @staticmethod
    def _sdk_error(exc: Exception) -> ChatError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return ChatError("timed out")
        if isinstance(exc, openai.APIConnectionError):
            return ChatError("could not connect", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            return ChatError(f"HTTP {code}", retryable=code >= 500 or code == 429)
        return ChatError(f"{type(exc).__name__}: {exc}"[:200])

    def _body(self, messages: list[dict], max_tokens: int, stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": stream}

    def chat(self, messages: list[dict], *, max_tokens: int, timeout: float) -> str:
        if self._use_sdk():
            return self._chat_sdk(messages, max_tokens, timeout)
        data = http_json(
            "POST",
            f"{self.base_url}/chat/completions",
            self._body(messages, max_tokens, False),
            timeout,
            {"Authorization": f"Bearer {self.api_key}"},
        )
        try:
            return data["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise ChatError("the reply had no choices") from None

    def _chat_sdk(self, messages: list[dict], max_tokens: int, timeout: float) -> str:
        import openai

        try:
            resp = self._sdk(timeout).chat.completions.create(**self._body(messages, max_tokens, False))
        except openai.OpenAIError as exc:
            raise self._sdk_error(exc) from None
        if not resp.choices:
            raise ChatError("the reply had no choices")
        return resp.choices[0].message.content or ""

    def stream(self, messages: list[dict], *, max_tokens: int, timeout: float) -> Iterator[str]:
        if self._use_sdk():
            yield from self._stream_sdk(messages, max_tokens, timeout)
            return
        for line in http_lines(
            f"{self.base_url}/chat/completions",
            self._body(messages, max_tokens, True),
            timeout,
            {"Authorization": f"Bearer {self.api_key}"},
        ):
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                return
            try:
                delta = json.loads(payload)["choices"][0].get("delta") or {}
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                continue
            if delta.get("content"):
                yield delta["content"]

    def _stream_sdk(self, messages: list[dict], max_tokens: int, timeout: float) -> Iterator[str]:
        import openai

        try:
            with self._sdk(timeout).chat.completions.create(**self._body(messages, max_tokens, True)) as chunks:
                for chunk in chunks:  # closed when the caller stops early (e.g. past the deadline)
                    if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except openai.OpenAIError as exc:
            raise self._sdk_error(exc) from None
