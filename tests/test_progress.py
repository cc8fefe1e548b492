"""Progress while CloudFormation works: the live view's clocks, and what an interruption says."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from xacct.terminal import progress as render

STACK_EVENT = {"ResourceType": "AWS::CloudFormation::Stack", "LogicalResourceId": "CrossAccountPrimary"}


def elapsed(view: render.LiveProgress) -> dict[str, str]:
    grid = view._render()
    names = [str(c) for c in grid.columns[1]._cells]
    times = [str(c) for c in grid.columns[2]._cells]
    return {n.split("]")[1].split("[")[0]: t.strip() for n, t in zip(names, times, strict=True)}


def test_a_finished_stacks_clock_stops_and_a_new_operation_restarts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("xacct.terminal.progress.time.monotonic", lambda: clock[0])
    view = render.LiveProgress(Console(file=io.StringIO()))
    view.note("dev:CrossAccountPrimary", "create in progress")
    clock[0] = 108.0
    view.event("dev:CrossAccountPrimary", {**STACK_EVENT, "ResourceStatus": "CREATE_COMPLETE"})
    clock[0] = 130.0
    assert elapsed(view) == {"dev:CrossAccountPrimary": "8.0s"}
    view.note("dev:CrossAccountPrimary", "update in progress")
    clock[0] = 133.0
    assert elapsed(view) == {"dev:CrossAccountPrimary": "3.0s"}


def test_an_interruption_names_every_operation_still_running() -> None:
    from xacct.aws.reads import BuildContext
    from xacct.commands.common import interrupted
    from xacct.core.answers import Central, Side
    from xacct.core.state import Silent

    def context(inflight: dict[str, str]) -> BuildContext:
        ctx = BuildContext(Central(Side("111111111111", "us-east-1", None), "C"), Silent())
        ctx.inflight.update(inflight)
        return ctx

    ctx = context({"dev:A": "create", "dev:B": "create"})
    exc = interrupted(ctx)
    assert ctx.stop.is_set()
    assert (
        exc.message
        == "interrupted; CloudFormation is still working on dev:A (create), dev:B (create) and finishes them on its own"
    )
    ctx = context({"dev:A": "update"})
    assert interrupted(ctx).message.endswith("dev:A (update) and finishes it on its own")
    ctx = context({"dev:B": "create"})
    ctx.finished["dev:A"] = "CREATE_COMPLETE"
    said = interrupted(ctx, planned=["dev:A", "dev:B", "build:C"], resume="xacct --dev-profile d")
    assert said.message == (
        "interrupted; completed: dev:A (CREATE_COMPLETE); CloudFormation is still working on dev:B (create) "
        "and finishes it on its own; not started: build:C"
    )
    assert said.hint == "run the same command again to finish: xacct --dev-profile d"
    assert interrupted(context({})).message == "interrupted; no stack operation had started"


def test_an_error_and_its_next_step_stay_one_line_each_on_a_narrow_terminal() -> None:
    """Copied from an 80-column terminal, the resume command is one shell line: the terminal folds
    it, the tool does not break it with newlines."""
    from xacct.terminal.output import Output

    screen = io.StringIO()
    terminal = Console(file=screen, width=40, force_terminal=True, soft_wrap=False, no_color=True)
    command = "python onboard.py --build-account 111111111111 --build-profile build --dev-profile dev1 --yes"
    Output(Console(file=io.StringIO()), terminal).error("interrupted; " + "word " * 20, f"run again: {command}")
    lines = screen.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[1] == f"  next: run again: {command}"
