"""Lambda runtimes Lambda no longer lets anyone create or update functions on (Lambda developer
guide, "Runtime deprecation": block function create, block function update; the dates in
runtime_lifecycle.py). After the block-update date a function on that runtime still runs, but
neither its code nor a configuration naming that runtime can change unless the same update moves it
to a supported runtime; so a CloudFormation update that changes such a function fails and rolls back."""

from __future__ import annotations

import datetime as dt

from xacct.core.runtime_lifecycle import BLOCK_DATES


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def create_blocked(runtime: str, on: dt.date | None = None) -> bool:
    since = _date(BLOCK_DATES.get(runtime, (None, None))[0])
    return since is not None and (on or today()) >= since


def update_blocked(runtime: str, on: dt.date | None = None) -> dt.date | None:
    """The date since which functions on this runtime cannot be updated (None: they can)."""
    since = _date(BLOCK_DATES.get(runtime, (None, None))[1])
    return since if since is not None and (on or today()) >= since else None
