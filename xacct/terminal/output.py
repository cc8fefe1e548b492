"""Where everything a person reads goes: rich consoles, stdout for results, stderr for progress
and errors, injected so tests capture them and NO_COLOR, narrow terminals and pipes behave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape


@dataclass
class Output:
    out: Console
    err: Console

    def error(self, message: str, hint: str | None = None) -> None:
        self.err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        if hint:
            self.err.print(f"  next: {escape(hint)}", highlight=False)

    def info(self, message: str) -> None:
        self.err.print(message, highlight=False)


def make_output(*, color: bool | None = None, width: int | None = None) -> Output:
    # rich reads NO_COLOR and the terminal's width and TTY-ness itself.
    import sys

    kwargs: dict[str, Any] = {"highlight": False, "soft_wrap": True}
    if color is False:
        kwargs["no_color"] = True
    out_width = width or (None if sys.stdout.isatty() else 250)  # piped: never fold an ARN
    err_width = width or (None if sys.stderr.isatty() else 250)
    return Output(Console(width=out_width, **kwargs), Console(stderr=True, width=err_width, **kwargs))
