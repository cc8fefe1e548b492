"""Lambda runtimes Lambda no longer lets anyone create or update functions on: the Lambda developer
guide's "Runtime deprecation" table (Deprecated runtimes: block function create, block function
update). After the block-update date a function on that runtime still runs, but neither its code
nor its configuration can change unless the same update moves it to a supported runtime; so a
CloudFormation update that changes such a function's environment fails and rolls back."""

from __future__ import annotations

import datetime as dt

# runtime -> (block function create, block function update)
BLOCKED: dict[str, tuple[dt.date, dt.date]] = {
    "nodejs": (dt.date(2016, 10, 31), dt.date(2016, 10, 31)),
    "nodejs4.3": (dt.date(2020, 3, 5), dt.date(2020, 3, 5)),
    "nodejs4.3-edge": (dt.date(2019, 4, 30), dt.date(2019, 4, 30)),
    "nodejs6.10": (dt.date(2019, 8, 12), dt.date(2019, 8, 12)),
    "nodejs8.10": (dt.date(2020, 1, 6), dt.date(2020, 2, 3)),
    "nodejs10.x": (dt.date(2021, 7, 30), dt.date(2022, 2, 14)),
    "nodejs12.x": (dt.date(2023, 3, 31), dt.date(2023, 4, 30)),
    "nodejs14.x": (dt.date(2024, 1, 9), dt.date(2024, 2, 8)),
    "python2.7": (dt.date(2021, 7, 15), dt.date(2022, 5, 30)),
    "python3.6": (dt.date(2022, 7, 18), dt.date(2022, 8, 29)),
    "python3.7": (dt.date(2024, 1, 9), dt.date(2024, 2, 8)),
}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def create_blocked(runtime: str, on: dt.date | None = None) -> bool:
    dates = BLOCKED.get(runtime)
    return dates is not None and (on or today()) >= dates[0]


def update_blocked(runtime: str, on: dt.date | None = None) -> dt.date | None:
    """The date since which functions on this runtime cannot be updated (None: they can)."""
    dates = BLOCKED.get(runtime)
    return dates[1] if dates is not None and (on or today()) >= dates[1] else None
