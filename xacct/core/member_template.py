"""The one template an OU's stack set deploys into each member account: the three stock developer
templates (CrossAccountPrimary, CrossAccountDeploy, CrossAccountDeveloper) as one stack. Pure.

Why one: a stack set deploys the same template and parameters to every account of an OU, and
StackSets orders nothing between stack sets (automatic deployment runs each stack set's operation
on its own), while the stock deployment roles and developer stack import the primary's exports
(`CrossAccountCMK`, `BuildBucket`) and take the account and the key as parameters. In one template
those become references inside the stack: no import to wait for, no account-specific parameter, one
stack instance per account that succeeds or fails whole, one operation per run.

The merge is mechanical and checked: every resource, condition and output of the three keeps its
logical id (none may collide); `Fn::ImportValue` of the primary's exports becomes the resource it
exports; the deployment roles' `BuildAccount` becomes `AWS::AccountId` (the stock onboarding passes
the developer's own account) and `CMKARNs` the artifact key; the developer stack's
`ReplicationFunctionRoleArn` is the primary's `ReplicationWriterRoleArn` (both the central role).
The result is JSON (long-form intrinsic functions) and is sent inline, as CreateStackSet's and
UpdateStackSet's TemplateBody: it must stay within the 51,200 bytes CloudFormation takes inline (a test
holds it there; the emulator refuses more, as CloudFormation does)."""

from __future__ import annotations

import json
from typing import Any

IMPORTS = {"CrossAccountCMK": {"Fn::GetAtt": ["ArtifactKey", "Arn"]}, "BuildBucket": {"Ref": "BuildBucket"}}
REPLACED = {
    "BuildAccount": {"Ref": "AWS::AccountId"},
    "CMKARNs": {"Fn::GetAtt": ["ArtifactKey", "Arn"]},
    "ReplicationFunctionRoleArn": {"Ref": "ReplicationWriterRoleArn"},
}
SUBSTITUTED = {"${BuildAccount}": "${AWS::AccountId}"}
SECTIONS = ("Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs")


def load(text: str) -> dict[str, Any]:
    """A template in YAML with short-form tags, as plain data with long-form intrinsic functions."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    def tagged(loader: Any, suffix: str, node: Any) -> object:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "Condition":
            return {"Condition": value}
        if suffix == "GetAtt" and isinstance(value, str):
            return {"Fn::GetAtt": value.split(".", 1)}
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", tagged)
    loaded: dict[str, Any] = yaml.load(text, Loader=Loader)
    return loaded


def _rewrite(node: Any, shadowed: frozenset[str] = frozenset()) -> Any:
    """`shadowed`: names an enclosing Fn::Sub defines itself (its own ${BuildAccount} is not the
    parameter's, as in the developer stack's role name)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"} and node["Fn::ImportValue"] in IMPORTS:
            return IMPORTS[node["Fn::ImportValue"]]
        if set(node) == {"Ref"} and node["Ref"] in REPLACED:
            return REPLACED[node["Ref"]]
        split = node.get("Fn::Split")
        if set(node) == {"Fn::Split"} and isinstance(split, list) and split[1] == {"Ref": "CMKARNs"}:
            return [REPLACED["CMKARNs"]]  # one key: the list the stock template splits out of a parameter
        sub = node.get("Fn::Sub")
        if set(node) == {"Fn::Sub"} and isinstance(sub, list) and len(sub) == 2 and isinstance(sub[1], dict):
            inner = shadowed | frozenset(sub[1])
            return {"Fn::Sub": [_rewrite(sub[0], inner), _rewrite(sub[1], shadowed)]}
        return {k: _rewrite(v, shadowed) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, shadowed) for v in node]
    if isinstance(node, str):
        for old, new in SUBSTITUTED.items():
            if old[2:-1] not in shadowed:
                node = node.replace(old, new)
        return node
    return node


def merged(primary: str, deploy: str, developer: str) -> dict[str, Any]:
    parts = [load(primary), load(deploy), load(developer)]
    out: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "xacct developer account, deployed by an OU's stack set: "
        "the primary, deployment-role and developer stacks as one.",
    }
    for section in SECTIONS:
        combined: dict[str, Any] = {}
        for part in parts:
            for key, value in (part.get(section) or {}).items():
                if section == "Parameters" and key in REPLACED:
                    continue
                if key in combined:
                    raise ValueError(f"{section} {key} is declared by two of the developer templates")
                combined[key] = _rewrite(value)
        if combined:
            out[section] = combined
    left = _names(out, "Ref") & set(REPLACED)
    imported = {str(v) for v in _values(out, "Fn::ImportValue")}
    if left or imported:
        raise ValueError(f"the merged template still refers to {sorted(left | imported)}")
    return out


def render(primary: str, deploy: str, developer: str) -> str:
    return json.dumps(merged(primary, deploy, developer), separators=(",", ":"), sort_keys=False)


def _values(node: Any, key: str) -> list[Any]:
    if isinstance(node, dict):
        found = [node[key]] if key in node else []
        return found + [x for v in node.values() for x in _values(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in _values(v, key)]
    return []


def _names(node: Any, key: str) -> set[str]:
    return {v for v in _values(node, key) if isinstance(v, str)}
