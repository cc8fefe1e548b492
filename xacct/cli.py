"""The command line: flags, one error handler, exit statuses.

Imports only the standard library at module level: `--help` must not pay for boto3 or rich.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xacct.errors import AGAIN, ExitCode, Interrupted, InvalidInput, XacctError

if TYPE_CHECKING:
    from xacct.answers import Answers
    from xacct.render import Output

ANSWER_FLAGS = (
    ("build_account", "ID", "the central build account"),
    ("build_region", "R", "region of the central stack"),
    ("build_profile", "P", "profile reaching the build account"),
    ("dev_account", "ID", "the developer account"),
    ("dev_region", "R", "region of the developer stacks"),
    ("dev_profile", "P", "profile reaching the developer account"),
    ("central_stack", "NAME", "central stack in the build account (default CrossAccountPrimary)"),
    (
        "dev_stacks",
        "P,D,V",
        "the developer account's stacks (default CrossAccountPrimary,CrossAccountDeploy,CrossAccountDeveloper)",
    ),
)


def parser() -> argparse.ArgumentParser:
    from xacct import __version__

    p = argparse.ArgumentParser(
        description="Onboard a developer AWS account onto the cross-account pipeline: deploy its "
        "stacks and register its bucket in the central build account's replication lists.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--remove", action="store_true", help="offboard the developer account")
    mode.add_argument(
        "--status", action="store_true", help="who is registered, whether replication is on, how many more fit"
    )
    mode.add_argument("--verify", action="store_true", help="check one developer's replication path link by link")
    mode.add_argument(
        "--break-lease",
        action="store_true",
        help="remove the central stack's lease by hand (after typing the stack's name), when its holder is gone",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--json", action="store_true", help="with --dry-run or --status: JSON on stdout")
    p.add_argument("--probe", action="store_true", help="with --verify: send a test object through replication")
    p.add_argument(
        "--orphan", metavar="BUCKET", help="with --remove: take this bucket's entry out of the central lists only"
    )
    for name, metavar, text in ANSWER_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), metavar=metavar, help=text)
    p.add_argument(
        "--config", metavar="FILE", type=Path, help="answers from a YAML file (keys as the flags, with underscores)"
    )
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking for confirmation")
    p.add_argument(
        "--purge", action="store_true", help="with --remove: also delete the developer's own pipeline stacks"
    )
    p.add_argument(
        "--sandbox", action="store_true", help="run against an embedded AWS emulator with two fictitious accounts"
    )
    p.add_argument("--debug", action="store_true", help="tracebacks and AWS call logging")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def flag_answers(args: argparse.Namespace) -> Answers:
    from xacct.answers import Answers

    return Answers(**{name: getattr(args, name) for name, _, _ in ANSWER_FLAGS})


def main(argv: list[str] | None = None, *, output: Output | None = None, interactive: bool | None = None) -> int:
    args = parser().parse_args(argv)
    for flag, needs, ok in (
        ("--json", "--dry-run or --status", args.dry_run or args.status),
        ("--purge", "--remove", args.remove),
        ("--orphan", "--remove", args.remove),
        ("--probe", "--verify", args.verify),
    ):
        if getattr(args, flag[2:]) and not ok:
            print(f"error: {flag} goes with {needs}", file=sys.stderr)
            return ExitCode.INVALID
    if args.debug:
        import logging

        from xacct.redact import Redacting

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(Redacting())
        logging.getLogger("botocore.endpoint").setLevel(logging.DEBUG)
    from xacct.render import make_output

    o = output or make_output()
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    try:
        if args.sandbox:
            from xacct.sandbox import run_sandbox

            return run_sandbox(args, o, interactive)
        from xacct import answers as ans

        path = ans.saved_path()
        return run_command(args, o, interactive, defaults=ans.load_saved(path), save_to=path)
    except KeyboardInterrupt as exc:
        from xacct import signals

        o.error(f"interrupted{signals.named(exc)}; nothing was left half-done by this tool", AGAIN)
        return signals.exit_status(exc)
    except XacctError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        o.error(exc.message, exc.hint)
        return exc.status if isinstance(exc, Interrupted) else exc.exit_code
    except Exception as exc:
        if args.debug:
            raise
        from xacct.gateway import describe_error

        known = describe_error(exc, None)
        if known is not None:
            o.error(known.message, known.hint)
            return known.exit_code
        from xacct.redact import redact

        o.error(redact(f"{type(exc).__name__}: {exc}"), "run again with --debug for the traceback")
        return ExitCode.AWS_FAILED


def resolve_answers(args: argparse.Namespace, defaults: Answers, o: Output, interactive: bool) -> Answers:
    """Flags, then --config, then `defaults` (the last saved answers); ask for what is left."""
    from xacct import answers as ans

    flags = flag_answers(args)
    layers = [ans.load(args.config)] if args.config else []
    need_dev = not (args.status or args.orphan or args.break_lease)
    given = flags.layered(*layers)
    given.validate()
    if interactive:
        from xacct.wizard import ask

        result = ask(given, defaults=defaults.with_defaults(), developer=need_dev, output=o)
    else:
        result = given.layered(defaults).with_defaults()
        missing = ["--" + m.replace("_", "-") for m in result.missing(developer=need_dev)]
        if missing and needs_confirmation(args):
            missing.append("--yes (or --dry-run to preview)")
        if missing:
            raise InvalidInput("no terminal to ask on, and these answers are missing: " + " ".join(missing))
    result.validate()
    return result


def needs_confirmation(args: argparse.Namespace) -> bool:
    return not (args.yes or args.dry_run or args.status or args.verify or args.break_lease)


def run_command(
    args: argparse.Namespace,
    o: Output,
    interactive: bool,
    *,
    defaults: Answers | None = None,
    save_to: Path | None = None,
) -> int:
    """One onboarding, removal or dry-run. `defaults` fill what flags leave open (saved
    answers, or the sandbox's); answers are saved to `save_to` after success."""
    from xacct import answers as ans

    a = resolve_answers(args, defaults or ans.Answers(), o, interactive)
    if not interactive and needs_confirmation(args):
        raise InvalidInput("no terminal to confirm on: pass --yes to apply, or --dry-run to preview")
    if args.status:
        return run_status(a, args, o)
    if args.verify:
        return run_verify(a, args, o)
    if args.break_lease:
        return run_break_lease(a, o, interactive)
    # Only now: boto3 costs a fifth of a second, and the first question should not wait for it.
    from xacct import flows, render

    progress = render.LineProgress(o.err)
    ctx = flows.Context(a, progress, direct=args.yes)
    reads = flows.read(ctx, developer=not args.orphan)
    partition = ctx.build.partition
    where = ctx.where(ctx.build)
    if args.orphan:
        plan = flows.plan_orphan(a, reads, args.orphan, where)
    elif args.remove:
        plan = flows.plan_remove(a, reads, partition, args.purge, where)
        if args.purge:
            plan.emptied = flows.check_purge(ctx, plan, reads)
    else:
        plan = flows.plan_onboard(a, reads, partition, where)
    if args.dry_run:
        if args.json:
            import json

            # Exactly one JSON document on stdout, untouched by rich.
            o.out.file.write(json.dumps(plan.to_json(), indent=2) + "\n")
        else:
            render.show_plan(o, plan)
            o.out.print("\n[dim]dry run: nothing was changed[/]")
        return ExitCode.OK
    render.show_plan(o, plan)
    if plan.nothing_to_do:
        o.out.print("\n[bold green]Nothing to do:[/] everything is already as planned.")
        _clear_dead_lease(ctx, plan.central_stack, o)
        _save(save_to, a)
        return ExitCode.OK
    if args.remove:
        return _remove(ctx, plan, o, interactive, yes=args.yes, path=save_to)
    prepared = {} if args.yes else flows.prepare_first(ctx, plan)
    render.show_changes(o, prepared)
    if not args.yes and not confirm("Apply these changes?"):
        for p in prepared.values():
            ctx.dev_stacks().discard(p)
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    try:
        with live(ctx, o):
            change = flows.apply_onboard(ctx, plan, prepared)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupted(ctx, exc) from exc
    except XacctError as exc:
        command = resume_command(a, remove=args.remove, purge=args.purge)
        raise type(exc)(exc.message, hint=f"fix the cause, then run again: {command}") from exc
    render.summary(o, plan, change, ctx.dev_stacks().describe(a.stacks()[0]).outputs.get("BuildBucket"))
    _save(save_to, a)
    return ExitCode.OK


def _clear_dead_lease(ctx: Any, stack: str, o: Output) -> None:
    """A run killed on this machine (SIGKILL) may have left the lease; nothing else would free it
    before it expires, so a re-run that finds nothing to do frees it."""
    from rich.markup import escape

    from xacct import lease

    dead = lease.clear_dead(ctx.build.client("ssm"), stack)
    if dead is not None:
        o.info(f"  released the lease left by {escape(dead.who)}, a process of this machine that is gone")


def run_break_lease(a: Answers, o: Output, interactive: bool) -> int:
    """Remove the lease by hand, when its holder is known to be gone and nobody should wait."""
    from rich.markup import escape

    from xacct import flows, lease, render

    ctx = flows.Context(a, render.LineProgress(o.err))
    ctx.build.check_account(a.build_account or "")
    stack = a.central_stack or ""
    ssm = ctx.build.client("ssm")
    seen = lease.read(ssm, lease.lease_name(stack))
    if seen is None:
        o.out.print(f"Nobody holds the lease of {escape(stack)}.")
        return ExitCode.OK
    where = ctx.where(ctx.build)
    if not interactive:
        raise InvalidInput(
            f"breaking the lease of {stack}, held by {seen.holder.who}, needs a terminal to confirm on",
            hint=f"aws ssm delete-parameter --name {lease.lease_name(stack)}{where}",
        )
    o.out.print(
        f"The lease of [bold]{escape(stack)}[/] is held by [bold]{escape(seen.holder.who)}[/]. Break it only if that "
        "run is gone: a run that still holds it would update the central lists beside the next one."
    )
    from xacct.wizard import type_to_confirm

    if type_to_confirm(f"Type the stack name {stack} to break the lease:").strip() != stack:
        o.out.print("Not confirmed: the lease stays.")
        return ExitCode.OK
    lease.break_lease(ssm, stack)
    o.out.print(f"The lease of {escape(stack)} is broken.")
    return ExitCode.OK


def run_status(a: Answers, args: argparse.Namespace, o: Output) -> int:
    import json

    from xacct import flows, health, render

    ctx = flows.Context(a, render.LineProgress(o.err))
    registry = flows.check_central(a, flows.read(ctx, developer=False).central, ctx.where(ctx.build))
    data = health.status_json(a, registry)
    if args.json:
        o.out.file.write(json.dumps(data, indent=2) + "\n")
    else:
        render.show_status(o, data)
    return ExitCode.OK


def run_verify(a: Answers, args: argparse.Namespace, o: Output) -> int:
    from xacct import flows, health, render
    from xacct.answers import Answers

    ctx = flows.Context(a, render.LineProgress(o.err))
    ctx.build.check_account(a.build_account or "")
    ctx.dev.check_account(a.dev_account or "")
    verifier = health.Verifier(ctx, resume_command(a, remove=True))
    links, orphans = verifier.run(probe=args.probe)
    central_only = Answers(**{k: v for k, v in a.to_dict().items() if not k.startswith("dev_")})
    render.show_verify(o, links, orphans, resume_command(central_only, remove=True), resume_command(a))
    return ExitCode.OK if all(link.ok for link in links) and not orphans else ExitCode.BROKEN


def _remove(ctx: Any, plan: Any, o: Output, interactive: bool, *, yes: bool, path: Path | None) -> int:
    from xacct import flows, render

    full = [c for c in plan.emptied if c.versions]
    if full and not interactive:
        raise InvalidInput(
            "--purge would delete "
            + ", ".join(f"{c.versions} object versions in {c.bucket}" for c in full)
            + "; that needs a terminal to confirm on, by typing the account id",
            hint="empty the buckets yourself, or run the same command in a terminal",
        )
    if not yes and not confirm("Remove this developer?"):
        o.out.print("Declined: nothing was changed.")
        return ExitCode.OK
    if full and not _typed(ctx.answers.dev_account, full, o):
        o.out.print("Not confirmed: nothing was changed.")
        return ExitCode.OK
    try:
        with live(ctx, o):
            change = flows.apply_remove(ctx, plan)
    except (KeyboardInterrupt, Interrupted) as exc:
        raise interrupted(ctx, exc) from exc
    render.summary(o, plan, change)
    _save(path, ctx.answers)
    return ExitCode.OK


def _typed(account: str, full: list[Any], o: Output) -> bool:
    """The one typed confirmation a purge of non-empty buckets needs, before anything starts."""
    from xacct.wizard import type_to_confirm

    for c in full:
        o.info(f"[bold yellow]{c.bucket}[/] holds {c.versions} object versions, which --purge deletes.")
    return type_to_confirm(f"Type the account id {account} to delete them:").strip() == account


@contextlib.contextmanager
def live(ctx: Any, o: Output) -> Iterator[None]:
    """A live view of the stacks while CloudFormation works, on a terminal; lines elsewhere."""
    from xacct import render

    if not o.err.is_terminal:
        yield
        return
    view = render.LiveProgress(o.err)
    previous, ctx.progress = ctx.progress, view
    try:
        with view:
            yield
    finally:
        ctx.progress = previous


def resume_command(a: Answers, *, remove: bool = False, purge: bool = False) -> str:
    """The command that continues where this run stopped: every answer spelled out."""
    words = ["python onboard.py"]
    if remove:
        words.append("--remove")
    if purge:
        words.append("--purge")
    for name, value in a.to_dict().items():
        words.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(words)


def interrupted(ctx: Any, cause: BaseException | None = None) -> Interrupted:
    """Stop every wait, and say what CloudFormation is still doing on its own."""
    from xacct import signals

    ctx.stop.set()
    busy = ", ".join(f"{stack} ({op})" for stack, op in ctx.inflight.items())
    them = "them" if len(ctx.inflight) > 1 else "it"
    still = (
        f"CloudFormation is still working on {busy} and finishes {them} on its own"
        if busy
        else "no stack operation was running"
    )
    signal_cause = _signal_in(cause)
    return Interrupted(
        f"interrupted{signals.named(signal_cause)}; {still}", hint=AGAIN, status=signals.exit_status(signal_cause)
    )


def _signal_in(exc: BaseException | None) -> BaseException:
    """The signal behind an interruption, wherever it sits in the exception's chain (Ctrl-C when none does)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return KeyboardInterrupt()


def confirm(question: str) -> bool:
    from xacct.wizard import confirm as ask_confirm

    return ask_confirm(question)


def _save(path: Path | None, a: Answers) -> None:
    if path is None:
        return
    from xacct import answers as ans

    # Saving defaults is a convenience, never a failure.
    with contextlib.suppress(OSError):
        ans.save(path, a)
