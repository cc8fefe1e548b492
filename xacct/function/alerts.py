"""What a delivery run tells the platform team. Its counts, as CloudWatch metrics in the embedded metric
format: one log line per invocation, which CloudWatch Logs turns into metrics with no API call, no
added latency and no permission (PutMetricData would be all three). The metrics have one dimension,
the stack, so that they cost the same for 10 developers as for 500; each developer's counts and
failures ride in the same line as properties (searchable in Logs Insights, free of metric charges).
And for deliveries that failed for good, one message on the stack's alert topic naming each developer,
the artifact, AWS's reason and the command to run; the delivery alarm tells when it is over.

Part of the replication function (replicator.py says how it is deployed).
"""

import json
import os
import re
import time
from typing import Any

METRICS = ("Delivered", "AlreadyHeld", "Stale", "FailedDeliveries", "RetriedDeliveries")
TOLD: dict[str, float] = {}  # bucket -> when this execution environment last told of it


class Tally:
    """Each developer's copies in one invocation, counted as METRICS; the lasting failures."""

    def __init__(self) -> None:
        self.by: dict[str, list[int]] = {}
        self.failures: list[dict[str, str]] = []

    def add(self, artifact: str, result: dict[str, Any]) -> None:
        stale = result.get("stale", [])
        outcomes = [(b, 0) for b in result["delivered"]] + [(b, 2 if b in stale else 1) for b in result["skipped"]]
        for bucket, failure in result["failed"].items():
            if bucket:  # "": the artifact itself could not be read, the function's error and no developer's
                outcomes.append((bucket, 3 if failure["permanent"] else 4))
                if failure["permanent"]:
                    self.failures.append({"bucket": bucket, "artifact": artifact, "reason": str(failure["reason"])})
        for bucket, i in outcomes:
            self.by.setdefault(bucket, [0] * 5)[i] += 1

    def metrics(self, stack: str) -> dict[str, Any]:
        """The embedded-metric-format line: the totals as metrics, each developer's as properties."""
        directive = {"Namespace": "xacct", "Dimensions": [["Stack"]], "Metrics": [{"Name": m} for m in METRICS]}
        line: dict[str, Any] = {
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
            "Stack": stack,
        }
        line.update({m: sum(row[i] for row in self.by.values()) for i, m in enumerate(METRICS)})
        return {**line, "developers": self.by, "failures": self.failures[:50]}


def message(failures: list[dict[str, str]], stack: str, account: str, region: str) -> tuple[str, str]:
    """(subject, body): which developers, which artifact, AWS's reason, and what to run."""
    buckets = sorted({f["bucket"] for f in failures})
    lines = [f"Build artifacts of {stack} (account {account}, {region}) did not reach {len(buckets)} developer "
             "bucket(s); their pipelines will not run on this build.", ""]  # fmt: skip
    for bucket in buckets:
        named = re.match(r"xacct-build-(\d{12})-(.+)$", bucket)
        owner, where = named.groups() if named else ("?", region)
        lines.append(f"developer {owner}, bucket {bucket}:")
        lines += [f"  {f['artifact']}: {f['reason']}" for f in failures if f["bucket"] == bucket][:5]
        build = f"--build-account {account} --build-region {region}"
        lines += [f"  next: python onboard.py --verify {build} --dev-account {owner} --dev-region {where}", ""]
    lines.append("Once fixed, the next build is delivered and the alarm returns to OK by itself (--sync: at once).")
    return f"xacct: {len(buckets)} developer(s) missed a build of {stack}"[:100], "\n".join(lines)


def tell(sns: Any, failures: list[dict[str, str]], stack: str, account: str, region: str) -> None:
    """Publish the failures this environment has not told of within the alarm's period."""
    now, period = time.time(), float(os.environ.get("ALERT_PERIOD") or 300)
    fresh = [f for f in failures if now - TOLD.get(f["bucket"], 0.0) >= period]
    subject, body = message(fresh, stack, account, region) if fresh else ("", "")
    for topic in [t for t in os.environ.get("ALERT_TOPICS", "").split(",") if t] if fresh else []:
        try:
            sns.publish(TopicArn=topic, Subject=subject, Message=body)
        except Exception as exc:  # the metric and the alarm still tell; the log says why this did not
            print(json.dumps({"xacct": "replication", "warning": f"alert not published to {topic}: {exc}"}))
    TOLD.update({f["bucket"]: now for f in fresh})
