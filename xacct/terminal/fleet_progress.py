"""Progress of many developers at once (--from): on a terminal, one live line per developer (its
current step) and a total with counts and elapsed time; elsewhere, one line per finished step.
Every event still goes to --log FILE."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape

from xacct.terminal.progress import LineProgress

Phase = Literal["waiting", "running", "done", "failed"]
CENTRAL = "central"


@dataclass
class Row:
    label: str
    phase: Phase = "waiting"
    step: str = "waiting for its turn"
    started: float | None = None
    ended: float | None = None


def _final(event: Mapping[str, Any]) -> bool:
    return event.get("ResourceType") == "AWS::CloudFormation::Stack" and not str(
        event.get("ResourceStatus", "")
    ).endswith("_IN_PROGRESS")


class FleetLines(LineProgress):
    """Without a terminal: a line when a stack operation ends, a failed resource with its reason,
    and what the central update says (the lease); every event in the log."""

    def __init__(self, console: Console, labels: Mapping[str, str], log: Console | None = None) -> None:
        super().__init__(console, log)
        self.lock = threading.Lock()
        self.rows = {key: Row(label) for key, label in labels.items()}
        self.rows[CENTRAL] = Row("central stack", step="after the developers")
        self.full = LineProgress(log) if log is not None else None

    @staticmethod
    def key(stack: str) -> str:
        prefix = stack.split(":", 1)[0]
        return CENTRAL if prefix in ("build", "central") else prefix

    def _track(self, stack: str, step: str) -> None:
        with self.lock:
            row = self.rows.setdefault(self.key(stack), Row(self.key(stack)))
            if row.phase == "waiting":
                row.phase, row.started = "running", time.monotonic()
            row.step = f"{stack.split(':', 1)[-1]} {step}"

    def finished(self, key: str, ok: bool, text: str = "") -> None:
        with self.lock:
            row = self.rows.setdefault(key, Row(key))
            row.phase, row.ended = ("done" if ok else "failed"), time.monotonic()
            row.step = text or ("done" if ok else "failed")
        self._line(row.label, escape(row.step) if ok else f"[red]{escape(row.step)}[/]")

    def counts(self) -> str:
        phases = [r.phase for k, r in self.rows.items() if k != CENTRAL]
        shown = [f"{phases.count(p)} {p}" for p in ("done", "failed", "running", "waiting") if phases.count(p)]
        return ", ".join(shown) + f" · {time.monotonic() - self.start:.1f} s"

    def note(self, stack: str, text: str) -> None:
        self._track(stack, text)
        if self.full is not None:
            self.full.note(stack, text)
        if self.key(stack) == CENTRAL or text == "up to date":
            LineProgress.note(self, stack, text)

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        status = str(event.get("ResourceStatus", ""))
        self._track(stack, status)
        if self.full is not None:
            self.full.event(stack, event)
        if _final(event) or "FAILED" in status:
            LineProgress.event(self, stack, event)

    def _line(self, stack: str, text: str) -> None:
        # Lines go to the console only: the log has every event already, from `full`.
        elapsed = time.monotonic() - self.start
        with self.lock:
            self.console.print(f"[dim]{elapsed:6.1f}s[/] [cyan]{escape(stack)}[/] {text}", highlight=False)


class FleetLive(FleetLines):
    """On a terminal: the lines above, and under them a live view of one line per developer."""

    def __init__(self, console: Console, labels: Mapping[str, str], log: Console | None = None) -> None:
        super().__init__(console, labels, log)
        from rich.live import Live

        self.live = Live(console=console, refresh_per_second=4, transient=True, get_renderable=self._render)

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        grid = Table.grid(padding=(0, 1), expand=True)
        # The mark, the developer and the time keep their width; the step takes what is left.
        grid.add_column(no_wrap=True, width=1)
        grid.add_column(no_wrap=True, width=max(len(r.label) for r in self.rows.values()))
        grid.add_column(no_wrap=True, width=6)
        grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        now = time.monotonic()
        marks = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "waiting": "[dim]·[/]"}
        with self.lock:
            rows = list(self.rows.values())
        for row in rows:
            mark: Any = marks.get(row.phase) or Spinner("dots", style="cyan")
            took = f"{(row.ended or now) - row.started:5.1f}s" if row.started else "     "
            grid.add_row(mark, f"[cyan]{escape(row.label)}[/]", took, escape(row.step))
        from rich.console import Group
        from rich.text import Text

        return Group(grid, Text(self.counts(), style="bold"))

    def __enter__(self) -> FleetLive:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()
