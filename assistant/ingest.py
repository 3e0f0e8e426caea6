"""Sources -> Passage records.

- the curated edition in corpus/ (paragraphs with stable ids, and every table row as a
  self-contained sentence in both languages that names its table);
- any PDF through pypdf (page-aware), and plain .txt/.md files, with content-hash ids so
  that ingesting the same file twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import IngestError
from .normalize import clean_display, normalize, persian_digits
from .types import Passage

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PDF_PAGES = 500
CHUNK_CHARS = 700  # PDF/text chunks: about one paragraph of the paper


# ---------------------------------------------------------------- the edition
def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def edition_files(corpus_dir: Path) -> list[Path]:
    return [corpus_dir / "edition.fa.json", corpus_dir / "edition.en.json", corpus_dir / "tables.json"]


# Beside the edition, the data the index is built from: the question keys (embedded and indexed). A change
# to them makes the index stale. (The profile and the calibration are read when answering, not indexed.)
SHAPING_FILES = ("keys.jsonl", "antikeys.jsonl")


def corpus_digest(corpus_dir: Path) -> str:
    h = hashlib.sha256()
    for p in edition_files(corpus_dir):
        h.update(p.read_bytes())
    for name in SHAPING_FILES:
        p = corpus_dir / name
        h.update(name.encode() + (p.read_bytes() if p.is_file() else b""))
    return h.hexdigest()[:16]


def load_edition(corpus_dir: Path) -> list[Passage]:
    fa, en, tables = (_read_json(p) for p in edition_files(corpus_dir))
    passages = list(_edition_paragraphs(fa, en))
    for table in tables["tables"]:
        passages.extend(_table_passages(table))
    return passages


def _edition_paragraphs(fa: dict, en: dict) -> Iterator[Passage]:
    en_by_id = {b["id"]: b for b in en["blocks"]}
    heading, heading_en = fa["title"], en["title"]
    for block in fa["blocks"]:
        twin = en_by_id[block["id"]]
        if block["kind"] == "heading":
            heading, heading_en = block["text"], twin["text"]
            if block["section"] != "title":
                continue
        text, text_en = block["text"], twin["text"]
        if block["kind"] == "figure" and block.get("note"):
            text = f"{text} {block['note']}"
            text_en = f"{text_en} {twin.get('note', '')}".strip()
        yield Passage(
            id=block["id"],
            kind=block["kind"] if block["kind"] != "heading" else "heading",
            section=block["section"],
            heading=heading,
            heading_en=heading_en,
            text=text,
            text_en=text_en,
            source="corpus/edition.fa.json",
        )


def _cell(row: dict, key: str, lang: str) -> str:
    """A cell on one line: its bullets joined by ؛ / ; (a bullet already ending in one keeps just that)."""
    cell = row["cells"].get(key) or {}
    return join_bullets(cell.get(lang) or "", lang)


def join_bullets(text: str, lang: str) -> str:
    sep = "؛" if lang == "fa" else ";"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return " ".join(line if line[-1] in "؛;،,:" or i == len(lines) - 1 else line + sep for i, line in enumerate(lines))


def _table_row_text(table: dict, row: dict, lang: str) -> str:
    """One self-contained sentence per row, naming its table (so it is retrievable alone).

    The table's `row_template` (tables.json) says how its cells read as a sentence after the
    "Table N, row M" head; a table without one reads "label: value; label: value".
    """
    n = table["number"]
    if lang == "fa":
        head = f"جدول {persian_digits(str(n))}، ردیف {persian_digits(str(row['row']))}"
    else:
        head = f"Table {n}, row {row['row']}"
    keys = [col["key"] for col in table["columns"]]
    template = (table.get("row_template") or {}).get(lang)
    if template:
        return head + template.format(**{k: _cell(row, k, lang) for k in keys})
    labels = {col["key"]: col[lang] for col in table["columns"]}
    sep = "؛ " if lang == "fa" else "; "
    return f"{head}: " + sep.join(f"{labels[k]}: {_cell(row, k, lang)}" for k in keys if _cell(row, k, lang))


def _table_passages(table: dict) -> Iterator[Passage]:
    n = table["number"]
    title, title_en = table["title_fa"], table["title_en"]
    summary_fa = " ".join(x for x in [title, table.get("source_fa") or ""] if x)
    summary_en = " ".join(x for x in [title_en, table.get("source_en") or ""] if x)
    yield Passage(
        id=f"t{n}",
        kind="heading",
        section=f"t{n}",
        heading=title,
        heading_en=title_en,
        text=summary_fa,
        text_en=summary_en,
        table=n,
        source="corpus/tables.json",
    )
    for row in table["rows"]:
        yield Passage(
            id=row["id"],
            kind="table_row",
            section=f"t{n}",
            heading=title,
            heading_en=title_en,
            text=_table_row_text(table, row, "fa"),
            text_en=_table_row_text(table, row, "en"),
            table=n,
            row=row["row"],
            source="corpus/tables.json",
            cells=row["cells"],
        )


# ---------------------------------------------------------------- PDFs and plain text
def _content_id(stem: str, text: str) -> str:
    digest = hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem)[:40].strip("-") or "doc"
    return f"doc:{slug}:{digest}"


def _chunks(text: str) -> Iterator[str]:
    """Paragraphs of a page (blank-line separated), hard wraps joined, long ones split at sentences."""
    for para in re.split(r"\n\s*\n", text):
        para = clean_display(re.sub(r"\s*\n\s*", " ", para))
        if len(para) < 25:
            continue
        while len(para) > CHUNK_CHARS:
            cut = max(para.rfind(". ", 0, CHUNK_CHARS), para.rfind("؟ ", 0, CHUNK_CHARS))
            cut = cut + 1 if cut > CHUNK_CHARS // 3 else CHUNK_CHARS
            yield para[:cut].strip()
            para = para[cut:].strip()
        if para:
            yield para


# Control characters (a newline), line separators and bidi overrides in a file name: they would break the
# one-line error messages, the logs and the citations that show the name, or disguise it ("gpj.exe").
_UNSAFE_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _check_name(path: Path) -> None:
    if _UNSAFE_NAME.search(str(path)):
        shown = _UNSAFE_NAME.sub(lambda m: f"\\u{ord(m.group()):04x}", str(path))
        raise IngestError(f"{shown}: the file name contains control or bidi characters; rename the file first")


def _check_file(path: Path) -> None:
    _check_name(path)
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{path}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise IngestError(f"{path}: {size // 2**20} MB is over the {MAX_FILE_BYTES // 2**20} MB limit")


def load_pdf(path: Path, max_pages: int = MAX_PDF_PAGES) -> list[Passage]:
    _check_file(path)
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with path.open("rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise IngestError(f"{path}: not a PDF (no %PDF header)")
    # pypdf logs warnings about a damaged file's structure ("EOF marker not found") to stderr; what
    # matters to the user is the one-line IngestError below, so they are kept quiet while reading.
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise IngestError(f"{path}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)")
        if len(reader.pages) > max_pages:
            raise IngestError(f"{path}: {len(reader.pages)} pages is over the {max_pages}-page limit")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"{path}: the PDF could not be read ({type(exc).__name__}); is it corrupt?") from None
    finally:
        pypdf_log.setLevel(level)
    pages = _repair_digit_order(pages)
    passages = []
    for page_no, text in enumerate(pages, start=1):
        for chunk in _chunks(text):
            passages.append(_doc_passage(path, chunk, page=page_no))
    if not passages:
        raise IngestError(f"{path}: no text layer found (a scanned PDF needs OCR first)")
    return _dedupe(passages)


_FA_NUMBER = re.compile("[۰-۹]{2,}")


def _repair_digit_order(pages: list[str]) -> list[str]:
    """Undo digit runs reversed by right-to-left extraction ("۱۳۹۰" read as "۰۹۳۱").

    Some PDF producers store Persian digits in visual order and the extractor reverses the
    whole right-to-left run, digits included. Years (۱۳xx/۱۴xx solar, ۱۹xx/۲۰xx) tell which
    case a document is: if reversed years outnumber readable ones, every run is reversed back.
    """
    text = " ".join(pages)
    runs = [m.group().translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")) for m in _FA_NUMBER.finditer(text)]
    years = [r for r in runs if len(r) == 4]
    readable = sum(r[:2] in ("13", "14", "19", "20") for r in years)
    reversed_ = sum(r[::-1][:2] in ("13", "14", "19", "20") for r in years)
    if reversed_ <= readable:
        return pages
    return [_FA_NUMBER.sub(lambda m: m.group()[::-1], page) for page in pages]


def load_text(path: Path) -> list[Passage]:
    _check_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise IngestError(f"{path}: not UTF-8 text") from None
    passages = [_doc_passage(path, chunk, page=None) for chunk in _chunks(text)]
    if not passages:
        raise IngestError(f"{path}: no text to ingest")
    return _dedupe(passages)


def _doc_passage(path: Path, chunk: str, page: int | None) -> Passage:
    return Passage(
        id=_content_id(path.stem, chunk),
        kind="paragraph",
        section=f"doc:{path.name}",
        heading=path.name,
        heading_en=path.name,
        text=chunk,
        text_en="",
        page=page,
        source=str(path),
    )


def _dedupe(passages: Iterable[Passage]) -> list[Passage]:
    seen: dict[str, Passage] = {}
    for p in passages:
        seen.setdefault(p.id, p)
    return list(seen.values())


def load_path(path: Path) -> list[Passage]:
    _check_name(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return load_pdf(path)
    if suffix in (".txt", ".md"):
        return load_text(path)
    raise IngestError(f"{path}: unsupported file type {suffix or '(none)'}; use .pdf, .txt or .md")
