"""Many developers in one run (--from FILE): the file's shape, and the one central change that
registers a whole batch. Pure: what the batch merges to, and whether it fits, are decided from
the lists as read, in the file's order, before anything starts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xacct.core import capacity
from xacct.core import registry as reg
from xacct.core.answers import Answers, from_mapping
from xacct.core.words import counted
from xacct.errors import InvalidInput

DEVELOPER_KEYS = ("dev_account", "dev_region", "dev_profile")


@dataclass(frozen=True)
class Fleet:
    shared: Answers  # the build answers, and defaults for every developer
    developers: tuple[Answers, ...]


def parse(data: Any, source: str) -> Fleet:
    """A mapping with the answers keys at the top and `developers:`, a list of mappings of
    dev_account, dev_region and dev_profile."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{source} must hold a mapping: the build answers and developers:")
    rest = {k: v for k, v in data.items() if k != "developers"}
    shared = from_mapping(rest, source)
    listed = data.get("developers")
    if not isinstance(listed, list) or not listed:
        raise InvalidInput(f"{source}: developers: must be a list with at least one developer")
    developers = []
    for n, item in enumerate(listed, 1):
        where = f"{source}: developer {n}"
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where} must be a mapping of {', '.join(DEVELOPER_KEYS)}")
        unknown = sorted(str(k) for k in item if k not in DEVELOPER_KEYS)
        if unknown:
            raise InvalidInput(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(DEVELOPER_KEYS)})")
        developers.append(from_mapping(item, where))
    return Fleet(shared, tuple(developers))


def merge_all(before: reg.Registry, entries: Sequence[reg.Entry]) -> reg.Change:
    """Every entry merged in order after the existing ones: one change for the whole batch."""
    registry, kinds = before, []
    for entry in entries:
        step = reg.merge(registry, entry)
        kinds.append(step.kind)
        registry = step.after
    added, replaced, kept = kinds.count("added"), kinds.count("key-replaced"), kinds.count("unchanged")
    words = [f"{added} added"] + ([f"{replaced} with a new key"] if replaced else [])
    words += [f"{kept} already registered"] if kept else []
    kind: reg.ChangeKind = "added" if added else "key-replaced" if replaced else "unchanged"
    return reg.Change(before, registry, kind, ", ".join(words) + f" (a batch of {len(entries)})")


def check_batch(before: reg.Registry, entries: Sequence[reg.Entry]) -> reg.Change:
    """The batch's change, or a refusal naming the limit and how many of the batch fit (the first
    ones in the file)."""
    change = merge_all(before, entries)
    problems = capacity.limit_problems(change.after)
    if not problems:
        return change
    fitting = len(entries)
    while fitting > 0 and capacity.limit_problems(merge_all(before, entries[:fitting]).after):
        fitting -= 1
    raise InvalidInput(
        f"{problems[0]}: the batch of {len(entries)} would register {counted(len(change.after.entries), 'developer')}; "
        f"only the first {fitting} of the batch fit",
        hint=f"split the file: keep the first {counted(fitting, 'developer')} in this one",
    )
