"""The central stack's replication lists as a table of developers: parse, merge, remove, limits.

Pure: no AWS calls, no printing. Every other developer's entry is carried through untouched
(value and position); anything that cannot be interpreted is refused with the position and
the values, before anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from xacct.errors import InvalidInput

ENABLE = "EnableReplication"
BUCKETS = "ReplicationBucketList"
STAR_ARNS = "ReplicationBucketStarArns"
CMKS = "ReplicationCMKs"
PARAMETERS = (ENABLE, BUCKETS, STAR_ARNS, CMKS)

PARAMETER_LIMIT = 4096  # bytes, CloudFormation parameter value
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted
# What the central template's two managed policies grant on each list (a test keeps them equal),
# so the size model counts exactly what IAM will count.
WRITE_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")
KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_PARTITION = r"aws(?:-[a-z]+)*"
_STAR_ARN = re.compile(rf"^arn:({_PARTITION}):s3:::(?P<bucket>[^/]+)/\*$")
_HEX = "[0-9a-fA-F]"
_KEY_ID = rf"(?:mrk-{_HEX}{{32}}|{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
_KEY_ARN = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):kms:(?P<region>[a-z]{{2,4}}(?:-[a-z]+)+-\d+)"
    rf":(?P<account>\d{{12}}):key/(?P<key>{_KEY_ID})$"
)


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name, or None when it is."""
    if not _BUCKET.match(name):
        return "3-63 characters of lower-case letters, digits, '.' and '-', starting and ending with a letter or digit"
    if ".." in name:
        return "two adjacent periods"
    if _IP.match(name):
        return "formatted as an IP address"
    for prefix in _BAD_PREFIXES:
        if name.startswith(prefix):
            return f"starts with the reserved prefix {prefix!r}"
    for suffix in _BAD_SUFFIXES:
        if name.endswith(suffix):
            return f"ends with the reserved suffix {suffix!r}"
    return None


def key_arn_problem(arn: str) -> str | None:
    if _KEY_ARN.match(arn):
        return None
    return "not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID)"


def key_account(arn: str) -> str | None:
    m = _KEY_ARN.match(arn)
    return m.group("account") if m else None


def key_region(arn: str) -> str | None:
    m = _KEY_ARN.match(arn)
    return m.group("region") if m else None


def star_arn_for(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}/*"


@dataclass(frozen=True)
class Entry:
    """One developer's registration: their build bucket, its star ARN and its key."""

    bucket: str
    star_arn: str
    cmk: str

    @classmethod
    def for_bucket(cls, bucket: str, cmk: str, partition: str = "aws") -> Entry:
        entry = cls(bucket, star_arn_for(bucket, partition), cmk)
        problems = _entry_problems(entry)
        if problems:
            raise InvalidInput(f"developer entry refused: {problems[0]}")
        return entry


@dataclass(frozen=True)
class Registry:
    enabled: bool
    entries: tuple[Entry, ...] = ()

    @property
    def buckets(self) -> list[str]:
        return [e.bucket for e in self.entries]

    def positions(self, bucket: str) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.bucket == bucket]


def _items(value: str) -> list[str]:
    # People edit these fields in the console: tolerate spaces and stray commas.
    return [item.strip() for item in value.split(",") if item.strip()]


def _entry_problems(entry: Entry, position: int | None = None) -> list[str]:
    at = f" at position {position}" if position is not None else ""
    problems = []
    why = bucket_problem(entry.bucket)
    if why:
        problems.append(f"{BUCKETS}{at}: {entry.bucket!r} is not a valid bucket name ({why})")
    m = _STAR_ARN.match(entry.star_arn)
    if not m or m.group("bucket") != entry.bucket:
        problems.append(
            f"{STAR_ARNS}{at}: {entry.star_arn!r} is not arn:aws:s3:::{entry.bucket}/* for bucket {entry.bucket!r}"
        )
    why = key_arn_problem(entry.cmk)
    if why:
        problems.append(f"{CMKS}{at}: {entry.cmk!r} is {why}")
    return problems


def parse(parameters: Mapping[str, str]) -> Registry:
    """Read the four replication parameters as deployed; refuse what cannot be interpreted."""
    missing = [p for p in PARAMETERS if p not in parameters]
    if missing:
        raise InvalidInput(f"the central stack has no parameter {', '.join(missing)}")
    enable = parameters[ENABLE].strip().lower()
    if enable not in ("true", "false"):
        raise InvalidInput(f"{ENABLE} is {parameters[ENABLE]!r}, expected 'true' or 'false'")
    buckets, stars, cmks = (_items(parameters[p]) for p in (BUCKETS, STAR_ARNS, CMKS))
    if not len(buckets) == len(stars) == len(cmks):
        raise InvalidInput(
            f"the central lists have unequal lengths: {BUCKETS} has {len(buckets)}, "
            f"{STAR_ARNS} {len(stars)}, {CMKS} {len(cmks)} items; "
            f"position {min(len(buckets), len(stars), len(cmks)) + 1} has no partner: "
            f"{BUCKETS}={parameters[BUCKETS]!r} {STAR_ARNS}={parameters[STAR_ARNS]!r} "
            f"{CMKS}={parameters[CMKS]!r}"
        )
    entries = tuple(Entry(b, s, k) for b, s, k in zip(buckets, stars, cmks, strict=True))
    problems = [p for i, e in enumerate(entries, 1) for p in _entry_problems(e, i)]
    if problems:
        raise InvalidInput("; ".join(problems))
    return Registry(enabled=enable == "true", entries=entries)


def render(registry: Registry) -> dict[str, str]:
    """The four parameter values, canonically: comma separated, no spaces."""
    return {
        ENABLE: "true" if registry.enabled else "false",
        BUCKETS: ",".join(e.bucket for e in registry.entries),
        STAR_ARNS: ",".join(e.star_arn for e in registry.entries),
        CMKS: ",".join(e.cmk for e in registry.entries),
    }


ChangeKind = Literal["added", "key-replaced", "unchanged", "removed", "not-registered"]
EntryStatus = Literal["unchanged", "added", "removed", "key-replaced"]


@dataclass(frozen=True)
class Change:
    """A registry before and after one merge or removal, with what happened in words."""

    before: Registry
    after: Registry
    kind: ChangeKind
    message: str
    entry: Entry | None = None
    previous_cmk: str | None = None

    @property
    def changes_anything(self) -> bool:
        return self.before != self.after


def _single_position(registry: Registry, bucket: str) -> int | None:
    positions = registry.positions(bucket)
    if len(positions) > 1:
        listed = " and ".join(str(p + 1) for p in positions)
        raise InvalidInput(
            f"bucket {bucket!r} is registered {len(positions)} times (positions {listed}); "
            "fix the central stack's lists by hand before changing this developer"
        )
    return positions[0] if positions else None


def merge(registry: Registry, entry: Entry) -> Change:
    """Register `entry` at the end, or update its key in place; replication ends enabled."""
    position = _single_position(registry, entry.bucket)
    entries = list(registry.entries)
    kind: ChangeKind
    if position is None:
        entries.append(entry)
        kind, message, previous = "added", f"{entry.bucket} is added at position {len(entries)}", None
    elif entries[position].cmk == entry.cmk:
        kind, message, previous = "unchanged", f"{entry.bucket} is already registered", None
    else:
        previous = entries[position].cmk
        entries[position] = replace(entries[position], cmk=entry.cmk)
        kind = "key-replaced"
        message = f"{entry.bucket} is registered with key {previous}; its key becomes {entry.cmk}"
    after = Registry(enabled=True, entries=tuple(entries))
    if kind == "unchanged" and not registry.enabled:
        message += "; replication is paused and will be turned on"
    return Change(registry, after, kind, message, entry, previous)


def remove(registry: Registry, *, bucket: str | None = None, cmk: str | None = None) -> Change:
    """Take one developer out, matched by bucket (or by key when the bucket is unknown)."""
    if bucket is not None:
        position = _single_position(registry, bucket)
        label = bucket
    elif cmk is not None:
        matches = [i for i, e in enumerate(registry.entries) if e.cmk == cmk]
        if len(matches) > 1:
            raise InvalidInput(f"key {cmk} is registered for several buckets; name the bucket")
        position = matches[0] if matches else None
        label = cmk
    else:
        raise ValueError("remove needs a bucket or a key ARN")
    if position is None:
        return Change(registry, registry, "not-registered", f"{label} is not registered; nothing to remove")
    gone = registry.entries[position]
    entries = registry.entries[:position] + registry.entries[position + 1 :]
    after = Registry(enabled=registry.enabled and bool(entries), entries=entries)
    message = f"{gone.bucket} is removed from position {position + 1}"
    if not entries:
        message += "; no developer remains, so replication is turned off"
    return Change(registry, after, "removed", message, gone)


# ---- diff -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryDiff:
    status: EntryStatus
    entry: Entry
    previous_cmk: str | None = None


@dataclass(frozen=True)
class Diff:
    parameters: dict[str, tuple[str, str]]
    entries: tuple[EntryDiff, ...] = field(default_factory=tuple)

    @property
    def changed_parameters(self) -> list[str]:
        return [p for p, (a, b) in self.parameters.items() if a != b]


def diff(change: Change, raw_before: Mapping[str, str] | None = None) -> Diff:
    """Per parameter (as deployed -> as it will be written) and per entry."""
    before = dict(raw_before) if raw_before is not None else render(change.before)
    after = render(change.after)
    params = {p: (before.get(p, ""), after[p]) for p in PARAMETERS}
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


# ---- limits ---------------------------------------------------------------------------


def _policy_size(actions: Sequence[str], resources: Sequence[str]) -> int:
    """Characters IAM counts for the managed policy the template derives from one list."""
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}],
    }
    return len(re.sub(r"\s", "", json.dumps(doc)))


def limit_problems(registry: Registry) -> list[str]:
    """Every limit the rendered registry would pass, in words; empty when it fits."""
    values = render(registry)
    problems = []
    for name in (BUCKETS, STAR_ARNS, CMKS):
        size = len(values[name].encode())
        if size > PARAMETER_LIMIT:
            problems.append(
                f"{name} would be {size:,} bytes, over CloudFormation's {PARAMETER_LIMIT:,}-byte "
                "limit for a parameter value"
            )
    stars = [e.star_arn for e in registry.entries]
    cmks = [e.cmk for e in registry.entries]
    for label, size in (
        ("ReplicationWriteBuckets", _policy_size(WRITE_ACTIONS, stars)),
        ("ReplicationUseKeys", _policy_size(KEY_ACTIONS, cmks)),
    ):
        if size > MANAGED_POLICY_LIMIT:
            problems.append(
                f"the managed policy {label} would be {size:,} characters, over IAM's "
                f"{MANAGED_POLICY_LIMIT:,}-character limit"
            )
    return problems


def fits(registry: Registry) -> bool:
    return not limit_problems(registry)


def check_limits(change: Change) -> None:
    """Refuse a change whose lists would pass a limit, naming it and how many developers fit."""
    problems = limit_problems(change.after)
    if not problems:
        return
    n = len(change.after.entries)
    fitting = n
    while fitting > 0 and not fits(Registry(True, change.after.entries[:fitting])):
        fitting -= 1
    raise InvalidInput(f"{problems[0]}: {n} developers would be registered and at most {fitting} fit with these values")


@dataclass(frozen=True)
class Capacity:
    used: int
    fits: int  # developers that fit in all, counting those registered


_TYPICAL = Entry(
    "xacct-build-123456789012-us-east-1",
    "arn:aws:s3:::xacct-build-123456789012-us-east-1/*",
    "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012",
)


def capacity(registry: Registry) -> Capacity:
    """How many developers are registered and how many would fit, assuming entries like the
    largest one registered (or a typical one when none is)."""
    pad = max(
        registry.entries or (_TYPICAL,),
        key=lambda e: max(len(e.bucket), len(e.star_arn), len(e.cmk)),
    )
    entries = list(registry.entries)
    while fits(Registry(True, (*entries, pad))):
        entries.append(pad)
    return Capacity(used=len(registry.entries), fits=len(entries))
