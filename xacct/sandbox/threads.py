"""One account's stacks, stack sets, exports and change sets are read and written by requests on many
threads at once (a developer's stacks are made side by side, a batch reads many at a time). moto walks
them in Python loops (DescribeStacks, ListExports, CreateChangeSet's search for its stack) while another
request adds one: "dictionary changed size during iteration", a 500 for a request AWS would answer.
Each walk here is over a copy made in one step, which no other thread can interleave with."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from xacct.sandbox.cloudformation._moto import cfn_models
from xacct.sandbox.patching import around

HELD = ("stacks", "stacksets", "deleted_stacks", "exports", "change_sets")


class Held(OrderedDict[str, Any]):
    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def keys(self) -> Any:
        return list(super().keys())

    def values(self) -> Any:
        return list(super().values())

    def items(self) -> Any:
        return list(super().items())


def install() -> None:
    @around(cfn_models.CloudFormationBackend, "__init__")
    def init(original: Any, self: Any, region_name: str, account_id: str) -> None:
        original(self, region_name, account_id)
        for name in HELD:
            setattr(self, name, Held(getattr(self, name)))
