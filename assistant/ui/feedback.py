"""The chat window's feedback file: ratings and corrections of answers, appended as JSON lines.

Must not: keep anything else on disk, or grow without bound (records are cut per field, the file stops at
FEEDBACK_MAX_BYTES, and handlers.py limits how often a session may send).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

MAX_FEEDBACK_CHARS = 4000
FEEDBACK_MAX_BYTES = 5_000_000  # the feedback file stops growing here (the operator is told in the log, once)
FEEDBACK_PER_SESSION = 20  # ratings/corrections a session may send ...
FEEDBACK_WINDOW_S = 600.0  # ... per ten minutes


class FeedbackLog:
    """Append-only JSONL; one write per record under a lock (and a file lock: several server processes may
    share it), so concurrent users lose nothing. Bounded: records are cut to MAX_FEEDBACK_CHARS per field and
    the file stops at FEEDBACK_MAX_BYTES."""

    def __init__(self, path: Path, max_bytes: int = FEEDBACK_MAX_BYTES):
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._full_logged = False

    def add(self, record: dict) -> bool:
        from filelock import FileLock

        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": time.time(), **record}, ensure_ascii=False) + "\n"
        with self._lock, FileLock(str(self.path) + ".lock", timeout=30):
            size = self.path.stat().st_size if self.path.exists() else 0
            if size + len(line.encode("utf-8")) > self.max_bytes:
                if not self._full_logged:
                    log.warning("feedback file %s reached %d bytes; further feedback is not saved", self.path, size)
                    self._full_logged = True
                return False
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        return True
