"""The one place that knows every command: resolve the answers once, then hand the plain values
to the command asked for. The command line and the sandbox both come through here."""

from __future__ import annotations

from pathlib import Path

from xacct.commands.resolve import given_answers, resolve
from xacct.core.answers import Answers
from xacct.core.request import PLATFORM_JOINING, Request
from xacct.errors import InvalidInput
from xacct.terminal.output import Output


def run_command(
    request: Request, o: Output, interactive: bool, *, defaults: Answers | None = None, save_to: Path | None = None
) -> int:
    """`defaults` fill what flags leave open (saved answers, or the sandbox's); answers are saved
    to `save_to` after a change succeeds."""
    given = given_answers(request)  # a value that cannot be right is the first thing said
    if not interactive and request.needs_confirmation:
        raise InvalidInput("no terminal to confirm on: pass --yes to apply, or --dry-run to preview")
    saved = None
    if request.apply_plan is not None:
        from xacct import config

        saved = config.load_plan(request.apply_plan)
        request = request.but(yes=True)  # the plan was reviewed when it was made
        if not saved.fleet:
            given = given.layered(saved.answers[0])  # flags may name other profiles; accounts are checked
        if saved.ou:
            flags = saved.ou
            request = request.but(
                ou=flags["ou"],
                org_profile=request.org_profile or flags.get("org_profile"),
                max_concurrent=int(flags.get("max_concurrent") or request.max_concurrent),
                failure_tolerance=int(flags.get("failure_tolerance", request.failure_tolerance)),
            )
    if request.fleet is not None and request.mode == "remove":
        from xacct.commands import fleet_remove

        return fleet_remove.run(request.but(given=given), o, interactive)
    if request.fleet is not None or (saved is not None and saved.fleet):
        from xacct.commands import fleet

        return fleet.run(request.but(given=given), o, interactive, saved)
    if request.mode in ("join", "leave"):
        from xacct.commands import join

        joiner = request.but(given=given.layered(defaults) if defaults else given)
        return join.join(joiner, o) if request.mode == "join" else join.leave(joiner, o)
    answers = resolve(request, given, defaults or Answers(), o, interactive)
    if request.mode in PLATFORM_JOINING:
        from xacct.commands import joining

        return joining.platform(answers.central(), request, o)
    if request.ou is not None:
        from xacct.commands import ou

        return ou.run(answers.central(), request, o, saved)
    if request.mode == "status":
        from xacct.commands import status

        return status.run(answers.central(), request, o, save_to)
    if request.mode == "verify" and request.all:
        from xacct.commands import verify_all

        return verify_all.run(answers.central(), request, o)
    if request.mode == "alerts":
        from xacct.commands import alerts

        return alerts.run(answers.central(), request, o)
    if request.mode == "adopt":
        from xacct.commands import adopt

        return adopt.run(answers.central(), request, o, interactive)
    if request.mode == "break-lease":
        from xacct.commands import lease

        return lease.run(answers.central(), o, interactive)
    if request.orphan:
        from xacct.commands import remove

        return remove.run_orphan(answers.central(), request, o, save_to)
    target = answers.onboarding()
    if request.mode == "sync":
        from xacct.commands import sync

        return sync.run(target, request, o)
    if request.mode == "verify":
        from xacct.commands import verify

        return verify.run(target, request, o, interactive, save_to)
    if request.mode == "remove":
        from xacct.commands import remove

        return remove.run(target, request, o, interactive, save_to)
    from xacct.commands import onboard

    return onboard.run(target, request, o, interactive, save_to, saved=saved)
