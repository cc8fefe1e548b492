"""Whether a registry fits every AWS limit its parameters and grants meet, and how many more
developers fit. Pure. The refusal names the first limit passed and how many fit; `--status`
shows what each limit holds."""

from __future__ import annotations

from dataclasses import dataclass

from xacct.core import limits
from xacct.core import registry as reg
from xacct.core.words import counted
from xacct.errors import InvalidInput


def uses(registry: reg.Registry) -> list[limits.Use]:
    """Every limit the rendered registry meets that grows with developers, as it would be used."""
    values = reg.render(registry)
    first = registry.held(0)
    found = [limits.parameter(name, values[name]) for name in (reg.BUCKETS, reg.STAR_ARNS, reg.CMKS)]
    found += limits.named_grants([e.star_arn for e in first], [e.cmk for e in first])
    if registry.overflowing or registry.spill:
        found += [limits.parameter(name, values.get(name, "")) for name in reg.MORE]
        found += [limits.parameter(name, values.get(name, "")) for name in reg.MORE_ACCOUNTS]
        found += [limits.account_grant(n, accounts) for n, accounts in enumerate(registry.granted, 1)]
    return found


def limit_problems(registry: reg.Registry) -> list[str]:
    """Every limit the registry would pass, in words; empty when it fits."""
    problems = [u.refusal() for u in uses(registry) if u.over]
    past = max(registry.places, default=0)
    if past > len(reg.MORE):
        problems.append(
            f"every overflow parameter ({reg.MORE[0]} to {reg.MORE[-1]}) would be full: "
            f"the central stack holds no more developers"
        )
    if len(registry.granted) > len(reg.MORE_ACCOUNTS):
        problems.append(f"the accounts past the four lists would not fit {' and '.join(reg.MORE_ACCOUNTS)}")
    for i, entry in enumerate(registry.entries):
        why = reg.overflow_problem(entry) if registry.place(i) else None
        if why:
            first = len(registry.held(0))
            problems.append(
                f"developer {i + 1} ({entry.bucket}) would be written past the first {first}, whose grants name "
                f"each bucket and key, where the grant is bounded by account: {why}"
            )
    return problems


def fits(registry: reg.Registry) -> bool:
    return not limit_problems(registry)


def check_limits(change: reg.Change) -> None:
    """Refuse a change whose registry would pass a limit, naming it and how many developers fit."""
    problems = limit_problems(change.after)
    if not problems:
        return
    n = len(change.after.entries)
    fitting = min(n - 1, len(change.before.entries) + room(change.before, change.entry))
    raise InvalidInput(
        f"{problems[0]}: {counted(n, 'developer')} would be registered and at most {fitting} fit with these values"
    )


@dataclass(frozen=True)
class Capacity:
    used: int
    fits: int  # developers that fit in all, counting those registered


_TYPICAL = reg.Entry(
    "xacct-build-123456789012-us-east-1",
    "arn:aws:s3:::xacct-build-123456789012-us-east-1/*",
    "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012",
)


def _largest(registry: reg.Registry) -> reg.Entry:
    standard = [e for e in registry.entries if reg.overflow_problem(e) is None]
    return max(standard or [_TYPICAL], key=lambda e: max(len(e.bucket), len(e.star_arn), len(e.cmk)))


def room(registry: reg.Registry, like: reg.Entry | None = None) -> int:
    """How many more developers fit, each like `like` (default: the largest registered, or a
    typical one) and each in an account of its own: counted limit by limit, not by trial."""
    pad = like or _largest(registry)
    last = max(registry.places, default=0)
    more = 0
    if last == 0:
        first = registry.held(0)
        while more < 1000 and _first_fits(first, pad, more + 1):
            more += 1
    if reg.overflow_problem(pad) is not None:
        return more
    item = len(reg.more_item(pad).encode()) + 1  # and its comma
    values = reg.render(registry)
    free = 0
    for n, name in enumerate(reg.MORE, 1):
        if n < max(last, 1):
            continue
        used = len(values.get(name, "").encode())
        free += (limits.PARAMETER_LIMIT - used + (0 if used else 1)) // item
    accounts = 0
    lists = list(registry.granted) + [()] * (len(reg.MORE_ACCOUNTS) - len(registry.granted))
    for n, listed in enumerate(lists[: len(reg.MORE_ACCOUNTS)]):
        if n < len(registry.granted) - 1:
            continue
        accounts += _accounts_room(list(listed))
    return more + min(free, accounts)


def _first_fits(first: list[reg.Entry], pad: reg.Entry, count: int) -> bool:
    entries = [*first, *[pad] * count]
    values = [
        ",".join(e.bucket for e in entries),
        ",".join(e.star_arn for e in entries),
        ",".join(e.cmk for e in entries),
    ]
    if any(limits.parameter("", v).over for v in values):
        return False
    return not any(u.over for u in limits.named_grants([e.star_arn for e in entries], [e.cmk for e in entries]))


def _accounts_room(listed: list[str]) -> int:
    count = 0
    while count < 1000:
        candidate = [*listed, *["123456789012"] * (count + 1)]
        if limits.parameter("", ",".join(candidate)).over or limits.account_grant(0, candidate).over:
            break
        count += 1
    return count


def capacity(registry: reg.Registry) -> Capacity:
    """How many developers are registered and how many would fit in all."""
    return Capacity(used=len(registry.entries), fits=len(registry.entries) + room(registry))
