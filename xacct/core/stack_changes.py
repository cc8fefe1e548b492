"""The stacks a run changes, as grants.StackChange values (the template each holds and will hold,
its parameters before and after), for the permissions and resource previews. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xacct.core import planning
from xacct.core.grants import StackChange


def _stacks(
    target: Any,
    reads: Any,
    partition: str,
    wanted: Mapping[str, Mapping[str, str] | None],
    plan: Any = None,
    *,
    moving: bool = False,
) -> list[StackChange]:
    """`moving`: a stack holding the seed's template gets ours (onboarding), else keeps the seed's."""
    from xacct.core.templates import template

    s, dev = target.stacks, target.dev
    seeds = getattr(reads, "seed_templates", {})
    adopted = getattr(plan, "adopted", None)
    found = []
    for name in s.names:
        if name not in wanted:
            continue
        state = reads.dev[name]
        before = dict(state.parameters) if state.exists else None
        planned = wanted[name]
        after = None if planned is None else {**(before or {}), **planned}
        body = adopted.body if adopted is not None and name == adopted.stack else template(s.kind(name))
        held = seeds.get(name)
        if held and not moving:
            body, held = held, None
        found.append(StackChange(name, "developer", dev.account, dev.region, body, before, after, partition, held))
    return found


def for_onboarding(target: Any, plan: Any, reads: Any, partition: str) -> list[StackChange]:
    """Each developer stack the onboarding changes, with its parameters before and after."""
    s, dev = target.stacks, target.dev
    actions = {step.stack: step.action for step in plan.stacks}
    primary = reads.dev[s.primary]
    build_root = planning.account_root(partition, target.build.account)
    key = planning.deploy_parameters(dev.account, primary) or {"BuildAccount": dev.account, "CMKARNs": "<its key>"}
    wanted = {
        s.primary: planning.primary_parameters(primary, build_root, plan.replication_role, dev.account),
        s.deploy: key,
        s.developer: planning.developer_parameters(plan.replication_role),
    }
    return _stacks(
        target,
        reads,
        partition,
        {n: p for n, p in wanted.items() if actions.get(n, "none") != "none"},
        plan,
        moving=True,
    )


def for_removal(target: Any, plan: Any, reads: Any, partition: str) -> list[StackChange]:
    """Each developer stack the removal changes: the primary, which stops admitting the build
    account, and the stacks it deletes."""
    s = target.stacks
    wanted: dict[str, Mapping[str, str] | None] = {}
    for step in plan.stacks:
        if step.action == "delete":
            wanted[step.stack] = None
        elif step.action == "update" and step.stack == s.primary:
            build_root = planning.account_root(partition, target.build.account)
            seed = s.primary in plan.kept_templates
            wanted[step.stack] = planning.withdrawal_parameters(
                reads.dev[s.primary], target.dev.account, build_root, seed_template=seed
            )
    return _stacks(target, reads, partition, wanted)


def central(plan: Any, state: Any, template: str, partition: str) -> StackChange:
    """The central stack: the template it holds, its lists before and after."""
    before = dict(state.parameters)
    after = {**before, **{name: new for name, (_, new) in plan.diff.parameters.items()}}
    return StackChange(
        plan.central_stack, "build", plan.build_account, plan.build_region, template, before, after, partition
    )
