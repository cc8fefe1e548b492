"""What `--ou` does to an organizational unit, computed from what was read. Pure.

The OU's developers are its active accounts beneath it at any depth. Each gets the developer stacks
(as one stack: member_template.py) through the OU's service-managed stack set `xacct-OU`, and its
bucket is registered in the central stack with one change set, as `--from` does. An account the
stack set reached that is no longer beneath it leaves: its entry goes and its instance is removed.
Entries of developers onboarded one by one (never reached by this OU's stack set) are not touched,
wherever their account sits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xacct.core import registry as reg


def stack_set_name(ou: str) -> str:
    """StackSetName takes [a-zA-Z][-a-zA-Z0-9]*, up to 128 characters; an OU id fits as it is."""
    return f"xacct-{ou}"


def bucket_of(account: str, region: str) -> str:
    """The developer bucket the primary template names (before the stack exists)."""
    return f"xacct-build-{account}-{region}"


@dataclass(frozen=True)
class OuPlan:
    ou: str
    ou_name: str
    region: str
    call_as: str
    members: tuple[str, ...]  # beneath the OU now, in the organization's order
    joining: tuple[str, ...]  # members not yet registered
    staying: tuple[str, ...]  # members already registered
    leaving: tuple[str, ...]  # registered through the OU, no longer beneath it
    create: tuple[str, ...]  # members without a stack instance that succeeded
    remove: tuple[str, ...]  # instances of accounts no longer beneath the OU
    before: tuple[str, ...]  # the registered buckets, in order
    after: tuple[str, ...]  # and after the run: the leavers' gone, the joiners' at the end

    @property
    def nothing_to_do(self) -> bool:
        return not (self.joining or self.leaving or self.create or self.remove)

    def to_json(self) -> dict[str, object]:
        return {
            "ou": self.ou,
            "ou_name": self.ou_name,
            "region": self.region,
            "call_as": self.call_as,
            "stack_set": stack_set_name(self.ou),
            "members": list(self.members),
            "accounts_joining": list(self.joining),
            "accounts_staying": list(self.staying),
            "accounts_leaving": list(self.leaving),
            "stack_instances_to_create": list(self.create),
            "stack_instances_to_remove": list(self.remove),
            "central_buckets_before": list(self.before),
            "central_buckets_after": list(self.after),
        }


def account_of(entry: reg.Entry) -> str:
    """The developer account of an entry: the key's owner (the bucket's, for the stock name)."""
    parts = entry.cmk.split(":")
    return parts[4] if len(parts) > 5 else entry.bucket.split("-")[2]


def plan(
    ou: str,
    ou_name: str,
    region: str,
    call_as: str,
    *,
    members: Iterable[str],
    registry: reg.Registry,
    instances: Mapping[str, str],
    removed: Iterable[str] = (),
    removing: bool = False,
) -> OuPlan:
    """`instances`: account -> detailed status of the stack set's instances in `region`;
    `removed`: accounts whose instances StackSets itself deleted (automatic deployment, as they
    left the OU), from the stack set's operation results. An entry is the OU's only on that
    evidence; a developer onboarded one by one is never taken for a leaver. With `removing`, every
    member and every instance leaves."""
    beneath = tuple(dict.fromkeys(members))
    member_set = set(beneath)
    by_account = {account_of(e): e.bucket for e in registry.entries}
    reached = [*instances, *(a for a in removed if a not in instances)]
    if removing:
        out = [*beneath, *(a for a in reached if a not in member_set)]
        leaving = tuple(a for a in dict.fromkeys(out) if by_account.get(a) == bucket_of(a, region))
        joining: tuple[str, ...] = ()
        staying: tuple[str, ...] = ()
        create: tuple[str, ...] = ()
        remove = tuple(instances)
    else:
        registered = {a for a in beneath if by_account.get(a) == bucket_of(a, region)}
        joining = tuple(a for a in beneath if a not in registered)
        staying = tuple(a for a in beneath if a in registered)
        leaving = tuple(a for a in reached if a not in member_set and by_account.get(a) == bucket_of(a, region))
        create = tuple(a for a in beneath if instances.get(a) != "SUCCEEDED")
        remove = tuple(a for a in instances if a not in member_set)
    gone = {bucket_of(a, region) for a in leaving}
    before = tuple(e.bucket for e in registry.entries)
    after = tuple(b for b in before if b not in gone) + tuple(bucket_of(a, region) for a in joining)
    return OuPlan(ou, ou_name, region, call_as, beneath, joining, staying, leaving, create, remove, before, after)


def change(before: reg.Registry, leaving: Iterable[str], joining: Iterable[reg.Entry], region: str) -> reg.Change:
    """The one central change of a run: the leavers' entries out, the joiners' in, in order; every
    other entry keeps its place."""
    from xacct.core.fleet import merge_all

    registry, gone = before, 0
    for account in leaving:
        step = reg.remove(registry, bucket=bucket_of(account, region))
        gone += step.kind == "removed"
        registry = step.after
    merged = merge_all(registry, list(joining))
    added = len(merged.after.entries) - len(registry.entries)
    kind: reg.ChangeKind = "added" if added else "removed" if gone else "unchanged"
    return reg.Change(before, merged.after, kind, f"{added} added, {gone} taken out")
