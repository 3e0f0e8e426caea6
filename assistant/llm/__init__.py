"""Chat-model backends behind the same answer chain: an OpenAI-compatible endpoint, Ollama, or a local GGUF.

The model writes from the passages that retrieval found, numbered [1]..[n] in the prompt; its reply is
parsed into one statement per sentence with the passage its [n] points at, and every statement goes
through `compose.verify` (the cited passage was retrieved, quoted spans are in it, most of the sentence's
content words are in it). What the model says is never shown unverified:

- it answers with the fixed form NOT_IN_PAPER            -> the answer abstains;
- nothing it says survives verification                  -> the extractive answer, with a note;
- the endpoint is down, slow (settings.llm_timeout_s) or errs -> one retry for a failed connection or a
  5xx/429, then the extractive answer, with a note. Nothing here raises to the user or hangs.

Nothing is imported or contacted at import time or by `make_backend`: the client packages (`openai`,
`httpx`, `llama_cpp`) are imported, and the endpoint reached, on the first question.

Where each part lives:
    prompts.py        what the model is told (rules, numbered passages within a token budget, history)
    parse.py          reading its reply ([n] markers, sentences, abstention, prompt echo, rewrites)
    protocol.py       the ChatModel protocol and ChatError
    retry.py          one retry and the circuit breaker, the same for every client
    transport.py      the httpx calls the HTTP clients share
    openai_compat.py  OpenAI-compatible endpoints (the `openai` SDK, or httpx and server-sent events)
    ollama.py         Ollama's native /api/chat
    llamacpp.py       a GGUF model in this process (llama-cpp-python)
    backend.py        Generator (plugs into the answer chain) and make_backend(settings)

This file only re-exports the names other modules and the tests import; it must hold no logic.
"""

from __future__ import annotations

from .backend import DEFAULT_MODEL, NOTES, Generator, make_backend
from .llamacpp import LlamaCppChat
from .ollama import DEFAULT_OLLAMA_URL, OllamaChat
from .openai_compat import OpenAIChat
from .parse import MARKER, Parsed, accept_rewrite, before_echo, is_abstention, parse_reply
from .prompts import (
    ANSWER_TOKENS,
    CONTEXT_TOKENS,
    HISTORY,
    MAX_PASSAGES,
    NOT_IN_PAPER_MARK,
    PASSAGE_CHARS,
    REWRITE_SYSTEM,
    REWRITE_TOKENS,
    REWRITE_USER,
    SYSTEM,
    USER,
    approx_tokens,
    as_data,
    build_messages,
    context_passages,
    history_lines,
    rewrite_messages,
    trim_passage,
)
from .protocol import ChatError, ChatModel

__all__ = [
    "ANSWER_TOKENS",
    "CONTEXT_TOKENS",
    "DEFAULT_MODEL",
    "DEFAULT_OLLAMA_URL",
    "HISTORY",
    "MARKER",
    "MAX_PASSAGES",
    "NOTES",
    "NOT_IN_PAPER_MARK",
    "PASSAGE_CHARS",
    "REWRITE_SYSTEM",
    "REWRITE_TOKENS",
    "REWRITE_USER",
    "SYSTEM",
    "USER",
    "ChatError",
    "ChatModel",
    "Generator",
    "LlamaCppChat",
    "OllamaChat",
    "OpenAIChat",
    "Parsed",
    "accept_rewrite",
    "approx_tokens",
    "as_data",
    "before_echo",
    "build_messages",
    "context_passages",
    "history_lines",
    "is_abstention",
    "make_backend",
    "parse_reply",
    "rewrite_messages",
    "trim_passage",
]
