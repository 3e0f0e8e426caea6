"""A client for a local GGUF model run in this process by llama-cpp-python (`llama_cpp.Llama`), and the
command line that serves a GGUF with llama-cpp-python's own OpenAI-compatible server instead.

For: the `llamacpp` backend: the model file is loaded on the first question, and each generation runs in
a worker thread so that the caller waits at most the timeout. `server_command` is the one place that
spells `python -m llama_cpp.server ...` (the benchmark and the tests start it, then talk to it through
the `openai` backend).
Must not: import llama_cpp or load the model at import time or in the constructor, stream (it says so
with a ChatError), run two generations at once (a call while a timed-out one still runs fails at once),
or start the server itself (the caller owns the process and its log).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

from .protocol import ChatError


def server_command(gguf: str | os.PathLike[str], port: int, n_ctx: int, host: str = "127.0.0.1") -> list[str]:
    """argv for llama-cpp-python's server: `gguf` behind an OpenAI-compatible http://HOST:PORT/v1, with a
    context window of n_ctx tokens, run by this interpreter (the one that has llama_cpp installed)."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
    ]


class LlamaCppChat:
    """A local GGUF model in this process through llama_cpp.Llama (imported and loaded on first use).

    Generation runs in a worker thread so that a slow model cannot hold the answer past the timeout;
    while a timed-out generation is still running, later calls fail at once ("busy") and fall back."""

    streams = False

    def __init__(self, path: str, n_ctx: int = 4096):
        self.path = str(path)
        self.n_ctx = n_ctx
        self._llm = None
        self._lock = threading.Lock()

    def _load(self):
        if self._llm is None:
            from llama_cpp import Llama

            self._llm = Llama(model_path=self.path, n_ctx=self.n_ctx, verbose=False)
        return self._llm

    def chat(self, messages: list[dict], *, max_tokens: int, timeout: float) -> str:
        if not self.path or not os.path.isfile(self.path):
            raise ChatError(
                f"no GGUF model file at {self.path}"
                if self.path
                else "no GGUF model file configured (--model PATH or ASSISTANT_LLM_GGUF_PATH)"
            )
        if not self._lock.acquire(blocking=False):
            raise ChatError("busy with an earlier question")
        box: dict = {}

        def work():
            try:
                out = self._load().create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0)
                box["text"] = out["choices"][0]["message"]["content"] or ""
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                box["error"] = exc
            finally:
                self._lock.release()

        worker = threading.Thread(target=work, name="llamacpp-generate", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise ChatError(f"timed out after {timeout:.0f} s")
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, ImportError):
                raise ChatError("llama-cpp-python is not installed (pip install llama-cpp-python)")
            raise ChatError(f"{type(exc).__name__}: {exc}"[:200])
        return box.get("text", "")

    def stream(self, messages: list[dict], *, max_tokens: int, timeout: float) -> Iterator[str]:
        raise ChatError("the llamacpp backend does not stream")
