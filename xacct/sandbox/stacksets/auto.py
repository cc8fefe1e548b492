"""Automatic deployment of service-managed stack sets (StackSets user guide, "Enable or disable automatic
deployments for StackSets in AWS Organizations"): an account that joins a target OU gets the stack
set's instances, one that leaves loses them (or keeps the stacks, RetainStacksOnAccountRemoval), each
as an operation of StackSets' own that runs in the background after the account moved."""

from __future__ import annotations

from typing import Any

from xacct.sandbox.patching import around
from xacct.sandbox.stacksets import model as gs
from xacct.sandbox.stacksets import operations as ops
from xacct.sandbox.stacksets._moto import OrganizationsBackend


def install() -> None:
    _organization_changes()


def reconcile(org: Any) -> None:
    """AutoDeployment: instances for accounts now under a target OU, none for those that left."""
    with gs.LOCK:
        for stack_set in gs.every_set():
            if not stack_set.auto.get("Enabled") or gs.organization_of(stack_set.owner) is not org:
                continue
            wanted: dict[tuple[str, str], str] = {}
            for ou, regions in stack_set.targets.items():
                for account in gs.members_under(org, ou) if gs.known_target(org, ou) else []:
                    for region in regions:
                        wanted.setdefault((account, region), ou)
            joining = [gs.Instance(a, r, ou) for (a, r), ou in wanted.items() if (a, r) not in stack_set.instances]
            leaving = [i for key, i in list(stack_set.instances.items()) if key not in wanted]
            targets = {"OrganizationalUnitIds": sorted(stack_set.targets)}
            if joining:
                for instance in joining:
                    stack_set.instances[(instance.account, instance.region)] = instance
                ops.run(
                    stack_set, "CREATE", joining, lambda i, s=stack_set: ops.create_in_account(s, i, {}), {}, targets
                )
            if leaving:
                ops.remove(stack_set, leaving, bool(stack_set.auto.get("RetainStacksOnAccountRemoval")), {}, targets)


def _organization_changes() -> None:
    def changed(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        reconcile(self)
        return result

    for name in ("move_account", "create_account", "remove_account_from_organization", "close_account"):
        around(OrganizationsBackend, name)(changed)
