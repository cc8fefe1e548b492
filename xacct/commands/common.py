"""What every command shares: the live view, what an interruption says,
the command that resumes a run, confirmations, and saving the answers after success."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from xacct.aws.reads import BuildContext, Context
from xacct.aws.stacks import Stacks
from xacct.core import planning
from xacct.core.answers import Central, Onboarding, answers_of
from xacct.core.plan import Plan
from xacct.core.request import Request
from xacct.core.state import StackState
from xacct.errors import AGAIN, Interrupted, InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.render import Stacked


@contextlib.contextmanager
def live(ctx: BuildContext, o: Output) -> Iterator[None]:
    """A live view of the stacks while CloudFormation works, on a terminal; lines elsewhere."""
    from xacct.terminal.progress import LiveProgress

    if not o.terminal.is_terminal:
        yield
        return
    view = LiveProgress(o.terminal, o.log)
    previous, ctx.progress = ctx.progress, view
    try:
        with view:
            yield
    finally:
        ctx.progress = previous


@contextlib.contextmanager
def waiting(o: Output, what: str) -> Iterator[None]:
    """A spinner on the terminal while AWS answers; nothing elsewhere."""
    if not o.terminal.is_terminal:
        yield
        return
    with o.terminal.status(f"{what}…"):
        yield


def final_stacks(ctx: BuildContext, dev: Mapping[str, StackState], central: StackState | None) -> list[Stacked]:
    """The stacks a run touched, as they are now, side by side: a deleted one by its id, so that
    its ARN is still there to quote."""
    from concurrent.futures import ThreadPoolExecutor

    from xacct.aws.reads import Context

    def now(stacks: Stacks, before: StackState) -> StackState:
        state = stacks.describe(before.stack_id or before.name)
        return replace(state, name=before.name)

    def later(stacks: Stacks, before: StackState) -> Callable[[], StackState]:
        return lambda: now(stacks, before)

    jobs: list[tuple[str, str, str, Callable[[], StackState]]] = []
    if isinstance(ctx, Context):
        d = ctx.target.dev
        jobs += [("developer", d.account, d.region, later(ctx.dev_stacks(), before)) for before in dev.values()]
    if central is not None:
        b = ctx.central.build
        jobs.append(("build", b.account, b.region, later(ctx.build_stacks(), central)))
    with ThreadPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
        futures = [(side, account, region, pool.submit(job)) for side, account, region, job in jobs]
        found = [(side, account, region, f.result()) for side, account, region, f in futures]
    return [row for row in found if row[3].stack_id]  # a stack that never was has nothing to show


def resume_command(prog: str, target: Central | Onboarding, *, remove: bool = False, purge: bool = False) -> str:
    """The command that continues where this run stopped: every answer spelled out."""
    words = [prog]
    if remove:
        words.append("--remove")
    if purge:
        words.append("--purge")
    for name, value in answers_of(target).to_dict().items():
        words.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(words)


def interrupted(
    ctx: BuildContext, cause: BaseException | None = None, *, planned: list[str] | None = None, resume: str = ""
) -> Interrupted:
    """Stop every wait, and say exactly where things are: the stack operations that completed, those
    CloudFormation is still doing on its own, and (given the plan's) those that never started."""
    from xacct import signals

    ctx.stop.set()
    parts = []
    if ctx.finished:
        parts.append("completed: " + ", ".join(f"{tag} ({status})" for tag, status in ctx.finished.items()))
    if ctx.inflight:
        busy = ", ".join(f"{stack} ({op})" for stack, op in ctx.inflight.items())
        them = "them" if len(ctx.inflight) > 1 else "it"
        parts.append(f"CloudFormation is still working on {busy} and finishes {them} on its own")
    if planned is not None:
        waiting = [tag for tag in planned if tag not in ctx.finished and tag not in ctx.inflight]
        parts.append("not started: " + (", ".join(waiting) or "nothing"))
    if not parts:
        parts.append("no stack operation had started")
    signal_cause = signals.interrupt_in(cause) or KeyboardInterrupt()
    return Interrupted(
        f"interrupted{signals.named(signal_cause)}; " + "; ".join(parts),
        hint=f"run the same command again to finish: {resume}" if resume else AGAIN,
        status=signals.exit_status(signal_cause),
    )


def planned(ctx: Context, plan: Plan) -> list[str]:
    """The stack operations a plan makes, named as progress names them."""
    tags = [f"{ctx.dev_label}:{s.stack}" for s in plan.stacks if s.action != "none"]
    return [*tags, f"build:{plan.central_stack}"] if plan.change.changes_anything else tags


def confirm(question: str) -> bool:
    from xacct.terminal.wizard import confirm as ask_confirm

    return ask_confirm(question)


def type_to_confirm(message: str) -> str:
    from xacct.terminal.wizard import type_to_confirm as ask_typed

    return ask_typed(message)


def save(path: Path | None, target: Central | Onboarding) -> None:
    if path is None:
        return
    from xacct import config

    # Saving defaults is a convenience, never a failure; what a build-only command does not know
    # (the developer's answers) stays as it was saved.
    with contextlib.suppress(OSError):
        config.save(path, answers_of(target).layered(config.load_saved(path)))


def check_central_template(ctx: BuildContext, state: StackState, after: Mapping[str, str]) -> tuple[str, list[str]]:
    """The template the central stack's update deploys (the one it holds, read once, or this
    version's when the registry needs its overflow parameters) and what the plan should say about
    it; refused before any write when the parameter change would update a function Lambda no longer
    lets anyone update (CloudFormation's update would fail and roll back)."""
    from xacct.core import grants, seed
    from xacct.core import registry as reg
    from xacct.core.templates import template
    from xacct.core.upgrade import central_template
    from xacct.errors import InvalidInput

    central = ctx.central
    held = ctx.build_stacks().template(state.name)
    first = len(reg.parse(state.parameters).held(0))
    deployed, upgrade = central_template(held, after, template("CrossAccountPrimary"), first)
    change = grants.StackChange(
        state.name, "build", central.build.account, central.build.region, deployed,
        dict(state.parameters), {**state.parameters, **after}, ctx.build.partition,
    )  # fmt: skip
    for blocked in seed.blocked_updates(change):
        build = f"--build-account {central.build.account} --build-region {central.build.region}" + (
            f" --build-profile {central.build.profile}" if central.build.profile else ""
        )
        raise InvalidInput(
            f"the central stack's function {blocked.logical_id} runs {blocked.runtime}, which Lambda has refused to "
            f"update since {blocked.since}; this change of its parameters updates the function, so CloudFormation's "
            "update would fail and roll back. Nothing was changed",
            hint=f"move the stack to this project's template (a supported runtime; its key, buckets, exports and "
            f"registrations kept): python onboard.py --adopt {build} --central-stack {state.name}",
        )
    if deployed != held:
        check_exports(ctx.build_stacks(), state, held, deployed)
    found = seed.recognise(deployed)
    return deployed, (list(found.notes) if found else []) + ([upgrade] if upgrade else [])


def check_exports(stacks: Stacks, state: StackState, held: str | None, template: str) -> None:
    """Refused before any write: an update from `held` to `template` that would change or remove an
    export another stack imports (CloudFormation would fail it and roll it back). The importers are
    asked only when the templates differ in an export."""
    from xacct.core import exports
    from xacct.errors import InvalidInput

    if not state.exists or held is None or held.strip() == template.strip() or not exports.changed(held, template):
        return
    found = exports.refusals(state.name, held, template, stacks.importers(state))
    if found:
        raise InvalidInput(
            found[0] + ". Nothing was changed",
            hint="keep the export as it is, or change the stacks that import it first, then run the same command again",
        )


def confirmed(request: Request, o: Output, question: str) -> bool:
    """Yes from --yes or the person; otherwise it says that nothing was changed."""
    if request.yes:
        return True
    if confirm(question):
        return True
    o.out.print("Declined: nothing was changed.")
    return False


def central_state(bctx: BuildContext) -> StackState:
    """The central stack, which must be this project's (deployed, with its replication role)."""
    bctx.build.check_account(bctx.central.build.account)
    state = bctx.build_stacks().describe(bctx.central.stack)
    if not state.exists or not state.outputs.get(planning.REPLICATION_ROLE_OUTPUT):
        raise InvalidInput(
            f"the central stack {bctx.central.stack} is not deployed with this project's template in "
            f"{bctx.central.build.account} {bctx.central.build.region}",
            hint="onboard a developer (or --adopt the seed's stack) first",
        )
    return state
