#!/usr/bin/env python
"""Load test of the chat window over loopback: N concurrent clients x M questions through gradio_client.

    python scripts/load.py                       # starts `python -m assistant serve` on a free loopback port
    python scripts/load.py --url http://127.0.0.1:7860/   # an already running window (loopback only)
    python scripts/load.py --clients 20 --questions 10 --json load.json

Bounded: at most 50 clients x 50 questions, a per-request timeout and an overall deadline (--max-seconds)
after which no new request is sent; a server it started is stopped at the end, whatever happens.
Prints the requests made, the errors, and the p50/p95/max latency (seconds) of one question.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: this checkout's `assistant` (stats, offline)
    sys.path.insert(0, str(ROOT))

from assistant.offline import child_env  # noqa: E402
from assistant.stats import percentile  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_CLIENTS, MAX_QUESTIONS = 50, 50
QUESTIONS = [
    "Which city in Vietnam is Tehran's sister city?",
    "تهران با کدام شهرها قرارداد خواهرشهری دارد؟",
    "How many members does the IMF have?",
    "کدام خواهرشهرهای تهران در آفریقا هستند؟",
    "What policy recommendations does the paper make?",
    "رتبه تهران در شاخص GUCI چند است؟",
    "What challenges does Tehran face in developing city diplomacy?",
    "صندوق جهانی توسعه شهرها چند شهر عضو دارد؟",
    "What is the population of Tokyo?",  # abstains: not in the paper
    "Which of Tehran's sister cities are in Europe?",
]
# What the chat shows when answering failed (assistant/ui.py friendly_messages "error").
FAILURE_MARKERS = ("something went wrong", "خطایی رخ داد")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"load: the server exited with code {proc.returncode} before it was up")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback URL checked above
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"load: {url} did not come up within {timeout:.0f} s")


def start_server(port: int, args) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "assistant"]
    if args.index:
        cmd += ["--index", str(args.index)]
    if args.corpus:
        cmd += ["--corpus", str(args.corpus)]
    cmd += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    env = child_env()
    env.pop("ASSISTANT_UI_USER", None)  # the load test talks to an open window
    env.pop("ASSISTANT_UI_PASSWORD", None)
    log = open(args.server_log, "wb") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and nothing else
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def chat_endpoint(client) -> str:
    """The api_name of the chat handler: the endpoint taking (question, chat, answer language)."""
    info = client.view_api(return_format="dict", print_info=False)
    named = info.get("named_endpoints", {})
    for name in sorted(named):
        params = [p.get("parameter_name") for p in named[name].get("parameters", [])]
        if params == ["q", "c", "lg"] and "respond" in name:
            return name
    raise SystemExit(f"load: no chat endpoint among {sorted(named)}")


def last_text(chat) -> str:
    """Text of the last chat message as gradio_client returns it (str or a list of parts)."""
    if not chat:
        return ""
    content = chat[-1].get("content") if isinstance(chat[-1], dict) else chat[-1]
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def run_client(
    i: int,
    url: str,
    api_name: str,
    n: int,
    deadline: float,
    timeout: float,
    latencies: list,
    errors: list,
    lock: threading.Lock,
) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001 - counted, reported
        with lock:
            errors.append(f"client {i}: connect: {type(exc).__name__}: {exc}"[:300])
        return
    chat: list = []
    for j in range(n):
        if time.monotonic() > deadline:
            with lock:
                errors.append(f"client {i}: deadline reached before question {j + 1}")
            return
        q = QUESTIONS[(i + j) % len(QUESTIONS)]
        t = time.perf_counter()
        try:
            job = client.submit(q, [], "auto", api_name=api_name)  # each question on its own (no history)
            out = job.result(timeout=timeout)
            elapsed = time.perf_counter() - t
            chat = out[1]
            text = last_text(chat)
            if not text or any(m in text for m in FAILURE_MARKERS):
                raise RuntimeError(f"failed answer: {text[:120]!r}")
        except Exception as exc:  # noqa: BLE001 - counted, reported
            with lock:
                latencies.append(time.perf_counter() - t)
                errors.append(f"client {i} question {j + 1}: {type(exc).__name__}: {exc}"[:300])
            continue
        with lock:
            latencies.append(elapsed)
    try:
        client.close()
    except Exception:  # noqa: BLE001
        pass


def seconds_at(values: list[float], q: float) -> float:
    """A latency percentile (assistant/stats.py's rule) in seconds, 3 decimals; NaN when nothing came back."""
    p = percentile(values, q)
    return float("nan") if p is None else round(p, 3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running chat window on loopback (default: start one)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per request")
    ap.add_argument("--max-seconds", type=float, default=600, help="overall deadline for sending requests")
    ap.add_argument("--startup-seconds", type=float, default=600, help="how long a started server may take")
    ap.add_argument("--index", type=Path, help="index folder for a started server")
    ap.add_argument("--corpus", type=Path, help="corpus folder for a started server")
    ap.add_argument("--server-log", type=Path, help="write a started server's output here")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = ap.parse_args(argv)
    if not (1 <= args.clients <= MAX_CLIENTS and 1 <= args.questions <= MAX_QUESTIONS):
        ap.error(f"--clients and --questions must be between 1 and {MAX_CLIENTS}/{MAX_QUESTIONS}")

    proc = None
    if args.url:
        host = urlparse(args.url).hostname
        if host not in LOOPBACK:
            ap.error(f"--url must be on loopback ({', '.join(sorted(LOOPBACK))}), not {host!r}")
        url = args.url if args.url.endswith("/") else args.url + "/"
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        print(f"starting the chat window on {url} …", flush=True)
        proc = start_server(port, args)
    try:
        t0 = time.monotonic()
        wait_until_up(url, proc, args.startup_seconds)
        if proc is not None:
            print(f"server up in {time.monotonic() - t0:.1f} s", flush=True)
        from gradio_client import Client

        api_name = chat_endpoint(Client(url, verbose=False))
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        started = time.monotonic()
        deadline = started + args.max_seconds
        threads = [
            threading.Thread(
                target=run_client,
                daemon=True,
                args=(i, url, api_name, args.questions, deadline, args.timeout, latencies, errors, lock),
            )
            for i in range(args.clients)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=max(0.0, deadline - time.monotonic()) + args.timeout + 30)
        wall = time.monotonic() - started
        stuck = sum(th.is_alive() for th in threads)
        with lock:
            lat, errs = list(latencies), list(errors)
        if stuck:
            errs.append(f"{stuck} client(s) still waiting at the end")
        figures = {
            "url": url,
            "endpoint": api_name,
            "clients": args.clients,
            "questions_per_client": args.questions,
            "requests": len(lat),
            "errors": len(errs),
            "wall_s": round(wall, 2),
            "throughput_per_s": round(len(lat) / wall, 2) if wall else None,
            "p50_s": seconds_at(lat, 0.50),
            "p95_s": seconds_at(lat, 0.95),
            "max_s": round(max(lat), 3) if lat else None,
            "mean_s": round(statistics.fmean(lat), 3) if lat else None,
        }
        print(
            f"requests {figures['requests']}  errors {figures['errors']}  "
            f"p50 {figures['p50_s']:.3f} s  p95 {figures['p95_s']:.3f} s  max {figures['max_s']} s  "
            f"({figures['throughput_per_s']} answers/s over {figures['wall_s']} s; "
            f"{args.clients} clients x {args.questions} questions via {api_name})"
        )
        for e in errs[:10]:
            print("  error:", e)
        if args.json:
            args.json.write_text(
                json.dumps({**figures, "error_samples": errs[:20]}, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return 0 if not errs else 1
    finally:
        if proc is not None:
            stop_server(proc)


if __name__ == "__main__":
    sys.exit(main())
