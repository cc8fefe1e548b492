"""What a stack's policies grant, before and after a change, statement by statement (as `cdk diff`
shows IAM changes): read from the template with the parameters it will be deployed with, its
intrinsic functions resolved as far as they can be before deployment. Pure."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Where the templates keep policies: resource type -> the properties that hold a policy document.
POLICY_PROPERTIES = {
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
}
_NO_VALUE = object()


@dataclass(frozen=True)
class Grant:
    """One policy statement, as a reviewer reads it."""

    resource: str  # logical id (type) of the resource whose policy it is
    effect: str
    principal: str
    actions: tuple[str, ...]
    targets: tuple[str, ...]
    condition: str

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "effect": self.effect,
            "principal": self.principal,
            "actions": list(self.actions),
            "targets": list(self.targets),
            "condition": self.condition,
        }


@dataclass(frozen=True)
class GrantChanges:
    stack: str
    where: str  # "developer 222222222222 us-east-1"
    added: tuple[Grant, ...]
    removed: tuple[Grant, ...]


def load(template: str) -> dict[str, Any]:
    """A template with CloudFormation's short tags as the long form (`!Sub x` -> {"Fn::Sub": x}).
    Parsed once per text (libyaml where installed): a run reads the same few templates for every
    developer's plan, grants and export checks; each caller gets its own copy."""
    return copy.deepcopy(_parsed(template))


@functools.lru_cache(maxsize=16)
def _parsed(template: str) -> dict[str, Any]:
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", tagged)
    doc = yaml.load(template, Loader=Loader)
    return doc if isinstance(doc, dict) else {}


class _Resolver:
    def __init__(self, doc: Mapping[str, Any], parameters: Mapping[str, str], pseudo: Mapping[str, str]) -> None:
        self.doc, self.pseudo = doc, pseudo
        declared = doc.get("Parameters") or {}
        self.parameters = {k: str((v or {}).get("Default", "")) for k, v in declared.items()} | dict(parameters)
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value((self.doc.get("Conditions") or {}).get(name)))
        return self.conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE}
        ((key, arg),) = node.items()
        if key == "Ref":
            return self._ref(str(arg))
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::If":
            return self.value(arg[1] if self.condition(str(arg[0])) else arg[2])
        if key == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if key == "Fn::Not":
            return not self.value(arg[0])
        if key in ("Fn::And", "Fn::Or"):
            found = [bool(self.value(a)) for a in arg]
            return all(found) if key == "Fn::And" else any(found)
        if key == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(names.get(m.group(1)) or self._name(m.group(1))), text)
        if key == "Fn::Split":
            return str(self.value(arg[1])).split(str(arg[0]))
        if key == "Fn::Join":
            return str(arg[0]).join(str(v) for v in self.value(arg[1]))
        if key == "Fn::Select":
            items = self.value(arg[1])
            index = int(self.value(arg[0]))
            return items[index] if index < len(items) else ""
        if key == "Fn::GetAtt":
            return f"<{'.'.join(arg)}>"
        if key == "Fn::ImportValue":
            return f"<the export {self.value(arg)}>"
        return {key: self.value(arg)}

    def _name(self, name: str) -> str:
        if "." in name:
            return f"<{name}>"
        return str(self._ref(name))

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return f"<{name}>"  # a resource: its physical id, known once it exists


def _text(value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    return ", ".join(str(i) for i in items)


def _principal(statement: Mapping[str, Any]) -> str:
    principal = statement.get("Principal")
    if principal is None:
        return "(this role or policy's holder)"
    if not isinstance(principal, Mapping):
        return str(principal)
    return "; ".join(f"{kind}: {_text(value)}" for kind, value in principal.items())


ACCOUNT_KEYS = {"aws:resourceaccount", "aws:principalaccount", "s3:resourceaccount", "kms:calleraccount"}


def _test(op: str, key: str, value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    if all(str(v) == "" for v in values) and op.startswith(("StringEquals", "ArnEquals", "StringLike", "ArnLike")):
        # The overflow grants' lists before any developer is past the four parameter lists: [""].
        if key.lower() in ACCOUNT_KEYS:
            return f"{op} {key} matches no account (no developers past the four lists yet)"
        return f"{op} {key} matches nothing (an empty value)"
    return f"{op} {key} {_text(value)}"


def _condition(statement: Mapping[str, Any]) -> str:
    found = statement.get("Condition") or {}
    return "; ".join(_test(op, key, value) for op, tests in found.items() for key, value in tests.items())


def grants(template: str, parameters: Mapping[str, str] | None, pseudo: Mapping[str, str]) -> set[Grant]:
    """Every policy statement the stack holds with these parameters (None: the stack does not exist)."""
    if parameters is None:
        return set()
    doc = load(template)
    resolve = _Resolver(doc, parameters, pseudo)
    found: set[Grant] = set()
    for logical, resource in (doc.get("Resources") or {}).items():
        kind = str(resource.get("Type", ""))
        if resource.get("Condition") and not resolve.condition(str(resource["Condition"])):
            continue
        properties = resource.get("Properties") or {}
        documents = [properties.get(p) for p in POLICY_PROPERTIES.get(kind, ())]
        if kind == "AWS::IAM::Role":
            documents += [p.get("PolicyDocument") for p in properties.get("Policies") or [] if isinstance(p, dict)]
        for raw in documents:
            document = resolve.value(raw) if raw is not None else None
            if not isinstance(document, dict):
                continue
            statements = document.get("Statement") or []
            for s in statements if isinstance(statements, list) else [statements]:
                found.add(
                    Grant(
                        f"{logical} ({kind})",
                        str(s.get("Effect", "")),
                        _principal(s),
                        tuple(str(a) for a in _listed(s.get("Action") or s.get("NotAction"))),
                        tuple(str(r) for r in _listed(s.get("Resource") or s.get("NotResource"))),
                        _condition(s),
                    )
                )
    return found


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def changes(
    stack: str,
    where: str,
    template: str,
    *,
    before: Mapping[str, str] | None,
    after: Mapping[str, str] | None,
    pseudo: Mapping[str, str],
    before_template: str | None = None,
) -> GrantChanges:
    old, new = grants(before_template or template, before, pseudo), grants(template, after, pseudo)
    order = sorted  # a stable order to read
    return GrantChanges(
        stack,
        where,
        tuple(order(new - old, key=lambda g: json.dumps(g.to_json()))),
        tuple(order(old - new, key=lambda g: json.dumps(g.to_json()))),
    )


@dataclass(frozen=True)
class StackChange:
    """One developer stack, as deployed (None: absent) and as it will be (None: deleted)."""

    name: str
    side: str  # "developer" or "build"
    account: str
    region: str
    template: str
    before: dict[str, str] | None
    after: dict[str, str] | None
    partition: str = "aws"
    before_template: str | None = None  # when the stack holds another template than `template` (adopted)

    @property
    def where(self) -> str:
        return f"{self.side} {self.account} {self.region}"

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
        }


def _collect(stacks: list[StackChange]) -> list[GrantChanges]:
    found = []
    for st in stacks:
        change = changes(
            st.name, st.where, st.template, before=st.before, after=st.after, pseudo=st.pseudo,
            before_template=st.before_template,
        )  # fmt: skip
        if change.added or change.removed:
            found.append(change)
    return found


def resource_changes(stack: StackChange) -> list[tuple[str, str, str]]:
    """(action, logical id, type) of each resource the change adds, modifies or removes, as far as
    the template says: a resource whose properties resolve differently is modified."""
    doc = load(stack.template)
    old_doc = load(stack.before_template) if stack.before_template else doc
    old = _Resolver(old_doc, stack.before, stack.pseudo) if stack.before is not None else None
    new = _Resolver(doc, stack.after, stack.pseudo) if stack.after is not None else None
    found = []
    old_resources, new_resources = old_doc.get("Resources") or {}, doc.get("Resources") or {}

    def present(r: _Resolver | None, resource: Any) -> bool:
        condition = (resource or {}).get("Condition")
        return r is not None and resource is not None and (not condition or r.condition(str(condition)))

    for logical in {**old_resources, **new_resources}:
        a, b = old_resources.get(logical), new_resources.get(logical)
        was, will = present(old, a), present(new, b)
        kind = str((b or a or {}).get("Type", ""))
        if will and not was:
            found.append(("Add", logical, kind))
        elif was and not will:
            found.append(("Remove", logical, kind))
        elif (
            old is not None
            and new is not None
            and was
            and will
            and old.value((a or {}).get("Properties") or {}) != new.value((b or {}).get("Properties") or {})
        ):
            found.append(("Modify", logical, kind))
    return found


def granted(stacks: list[StackChange]) -> list[GrantChanges]:
    """What the stacks will grant and stop granting."""
    return _collect(stacks)
