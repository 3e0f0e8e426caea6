"""Fault injection on a real index (a copy of the session index, with an ingested document and a feedback
file): every kind of damage is detected, reported in one line and repaired without losing the ingested
document, the feedback or anything outside the index; where repair is impossible (read-only, disk full,
a silent Chroma server) one line names the fix. Also the boundary checks that go with it: settings from
flags and ASSISTANT_* variables, escape sequences in questions, `ask -` reading a bounded amount.
Everything runs for real (Chroma, the bundled model, the CLI in a subprocess); the one stand-in is named
FakePanicException below."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, run_cli

from assistant.errors import IndexDamaged, SettingsError
from assistant.index import add_documents, build, status

DOC_TEXT = (
    "Zanzibar ferry note: the Tehran municipality's ferry working group agreed with Zanzibar on a summer "
    "exchange of 40 river engineers, to begin after the monsoon season.\n"
)
DOC_Q = "How many river engineers will Zanzibar exchange with Tehran's ferry working group?"
VIETNAM = "Which city in Vietnam is Tehran's sister city?"
FEEDBACK = '{"question": "q", "answer": "a", "rating": "up"}\n'


def report_lines(out) -> list[str]:
    """The CLI's stderr: `assistant: ...` lines only, no traceback, nothing else."""
    err = out.stderr.decode("utf-8", "replace")
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert all(line.startswith("assistant: ") for line in lines), err
    return lines


def tree(root: Path, skip: Path) -> dict:
    """Every file under `root` except inside `skip`, by path: size and content hash."""
    out = {}
    for p in sorted(root.rglob("*")):
        if skip == p or skip in p.parents:
            continue
        out[str(p)] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()) if p.is_file() else "dir"
    return out


def doc_found(out) -> bool:
    """`search --section doc:… --json`: the ingested document's passage is found for its question, by its
    vectors and its words, in the repaired index. (Retrieval restricted to the document, not the answer:
    whether a question about an ingested note is answered, and how it ranks against the paper's keyed
    passages, belongs to the answering chain; what a repair must keep is the document, findable.)"""
    return any(row["id"].startswith("doc:zanzibar-note:") for row in json.loads(out.stdout))


# ---------------------------------------------------------------------- the index under test
@pytest.fixture(scope="module")
def template(tmp_path_factory, settings, store):
    """The session index + one ingested .txt document + a feedback file inside the index folder."""
    root = tmp_path_factory.mktemp("faults-template")
    index = root / "index"
    shutil.copytree(settings.index_dir, index, ignore=shutil.ignore_patterns(".lock", "feedback.jsonl"))
    s = settings.with_overrides(index_dir=index, feedback_file=index / "feedback.jsonl")
    doc = root / "docs" / "zanzibar-note.txt"
    doc.parent.mkdir()
    doc.write_text(DOC_TEXT, encoding="utf-8")
    assert add_documents(s, [doc])["added"] == 1
    (index / "feedback.jsonl").write_text(FEEDBACK, encoding="utf-8")
    return s, doc


@pytest.fixture()
def damaged(tmp_path, template):
    """A fresh copy of the template, a sentinel folder beside it, and the document where it was."""
    src, doc = template
    index = tmp_path / "index"
    shutil.copytree(src.index_dir, index)
    (tmp_path / "sentinel").mkdir()
    (tmp_path / "sentinel" / "keep.txt").write_text("not the index's to delete", encoding="utf-8")
    s = src.with_overrides(index_dir=index, feedback_file=index / "feedback.jsonl")
    return s, tmp_path


def _version(s) -> Path:
    return s.index_dir / (s.index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def _cut(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _random_after_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:100] + os.urandom(len(data) - 100))


DAMAGE = [
    # (case, how, words the one report line must hold)
    ("current_empty", lambda s, t: (s.index_dir / "CURRENT").write_text(""), "CURRENT is corrupt"),
    ("current_dot", lambda s, t: (s.index_dir / "CURRENT").write_text("."), "CURRENT is corrupt"),
    (
        "current_absolute_path",
        lambda s, t: (s.index_dir / "CURRENT").write_text(str(t / "sentinel")),
        "CURRENT is corrupt",
    ),
    ("current_parent_path", lambda s, t: (s.index_dir / "CURRENT").write_text("../sentinel"), "CURRENT is corrupt"),
    (
        "current_invalid_utf8",
        lambda s, t: (s.index_dir / "CURRENT").write_bytes(b"v-\xff\xfe\xfd"),
        "CURRENT is corrupt (not UTF-8",
    ),
    ("current_missing", lambda s, t: (s.index_dir / "CURRENT").unlink(), "CURRENT is missing"),
    ("version_folder_removed", lambda s, t: shutil.rmtree(_version(s)), "named in index/CURRENT is missing"),
    (
        "manifest_garbage",
        lambda s, t: (_version(s) / "manifest.json").write_bytes(os.urandom(300)),
        "is damaged (manifest.json",
    ),
    ("passages_missing", lambda s, t: (_version(s) / "passages.jsonl").unlink(), "is damaged (passages.jsonl: missing"),
    ("passages_cut", lambda s, t: _cut(_version(s) / "passages.jsonl"), "is damaged (passages.jsonl"),
    (
        "sqlite_truncated",
        lambda s, t: _cut(_version(s) / "chroma" / "chroma.sqlite3"),
        "is damaged (its vector database",
    ),
    (
        "sqlite_random_bytes",
        lambda s, t: _random_after_header(_version(s) / "chroma" / "chroma.sqlite3"),
        "is damaged (its vector database",
    ),
    (
        "sqlite_overwritten",
        lambda s, t: (_version(s) / "chroma" / "chroma.sqlite3").write_bytes(os.urandom(4096)),
        "is damaged (chroma/chroma.sqlite3 is not a database",
    ),
]


@pytest.mark.parametrize("case, damage, words", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damage_is_reported_in_one_line_and_repaired_losing_nothing(damaged, case, damage, words):
    s, root = damaged
    damage(s, root)
    outside = tree(root, skip=s.index_dir)
    feedback = (s.index_dir / "feedback.jsonl").read_bytes()
    st = status(s)  # status looks without writing
    assert st["state"] == "corrupt" and words in st["error"] and "\n" not in st["error"]
    out = run_cli(s, "ask", "--json", VIETNAM)  # the first command finds the damage and repairs it
    assert out.returncode == 0, out.stderr
    lines = report_lines(out)
    assert len(lines) == 1, lines
    assert words in lines[0] and lines[0].endswith("rebuilding from the corpus and 1 ingested file"), lines[0]
    assert json.loads(out.stdout)["citations"][0]["id"] == "t2.r16"
    assert tree(root, skip=s.index_dir) == outside  # nothing outside the index touched
    assert (s.index_dir / "feedback.jsonl").read_bytes() == feedback
    assert (s.index_dir / "embedding-cache.sqlite").is_file() and (s.index_dir / "sources.json").is_file()
    assert status(s)["state"] == "current"
    found = run_cli(
        s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q
    )  # repaired: the next command reports nothing
    assert found.returncode == 0 and report_lines(found) == []
    assert doc_found(found), found.stdout  # the ingested document is still in the index, and found


@pytest.mark.parametrize("case", ["manifest_garbage", "current_absolute_path", "sqlite_truncated"])
def test_index_rebuild_keeps_the_ingested_documents(damaged, case):
    """`assistant index --rebuild`, the fix the messages name, reads the registry, not the damaged manifest."""
    s, root = damaged
    dict((d[0], d[1]) for d in DAMAGE)[case](s, root)
    outside = tree(root, skip=s.index_dir)
    out = run_cli(s, "index", "--rebuild")
    assert out.returncode == 0, out.stderr
    assert report_lines(out) == [] and out.stdout.decode().startswith("built 139 passages")
    assert tree(root, skip=s.index_dir) == outside
    ask = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
    assert ask.returncode == 0 and doc_found(ask)


def test_only_version_folders_are_ever_removed(damaged):
    """Folders that merely look alike (a symlink named like a version, 'v-notes') survive a rebuild."""
    s, root = damaged
    lookalike = s.index_dir / "v-notes"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("x")
    link = s.index_dir / ("v-" + "0" * 16 + "-20260101-000000-1-1")
    link.symlink_to(root / "sentinel", target_is_directory=True)
    (s.index_dir / "CURRENT").write_text(link.name)  # a version name, but a link: not followed
    out = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
    assert out.returncode == 0 and doc_found(out)
    assert (lookalike / "mine.txt").is_file() and (root / "sentinel" / "keep.txt").is_file()


def test_an_index_from_before_the_registry_is_migrated(damaged):
    """sources.json absent (an index built before it existed): created from the manifest on the first open,
    so a later repair still has the document."""
    s, root = damaged
    (s.index_dir / "sources.json").unlink()
    shutil.rmtree(s.index_dir / "sources")
    out = run_cli(s, "ask", "--json", VIETNAM)
    assert out.returncode == 0 and report_lines(out) == []
    reg = json.loads((s.index_dir / "sources.json").read_text(encoding="utf-8"))["sources"]
    assert [Path(e["path"]).name for e in reg] == ["zanzibar-note.txt"] and len(reg[0]["sha256"]) == 64
    (s.index_dir / "CURRENT").write_text("")
    out = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
    assert out.returncode == 0 and doc_found(out)


def test_a_deleted_source_file_comes_back_from_the_kept_copy(damaged, template):
    s, root = damaged
    doc = template[1]
    moved = root / "elsewhere.txt"
    shutil.move(doc, moved)
    try:
        (_version(s) / "manifest.json").write_text("{")
        out = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
        assert out.returncode == 0 and doc_found(out)
        lines = sorted(report_lines(out), key=lambda line: "rebuilding" in line)
        assert len(lines) == 2 and "kept in the index" in lines[0] and "rebuilding" in lines[1], lines
    finally:
        shutil.move(moved, doc)


def test_a_damaged_registry_is_rebuilt_from_the_kept_copies(damaged):
    s, root = damaged
    (s.index_dir / "sources.json").write_bytes(b"\x00garbage")
    shutil.rmtree(_version(s))
    out = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
    assert out.returncode == 0 and doc_found(out)
    lines = report_lines(out)
    assert len(lines) == 2 and "sources.json is damaged" in lines[0], lines
    assert list(s.index_dir.glob("sources.json.damaged-*"))  # the damaged bytes kept, not deleted


def test_a_garbage_embedding_cache_is_moved_aside(damaged, tmp_path):
    s, root = damaged
    cache = s.index_dir / "embedding-cache.sqlite"
    cache.write_bytes(os.urandom(8192))
    note = tmp_path / "second-note.txt"
    note.write_text(
        "Second note: the Tehran ferry group also met delegates from Mombasa about harbour pilots.\n", encoding="utf-8"
    )
    out = run_cli(s, "ingest", str(note))
    assert out.returncode == 0, out.stderr
    lines = report_lines(out)
    assert len(lines) == 1 and "embedding-cache.sqlite is damaged" in lines[0] and "fresh cache" in lines[0], lines
    assert list(s.index_dir.glob("embedding-cache.sqlite.damaged-*"))
    import sqlite3

    assert sqlite3.connect(str(cache)).execute("SELECT count(*) FROM vec").fetchone()[0] >= 1
    ask = run_cli(s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q)
    assert ask.returncode == 0 and doc_found(ask)


def test_disk_full_while_rebuilding_keeps_the_index(damaged, monkeypatch):
    s, root = damaged
    before = _version(s)
    with monkeypatch.context() as m:

        def no_space(*_a, **_k):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        m.setattr(os, "fsync", no_space)  # every durable write of the index goes through os.fsync
        with pytest.raises(IndexDamaged) as exc:
            build(s)
    msg = str(exc.value)
    assert "full" in msg and "unchanged" in msg and "free some space" in msg and "\n" not in msg
    assert _version(s) == before and [p.name for p in s.index_dir.glob("v-*")] == [before.name]
    assert status(s)["state"] == "current"


class FakePanicException(BaseException):
    """Stand-in for pyo3's PanicException (Chroma's Rust engine panicking), which cannot be raised on
    purpose: like it, it derives from BaseException only."""


def test_a_rust_panic_in_chroma_is_caught_at_the_boundary(damaged, monkeypatch):
    s, root = damaged
    from assistant import vectorstore
    from assistant.answer import Assistant

    a = Assistant(s)

    def panic(*_a, **_k):
        raise FakePanicException("called `Result::unwrap()` on an `Err` value")

    monkeypatch.setattr(vectorstore.LocalReader, "query", panic)
    monkeypatch.setattr(type(a.store.collection), "query", panic)
    a.store._reader = None
    with pytest.raises(IndexDamaged) as exc:
        a.ask(VIETNAM)
    assert "FakePanicException" in str(exc.value) and "\n" not in str(exc.value)


def _read_only(index: Path) -> None:
    for p in [*index.rglob("*"), index]:
        if not p.is_symlink():
            p.chmod(stat.S_IMODE(p.stat().st_mode) & ~0o222)


def _without_override() -> list[str]:
    """Root writes through any permission bits: the CLI runs without that capability (setpriv), as any
    other user would."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def cli_unprivileged(settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        {
            "ASSISTANT_INDEX_DIR": str(settings.index_dir),
            "ASSISTANT_CORPUS_DIR": str(CORPUS),
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return subprocess.run(
        [*_without_override(), sys.executable, "-m", "assistant", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.parametrize("damage", [None, "current_dot"])
def test_a_read_only_index_folder_is_said_to_be_read_only(damaged, damage):
    """Chroma cannot open its database in a folder it cannot write: said as such (not "damaged", no
    rebuild tried), with the fix; nothing in the folder changes."""
    s, root = damaged
    if damage:
        (s.index_dir / "CURRENT").write_text(".")
    _read_only(s.index_dir)
    try:
        before = tree(s.index_dir, skip=root / "none")
        out = cli_unprivileged(s, "ask", VIETNAM)
        assert out.returncode == 1, out.stderr
        (line,) = report_lines(out)
        assert "is read-only" in line and "make it writable" in line, line
        assert "probably deleted or damaged" not in line and ("damaged" not in line or damage), line
        assert tree(s.index_dir, skip=root / "none") == before
    finally:
        for p in [s.index_dir, *s.index_dir.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    out = run_cli(
        s, "search", "--section", "doc:zanzibar-note.txt", "--json", DOC_Q
    )  # writable again: served (repaired first when damaged)
    assert out.returncode == 0 and doc_found(out)


# ---------------------------------------------------------------------- network timeouts
def test_a_chroma_server_that_never_answers_does_not_hang_ask(damaged):
    """A real socket on 127.0.0.1 that accepts connections and says nothing."""
    s, root = damaged
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        t = time.monotonic()
        out = run_cli(s, "--chroma-url", url, "ask", VIETNAM, env={"ASSISTANT_CHROMA_TIMEOUT_S": "2"}, timeout=120)
        took = time.monotonic() - t
    finally:
        stop.set()
        for c in held:
            c.close()
        listener.close()
    assert held, "the client never connected"
    assert out.returncode == 1 and took < 60, (took, out.stderr)
    (line,) = report_lines(out)
    assert "not reachable (no answer within 2 s)" in line and url in line, line


def test_chat_model_backends_have_timeouts():
    """Every chat-model call is given settings.llm_timeout_s (llm.py): a checked, positive setting."""
    from pathlib import Path

    from assistant import llm

    src = "\n".join(p.read_text(encoding="utf-8") for p in Path(llm.__file__).parent.glob("*.py"))
    assert "self.timeout, self.breaker" in src and "httpx.Client(timeout=_timeout(timeout))" in src
    with pytest.raises(SettingsError, match="ASSISTANT_LLM_TIMEOUT_S"):
        _load({"ASSISTANT_LLM_TIMEOUT_S": "0"})


# ---------------------------------------------------------------------- settings at the boundary
def _load(env: dict, flags: dict | None = None):
    from assistant.settings import load_settings

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("ASSISTANT_")}
    os.environ.update(env)
    try:
        return load_settings(flags)
    finally:
        for k in env:
            os.environ.pop(k, None)
        os.environ.update(saved)


BAD_SETTINGS = [
    ("k_negative", ["ask", "--k", "-1", VIETNAM], {}, "--k -1"),
    ("k_zero", ["ask", "--k", "0", VIETNAM], {}, "--k 0"),
    ("k_huge", ["search", "--k", "100000", VIETNAM], {}, "--k 100000"),
    ("corpus_missing", ["--corpus", "/missing", "ask", VIETNAM], {}, "--corpus '/missing': no such folder"),
    ("index_is_a_file", ["--index", "{file}", "ask", VIETNAM], {}, "is a file, not a folder"),
    ("index_inside_a_file", ["--index", "{file}/sub", "index"], {}, "is a file, not a folder"),
    ("chroma_url_bad_port", ["--chroma-url", "http://127.0.0.1:99999", "ask", VIETNAM], {}, "--chroma-url"),
    ("env_k_text", ["ask", VIETNAM], {"ASSISTANT_K": "abc"}, "ASSISTANT_K 'abc'"),
    ("env_threads_negative", ["ask", VIETNAM], {"ASSISTANT_EMBEDDING_THREADS": "-3"}, "ASSISTANT_EMBEDDING_THREADS"),
    ("env_backend_unknown", ["ask", VIETNAM], {"ASSISTANT_BACKEND": "gpt9"}, "ASSISTANT_BACKEND 'gpt9'"),
    ("env_chroma_timeout_zero", ["ask", VIETNAM], {"ASSISTANT_CHROMA_TIMEOUT_S": "0"}, "ASSISTANT_CHROMA_TIMEOUT_S"),
    ("env_reload_negative", ["ask", VIETNAM], {"ASSISTANT_RELOAD_CHECK_S": "-1"}, "ASSISTANT_RELOAD_CHECK_S"),
    ("env_corpus_missing", ["ask", VIETNAM], {"ASSISTANT_CORPUS_DIR": "/missing"}, "ASSISTANT_CORPUS_DIR"),
    ("env_max_chars_zero", ["ask", VIETNAM], {"ASSISTANT_MAX_QUESTION_CHARS": "0"}, "ASSISTANT_MAX_QUESTION_CHARS"),
    ("env_feedback_is_a_folder", ["ask", VIETNAM], {"ASSISTANT_FEEDBACK_FILE": "/tmp"}, "is a folder, not a file"),
]


@pytest.mark.parametrize("case, args, env, words", BAD_SETTINGS, ids=[b[0] for b in BAD_SETTINGS])
def test_bad_settings_exit_2_with_one_line(settings, store, tmp_path, case, args, env, words):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    args = [a.replace("{file}", str(a_file)) for a in args]
    t = time.monotonic()
    out = run_cli(settings, *args, env=env, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stderr)
    (line,) = report_lines(out)
    assert words in line, line
    assert out.stdout == b"" and time.monotonic() - t < 60


# ---------------------------------------------------------------------- questions at the boundary
def test_escape_sequences_are_removed_before_the_emptiness_check_and_retrieval(assistant, settings, store):
    from assistant.answer import QuestionError, validate_question

    for only_escapes in ["\x1b[31m", "\x1b[0m\x1b[2J", "\x1b]0;title\x07", "\x9b1;31m", "\x1b[31m \x1b[0m\n"]:
        with pytest.raises(QuestionError, match="empty"):
            validate_question(only_escapes, settings)
    plain = assistant.ask(VIETNAM)
    coloured = assistant.ask("\x1b[1;32m" + VIETNAM + "\x1b[0m")
    assert not coloured.abstained and coloured.question == plain.question
    assert [c.id for c in coloured.citations] == [c.id for c in plain.citations] and coloured.answer == plain.answer
    out = run_cli(settings, "ask", "\x1b[31m")
    assert out.returncode == 2 and "empty" in report_lines(out)[0]


def test_ask_dash_reads_at_most_the_limit_plus_one_byte(settings, store):
    """200 MB offered on standard input: refused after reading a few kilobytes (the pipe's buffer aside)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ask", "-"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir), "PYTHONPATH": str(ROOT)},
    )
    written = 0
    chunk = b"sister city " * 8192  # 96 KiB
    try:
        while written < 200_000_000:
            proc.stdin.write(chunk)
            written += len(chunk)
    except BrokenPipeError:
        pass
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 2, err
    assert written < 2_000_000, written  # the rest was never read
    assert "more than 8,000 bytes" in err and len(err.strip().splitlines()) == 1
