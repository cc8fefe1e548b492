"""`--adopt`: move a central stack that holds the seed project's template to this project's, in
place. Read, plan (xacct/core/adopt.py), show, confirm; then one change set under the central
lease, checked again against CloudFormation's own word on replacements before it runs, and the
stack read back: every registration, the key, the buckets and the exports as they were."""

from __future__ import annotations

import json

from xacct.aws.lease import Lease
from xacct.aws.reads import BuildContext, read_central
from xacct.commands import common
from xacct.core import adopt, planning, seed
from xacct.core import registry as reg
from xacct.core.answers import Central
from xacct.core.request import Request
from xacct.core.state import StackState
from xacct.core.templates import template
from xacct.errors import AwsFailure, ExitCode, InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say

KEPT_OUTPUTS = ("CMK", "BuildBucket", "PipelineBucket", "ReplicationRoleArn")
STYLE = {"Add": "green", "Modify": "yellow", "Remove": "red", "Keep": "dim"}


def run(central: Central, request: Request, o: Output, interactive: bool) -> int:
    ctx = BuildContext(central, LineProgress(o.err))
    with common.waiting(o, "reading the central stack"):
        state = read_central(ctx).central
        before = planning.check_central(central, state)
        deployed = ctx.build_stacks().template(state.name)
    if planning.kind_of(deployed) == "CrossAccountPrimary":
        o.out.print(f"Nothing to do: {state.name} already holds this project's template.")
        return ExitCode.OK
    found = seed.recognise(deployed)
    if found is None:
        raise InvalidInput(
            f"the central stack {state.name} holds neither the seed project's template nor this project's; "
            "--adopt moves only the seed's (jasonwadsworth/AWS-CrossAccount-CrossRegion-Pipeline 1.0)"
        )
    moved = adopt.adoption(
        state.name,
        deployed,
        template("CrossAccountPrimary"),
        state_parameters=state.parameters,
        outputs=state.outputs,
        pseudo=pseudo(ctx, state),
    )
    if request.json:
        o.out.file.write(json.dumps({**moved.to_json(), "registered": len(before.entries)}, indent=2) + "\n")
    else:
        show(o, central, moved, found, len(before.entries))
    if moved.dangers:
        raise InvalidInput(
            f"the move would lose what {state.name} holds ({'; '.join(moved.dangers)}); nothing was changed"
        )
    if request.dry_run:
        if not request.json:
            o.out.print("\n[dim]dry run: nothing was changed[/]")
        return ExitCode.OK
    if not request.yes and not common.confirm(f"Move {state.name} to this project's template?"):
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    after = apply(ctx, state, moved)
    o.out.print(
        f"\n[bold green]Adopted:[/] {state.name} holds this project's template; "
        f"{len(reg.parse(after.parameters).entries)} registered, the key, buckets and exports kept."
    )
    return ExitCode.OK


def pseudo(ctx: BuildContext, state: StackState) -> dict[str, str]:
    central = ctx.central.build
    return {
        "AWS::AccountId": central.account,
        "AWS::Region": central.region,
        "AWS::Partition": ctx.build.partition,
        "AWS::StackName": state.name,
        "AWS::URLSuffix": "amazonaws.com",
    }


def show(o: Output, central: Central, moved: adopt.Adoption, found: seed.Found, registered: int) -> None:
    say(
        o,
        ("Adopting", "bold"),
        " central stack ",
        (moved.stack, "bold"),
        f" in {central.build.account} ({central.build.region}): from the {found.name} to this project's template",
    )
    who = f"{registered} developer{'s' if registered != 1 else ''} registered"
    say(o, f"  {who}: kept as they are (every parameter keeps its value)")
    o.out.print()
    say(o, ("What CloudFormation will do", "bold"))
    width = max(len(m.logical_id) for m in moved.moves)
    for m in moved.moves:
        say(
            o,
            "  ",
            (f"{m.action:<7}", STYLE.get(m.action, "")),
            f" {m.logical_id:<{width}}  {m.kind}",
            (f"  DANGER: {m.danger}", "bold red") if m.danger else "",
            hang=width + 12,
        )
    o.out.print()
    say(o, ("Exports", "bold"), " (other stacks import them; each must keep its value)")
    for name, kept in moved.exports.items():
        say(o, f"  {name}: ", ("kept", "green") if kept else ("LOST", "bold red"))
    for note in moved.notes:
        say(o, ("note:", "dim"), f" {note}")


def apply(ctx: BuildContext, state: StackState, moved: adopt.Adoption) -> StackState:
    """One change set under the lease; refused if CloudFormation itself says it replaces anything."""
    stacks = ctx.build_stacks()
    lease = Lease(ctx.build.ssm, state.name, ctx.progress, stacks.poller.sleep)
    with lease.held():
        current = stacks.wait_until_idle(state.name, ctx.progress)
        if reg.parse(current.parameters) != reg.parse(state.parameters):
            raise AwsFailure(f"the central lists of {state.name} changed since they were read; run --adopt again")
        prepared = stacks.prepare(state.name, moved.body, moved.parameters, current.tags, ctx.progress)
        replaced = [c.logical_id for c in prepared.changes if c.replacement in ("True", "Conditional")]
        if replaced:
            stacks.discard(prepared)
            raise AwsFailure(
                f"CloudFormation's change set replaces {', '.join(replaced)}; nothing was changed "
                "(the change set was deleted)"
            )
        final = stacks.execute(prepared, ctx.progress)
    problems = _lost(state, final)
    if problems:
        raise AwsFailure(f"{state.name} was updated, but {'; '.join(problems)}")
    return final


def _lost(before: StackState, after: StackState) -> list[str]:
    problems = []
    if after.status != "UPDATE_COMPLETE":
        problems.append(f"it ended {after.status}")
    if reg.parse(after.parameters) != reg.parse(before.parameters):
        problems.append("its replication lists changed")
    for name in KEPT_OUTPUTS:
        if before.outputs.get(name) and after.outputs.get(name) != before.outputs.get(name):
            problems.append(f"its output {name} changed from {before.outputs[name]} to {after.outputs.get(name)}")
    return problems
