"""`--from FILE --remove`: many developers out in one run. Every developer is read and planned
before any write; ONE central change set takes every entry out (nothing is sent to buckets that
are going away), then each developer's stacks are withdrawn or deleted, many at once. A
developer whose stacks failed is reported; the same command again finishes it (an entry already
gone is nothing to remove)."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

from xacct.aws.central import CentralUpdate
from xacct.aws.reads import Context
from xacct.commands import common, fleet, remove
from xacct.core import planning, preview
from xacct.core import registry as reg
from xacct.core.plan import Plan
from xacct.core.planning import Reads
from xacct.core.request import Request
from xacct.core.words import counted, these
from xacct.errors import ExitCode, Interrupted, XacctError
from xacct.terminal import render
from xacct.terminal.fleet_progress import CENTRAL, FleetLive
from xacct.terminal.output import Output
from xacct.terminal.render import purge_line, say


def remove_all(before: reg.Registry, plans: list[Plan]) -> reg.Change:
    """Every developer's entry out, in one change: the others keep their order."""
    registry = before
    gone = 0
    for plan in plans:
        step = planning.removal_change(registry, plan.bucket, plan.cmk)
        gone += step.kind == "removed"
        registry = step.after
    kind: reg.ChangeKind = "removed" if gone else "not-registered"
    return reg.Change(before, registry, kind, f"{gone} of {counted(len(plans), 'developer')} taken out")


def run(request: Request, o: Output, interactive: bool) -> int:
    def planner(m: fleet.Member, ctx: Context, reads: Reads) -> Plan:
        assert m.target is not None
        plan = planning.plan_remove(m.target, reads, ctx.build.partition, request.purge)
        if request.purge:
            plan.emptied = remove.check_purge(ctx, plan, reads)
        return plan

    batch = fleet.gather(request, o, None, planner, leftovers=False)
    members = [m for m in batch.members if m.plan]
    plans = [m.plan for m in members if m.plan]
    before = planning.check_central(batch.central, batch.state)
    change = remove_all(before, plans)
    after = reg.render(change.after) if change.changes_anything else {}
    _, notes = common.check_central_template(batch.bctx, batch.state, after)
    show(o, members, change)
    for note in notes:
        o.info(f"note: {note}")
    if request.dry_run:
        o.out.print("\n[dim]dry run: nothing was changed[/]")
        return ExitCode.OK
    if all(p.nothing_to_do for p in plans) and not change.changes_anything:
        o.out.print("\n[bold green]Nothing to do:[/] every developer is already out.")
        return ExitCode.OK
    if not request.yes:
        steps = [step.action for p in plans for step in p.stacks]
        gone = len(change.before.entries) - len(change.after.entries)
        central = f"{gone} taken out of the lists in one change set" if change.changes_anything else "no change"
        render.total(o, preview.batch_total(steps, len(plans), len({p.dev_account for p in plans}), central))
    if not request.yes and not _confirmed(o, members, batch.central.build.account):
        return ExitCode.OK
    started = time.monotonic()
    bctx = batch.bctx
    view = fleet.view_for(o, members)
    bctx.progress = view
    for m in members:
        if m.ctx is not None:
            m.ctx.progress = view
    try:
        with view if isinstance(view, FleetLive) else contextlib.nullcontext():
            update = CentralUpdate(bctx.build_stacks(), bctx.build.ssm, batch.central.stack, view)
            final = update.run(lambda now: remove_all(now, plans))
            view.finished(CENTRAL, True, final.message)

            def withdraw(m: fleet.Member) -> None:
                assert m.ctx is not None
                assert m.plan is not None
                try:
                    remove.withdraw_developer(m.ctx, m.plan)
                except XacctError as exc:
                    m.problem = exc.message
                    view.finished(m.ctx.dev_label, False, f"failed: {exc.message}")
                else:
                    view.finished(m.ctx.dev_label, True, "stacks withdrawn")

            with ThreadPoolExecutor(max_workers=max(1, min(fleet.AT_ONCE, len(members)))) as pool:
                list(pool.map(withdraw, members))
    except (KeyboardInterrupt, Interrupted) as exc:
        raise common.interrupted(bctx, exc) from exc
    again = f"{request.prog} --from {request.fleet} --remove --yes"
    fleet.summary(o, "Removed", members, final, time.monotonic() - started, again=again)
    return ExitCode.OK if not any(m.problem for m in members) else ExitCode.AWS_FAILED


def _confirmed(o: Output, members: list[fleet.Member], build_account: str) -> bool:
    """A yes; or, when purge deletes objects, the build account's id typed."""
    full = [c for m in members if m.plan for c in m.plan.emptied if c.versions]
    if not full:
        ok = common.confirm(f"Remove {these(len(members))}?")
    else:
        versions = sum(c.versions for c in full)
        o.info(
            f"[bold yellow]{counted(len(full), 'bucket')}[/] {'holds' if len(full) == 1 else 'hold'} "
            f"{versions} object versions, which --purge deletes."
        )
        ok = common.type_to_confirm(f"Type the build account id {build_account} to remove them:").strip() == (
            build_account
        )
    if not ok:
        o.out.print("Declined: nothing was changed.")
    return ok


def show(o: Output, members: list[fleet.Member], change: reg.Change) -> None:
    say(o, ("Removing", "bold"), f" {counted(len(members), 'developer')}")
    o.out.print()
    for m in members:
        fleet.developer_line(o, m)
        for c in m.plan.emptied if m.plan else []:
            purge_line(o, c, indent="       ")
    o.out.print()
    left = {e.bucket for e in change.after.entries}
    kept = len(change.after.entries)
    say(o, ("Central replication lists", "bold"), f": {change.message}, in one change set; "
        f"{'the other ' if kept else ''}{kept} {'keeps its' if kept == 1 else 'keep their'} place")  # fmt: skip
    for e in change.before.entries:
        if e.bucket not in left:
            say(o, ("  -", "red"), f" {e.bucket}", hang=4)
