"""An account's resources are read and written by requests on many threads at once (a developer's
stacks are made side by side, each making its roles; a batch reads many accounts at a time). moto walks
its dicts of them in Python loops (DescribeStacks, ListExports, CreateChangeSet's search for its stack,
CreateRole's search for a role of the same name) while another request adds one: "dictionary changed
size during iteration", a 500 or a failed resource AWS would not answer. Each walk of a dict held here
is over a copy made in one step, which no other thread can interleave with."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from xacct.sandbox.patching import around


class Held(OrderedDict[str, Any]):
    """A dict whose iteration, keys(), values() and items() are lists taken in one step: a walk over
    them needs no copy of its own."""

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def keys(self) -> Any:
        return list(super().keys())

    def values(self) -> Any:
        return list(super().values())

    def items(self) -> Any:
        return list(super().items())


def hold(backend: type[Any], names: tuple[str, ...]) -> None:
    """Each backend of this class holds these dicts as Held, from its construction on."""

    @around(backend, "__init__")
    def init(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for name in names:
            setattr(self, name, Held(getattr(self, name)))
