"""Shared fixtures: one real index (bundled e5 model, real Chroma) built once per test session
in a temporary folder, and an Assistant over it; helpers to run the CLI, to start and stop a server, and
to find a free port; and where the browser tests find Debian's Chromium and how they launch it.
Nothing here is faked (the fakes are in fakes.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import offline  # noqa: F401 - first, for its effect: no telemetry, no model hub in the tests

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

# Debian's chromium (apt-get install chromium), the browser Playwright drives in the browser tests, and its
# flags: headless, and nothing that reaches out on its own (updates, sync, first-run pages).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def settings(index_dir):
    from assistant.settings import Settings

    return Settings(corpus_dir=CORPUS, index_dir=index_dir, feedback_file=index_dir / "feedback.jsonl")


@pytest.fixture(scope="session")
def store(settings):
    from assistant.index import open_index

    s = open_index(settings)
    s.warm_up()
    return s


@pytest.fixture(scope="session")
def assistant(settings, store):
    from assistant.answer import Assistant

    return Assistant(settings, store)


@pytest.fixture()
def scratch_settings(tmp_path, settings):
    """Settings with an index folder of this test's own (for tests that write to the index)."""
    return settings.with_overrides(index_dir=tmp_path / "index", feedback_file=tmp_path / "feedback.jsonl")


@pytest.fixture()
def copied_index(tmp_path, settings, store):
    """A copy of the session index that a test may damage or extend."""
    target = tmp_path / "index"
    shutil.copytree(settings.index_dir, target, ignore=shutil.ignore_patterns(".lock"))
    return settings.with_overrides(index_dir=target, feedback_file=tmp_path / "feedback.jsonl")


def run_cli(
    settings,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | str | None = None,
    timeout: float = 300,
    text: bool = False,
) -> subprocess.CompletedProcess:
    """`python -m assistant ARGS` in a child process, as a user runs it, over the index and feedback file of
    `settings` and the bundled corpus; `env` is layered on top. The caller's own ASSISTANT_* variables are left
    out: a developer's ASSISTANT_BACKEND or ASSISTANT_DEBUG must not change what a test sees. Output is captured
    (bytes; str with text=True)."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    child.update(
        {
            "ASSISTANT_INDEX_DIR": str(settings.index_dir),
            "ASSISTANT_CORPUS_DIR": str(CORPUS),
            "ASSISTANT_FEEDBACK_FILE": str(settings.feedback_file),
            "PYTHONPATH": str(ROOT),  # this checkout's package, in the child and anything it starts
            **(env or {}),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=child,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=text,
        timeout=timeout,
    )


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it), for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings, port: int, log: Path, env: dict[str, str], *, new_session: bool = False) -> subprocess.Popen:
    """`python -m assistant --index INDEX serve --port PORT` from this checkout, as a user starts it, over the
    index of `settings`, with `env` as its whole environment and its stdout and stderr written to `log`.
    new_session=True puts it in a process group of its own (for a caller that signals the group). The caller
    waits until it answers and ends it (stop_process)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant", "--index", str(settings.index_dir), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def stop_process(proc, timeout: float = 20) -> None:
    """End a server a test started: politely, then by force."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
