"""KMS: keys used across accounts by ARN (accounts.py), and keys as CloudFormation and the KMS API
treat them (keys.py). Who may use a key: kms/access.py, with policy_eval.py."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.kms import accounts, keys

    keys.install()
    accounts.install()
