"""The chat-model backend that plugs into the answer chain, and the factory that builds it from Settings.

For: `Generator.compose(turn, extractive)` writes the answer with a chat model from the retrieved passages
(prompts.py), reads the reply (parse.py), keeps only what `compose.verify` accepts, and otherwise returns
the extractive composition with a note; `rewrite` turns a follow-up into a standalone query; `stream`
yields the model's text as it is written. `make_backend(settings)` picks the client.
Must not: show the model's words unverified, raise to the user or hang (every failure falls back; retry.py
bounds the waiting), or import a client package or contact the endpoint before the first question.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from ..compose import Composition, generated_check, verify
from ..types import Passage
from . import retry
from .llamacpp import LlamaCppChat
from .ollama import OllamaChat
from .openai_compat import OpenAIChat, api_key_from
from .parse import accept_rewrite, before_echo, parse_reply
from .prompts import (
    ANSWER_TOKENS,
    REWRITE_TOKENS,
    approx_tokens,
    build_messages,
    context_passages,
    history_lines,
    rewrite_messages,
)
from .protocol import ChatError, ChatModel

DEFAULT_MODEL = {"openai": "gpt-4o-mini", "ollama": "llama3.2"}

NOTES = {
    "unreachable": {
        "en": "The chat model ({backend}) gave no answer ({reason}); this is the extractive answer.",
        "fa": "مدل گفتگو ({backend}) پاسخی نداد ({reason})؛ این پاسخِ استخراج‌شده از متن مقاله است.",
    },
    "unverified": {
        "en": "The chat model's answer could not be verified against the cited passages; this is the extractive answer.",
        "fa": "پاسخ مدل گفتگو با بخش‌های استنادشده تأیید نشد؛ این پاسخِ استخراج‌شده از متن مقاله است.",
    },
}


class Generator:
    """Writes the answer with a chat model from the retrieved passages, verifies it, falls back cleanly.

    `compose(turn, extractive)` and `rewrite(question, history, lang)` never raise; `stream(turn)` yields
    the model's text as it comes (for backends whose model streams) and raises ChatError on failure.
    """

    def __init__(self, settings, model: ChatModel, name: str | None = None, model_name: str = ""):
        self.settings = settings
        self.model = model
        self.name = name or getattr(settings, "backend", "llm")
        self.model_name = model_name
        self.timeout = float(getattr(settings, "llm_timeout_s", 30.0) or 30.0)
        # Set by a caller that shows the answer as it is written (`assistant chat`): receives each chunk.
        self.on_chunk: Callable[[str], None] | None = None
        # After the endpoint failed (even after the retry), calls fail at once for a while: a follow-up's
        # rewrite and its answer, or an eval run, then wait for one timeout, not one per call.
        self.breaker = retry.Breaker()

    @property
    def streams(self) -> bool:
        return bool(getattr(self.model, "streams", False))

    # -------------------------------------------------------------- calls
    def _call(self, messages: list[dict], max_tokens: int) -> str:
        return retry.call(self.model, messages, max_tokens, self.timeout, self.breaker)

    def _stream_call(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        return retry.stream(self.model, messages, max_tokens, self.timeout, self.breaker)

    # -------------------------------------------------------------- public
    def messages(self, turn, extractive: Composition | None = None) -> tuple[list[dict], list[tuple[Passage, str]]]:
        context = context_passages(turn, extractive if extractive is not None else turn.composition)
        return build_messages(turn, context), context

    def stream(self, turn, extractive: Composition | None = None) -> Iterator[str]:
        """The model's answer as text chunks, as they are written (unverified: the caller shows the
        verified answer afterwards)."""
        if not self.streams:
            raise ChatError(f"the {self.name} backend does not stream")
        messages, _ = self.messages(turn, extractive)
        yield from self._stream_call(messages, ANSWER_TOKENS)

    def compose(self, turn, extractive: Composition) -> Composition:
        """The model's verified answer, its abstention, or the extractive composition with a note."""
        lang = turn.lang if turn.lang in ("fa", "en") else "en"
        t = time.perf_counter()
        info: dict = {"backend": self.name, "model": self.model_name}
        try:
            return self._compose(turn, extractive, lang, info, t)
        except Exception as exc:  # noqa: BLE001 - a backend must never break an answer
            return self._fallback(extractive, lang, "unreachable", info, t, reason=f"{type(exc).__name__}: {exc}"[:200])

    def _compose(self, turn, extractive: Composition, lang: str, info: dict, t: float) -> Composition:
        try:
            messages, context = self.messages(turn, extractive)
            info["passages"] = [p.id for p, _ in context]
            info["prompt_tokens_est"] = sum(approx_tokens(m["content"]) for m in messages)
            reply = self._reply(messages)
            if not isinstance(reply, str):
                raise ChatError("the reply was not text")
            info["reply"] = reply[:2000]
            answer = before_echo(reply, messages)
            if len(answer) < len(reply):
                info["echo_cut_at"] = len(answer)  # what follows repeats the prompt: never read as an answer
            parsed = parse_reply(answer, context, lang)
        except ChatError as exc:
            return self._fallback(extractive, lang, "unreachable", info, t, reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 - a backend must never break an answer
            return self._fallback(extractive, lang, "unreachable", info, t, reason=f"{type(exc).__name__}: {exc}"[:200])
        info["dropped"] = parsed.dropped
        if parsed.abstained:
            info.update(outcome="abstained", elapsed_ms=round((time.perf_counter() - t) * 1000))
            evidence = replace(
                extractive.evidence,
                generator=info,
                abstain_reasons=["the chat model found no answer in the retrieved passages"],
            )
            return Composition(
                [], True, kind="abstain", tables=set(extractive.tables), read=set(extractive.read), evidence=evidence
            )
        kept = verify(parsed.statements, {p.id for p, _ in context}, lang)
        for st in parsed.statements:
            if st not in kept:
                info["dropped"].append(
                    {
                        "sentence": st.text,
                        "passage": st.passage.id,
                        "reason": generated_check(st.text, st.passage, lang) or "not retrieved",
                    }
                )
        if not kept:
            return self._fallback(extractive, lang, "unverified", info, t)
        info.update(outcome="generated", kept=len(kept), elapsed_ms=round((time.perf_counter() - t) * 1000))
        kind = "list" if parsed.bullets and len(kept) > 1 else "fact"
        return Composition(
            kept,
            False,
            kind=kind,
            tables=set(extractive.tables),
            read=set(extractive.read),
            evidence=replace(extractive.evidence, generator=info),
        )

    def _reply(self, messages: list[dict]) -> str:
        """The model's whole reply; streamed to `on_chunk` as it is written when a caller shows it."""
        if self.on_chunk is None or not self.streams:
            return self._call(messages, ANSWER_TOKENS)
        parts = []
        for chunk in self._stream_call(messages, ANSWER_TOKENS):
            parts.append(chunk)
            show = self.on_chunk  # cleared below after a display error; later chunks are only collected
            if show is None:
                continue
            try:
                show(chunk)
            except Exception:  # noqa: BLE001 - a display error must not lose the answer
                self.on_chunk = None
        return "".join(parts)

    def _fallback(
        self, extractive: Composition, lang: str, why: str, info: dict, started: float, reason: str = ""
    ) -> Composition:
        info.update(outcome="fallback", reason=reason or why, elapsed_ms=round((time.perf_counter() - started) * 1000))
        note = NOTES[why][lang].format(backend=self.name, reason=reason)
        return Composition(
            list(extractive.statements),
            extractive.abstained,
            kind=extractive.kind,
            tables=set(extractive.tables),
            evidence=replace(extractive.evidence, generator=info),
            read=set(extractive.read),
            note=note,
        )

    def rewrite(self, question: str, history: list, lang: str) -> str | None:
        """A follow-up rewritten into a standalone retrieval query; None when there is nothing to rewrite
        or the model's rewrite fails or does not look like a question about the same things."""
        try:
            turns = history_lines(history)
            if not any(line.startswith("User:") for line in turns):
                return None
            reply = self._call(rewrite_messages(turns, question, lang), REWRITE_TOKENS)
            return accept_rewrite(reply, question, history, lang)
        except Exception:  # noqa: BLE001 - the extractive history query is the fallback
            return None


def make_backend(settings) -> Generator | None:
    """The configured backend (None for the extractive composer). Contacts nothing: the endpoint is first
    reached, and client packages imported, when a question is asked."""
    backend = settings.backend
    if backend == "extractive":
        return None
    chat: ChatModel
    if backend == "openai":
        model = settings.llm_model or DEFAULT_MODEL["openai"]
        chat = OpenAIChat(settings.llm_base_url, model, api_key_from(settings))
    elif backend == "ollama":
        model = settings.llm_model or DEFAULT_MODEL["ollama"]
        chat = OllamaChat(settings.llm_base_url, model)
    elif backend == "llamacpp":
        # No file configured: every question falls back with a note that says so (nothing raises).
        model = str(settings.llm_gguf_path or settings.llm_model or "")
        chat = LlamaCppChat(model)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return Generator(settings, chat, name=backend, model_name=model)
