"""What every `assistant` command shares: exit codes, the bad-input error, settings from the flags, and the
terminal progress bar. Imported by cli.py (the parser and most commands) and cli_eval.py (`assistant eval`).

Must not: import a heavy module at import time (`assistant --help` stays instant), print, or exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, UserError

if TYPE_CHECKING:
    from .settings import Settings

EXIT_OK = 0

__all__ = ["EXIT_OK", "EXIT_INTERNAL", "EXIT_BAD_INPUT", "UserError", "settings_from_args", "progress_bar"]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment + flags, validated here at the boundary (errors.SettingsError: one line, exit 2)."""
    from .settings import load_settings

    return load_settings(
        dict(
            corpus_dir=args.corpus,
            index_dir=args.index,
            chroma_url=args.chroma_url,
            embedding_backend=args.embedding_backend,
            embedding_model=args.embedding_model,
            backend=getattr(args, "backend", None),
            llm_base_url=getattr(args, "base_url", None),
            llm_model=getattr(args, "model", None),
            k=getattr(args, "k", None),
        )
    )


def progress_bar(desc: str) -> Callable[[int, int], None] | None:
    """A progress callback drawing a bar on a terminal; None (no callback) when stderr is not one."""
    if not sys.stderr.isatty():  # a log or a pipe gets the one-line reports, not a progress bar's redraws
        return None
    from tqdm import tqdm

    bar: Any = None  # the current tqdm bar (tqdm has no type information here)

    def update(done: int, total: int) -> None:
        nonlocal bar
        # A build reports two phases (passages, then the question keys): a new total starts a new bar.
        if bar is None or bar.total != total or bar.disable:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, desc=desc, unit="text", file=sys.stderr, leave=False)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update
