"""`--break-lease`: remove the central stack's lease by hand, when its holder is known to be gone."""

from __future__ import annotations

from rich.markup import escape

from xacct.aws import lease
from xacct.aws.reads import BuildContext
from xacct.commands import common
from xacct.core.answers import Central
from xacct.errors import ExitCode, InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress


def run(central: Central, o: Output, interactive: bool) -> int:
    ctx = BuildContext(central, LineProgress(o.err))
    ctx.build.check_account(central.build.account)
    stack = central.stack
    seen = lease.read(ctx.build.ssm, lease.lease_name(stack))
    if seen is None:
        o.out.print(f"Nobody holds the lease of {escape(stack)}.")
        return ExitCode.OK
    if not interactive:
        raise InvalidInput(
            f"breaking the lease of {stack}, held by {seen.holder.who}, needs a terminal to confirm on",
            hint=f"aws ssm delete-parameter --name {lease.lease_name(stack)}{central.build.where()}",
        )
    o.out.print(
        f"The lease of [bold]{escape(stack)}[/] is held by [bold]{escape(seen.holder.who)}[/]. Break it only if that "
        "run is gone: a run that still holds it would update the central lists beside the next one."
    )
    if common.type_to_confirm(f"Type the stack name {stack} to break the lease:").strip() != stack:
        o.out.print("Not confirmed: the lease stays.")
        return ExitCode.OK
    lease.break_lease(ctx.build.ssm, stack)
    o.out.print(f"The lease of {escape(stack)} is broken.")
    return ExitCode.OK
