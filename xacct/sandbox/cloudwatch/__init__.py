"""CloudWatch: alarms evaluated on the data received and notifying SNS (alarms.py), made by
CloudFormation (resources.py); a metric found only by its exact dimensions (metrics.py); metrics
extracted from a Lambda function's embedded-metric-format log lines (emf.py). Authorization: the
action, on any resource (checks.py's rule for a service without its own access.py)."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.cloudwatch import alarms, metrics, resources

    metrics.install()
    alarms.install()
    resources.install()
