"""The Recommendations tab, a policymaker's tool: the paper's table rows that are recommendations,
expected results, opportunities, challenges, shortcomings, advantages or necessities, filtered by kind
and by search; each item opens a card with what the paper relates to it (found by the assistant's own
retrieval, every line cited); the selected items export as a bilingual policy brief (Markdown or PDF).

Which table holds which kind comes from the data: corpus/profile.json's table roles (group column and
groups) when there is a profile, otherwise the English cells of each table's grouping column ("Policy
recommendation", "Opportunity", "Shortcomings of Tehran …").
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from collections import OrderedDict
from pathlib import Path

from ..normalize import normalize, persian_digits
from ..retrieve import Filters
from ..types import Citation, Passage
from .brief_pdf import CHROMIUM, brief_html, markdown_to_pdf  # noqa: F401 - CHROMIUM, brief_html: imported from here
from .export import download_payload
from .sources import where
from .text import h

# kind -> (English label, Persian label, words that mark it in an English group cell)
KINDS: OrderedDict[str, tuple[str, str, tuple[str, ...]]] = OrderedDict(
    [
        ("recommendation", ("Recommendation", "توصیه سیاستی", ("recommendation",))),
        ("result", ("Expected result", "نتیجه مورد انتظار", ("result",))),
        ("opportunity", ("Opportunity", "فرصت", ("opportunit",))),
        ("challenge", ("Challenge", "چالش", ("challenge",))),
        ("shortcoming", ("Shortcoming", "کاستی", ("shortcoming",))),
        ("advantage", ("Advantage", "مزیت", ("advantage",))),
        ("necessity", ("Necessity", "ضرورت", ("necessit",))),
    ]
)
# What a card shows for an item of each kind: (heading en, heading fa, kinds) sections, then the paragraphs.
RELATED: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "recommendation": [
        ("Expected results", "نتایج مورد انتظار", ("result",)),
        ("Related necessities and challenges", "ضرورت‌ها و چالش‌های مرتبط", ("necessity", "challenge", "shortcoming")),
    ],
    "result": [("Recommendations that lead to it", "توصیه‌هایی که به آن می‌انجامد", ("recommendation",))],
    "opportunity": [
        ("Related recommendations", "توصیه‌های مرتبط", ("recommendation",)),
        ("Related advantages", "مزیت‌های مرتبط", ("advantage",)),
    ],
    "challenge": [
        ("Recommendations that answer it", "توصیه‌هایی که به آن پاسخ می‌دهد", ("recommendation",)),
        ("Related shortcomings", "کاستی‌های مرتبط", ("shortcoming",)),
    ],
    "shortcoming": [
        ("Recommendations that answer it", "توصیه‌هایی که به آن پاسخ می‌دهد", ("recommendation",)),
        ("Related necessities", "ضرورت‌های مرتبط", ("necessity",)),
    ],
    "advantage": [
        ("Opportunities it supports", "فرصت‌های مرتبط", ("opportunity",)),
        ("Related recommendations", "توصیه‌های مرتبط", ("recommendation",)),
    ],
    "necessity": [
        ("Recommendations that meet it", "توصیه‌هایی که آن را برآورده می‌کند", ("recommendation",)),
        ("Expected results", "نتایج مورد انتظار", ("result",)),
    ],
}
PER_SECTION = 3
PARAGRAPHS = 3


def kind_of_group(label_en: str) -> str | None:
    """The kind an English group cell names ("Policy recommendation" -> recommendation), or None."""
    low = (label_en or "").lower()
    for kind, (_en, _fa, words) in KINDS.items():
        if any(w in low for w in words):
            return kind
    return None


Profile = dict  # table number -> (group column, [(words of the English group cell, kind)])


def profile_kinds(corpus: Path) -> Profile:
    """The tables' groups as corpus/profile.json names them (`tables[].group_column` and `groups[]` with an id
    and the English words of the group cell, `match_en`); only groups whose id is one of KINDS. Empty when
    there is no profile: the kinds are then read from the group cells themselves."""
    try:
        data = json.loads((corpus / "profile.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: Profile = {}
    for t in (data.get("tables") or []) if isinstance(data, dict) else []:
        groups = [
            (str(g.get("match_en", "")).lower(), str(g.get("id")))
            for g in t.get("groups") or []
            if isinstance(g, dict) and g.get("id") in KINDS and g.get("match_en")
        ]
        if groups and t.get("group_column") and isinstance(t.get("table"), int):
            out[t["table"]] = (str(t["group_column"]), groups)
    return out


def items_from(passages: list[Passage], profile: Profile | None = None) -> list[dict]:
    """Every table row whose group is one of KINDS, recommendations first, then in table and row order."""
    profile = profile or {}
    by_table: dict[int, list[Passage]] = {}
    for p in passages:
        if p.kind == "table_row" and p.table and p.cells:
            by_table.setdefault(p.table, []).append(p)
    out = []
    for table, rows in sorted(by_table.items()):
        keys = list(rows[0].cells)
        if profile:
            if table not in profile:
                continue
            group_key, groups = profile[table]
        else:
            # the grouping column: the one with the fewest distinct values, repeated down the table
            distinct = {k: len({(r.cells.get(k) or {}).get("en", "") for r in rows}) for k in keys}
            group_key, groups = min(keys, key=lambda k: distinct[k]), None
            if distinct[group_key] * 2 > len(rows):
                continue  # no column repeats: not a grouped table
        for p in sorted(rows, key=lambda r: r.row or 0):
            group = p.cells.get(group_key) or {}
            label = group.get("en", "")
            kind = (
                next((k for words, k in groups if words in label.lower()), None)
                if groups is not None
                else kind_of_group(label)
            )
            if kind is None:
                continue
            others = [k for k in keys if k != group_key]
            item_key = max(others, key=lambda k: len((p.cells.get(k) or {}).get("fa", ""))) if others else group_key
            item = p.cells.get(item_key) or {}
            out.append(
                {
                    "id": p.id,
                    "table": table,
                    "row": p.row,
                    "kind": kind,
                    "group_fa": group.get("fa", ""),
                    "group_en": label,
                    "fa": item.get("fa", ""),
                    "en": item.get("en", ""),
                    "passage": p,
                }
            )
    order = list(KINDS)  # recommendations first: the list is read as a policymaker's agenda
    return sorted(out, key=lambda it: (order.index(it["kind"]), it["table"], it["row"] or 0))


def filter_items(items: list[dict], query: str = "", kinds: list[str] | None = None) -> list[dict]:
    """Items of the chosen kinds (all when none chosen) whose text contains `query` in either language
    (Persian normalized: digits, ZWNJ, Arabic letters)."""
    q = normalize(query or "")
    wanted = set(kinds or []) or set(KINDS)
    return [
        it
        for it in items
        if it["kind"] in wanted
        and (not q or q in normalize(" ".join([it["fa"], it["en"], it["group_fa"], it["group_en"]])))
    ]


def _cite(p: Passage, n: int) -> Citation:
    return Citation(
        n=n,
        id=p.id,
        kind=p.kind,
        section=p.section,
        table=p.table,
        row=p.row,
        page=p.page,
        text=p.text,
        text_en=p.text_en,
        heading=p.heading,
        heading_en=p.heading_en,
    )


class Recommendations:
    def __init__(self, assistant, handlers):
        self.assistant = assistant
        self.handlers = handlers
        self.items = items_from(assistant.store.passages, profile_kinds(assistant.settings.corpus_dir))
        self.by_id = {it["id"]: it for it in self.items}
        self.tables_of = {k: sorted({it["table"] for it in self.items if it["kind"] == k}) for k in KINDS}
        self._cards: dict[str, dict] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------- the list
    def list_html(self, query: str = "", kinds: list[str] | None = None) -> str:
        shown = filter_items(self.items, query, [self._kind_value(k) for k in (kinds or [])])
        if not shown:
            return '<p class="tr">Nothing matches. · <bdi lang="fa" dir="rtl">موردی پیدا نشد.</bdi></p>'
        rows = []
        for it in shown:
            en_k, fa_k, _ = KINDS[it["kind"]]
            rows.append(
                f'<li class="rec-item kind-{it["kind"]}" data-id="{h(it["id"])}">'
                f'<label class="rec-select"><input type="checkbox" class="rec-check" value="{h(it["id"])}" '
                f'aria-label="Select for the brief · انتخاب برای گزارش"></label>'
                f'<button type="button" class="rec-open" data-id="{h(it["id"])}">'
                f'<span class="kind-tag">{h(en_k)} · <bdi lang="fa">{h(fa_k)}</bdi></span>'
                f'<span class="rec-fa" dir="rtl" lang="fa">{h(it["fa"])}</span>'
                f'<span class="rec-en" dir="ltr" lang="en">{h(it["en"])}</span>'
                f'<span class="rec-where">Table {it["table"]}, row {it["row"]} · '
                f'<bdi lang="fa">جدول {persian_digits(str(it["table"]))}، ردیف {persian_digits(str(it["row"]))}</bdi>'
                f"</span></button></li>"
            )
        return (
            f'<p class="rec-count" role="status">{len(shown)} items · '
            f'<bdi lang="fa" dir="rtl">{persian_digits(str(len(shown)))} مورد</bdi></p>'
            f'<ul class="rec-list">{"".join(rows)}</ul>'
        )

    @staticmethod
    def _kind_value(choice: str) -> str:
        for kind, (en, fa, _w) in KINDS.items():
            if choice in (kind, en, fa, f"{en} · {fa}"):
                return kind
        return choice

    @staticmethod
    def kind_choices() -> list[tuple[str, str]]:
        return [(f"{en} · {fa}", kind) for kind, (en, fa, _w) in KINDS.items()]

    # -------------------------------------------------------------- a card
    def related(self, item_id: str) -> dict | None:
        """{item, sections: [(en, fa, [passages])], paragraphs: [passages]}, found by retrieval on the item's
        Persian and English text, kept per item (the index does not change what a row relates to often)."""
        item = self.by_id.get(item_id)
        if item is None:
            return None
        with self._lock:
            if item_id in self._cards:
                return self._cards[item_id]
        retriever = self.assistant.retriever
        query = f"{item['fa']} {item['en']}"
        sections = []
        # The paper repeats some rows word for word in two tables (a result that is also a necessity): each
        # text is shown once per card, under the first heading that finds it.
        shown = {normalize(item["fa"])}
        for en, fa, kinds in RELATED.get(item["kind"], []):
            found: list[tuple[float, Passage]] = []
            for table in sorted({t for k in kinds for t in self.tables_of.get(k, [])}):
                for hit in retriever.search(query, k=12, filters=Filters(table=table)):
                    other = self.by_id.get(hit.passage.id)
                    if other and other["kind"] in kinds and other["id"] != item_id:
                        found.append((hit.score, hit.passage))
            found.sort(key=lambda x: -x[0])
            seen, chosen = set(), []
            for _s, p in found:
                text = normalize(self.by_id[p.id]["fa"])
                if p.id not in seen and text not in shown:
                    seen.add(p.id)
                    shown.add(text)
                    chosen.append(p)
            sections.append((en, fa, chosen[:PER_SECTION]))
        paragraphs = [hit.passage for hit in retriever.search(query, k=PARAGRAPHS, filters=Filters(kind="paragraph"))]
        card = {"item": item, "sections": sections, "paragraphs": paragraphs}
        with self._lock:
            self._cards[item_id] = card
        return card

    def numbered(self, card: dict) -> list[tuple[Passage, int]]:
        """Every passage of a card with its citation number, the item's own row first."""
        out: list[tuple[Passage, int]] = []
        ids: dict[str, int] = {}
        for p in [card["item"]["passage"]] + [p for _e, _f, ps in card["sections"] for p in ps] + card["paragraphs"]:
            if p.id not in ids:
                ids[p.id] = len(ids) + 1
                out.append((p, ids[p.id]))
        return out

    def card_html(self, item_id: str) -> str:
        card = self.related(item_id)
        if card is None:
            return ""
        item = card["item"]
        nums = {p.id: n for p, n in self.numbered(card)}
        en_k, fa_k, _ = KINDS[item["kind"]]
        msg = f"rec-{item_id.replace('.', '-')}"

        def line(p: Passage) -> str:
            other = self.by_id.get(p.id)
            fa_t = other["fa"] if other else p.text
            en_t = other["en"] if other else p.text_en
            n = nums[p.id]
            return (
                f'<li><span class="rec-fa" dir="rtl" lang="fa">{h(fa_t)} '
                f'<a class="cite" href="#{msg}-s{n}" data-msg="{msg}" data-n="{n}">[{n}]</a></span>'
                f'<span class="rec-en" dir="ltr" lang="en">{h(en_t)} '
                f'<a class="cite" href="#{msg}-s{n}" data-msg="{msg}" data-n="{n}">[{n}]</a></span></li>'
            )

        parts = [
            f'<article class="rec-card" id="{msg}" aria-label="{h(en_k)}: {h(item["en"])}">'
            f'<div class="kind-tag">{h(en_k)} · <bdi lang="fa">{h(fa_k)}</bdi></div>'
            f'<h3 class="rec-fa" dir="rtl" lang="fa">{h(item["fa"])} <a class="cite" href="#{msg}-s1" '
            f'data-msg="{msg}" data-n="1">[1]</a></h3>'
            f'<p class="rec-en" dir="ltr" lang="en"><b>{h(item["en"])}</b> '
            f'<a class="cite" href="#{msg}-s1" data-msg="{msg}" data-n="1">[1]</a></p>'
        ]
        for en, fa, ps in card["sections"]:
            parts.append(f'<h4>{h(en)} · <bdi lang="fa" dir="rtl">{h(fa)}</bdi></h4>')
            parts.append(
                "<ul>" + "".join(line(p) for p in ps) + "</ul>"
                if ps
                else '<p class="tr">None found. · <bdi lang="fa">یافت نشد.</bdi></p>'
            )
        parts.append('<h4>Where the paper argues for it · <bdi lang="fa" dir="rtl">استدلال مقاله</bdi></h4><ul>')
        for p in card["paragraphs"]:
            n = nums[p.id]
            parts.append(
                f'<li><span class="rec-fa" dir="rtl" lang="fa">{h(_excerpt(p.text))} '
                f'<a class="cite" href="#{msg}-s{n}" data-msg="{msg}" data-n="{n}">[{n}]</a></span>'
                f'<span class="rec-en" dir="ltr" lang="en">{h(_excerpt(p.text_en))}</span></li>'
            )
        parts.append("</ul>")
        cards = "".join(self.handlers.card(_cite(p, n), msg) for p, n in self.numbered(card))
        parts.append(
            f'<details class="sources" id="{msg}-sources" open><summary>Sources · '
            f'<bdi lang="fa" dir="rtl">منابع</bdi></summary>{cards}</details></article>'
        )
        return "".join(parts)

    # -------------------------------------------------------------- the policy brief
    def brief_markdown(self, ids: list[str]) -> str | None:
        items = [i for i in ids if i in self.by_id]
        if not items:
            return None
        today = _dt.date.today().isoformat()
        lines = [
            "# Policy brief: city diplomacy in Tehran",
            "# گزارش سیاستی: دیپلماسی شهری در کلانشهر تهران",
            "",
            f"From the paper «تحلیل فرصت‌ها و چالش‌های توسعه دیپلماسی شهری در کلانشهر تهران» ({today}). "
            "Persian is the paper's text; English is the project's translation. Numbers in brackets cite "
            "the sources listed at the end.",
            "",
        ]
        sources: OrderedDict[str, Passage] = OrderedDict()

        def n_of(p: Passage) -> int:
            if p.id not in sources:
                sources[p.id] = p
            return list(sources).index(p.id) + 1

        for item_id in items:
            card = self.related(item_id)
            assert card is not None  # every id in `items` is a known item
            it = card["item"]
            en_k, fa_k, _ = KINDS[it["kind"]]
            n = n_of(it["passage"])
            lines += [f"## {it['en']} [{n}]", "", f"**{fa_k}** — {it['fa']} [{n}]", "", f"*{en_k}*", ""]
            for en, fa, ps in card["sections"]:
                if not ps:
                    continue
                lines += [f"### {en} · {fa}", ""]
                for p in ps:
                    o = self.by_id.get(p.id, {})
                    k = n_of(p)
                    lines += [f"- {o.get('fa', p.text)} [{k}]", f"  - {o.get('en', p.text_en)} [{k}]"]
                lines.append("")
            if card["paragraphs"]:
                lines += ["### Where the paper argues for it · استدلال مقاله", ""]
                for p in card["paragraphs"]:
                    k = n_of(p)
                    lines += [f"- {_excerpt(p.text)} [{k}]", f"  - {_excerpt(p.text_en)} [{k}]"]
                lines.append("")
        lines += ["## Sources · منابع", ""]
        for i, (pid, p) in enumerate(sources.items(), 1):
            en, fa = where(_cite(p, i), self.handlers.table_titles)
            page = self.handlers.pages.page_of(p.id, p.text, p.cells)
            lines.append(f"{i}. {en} · {fa}" + (f" — page {page} of paper.fa.pdf" if page else "") + f" (`{pid}`)")
        return "\n".join(lines) + "\n"

    def brief(self, ids: list[str], fmt: str) -> tuple[str, str]:
        text = self.brief_markdown(ids)
        if text is None:
            return "", "Select items first (the boxes beside them). · ابتدا موردهایی را انتخاب کنید.\u200f"
        if fmt == "md":
            return (
                download_payload("policy-brief.md", "text/markdown", text.encode("utf-8")),
                "Policy brief exported (Markdown). · گزارش سیاستی ذخیره شد.\u200f",
            )
        try:
            pdf = markdown_to_pdf(text)
        except Exception as exc:  # noqa: BLE001 - the Markdown still works; one line for the operator
            import logging

            logging.getLogger(__name__).error("brief PDF failed: %s", f"{type(exc).__name__}: {exc}"[:300])
            return "", "The PDF could not be made here; the Markdown export works. · ساخت PDF ممکن نشد.\u200f"
        return (
            download_payload("policy-brief.pdf", "application/pdf", pdf),
            "Policy brief exported (PDF). · گزارش سیاستی (PDF) ذخیره شد.\u200f",
        )


def _excerpt(text: str, limit: int = 420) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
