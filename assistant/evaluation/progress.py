"""Progress that suits where it is shown: a tqdm bar in a terminal, one plain line per 10% in a log
(no carriage returns), counted in the unit given ("questions")."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def progress_reporter(
    desc: str, unit: str = "questions", stream: TextIO | None = None, tty: bool | None = None
) -> Callable[[int, int], None]:
    stream = stream or sys.stderr
    if tty is None:
        tty = bool(getattr(stream, "isatty", lambda: False)())
    return _bar(desc, unit, stream) if tty else _lines(desc, unit, stream)


def _bar(desc: str, unit: str, stream: TextIO) -> Callable[[int, int], None]:
    from tqdm import tqdm

    state: dict = {"bar": None}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = tqdm(total=total, desc=desc, unit=f" {unit}", file=stream, leave=False)
        state["bar"].n = done
        state["bar"].refresh()
        if done >= total:
            state["bar"].close()

    return update


def _lines(desc: str, unit: str, stream: TextIO) -> Callable[[int, int], None]:
    next_tenth = 0
    start: float | None = None

    def update(done: int, total: int) -> None:
        nonlocal next_tenth, start
        if start is None:
            start = time.monotonic()
        if total <= 0:
            return
        tenth = done * 10 // total  # 0..10: which 10% step has been reached
        if tenth >= next_tenth or done >= total:
            elapsed = time.monotonic() - start
            stream.write(f"{desc}: {done}/{total} {unit} ({done * 100 // total}%, {elapsed:.0f} s)\n")
            stream.flush()
            next_tenth = tenth + 1

    return update
