"""Where everything a person reads goes: rich consoles, stdout for results, stderr for progress
and errors, injected so tests capture them and NO_COLOR, narrow terminals and pipes behave.
With `--log FILE` both also go to the file, without colour, with every CloudFormation event;
views redrawn in place (the live stack view, spinners) go to the terminal only."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import IO, Any, cast

from rich.console import Console
from rich.markup import escape

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


@dataclass
class Output:
    out: Console
    err: Console
    live: Console | None = None  # the terminal itself, for views redrawn in place (never logged)
    log: Console | None = None  # --log FILE: what a ticket needs, without colour
    started: float = field(default_factory=time.monotonic)

    @property
    def terminal(self) -> Console:
        return self.live or self.err

    def error(self, message: str, hint: str | None = None) -> None:
        # One line each, however long, for the terminal to fold: a command in them is copied whole,
        # never as several broken shell lines.
        self.err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        if hint:
            self.err.print(f"  next: {escape(hint)}", highlight=False, soft_wrap=True)

    def stopped(self, message: str, hint: str | None = None) -> None:
        """A run the person stopped (Ctrl-C, a declined prompt): what it left, not an "error:"."""
        self.err.print(f"[bold yellow]{escape(message)}[/]", highlight=False, soft_wrap=True)
        if hint:
            self.err.print(f"  next: {escape(hint)}", highlight=False, soft_wrap=True)

    def info(self, message: str) -> None:
        self.err.print(message, highlight=False)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Tee:
    """A text stream that also appends what it is given, colour and cursor codes removed, to a
    log. It answers isatty() as the stream does, so rich styles the terminal as before."""

    def __init__(self, stream: IO[str], log: IO[str]) -> None:
        self.stream, self.logfile = stream, log

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.logfile.write(_ANSI.sub("", text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        self.logfile.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", "utf-8") or "utf-8"


def make_output(*, color: bool | None = None, width: int | None = None) -> Output:
    # rich reads NO_COLOR and the terminal's width and TTY-ness itself. On a terminal rich wraps
    # at spaces (soft_wrap off), so the terminal never breaks a word; piped, a line is never folded.
    import sys

    def console(stream: IO[str]) -> Console:
        kwargs: dict[str, Any] = {"highlight": False, "soft_wrap": not stream.isatty()}
        if color is False:
            kwargs["no_color"] = True
        kwargs["width"] = width or (None if stream.isatty() else 250)
        return Console(file=stream, **kwargs)

    return Output(console(sys.stdout), console(sys.stderr))


def attach_log(o: Output, log: IO[str]) -> None:
    """Everything printed from now on also goes to `log`; the live view stays on the terminal,
    its events reach the log as lines."""
    terminal = o.err.file
    o.live = Console(
        file=terminal,
        width=o.err.width if not o.err.is_terminal else None,
        no_color=o.err.no_color,
        highlight=False,
        soft_wrap=o.err.soft_wrap,
        force_terminal=o.err.is_terminal,
    )
    o.out.file = cast("IO[str]", Tee(o.out.file, log))
    o.err.file = cast("IO[str]", Tee(terminal, log))
    o.log = Console(file=log, width=200, no_color=True, highlight=False, soft_wrap=True)
