"""`--status`: who is registered, whether replication is on, and how many more developers fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xacct.aws import deliveries
from xacct.aws.reads import BuildContext, read_central
from xacct.core import capacity
from xacct.core import registry as reg
from xacct.core.answers import Central
from xacct.core.planning import check_central
from xacct.core.request import Request
from xacct.errors import ExitCode
from xacct.terminal import reports
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress


def run(central: Central, request: Request, o: Output, save_to: Path | None) -> int:
    ctx = BuildContext(central, LineProgress(o.err))
    stack = read_central(ctx).central
    registry = check_central(central, stack)
    data = status_json(central, registry)
    arrived = deliveries.read(ctx.build.logs, central.stack, [e.bucket for e in registry.entries])
    for developer in data["developers"]:
        developer.update(arrived.get(developer["bucket"], {"last_delivery": None, "last_failure": None}))
    from xacct.aws import alarms
    from xacct.commands import joining
    from xacct.core.alerts import failing

    data["joining"] = joining.status(ctx)
    data["alerts"] = alarms.read(ctx.build.cloudwatch, ctx.build.sns, central.stack, stack.outputs.get("AlertTopic"))
    data["alerts"]["failing"] = [d["account"] for d in failing(data["developers"])]
    if request.json:
        o.out.file.write(json.dumps(data, indent=2) + "\n")
    else:
        reports.show_status(o, data)
    return ExitCode.OK


def status_json(central: Central, registry: reg.Registry) -> dict[str, Any]:
    cap = capacity.capacity(registry)
    return {
        "central": {"account": central.build.account, "region": central.build.region, "stack": central.stack},
        "replication": registry.enabled,
        "developers": [
            {
                "position": i,
                "account": reg.key_account(e.cmk),
                "region": reg.key_region(e.cmk),
                "bucket": e.bucket,
                "cmk": e.cmk,
            }
            for i, e in enumerate(registry.entries, 1)
        ],
        "capacity": {
            "registered": cap.used,
            "fits": cap.fits,
            "in_the_four_lists": len(registry.held(0)),
            "limits": [
                {"what": u.what, "used": u.used, "limit": u.limit, "unit": u.unit} for u in capacity.uses(registry)
            ],
        },
    }
