"""Onboarding: read, plan, show, confirm, then apply two operations deep: the developer's primary
stack; then the deployment roles, the developer stack and the central update side by side."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from xacct.aws import scheduler
from xacct.aws.central import CentralUpdate
from xacct.aws.lease import clear_dead
from xacct.aws.reads import Context, read
from xacct.commands import common, review
from xacct.config import write_plan
from xacct.core import grants, planning, preview, stack_changes
from xacct.core import registry as reg
from xacct.core.answers import Onboarding
from xacct.core.plan import Plan
from xacct.core.preview import Preview
from xacct.core.request import Request
from xacct.core.saved import Saved, check_current, check_plan, inputs, make
from xacct.core.state import Prepared, StackState, declared_parameters, require
from xacct.core.templates import template
from xacct.errors import AGAIN, AwsFailure, ExitCode, Interrupted, InvalidInput, XacctError
from xacct.terminal import render
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress


def run(
    target: Onboarding,
    request: Request,
    o: Output,
    interactive: bool,
    save_to: Path | None,
    *,
    saved: Saved | None = None,
) -> int:
    ctx = Context(target.central, LineProgress(o.err), target=target, direct=request.yes)
    with common.waiting(o, "reading both accounts"):
        reads = read(ctx)
    computed = inputs(reads.central, [(target, reads)])
    if saved is not None and request.apply_plan is not None:
        check_current(saved, computed, str(request.apply_plan))
    plan = planning.plan_onboard(target, reads, ctx.build.partition)
    if saved is not None and request.apply_plan is not None:
        check_plan(saved, plan.to_json(), str(request.apply_plan))
    developer = stack_changes.for_onboarding(target, plan, reads, ctx.dev.partition)
    for side in developer:
        state = reads.dev.get(side.name)
        if state is not None and state.exists:
            held = side.before_template or ctx.dev_stacks().template(side.name)
            common.check_exports(ctx.dev_stacks(), state, held, side.template)
    changing = [*developer, central_change(ctx, plan, reads)]
    granted = grants.granted(changing)
    if request.dry_run:
        previews = preview.previews(changing, plan)
        show_dry_run(o, plan, request, granted, previews)
        if request.out is not None:
            write_plan(request.out, make([target], plan.to_json(), computed, fleet=False))
            o.info(f"plan saved to {request.out}: apply it with --apply {request.out}")
        return ExitCode.OK
    render.show_plan(o, plan)
    if plan.nothing_to_do:
        nothing_to_do(ctx, o, plan)
        common.save(save_to, target)
        return ExitCode.OK
    if request.yes:
        under_review = review.Review()
        render.show_grants(o, granted)
    else:
        with common.waiting(o, "CloudFormation is preparing the change sets"):
            under_review = review.for_onboard(ctx, plan, reads)
        render.show_changes(o, under_review.previews)
        render.show_grants(o, granted)  # what the question approves ends with what it grants
        if not review.confirm(ctx, o, under_review, "Apply these changes?"):
            return ExitCode.OK
    started = time.monotonic()
    try:
        with common.live(ctx, o):
            change = apply(ctx, plan, under_review.prepared)
    except (KeyboardInterrupt, Interrupted) as exc:
        resume = common.resume_command(request.prog, target)
        raise common.interrupted(ctx, exc, planned=common.planned(ctx, plan), resume=resume) from exc
    except XacctError as exc:
        command = common.resume_command(request.prog, target)
        raise type(exc)(exc.message, hint=f"fix the cause, then run again: {command}") from exc
    stacks = common.final_stacks(ctx, reads.dev, reads.central)
    applied = time.monotonic() - started
    bucket = stacks[0][3].outputs.get("BuildBucket") or plan.bucket
    render.summary(o, plan, change, stacks, bucket=bucket, applied=applied, syncing=not request.no_sync)
    if not request.no_sync:
        from xacct.commands import sync

        sync.start_current(ctx, o, ctx.build_stacks().describe(plan.central_stack), bucket)
    common.save(save_to, target)
    return ExitCode.OK


def central_change(ctx: Context, plan: Plan, reads: planning.Reads) -> grants.StackChange:
    """The central stack as the plan changes it, from the template it holds (one read), refused
    before any write when the template cannot take the change; what it is goes into the plan."""
    after = {name: new for name, (_, new) in plan.diff.parameters.items()} if plan.change.changes_anything else {}
    deployed, notes = common.check_central_template(ctx, reads.central, after)
    plan.notes.extend(n for n in notes if n not in plan.notes)
    return stack_changes.central(plan, reads.central, deployed, ctx.build.partition)


def show_dry_run(
    o: Output, plan: Plan, request: Request, granted: list[grants.GrantChanges], previews: list[Preview] | None = None
) -> None:
    """The plan the review shows, permissions included (the review adds CloudFormation's own change
    sets, which a dry run does not create: it writes nothing)."""
    permissions = [
        {"stack": g.stack, "where": g.where, "added": [x.to_json() for x in g.added],
         "removed": [x.to_json() for x in g.removed]}
        for g in granted
    ]  # fmt: skip
    if request.markdown:
        from xacct.terminal import markdown

        changes = [
            {"side": p.side, "account": p.account, "region": p.region, "stack": p.stack, "action": p.action,
             "changes": [{"action": c.action, "logical_id": c.logical_id, "type": c.resource_type,
                          "replacement": c.replacement} for c in p.changes]}
            for p in previews or []
        ]  # fmt: skip
        o.out.file.write(markdown.onboarding(plan.to_json(), changes, permissions))
    elif request.json:
        # Exactly one JSON document on stdout, untouched by rich.
        o.out.file.write(json.dumps({**plan.to_json(), "permissions": permissions}, indent=2) + "\n")
    else:
        render.show_plan(o, plan)
        render.show_changes(o, previews or [])
        render.show_grants(o, granted)
        o.out.print("\n[dim]dry run: nothing was changed[/]")


def nothing_to_do(ctx: Context, o: Output, plan: Plan) -> None:
    """Nothing to write; but a run killed on this machine (SIGKILL) may have left the lease, which
    nothing else would free before it expires."""
    from rich.markup import escape

    o.out.print("\n[bold green]Nothing to do:[/] everything is already as planned.")
    dead = clear_dead(ctx.build.ssm, plan.central_stack)
    if dead is not None:
        o.info(f"  released the lease left by {escape(dead.who)}, a process of this machine that is gone")


class Deploy(Protocol):
    def __call__(self, name: str, params: dict[str, str], known: StackState | None = None) -> StackState: ...


def deployer(
    ctx: Context, prepared: dict[str, Prepared], adopted: Any = None, kept: dict[str, str] | None = None
) -> Deploy:
    """Deploy one developer stack: its prepared change set, directly (--yes), or a new change set.
    An adopted seed stack always goes through a change set, refused if CloudFormation would
    replace anything in it."""
    target = ctx.target
    dev = ctx.dev_stacks()
    tags = planning.tags(target.central)

    def deploy(name: str, params: dict[str, str], known: StackState | None = None) -> StackState:
        ready = prepared.pop(name, None)
        body = template(target.stacks.kind(name))
        if kept and name in kept:  # another template (the seed's) stays: only what it declares changes
            body = kept[name]
            params = {k: v for k, v in params.items() if k in declared_parameters(body)}
        if adopted is not None and name == adopted.stack:
            body, params = adopted.body, {**adopted.parameters, **params}
            ready = ready or dev.prepare(name, body, params, tags, ctx.progress)
            replaced = [c.logical_id for c in ready.changes if c.replacement in ("True", "Conditional")]
            if replaced:
                dev.discard(ready)
                raise AwsFailure(f"CloudFormation's change set for {name} replaces {', '.join(replaced)}; not executed")
        if ready is None and ctx.direct:
            return dev.apply_direct(name, body, params, tags, ctx.progress, known=known)
        if ready is None:
            ready = dev.prepare(name, body, params, tags, ctx.progress)
        if ready.action == "none":
            ctx.progress.note(f"dev:{name}", "up to date")
            return dev.describe(name)
        return dev.execute(ready, ctx.progress)

    return deploy


def apply(ctx: Context, plan: Plan, prepared: dict[str, Prepared] | None = None) -> reg.Change:
    """Run the plan two operations deep: the developer's primary stack; then the deployment roles,
    the developer stack and the central update side by side."""
    result: dict[str, reg.Change] = {}

    def central(primary: StackState) -> None:
        entry = entry_of(ctx, primary)
        update = CentralUpdate(ctx.build_stacks(), ctx.build.ssm, plan.central_stack, ctx.progress)
        result["change"] = update.run(lambda before: reg.merge(before, entry))

    deploy_developer(ctx, plan, prepared, central=central)
    return result["change"]


def entry_of(ctx: Context, primary: StackState) -> reg.Entry:
    """The central entry of a deployed primary stack: its bucket and its key."""
    s = ctx.target.stacks
    bucket = require(primary, "BuildBucket", f"check the stack {s.primary}")
    cmk = require(primary, "CMK", f"check the stack {s.primary}")
    return reg.Entry.for_bucket(bucket, cmk, ctx.build.partition)


def deploy_developer(
    ctx: Context,
    plan: Plan,
    prepared: dict[str, Prepared] | None = None,
    *,
    central: Callable[[StackState], None] | None = None,
    hold: threading.Event | None = None,
) -> StackState:
    """The developer's stacks: the primary, then the deployment roles and the developer stack
    side by side (with `central`, the central update beside them; with `hold`, once it is set).
    Returns the primary as deployed; raises the first failure with what completed and what never
    started."""
    target = ctx.target
    s = target.stacks
    dev = ctx.dev_stacks()
    prepared = prepared or {}
    deploy = deployer(ctx, prepared, plan.adopted)
    state: dict[str, StackState] = {}
    build_root = planning.account_root(ctx.dev.partition, target.build.account)

    def primary() -> None:
        current = dev.describe(s.primary)
        params = planning.primary_parameters(current, build_root, plan.replication_role, target.dev.account)
        state[s.primary] = deploy(s.primary, params, current)

    def held() -> None:
        while hold is not None and not hold.wait(0.25) and not ctx.stop.is_set():
            pass
        if ctx.stop.is_set():  # the batch failed or was interrupted before its central change set
            raise Interrupted("interrupted")

    def deploy_roles() -> None:
        held()
        require(state[s.primary], "CMK", f"check the stack {s.primary}")
        state[s.deploy] = deploy(s.deploy, planning.deploy_parameters(target.dev.account, state[s.primary]) or {})

    def developer() -> None:
        state[s.developer] = deploy(s.developer, planning.developer_parameters(plan.replication_role))

    def held_developer() -> None:
        held()
        developer()

    first = f"developer {s.primary}"
    if s.developer in plan.seed_stacks:
        # The seed's developer stack holds the bucket's one policy: it lets go before the primary takes it.
        steps = [
            scheduler.Step(f"developer {s.developer}", developer),
            scheduler.Step(first, primary, (f"developer {s.developer}",)),
        ]
    else:
        steps = [scheduler.Step(first, primary), scheduler.Step(f"developer {s.developer}", held_developer, (first,))]
    if s.deploy not in plan.seed_stacks:  # the seed's deploy roles serve the reader's pipelines: kept
        steps.append(scheduler.Step(f"developer {s.deploy}", deploy_roles, (first,)))
    if central is not None:
        steps.append(scheduler.Step(f"central {plan.central_stack}", lambda: central(state[s.primary]), (first,)))
    outcome = scheduler.run(steps, ctx.stop)
    for leftover in prepared.values():
        dev.discard(leftover)
    raise_first(outcome)
    return state[s.primary]


def raise_first(outcome: scheduler.Outcome) -> None:
    """The first failure, with what completed and what never started."""
    if not outcome.failed:
        return
    name, exc = next(iter(outcome.failed.items()))
    if isinstance(exc, Interrupted | KeyboardInterrupt):
        raise Interrupted("interrupted") from exc
    done = ", ".join(outcome.done) or "nothing"
    skipped = ", ".join(outcome.skipped) or "nothing"
    state = f"Completed: {done}. Not started: {skipped}."
    if isinstance(exc, AwsFailure | InvalidInput):
        raise type(exc)(f"{name}: {exc.message}. {state}", hint=exc.hint or f"fix the cause, then {AGAIN}") from exc
    raise AwsFailure(f"{name}: {exc}. {state}", hint=f"fix the cause, then {AGAIN}") from exc
