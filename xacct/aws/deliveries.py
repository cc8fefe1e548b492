"""The replication function's log lines in the build account, as CloudWatch Logs returns them."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions as bx

from xacct.core import deliveries

MAX_PAGES = 50  # a bound on what --status reads; the newest lines are what it reports


def read(logs: Any, central_stack: str, buckets: list[str]) -> dict[str, dict[str, Any]]:
    """Each bucket's last delivery and last failure (both None when the log holds neither, or there
    is no log group: a stack whose function logs elsewhere, as the seed project's does)."""
    start = int((time.time() - deliveries.WINDOW_DAYS * 86400) * 1000)
    events: list[tuple[int, str]] = []
    kwargs: dict[str, Any] = {
        "logGroupName": deliveries.log_group(central_stack),
        "startTime": start,
        "filterPattern": deliveries.FILTER,
    }
    try:
        for _ in range(MAX_PAGES):
            page = logs.filter_log_events(**kwargs)
            events += [(int(e["timestamp"]), str(e["message"])) for e in page.get("events", [])]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except bx.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code != "ResourceNotFoundException" and "AccessDenied" not in code:
            raise
        if "AccessDenied" in code:  # the rest of --status still holds; say what could not be read
            return {b: {"last_delivery": None, "last_failure": None, "unreadable": code} for b in buckets}
    return deliveries.summarize(events, buckets)
