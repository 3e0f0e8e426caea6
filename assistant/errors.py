"""The assistant's own failures: each carries the exit code the CLI returns and a one-line message that
names what was found and, where the user has something to do, the one command or change that fixes it.

Every exception class of the project lives here (the modules that raise them re-export them under their
old names: cli.UserError, evaluation.io.EvalInputError, ingest.IngestError, llm.protocol.ChatError).
Must not: import anything of the project (every layer imports it)."""

from __future__ import annotations

EXIT_INTERNAL, EXIT_BAD_INPUT = 1, 2
# The fix named when the index must be built again.
REBUILD = "run `assistant index --rebuild`"


class AssistantError(Exception):
    """Base of the errors the CLI prints as one line (`assistant: <message>`) with `exit_code`."""

    exit_code = EXIT_INTERNAL
    # Whitespace in the message is folded to single spaces (an underlying error may bring line breaks).
    # Subclasses whose raisers compose the line themselves keep it exactly as written (a file name with two
    # spaces is shown with two spaces).
    fold_whitespace = True

    def __init__(self, message: str, fix: str = ""):
        self.fix = fix
        text = " ".join(message.split()) if self.fold_whitespace else message
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


class UserError(AssistantError):
    """Bad input on the command line (a flag, standard input, a named file): printed as one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT
    fold_whitespace = False


class EvalInputError(UserError, ValueError):
    """A test set (or a run to compare) that cannot be read as given; the message says why in one line. Still a
    ValueError, as it always was, for callers that catch that."""


class IngestError(UserError, ValueError):
    """A source the user named cannot be ingested; the message says why and what to do. Still a ValueError."""


class ChatError(AssistantError):
    """A chat-model call failed; `retryable` for failures a second attempt may get past. The answering chain
    catches it and falls back to the extractive answer; `reason` is what the note and the logs show."""

    fold_whitespace = False

    def __init__(self, reason: str, retryable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


# Older name, still imported by the answering chain, the UI and tests.
IndexError_ = IndexDamaged


def is_fatal(exc: BaseException) -> bool:
    """Exceptions that must pass through every boundary. Everything else that derives from BaseException
    only (pyo3's PanicException from Chroma's Rust engine) is a failure of the store, caught like one."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))
