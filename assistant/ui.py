"""The Gradio chat window: bilingual RTL/LTR chat with checkable citations, the recommendations
browser, the six tables, feedback and export.

The handlers are plain functions of (inputs, state) -> outputs, so they are unit-tested without
a browser; `build_app` only wires them to components. User and document text is escaped before
it is rendered: a `<script>`, a Markdown link or a bare URL in a question or a passage shows as
text, never as markup or a link.

Text direction: every chat message is wrapped in `<div class="msg-fa" dir="rtl">` (Persian) or
`<div class="msg-en" dir="ltr">` (English). Gradio's chat sanitizer keeps `class`, `dir` and
`lang`, and the CSS classes set `direction` as well, so the direction holds either way.
"""
from __future__ import annotations

import html
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .answer import Assistant, QuestionError
from .ingest import join_bullets
from .normalize import clean_display, normalize, persian_digits
from .query import detect_language
from .settings import Settings
from .types import Answer, Citation

log = logging.getLogger(__name__)

LANG_CHOICES = ["auto", "فارسی", "English"]
EXAMPLES = [
    "تهران با کدام شهرها قرارداد خواهرشهری دارد؟",
    "کدام خواهرشهرهای تهران در آفریقا هستند؟",
    "صندوق جهانی توسعه شهرها چند شهر عضو دارد؟",
    "Which of Tehran's sister cities are in Europe?",
    "What policy recommendations does the paper make?",
    "What challenges does Tehran face in developing city diplomacy?",
]
FA_FONTS = "'Vazirmatn', 'Noto Sans Arabic', 'Noto Naskh Arabic', 'Nazli', Tahoma, sans-serif"
CSS = f"""
.msg-fa {{ direction: rtl; text-align: right; unicode-bidi: isolate; font-family: {FA_FONTS}; line-height: 1.9; }}
.msg-en {{ direction: ltr; text-align: left; unicode-bidi: isolate; }}
.msg-fa ul, .msg-fa ol {{ padding-right: 1.4em; padding-left: 0; margin-right: 0; }}
.msg-en ul, .msg-en ol {{ padding-left: 1.4em; padding-right: 0; }}
.msg-fa li, .msg-en li {{ margin: 0.15em 0; }}
.msg-fa + .msg-en {{ margin-top: 0.6em; }}
#app-title h1 {{ font-size: 1.45em; margin: 0.2em 0; }}
#app-title .fa {{ font-family: {FA_FONTS}; }}
#citations {{ max-height: 760px; overflow-y: auto; }}
.cite-card {{ border: 1px solid var(--border-color-primary, #ccc); border-radius: 8px; padding: 10px 12px; margin: 8px 0; }}
.cite-card .cite-head {{ font-size: 0.9em; margin-bottom: 4px; }}
.cite-card .cite-head code {{ font-size: 0.85em; }}
.cite-card .fa {{ direction: rtl; text-align: right; font-family: {FA_FONTS}; line-height: 1.9; margin: 4px 0; }}
.cite-card .en {{ direction: ltr; text-align: left; opacity: 0.85; margin-top: 4px; }}
.tr {{ font-size: 0.8em; opacity: 0.7; }}
.cite-card mark {{ background: #fff3a0; color: inherit; padding: 0 2px; border-radius: 3px; }}
.cite-card mark.approx {{ background: #fde9c8; }}
.fa-inline {{ font-family: {FA_FONTS}; }}
table.paper {{ border-collapse: collapse; width: 100%; font-size: 0.92em; }}
table.paper th, table.paper td {{ border: 1px solid #bbb; padding: 4px 6px; vertical-align: top; }}
table.paper.fa, table.paper.fa th, table.paper.fa td {{ direction: rtl; text-align: right; font-family: {FA_FONTS}; }}
table.paper.en th, table.paper.en td {{ text-align: left; }}
.tables-fa h3, .tables-fa p {{ direction: rtl; text-align: right; font-family: {FA_FONTS}; }}
#policy-list td {{ vertical-align: top; }}
.rec-fa {{ direction: rtl; text-align: right; font-family: {FA_FONTS}; line-height: 1.8; }}
.rec-en {{ direction: ltr; text-align: left; }}
/* typed text takes the direction of its first letter (Persian right-to-left, English left-to-right) */
#question textarea, #policy-search textarea, #chat-correction textarea {{ unicode-bidi: plaintext; text-align: start; }}
"""
TITLE_HTML = ('<div id="app-title"><h1><bdi class="fa" dir="rtl" lang="fa">دستیار مقاله «دیپلماسی شهری در کلانشهر تهران»'
              '</bdi> · <span lang="en">Paper assistant: city diplomacy in Tehran</span></h1></div>')
# The copy button of a chat message copies its raw value: the direction wrapper and Markdown
# escapes. This turns such a value back into the plain text the user sees (and leaves anything
# else alone). Loaded through launch(head=...).
HEAD = r"""<script>
(() => {
  const clip = navigator.clipboard;
  if (!clip || !clip.writeText || clip.__plainChat) return;
  const original = clip.writeText.bind(clip);
  const plain = (t) => {
    if (typeof t !== "string" || !/<div class="msg-(fa|en)"/.test(t)) return t;
    return t.replace(/<div class="msg-(?:fa|en)"[^>]*>/g, "").replace(/<\/div>/g, "")
      .replace(/\*\*\[(\d+)\]\*\*/g, "[$1]")
      .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&")
      .replace(/\\([\\`*_{}\[\]()#+!|~$@\/.=-])/g, "$1")
      .replace(/\n{3,}/g, "\n\n").trim();
  };
  clip.writeText = (t) => original(plain(t));
  clip.__plainChat = true;
})();
</script>"""
MAX_FEEDBACK_CHARS = 4000
PREVIEW_CHARS = 300  # how much of a rejected (too long) question the chat repeats
ALL_SOURCES = "all"

# ---------------------------------------------------------------------- escaping
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~$@])")  # ">" and "<" become entities below
_MD_LINE_START = re.compile(r"^([ \t]*)([-=])", re.M)  # list bullet, setext underline
_MD_ORDERED = re.compile(r"^([ \t]*)(\d+)([.)])", re.M)  # "1. " ordered list
_WWW = re.compile(r"(?i)\b(www)\.")


def esc(text: str) -> str:
    """Text -> Markdown that renders as exactly that text: no markup, no HTML, no links.

    Markdown specials are backslash-escaped first, then HTML specials become entities (in that
    order, so an entity's `#` is never escaped). Bare URLs (`http://`, `www.`) and e-mail
    addresses, which GitHub-flavoured Markdown would turn into links, are broken with escapes too.
    """
    t = _MD_SPECIAL.sub(r"\\\1", text)
    t = _MD_LINE_START.sub(r"\1\\\2", t)
    t = _MD_ORDERED.sub(r"\1\2\\\3", t)
    t = t.replace("://", r":\/\/")
    t = _WWW.sub(r"\1\\.", t)
    return html.escape(t, quote=False)


def lang_of(choice: Optional[str]) -> Optional[str]:
    return {"فارسی": "fa", "English": "en"}.get(choice or "auto")


def wrap(text_md: str, lang: str) -> str:
    """A chat message whose direction follows its language (blank lines keep Markdown inside working)."""
    cls = "msg-fa" if lang == "fa" else "msg-en"
    return f'<div class="{cls}" dir="{"rtl" if lang == "fa" else "ltr"}" lang="{lang}">\n\n{text_md}\n\n</div>'


def fa_number(n: int) -> str:
    return persian_digits(f"{n:,}").replace(",", "٬")


def answer_markdown(ans: Answer) -> str:
    body = "\n".join(esc(line) if not line.startswith("- ") else "- " + esc(line[2:]) for line in ans.answer.split("\n"))
    body = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", body)  # citation markers, made visible
    if ans.note:
        body += "\n\n_" + esc(ans.note) + "_"
    return body


# ---------------------------------------------------------------------- friendly messages
def question_problem(question: str, settings: Settings) -> Optional[str]:
    """'empty', 'too_long' or None: the checks `Assistant.ask` makes, done first so the chat can
    answer in a friendly way (and without running the chain on 100,000 characters)."""
    q = clean_display(question)
    if not any(ch.isalnum() for ch in q):
        return "empty"
    if len(q) > settings.max_question_chars:
        return "too_long"
    return None


def friendly_messages(problem: str, question: str, settings: Settings, detail: str = "") -> dict[str, str]:
    """{'fa': ..., 'en': ...} for a question the assistant cannot take."""
    limit = settings.max_question_chars
    if problem == "empty":
        return {"fa": "لطفاً پرسشی درباره مقاله بنویسید؛ به فارسی یا انگلیسی.",
                "en": "Please type a question about the paper, in Persian or English."}
    if problem == "too_long":
        n = len(clean_display(question))
        return {"fa": f"پرسش شما {fa_number(n)} نویسه است و بیش از اندازه بلند است؛ لطفاً آن را کوتاه کنید "
                      f"(حداکثر {fa_number(limit)} نویسه).",
                "en": f"Your question is {n:,} characters long, which is too long; please shorten it to "
                      f"{limit:,} characters or fewer."}
    if problem == "error":
        return {"fa": "متأسفیم، در پاسخ‌گویی خطایی رخ داد؛ لطفاً دوباره تلاش کنید.",
                "en": "Sorry, something went wrong while answering; please try again."}
    return {"fa": f"این پرسش را نمی‌توان به این شکل پاسخ داد ({detail}). لطفاً آن را بازنویسی کنید.",
            "en": f"This question cannot be answered as written ({detail}). Please rephrase it."}


# ---------------------------------------------------------------------- citations
# Sentence ends, as the composer splits them ("1." in an enumeration is not an end).
_SENT_END = re.compile(r"(?<=[^0-9۰-۹][.!?؟])\s+(?=\S)")
_ROW_HEAD = re.compile(r"^[^:]{0,40}:\s*")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and len(text[merged[-1][0]:merged[-1][1]].split()) < 4:  # "Figure 1." is a label
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(s, e) for s, e in merged if text[s:e].strip()]


def _find(text: str, quote: str) -> Optional[tuple[int, int]]:
    """Where `quote` is in `text`: exactly, or else the sentence(s) that match it after normalization."""
    if not text or not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    nq = normalize(quote)
    if not nq:
        return None
    spans = _sentence_spans(text)
    for s, e in spans:
        if nq in normalize(text[s:e]):
            return s, e
    inside = [(s, e) for s, e in spans if normalize(text[s:e]) and normalize(text[s:e]) in nq]
    if inside:
        return inside[0][0], inside[-1][1]
    return None


def _counterpart(src: str, span: tuple[int, int], dst: str, c: Citation, src_lang: str,
                 cells: dict) -> tuple[Optional[tuple[int, int]], bool]:
    """The span of `dst` (the other language) that renders `src[span]`; and whether it is exact.

    A table cell maps to the same cell, a row's body (after "Table N, row M:") to the other body,
    and a sentence to the sentence with the same index (when both texts have as many sentences;
    otherwise to the one at the same relative position, flagged as approximate)."""
    dst_lang = "en" if src_lang == "fa" else "fa"
    quoted = src[span[0]:span[1]].strip()
    for cell in (cells or {}).values():
        sv, dv = (cell or {}).get(src_lang, ""), (cell or {}).get(dst_lang, "")
        if not sv or not dv:
            continue
        src_forms = {sv, join_bullets(sv, src_lang), sv.replace("\n", " ")}
        if quoted in src_forms:
            for form in (dv, join_bullets(dv, dst_lang), dv.replace("\n", " ")):
                j = dst.find(form)
                if j >= 0:
                    return (j, j + len(form)), True
    if c.kind == "table_row":
        ms, md = _ROW_HEAD.match(src), _ROW_HEAD.match(dst)
        if ms and md and quoted == src[ms.end():].strip():
            return (md.end(), len(dst.rstrip())), True
    ss, ds = _sentence_spans(src), _sentence_spans(dst)
    if not ss or not ds:
        return None, False
    idx = [i for i, (s, e) in enumerate(ss) if s < span[1] and e > span[0]]
    if not idx:
        return None, False
    if len(ss) == len(ds):
        return (ds[idx[0]][0], ds[idx[-1]][1]), True
    lo = min(len(ds) - 1, idx[0] * len(ds) // len(ss))
    hi = min(len(ds) - 1, max(lo, (idx[-1] + 1) * len(ds) // len(ss) - 1))
    return (ds[lo][0], ds[hi][1]), False


def _marked(text: str, spans: list[tuple[int, int, bool]]) -> str:
    """Escaped text with the spans in <mark> (each piece escaped on its own, so no mark is broken).
    A span is (start, end, exact); an inexact one (aligned by position) is marked as approximate."""
    out, pos = [], 0
    for s, e, exact in sorted(spans):
        s = max(s, pos)
        if e <= s:
            continue
        tag = "<mark>" if exact else '<mark class="approx" title="aligned by sentence position (approximate)">'
        out += [html.escape(text[pos:s], quote=False), tag, html.escape(text[s:e], quote=False), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def highlight(c: Citation, cells: Optional[dict] = None) -> tuple[str, str]:
    """(Persian html, English html) of a cited passage, the cited text in <mark> in both languages.

    The quote is in the answer's language; its rendering in the other language is found through
    the table cells, the row body or the sentence order. A quote of several spans joined by "…"
    (an organisation's name, then a cell) marks each span."""
    fa, en, q = c.text or "", c.text_en or "", (c.quote or "").strip()
    fa_spans: list[tuple[int, int, bool]] = []
    en_spans: list[tuple[int, int, bool]] = []
    for part in (x.strip() for x in q.split("…")):
        if not part:
            continue
        sp_fa, sp_en = _find(fa, part), _find(en, part)
        ex_fa = ex_en = True
        if sp_fa and not sp_en:
            sp_en, ex_en = _counterpart(fa, sp_fa, en, c, "fa", cells or {})
        elif sp_en and not sp_fa:
            sp_fa, ex_fa = _counterpart(en, sp_en, fa, c, "en", cells or {})
        if sp_fa:
            fa_spans.append((sp_fa[0], sp_fa[1], ex_fa))
        if sp_en:
            en_spans.append((sp_en[0], sp_en[1], ex_en))
    return _marked(fa, fa_spans), _marked(en, en_spans)


def where(c: Citation) -> tuple[str, str]:
    """(English, Persian) location of a citation."""
    if c.row:
        en, fa = f"Table {c.table}, row {c.row}", f"جدول {persian_digits(str(c.table))}، ردیف {persian_digits(str(c.row))}"
    elif c.table:
        en, fa = f"Table {c.table}", f"جدول {persian_digits(str(c.table))}"
    else:
        en, fa = c.heading_en or c.section, c.heading or c.section
    if c.page:
        en, fa = f"{en}, page {c.page}", f"{fa}، صفحه {persian_digits(str(c.page))}"
    return en, fa


def citation_html(ans: Optional[Answer], selected: Optional[int] = None, cells: Optional[dict] = None) -> str:
    """The sources panel: for each [n] its location, the Persian original with the cited sentence
    highlighted, and the English rendering marked as a translation. `cells`: passage id -> cells."""
    if ans is None or not ans.citations:
        if ans is not None and ans.abstained:
            return ('<p class="tr">No sources: the paper does not answer this. / '
                    '<bdi dir="rtl" lang="fa">منبعی نیست: مقاله به این پرسش پاسخ نمی‌دهد.</bdi></p>')
        return ('<p class="tr">Sources of the latest answer appear here. / '
                '<bdi dir="rtl" lang="fa">منابع آخرین پاسخ اینجا نمایش داده می‌شود.</bdi></p>')
    cards = []
    for c in ans.citations:
        if selected is not None and c.n != selected:
            continue
        where_en, where_fa = where(c)
        fa, en = highlight(c, (cells or {}).get(c.id))
        cards.append(
            f'<div class="cite-card" id="cite-{c.n}" data-n="{c.n}">'
            f'<div class="cite-head"><b>[{c.n}]</b> {html.escape(where_en)} · '
            f'<bdi class="fa-inline" dir="rtl" lang="fa">{html.escape(where_fa)}</bdi> · <code>{html.escape(c.id)}</code></div>'
            f'<div class="fa" dir="rtl" lang="fa">{fa}</div>'
            f'<div class="en" dir="ltr" lang="en"><span class="tr">English translation of the Persian original:</span> {en}</div>'
            f'</div>'
        )
    return "\n".join(cards)


def citation_choices(ans: Optional[Answer]) -> list[tuple[str, str]]:
    """(label, value) per citation for the source picker; value is "[n] passage-id"."""
    out = []
    for c in (ans.citations if ans else []):
        label = where(c)[0]
        label = label if len(label) <= 38 else label[:37] + "…"
        out.append((f"[{c.n}] {label}", f"[{c.n}] {c.id}"))
    return out


# ---------------------------------------------------------------------- feedback
class FeedbackLog:
    """Append-only JSONL; one write per record under a lock, so concurrent users lose nothing."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def add(self, record: dict) -> None:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": time.time(), **record}, ensure_ascii=False) + "\n"
        with self._lock, FileLock(str(self.path) + ".lock", timeout=30):
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())


# ---------------------------------------------------------------------- handlers
@dataclass
class Session:
    turns: list = field(default_factory=list)  # [(question, Answer)]
    answer_at: dict = field(default_factory=dict)  # chat message index of an answer -> index in turns
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def history(self) -> list[dict]:
        out = []
        for q, a in self.turns[-3:]:
            out += [{"role": "user", "content": q}, {"role": "assistant", "content": a.answer}]
        return out

    @property
    def language(self) -> Optional[str]:
        return self.turns[-1][1].language if self.turns else None


class Handlers:
    def __init__(self, assistant: Assistant, feedback: FeedbackLog):
        self.assistant = assistant
        self.feedback = feedback
        self.cells = {p.id: p.cells for p in assistant.store.passages if p.cells}
        self.items = policy_items(assistant)
        self.items_by_id = {it["id"]: it for it in self.items}

    def _refuse(self, question: str, chat: list, problem: str, detail: str = "") -> list:
        settings = self.assistant.settings
        msgs = friendly_messages(problem, question, settings, detail)
        if problem == "empty":  # no language to go by: say it in both
            chat.append({"role": "assistant",
                         "content": wrap("⚠️ " + esc(msgs["fa"]), "fa") + "\n\n" + wrap("⚠️ " + esc(msgs["en"]), "en")})
            return chat
        q_lang = detect_language(question[:2000])
        shown = clean_display(question[:PREVIEW_CHARS * 4])
        if len(shown) > PREVIEW_CHARS or len(question) > PREVIEW_CHARS * 4:
            shown = shown[:PREVIEW_CHARS].rstrip() + " …"
        chat.append({"role": "user", "content": wrap(esc(shown), q_lang)})
        chat.append({"role": "assistant", "content": wrap("⚠️ " + esc(msgs[q_lang]), q_lang)})
        return chat

    def respond(self, question: str, chat: list, session: Optional[Session], lang_choice: str,
                standalone: bool = False):
        """-> (textbox value, chat messages, session, citations html, citation choices)

        `standalone`: the question stands alone (a recommendation clicked in the browser), so
        earlier turns are not read as its context."""
        session = session or Session()
        chat = list(chat or [])
        question = question if isinstance(question, str) else ""
        problem = question_problem(question, self.assistant.settings)
        if problem:
            # The question stays in the box so that it can be edited (an empty one is cleared).
            return ("" if problem == "empty" else question), self._refuse(question, chat, problem), session, \
                citation_html(None), []
        try:
            ans = self.assistant.ask(question, history=[] if standalone else session.history(),
                                     lang=lang_of(lang_choice))
        except QuestionError as exc:
            return question, self._refuse(question, chat, "other", str(exc)), session, citation_html(None), []
        except Exception:  # noqa: BLE001 - the window must stay usable; the log has the details
            log.exception("answering failed")
            return "", self._refuse(question, chat, "error"), session, citation_html(None), []
        return self._answered(ans, chat, session)

    def _answered(self, ans: Answer, chat: list, session: Session):
        session.turns.append((ans.question, ans))
        chat.append({"role": "user", "content": wrap(esc(ans.question), detect_language(ans.question))})
        chat.append({"role": "assistant", "content": wrap(answer_markdown(ans), ans.language)})
        session.answer_at[len(chat) - 1] = len(session.turns) - 1
        return "", chat, session, citation_html(ans, cells=self.cells), citation_choices(ans)

    def ask_item(self, item_id: Optional[str], chat: list, session: Optional[Session], lang_choice: str):
        """Ask about a row of the recommendations browser; same outputs as `respond`.

        The row is asked about on its own (earlier turns are not its context), first by its text,
        then, if that answer does not cite the row, with its table named (which finds rows whose
        wording other rows repeat, at the price of answering with more of the table)."""
        session = session or Session()
        chat = list(chat or [])
        item = self.items_by_id.get(item_id or "")
        if item is None:
            return "", chat, session, citation_html(session.turns[-1][1] if session.turns else None, cells=self.cells), \
                citation_choices(session.turns[-1][1] if session.turns else None)
        lang = lang_of(lang_choice) or session.language or "fa"
        questions = [item_question(item, lang, scoped=False), item_question(item, lang, scoped=True)]
        best = None
        for q in questions:
            try:
                ans = self.assistant.ask(q, history=[], lang=lang)
            except Exception:  # noqa: BLE001 - respond() below turns it into a friendly message
                continue
            best = best or ans
            if item["id"] in [c.id for c in ans.citations]:
                best = ans
                break
        if best is None:
            return self.respond(questions[0], chat, session, lang_choice, standalone=True)
        return self._answered(best, chat, session)

    def show_citation(self, choice: Optional[str], session: Optional[Session]) -> str:
        if not session or not session.turns:
            return citation_html(None)
        ans = session.turns[-1][1]
        m = re.match(r"\[(\d+)\]", choice or "")
        return citation_html(ans, int(m.group(1)) if m else None, cells=self.cells)

    def record_feedback(self, session: Optional[Session], message_index: Optional[int], liked,
                        correction: str = "") -> str:
        """Rate the answer at chat message `message_index` (None: the latest answer)."""
        if not session or not session.turns:
            return "Nothing to rate yet. / هنوز پاسخی نیست."
        if message_index is None:
            turn = len(session.turns) - 1
        elif message_index in session.answer_at:
            turn = session.answer_at[message_index]
        else:
            return "Only answers can be rated. / فقط پاسخ‌ها را می‌توان ارزیابی کرد."
        q, ans = session.turns[turn]
        rating = None if liked is None else ("up" if liked is True else "down" if liked is False else str(liked))
        self.feedback.add({"question": q, "answer": ans.answer, "language": ans.language,
                           "abstained": ans.abstained, "citations": [c.id for c in ans.citations],
                           "rating": rating, "correction": (correction or "")[:MAX_FEEDBACK_CHARS]})
        return "Thank you, feedback saved. / سپاس، بازخورد ثبت شد."

    def export(self, session: Optional[Session]) -> Optional[str]:
        """The conversation as a Markdown file (one file per session, rewritten each turn)."""
        if not session or not session.turns:
            return None
        lines = ["# Conversation about the paper on city diplomacy in Tehran",
                 "# گفت‌وگو درباره مقاله «دیپلماسی شهری در کلانشهر تهران»", ""]
        for q, a in session.turns:
            lines += [f"## {q}", "", a.answer, ""]
            if a.citations:
                lines += ["Sources / منابع:", ""]
            for c in a.citations:
                where_en, where_fa = where(c)
                lines += [f"- [{c.n}] `{c.id}` ({where_en} / {where_fa})",
                          f"  - Persian original: {c.text}",
                          f"  - English translation: {c.text_en}"]
                if c.quote:
                    lines.append(f"  - Cited: {c.quote}")
            lines.append("")
        folder = Path(tempfile.gettempdir()) / "tehran-assistant-exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"conversation-{session.id}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        return str(path)


def tables_html(assistant: Assistant, lang: str) -> str:
    data = json.loads((assistant.settings.corpus_dir / "tables.json").read_text(encoding="utf-8"))
    d = "rtl" if lang == "fa" else "ltr"
    parts = []
    for t in data["tables"]:
        cols = t["columns"]
        head = "".join(f"<th>{html.escape(c[lang])}</th>" for c in cols)
        rows = "".join("<tr>" + "".join(
            "<td>" + "<br>".join(html.escape(x) for x in ((r["cells"].get(c["key"]) or {}).get(lang, "")).split("\n")) + "</td>"
            for c in cols) + "</tr>" for r in t["rows"])
        title = t["title_fa"] if lang == "fa" else t["title_en"]
        src = t.get("source_fa" if lang == "fa" else "source_en") or ""
        note = "" if lang == "fa" else "<p class='tr'>English translation of the Persian original.</p>"
        parts.append(f"<h3 dir='{d}' lang='{lang}'>{html.escape(title)}</h3>{note}"
                     f"<table class='paper {lang}' dir='{d}' lang='{lang}'><thead><tr>{head}</tr></thead>"
                     f"<tbody>{rows}</tbody></table>"
                     f"<p dir='{d}'><small>{html.escape(src)}</small></p>")
    return f"<div class='tables-{lang}' dir='{d}'>" + "\n".join(parts) + "</div>"


def policy_items(assistant: Assistant) -> list[dict]:
    """Rows of Tables 6, 5 and 4 for the recommendations browser."""
    out = []
    for p in sorted(assistant.store.passages, key=lambda p: ({6: 0, 5: 1, 4: 2}.get(p.table or 0, 9), p.row or 0)):
        if p.kind != "table_row" or p.table not in (4, 5, 6):
            continue
        group = p.cells.get("kind") or p.cells.get("axis") or {}
        item = p.cells.get("item") or {}
        out.append({"id": p.id, "table": p.table, "row": p.row,
                    "group_fa": group.get("fa", ""), "group_en": group.get("en", ""),
                    "fa": item.get("fa", ""), "en": item.get("en", "")})
    return out


def filter_items(items: list[dict], query: str) -> list[list[str]]:
    """[id, group (English), item (English), item (Persian)] of the items that contain `query`,
    matched in either language (Persian normalized: digits, ZWNJ, Arabic letters)."""
    q = normalize(query or "")
    rows = [it for it in items if not q or q in normalize(" ".join([it["fa"], it["en"], it["group_fa"], it["group_en"]]))]
    return [[it["id"], it["group_en"], it["en"], it["fa"]] for it in rows]


def item_samples(items: list[dict], query: str) -> list[list[str]]:
    """Rows of the recommendations Dataset: the id, then HTML (escaped) cells shown in full."""
    by_id = {it["id"]: it for it in items}
    out = []
    for item_id, _g, _en, _fa in filter_items(items, query):
        it = by_id[item_id]
        out.append([
            item_id,
            f'<div class="rec-en">Table {it["table"]}: {html.escape(it["group_en"])}</div>'
            f'<div class="rec-fa" dir="rtl" lang="fa">{html.escape(it["group_fa"])}</div>',
            f'<div class="rec-en" dir="ltr" lang="en">{html.escape(it["en"])}</div>',
            f'<div class="rec-fa" dir="rtl" lang="fa">{html.escape(it["fa"])}</div>',
        ])
    return out


def item_question(item: dict, lang: str, scoped: bool = False) -> str:
    """The question the chat is asked when a recommendation is clicked (`scoped`: naming its table)."""
    if lang == "en":
        return (f"What does Table {item['table']} of the paper say about “{item['en']}”?" if scoped
                else f"What does the paper say about “{item['en']}”?")
    return (f"مقاله در جدول {persian_digits(str(item['table']))} درباره «{item['fa']}» چه می‌گوید؟" if scoped
            else f"مقاله درباره «{item['fa']}» چه می‌گوید؟")


# ---------------------------------------------------------------------- app
def build_app(assistant: Assistant, feedback_path: Optional[Path] = None):
    import gradio as gr

    handlers = Handlers(assistant, FeedbackLog(feedback_path or assistant.settings.feedback_file))
    items = handlers.items

    with gr.Blocks(title="Tehran city diplomacy — paper assistant") as app:
        session = gr.State(None)
        gr.HTML(TITLE_HTML, padding=False)
        with gr.Tabs() as tabs:
            with gr.Tab("Chat · گفت‌وگو", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            label="Conversation · گفت‌وگو", height=560, elem_id="chat", buttons=["copy"],
                            feedback_options=("Like", "Dislike"), sanitize_html=True, latex_delimiters=[],
                            placeholder="Ask about the paper in Persian or English. · "
                                        "درباره مقاله به فارسی یا انگلیسی بپرسید.")
                        with gr.Row():
                            box = gr.Textbox(placeholder="پرسش خود را بنویسید · Ask a question (Persian or English)",
                                             show_label=False, scale=5, elem_id="question", max_length=4000)
                            send = gr.Button("Ask · بپرس", variant="primary", scale=1, elem_id="ask")
                        with gr.Row():
                            lang = gr.Radio(LANG_CHOICES, value="auto", label="Answer language · زبان پاسخ",
                                            elem_id="answer-lang")
                            clear = gr.Button("Clear · پاک کردن", elem_id="clear")
                            export = gr.DownloadButton("Export Markdown · خروجی", elem_id="export", value=None)
                        gr.Examples(EXAMPLES, inputs=box, label="Examples · نمونه‌ها")
                        with gr.Accordion("Correct the last answer · اصلاح آخرین پاسخ", open=False):
                            correction = gr.Textbox(lines=2, show_label=False, max_length=MAX_FEEDBACK_CHARS, elem_id="chat-correction",
                                                    placeholder="What should the answer have said? · پاسخ درست چه بود؟")
                            send_correction = gr.Button("Send correction · ارسال")
                        status = gr.Markdown("", elem_id="status")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources · منابع")
                        picker = gr.Radio([], label="Show source · نمایش منبع", elem_id="picker")
                        cites = gr.HTML(citation_html(None), elem_id="citations")
            with gr.Tab("Recommendations · توصیه‌ها", id="policy"):
                gr.HTML("<p lang='en'>Policy recommendations and their expected results (Table 6), opportunities "
                        "and challenges (Table 5), shortcomings, advantages and necessities (Table 4). "
                        "Click a row to ask the chat about it.</p>"
                        "<p dir='rtl' lang='fa' class='rec-fa'>توصیه‌های سیاستی و نتایج مورد انتظار آنها (جدول ۶)، "
                        "فرصت‌ها و چالش‌ها (جدول ۵)، کاستی‌ها، مزیت‌ها و ضرورت‌ها (جدول ۴). "
                        "برای پرسیدن درباره هر مورد، روی آن کلیک کنید.</p>", elem_id="policy-help")
                search = gr.Textbox(label="Search · جستجو", elem_id="policy-search",
                                    placeholder="e.g. World Bank, opportunity · مثلاً بانک جهانی، فرصت")
                policy = gr.Dataset(components=[gr.Textbox(visible=False), gr.HTML(visible=False),
                                                gr.HTML(visible=False), gr.HTML(visible=False)],
                                    headers=["id", "Group · گروه", "English (translation)", "فارسی (متن اصلی)"],
                                    samples=item_samples(items, ""), samples_per_page=60, elem_id="policy-list",
                                    label="Click to ask · برای پرسیدن کلیک کنید", layout="table")
            with gr.Tab("Tables · جدول‌ها", id="tables"):
                tlang = gr.Radio(["فارسی", "English"], value="فارسی", label="Language · زبان", elem_id="tables-lang")
                tables = gr.HTML(tables_html(assistant, "fa"), elem_id="tables")
            with gr.Tab("Evaluate · ارزیابی", id="evaluate"):
                from .evaluation.tab import build_evaluate_tab

                build_evaluate_tab(lambda: assistant, assistant.settings)

        outs = [box, chat, session, cites, picker, export]

        def _picker(choices):
            return gr.update(choices=(choices + [("All · همه", ALL_SOURCES)]) if choices else [], value=None)

        def _respond(q, c, s, lg):
            q2, c2, s2, html_, choices = handlers.respond(q, c, s, lg)
            return q2, c2, s2, html_, _picker(choices), handlers.export(s2)

        box.submit(_respond, [box, chat, session, lang], outs)
        send.click(_respond, [box, chat, session, lang], outs)
        picker.change(handlers.show_citation, [picker, session], cites)
        clear.click(lambda: ("", [], None, citation_html(None), gr.update(choices=[], value=None), None, ""),
                    None, outs + [status])
        chat.clear(lambda: (None, citation_html(None), gr.update(choices=[], value=None), None, ""),
                   None, [session, cites, picker, export, status])

        def _like(s, data):
            index = data.index if isinstance(data.index, int) else data.index[0]
            return handlers.record_feedback(s, index, data.liked)

        # gr.LikeData is found by annotation; set it here, as this module postpones annotations.
        _like.__annotations__ = {"s": Optional[Session], "data": gr.LikeData}
        chat.like(_like, session, status)

        def _correct(s, text):
            if not (text or "").strip():
                return "Type the correction first. / ابتدا اصلاح را بنویسید.", text
            return handlers.record_feedback(s, None, False, text), ""

        send_correction.click(_correct, [session, correction], [status, correction])
        search.change(lambda q: gr.Dataset(samples=item_samples(items, q)), search, policy)

        def _ask_item(sample, c, s, lg):
            _q, c2, s2, html_, choices = handlers.ask_item((sample or [None])[0], c, s, lg)
            return c2, s2, html_, _picker(choices), handlers.export(s2), gr.Tabs(selected="chat")

        # The question box is left alone: a click does not wipe what the user was typing.
        policy.click(_ask_item, [policy, chat, session, lang], outs[1:] + [tabs])
        tlang.change(lambda v: tables_html(assistant, "en" if v == "English" else "fa"), tlang, tables)
    return app


def ui_auth_from_env(environ=None) -> Optional[tuple[str, str]]:
    """The window's login (user, password) from ASSISTANT_UI_USER / ASSISTANT_UI_PASSWORD; None when neither
    is set. Only one of them set is refused (ValueError): serving without the login its operator meant to
    have is worse than not starting."""
    env = os.environ if environ is None else environ
    user, password = env.get("ASSISTANT_UI_USER"), env.get("ASSISTANT_UI_PASSWORD")
    if user and password:
        return (user, password)
    if user or password:
        missing = "ASSISTANT_UI_PASSWORD" if user else "ASSISTANT_UI_USER"
        raise ValueError(f"the chat window's login needs both ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD; "
                         f"{missing} is not set (unset both for no login)")
    return None


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from .index import open_index

    auth = ui_auth_from_env()  # first: half a login is refused before anything is loaded
    print("preparing the index (first run builds it)…", flush=True)
    assistant = Assistant(settings, open_index(settings))
    assistant.warm_up()
    app = build_app(assistant)
    print(f"chat window: http://{host}:{port}", flush=True)
    from . import webserver

    webserver.launch(app, settings, host, port, auth, css=CSS, head=HEAD)  # headers, login throttle, no uploads
    return 0
