"""Many developers in one run (--from FILE): every developer checked before any write (every
refusal said at once), then two operations deep as for one developer: every primary stack; then
each developer's other stacks and, once every primary has settled, ONE central change set that
registers every developer whose primary succeeded, in file order after the existing entries.
A failed developer is reported with CloudFormation's reason; the same command run again
finishes what is missing and adds nothing twice (merging an entry already registered changes
nothing). Also what the batch removal (fleet_remove.py) reads with."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from xacct import collector
from xacct.aws.central import CentralUpdate
from xacct.aws.reads import BuildContext, Context, read
from xacct.commands import common, onboard
from xacct.commands.resolve import Reached, derive
from xacct.core import fleet as fl
from xacct.core import planning, preview
from xacct.core import registry as reg
from xacct.core.answers import Answers, Central, Onboarding
from xacct.core.plan import Plan
from xacct.core.planning import Reads
from xacct.core.request import Request
from xacct.core.saved import Saved, check_current, check_plan, inputs, make
from xacct.core.state import StackState
from xacct.core.words import counted, these
from xacct.errors import ExitCode, Interrupted, InvalidInput, XacctError
from xacct.terminal import render
from xacct.terminal.fleet_progress import CENTRAL, FleetLines, FleetLive
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say, stacks_line

# Developers whose stacks are deployed at once. CloudFormation's API request quotas are per account
# and region, and every developer is an account of its own: the batch shares none but the build
# account's, which it calls once. What throttling remains (Throttling, "Rate exceeded") the
# clients' adaptive retries absorb. The bound is this machine's: threads and open connections;
# a hundred developers at once wait on CloudFormation together instead of in waves.
AT_ONCE = 128


@dataclass
class Member:
    n: int
    given: Answers
    target: Onboarding | None = None
    ctx: Context | None = None
    plan: Plan | None = None
    problem: str | None = None
    entry: reg.Entry | None = None
    reads: Reads | None = None

    @property
    def label(self) -> str:
        who = self.target.dev.account if self.target else self.given.dev_account or "?"
        return f"developer {self.n} ({self.given.dev_profile or 'default credentials'}, {who})"


@dataclass
class Batch:
    """Everything a batch was planned from: the build side, the central stack, each developer."""

    central: Central
    bctx: BuildContext
    members: list[Member]
    state: StackState  # the central stack, as read


Planner = Callable[[Member, Context, Reads], Plan]


def gather(request: Request, o: Output, saved: Saved | None, planner: Planner, *, leftovers: bool = True) -> Batch:
    """Read the build account and every developer and plan each; every refusal at once, before
    any write."""
    from xacct import config

    if saved is not None:  # --apply: the developers of the saved plan, as they were resolved
        first = saved.answers[0]
        build = Answers(
            build_account=first.build_account,
            build_region=first.build_region,
            build_profile=first.build_profile,
            central_stack=first.central_stack,
        )
        listed = fl.Fleet(build, saved.answers)
    else:
        assert request.fleet is not None
        listed = config.load_fleet(request.fleet)
    shared = request.given.layered(listed.shared)
    shared.validate()
    identify = Reached()
    members = [Member(n, dev.layered(shared)) for n, dev in enumerate(listed.developers, 1)]
    with common.waiting(o, f"reading the build account and {len(members)} developer accounts"):
        central = derive(shared, Answers().with_defaults(), identify, developer=False).central()
        bctx = BuildContext(central, LineProgress(o.err), threading.Event())
        bctx.build = identify.gateway(central.build.profile, central.build.region, "build")
        bctx.build.check_account(central.build.account)
        state = bctx.build_stacks().describe(central.stack)

        def each(m: Member) -> None:  # one pass: no developer waits for the slowest to be identified
            _resolve(m, identify)
            _read(m, bctx, identify, planner, leftovers=leftovers, central=state)

        with collector.paused():
            _each(members, each)
        _duplicates(members)
        _refuse(o, members)
    return Batch(central, bctx, members, state)


def _onboarding(m: Member, ctx: Context, reads: Reads) -> Plan:
    assert m.target is not None
    return planning.plan_onboard(m.target, reads, ctx.build.partition)


def run(request: Request, o: Output, interactive: bool, saved: Saved | None = None) -> int:
    batch = gather(request, o, saved, _onboarding)
    central, bctx, members = batch.central, batch.bctx, batch.members
    computed = inputs(batch.state, [(m.target, m.reads) for m in members if m.target and m.reads])
    if saved is not None:
        check_current(saved, computed, str(request.apply_plan))
    before = planning.check_central(central, batch.state)
    change = fl.check_batch(before, [m.plan.change.entry for m in members if m.plan and m.plan.change.entry])
    plans = [m for m in members if m.plan]
    if saved is not None:
        check_plan(saved, _as_json(plans, change), str(request.apply_plan))
    after = reg.render(change.after) if change.changes_anything else {}
    _, notes = common.check_central_template(bctx, batch.state, after)
    for note in notes:
        o.info(f"note: {note}")
    if request.dry_run:
        _dry_run(o, request, plans, change, computed)
        return ExitCode.OK
    if all(m.plan and m.plan.nothing_to_do for m in plans) and not change.changes_anything:
        o.out.print("\n[bold green]Nothing to do:[/] every developer is already as planned.")
        return ExitCode.OK
    if not request.yes:
        show(o, plans, change)  # the whole plan it approves is on the screen before the question
        render.total(o, preview.fleet_total([m.plan for m in plans if m.plan], change))
    if not request.yes and not common.confirm(f"Onboard {these(len(plans))}?"):
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    started = time.monotonic()
    view = view_for(o, plans)
    bctx.progress = view
    for m in plans:
        if m.ctx is not None:
            m.ctx.progress = view
    try:
        with view if isinstance(view, FleetLive) else contextlib.nullcontext():
            final = _apply(bctx, central.stack, plans, view)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise common.interrupted(bctx, exc) from exc
    again = f"--apply {request.apply_plan}" if request.apply_plan else f"--from {request.fleet} --yes"
    summary(o, "Onboarded", plans, final, time.monotonic() - started, again=f"{request.prog} {again}", where=_fate)
    if not request.no_sync:
        _start_current(o, bctx, central.stack, [m for m in plans if not m.problem])
    return ExitCode.OK if not any(m.problem for m in plans) else ExitCode.AWS_FAILED


def _start_current(o: Output, bctx: BuildContext, stack: str, members: list[Member]) -> None:
    from xacct.commands import sync

    sync.start_batch(o, bctx, stack, [m.plan.bucket for m in members if m.plan])


class Primaries:
    """Who is registered: each developer arrives once its primary stack (the bucket and key the
    central lists name) is deployed, with its entry, or has failed, without one."""

    def __init__(self, members: list[Member]) -> None:
        self.waiting = {m.n for m in members}
        self.settled = threading.Condition()

    def arrive(self, m: Member, entry: reg.Entry | None) -> None:
        with self.settled:
            if m.n in self.waiting:
                m.entry = entry
                self.waiting.discard(m.n)
                self.settled.notify_all()

    def wait(self, stop: threading.Event) -> None:
        with self.settled:
            while self.waiting:
                if stop.is_set():
                    raise Interrupted("interrupted")
                self.settled.wait(0.5)  # short waits: Ctrl-C reaches this thread


def _apply(bctx: BuildContext, stack: str, plans: list[Member], view: FleetLines) -> reg.Change:
    """Two operations deep for the whole batch, as for one developer: every developer's primary
    stack; then, once every primary has settled, the one central update, and beside it each
    developer's deployment roles and developer stack. Those start once CloudFormation has the
    central change set: the central update is what everything waits for, and a hundred stacks
    started at once would hold back its reads and its change set on this machine's CPU (and end
    before it anyway). A developer whose primary failed is left out of the central update."""
    primaries = Primaries(plans)
    central_first = threading.Event()

    def developer(m: Member) -> None:
        assert m.ctx is not None
        assert m.plan is not None
        ctx = m.ctx
        key = ctx.dev_label
        try:
            onboard.deploy_developer(
                ctx,
                m.plan,
                central=lambda primary: primaries.arrive(m, onboard.entry_of(ctx, primary)),
                hold=central_first,
            )
        except XacctError as exc:
            m.problem = exc.message
            view.finished(key, False, f"failed: {exc.message}")
        else:
            view.finished(key, True, "stacks ready")
        finally:
            primaries.arrive(m, None)  # a primary that failed: left out of the central write

    with ThreadPoolExecutor(max_workers=max(1, min(AT_ONCE, len(plans)))) as pool:
        running = [pool.submit(developer, m) for m in plans]
        try:
            primaries.wait(bctx.stop)
            entries = [m.entry for m in plans if m.entry]  # file order
            update = CentralUpdate(bctx.build_stacks(), bctx.build.ssm, stack, view, created=central_first.set)
            final = update.run(lambda now: fl.merge_all(now, entries))
            view.finished(CENTRAL, True, final.message)
        except BaseException:
            bctx.stop.set()  # every developer's wait ends; what CloudFormation started goes on
            raise
        finally:
            central_first.set()  # no change set (nothing to change, or it failed): the others go on
        for future in running:
            future.result()
    return final


def _dry_run(o: Output, request: Request, plans: list[Member], change: reg.Change, computed: dict[str, Any]) -> None:
    document = _as_json(plans, change)
    if request.markdown:
        from xacct.terminal import markdown

        o.out.file.write(markdown.fleet(document))
    elif request.json:
        o.out.file.write(json.dumps(document, indent=2) + "\n")
    else:
        show(o, plans, change)
        o.out.print("\n[dim]dry run: nothing was changed[/]")
    if request.out is not None:
        from xacct.config import write_plan

        targets = [m.target for m in plans if m.target]
        write_plan(request.out, make(targets, document, computed, fleet=True))
        o.info(f"plan saved to {request.out}: apply it with --apply {request.out}")


def _each(members: list[Member], work: Callable[[Member], None], *, at_once: int = AT_ONCE) -> None:
    """`work` for every member, a few at a time; a refusal or failure is recorded on its member."""

    def guarded(m: Member) -> None:
        try:
            work(m)
        except XacctError as exc:
            m.problem = exc.message

    with ThreadPoolExecutor(max_workers=max(1, min(at_once, len(members)))) as pool:
        list(pool.map(guarded, members))


def _resolve(m: Member, identify: Callable[[str | None, str | None, str], str]) -> None:
    answers = derive(m.given, Answers().with_defaults(), identify, developer=True)
    answers.validate()
    m.target = answers.onboarding()


def _duplicates(members: list[Member]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for m in members:
        if m.target is None:
            continue
        key = (m.target.dev.account, m.target.dev.region)
        if key in seen:
            m.problem = f"the same account and region as developer {seen[key]}"
        seen.setdefault(key, m.n)


def _read(
    m: Member, bctx: BuildContext, reached: Reached, plan: Planner, *, leftovers: bool, central: StackState
) -> None:
    assert m.target is not None
    dev = m.target.dev
    ctx = Context(bctx.central, bctx.progress, bctx.stop, target=m.target, direct=True, dev_label=dev.account)
    ctx.inflight, ctx.poller = bctx.inflight, bctx.poller  # one poller: the developers' stacks are kin
    ctx.build, ctx.dev = bctx.build, reached.gateway(dev.profile, dev.region, "developer")
    m.ctx = ctx
    m.reads = read(ctx, leftovers=leftovers, central=central)
    m.plan = plan(m, ctx, m.reads)


def _refuse(o: Output, members: list[Member]) -> None:
    """Every refusal at once, before any write."""
    refused = [m for m in members if m.problem]
    if not refused:
        return
    for m in refused:
        o.error(f"{m.label}: {m.problem}")
    raise InvalidInput(
        f"{len(refused)} of {counted(len(members), 'developer')} refused before any write; nothing was changed",
        hint="fix or remove them in the file, then run the same command again",
    )


def view_for(o: Output, plans: list[Member]) -> FleetLines:
    labels = {m.target.dev.account: f"{m.n:>3} {m.target.dev.account} {m.target.dev.region}" for m in plans if m.target}
    if o.terminal.is_terminal:
        return FleetLive(o.terminal, labels, o.log)
    return FleetLines(o.err, labels, o.log)


def show(o: Output, plans: list[Member], change: reg.Change) -> None:
    first = plans[0].target
    assert first is not None
    b = first.build
    say(o, ("Onboarding", "bold"), f" {counted(len(plans), 'developer')} onto build account ", (b.account, "bold"),
        f" ({b.region}), central stack ", (first.central.stack, "bold"))  # fmt: skip
    o.out.print()
    for m in plans:
        developer_line(o, m)
    o.out.print()
    before, after = len(change.before.entries), len(change.after.entries)
    say(o, ("Central replication lists", "bold"), f": {before} registered, {after} after ({change.message}); ",
        "one change set for the whole batch", hang=2)  # fmt: skip
    for pos, e in enumerate(change.after.entries, 1):
        if pos > before:
            say(o, ("  +", "green"), f" {pos:>3}  {e.bucket}", hang=9)
    if before:
        say(o, (f"    the {before} registered developers keep their places", "dim"))


def developer_line(o: Output, m: Member) -> None:
    assert m.plan is not None
    assert m.target is not None
    stacks_line(o, f"  {m.n:>3}  {m.target.dev.account} {m.target.dev.region}  ", m.plan.stacks, hang=7)


def _fate(m: Member) -> str:
    return ", registered (its bucket and key exist)" if m.entry else ", left out of the central lists"


def summary(
    o: Output,
    verb: str,
    members: list[Member],
    final: reg.Change,
    applied: float,
    *,
    again: str,
    where: Callable[[Member], str] = lambda m: "",
) -> None:
    """How a batch ended: how many, how long, the central change, each failure and what to run."""
    failed = [m for m in members if m.problem]
    o.out.print()
    style = "bold green" if not failed else "bold yellow"
    took = f"in {applied:.1f} s ({o.elapsed():.1f} s in all)"
    say(o, (f"{verb} {len(members) - len(failed)} of {counted(len(members), 'developer')} {took}.", style))
    say(o, f"  central stack: {final.message}", hang=4)
    for m in failed:
        say(o, ("  failed ", "red"), f"{m.label}{where(m)}: {m.problem}", hang=9)
    if failed:
        twice = "nobody is added twice" if verb == "Onboarded" else "nobody is removed twice"
        say(o, f"  next: fix the cause, then run the same command again ({again}): what is done stays done, {twice}",
            hang=8)  # fmt: skip


def _as_json(plans: list[Member], change: reg.Change) -> dict[str, object]:
    return {
        "developers": [
            {
                "account": m.target.dev.account,
                "region": m.target.dev.region,
                "bucket": m.plan.bucket,
                "stacks": {step.stack: step.action for step in m.plan.stacks},
            }
            for m in plans
            if m.target and m.plan
        ],
        "central": {
            "before": [e.bucket for e in change.before.entries],
            "after": [e.bucket for e in change.after.entries],
            "parameters": reg.render(change.after),
        },
    }
