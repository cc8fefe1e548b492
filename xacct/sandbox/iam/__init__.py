"""IAM and STS: what IAM holds policies to, CloudFormation's IAM resources, and whose access key a
request carries. Authorization itself, which every service shares, is access.py and policy_eval.py."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.iam import policies, resources

    resources.install()
    policies.install()
