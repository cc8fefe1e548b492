"""Offboarding: the developer's entry out of the central lists first (nothing is sent to a bucket
that is going away); then the developer stack goes and the build bucket's grant is withdrawn, side
by side; with --purge, the deployment roles go too, then the primary stack, its buckets and key.
`--orphan BUCKET` takes one entry out of the central lists and touches no developer account."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape

from xacct.aws import buckets, scheduler
from xacct.aws.central import CentralUpdate
from xacct.aws.reads import BuildContext, Context, read, read_central
from xacct.commands import common, review
from xacct.commands.onboard import central_change, deployer, nothing_to_do, raise_first, show_dry_run
from xacct.core import grants, planning, preview, stack_changes
from xacct.core import registry as reg
from xacct.core.answers import Central, Onboarding
from xacct.core.plan import BucketContents, Plan
from xacct.core.request import Request
from xacct.core.state import Prepared
from xacct.errors import ExitCode, Interrupted, InvalidInput
from xacct.terminal import render
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress


def run(target: Onboarding, request: Request, o: Output, interactive: bool, save_to: Path | None) -> int:
    ctx = Context(target.central, LineProgress(o.err), target=target, direct=request.yes)
    with common.waiting(o, "reading both accounts"):
        reads = read(ctx, leftovers=False)
        plan = planning.plan_remove(target, reads, ctx.build.partition, request.purge)
        if request.purge:
            plan.emptied = check_purge(ctx, plan, reads)
    changing = [*stack_changes.for_removal(target, plan, reads, ctx.dev.partition), central_change(ctx, plan, reads)]
    withdrawn = grants.granted(changing)
    if request.dry_run:
        show_dry_run(o, plan, request, withdrawn, preview.previews(changing, plan))
        return ExitCode.OK
    render.show_plan(o, plan)
    if plan.nothing_to_do:
        nothing_to_do(ctx, o, plan)
        common.save(save_to, target)
        return ExitCode.OK
    under_review = review.Review()
    if request.yes:
        render.show_grants(o, withdrawn)
    else:
        with common.waiting(o, "CloudFormation is preparing the change sets"):
            under_review = review.for_remove(ctx, plan, reads)
        render.show_changes(o, under_review.previews)
        render.show_grants(o, withdrawn)
        full = [c for c in plan.emptied if c.versions]
        # Deleting objects takes the account id typed; anything else, a yes.
        if full and not _typed(ctx, o, under_review, target.dev.account, full):
            return ExitCode.OK
        if not full and not review.confirm(ctx, o, under_review, "Remove this developer?"):
            return ExitCode.OK
    started = time.monotonic()
    try:
        with common.live(ctx, o):
            change = apply(ctx, plan, under_review.prepared)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise common.interrupted(ctx, exc, planned=common.planned(ctx, plan)) from exc
    applied = time.monotonic() - started
    render.summary(o, plan, change, common.final_stacks(ctx, reads.dev, reads.central), applied=applied)
    common.save(save_to, target)
    return ExitCode.OK


def run_orphan(central: Central, request: Request, o: Output, save_to: Path | None) -> int:
    """One bucket's entry out of the central lists; no developer account is read or touched."""
    if request.orphan is None:
        raise InvalidInput("--orphan needs a bucket name")
    ctx = BuildContext(central, LineProgress(o.err))
    plan = planning.plan_orphan(central, read_central(ctx), request.orphan)
    if request.dry_run:
        show_dry_run(o, plan, request, [])
        return ExitCode.OK
    render.show_plan(o, plan)
    if plan.nothing_to_do:
        o.out.print("\n[bold green]Nothing to do:[/] everything is already as planned.")
        return ExitCode.OK
    if not request.yes and not common.confirm("Remove this entry?"):
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    update = CentralUpdate(ctx.build_stacks(), ctx.build.ssm, plan.central_stack, ctx.progress)
    bucket = request.orphan
    try:
        with common.live(ctx, o):
            change = update.run(lambda before: reg.remove(before, bucket=bucket))
    except (KeyboardInterrupt, Interrupted) as exc:
        raise common.interrupted(ctx, exc) from exc
    render.summary(o, plan, change)
    common.save(save_to, central)
    return ExitCode.OK


def _typed(ctx: Context, o: Output, under_review: review.Review, account: str, full: list[BucketContents]) -> bool:
    """The one confirmation a purge of non-empty buckets takes, before anything starts: the
    account id, typed. Anything else (or Ctrl-C) deletes the change sets under review."""
    from xacct import signals

    for c in full:
        o.info(f"[bold yellow]{escape(c.bucket)}[/] holds {c.versions} object versions, which --purge deletes.")
    try:
        typed = common.type_to_confirm(f"Type the account id {account} to delete them and remove this developer:")
    except KeyboardInterrupt as exc:
        review.discard(ctx, under_review)
        raise Interrupted(
            f"interrupted{signals.named(exc)} at the confirmation: nothing was changed", status=signals.exit_status(exc)
        ) from exc
    if typed.strip() == account:
        return True
    review.discard(ctx, under_review)
    o.out.print("Not confirmed: nothing was changed.")
    return False


def check_purge(ctx: Context, plan: Plan, reads: planning.Reads) -> list[BucketContents]:
    """Everything that would stop a purge half-way, found before any write: another stack that
    imports an export of a stack to be deleted, or that CloudFormation runs with a deployment role
    to be deleted. Returns the buckets to be emptied, with what they hold."""
    s = ctx.target.stacks
    going = planning.deleted(plan)
    dev = ctx.dev_stacks()
    for name in sorted(going):
        for export, users in dev.importers(reads.dev[name]).items():
            others = [u for u in users if u not in going]
            if others:
                raise InvalidInput(
                    f"{name} cannot be deleted: its export {export} is imported by {', '.join(others)}",
                    hint=f"delete or change {others[0]} first, then run the same command again",
                )
    if s.deploy in going:
        deploy = reads.dev[s.deploy]
        roles = {deploy.outputs.get(k) for k in ("PipelineDeployRoleArn", "CloudFormationExecutionRoleArn")}
        users = [name for name, role in dev.service_roles().items() if role in roles and name not in going]
        if users:
            raise InvalidInput(
                f"{s.deploy} cannot be deleted: CloudFormation runs {', '.join(users)} with its deployment role",
                hint=f"delete {users[0]} first (or give it another role), then run the same command again",
            )
    if s.primary not in going:
        return []
    primary, dev_side = reads.dev[s.primary], ctx.target.dev
    names = (
        planning.developer_bucket(primary, dev_side.account, dev_side.region),
        planning.pipeline_bucket(primary, dev_side.account, dev_side.region),
    )
    return [c for c in (buckets.contents(ctx.dev.s3, n) for n in names) if c is not None]


def apply(ctx: Context, plan: Plan, prepared: dict[str, Prepared] | None = None) -> reg.Change:
    """The entry out of the central lists first (nothing is sent to a bucket that is going away),
    then the developer's stacks."""
    change = _apply(ctx, plan, prepared, central_done=False)
    assert change is not None
    return change


def withdraw_developer(ctx: Context, plan: Plan) -> None:
    """The developer's stacks only: a batch took every entry out of the central lists first."""
    _apply(ctx, plan, None, central_done=True)


def _apply(ctx: Context, plan: Plan, prepared: dict[str, Prepared] | None, *, central_done: bool) -> reg.Change | None:
    s = ctx.target.stacks
    dev = ctx.dev_stacks()
    result: dict[str, reg.Change] = {}
    actions = {step.stack: step.action for step in plan.stacks}
    waiting = prepared if prepared is not None else {}

    def central() -> None:
        update = CentralUpdate(ctx.build_stacks(), ctx.build.ssm, plan.central_stack, ctx.progress)
        result["change"] = update.run(lambda before: planning.removal_change(before, plan.bucket, plan.cmk))

    def withdraw_grant() -> None:
        params = planning.withdrawal_parameters(
            dev.describe(s.primary),
            ctx.target.dev.account,
            planning.account_root(ctx.dev.partition, ctx.target.central.build.account),
            seed_template=s.primary in plan.kept_templates,
        )
        deployer(ctx, waiting, kept=plan.kept_templates)(s.primary, params)

    def purge_primary() -> None:
        # The stack retains its buckets and key (DeletionPolicy), so purge deletes them itself, and
        # first: the stack's outputs are the only record of which key it was. Whatever fails half-way
        # leaves the stack in place, and the same command finds everything again and finishes.
        state = dev.describe(s.primary)
        names = [n for n in (state.outputs.get("BuildBucket"), state.outputs.get("PipelineBucket")) if n]
        for name in names:
            buckets.empty(ctx.dev.s3, name, ctx.progress)
            buckets.delete(ctx.dev.s3, name, ctx.progress)
        key = state.outputs.get("CMK")
        if key and buckets.schedule_key_deletion(ctx.dev.kms, key):
            ctx.progress.note(f"dev:{s.primary}", f"key {key} scheduled for deletion in 7 days")
        dev.delete(s.primary, ctx.progress)

    steps = [] if central_done else [scheduler.Step("central", central)]
    first: tuple[str, ...] = () if central_done else ("central",)
    if actions.get(s.developer) == "delete":
        steps.append(scheduler.Step(f"developer {s.developer}", lambda: dev.delete(s.developer, ctx.progress), first))
    if actions.get(s.primary) == "update":
        steps.append(scheduler.Step(f"developer {s.primary}", withdraw_grant, first))
    if actions.get(s.deploy) == "delete":
        steps.append(scheduler.Step(f"developer {s.deploy}", lambda: dev.delete(s.deploy, ctx.progress), first))
    if actions.get(s.primary) == "delete":
        # After the stacks that import its exports (and whatever else goes) are gone.
        after = tuple(step.name for step in steps if step.name != "central") or first
        steps.append(scheduler.Step(f"developer {s.primary}", purge_primary, after))
    outcome = scheduler.run(steps, ctx.stop)
    for leftover in waiting.values():
        dev.discard(leftover)
    raise_first(outcome)
    return result.get("change")
