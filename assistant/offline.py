"""No network at run time and no telemetry: the environment variables that keep the libraries we load
(chromadb, gradio, huggingface_hub, transformers) from calling home or asking the model hub.

Importing this module sets each variable the user has not set (`apply_defaults`), so an entry point or a
module that loads such a library imports it first. `child_env` is the environment for a child process we
start: the same values, forced, whatever the calling shell exports.
Must not: import anything of the project or any third-party package (it runs before them), or override a
value the user set in this process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

OFFLINE_ENV: dict[str, str] = {
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's usage reports
    "GRADIO_ANALYTICS_ENABLED": "False",  # gradio's usage reports
    "HF_HUB_OFFLINE": "1",  # the embedding model is bundled: never ask the hub
    "TRANSFORMERS_OFFLINE": "1",
}


def apply_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Set every OFFLINE_ENV variable that `environ` (default: this process's) does not have yet."""
    env = os.environ if environ is None else environ
    for name, value in OFFLINE_ENV.items():
        env.setdefault(name, value)


def child_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """A child process's environment: `base` (default: this process's), every OFFLINE_ENV value, then `extra`."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


apply_defaults()
