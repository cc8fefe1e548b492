"""CloudWatch alarms as CloudWatch runs them: starting INSUFFICIENT_DATA (rule `alarm-initial-state`),
evaluated on the metric data received, period by period (rule `alarm-evaluation`), and notifying their
SNS topics when their state changes (rule `alarm-actions`).

CloudWatch user guide, "Using Amazon CloudWatch alarms": each period's datapoint is the statistic of
the data in it; the alarm looks at the most recent EvaluationPeriods datapoints and goes to ALARM when
DatapointsToAlarm of them breach the threshold; missing datapoints are treated as TreatMissingData
says (missing, the default: all missing is INSUFFICIENT_DATA; notBreaching: good; breaching: bad;
ignore: the state is kept); and "Alarms invoke actions only when the alarm changes state". Periods
last `alarm_period_seconds` here when a test shortens them (settings.py)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from xacct.sandbox.cloudwatch._moto import cloudwatch_backends, cloudwatch_models
from xacct.sandbox.patching import around
from xacct.sandbox.settings import SETTINGS

TICK = 0.2  # how often the evaluator looks for an alarm that is due
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
WORDS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
REGIONS = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-2": "US West (Oregon)",
           "eu-west-1": "Europe (Ireland)", "eu-central-1": "Europe (Frankfurt)"}  # fmt: skip
_STARTED: list[threading.Thread] = []
# alarm -> (when it was last evaluated, the last complete period it looked at)
_EVALUATED: weakref.WeakKeyDictionary[Any, tuple[float, int]] = weakref.WeakKeyDictionary()
MISSED = 10  # complete periods caught up at most


def install() -> None:
    _initial_state()
    if not _STARTED:
        thread = threading.Thread(target=_evaluate_forever, name="cloudwatch-alarms", daemon=True)
        thread.start()
        _STARTED.append(thread)


def _initial_state() -> None:
    """CloudWatch user guide, "Alarm states": "INSUFFICIENT_DATA - The alarm has just started, the
    metric is not available, or not enough data is available for the metric to determine the alarm
    state." moto started every alarm OK. A changed alarm (PutMetricAlarm again) keeps its state."""

    @around(cloudwatch_models.CloudWatchBackend, "put_metric_alarm")
    def put_metric_alarm(original: Any, self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        old = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if old is None:
            alarm.state_value = "INSUFFICIENT_DATA"
        else:
            alarm.state_value, alarm.state_reason = old.state_value, old.state_reason
            alarm.state_reason_data, alarm.state_updated_timestamp = old.state_reason_data, old.state_updated_timestamp
            alarm.history = old.history
        return alarm


# ---- evaluation


def _epoch(when: Any) -> float:
    if isinstance(when, dt.datetime):
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    return float(when)


def _parts(datum: Any) -> tuple[float, float, float, float]:
    """(sum, count, minimum, maximum) of a datum: one value, or a statistic set."""
    if hasattr(datum, "sample_count"):
        return float(datum.sum), float(datum.sample_count), float(datum.min), float(datum.max)
    value = float(datum.value)
    return value, 1.0, value, value


def _statistic(datums: list[Any], stat: str) -> float | None:
    if not datums:
        return None
    parts = [_parts(d) for d in datums]
    found = {
        "Sum": sum(p[0] for p in parts),
        "SampleCount": sum(p[1] for p in parts),
        "Average": sum(p[0] for p in parts) / max(1.0, sum(p[1] for p in parts)),
        "Minimum": min(p[2] for p in parts),
        "Maximum": max(p[3] for p in parts),
    }
    return found.get(stat)  # a percentile: not emulated; the datapoint counts as missing


def _series(
    backend: Any, namespace: str, name: str, dims: list[Any], stat: str, starts: list[float], span: float
) -> list[float | None]:
    wanted = sorted((d.name, d.value) for d in dims)
    mine = [
        d
        for d in list(backend.metric_data)
        if d.namespace == namespace and d.name == name and sorted((x.name, x.value) for x in d.dimensions) == wanted
    ]
    out: list[float | None] = []
    for start in starts:
        inside = [d for d in mine if start <= _epoch(d.timestamp) < start + span]
        out.append(_statistic(inside, stat))
    return out


_TOKEN = re.compile(r"\s*(FILL\(\s*(\w+)\s*,\s*(-?[\d.]+)\s*\)|[A-Za-z_]\w*|-?\d+(?:\.\d+)?|[+-])")


def _expression(text: str, values: dict[str, float | None]) -> float | None:
    """Metric math of sums and differences of ids, numbers and FILL(id, number): what these templates
    use. A datapoint missing from an operand leaves the result missing."""
    total, sign, pos = 0.0, 1.0, 0
    while pos < len(text.strip()):
        match = _TOKEN.match(text, pos)
        if not match:
            return None
        pos = match.end()
        token = match.group(1)
        if token in "+-":
            sign = 1.0 if token == "+" else -1.0
            continue
        if match.group(2):
            value = values.get(match.group(2))
            value = float(match.group(3)) if value is None else value
        elif token[0].isalpha() or token[0] == "_":
            value = values.get(token)
        else:
            value = float(token)
        if value is None:
            return None
        total += sign * value
    return total


def _datapoints(backend: Any, alarm: Any, starts: list[float], span: float) -> list[float | None]:
    if not alarm.metric_data_queries:
        stat = alarm.statistic or "Average"
        return _series(backend, alarm.namespace, alarm.metric_name, alarm.dimensions, stat, starts, span)
    series: dict[str, list[float | None]] = {}
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            metric = query.metric_stat.metric
            series[query.id] = _series(backend, metric.namespace, metric.metric_name, metric.dimensions,
                                       query.metric_stat.stat, starts, span)  # fmt: skip
    returned = [q for q in alarm.metric_data_queries if str(q.return_data).lower() in ("true", "none", "")]
    target = next((q for q in returned if q.expression), returned[0] if returned else None)
    if target is None:
        return [None] * len(starts)
    if not target.expression:
        return series.get(target.id, [None] * len(starts))
    return [_expression(str(target.expression), {k: v[i] for k, v in series.items()}) for i in range(len(starts))]


def _period(alarm: Any) -> int:
    if alarm.period:
        return int(alarm.period)
    stats = [q.metric_stat for q in alarm.metric_data_queries if q.metric_stat is not None]
    return int(stats[0].period) if stats else 60


def evaluate(backend: Any, alarm: Any, now: float, last: int | None = None) -> tuple[str, str, str]:
    """(state, reason, reason data) of the alarm at `now`, on the N periods ending with the one
    numbered `last` (by default the most recent complete one)."""
    period = _period(alarm)
    span = SETTINGS.alarm_period_seconds or float(period)
    n = int(alarm.evaluation_periods or 1)
    m = int(alarm.datapoints_to_alarm or n)
    last = math.floor(now / span) - 1 if last is None else last
    starts = [(last - i) * span for i in range(n - 1, -1, -1)]
    points = _datapoints(backend, alarm, starts, span)
    breaches = OPERATORS.get(alarm.comparison_operator, OPERATORS["GreaterThanThreshold"])
    treat = alarm.treat_missing_data or "missing"
    present = [p for p in points if p is not None]
    bad = sum(1 for p in present if breaches(p, float(alarm.threshold)))
    if treat == "breaching":
        bad += len(points) - len(present)
    moments = [dt.datetime.fromtimestamp(start, dt.UTC) for start in starts]
    shown = ", ".join(f"{p} ({m:%d/%m/%y %H:%M:%S})" for p, m in zip(points, moments, strict=True) if p is not None)
    data = json.dumps({"version": "1.0", "queryDate": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(),
                       "recentDatapoints": present, "threshold": alarm.threshold})  # fmt: skip
    words = WORDS.get(alarm.comparison_operator, alarm.comparison_operator)
    if bad >= m:
        reason = (
            f"Threshold Crossed: {bad} out of the last {n} datapoints [{shown}] was {words} the threshold "
            f"({float(alarm.threshold)}) (minimum {m} datapoint{'s' if m > 1 else ''} for OK -> ALARM transition)."
        )
        return "ALARM", reason, data
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return alarm.state_value, alarm.state_reason, alarm.state_reason_data
        return "INSUFFICIENT_DATA", f"Insufficient Data: {n} datapoint{'s were' if n > 1 else ' was'} unknown.", data
    reason = (
        f"Threshold Crossed: no datapoints were received for {n} period{'s' if n > 1 else ''} and {n} missing "
        "datapoints were treated as [NonBreaching]." if not present else
        f"Threshold Crossed: {len(present)} datapoint{'s' if len(present) > 1 else ''} [{shown}] "
        f"{'were' if len(present) > 1 else 'was'} not {words} the threshold ({float(alarm.threshold)})."
    )  # fmt: skip
    return "OK", reason, data


def _notify(alarm: Any, old: str, account: str, region: str) -> None:
    from xacct.sandbox.sns._moto import sns_backends

    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }
    if not alarm.actions_enabled or str(alarm.actions_enabled).lower() == "false":
        return
    when = alarm.state_updated_timestamp
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": str(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": when.isoformat() if hasattr(when, "isoformat") else str(when),
        "Region": REGIONS.get(region, region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old,
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "Statistic": (alarm.statistic or "").upper(),
            "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
            "Period": _period(alarm),
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
        },
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {REGIONS.get(region, region)}'[:100]
    for arn in actions.get(alarm.state_value) or []:
        parts = str(arn).split(":")
        if len(parts) < 6 or parts[2] != "sns":
            continue
        topic = sns_backends[parts[4]][parts[3]].topics.get(arn)
        if topic is not None:  # a topic that is gone: CloudWatch records the failed action, nothing is sent
            topic.publish(json.dumps(message), subject=subject)


def evaluate_due(now: float) -> None:
    for account in list(cloudwatch_backends.keys()):
        for region, backend in list(cloudwatch_backends[account].items()):
            for alarm in list(backend.alarms.values()):
                if getattr(alarm, "rule", None):
                    continue  # a composite alarm: not emulated
                period = _period(alarm)
                span = SETTINGS.alarm_period_seconds or float(period)
                every = span * min(60.0, period) / period
                complete = math.floor(now / span) - 1  # the most recent complete period
                # First looked at one interval after it was made, as CloudWatch's minutely evaluation.
                evaluated, done = _EVALUATED.setdefault(alarm, (now, complete))
                if now - evaluated < every and complete <= done:
                    continue
                _EVALUATED[alarm] = (now, complete)
                # Every period completed since the last evaluation, in order, however late this one
                # runs: a period with data is never skipped (a few at most, after a long pause).
                for last in range(max(min(done + 1, complete), complete - MISSED), complete + 1):
                    state, reason, data = evaluate(backend, alarm, now, last)
                    if state != alarm.state_value:
                        old = alarm.state_value
                        alarm.update_state(reason, data, state)
                        _notify(alarm, old, account, region)


def _evaluate_forever() -> None:
    while True:
        time.sleep(TICK)
        try:
            evaluate_due(time.time())
        except Exception:  # a backend reset mid-way: the next tick reads afresh
            continue
