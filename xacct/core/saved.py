"""A plan saved for review (`--dry-run --out plan.json`) and applied later (`--apply plan.json`):
the plan a person reviewed, the answers it was made for, and what it was computed from (the
central lists, every stack's status, parameters and whether its template is the one the tool
deploys, and the tool's own templates). Applying refuses when any of that changed since. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xacct.core.answers import Answers, Onboarding, answers_of, from_mapping
from xacct.core.planning import Reads
from xacct.core.state import StackState
from xacct.core.templates import template
from xacct.errors import InvalidInput

FORMAT = "xacct-plan/1"
KINDS = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")


@dataclass(frozen=True)
class Saved:
    answers: tuple[Answers, ...]  # one per developer, accounts included (checks when applied)
    inputs: dict[str, Any]
    plan: dict[str, Any]
    fleet: bool = False
    ou: dict[str, Any] | None = None  # --ou: the OU and its flags (the organization profile, preferences)


def _stack(state: StackState) -> dict[str, Any]:
    return {"status": state.status, "parameters": dict(sorted(state.parameters.items()))}


def central_inputs(central: StackState) -> dict[str, Any]:
    return {"stack": central.name, **_stack(central)}


def developer_inputs(target: Onboarding, reads: Reads) -> dict[str, Any]:
    return {
        name: {**_stack(reads.dev[name]), "template_is_ours": reads.dev_current.get(name, False)}
        for name in target.stacks.names
    }


def templates() -> dict[str, str]:
    return {kind: hashlib.sha256(template(kind).encode()).hexdigest() for kind in KINDS}


def inputs(central: StackState, developers: Sequence[tuple[Onboarding, Reads]]) -> dict[str, Any]:
    return {
        "central": central_inputs(central),
        "developers": {f"{t.dev.account}/{t.dev.region}": developer_inputs(t, r) for t, r in developers},
        "templates": templates(),
    }


def to_json(saved: Saved) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "fleet": saved.fleet,
        "answers": [a.to_dict() for a in saved.answers],
        "plan": saved.plan,
        "computed_from": saved.inputs,
        **({"ou": saved.ou} if saved.ou else {}),
    }


def make(targets: Sequence[Onboarding], plan: dict[str, Any], computed: dict[str, Any], *, fleet: bool) -> Saved:
    return Saved(tuple(answers_of(t) for t in targets), computed, plan, fleet)


def parse(data: Any, source: str) -> Saved:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise InvalidInput(f"{source} is not a plan saved by xacct (--dry-run --out FILE)")
    answers = data.get("answers")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, Mapping) for a in answers):
        raise InvalidInput(f"{source}: the plan names no developer")
    computed, plan = data.get("computed_from"), data.get("plan")
    if not isinstance(computed, dict) or not isinstance(plan, dict):
        raise InvalidInput(f"{source}: the plan lacks what it was computed from")
    ou = data.get("ou")
    if ou is not None and not (isinstance(ou, Mapping) and isinstance(ou.get("ou"), str)):
        raise InvalidInput(f"{source}: its OU is not readable")
    answered = tuple(from_mapping(a, source) for a in answers)
    return Saved(answered, computed, plan, bool(data.get("fleet")), dict(ou) if ou else None)


def changed(saved: Any, now: Any, path: str = "") -> list[str]:
    """Where `now` differs from `saved`, as paths a person can read ("central.parameters.X")."""
    if isinstance(saved, Mapping) and isinstance(now, Mapping):
        found = []
        for key in sorted(set(saved) | set(now), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in saved or key not in now:
                found.append(where)
            else:
                found += changed(saved[key], now[key], where)
        return found
    return [] if saved == now else [path]


def check_plan(saved: Saved, now: Any, source: str) -> None:
    """A saved plan is applied exactly as it was reviewed, or not at all: its `plan` section must be
    what its inputs give now (an edited file is refused, naming where it differs)."""
    differences = changed(saved.plan, now)
    if differences:
        more = len(differences) - 1
        also = f" and {more} more place{'s' if more > 1 else ''}" if more else ""
        raise InvalidInput(
            f"{source}: its plan differs from what its own inputs give, at plan.{differences[0]}{also}; "
            "was the file edited? nothing was changed",
            hint="make the plan again with --dry-run --out, review it, then --apply that file as it was written",
        )


def check_current(saved: Saved, now: dict[str, Any], source: str) -> None:
    differences = changed(saved.inputs, now)
    if differences:
        shown = ", ".join(differences[:4]) + (f" and {len(differences) - 4} more" if len(differences) > 4 else "")
        raise InvalidInput(
            f"{source} is out of date: changed since it was made: {shown}; nothing was changed",
            hint="make the plan again with --dry-run --out, review it, then --apply it",
        )
