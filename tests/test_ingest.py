"""Ingestion: the edition into Passages, a real PDF through pypdf, plain text, and bad files."""

import collections
import sys
from pathlib import Path

import pytest
from conftest import CORPUS

from assistant.ingest import IngestError, load_edition, load_path, load_pdf, load_text

sys.path.insert(0, str(CORPUS))
import coverage  # noqa: E402


def test_edition_passages_have_stable_ids_and_both_languages():
    passages = load_edition(CORPUS)
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))
    rows = [p for p in passages if p.kind == "table_row"]
    assert len(rows) == 93
    assert all(p.text and p.text_en for p in passages)
    assert {"s6.2.p2", "t2.r16", "abstract.p1", "conclusion.p10", "s5.fig1"} <= set(ids)


def test_table_row_is_a_self_contained_sentence_naming_its_table():
    by_id = {p.id: p for p in load_edition(CORPUS)}
    row = by_id["t2.r16"]
    assert row.text_en == "Table 2, row 16: Hanoi (Vietnam) — Sister-city agreement"
    assert row.text.startswith("جدول ۲، ردیف ۱۶: هانوی (ویتنام)")
    assert (row.table, row.row, row.section) == (2, 16, "t2")
    assert by_id["t5.r10"].text_en.startswith("Table 5, row 10 (Challenge):")


def test_pdf_through_pypdf_recovers_the_edition():
    passages = load_pdf(CORPUS / "paper.fa.pdf")
    assert {p.page for p in passages} >= set(range(1, 11))  # page-aware
    got = collections.Counter(w for p in passages for w in coverage.words(p.text))
    want = collections.Counter(coverage.edition_words())
    recovered = sum((got & want).values()) / sum(want.values())
    print(f"\nshare of the edition's words recovered from the PDF by pypdf: {recovered:.4f}")
    assert recovered >= 0.95
    text = " ".join(p.text for p in passages)
    assert "۱۳۷۳" in text and "۳۷۳۱" not in text  # digit runs repaired after right-to-left extraction
    assert "\ufeed" not in text and "\ufe8e" not in text  # presentation forms normalized


def test_pdf_ids_are_content_hashes(tmp_path):
    a = load_pdf(CORPUS / "paper.fa.pdf")
    copy = tmp_path / "paper.fa.pdf"
    copy.write_bytes((CORPUS / "paper.fa.pdf").read_bytes())
    b = load_pdf(copy)
    assert [p.id for p in a] == [p.id for p in b]


def test_plain_text_and_markdown(tmp_path):
    f = tmp_path / "note.md"
    f.write_text(
        "# یادداشت\n\nتهران با شهرهای زیادی همکاری دارد و این همکاری‌ها گسترش می‌یابد.\n\n"
        "A second paragraph, in English, long enough to keep.\n",
        encoding="utf-8",
    )
    passages = load_text(f)
    assert [p.text for p in passages] == [
        "تهران با شهرهای زیادی همکاری دارد و این همکاری‌ها گسترش می‌یابد.",
        "A second paragraph, in English, long enough to keep.",
    ]


def _pdf_with_blank_page(path: Path, encrypt: bool = False) -> Path:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    if encrypt:
        w.encrypt("secret")
    with path.open("wb") as fh:
        w.write(fh)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "empty.pdf").write_bytes(b"") and d / "empty.pdf" or d / "empty.pdf", "empty"),
        (lambda d: (d / "fake.pdf").write_text("hello, not a pdf") and d / "fake.pdf", "not a PDF"),
        (
            lambda d: (
                (d / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage") and d / "broken.pdf"
            ),
            "could not be read",
        ),
        (lambda d: _pdf_with_blank_page(d / "scan.pdf"), "no text layer"),
        (lambda d: _pdf_with_blank_page(d / "locked.pdf", encrypt=True), "encrypted"),
        (lambda d: d / "missing.pdf", "no such file"),
        (lambda d: (d / "data.docx").write_bytes(b"PK") and d / "data.docx", "unsupported file type"),
        (lambda d: (d / "latin1.txt").write_bytes("caf\xe9".encode("latin-1")) and d / "latin1.txt", "not UTF-8"),
    ],
)
def test_bad_files_give_one_clear_reason(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(IngestError) as exc:
        load_path(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)
