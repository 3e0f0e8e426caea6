"""A time limit on every request of chromadb's HTTP client (imported only in server mode).

chromadb's FastAPI client opens its httpx session with timeout=None, and HttpClient() already makes
requests while it is being built (tenant and database checks): a server that accepts the connection and
never answers would hang it for ever. chromadb accepts no client implementation of ours (it checks the
class name), so its constructor is wrapped, once, to set the limit on each new session before the first
request."""

from __future__ import annotations

import httpx
from chromadb.api.fastapi import FastAPI
from chromadb.config import System

_limit_s = 10.0


def limit_requests(seconds: float) -> None:
    """Every chromadb HTTP client made from now on waits at most `seconds` for each answer."""
    global _limit_s
    _limit_s = seconds
    if getattr(FastAPI.__init__, "_assistant_timed", False):
        return
    original = FastAPI.__init__

    def __init__(self: FastAPI, system: System) -> None:
        original(self, system)
        self._session.timeout = httpx.Timeout(_limit_s, connect=min(5.0, _limit_s))

    vars(__init__)["_assistant_timed"] = True  # the mark that keeps it wrapped once
    FastAPI.__init__ = __init__  # type: ignore[method-assign]  # wrapping chromadb's constructor is the point
