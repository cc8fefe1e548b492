"""An onboarding or removal as a plain value: what was read, what will change, and its JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from xacct.core import registry as reg
from xacct.core.state import Action

# Same length as a real key id (36), so size checks on a plan with a key not yet created are exact.
PENDING_KEY_ID = "<key-created-by-CrossAccountPrimary>"
TAG_MANAGED = "xacct:managed-by"
TAG_VALUE = "xacct"


def pending_key_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:kms:{region}:{account}:key/{PENDING_KEY_ID}"


def is_pending(cmk: str | None) -> bool:
    return cmk is None or cmk.endswith(PENDING_KEY_ID)


# ---- the central lists, before and after ------------------------------------------------


@dataclass(frozen=True)
class EntryDiff:
    status: reg.EntryStatus
    entry: reg.Entry
    previous_cmk: str | None = None


@dataclass(frozen=True)
class Diff:
    parameters: dict[str, tuple[str, str]]
    entries: tuple[EntryDiff, ...] = field(default_factory=tuple)

    @property
    def changed_parameters(self) -> list[str]:
        return [p for p, (a, b) in self.parameters.items() if a != b]


def diff(change: reg.Change, raw_before: Mapping[str, str] | None = None) -> Diff:
    """Per parameter (as deployed -> as it will be written) and per entry."""
    before = dict(raw_before) if raw_before is not None else reg.render(change.before)
    after = reg.render(change.after)
    # The four lists always; the overflow parameters when they change.
    params = {p: (before.get(p, ""), v) for p, v in after.items() if p in reg.PARAMETERS or before.get(p, "") != v}
    rows: list[EntryDiff] = []
    for e in change.before.entries:
        if change.kind == "removed" and e == change.entry:
            rows.append(EntryDiff("removed", e))
        elif change.kind == "key-replaced" and change.entry and e.bucket == change.entry.bucket:
            rows.append(EntryDiff("key-replaced", replace(e, cmk=change.entry.cmk), e.cmk))
        else:
            rows.append(EntryDiff("unchanged", e))
    if change.kind == "added" and change.entry:
        rows.append(EntryDiff("added", change.entry))
    return Diff(params, tuple(rows))


@dataclass(frozen=True)
class BucketContents:
    bucket: str
    versions: int  # object versions and delete markers: a versioned bucket is empty only without both


@dataclass(frozen=True)
class StackStep:
    stack: str
    action: Action
    detail: str = ""


@dataclass
class Plan:
    action: Literal["onboard", "remove"]
    build_account: str
    build_region: str
    dev_account: str
    dev_region: str
    central_stack: str
    central_before: dict[str, str]
    change: reg.Change
    bucket: str
    cmk: str | None
    replication_role: str = ""
    stacks: list[StackStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    purge: bool = False
    emptied: list[BucketContents] = field(default_factory=list)  # buckets purge empties, as counted
    adopted: Any = None  # adopt.Adoption: the developer's seed primary stack, moved to this project's template
    seed_stacks: list[str] = field(default_factory=list)  # developer stacks that hold the seed project's templates
    kept_templates: dict[str, str] = field(default_factory=dict)  # stack -> its template, kept (removal: the seed's)

    @property
    def diff(self) -> Diff:
        return diff(self.change, self.central_before)

    @property
    def nothing_to_do(self) -> bool:
        return not self.change.changes_anything and all(s.action == "none" for s in self.stacks)

    def to_json(self) -> dict[str, Any]:
        params = {name: {"before": b, "after": a} for name, (b, a) in self.diff.parameters.items()}
        return {
            "action": self.action,
            "central": {
                "account": self.build_account,
                "region": self.build_region,
                "stack": self.central_stack,
                "parameters": params,
                "entries": [
                    {
                        "status": row.status,
                        "bucket": row.entry.bucket,
                        "cmk": row.entry.cmk,
                        **({"previous_cmk": row.previous_cmk} if row.previous_cmk else {}),
                    }
                    for row in self.diff.entries
                ],
                "message": self.change.message,
            },
            "developer": {
                "account": self.dev_account,
                "region": self.dev_region,
                "bucket": self.bucket,
                "cmk": None if is_pending(self.cmk) else self.cmk,
                "stacks": [{"name": s.stack, "action": s.action} for s in self.stacks],
                **(
                    {"emptied": [{"bucket": c.bucket, "versions": c.versions} for c in self.emptied]}
                    if self.purge
                    else {}
                ),
            },
            "notes": list(self.notes),
        }
