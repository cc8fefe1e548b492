"""`--alerts EMAIL|TOPIC_ARN|none`: who hears of failed deliveries. A parameter change of the central
stack (AlertEmail or AlertTopicArn) under the lease; the registry is never touched. An earlier
version's stack is upgraded in place (the topic and alarms added, key and buckets kept); the seed
project's needs --adopt first."""

from __future__ import annotations

import json

from xacct.aws.central import CentralUpdate
from xacct.aws.reads import BuildContext
from xacct.commands import common
from xacct.core import alerts
from xacct.core.answers import Central
from xacct.core.request import Request
from xacct.core.templates import template as stock
from xacct.core.upgrade import alerts_template
from xacct.errors import ExitCode
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say


def run(central: Central, request: Request, o: Output) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    target = str(request.alerts)
    alerts.wanted(target)  # a target that cannot be right is said before AWS is asked
    with common.waiting(o, "reading the central stack"):
        state = common.central_state(bctx)
        held = bctx.build_stacks().template(central.stack)
    _, upgrade = alerts_template(held, stock("CrossAccountPrimary"))
    change = alerts.change(state.parameters, target)
    if not change.changes_anything and upgrade is None:
        o.out.print(f"Alerts already go where asked ({target}): nothing was changed.")
        return ExitCode.OK
    plan = {"action": "alerts", "stack": central.stack, "parameters": change.after, "upgrade": upgrade or "",
            "registry": "untouched"}  # fmt: skip
    if request.json:
        o.out.file.write(json.dumps(plan, indent=2) + "\n")
    elif request.markdown:
        rows = [f"| {line.split(': ', 1)[0]} | {line.split(': ', 1)[1]} |" for line in change.lines()]
        rows += [f"| template | {upgrade} |"] if upgrade else []
        o.out.file.write("\n".join([f"| alerts of {central.stack} | |", "| --- | --- |", *rows,
                                    "| registry | untouched |"]) + "\n")  # fmt: skip
    else:
        say(o, ("Alerts: ", "bold"), f"central stack {central.stack} in {central.build.account} {central.build.region}")
        for line in change.lines() or ["parameters as they are"]:
            o.out.print(f"  {line}")
        if change.after.get("AlertEmail"):
            o.out.print(
                "  SNS mails the address a confirmation first; nothing is delivered to it until its owner confirms"
            )
        if upgrade:
            o.out.print(f"  {upgrade}")
        o.out.print("  the registry (the four lists and the developers past them) is untouched")
    if request.dry_run:
        if not (request.json or request.markdown):
            o.out.print("dry run: nothing was changed")
        return ExitCode.OK
    if not common.confirmed(request, o, "Change where alerts go?"):
        return ExitCode.OK
    update = CentralUpdate(bctx.build_stacks(), bctx.build.ssm, central.stack, bctx.progress)
    with common.live(bctx, o):
        update.set_parameters(change.after, lambda deployed: alerts_template(deployed, stock("CrossAccountPrimary")))
    topic = bctx.build_stacks().describe(central.stack).outputs.get("AlertTopic", "")
    if request.json:
        return ExitCode.OK  # stdout holds the plan's JSON alone; the events went to stderr
    who = "no one but the topic's own subscribers" if target.lower() == "none" else target
    pending = " once its owner confirms SNS's mail (--status says when)" if change.after.get("AlertEmail") else ""
    say(o, ("Alerts set: ", "bold"), f"failed deliveries are told to {who}{pending}"
        + (f"; the topic is {topic}" if topic else ""), hang=2)  # fmt: skip
    return ExitCode.OK
