"""Exit statuses and the one exception family the entry point turns into output."""

from enum import IntEnum

AGAIN = "run the same command again: it picks up from what it finds"


class ExitCode(IntEnum):
    OK = 0
    AWS_FAILED = 1
    INVALID = 2
    BROKEN = 3
    INTERRUPTED = 130


class XacctError(Exception):
    """A failure with a message for a person and the exit status it maps to."""

    exit_code: ExitCode = ExitCode.AWS_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInput(XacctError):
    """Refused before anything was changed."""

    exit_code = ExitCode.INVALID


class AwsFailure(XacctError):
    """An AWS operation failed; the message says what state things are in."""

    exit_code = ExitCode.AWS_FAILED


class Interrupted(XacctError):
    """Ctrl-C, SIGTERM or SIGHUP: the exit status is 128 + the signal's number."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str, *, hint: str | None = None, status: int = ExitCode.INTERRUPTED) -> None:
        super().__init__(message, hint=hint)
        self.status = status
