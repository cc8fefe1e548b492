"""Joining, the platform team's side: turn it on or off (--enable-joining, --disable-joining) and
answer what waits (--requests, --approve, --reject). The developer's side is join.py."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions as bx

from xacct import __version__
from xacct.aws import code
from xacct.aws.reads import BuildContext
from xacct.aws.stacks import Stacks
from xacct.commands import common, join
from xacct.core import joining
from xacct.core.answers import Central
from xacct.core.joining import Answer
from xacct.core.request import Request
from xacct.core.state import StackState
from xacct.core.templates import joining_template
from xacct.errors import ExitCode, InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say

# ---- the platform team's side -------------------------------------------------------------


def platform(central: Central, request: Request, o: Output) -> int:
    if request.mode == "enable-joining":
        return enable(central, request, o, list(request.joining_who), request.auto_approve)
    if request.mode == "disable-joining":
        return disable(central, request, o)
    if request.mode == "requests":
        return requests(central, request, o)
    if request.mode == "approve":
        return approve(central, request, o, list(request.accounts), request.all)
    return reject(central, request, o, request.accounts[0], request.reason)


def _shown(o: Output, request: Request, plan: dict[str, Any], lines: list[str]) -> bool:
    """The plan as JSON, Markdown (a dry run's, for a pull request) or lines; True for a dry run,
    which ends there."""
    if request.json:
        o.out.file.write(json.dumps(plan, indent=2) + "\n")
    elif request.markdown:
        rows = [f"| {k.replace('_', ' ')} | {', '.join(v) if isinstance(v, list) else v} |" for k, v in plan.items()]
        o.out.file.write("\n".join(["| joining | |", "| --- | --- |", *rows]) + "\n")
    else:
        for line in lines:
            say(o, line)
    if request.dry_run and not (request.json or request.markdown):
        o.out.print("dry run: nothing was changed")
    return request.dry_run


def _flags(central: Central) -> str:
    """The build answers as flags, for a command we suggest to the platform team."""
    profile = f" --build-profile {central.build.profile}" if central.build.profile else ""
    stack = f" --central-stack {central.stack}" if central.stack != "CrossAccountPrimary" else ""
    return f"{profile} --build-region {central.build.region}{stack}"


def _inbox(bctx: BuildContext) -> str:
    return joining.inbox_name(bctx.central.build.account, bctx.central.build.region)


def _organization(bctx: BuildContext) -> str:
    try:
        return str(bctx.build.organizations.describe_organization()["Organization"]["Id"])
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] == "AWSOrganizationsNotInUseException":
            raise InvalidInput(
                f"the build account {bctx.central.build.account} is in no organization: joining admits the "
                "accounts of an organization's OUs, which AWS vouches for (aws:PrincipalOrgPaths)"
            ) from exc
        raise


def enable(central: Central, request: Request, o: Output, who: list[str], auto: bool) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    with common.waiting(o, "reading the build account"):
        state = common.central_state(bctx)
        organization = _organization(bctx)
    paths = joining.org_paths(organization, who)
    mode = "registered at once" if auto else "held for --approve"
    plan = {
        "action": "enable-joining",
        "who": who,
        "organization": organization,
        "org_paths": paths,
        "approval": "automatic" if auto else "by --approve",
        "inbox": _inbox(bctx),
        "joining_stack": joining.STACK,
        "central_stack": central.stack,
    }
    lines = [
        f"Joining: accounts under {', '.join(who)} may ask; requests that pass every check are {mode}",
        f"  inbox: {_inbox(bctx)}; central stack: {central.stack}",
    ]
    if _shown(o, request, plan, lines):
        return ExitCode.OK
    if not common.confirmed(request, o, "Turn joining on?"):
        return ExitCode.OK
    body = code.registrar_zip()
    key = code.key_of(body)
    bucket = bctx.build.stage_code(key, body)
    params = {
        "CentralStack": central.stack,
        "OrganizationId": organization,
        "JoinPaths": ",".join(paths),
        "AutoApprove": "true" if auto else "false",
        "CodeBucket": bucket,
        "CodeKey": key,
    }
    stacks = bctx.build_stacks()
    with common.live(bctx, o):
        _deploy(bctx, stacks, params)
    facts = joining.facts(
        build_account=central.build.account,
        build_region=central.build.region,
        central_stack=central.stack,
        outputs=state.outputs,
        version=__version__,
        auto=auto,
    )
    bctx.build.s3.put_object(
        Bucket=_inbox(bctx),
        Key=joining.FACTS,
        Body=json.dumps(facts, indent=2).encode(),
        ContentType="application/json",
        ExpectedBucketOwner=central.build.account,
    )
    say(o, ("Joining is on. ", "bold"), "A developer of those OUs runs, with their own profile only:")
    o.out.print(
        f"  {request.prog} --join --build-account {central.build.account} --build-region {central.build.region} "
        "--dev-profile PROFILE",
        soft_wrap=True,
        highlight=False,
    )
    if not auto:
        say(o, f"  then: {request.prog}{_flags(central)} --requests")
    return ExitCode.OK


def _deploy(bctx: BuildContext, stacks: Stacks, params: dict[str, str]) -> StackState:
    tags = {"xacct:managed": "true", "xacct:build-account": bctx.central.build.account}
    prepared = stacks.prepare(joining.STACK, joining_template(), params, tags, bctx.progress)
    if prepared.action == "none":
        bctx.progress.note(joining.STACK, "up to date")
        return stacks.describe(joining.STACK)
    return stacks.execute(prepared, bctx.progress)


def disable(central: Central, request: Request, o: Output) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    bctx.build.check_account(central.build.account)
    stacks = bctx.build_stacks()
    state = stacks.describe(joining.STACK)
    if not state.exists or not state.parameters.get("JoinPaths"):
        o.out.print("Joining is already off: nothing was changed.")
        return ExitCode.OK
    plan = {"action": "disable-joining", "inbox": _inbox(bctx), "registry": "untouched"}
    line = "Joining off: the inbox refuses new requests; every registered developer stays registered"
    if _shown(o, request, plan, [line]):
        return ExitCode.OK
    if not common.confirmed(request, o, "Turn joining off?"):
        return ExitCode.OK
    params = {**state.parameters, "OrganizationId": "", "JoinPaths": ""}
    with common.live(bctx, o):
        _deploy(bctx, stacks, params)
    o.out.print("Joining is off.")
    return ExitCode.OK


def _answers(bctx: BuildContext) -> dict[str, tuple[str, Answer | None, dict[str, Any]]]:
    """Account -> (request ETag, its answer, the request as filed)."""
    s3 = bctx.build.s3
    inbox = _inbox(bctx)
    found: dict[str, tuple[str, Answer | None, dict[str, Any]]] = {}
    try:
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=inbox, Prefix="requests/"))
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucket":
            raise InvalidInput(
                "joining was never turned on for this build account", hint="--enable-joining OU_ID"
            ) from exc
        raise
    for page in pages:
        for item in page.get("Contents", []):
            account = joining.account_of_key(item["Key"])
            if account is None or item["Key"] != joining.request_key(account):
                continue
            try:
                raw = s3.get_object(Bucket=inbox, Key=joining.answer_key(account))["Body"].read()
                answer: Answer | None = Answer.parse(raw)
            except bx.ClientError:
                answer = None
            body = s3.get_object(Bucket=inbox, Key=item["Key"])["Body"].read()
            try:
                filed = json.loads(body)
            except ValueError:
                filed = {}
            found[account] = (item["ETag"].strip('"'), answer, filed if isinstance(filed, dict) else {})
    return found


def requests(central: Central, request: Request, o: Output) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    bctx.build.check_account(central.build.account)
    found = _answers(bctx)
    rows = []
    for account, (etag, answer, filed) in sorted(found.items()):
        current = answer is not None and answer.request_etag == etag
        status = answer.status if current and answer is not None else "unanswered"
        if status == "registered":
            continue
        rows.append(
            {
                "account": account,
                "status": status,
                "bucket": filed.get("bucket", ""),
                "cmk": filed.get("cmk", ""),
                "reason": answer.reason if current and answer is not None else "",
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in (answer.checks if answer else ())],
            }
        )
    if request.json:
        o.out.file.write(json.dumps({"requests": rows}, indent=2) + "\n")
        return ExitCode.OK
    if not rows:
        o.out.print("No request waits: every one is registered, or none was made.")
        return ExitCode.OK
    for row in rows:
        say(o, (f"{row['account']} ", "bold"), f"{row['status']}: {row['bucket']} {row['cmk']}")
        for check in row["checks"]:
            mark = "✓" if check["ok"] else "✗"
            say(o, f"  {mark} {check['name']}: {check['detail']}", hang=4)
        if row["status"] == "refused":
            say(o, f"  refused: {row['reason']}", hang=4)
    pending = [r["account"] for r in rows if r["status"] == "pending"]
    if pending:
        where = _flags(central)
        say(
            o,
            f"next: {request.prog}{where} --approve {' '.join(pending)} (or --all), or --reject ACCOUNT --reason TEXT",
        )
    return ExitCode.OK


def approve(central: Central, request: Request, o: Output, accounts: list[str], everyone: bool) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    bctx.build.check_account(central.build.account)
    found = _answers(bctx)
    pending = {
        a: etag
        for a, (etag, answer, _) in found.items()
        if answer is not None and answer.status == "pending" and answer.request_etag == etag
    }
    chosen = sorted(pending) if everyone else accounts
    unknown = [a for a in chosen if a not in pending]
    if unknown:
        waiting = ", ".join(sorted(pending)) or "none"
        raise InvalidInput(f"{unknown[0]} has no pending request (pending: {waiting})", hint="--requests lists them")
    if not chosen:
        o.out.print("No request waits for approval: nothing was changed.")
        return ExitCode.OK
    plan = {"action": "approve", "accounts": chosen, "central_change_sets": 1}
    line = f"Approving: {', '.join(chosen)} (one central change set, made by the registrar)"
    if _shown(o, request, plan, [line]):
        return ExitCode.OK
    # One object for the whole approval: the registrar reads it at once, so the accounts share one
    # change set; each names the request it approves, so a later request is never approved by it.
    body = json.dumps({"approved": {a: pending[a] for a in chosen}}).encode()
    bctx.build.s3.put_object(
        Bucket=_inbox(bctx),
        Key=joining.approval_key(uuid.uuid4().hex),
        Body=body,
        ExpectedBucketOwner=central.build.account,
    )
    answers = join.wait(
        lambda a: join.read_answer(bctx.build.s3, _inbox(bctx), a),
        {a: pending[a] for a in chosen},
        o,
        settled=join.current,
        what="the registrar to register them and start them current",
    )
    return join.report(o, answers, request.prog)


def reject(central: Central, request: Request, o: Output, account: str, reason: str) -> int:
    bctx = BuildContext(central, LineProgress(o.err))
    bctx.build.check_account(central.build.account)
    found = _answers(bctx)
    if account not in found:
        raise InvalidInput(f"{account} has made no request", hint="--requests lists them")
    etag, answer, _ = found[account]
    if answer is not None and answer.request_etag == etag and answer.status == "registered":
        raise InvalidInput(f"{account} is registered already", hint="--remove takes a developer out")
    plan = {"action": "reject", "accounts": [account], "reason": reason}
    if _shown(o, request, plan, [f"Refusing {account}'s request: {reason}"]):
        return ExitCode.OK
    refused = Answer("refused", f"refused by the platform team: {reason}", etag, answer.checks if answer else ())
    bctx.build.s3.put_object(
        Bucket=_inbox(bctx),
        Key=joining.answer_key(account),
        Body=refused.to_json().encode(),
        ExpectedBucketOwner=central.build.account,
    )
    o.out.print(f"{account}'s request is refused: {reason}")
    return ExitCode.OK


def status(bctx: BuildContext) -> dict[str, Any]:
    """For --status: whether joining is on, who may ask, how requests are decided, and how many wait."""
    state = bctx.build_stacks().describe(joining.STACK)
    paths = state.parameters.get("JoinPaths", "") if state.exists else ""
    if not paths:
        return {"on": False, "who": [], "approval": None, "waiting": 0}
    try:
        found = _answers(bctx)
        waiting: int | None = sum(
            1
            for etag, answer, _ in found.values()
            if answer is None or answer.request_etag != etag or answer.status == "pending"
        )
    except (bx.ClientError, InvalidInput):
        waiting = None  # the inbox could not be listed with this profile: said as unknown, not as none
    return {
        "on": True,
        "who": joining.who_of(paths),
        "approval": "automatic" if state.parameters.get("AutoApprove") == "true" else "by --approve",
        "waiting": waiting,
    }
