"""Run stack operations as soon as what they depend on is done, several at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field


@dataclass
class Step:
    name: str
    run: Callable[[], object]
    after: tuple[str, ...] = ()


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def run(steps: list[Step], stop: threading.Event) -> Outcome:
    """Run `steps` respecting `after`. On the first failure nothing new starts; operations
    already under way are followed to their end (CloudFormation would go on anyway). Ctrl-C
    sets `stop`, which every poll checks, and is then raised here."""
    outcome = Outcome()
    pending = {s.name: s for s in steps}
    running: dict[Future[object], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(steps))) as pool:
        try:
            while pending or running:
                if not outcome.failed and not stop.is_set():
                    for name, step in list(pending.items()):
                        if all(dep in outcome.done for dep in step.after):
                            running[pool.submit(step.run)] = name
                            del pending[name]
                if not running:
                    break
                finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in finished:
                    name = running.pop(fut)
                    exc = fut.exception()
                    if exc is None:
                        outcome.done.append(name)
                    else:
                        outcome.failed[name] = exc
        except KeyboardInterrupt:
            stop.set()
            raise
    outcome.skipped = list(pending)
    return outcome
