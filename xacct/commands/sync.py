"""`--sync`, and the end of an onboarding: start a developer current. The central replication
function copies the current version of every build artifact into the developer's bucket;
what the bucket already holds (or holds newer) is left as it is."""

from __future__ import annotations

from xacct.aws import backfill
from xacct.aws.patience import Patience
from xacct.aws.reads import BuildContext, Context
from xacct.core.answers import Onboarding
from xacct.core.planning import check_central, developer_bucket
from xacct.core.request import Request
from xacct.core.state import StackState
from xacct.errors import ExitCode, InvalidInput, XacctError
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say

GROUP = 16  # buckets per invocation: the function's copies in flight stay at its WORKERS either way


def run(target: Onboarding, request: Request, o: Output) -> int:
    ctx = Context(target.central, LineProgress(o.err), target=target)
    ctx.build.check_account(target.build.account)
    ctx.dev.check_account(target.dev.account)
    central = ctx.build_stacks().describe(target.central.stack)
    registry = check_central(target.central, central)
    primary = ctx.dev_stacks().describe(target.stacks.primary)
    bucket = developer_bucket(primary, target.dev.account, target.dev.region)
    if bucket not in [e.bucket for e in registry.entries]:
        raise InvalidInput(f"{bucket} is not registered in {central.name}: onboard the developer first")
    synced = start_current(ctx, o, central, bucket)
    return ExitCode.OK if synced is None or not synced.failed else ExitCode.AWS_FAILED


def start_current(ctx: Context, o: Output, central: StackState, bucket: str) -> backfill.Synced | None:
    """Sync one developer bucket, its progress on stderr and its outcome on stdout (None: the
    central stack's function cannot sync, as the seed project's cannot)."""
    if not backfill.available(central):
        _cannot(o, central)
        return None

    def progress(done: backfill.Synced) -> None:
        ctx.progress.note("central", f"sync {bucket}: {done.copied} copied, {done.current} already current")

    synced = backfill.sync(ctx.build.lambda_, central, bucket, progress, Patience(o.info))
    show(o, synced)
    return synced


def show(o: Output, synced: backfill.Synced) -> None:
    if not (synced.copied or synced.current or synced.failed):
        say(
            o,
            ("Started current: ", "bold"),
            f"{synced.bucket}: the build bucket holds no artifact yet; each build arrives as it is made",
        )
        return
    say(
        o,
        ("Started current: " if not synced.failed else "Started current, with failures: ", "bold"),
        f"{synced.copied} artifact{'' if synced.copied == 1 else 's'} copied into {synced.bucket}, "
        f"{synced.current} already there, "
        f"{synced.failed} failed",
        hang=4,
    )
    for failure in synced.failures[:5]:
        say(o, f"  failed: {failure.get('artifact')}: {failure.get('reason')}", hang=4)
    if synced.failed:
        say(o, "  next: fix the cause, then run the same command with --sync", hang=4)


def start_batch(o: Output, bctx: BuildContext, stack: str, buckets: list[str]) -> None:
    """start_many for a batch just registered in `stack`: when the stack holds this version's
    template, its function answers per bucket, and no lone first invocation is needed to learn it."""
    from xacct.core.templates import template

    stacks = bctx.build_stacks()
    ours = stacks.template(stack).strip() == template("CrossAccountPrimary").strip()
    start_many(o, bctx, stacks.describe(stack), buckets, grouped=ours)


def start_many(
    o: Output, bctx: BuildContext, central: StackState, buckets: list[str], *, grouped: bool = False
) -> None:
    """Every bucket of a batch starts current: GROUP buckets per invocation, a few invocations at a
    time (the first bucket alone, to learn whether the function answers per bucket, unless
    `grouped`: the central stack holds this version's template, whose function does); said per
    developer, in order."""
    from concurrent.futures import ThreadPoolExecutor

    if not backfill.available(central) or not buckets:
        if buckets:
            _cannot(o, central)
        return

    waiting = Patience(o.info)  # the batch's grants were just made: they take effect eventually

    def group(part: list[str]) -> list[backfill.Synced | str]:
        try:
            return list(backfill.sync_group(bctx.build.lambda_, central, part, waiting=waiting))
        except XacctError as exc:
            return [exc.message] * len(part)

    outcomes: list[backfill.Synced | str] = [] if grouped else group(buckets[:1])
    first = outcomes[0] if outcomes else None
    size = GROUP if grouped or (isinstance(first, backfill.Synced) and first.grouped) else 1
    parts = [buckets[i : i + size] for i in range(len(outcomes), len(buckets), size)]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(parts)))) as pool:
        for done in pool.map(group, parts):
            outcomes += done
    o.out.print()
    for bucket, outcome in zip(buckets, outcomes, strict=True):
        if isinstance(outcome, str):
            say(o, f"{bucket}: could not start current: {outcome}", hang=4)
        else:
            show(o, outcome)


def _cannot(o: Output, central: StackState) -> None:
    say(o, ("note:", "dim"), f" {central.name}'s function cannot copy the current artifacts (a seed-project "
        "stack: --adopt gives it this project's); they arrive with the next builds")  # fmt: skip
