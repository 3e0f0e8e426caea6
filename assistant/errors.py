"""The assistant's own failures: each carries the exit code the CLI returns and a one-line message that
names what was found and, where the user has something to do, the one command or change that fixes it."""

from __future__ import annotations

EXIT_INTERNAL, EXIT_BAD_INPUT = 1, 2
# The fix named when the index must be built again.
REBUILD = "run `assistant index --rebuild`"


class AssistantError(Exception):
    """Base of the errors the CLI prints as one line (`assistant: <message>`) with `exit_code`."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, fix: str = ""):
        self.fix = fix
        text = " ".join(message.split())  # one line, whatever an underlying error put in it
        super().__init__(f"{text}; {fix}" if fix else text)


class SettingsError(AssistantError):
    """A flag or ASSISTANT_* variable that cannot be used."""

    exit_code = EXIT_BAD_INPUT


class IndexDamaged(AssistantError):
    """The index is missing, unreadable, read-only, full or unreachable; the message names the fix."""


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why in one line."""


class VersionDamaged(IndexDamaged):
    """One version of the index cannot be used; `what` says what was found, in words."""

    def __init__(self, what: str, fix: str = f"rebuild it: {REBUILD}"):
        self.what = what
        super().__init__(what, fix)


# Older name, still imported by the answering chain, the UI and tests.
IndexError_ = IndexDamaged


def is_fatal(exc: BaseException) -> bool:
    """Exceptions that must pass through every boundary. Everything else that derives from BaseException
    only (pyo3's PanicException from Chroma's Rust engine) is a failure of the store, caught like one."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))
