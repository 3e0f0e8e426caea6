"""A client for Ollama's native /api/chat (one JSON reply, or newline-delimited JSON chunks), through httpx.

For: talking to an Ollama server at OLLAMA_HOST or the given URL (a trailing /v1, the OpenAI-compatible
path, is dropped), with a fixed context window and temperature 0.
Must not: import httpx at import time, wait without a timeout, or retry (retry.py does, once).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from .protocol import ChatError
from .transport import http_json, http_lines

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


class OllamaChat:
    """Ollama's native /api/chat (non-streamed JSON, or newline-delimited JSON chunks), through httpx."""

    streams = True

    def __init__(self, base_url: str | None, model: str):
        url = (base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            url = f"http://{url}"
        self.base_url = url[: -len("/v1")] if url.endswith("/v1") else url
        self.model = model

    def _body(self, messages: list[dict], max_tokens: int, stream: bool) -> dict:
        return {
            "model": self.model,
            "messages": messages,
            "stream": stream,
            "options": {"temperature": 0, "num_predict": max_tokens, "num_ctx": 4096},
        }

    def chat(self, messages: list[dict], *, max_tokens: int, timeout: float) -> str:
        data = http_json("POST", f"{self.base_url}/api/chat", self._body(messages, max_tokens, False), timeout)
        if isinstance(data, dict) and data.get("error"):
            raise ChatError(f"ollama: {str(data['error'])[:200]}")
        try:
            return data["message"]["content"] or ""
        except (KeyError, TypeError):
            raise ChatError("the reply had no message") from None

    def stream(self, messages: list[dict], *, max_tokens: int, timeout: float) -> Iterator[str]:
        for line in http_lines(f"{self.base_url}/api/chat", self._body(messages, max_tokens, True), timeout):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("error"):
                raise ChatError(f"ollama: {str(data['error'])[:200]}")
            content = (data.get("message") or {}).get("content")
            if content:
                yield content
            if data.get("done"):
                return
