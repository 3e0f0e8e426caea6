"""Reading a test set: our JSONL (gold passage ids, key facts) or a team's spreadsheet (CSV or XLSX) of
questions with plain-words reference answers. Every problem is an EvalInputError with a one-line message
that names the file (and the row, where there is one)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from ..errors import EvalInputError
from ..normalize import clean_display, normalize

SUFFIXES = (".csv", ".xlsx", ".jsonl")
# Spellings of a column name that people use; compared after lower-casing and trimming.
COLUMNS = {
    "question": ("question", "questions", "پرسش", "سوال", "سؤال"),
    "reference": ("reference", "reference answer", "expected", "expected answer", "پاسخ مرجع"),
    "id": ("id", "شناسه"),
    "lang": ("lang", "language", "زبان"),
    "history": ("history", "previous", "تاریخچه"),
    "answerable": ("answerable", "پاسخ‌پذیر", "پاسخ پذیر"),
}
_YES = {"yes", "y", "true", "1", "بله", "آری", "درست"}
_NO = {"no", "n", "false", "0", "خیر", "نه", "نادرست"}
# A reference in plain words that says the paper has no answer (matched on the normalized text).
_UNANSWERABLE = re.compile(
    r"^\s*(?:n/?a|none|-+|—|unanswerable)\s*\.?\s*$"
    r"|\bnot (?:in|answered (?:in|by)|stated in|covered (?:in|by)) the paper\b"
    r"|\bthe paper (?:does not|doesn't|does n't) (?:answer|say|state|mention|cover)\b"
    r"|مقاله (?:به این پرسش )?پاسخ نمی ?دهد|در مقاله (?:نیامده|نیست)|مقاله (?:در این باره |درباره این )?چیزی نمی ?گوید"
)


def says_unanswerable(reference: str) -> bool:
    return bool(reference) and bool(_UNANSWERABLE.search(normalize(reference)))


def read_questions(path: Path, max_rows: int | None = None) -> list[dict]:
    """Items as dicts: {"id", "question", "lang"?, "history"?, "answerable"?, "reference"?, ...}."""
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise EvalInputError(f"{path.name}: unknown kind of file; use .csv, .xlsx or .jsonl")
    if suffix == ".jsonl":
        items = _read_jsonl(path)
    else:
        rows = _csv_rows(path) if suffix == ".csv" else _xlsx_rows(path)
        items = _items_from_rows(path, rows)
    if not items:
        raise EvalInputError(f"{path.name}: no questions in the file")
    if max_rows is not None and len(items) > max_rows:
        raise EvalInputError(f"{path.name}: {len(items)} questions; the limit is {max_rows}")
    seen: set[str] = set()
    for it in items:
        if it["id"] in seen:
            raise EvalInputError(f"{path.name}: the id {it['id']!r} is used twice")
        seen.add(it["id"])
    return items


# ---------------------------------------------------------------------- JSONL (our format)
def _read_jsonl(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(_decode(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise EvalInputError(f'{path}:{n}: each line needs a "question" string')
        item.setdefault("id", f"line{n}")
        item["id"] = str(item["id"])
        if isinstance(item.get("reference"), str) and "answerable" not in item and says_unanswerable(item["reference"]):
            item["answerable"] = False
        items.append(item)
    return items


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as exc:
        raise EvalInputError(
            f'{path.name}: not UTF-8 text (bad byte at position {exc.start}); save it as "CSV UTF-8" or as .xlsx'
        ) from None


# ---------------------------------------------------------------------- spreadsheets
def _csv_rows(path: Path) -> list[list[str]]:
    text = _decode(path)
    if not text.strip():
        raise EvalInputError(f"{path.name}: the file is empty")
    first = text.splitlines()[0]
    # Comma by default; a semicolon (Excel in continental locales) or tab when the header line is split by one.
    delimiter = max([",", ";", "\t"], key=lambda d: (first.count(d), d == ","))
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise EvalInputError(f"{path.name}: not a readable CSV file ({exc})") from None


def _xlsx_rows(path: Path) -> list[list[str]]:
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a dependency of the package
        raise EvalInputError("reading .xlsx needs openpyxl (pip install openpyxl)") from None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, XML or format errors all mean the same to the user
        raise EvalInputError(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(
                ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            )
        return rows
    finally:
        wb.close()


def _items_from_rows(path: Path, rows: list[list[str]]) -> list[dict]:
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise EvalInputError(f"{path.name}: the file is empty")
    header = [clean_display(str(h)).lower() for h in rows[0]]
    where: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in names and key not in where:
                where[key] = i
    if "question" not in where:
        raise EvalInputError(
            f'{path.name}: no "question" column (the first row must name the columns: '
            f"question, reference, and optionally id, lang, history, answerable)"
        )
    if "reference" not in where and "answerable" not in where:
        raise EvalInputError(f'{path.name}: no "reference" column (the reference answer in plain words)')
    return [_item_from_row(path, where, n, row) for n, row in enumerate(rows[1:], 2)]


def _item_from_row(path: Path, where: dict[str, int], n: int, row: list[str]) -> dict:
    """One test item from one spreadsheet row (n: its 1-based row number, for the error message)."""

    def cell(key: str) -> str:
        i = where.get(key)
        return clean_display(str(row[i])) if i is not None and i < len(row) else ""

    question = cell("question")
    if not question:
        raise EvalInputError(f"{path.name}: row {n} has no question")
    item: dict = {"id": cell("id") or f"row{n}", "question": question, "reference": cell("reference")}
    lang = cell("lang").lower()
    if lang:
        if lang not in ("fa", "en"):
            raise EvalInputError(f"{path.name}: row {n}: lang must be fa or en, not {lang!r}")
        item["lang"] = lang
    flag = cell("answerable").lower()
    if flag:
        if flag not in _YES | _NO:
            raise EvalInputError(f"{path.name}: row {n}: answerable must be yes or no, not {flag!r}")
        item["answerable"] = flag in _YES
    elif says_unanswerable(item["reference"]):
        item["answerable"] = False
    else:
        item["answerable"] = True
    if item["answerable"] and not item["reference"]:
        raise EvalInputError(
            f'{path.name}: row {n} has no reference answer (write "not in the paper" when the paper does not answer it)'
        )
    history = cell("history")
    if history:
        item["history"] = _history(path, n, history)
    return item


def _history(path: Path, n: int, text: str) -> list[dict]:
    """A JSON list of {"role", "content"} turns, or plain text: the earlier question(s), one per line."""
    if text.startswith("["):
        try:
            turns = json.loads(text)
        except json.JSONDecodeError:
            raise EvalInputError(f"{path.name}: row {n}: history is not valid JSON") from None
        if not (
            isinstance(turns, list)
            and all(
                isinstance(t, dict) and isinstance(t.get("content"), str) and t.get("role") in ("user", "assistant")
                for t in turns
            )
        ):
            raise EvalInputError(f'{path.name}: row {n}: history must be a list of {{"role", "content"}} turns')
        return turns
    return [{"role": "user", "content": line.strip()} for line in text.splitlines() if line.strip()]
