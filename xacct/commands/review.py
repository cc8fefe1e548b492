"""Before anyone says yes: what CloudFormation will do to every stack that changes, in both
accounts, and a confirmation that leaves nothing behind however it ends (no, Ctrl-C, a signal).

The developer stacks' change sets are made now and are the ones executed on yes. The central
stack's change set is made now too, shown, and deleted at once: the real one is computed under
the lease from the lists as they are then (someone may onboard in between), so it may carry
one more developer than the preview, never one fewer. A stack whose change set needs another
stack first (the deployment roles need the primary's key) is shown from its template."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import botocore.exceptions as bx

from xacct.aws.reads import Context
from xacct.aws.stacks import Stacks
from xacct.core import planning
from xacct.core import registry as reg
from xacct.core.plan import Plan
from xacct.core.planning import Reads
from xacct.core.preview import Preview, resource_changes
from xacct.core.state import Prepared, Silent, declared_types
from xacct.core.templates import template
from xacct.core.upgrade import central_template
from xacct.errors import Interrupted, XacctError
from xacct.terminal.output import Output


@dataclass
class Review:
    prepared: dict[str, Prepared] = field(default_factory=dict)  # developer change sets, run on yes
    previews: list[Preview] = field(default_factory=list)


def _gather(ctx: Context, jobs: list[Callable[[], tuple[Prepared | None, Preview]]]) -> Review:
    """Make every change set side by side; if one fails or the run is interrupted, delete those
    already made before saying so."""
    review = Review()
    with ThreadPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
        futures = [pool.submit(job) for job in jobs]
        failure: BaseException | None = None
        for future in futures:
            try:
                prepared, preview = future.result()
            except BaseException as exc:  # every change set made must be deleted first
                ctx.stop.set()
                failure = failure or exc
                continue
            review.previews.append(preview)
            if prepared is not None and prepared.change_set_id:
                review.prepared[prepared.stack] = prepared
    if failure is not None:
        discard(ctx, review)
        raise failure
    return review


def discard(ctx: Context, review: Review) -> None:
    dev = Stacks(ctx.dev.cfn, ctx.target.dev.where(), label="dev")  # its own poller: ctx.stop may be set
    for prepared in review.prepared.values():
        dev.discard(prepared)
    review.prepared.clear()


def _change_set(ctx: Context, name: str, body: str, params: dict[str, str]) -> tuple[Prepared, Preview]:
    """A developer stack's change set, kept to be executed on yes."""
    # Quiet: a spinner stands for the seconds this takes, and the result is shown whole.
    prepared = ctx.dev_stacks().prepare(name, body, params, planning.tags(ctx.target.central), Silent())
    dev = ctx.target.dev
    return prepared, Preview("developer", dev.account, dev.region, name, prepared.action, tuple(prepared.changes))


def _from_template(ctx: Context, name: str, needs: str) -> tuple[None, Preview]:
    dev = ctx.target.dev
    kind = ctx.target.stacks.kind(name)
    changes = resource_changes("Add", declared_types(template(kind)))
    note = f"its change set needs {needs} first: CloudFormation makes it when that exists"
    return None, Preview("developer", dev.account, dev.region, name, "create", changes, "template", note)


def _deleted(ctx: Context, name: str, note: str = "") -> tuple[None, Preview]:
    dev = ctx.target.dev
    changes = resource_changes("Remove", ctx.dev_stacks().resources(name))
    return None, Preview("developer", dev.account, dev.region, name, "delete", changes, "stack", note)


def _central(ctx: Context, plan: Plan) -> Callable[[], tuple[None, Preview]]:
    """The central stack's change set, made, read and deleted: shown, never executed."""
    build = ctx.central.build

    def go() -> tuple[None, Preview]:
        stacks = ctx.build_stacks()
        state = stacks.describe(plan.central_stack)
        note = "previewed now and deleted; the update is made under the lease from the lists as they are then"
        try:
            values = reg.render(plan.change.after)
            first = len(plan.change.before.held(0))
            body, _ = central_template(
                stacks.template(plan.central_stack), values, template("CrossAccountPrimary"), first
            )
            prepared = stacks.prepare(plan.central_stack, body, values, state.tags, Silent(), keep=state.parameters)
        except (XacctError, bx.ClientError) as exc:
            reason = exc.message if isinstance(exc, XacctError) else str(exc)
            note = f"CloudFormation could not preview it now ({reason}); the update is made under the lease"
            return None, Preview("build", build.account, build.region, plan.central_stack, "update", (), note=note)
        stacks.discard(prepared)
        changes = tuple(prepared.changes)
        return None, Preview("build", build.account, build.region, plan.central_stack, "update", changes, note=note)

    return go


def for_onboard(ctx: Context, plan: Plan, reads: Reads) -> Review:
    target = ctx.target
    s = target.stacks
    actions = {step.stack: step.action for step in plan.stacks}
    primary = reads.dev[s.primary]
    jobs: list[Callable[[], tuple[Prepared | None, Preview]]] = []

    if actions[s.primary] != "none":
        build_root = planning.account_root(ctx.dev.partition, target.build.account)
        params = planning.primary_parameters(primary, build_root, plan.replication_role, target.dev.account)
        body = template("CrossAccountPrimary")
        if plan.adopted is not None:  # the seed's primary stack, moved in place
            body, params = plan.adopted.body, {**plan.adopted.parameters, **params}
        jobs.append(partial(_change_set, ctx, s.primary, body, params))
    has_key = primary.exists and "CMK" in primary.outputs and primary.status != "REVIEW_IN_PROGRESS"
    if actions[s.deploy] != "none":
        deploy_params = planning.deploy_parameters(target.dev.account, primary) if has_key else None
        if deploy_params is not None:
            body = template("CrossAccountDeploy")
            jobs.append(partial(_change_set, ctx, s.deploy, body, deploy_params))
        else:
            jobs.append(partial(_from_template, ctx, s.deploy, f"{s.primary}'s key"))
    if actions[s.developer] != "none":
        if has_key:
            params = planning.developer_parameters(plan.replication_role)
            body = template("CrossAccountDeveloper")
            jobs.append(partial(_change_set, ctx, s.developer, body, params))
        else:
            jobs.append(partial(_from_template, ctx, s.developer, f"{s.primary}'s exports"))
    if plan.change.changes_anything:
        jobs.append(_central(ctx, plan))
    return _ordered(_gather(ctx, jobs), s.names, central_first=False)


def for_remove(ctx: Context, plan: Plan, reads: Reads) -> Review:
    target = ctx.target
    s = target.stacks
    actions = {step.stack: step.action for step in plan.stacks}
    jobs: list[Callable[[], tuple[Prepared | None, Preview]]] = []
    if plan.change.changes_anything:
        jobs.append(_central(ctx, plan))
    if actions.get(s.developer) == "delete":
        jobs.append(partial(_deleted, ctx, s.developer))
    if actions.get(s.primary) == "update":
        params = planning.withdrawal_parameters(
            reads.dev[s.primary],
            target.dev.account,
            planning.account_root(ctx.dev.partition, target.central.build.account),
            seed_template=s.primary in plan.kept_templates,
        )
        body = plan.kept_templates.get(s.primary) or template("CrossAccountPrimary")
        jobs.append(partial(_change_set, ctx, s.primary, body, params))
    if actions.get(s.deploy) == "delete":
        jobs.append(partial(_deleted, ctx, s.deploy))
    if actions.get(s.primary) == "delete":
        kept = "its buckets are emptied and deleted, its key scheduled for deletion in 7 days (the stack retains them)"
        jobs.append(partial(_deleted, ctx, s.primary, kept))
    return _ordered(_gather(ctx, jobs), s.names, central_first=True)


def _ordered(review: Review, names: tuple[str, ...], *, central_first: bool) -> Review:
    """The developer stacks in their order; the central stack first or last, as the run does it."""

    def rank(p: Preview) -> tuple[int, int]:
        if p.central:
            return (0 if central_first else 2, 0)
        return (1, names.index(p.stack) if p.stack in names else len(names))

    review.previews.sort(key=rank)
    return review


def confirm(ctx: Context, o: Output, review: Review, question: str) -> bool:
    """Yes, no, or an interruption; on anything but yes, the change sets under review are deleted."""
    from xacct import signals
    from xacct.commands import common
    from xacct.core.preview import total

    o.out.print()
    o.out.print(f"[bold]{total(review.previews)}[/]", highlight=False)
    try:
        ok = common.confirm(question)
    except KeyboardInterrupt as exc:
        discard(ctx, review)
        raise Interrupted(
            f"interrupted{signals.named(exc)} at the confirmation: the change sets under review were deleted, "
            "nothing was changed",
            status=signals.exit_status(exc),
        ) from exc
    if not ok:
        discard(ctx, review)
        o.out.print("Declined: nothing was changed.")
    return ok
