"""Merge the edition parts written section by section into corpus/ (run once per edit).

corpus/parts/{A,B,C,D}_text.json (blocks) and {E,F}_tables.json (tables) ->
corpus/edition.fa.json, corpus/edition.en.json, corpus/tables.json
"""
import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PARTS = CORPUS / "parts"
TITLE_FA = "تحلیل فرصت‌ها و چالش‌های توسعه دیپلماسی شهری در کلانشهر تهران"
TITLE_EN = "An Analysis of the Opportunities and Challenges of Developing City Diplomacy in the Tehran Metropolis"
SECTION_ORDER = ["title", "abstract", "intro", "s1", "s2", "s3", "s4", "s5", "s6", "s6.1", "s6.2", "s6.3", "conclusion"]


def dump(obj, path):
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


blocks = []
for name in ["A_text.json", "B_text.json", "C_text.json", "D_text.json"]:
    blocks += json.loads((PARTS / name).read_text(encoding="utf-8"))
blocks.sort(key=lambda b: SECTION_ORDER.index(b["section"]))  # stable: keeps order inside a section
ids = [b["id"] for b in blocks]
assert len(ids) == len(set(ids)), "duplicate ids"

fa = {"title": TITLE_FA, "language": "fa",
      "note": "Clean Persian edition of the paper, repaired from corpus/paper.extracted.fa.txt.",
      "blocks": []}
en = {"title": TITLE_EN, "language": "en", "translation_of": "edition.fa.json",
      "note": "English translation of the Persian original, aligned by id; not the authors' text.",
      "blocks": []}
for b in blocks:
    extra = {k: b[k] for k in ("src_lines",) if k in b}
    fa["blocks"].append({"id": b["id"], "section": b["section"], "kind": b["kind"], "text": b["fa"],
                         **({"note": b["note_fa"]} if b.get("note_fa") else {}), **extra})
    en["blocks"].append({"id": b["id"], "section": b["section"], "kind": b["kind"], "text": b["en"],
                         **({"note": b["note_en"]} if b.get("note_en") else {})})

tables = []
for name in ["E_tables.json", "F_tables.json"]:
    tables += json.loads((PARTS / name).read_text(encoding="utf-8"))
tables.sort(key=lambda t: t["number"])
dump(fa, CORPUS / "edition.fa.json")
dump(en, CORPUS / "edition.en.json")
dump({"note": "The paper's six tables, one record per logical row; every cell has the Persian "
              "original (fa) and an English translation (en).", "tables": tables},
     CORPUS / "tables.json")
print(len(blocks), "blocks;", [(t["number"], len(t["rows"])) for t in tables])
