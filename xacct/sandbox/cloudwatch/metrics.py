"""A metric is its namespace, name and exact set of dimensions (rule `metric-identity`): CloudWatch
user guide, "CloudWatch concepts": "a metric is uniquely defined by a name, a namespace, and zero or
more dimensions"; GetMetricStatistics, Dimensions: "you must specify the same dimensions that were used
when the metrics were created". moto answered a request without dimensions with every metric of the
name, and one with some dimensions with every metric that had at least those."""

from __future__ import annotations

import threading
from typing import Any

from xacct.sandbox.cloudwatch._moto import cloudwatch_models
from xacct.sandbox.patching import around

_ASKED = threading.local()


def install() -> None:
    @around(cloudwatch_models.CloudWatchBackend, "get_metric_statistics")
    def get_metric_statistics(
        original: Any, self: Any, namespace: str, name: str, start: Any, end: Any, period: int, stats: list[str],
        dimensions: list[dict[str, str]], unit: str | None = None,
    ) -> Any:  # fmt: skip
        _ASKED.dimensions = sorted((str(d["Name"]), str(d.get("Value"))) for d in dimensions or [])
        try:
            return original(self, namespace, name, start, end, period, stats, dimensions, unit)
        finally:
            _ASKED.dimensions = None

    @around(cloudwatch_models.CloudWatchBackend, "get_all_metrics")
    def get_all_metrics(original: Any, self: Any) -> Any:
        found = original(self)
        asked = getattr(_ASKED, "dimensions", None)
        if asked is None:
            return found
        return [m for m in found if sorted((str(d.name), str(d.value)) for d in m.dimensions) == asked]
