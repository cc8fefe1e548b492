"""The embedded metric format: CloudWatch Logs extracts the metrics a Lambda function's log lines
declare (rule `emf-extraction`). CloudWatch user guide, "Specification: Embedded metric format": a
line is a JSON object whose `_aws` member holds a Timestamp (ms) and CloudWatchMetrics directives,
each a Namespace, its Dimensions (sets of member names) and its Metrics (names of members holding a
number or an array of up to 100 numbers); a line that breaks the specification is kept as a log line
and yields no metric."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from xacct.sandbox.cloudwatch._moto import cloudwatch_backends

MAX_DIMENSIONS = 30
MAX_METRICS = 100


def metrics_of(line: str) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, a PutMetricData datum) for each metric the line declares; [] if it is not valid EMF."""
    try:
        root = json.loads(line)
    except ValueError:
        return []
    meta = root.get("_aws") if isinstance(root, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("Timestamp"), int | float):
        return []
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return []
    when = dt.datetime.fromtimestamp(meta["Timestamp"] / 1000, dt.UTC).replace(tzinfo=None)  # moto keeps UTC, naive
    found: list[tuple[str, dict[str, Any]]] = []
    for directive in directives:
        namespace, sets, metrics = directive.get("Namespace"), directive.get("Dimensions"), directive.get("Metrics")
        if not isinstance(namespace, str) or not isinstance(sets, list) or not isinstance(metrics, list):
            return []
        if len(metrics) > MAX_METRICS or any(not isinstance(s, list) or len(s) > MAX_DIMENSIONS for s in sets):
            return []
        for names in sets or [[]]:
            if any(not isinstance(root.get(n), str) for n in names):
                return []  # a dimension must name a member holding a string
            dimensions = [{"Name": n, "Value": root[n]} for n in names]
            for metric in metrics:
                value = root.get(metric.get("Name")) if isinstance(metric, dict) else None
                values = value if isinstance(value, list) else [value]
                if not values or any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
                    return []
                datum = {"MetricName": metric["Name"], "Dimensions": dimensions, "Timestamp": when}
                datum.update({"Unit": metric["Unit"]} if metric.get("Unit") else {})
                found += [(namespace, {**datum, "Value": float(v or 0)}) for v in values]
    return found


def extract(account: str, region: str, lines: list[str]) -> None:
    backend = cloudwatch_backends[account][region]
    for line in lines:
        for namespace, datum in metrics_of(line):
            backend.put_metric_data(namespace, [datum])
