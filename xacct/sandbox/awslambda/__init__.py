"""Lambda: functions run as Lambda runs them (runtime.py, forked from zygote.py; invoke.py), who may
invoke them (permission.py), CloudFormation's Lambda resources (resources.py) and what Lambda refuses
(limits.py)."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.awslambda import invoke, limits, resources

    resources.install()
    invoke.install()
    limits.install()
