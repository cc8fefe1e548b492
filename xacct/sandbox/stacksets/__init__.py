"""StackSets with Organizations: service-managed stack sets as the StackSets user guide describes them
(model.py; their API: api.py; operations in the background: operations.py; automatic deployment:
auto.py), and Organizations as a member account meets it (organizations.py)."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.stacksets import api, organizations

    api.install()
    organizations.install()
