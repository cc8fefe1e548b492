"""IAM and STS: what IAM holds policies to, CloudFormation's IAM resources, and whose access key a
request carries. Authorization itself, which every service shares, is access.py and policy_eval.py."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.iam import policies, resources
    from xacct.sandbox.iam._moto import iam_models
    from xacct.sandbox.threads import hold

    # An account's roles, users, policies and keys, walked as other threads' requests add to them.
    held = ("instance_profiles", "roles", "groups", "users", "managed_policies", "inline_policies", "access_keys")
    hold(iam_models.IAMBackend, held)
    resources.install()
    policies.install()
