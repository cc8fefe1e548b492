"""CloudFormation's progress as it happens: plain lines anywhere, a live view on a terminal."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape


class LineProgress:
    """CloudFormation's progress as plain lines, safe from several threads."""

    def __init__(self, console: Console, log: Console | None = None) -> None:
        self.console, self.log = console, log  # log: --log FILE, when the console is not already logged
        self.lock = threading.Lock()
        self.start = time.monotonic()

    def _line(self, stack: str, text: str) -> None:
        elapsed = time.monotonic() - self.start
        line = f"[dim]{elapsed:6.1f}s[/] [cyan]{escape(stack)}[/] {text}"
        with self.lock:
            self.console.print(line, highlight=False)
            if self.log is not None:
                self.log.print(line, highlight=False)

    def note(self, stack: str, text: str) -> None:
        self._line(stack, escape(text))

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        status = str(event.get("ResourceStatus", ""))
        style = (
            "red"
            if "FAILED" in status or "ROLLBACK" in status
            else "green"
            if status.endswith("COMPLETE")
            else "yellow"
        )
        reason = event.get("ResourceStatusReason")
        logical = str(event.get("LogicalResourceId"))
        resource = "(stack)" if stack.endswith(":" + logical) or stack == logical else escape(logical)
        text = f"{resource} [{style}]{escape(status)}[/]"
        if reason:
            text += f" [dim]{escape(str(reason))}[/]"
        self._line(stack, text)


class LiveProgress(LineProgress):
    """On a terminal: one live line per stack (spinner, elapsed time, latest status), with
    each resource event printed above it as it arrives. Safe with several stacks in flight."""

    def __init__(self, console: Console, log: Console | None = None) -> None:
        super().__init__(console, log)
        from rich.live import Live

        self.rows: dict[str, tuple[float, float | None, str]] = {}  # stack -> (started, ended, status)
        self.live = Live(console=console, refresh_per_second=8, transient=True, get_renderable=self._render)

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        # A row is one line: the stack's name whole, its latest status shortened with a mark
        # (every event is printed in full above the view).
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        now = time.monotonic()
        for stack, (started, ended, status) in list(self.rows.items()):
            mark: Any = "[green]✓[/]" if ended is not None else Spinner("dots", style="cyan")
            grid.add_row(mark, f"[cyan]{escape(stack)}[/]", f"{(ended or now) - started:5.1f}s", escape(status))
        return grid

    def __enter__(self) -> LiveProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def _set(self, stack: str, status: str, *, done: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            started, ended, _ = self.rows.get(stack, (now, None, ""))
            if ended is not None and not done:
                started = now  # a new operation on a finished stack starts a new clock
            # A finished stack's clock stops.
            self.rows[stack] = (started, now if done else None, status)

    def note(self, stack: str, text: str) -> None:
        super().note(stack, text)
        self._set(stack, text, done=text == "up to date")

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        super().event(stack, event)
        status = str(event.get("ResourceStatus", ""))
        if event.get("ResourceType") == "AWS::CloudFormation::Stack":
            self._set(stack, status, done=not status.endswith("_IN_PROGRESS"))
        else:
            self._set(stack, f"{event.get('LogicalResourceId')} {status}")
