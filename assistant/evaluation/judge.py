"""The optional judge (`--judge`): a chat model reads question, reference and answer and says whether the
answer is correct. Never required, never part of the headline verdict; reported beside it. Uses the
configured chat-model endpoint (assistant/llm.py); a failure is recorded as "no verdict"."""

from __future__ import annotations

import re
from collections.abc import Callable

PROMPT = (
    "You grade answers about a research paper. Compare the ANSWER with the REFERENCE answer written by a "
    "person. Reply with one word, CORRECT or INCORRECT, then a short reason on the same line. The answer is "
    "correct when it states what the reference states (other words, other language or extra detail are fine).\n\n"
    "QUESTION: {question}\nREFERENCE: {reference}\nANSWER: {answer}\nVerdict:"
)
_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b", re.I)


def make_judge(settings) -> Callable[[dict, dict], tuple[bool | None, str]]:
    """A judge over the settings' chat-model endpoint; raises ValueError when none is configured."""
    from ..llm import make_backend

    if settings.backend == "extractive":
        # Answers from the offline composer, judged by the chat model at --base-url (OpenAI-compatible).
        if not settings.llm_base_url:
            raise ValueError(
                "--judge needs a chat-model endpoint: --base-url URL (OpenAI-compatible), "
                "or --backend openai/ollama/llamacpp"
            )
        settings = settings.with_overrides(backend="openai")
    generator = make_backend(settings)
    assert generator is not None  # a chat-model backend here: "extractive" was replaced by "openai" above
    chat = generator.model
    timeout = float(settings.llm_timeout_s)

    def judge(item: dict, result: dict) -> tuple[bool | None, str]:
        from ..llm import ChatError

        text = PROMPT.format(
            question=item["question"],
            reference=item.get("reference", ""),
            answer=re.sub(r"\[\d+(?:,\s*\d+)*\]", "", result["answer"]).strip(),
        )
        try:
            reply = chat.chat([{"role": "user", "content": text}], max_tokens=60, timeout=timeout)
        except ChatError as exc:
            return None, f"no verdict: {exc.reason}"
        except Exception as exc:  # noqa: BLE001 - a judge must never break a run
            return None, f"no verdict: {type(exc).__name__}"
        m = _VERDICT.search(reply or "")
        if not m:
            return None, f"no verdict in the reply: {(reply or '')[:80]!r}"
        return m.group(1).upper() == "CORRECT", (reply or "").strip()[:200]

    return judge
