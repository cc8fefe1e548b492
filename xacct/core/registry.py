"""The central stack's replication lists as a table of developers: parse, merge, remove, limits.

Pure: no AWS calls, no printing. Every other developer's entry is carried through untouched
(value and position); anything that cannot be interpreted is refused with the position and
the values, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from xacct.core import limits
from xacct.errors import InvalidInput

ENABLE = "EnableReplication"
BUCKETS = "ReplicationBucketList"
STAR_ARNS = "ReplicationBucketStarArns"
CMKS = "ReplicationCMKs"
PARAMETERS = (ENABLE, BUCKETS, STAR_ARNS, CMKS)
# Developers past what the four lists hold, in order, as BUCKET=KEY-ID (the key in the bucket's
# account and region), and the accounts they are in, which the account-bounded grants admit.
MORE = tuple(f"ReplicationMore{n:02d}" for n in range(1, 11))
MORE_ACCOUNTS = ("ReplicationMoreAccounts1", "ReplicationMoreAccounts2")
OVERFLOW = MORE + MORE_ACCOUNTS

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_PARTITION = r"aws(?:-[a-z]+)*"
_STAR_ARN = re.compile(rf"^arn:({_PARTITION}):s3:::(?P<bucket>[^/]+)/\*$")
_HEX = "[0-9a-fA-F]"
_KEY_ID = rf"(?:mrk-{_HEX}{{32}}|{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
_STANDARD = re.compile(r"^xacct-build-(?P<account>\d{12})-(?P<region>[a-z]{2,4}(?:-[a-z]+)+-\d+)$")
_MORE_ITEM = re.compile(rf"^(?P<bucket>[^=]+)=(?P<key>{_KEY_ID})$")
_ACCOUNT = re.compile(r"^\d{12}$")
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


def standard_account(bucket: str) -> str | None:
    """The account a bucket named as this project names them (xacct-build-ACCOUNT-REGION) is for."""
    m = _STANDARD.match(bucket)
    return m.group("account") if m else None


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


def partition_of(arn: str | None) -> str:
    """The partition of an ARN (a stack's id), "aws" when there is none yet."""
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


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
    """Every registered developer in order. `places` says where each is written: 0 in the four
    lists, n in ReplicationMore{n:02d} (empty when all are in the four lists); `granted` the
    account lists of the overflow grants. An entry stays where it was written: only its own
    addition, key change or removal touches the parameter that holds it."""

    enabled: bool
    entries: tuple[Entry, ...] = ()
    places: tuple[int, ...] = ()
    granted: tuple[tuple[str, ...], ...] = ()
    spill: bool = field(default=False, compare=False)  # the template declares the overflow parameters

    def __post_init__(self) -> None:
        if self.places and not any(self.places):
            object.__setattr__(self, "places", ())
        granted = list(self.granted)
        while granted and not granted[-1]:
            granted.pop()
        object.__setattr__(self, "granted", tuple(granted))

    @property
    def buckets(self) -> list[str]:
        return [e.bucket for e in self.entries]

    def positions(self, bucket: str) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.bucket == bucket]

    def place(self, index: int) -> int:
        return self.places[index] if self.places else 0

    def held(self, place: int) -> list[Entry]:
        return [e for i, e in enumerate(self.entries) if self.place(i) == place]

    @property
    def overflowing(self) -> bool:
        """Some developers are past the four lists: the template must declare the overflow parameters."""
        return bool(self.places) or bool(self.granted)


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


def overflow_problem(entry: Entry) -> str | None:
    """Why `entry` cannot be written past the four lists, or None. There the grant is bounded by
    account over the xacct-build-* buckets and the keys of those accounts, so the bucket must be
    named by that rule and its key be in the bucket's account and region."""
    m = _STANDARD.match(entry.bucket)
    if not m:
        return f"its bucket {entry.bucket} is not named xacct-build-ACCOUNT-REGION"
    parts = entry.cmk.split(":")  # a key not created yet has its account and region already
    if len(parts) < 6 or parts[4] != m.group("account") or parts[3] != m.group("region"):
        return f"its key {entry.cmk} is not in the bucket's account and region"
    return None


def more_item(entry: Entry) -> str:
    return f"{entry.bucket}={entry.cmk.rsplit('/', 1)[-1]}"


def account_of(entry: Entry) -> str:
    return key_account(entry.cmk) or ""


def _more_entry(item: str, name: str, position: int, partition: str) -> tuple[Entry | None, str | None]:
    m = _MORE_ITEM.match(item)
    standard = _STANDARD.match(m.group("bucket")) if m else None
    if not m or not standard:
        return None, f"{name} at position {position}: {item!r} is not xacct-build-ACCOUNT-REGION=KEY-ID"
    bucket, account, region = m.group("bucket"), standard.group("account"), standard.group("region")
    cmk = f"arn:{partition}:kms:{region}:{account}:key/{m.group('key')}"
    return Entry(bucket, star_arn_for(bucket, partition), cmk), None


def parse(parameters: Mapping[str, str], partition: str = "aws") -> Registry:
    """Read the replication parameters as deployed; refuse what cannot be interpreted."""
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
    entries = [Entry(b, s, k) for b, s, k in zip(buckets, stars, cmks, strict=True)]
    problems = [p for i, e in enumerate(entries, 1) for p in _entry_problems(e, i)]
    places = [0] * len(entries)
    for n, name in enumerate(MORE, 1):
        for i, item in enumerate(_items(parameters.get(name, "")), 1):
            entry, problem = _more_entry(item, name, i, partition)
            if entry is None:
                problems.append(str(problem))
                continue
            entries.append(entry)
            places.append(n)
    granted = tuple(tuple(_items(parameters.get(name, ""))) for name in MORE_ACCOUNTS)
    problems += [
        f"{name}: {account!r} is not a 12-digit account ID"
        for name, listed in zip(MORE_ACCOUNTS, granted, strict=True)
        for account in listed
        if not _ACCOUNT.match(account)
    ]
    if problems:
        raise InvalidInput("; ".join(problems))
    spill = all(name in parameters for name in OVERFLOW)
    return Registry(enable == "true", tuple(entries), tuple(places), granted, spill)


def render(registry: Registry) -> dict[str, str]:
    """The parameter values, canonically: comma separated, no spaces; the overflow parameters
    whenever the template declares them or the registry needs them."""
    first = registry.held(0)
    values = {
        ENABLE: "true" if registry.enabled else "false",
        BUCKETS: ",".join(e.bucket for e in first),
        STAR_ARNS: ",".join(e.star_arn for e in first),
        CMKS: ",".join(e.cmk for e in first),
    }
    if registry.spill or registry.overflowing:
        for n, name in enumerate(MORE, 1):
            values[name] = ",".join(more_item(e) for e in registry.held(n))
        for n, name in enumerate(MORE_ACCOUNTS):
            values[name] = ",".join(registry.granted[n]) if n < len(registry.granted) else ""
    return values


def _fits_first(registry: Registry, entry: Entry) -> bool:
    """Whether the four lists, and the two policies that name their developers, take one more."""
    first = [*registry.held(0), entry]
    uses = [
        limits.parameter(BUCKETS, ",".join(e.bucket for e in first)),
        limits.parameter(STAR_ARNS, ",".join(e.star_arn for e in first)),
        limits.parameter(CMKS, ",".join(e.cmk for e in first)),
        *limits.named_grants([e.star_arn for e in first], [e.cmk for e in first]),
    ]
    return not any(u.over for u in uses)


def _place_for(registry: Registry, entry: Entry) -> int:
    """Where a new developer goes: after the last one, in the parameter that holds the last one
    if it has room, else in the next. Never before anyone already registered."""
    last = max(registry.places, default=0)
    if last == 0:
        return 0 if _fits_first(registry, entry) else 1
    value = ",".join(more_item(e) for e in [*registry.held(last), entry])
    return last if not limits.parameter(MORE[min(last, len(MORE)) - 1], value).over else last + 1


def _granted(registry: Registry, entries: tuple[Entry, ...], places: tuple[int, ...]) -> tuple[tuple[str, ...], ...]:
    """The overflow grants' account lists: each account of an entry past the four lists once; an
    account stays in the list that holds it, one no longer needed leaves, a new one is appended
    to the last list with room."""
    needed = list(dict.fromkeys(account_of(e) for e, p in zip(entries, places, strict=True) if p))
    lists = [[a for a in listed if a in needed] for listed in registry.granted]
    listed = {a for accounts in lists for a in accounts}
    for account in needed:
        if account in listed:
            continue
        if not lists:
            lists.append([])
        candidate = [*lists[-1], account]
        if limits.parameter("", ",".join(candidate)).over or limits.account_grant(0, candidate).over:
            lists.append([account])
        else:
            lists[-1] = candidate
    return tuple(tuple(accounts) for accounts in lists)


def _with(registry: Registry, entries: list[Entry], places: list[int], enabled: bool) -> Registry:
    e, p = tuple(entries), tuple(places)
    return Registry(enabled, e, p, _granted(registry, e, p), registry.spill)


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
    places = [registry.place(i) for i in range(len(entries))]
    kind: ChangeKind
    if position is None:
        places.append(_place_for(registry, entry))
        entries.append(entry)
        kind, message, previous = "added", f"{entry.bucket} is added at position {len(entries)}", None
    elif entries[position].cmk == entry.cmk:
        kind, message, previous = "unchanged", f"{entry.bucket} is already registered", None
    else:
        previous = entries[position].cmk
        entries[position] = replace(entries[position], cmk=entry.cmk)
        kind = "key-replaced"
        message = f"{entry.bucket} is registered with key {previous}; its key becomes {entry.cmk}"
    after = _with(registry, entries, places, True)
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
    entries = [e for i, e in enumerate(registry.entries) if i != position]
    places = [registry.place(i) for i in range(len(registry.entries)) if i != position]
    after = _with(registry, entries, places, registry.enabled and bool(entries))
    message = f"{gone.bucket} is removed from position {position + 1}"
    if not entries:
        message += "; no developer remains, so replication is turned off"
    return Change(registry, after, "removed", message, gone)
