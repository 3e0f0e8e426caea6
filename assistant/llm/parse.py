"""Reading the model's reply: its [n] markers, its sentences, its abstention, where it starts echoing the prompt.

For: turning a reply into one `Statement` per cited sentence (generated=True, the cited passage attached)
for `compose.verify` to check, and accepting or refusing a follow-up rewrite.
Must not: call a model, decide what the user sees (backend.py does, after verification) or trust the
reply: anything that cannot be tied to a passage of the prompt is dropped, and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..compose import Statement, generated_check
from ..query import content_terms, detect_language, is_followup, stem
from ..types import Passage
from .prompts import NOT_IN_PAPER_MARK, TAGS

# The one [n] marker: "[1]", "[2, 5]", "[۳،۴]" (group 1: the numbers). The other two patterns are built
# from it: a run of markers (with the punctuation a model puts between them) at the start of a piece, or
# as the whole of a line.
MARKER = re.compile(r"\[\s*([0-9۰-۹]{1,3}(?:\s*[,،]\s*[0-9۰-۹]{1,3})*)\s*\]")
_MARKER_RUN = rf"(?:{MARKER.pattern}\s*[.,،؛;:]?\s*)+"
_LEADING_MARKERS = re.compile(rf"^\s*({_MARKER_RUN})")
_ONLY_MARKERS = re.compile(rf"^\s*{_MARKER_RUN}$")
_SPLIT = re.compile(r"(?<=[.!?؟])\s+")
_BULLET = re.compile(r"^\s*(?:[-*•·]|[0-9۰-۹]{1,2}[.)])\s+")
_FA_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


@dataclass
class Parsed:
    abstained: bool
    statements: list[Statement]
    dropped: list[dict]
    bullets: bool = False


def _numbers(marker_body: str) -> list[int]:
    return [int(x.strip().translate(_FA_DIGITS)) for x in re.split(r"[,،]", marker_body) if x.strip()]


def _clean(sentence: str) -> str:
    s = MARKER.sub("", sentence)
    s = re.sub(r"</?[A-Za-z_][\w-]{0,20}>", " ", s)  # <answer>, </s> and the like
    s = _BULLET.sub("", s)
    s = re.sub(r"\s+([.,;:!?؟،؛])", r"\1", s)
    s = re.sub(r"([.!?؟])\1+", r"\1", s)
    s = re.sub(r"\s{2,}", " ", s).strip()
    return s.strip("*_ ").strip()


def _is_mark(text: str) -> bool:
    return re.sub(r"[\s.!:;*_`'\"«»“”()\[\]<>/-]", "", text).upper() == NOT_IN_PAPER_MARK.replace("_", "")


def is_abstention(reply: str) -> bool:
    """The fixed form: the reply is the marker, or its first line is (a reply that merely repeats the
    prompt, which names the marker, is no abstention)."""
    lines = [line for line in (reply or "").strip().splitlines() if line.strip()]
    return bool(lines) and (_is_mark(lines[0]) or _is_mark(" ".join(lines)))


# Signs that a reply goes on to repeat the prompt (small base models do): chat-template tokens, our tags.
_ECHO = re.compile(
    r"<<SYS>>|<</SYS>>|\[/?INST\]|<start_of_turn>|<end_of_turn>|<\|im_start\|>|<\|im_end\|>|"
    r"<\|eot_id\|>|<\|start_header_id\|>|</?passages>|</?question>|</?history>"
)


def before_echo(reply: str, messages: list[dict]) -> str:
    """The reply up to where it starts repeating the prompt (its template tokens, tags or rule lines)."""
    cut = len(reply)
    m = _ECHO.search(reply)
    if m:
        cut = m.start()
    for message in messages:
        for line in message["content"].splitlines():
            line = line.strip()
            if len(line) >= 25 and not MARKER.match(line):  # an instruction line, not a passage
                i = reply.find(line)
                if 0 <= i < cut:
                    cut = i
    return reply[:cut]


def _pieces(reply: str) -> list[str]:
    """The reply's sentences, line by line, with markers that stand apart moved to the sentence they close."""
    merged: list[str] = []
    for line in reply.splitlines():
        if _ONLY_MARKERS.match(line) and merged:  # "...332nd.\n[1]": the markers belong to the sentence before
            merged[-1] = f"{merged[-1]} {line.strip()}"
            continue
        for k, piece in enumerate(p for p in _SPLIT.split(line) if p and p.strip()):
            # "... 332nd. [1] Next" splits after the full stop: the markers belong to the sentence before;
            # at the start of a line ("[1] X is ...") they belong to the line.
            lead = _LEADING_MARKERS.match(piece)
            if lead and merged and k > 0:
                merged[-1] = f"{merged[-1]} {lead.group(1).strip()}"
                piece = piece[lead.end() :]
            if piece.strip():
                merged.append(piece.strip())
    return merged


def _join_fragments(merged: list[str]) -> list[str]:
    """A short uncited fragment ("e.g.", "1.") belongs to the sentence after it."""
    joined: list[str] = []
    carry = ""
    for i, piece in enumerate(merged):
        piece = f"{carry} {piece}".strip() if carry else piece
        carry = ""
        if not MARKER.search(piece) and len(piece.split()) < 3 and i < len(merged) - 1:
            carry = piece
            continue
        joined.append(piece)
    if carry:
        joined.append(carry)
    return joined


def _statement(sentence: str, context: list[tuple[Passage, str]], lang: str, dropped: list[dict]) -> Statement | None:
    """One sentence -> its Statement, or None (an uncited or wrongly cited sentence is added to `dropped`)."""
    text = _clean(sentence)
    cited = [n for m in MARKER.finditer(sentence) for n in _numbers(m.group(1))]
    if not text or not any(ch.isalnum() for ch in text):
        return None
    if _is_mark(text) and not cited:
        return None
    if not cited:
        dropped.append({"sentence": text, "reason": "no citation"})
        return None
    valid = [context[n - 1][0] for n in dict.fromkeys(cited) if 1 <= n <= len(context)]
    if not valid:
        dropped.append({"sentence": text, "reason": f"cites {cited}, which no passage has"})
        return None
    # The cited passage that passes the checks (or, failing that, the first one, for verify to refuse).
    best = next((p for p in valid if generated_check(text, p, lang) is None), valid[0])
    return Statement(text, best, generated=True)


def parse_reply(reply: str, context: list[tuple[Passage, str]], lang: str) -> Parsed:
    """The model's reply -> one Statement per cited sentence (text without its markers, the cited passage,
    generated=True). A sentence citing several passages keeps the one that supports it best; sentences
    without a citation, or citing only numbers that were not in the prompt, are dropped (and listed)."""
    reply = (reply or "").strip()
    merged = _pieces(reply)
    bullets = sum(1 for p in merged if _BULLET.match(p)) >= 2
    statements: list[Statement] = []
    dropped: list[dict] = []
    for sentence in _join_fragments(merged):
        st = _statement(sentence, context, lang, dropped)
        if st is not None:
            statements.append(st)
    abstained = is_abstention(reply) and not statements
    return Parsed(abstained, statements, dropped, bullets)


def accept_rewrite(reply, question: str, history: list, lang: str) -> str | None:
    """The model's rewrite of a follow-up, or None when it is empty, too long, an abstention, in another
    language, or about none of the things the question and the conversation name."""
    if not isinstance(reply, str):
        return None
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = re.sub(
        r"^(standalone question|rewritten question|question|پرسش مستقل|پرسش)\s*[:：]\s*", "", lines[0], flags=re.I
    )
    text = TAGS.sub(" ", text).strip().strip("\"'«»“”` ").strip()
    if not text or not any(ch.isalnum() for ch in text) or len(text) > max(300, 3 * len(question)):
        return None
    if is_abstention(text) or detect_language(text) != lang:
        return None
    earlier = " ".join(
        t.get("content", "") for t in history if isinstance(t, dict) and isinstance(t.get("content"), str)
    )
    asked = {stem(t) for t in content_terms(question)}
    before = {stem(t) for t in content_terms(earlier)} - asked
    own = {stem(t) for t in content_terms(text)}
    if not own or not (own & (asked | before)):
        return None  # a rewrite about none of the things said is no rewrite
    if is_followup(question) and before and not (own & before):
        return None  # a follow-up rewritten without what it refers to: the extractive history query does better
    return text
