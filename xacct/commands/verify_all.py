"""`--verify --all`: every registered developer's replication path, checked in parallel from the
build account alone, read-only. Each developer account is read through the role its
CrossAccountDeveloper stack gives the build account (`xacct-verify-BUILD-REGION`: bucket policy,
key policy, stack status, nothing else); the account and region come from the registered key ARN.
A table of who is healthy, broken (with the fix) or an orphan; --json and --junit FILE for a
scheduled job; exit 3 when anything is not healthy."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree as ET

import botocore.exceptions as bx

from xacct import collector
from xacct.aws import deliveries
from xacct.aws.gateway import Gateway
from xacct.aws.reads import BuildContext, Context
from xacct.commands import common
from xacct.commands.verify import Verifier, missing_buckets, role_documents
from xacct.core import registry as reg
from xacct.core.alerts import failing
from xacct.core.answers import Central, DevStacks, Onboarding, Side
from xacct.core.links import Link
from xacct.core.planning import REPLICATION_ROLE_OUTPUT, check_central
from xacct.core.request import Request
from xacct.core.words import counted
from xacct.errors import ExitCode
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say

State = Literal["healthy", "broken", "orphan", "unverifiable"]
AT_ONCE = 16  # developers read at once: each in its own account, so no one account's API rate is shared


@dataclass
class Checked:
    position: int
    entry: reg.Entry
    account: str
    region: str
    state: State = "healthy"
    links: list[Link] = field(default_factory=list)
    fix: str = ""

    @property
    def broken(self) -> list[Link]:
        return [link for link in self.links if not link.ok]


def reader_role(partition: str, account: str, build: str, region: str) -> str:
    return f"arn:{partition}:iam::{account}:role/xacct-verify-{build}-{region}"


def run(central: Central, request: Request, o: Output) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    with common.waiting(o, "reading the central stack"):
        bctx.build.check_account(central.build.account)
        state = bctx.build_stacks().describe(central.stack)
        registry = check_central(central, state)
    remove = common.resume_command(request.prog, central, remove=True)
    rows = [_row(n, e) for n, e in enumerate(registry.entries, 1)]
    with common.waiting(o, f"checking {counted(len(rows), 'developer')}"):
        orphans = set(missing_buckets(bctx.build.s3, [e.bucket for e in registry.entries]))
        role = state.outputs.get(REPLICATION_ROLE_OUTPUT, "")
        try:
            shared = (state, role_documents(bctx.build.iam, role) if role else None, registry)
        except bx.ClientError:  # each row then reads it itself, and says why it could not
            shared = (state, None, registry)
        members = member_stacks(bctx)
        with collector.paused(), ThreadPoolExecutor(max_workers=max(1, min(AT_ONCE, len(rows)))) as pool:
            list(pool.map(lambda r: _check(bctx, r, orphans, remove, (*shared, members)), rows))
        arrived = deliveries.read(bctx.build.logs, central.stack, [r.entry.bucket for r in rows])
    for row in rows:
        _deliveries(row, arrived.get(row.entry.bucket, {}))
    if request.junit:
        request.junit.write_text(junit(central, rows))
    if request.json:
        o.out.file.write(json.dumps(as_json(central, registry, rows), indent=2) + "\n")
    else:
        show(o, central, registry, rows)
    return ExitCode.OK if all(r.state == "healthy" for r in rows) else ExitCode.BROKEN


def member_stacks(bctx: BuildContext) -> dict[str, str]:
    """Every OU account's one stack, from the OU stack sets (`xacct-ou-*`) the build profile can
    list (the organization's management account's, usually); none when it can list none."""
    cfn = bctx.build.cfn
    found: dict[str, str] = {}
    try:
        for page in cfn.get_paginator("list_stack_sets").paginate(Status="ACTIVE"):
            for summary in page["Summaries"]:
                name = str(summary["StackSetName"])
                if not name.startswith("xacct-ou-"):
                    continue
                for inner in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name):
                    found.update({str(i["Account"]): str(i.get("StackId", "")) for i in inner["Summaries"]})
    except bx.ClientError:
        return {}
    return found


def _row(n: int, e: reg.Entry) -> Checked:
    return Checked(n, e, reg.key_account(e.cmk) or "?", reg.key_region(e.cmk) or "?")


def _target(central: Central, account: str, region: str) -> Onboarding:
    return Onboarding(central, Side(account, region, None), DevStacks())


def _check(bctx: BuildContext, row: Checked, orphans: set[str], remove: str, shared: tuple[Any, ...]) -> None:
    """One developer's row; whatever goes wrong reading its account stays in its row."""
    try:
        _check_one(bctx, row, orphans, remove, shared)
    except (bx.BotoCoreError, bx.ClientError) as exc:
        code = exc.response["Error"].get("Code", "") if isinstance(exc, bx.ClientError) else type(exc).__name__
        detail = exc.response["Error"].get("Message", "") if isinstance(exc, bx.ClientError) else str(exc)
        row.state = "unverifiable"
        row.links = [*row.links, Link("read", False, f"{code}: {detail}")]
        row.fix = row.fix or "run --verify with that developer's profile to see the whole path"


def _check_one(bctx: BuildContext, row: Checked, orphans: set[str], remove: str, shared: tuple[Any, ...]) -> None:
    central = bctx.central
    if row.entry.bucket in orphans:
        row.state, row.fix = "orphan", f"{remove} --orphan {row.entry.bucket}"
        return
    partition = bctx.build.partition
    role = reader_role(partition, row.account, central.build.account, row.region)
    try:
        creds = bctx.build.sts.assume_role(RoleArn=role, RoleSessionName="xacct-verify", DurationSeconds=900)
    except bx.ClientError as exc:
        row.state = "unverifiable"
        row.links = [Link("reader role", False, f"cannot assume {role}: {exc.response['Error'].get('Code')}")]
        row.fix = "onboard this developer again: its CrossAccountDeveloper stack gives the build account that role"
        return
    target = _target(central, row.account, row.region)
    ctx = Context(central, bctx.progress, bctx.stop, target=target)
    ctx.build = bctx.build  # one build session for every row: a new one would load botocore's endpoints again
    ctx.dev = Gateway.assumed(creds["Credentials"], row.region, "developer")
    # The developer's own commands need its account's profile, which only its owner has.
    verifier = Verifier(ctx, f"offboard {row.account} ({row.region}) with that account's profile (--remove)")
    verifier.onboard_command = f"onboard {row.account} ({row.region}) again with that account's profile"
    verifier.central, verifier.role_documents, verifier.registry, verifier.member_stacks = shared
    links, _ = verifier.run(probe=False, orphans=False)
    row.links = links
    if any(not link.ok for link in links):
        row.state = "broken"
        row.fix = next((link.fix for link in links if not link.ok and link.fix), "")


def _deliveries(row: Checked, arrived: dict[str, Any]) -> None:
    """A path whose every link looks right can still fail to deliver (a grant that changed since, a
    key disabled, a quota): the function's own log says so. A developer whose last delivery failed
    is broken, with the function's reason."""
    if row.state not in ("healthy", "broken") or not failing([{**arrived, "account": row.account}]):
        return
    failure = arrived["last_failure"]
    row.links.append(Link("deliveries", False, f"the last delivery failed ({failure['at']}): {failure['artifact']}: "
                                               f"{failure['reason']}"))  # fmt: skip
    if row.state == "healthy":
        row.state = "broken"
        row.fix = "the reason above is AWS's; once it is fixed the next build is delivered (--sync: at once)"


def show(o: Output, central: Central, registry: reg.Registry, rows: list[Checked]) -> None:
    b = central.build
    say(o, ("Replication paths", "bold"), f" of {len(rows)} registered developers, central stack {central.stack} "
        f"({b.account}, {b.region}); replication {'on' if registry.enabled else 'OFF'}")  # fmt: skip
    style = {"healthy": "green", "broken": "bold red", "orphan": "bold yellow", "unverifiable": "yellow"}
    for r in rows:
        say(o, f"  {r.position:>3}  {r.account}  {r.region:<14} ", (f"{r.state:<12}", style[r.state]),
            f" {r.entry.bucket}", hang=8)  # fmt: skip
        for link in r.broken:
            say(o, f"        {link.name}: {link.detail}", hang=10)
        if r.fix:
            say(o, f"        fix: {r.fix}", hang=13)
    counts = {s: sum(r.state == s for r in rows) for s in style}
    o.out.print()
    say(o, ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nobody is registered")


def as_json(central: Central, registry: reg.Registry, rows: list[Checked]) -> dict[str, object]:
    return {
        "central": {"account": central.build.account, "region": central.build.region, "stack": central.stack},
        "replication": registry.enabled,
        "ok": all(r.state == "healthy" for r in rows),
        "developers": [
            {
                "position": r.position,
                "bucket": r.entry.bucket,
                "account": r.account,
                "region": r.region,
                "state": r.state,
                "links": [{"name": x.name, "ok": x.ok, "detail": x.detail} for x in r.links],
                **({"fix": r.fix} if r.fix else {}),
            }
            for r in rows
        ],
    }


def junit(central: Central, rows: list[Checked]) -> str:
    """One test case per registered developer: what CI systems show and alert on."""
    failing = [r for r in rows if r.state != "healthy"]
    suite = ET.Element(
        "testsuite", name=f"xacct verify {central.stack}", tests=str(len(rows)), failures=str(len(failing))
    )
    for r in rows:
        case = ET.SubElement(
            suite, "testcase", classname=f"{central.stack}.{central.build.account}", name=f"{r.account} {r.region}"
        )
        if r.state != "healthy":
            detail = "; ".join(f"{x.name}: {x.detail}" for x in r.broken) or f"{r.entry.bucket} no longer exists"
            failure = ET.SubElement(case, "failure", message=f"{r.state}: {r.entry.bucket}", type=r.state)
            failure.text = detail + (f"\nfix: {r.fix}" if r.fix else "")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
