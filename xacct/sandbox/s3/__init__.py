"""S3: who may touch what (access.py), what S3 refuses on a request (requests.py: bucket owners, ACLs,
conditional writes, a missing key's answer), CloudFormation's S3 resources (resources.py), bucket
policies and objects (policies.py), event notifications (notifications.py) and lifecycle (lifecycle.py)."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.s3 import lifecycle, notifications, policies, resources

    # Where two change one moto method, the order is the order they wrap it in.
    resources.install_gaps()
    lifecycle.install()
    policies.install_gaps()
    notifications.install_gaps()
    resources.install_rules()
    policies.install_rules()
    notifications.install_rules()
