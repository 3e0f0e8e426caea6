"""What a chat model is to the backend: the `ChatModel` protocol and the one error every client raises.

For: the contract between backend.py and the clients (openai_compat.py, ollama.py, llamacpp.py): a reply
for a list of messages, optionally as chunks, within a timeout, or a `ChatError` saying why not and
whether a second attempt may get past it.
Must not: import a client package or anything of the project but errors.py (every other llm module imports it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from ..errors import ChatError  # defined with the project's other errors; imported from here by the clients

__all__ = ["ChatError", "ChatModel"]


class ChatModel(Protocol):
    """What a backend needs from a chat model: one reply for a list of messages (and, optionally, chunks)."""

    streams: bool

    def chat(self, messages: list[dict], *, max_tokens: int, timeout: float) -> str: ...

    def stream(self, messages: list[dict], *, max_tokens: int, timeout: float) -> Iterator[str]: ...
