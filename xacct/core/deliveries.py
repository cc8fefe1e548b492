"""What each developer last received, and the last delivery that failed, from the replication
function's own log lines (one JSON line per artifact: delivered, skipped, failed with a reason).
Pure: hand it the (timestamp, message) pairs CloudWatch Logs returned."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

# Only the function's replication lines: CloudWatch Logs filters on the server (a JSON pattern).
FILTER = '{ $.xacct = "replication" }'
WINDOW_DAYS = 30  # how far back --status looks


def log_group(central_stack: str) -> str:
    """The central function's log group (CrossAccountPrimary.yaml, ReplicatorLogs)."""
    return f"/aws/lambda/xacct-replicator-{central_stack}"


def _at(timestamp_ms: int) -> str:
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summarize(events: Iterable[tuple[int, str]], buckets: Iterable[str]) -> dict[str, dict[str, Any]]:
    """bucket -> {"last_delivery": {artifact, version, at} | None, "last_failure": {artifact, reason, at} | None}."""
    found: dict[str, dict[str, Any]] = {b: {"last_delivery": None, "last_failure": None} for b in buckets}
    for timestamp, message in sorted(events, key=lambda e: e[0]):
        try:
            line = json.loads(message)
        except ValueError:
            continue
        if not isinstance(line, dict) or line.get("xacct") != "replication" or "artifact" not in line:
            continue
        at = _at(timestamp)
        for bucket in line.get("delivered") or []:
            if bucket in found:
                found[bucket]["last_delivery"] = {
                    "artifact": line["artifact"],
                    "version": line.get("version"),
                    "at": at,
                }
        for bucket, failure in (line.get("failed") or {}).items():
            if bucket in found and isinstance(failure, dict):
                reason = str(failure.get("reason", ""))
                found[bucket]["last_failure"] = {"artifact": line["artifact"], "reason": reason, "at": at}
    return found
