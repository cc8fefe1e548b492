"""What is known about a stack, as plain values: its state as read, a change CloudFormation
prepared, and what a template declares. Pure: no AWS calls."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from xacct.errors import AwsFailure

Action = Literal["create", "update", "delete", "none"]


class Progress(Protocol):
    def note(self, stack: str, text: str) -> None: ...
    def event(self, stack: str, event: Mapping[str, Any]) -> None: ...


class Silent:
    def note(self, stack: str, text: str) -> None:
        pass

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class StackState:
    name: str
    status: str | None = None
    stack_id: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    remaining: tuple[str, ...] = ()  # for DELETE_FAILED: the resources still there

    @property
    def exists(self) -> bool:
        return self.status not in (None, "DELETE_COMPLETE")


@dataclass(frozen=True)
class ResourceChange:
    action: str
    logical_id: str
    resource_type: str
    replacement: str
    touches_policy: bool


@dataclass
class Prepared:
    """A stack operation ready to run: a change set waiting for approval, or nothing to do."""

    stack: str
    action: Action
    change_set_id: str | None = None
    changes: list[ResourceChange] = field(default_factory=list)


def remaining_text(state: StackState) -> str:
    if state.status != "DELETE_FAILED":
        return ""
    return "; resources that remain: " + (", ".join(state.remaining) or "none listed")


def require(state: StackState, output: str, hint: str) -> str:
    value = state.outputs.get(output)
    if not value:
        raise AwsFailure(f"stack {state.name} has no output {output}", hint=hint)
    return value


def declared_parameters(template: str) -> set[str]:
    """The parameter names a template declares (YAML with CloudFormation's short tags, or JSON)."""
    return set(_template_section(template, "Parameters"))


def declared_resources(template: str) -> set[str]:
    """The logical ids of a template's resources."""
    return set(_template_section(template, "Resources"))


def declared_types(template: str) -> list[tuple[str, str]]:
    """A template's resources as (logical id, type), in the template's order. A resource under a
    Condition may not be created; a preview from the template says so."""
    found = _template_section(template, "Resources")
    return [(k, str(v.get("Type", "?"))) for k, v in found.items() if isinstance(v, dict)]


def declared_exports(template: str) -> list[str]:
    """The export names a template's outputs declare as literal strings."""
    outputs = _template_section(template, "Outputs").values()
    names = [((o.get("Export") or {}) if isinstance(o, dict) else {}).get("Name") for o in outputs]
    return [n for n in names if isinstance(n, str)]


_PARSING = threading.Lock()  # a batch's developers ask at once: one of them parses, the rest wait


def _template_section(template: str, section: str) -> dict[str, Any]:
    with _PARSING:
        found = _sections(template).get(section)
    return found if isinstance(found, dict) else {}


@functools.lru_cache(maxsize=16)
def _sections(template: str) -> dict[str, Any]:
    """A template's top-level sections, parsed once per text (read only: every caller only reads).
    The stock primary template is 48 KB: parsed again for each developer of a batch, it cost half a
    second of CPU each."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where installed

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    def tagged(loader: Any, suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", tagged)
    try:
        doc = yaml.load(template, Loader=Loader)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def carried(
    template: str, state: StackState, parameters: Mapping[str, str], keep: Mapping[str, str] | None
) -> dict[str, str]:
    """What an operation passes: on an update, every parameter not being changed with the value
    just read (left out, it would fall back to the template's default), as far as the template
    still declares it; then the parameters being set."""
    if not state.exists:
        return dict(parameters)
    declared = declared_parameters(template)
    current = keep if keep is not None else state.parameters
    return {**{k: v for k, v in current.items() if k in declared}, **parameters}
