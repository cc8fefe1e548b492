"""Progress while CloudFormation works: the live view's clocks, and what an interruption says."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from xacct import render

STACK_EVENT = {"ResourceType": "AWS::CloudFormation::Stack", "LogicalResourceId": "CrossAccountPrimary"}


def elapsed(view: render.LiveProgress) -> dict[str, str]:
    grid = view._render()
    names = [str(c) for c in grid.columns[1]._cells]
    times = [str(c) for c in grid.columns[2]._cells]
    return {n.split("]")[1].split("[")[0]: t.strip() for n, t in zip(names, times, strict=True)}


def test_a_finished_stacks_clock_stops_and_a_new_operation_restarts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(render.time, "monotonic", lambda: clock[0])
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
    import threading
    from types import SimpleNamespace

    from xacct.cli import interrupted

    ctx = SimpleNamespace(stop=threading.Event(), inflight={"dev:A": "create", "dev:B": "create"})
    exc = interrupted(ctx)
    assert ctx.stop.is_set()
    assert (
        exc.message
        == "interrupted; CloudFormation is still working on dev:A (create), dev:B (create) and finishes them on its own"
    )
    ctx = SimpleNamespace(stop=threading.Event(), inflight={"dev:A": "update"})
    assert interrupted(ctx).message.endswith("dev:A (update) and finishes it on its own")
