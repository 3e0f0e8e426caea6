"""The edition in corpus/: faithful to the extraction, complete, aligned, structured."""

import json
import re
import sys

from conftest import CORPUS

sys.path.insert(0, str(CORPUS))
import coverage  # noqa: E402  (corpus/coverage.py)


def load(name):
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def test_word_coverage_both_directions():
    forward, backward, missing, extra = coverage.coverage()
    print(
        f"\nextraction words found in the edition: {forward:.4f}; edition words found in the extraction: {backward:.4f}"
    )
    assert forward >= 0.97, missing.most_common(30)
    assert backward >= 0.97, extra.most_common(30)


def test_raw_extraction_kept_as_received():
    text = (CORPUS / "paper.extracted.fa.txt").read_text(encoding="utf-8")
    assert text.startswith(" تحلیل فرصت ها و چالش های توسعه دیپلماسی")
    assert "پاســخ" in text  # tatweel and all: provenance, not repaired


def test_every_section_through_the_conclusion_has_a_heading_and_text():
    fa = load("edition.fa.json")
    sections = [b["section"] for b in fa["blocks"]]
    for sec in ["title", "abstract", "intro", "s1", "s2", "s3", "s4", "s5", "s6", "s6.1", "s6.2", "s6.3", "conclusion"]:
        assert f"{sec}.h" in {b["id"] for b in fa["blocks"]}, sec
        assert sec == "title" or sections.count(sec) >= 2, sec
    assert any(b["kind"] == "figure" and "نمودار ۱" in b["text"] for b in fa["blocks"])


def test_ids_unique_stable_format_and_aligned_with_english():
    fa, en = load("edition.fa.json"), load("edition.en.json")
    fa_ids = [b["id"] for b in fa["blocks"]]
    en_ids = [b["id"] for b in en["blocks"]]
    assert len(fa_ids) == len(set(fa_ids))
    assert fa_ids == en_ids
    assert all(re.fullmatch(r"(title|abstract|intro|conclusion|s\d(\.\d)?)\.(h|p\d+|fig\d)", i) for i in fa_ids)
    assert en["translation_of"] == "edition.fa.json" and "translation" in en["note"].lower()
    for b in en["blocks"]:
        assert b["text"] and not re.search("[\u0600-\u06ff]", b["text"]), b["id"]


def test_persian_edition_is_clean():
    fa = load("edition.fa.json")
    for b in fa["blocks"]:
        t = b["text"]
        assert "\u0640" not in t and "ي" not in t and "ك" not in t, b["id"]
        assert "  " not in t, b["id"]
        assert not re.search(r"\s[،.؛:]", t), b["id"]
        assert "کلانشهرتهران" not in t  # running headers dropped
    raw = (CORPUS / "edition.fa.json").read_text(encoding="utf-8")
    assert "\\u06" not in raw  # real UTF-8, not escaped


TABLE_ROWS = {1: 10, 2: 23, 3: 8, 4: 23, 5: 15, 6: 14}


def test_tables_row_counts_and_bilingual_cells():
    tables = {t["number"]: t for t in load("tables.json")["tables"]}
    assert {n: len(t["rows"]) for n, t in tables.items()} == TABLE_ROWS
    for n, t in tables.items():
        assert t["title_fa"].startswith(f"جدول {'۰۱۲۳۴۵۶۷۸۹'[n]}") and t["title_en"].startswith(f"Table {n}")
        keys = {c["key"] for c in t["columns"]}
        for i, row in enumerate(t["rows"], 1):
            assert row["id"] == f"t{n}.r{i}" and row["row"] == i
            assert set(row["cells"]) == keys
            for cell in row["cells"].values():
                assert cell["fa"].strip() and cell["en"].strip()


def cell(table, row, key, lang="en"):
    t = next(t for t in load("tables.json")["tables"] if t["number"] == table)
    return t["rows"][row - 1]["cells"][key][lang]


def test_spot_checks_against_the_extraction():
    assert (cell(2, 16, "city"), cell(2, 16, "country")) == ("Hanoi", "Vietnam")
    assert (cell(2, 16, "city", "fa"), cell(2, 16, "country", "fa")) == ("هانوی", "ویتنام")
    assert "FMDV" in cell(1, 5, "organisation")
    reach = cell(1, 5, "reach", "fa")
    assert "سی شهر" in reach and "هفت سازمان" in reach
    assert "184" in cell(1, 10, "reach") and "IMF" in cell(1, 10, "organisation")
    assert "۵۵۵۱" in cell(1, 9, "reach", "fa")
    assert cell(2, 20, "city") == "Kabul" and "cooperation" in cell(2, 20, "agreement").lower()
    assert [cell(2, r, "city") for r in (18, 19)] == ["Damascus", "Tunis"]
    assert "consultation" in cell(2, 18, "agreement").lower()
    assert "Mayor of Tehran" in cell(3, 6, "analysis")
    extraction = (CORPUS / "paper.extracted.fa.txt").read_text(encoding="utf-8")
    assert "هانوی ویتنام 16" in extraction and "سی شهر از سراسر جهان" in extraction


def test_table_groups():
    tables = {t["number"]: t for t in load("tables.json")["tables"]}
    groups = lambda n, key: [r["cells"][key]["en"] for r in tables[n]["rows"]]  # noqa: E731
    t4 = groups(4, "axis")
    assert [sum(k in g.lower() for g in t4) for k in ("shortcoming", "advantage", "necessit")] == [9, 7, 7]
    t5 = groups(5, "kind")
    assert (t5.count("Opportunity"), t5.count("Challenge")) == (9, 6)
    t6 = [g.lower() for g in groups(6, "kind")]
    assert sum("recommendation" in g for g in t6) == 7 and sum("result" in g for g in t6) == 7


def test_pdf_is_a_real_rendering_of_the_edition():
    from pypdf import PdfReader

    reader = PdfReader(str(CORPUS / "paper.fa.pdf"))
    assert len(reader.pages) >= 10
    assert "HeadlessChrome" in reader.metadata.get("/Creator", "") and "Skia" in reader.metadata.get("/Producer", "")
    fonts = {
        str(f.get_object().get("/BaseFont"))
        for page in reader.pages[:3]
        for f in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("Naskh" in f or "Nazli" in f for f in fonts), fonts  # a real Persian font is embedded
