"""--adopt: a stack of the seed project's primary template moved to this project's, in place, as a
plain value computed from what was read. Pure.

The moved template is this project's, with four kinds of care so that nothing with data or a name
others rely on is replaced or deleted:
- the seed's logical ids where the two templates hold the same thing (the key is `KMSKey`, not
  `ArtifactKey`): a new logical id is a new resource, and the old one is deleted;
- the seed's values of every property whose change replaces a resource (createOnlyProperties: the
  buckets keep their generated names, the role and function their names);
- the seed's resources this project has no counterpart for (the pipelines' roles, the topic, the
  artifact-sync function, the key's alias), with their conditions and outputs, carried over as they are;
- every export the seed made, with the same value.
Then, independently of how it was made, the move is checked: a replaced resource, a deleted key or
bucket, or a lost export is a danger, and a plan with a danger is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xacct.core import grants
from xacct.core.create_only import CREATE_ONLY

# The seed's logical id of what this project's template calls otherwise.
RENAMES = {
    "ArtifactKey": "KMSKey",
    "Replicator": "ReplicationFunction",
    "ReplicatorInvokePermission": "ReplicationLambdaPermission",
}
# The seed's replication grants (s3:* and kms:* on every developer bucket and key), replaced by
# this project's narrower ones: deleted by the move, not carried over.
REPLACED_BY_OURS = ("ReplicationPolicy",)
STATEFUL = ("AWS::KMS::Key", "AWS::S3::Bucket")
# This project's bucket names, as its template writes them; an adopted stack keeps the seed's.
_OUR_BUCKETS = {
    "BuildBucket": "xacct-build-${AWS::AccountId}-${AWS::Region}",
    "PipelineBucket": "xacct-pipeline-${AWS::AccountId}-${AWS::Region}",
}


@dataclass(frozen=True)
class Move:
    action: str  # Add, Modify, Remove, Keep
    logical_id: str
    kind: str
    danger: str = ""  # why this step would lose something: a replacement, a deleted key or bucket


@dataclass
class Adoption:
    stack: str
    template: dict[str, Any]
    parameters: dict[str, str]  # every parameter the moved template declares, at its current value
    moves: list[Move] = field(default_factory=list)
    exports: dict[str, bool] = field(default_factory=dict)  # export name -> kept with its value
    dangers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        # Compact: the moved template (this project's plus what is carried over) then stays within
        # CloudFormation's 51,200 bytes for a TemplateBody.
        return json.dumps(self.template, separators=(",", ":"))

    def to_json(self) -> dict[str, Any]:
        return {
            "action": "adopt",
            "stack": self.stack,
            "resources": [
                {"action": m.action, "logical_id": m.logical_id, "type": m.kind, "danger": m.danger or None}
                for m in self.moves
            ],
            "exports": [{"name": n, "kept": kept} for n, kept in self.exports.items()],
            "dangers": list(self.dangers),
            "notes": list(self.notes),
        }


# ---- the moved template -----------------------------------------------------------------------


def rename(node: Any, names: Mapping[str, str]) -> Any:
    """Every reference to a logical id renamed (Ref, Fn::GetAtt, ${X} and ${X.Attr} in Fn::Sub)."""
    if isinstance(node, list):
        return [rename(n, names) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return {"Ref": names.get(node["Ref"], node["Ref"])}
    if set(node) == {"Fn::GetAtt"}:
        target, *rest = node["Fn::GetAtt"]
        return {"Fn::GetAtt": [names.get(target, target), *rest]}
    if set(node) == {"Fn::Sub"}:
        arg = node["Fn::Sub"]
        text, values = (arg, None) if isinstance(arg, str) else (arg[0], arg[1])
        text = re.sub(
            r"\$\{([A-Za-z0-9]+)((?:\.[A-Za-z0-9.]+)?)\}", lambda m: "${" + names.get(m[1], m[1]) + m[2] + "}", text
        )
        return {"Fn::Sub": text if values is None else [text, rename(values, names)]}
    return {k: rename(v, names) for k, v in node.items()}


def _replace_text(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        return node.replace(old, new)
    if isinstance(node, list):
        return [_replace_text(n, old, new) for n in node]
    if isinstance(node, dict):
        return {k: _replace_text(v, old, new) for k, v in node.items()}
    return node


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_references(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    if set(node) == {"Ref"}:
        return {str(node["Ref"])}
    if set(node) == {"Fn::GetAtt"}:
        return {str(node["Fn::GetAtt"][0])}
    found: set[str] = set()
    if set(node) == {"Fn::Sub"}:
        arg = node["Fn::Sub"]
        text = arg if isinstance(arg, str) else arg[0]
        found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
    return found | set().union(*(_references(v) for v in node.values()))


def _without_cycles(resources: dict[str, Any]) -> None:
    """Drop a DependsOn whose target refers back (directly or not) to the resource: a carried-over
    reference can close a loop that an ordering meant only for creation opened."""

    def needs(logical: str, seen: set[str]) -> set[str]:
        body = resources.get(logical) or {}
        direct = _references(body.get("Properties")) | set(_depends(body))
        found = {d for d in direct if d in resources}
        for d in list(found - seen):
            found |= needs(d, seen | found)
        return found

    for logical, body in resources.items():
        kept = [d for d in _depends(body) if logical not in needs(d, {d})]
        if kept != _depends(body):
            if kept:
                body["DependsOn"] = kept
            else:
                body.pop("DependsOn", None)


def _depends(body: Mapping[str, Any]) -> list[str]:
    found = body.get("DependsOn") or []
    return [found] if isinstance(found, str) else list(found)


def moved_template(seed: Mapping[str, Any], ours: Mapping[str, Any], buckets: Mapping[str, str]) -> dict[str, Any]:
    """This project's template for a stack that holds the seed's: `buckets` are the physical names
    of its BuildBucket and PipelineBucket."""
    names = {ours_id: seed_id for ours_id, seed_id in RENAMES.items() if seed_id in (seed.get("Resources") or {})}
    doc: dict[str, Any] = rename(json.loads(json.dumps(ours)), names)
    resources = {names.get(k, k): v for k, v in (doc.get("Resources") or {}).items()}
    for body in resources.values():
        if "DependsOn" in body:
            body["DependsOn"] = [names.get(d, d) for d in _depends(body)]
    for logical, name in _OUR_BUCKETS.items():
        if logical in buckets:
            resources = _replace_text(resources, name, buckets[logical])
    old = seed.get("Resources") or {}
    for logical, body in resources.items():
        before = old.get(logical)
        if not before or before.get("Type") != body.get("Type"):
            continue
        properties = body.setdefault("Properties", {})
        for prop in CREATE_ONLY.get(str(body.get("Type")), ()):
            if prop in (before.get("Properties") or {}):
                properties[prop] = before["Properties"][prop]
            else:
                properties.pop(prop, None)
    for logical, body in old.items():
        if logical not in resources and logical not in REPLACED_BY_OURS:
            resources[logical] = body
    _without_cycles(resources)
    doc["Resources"] = resources
    # The seed's conditions that what is carried over still uses (ReplicationIsEnabled served only
    # its replication policy).
    used = json.dumps([resources, seed.get("Outputs")])
    carried = {k: v for k, v in (seed.get("Conditions") or {}).items() if f'"{k}"' in used}
    doc["Conditions"] = {**carried, **(doc.get("Conditions") or {})}
    outputs = dict(doc.get("Outputs") or {})
    for logical, body in (seed.get("Outputs") or {}).items():
        outputs.setdefault(logical, body)
    doc["Outputs"] = outputs
    return doc


# ---- the checks ---------------------------------------------------------------------------------


def moves(
    before: Mapping[str, Any], after: Mapping[str, Any], parameters: Mapping[str, str], pseudo: Mapping[str, str]
) -> list[Move]:
    """What CloudFormation would do to each resource, as far as the two templates say: a changed
    type or create-only property replaces the resource; a resource no longer declared is deleted."""
    old_r = grants._Resolver(before, parameters, pseudo)
    new_r = grants._Resolver(after, parameters, pseudo)
    old, new = before.get("Resources") or {}, after.get("Resources") or {}

    def present(r: grants._Resolver, body: Mapping[str, Any]) -> bool:
        return not body.get("Condition") or r.condition(str(body["Condition"]))

    found = []
    for logical in [*old, *(k for k in new if k not in old)]:
        was = logical in old and present(old_r, old[logical])
        will = logical in new and present(new_r, new[logical])
        kind = str((new.get(logical) or old.get(logical) or {}).get("Type", ""))
        if will and not was:
            found.append(Move("Add", logical, kind))
        elif was and not will:
            danger = f"deletes the {kind} {logical} and everything in it" if kind in STATEFUL else ""
            found.append(Move("Remove", logical, kind, danger))
        elif was and will:
            if old[logical].get("Type") != new[logical].get("Type"):
                found.append(Move("Modify", logical, kind, f"replaces {logical}: its type changes"))
                continue
            a, b = old[logical].get("Properties") or {}, new[logical].get("Properties") or {}
            replaced = [p for p in CREATE_ONLY.get(kind, ()) if old_r.value(a.get(p)) != new_r.value(b.get(p))]
            if replaced:
                found.append(Move("Modify", logical, kind, f"replaces {logical}: {', '.join(replaced)} changes"))
            elif old_r.value(a) != new_r.value(b):
                found.append(Move("Modify", logical, kind))
            else:
                found.append(Move("Keep", logical, kind))
    return found


def exports_kept(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, bool]:
    """Each export the old template makes: whether the new one makes it, from the same value."""

    def exported(doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            json.dumps((o.get("Export") or {}).get("Name")): (o.get("Value"), o.get("Condition"))
            for o in (doc.get("Outputs") or {}).values()
            if o.get("Export")
        }

    old, new = exported(before), exported(after)
    return {json.loads(name): new.get(name) == value for name, value in old.items()}


def adoption(
    stack: str,
    deployed: str,
    ours: str,
    *,
    state_parameters: Mapping[str, str],
    outputs: Mapping[str, str],
    pseudo: Mapping[str, str],
) -> Adoption:
    """The whole move, checked."""
    seed = grants.load(deployed)
    mine = grants.load(ours)
    buckets = {k: outputs[k] for k in ("BuildBucket", "PipelineBucket") if outputs.get(k)}
    after = moved_template(seed, mine, buckets)
    declared = after.get("Parameters") or {}
    parameters = {k: v for k, v in state_parameters.items() if k in declared}
    steps = moves(seed, after, parameters, pseudo)
    kept = exports_kept(seed, after)
    dangers = [m.danger for m in steps if m.danger]
    dangers += [f"the export {name} would no longer be made with the same value" for name, ok in kept.items() if not ok]
    return Adoption(stack, after, parameters, steps, kept, dangers, _notes(seed, after))


def _notes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What a reviewer should know beyond the list of moves."""
    from xacct.core import runtimes

    notes = []
    old = before.get("Resources") or {}
    for logical in REPLACED_BY_OURS:
        if logical in old:
            notes.append(
                f"{logical} (the seed's s3:* and kms:* on every developer bucket and key) is deleted: "
                "ReplicationWriteBuckets and ReplicationUseKeys grant only what replication uses"
            )
    for logical, body in (after.get("Resources") or {}).items():
        runtime = str((body.get("Properties") or {}).get("Runtime", ""))
        if (
            body.get("Type") == "AWS::Lambda::Function"
            and body == old.get(logical)
            and runtimes.update_blocked(runtime)
        ):
            notes.append(
                f"{logical} stays as it is on {runtime}: it runs, but Lambda refuses any change to it (the seed's "
                "code needs the JavaScript SDK v2, which no supported Node.js runtime includes)"
            )
    return notes
