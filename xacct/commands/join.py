"""Joining, the developer's side: --join deploys the developer stacks from the facts the build
account publishes, files the request in its inbox and waits for the registrar's answer, with
nothing but the developer's own credentials. The platform team's side is joining.py."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

import botocore.exceptions as bx

from xacct.aws.gateway import Gateway
from xacct.aws.reads import Context
from xacct.commands import common
from xacct.core import joining, planning
from xacct.core import registry as reg
from xacct.core.answers import Central, Onboarding, Side
from xacct.core.joining import Answer
from xacct.core.plan import Plan, StackStep
from xacct.core.request import Request
from xacct.errors import AwsFailure, ExitCode, InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress
from xacct.terminal.render import say

NOBODY = reg.parse({reg.ENABLE: "false", reg.BUCKETS: "", reg.STAR_ARNS: "", reg.CMKS: ""})
ANSWER_SECONDS = 900.0  # the registrar's own limit: past it, no answer is coming


def read_answer(s3: Any, inbox: str, account: str) -> Answer | None:
    try:
        return Answer.parse(s3.get_object(Bucket=inbox, Key=joining.answer_key(account))["Body"].read())
    except bx.ClientError as exc:
        # A joiner may read its answer but not list the inbox: S3 answers 403, not 404, for an
        # answer not written yet (S3 API reference, GetObject: "If you don't have the
        # s3:ListBucket permission, Amazon S3 returns an HTTP status code 403").
        if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "AccessDenied", "403"):
            return None
        raise


def decided(answer: Answer) -> bool:
    return answer.status in ("registered", "refused", "left")


def current(answer: Answer) -> bool:
    """Decided, and when registered, started current (the sync's figures are in the answer)."""
    return answer.status in ("refused", "left") or (answer.status == "registered" and bool(answer.synced))


def wait(
    read: Any, wanted: dict[str, str], o: Output, *, settled: Any = decided, what: str = "the registrar's answer"
) -> dict[str, Answer]:
    """Each account's answer to the request it filed (its ETag), once `settled` holds for it."""
    deadline = time.monotonic() + ANSWER_SECONDS
    found: dict[str, Answer] = {}
    delay = 0.25
    o.info(f"waiting for {what} ({', '.join(wanted)})")
    with common.waiting(o, f"waiting for {what}"):
        while len(found) < len(wanted):
            for account, etag in wanted.items():
                if account in found:
                    continue
                answer = read(account)
                if answer is not None and answer.request_etag == etag and settled(answer):
                    found[account] = answer
            if len(found) == len(wanted):
                break
            if time.monotonic() > deadline:
                missing = ", ".join(a for a in wanted if a not in found)
                raise AwsFailure(
                    f"no answer from the registrar for {missing} in {ANSWER_SECONDS:.0f} s",
                    hint="read its log group /aws/lambda/xacct-registrar-STACK in the build account",
                )
            time.sleep(delay)
            delay = min(2.0, delay * 1.5)
    return found


def report(o: Output, answers: dict[str, Answer], prog: str) -> int:
    worst = ExitCode.OK
    for account, answer in sorted(answers.items()):
        say(o, (f"{account}: {answer.status}", "bold"), f" — {answer.reason}")
        synced = answer.synced
        if synced.get("skipped"):
            say(o, f"  {synced['skipped']}")
        elif synced.get("error"):
            say(o, f"  not started current: {synced['error']}; run the same command with --sync later")
        elif synced:
            copied = answer.synced.get("copied", 0)
            current = answer.synced.get("already_current", 0)
            say(
                o,
                f"  started current: {copied} copied, {current} already there, {answer.synced.get('failed', 0)} failed",
            )
        if answer.status == "refused":
            worst = ExitCode.AWS_FAILED
    return worst


def _facts(ctx: Context) -> dict[str, Any]:
    central = ctx.target.central
    inbox = joining.inbox_name(central.build.account, central.build.region)
    s3 = ctx.dev.session.client("s3", region_name=central.build.region)
    try:
        body = s3.get_object(Bucket=inbox, Key=joining.FACTS, ExpectedBucketOwner=central.build.account)["Body"].read()
    except bx.ClientError as exc:
        code_ = exc.response["Error"]["Code"]
        if code_ in ("AccessDenied", "403", "NoSuchBucket", "NoSuchKey", "404"):
            raise AwsFailure(
                f"the build account {central.build.account}'s inbox {inbox} refused account {ctx.target.dev.account} "
                f"({code_}): joining is off there, or this account is in none of the OUs allowed to join",
                # S3 answers the same AccessDenied when this identity's own policy lacks s3:GetObject
                # there, or a service control policy denies it: the hint says both.
                hint="ask the platform team to --enable-joining for your OU, or to onboard you; or, if your own "
                "identity may not read it, give it what --print-policy join prints",
            ) from exc
        raise
    facts: dict[str, Any] = json.loads(body)
    return facts


def _connect(request: Request, o: Output) -> tuple[Context, dict[str, Any]]:
    """The developer account as the profile reaches it, and the build account's published facts."""
    given = request.given
    mode = "--leave" if request.mode == "leave" else "--join"
    if not given.build_account or not given.build_region:
        raise InvalidInput(f"{mode} needs --build-account and --build-region (the platform team publishes both)")
    dev_region = given.dev_region or given.build_region
    build = Side(given.build_account, given.build_region, None)
    from xacct.aws.identity import refuse_key_source

    refuse_key_source(given.dev_profile, "with --dev-profile")
    account = Gateway(given.dev_profile, dev_region, "developer").account()
    if given.dev_account and given.dev_account != account:
        raise InvalidInput(f"the developer profile reaches account {account}, not {given.dev_account}")
    if account == given.build_account:
        raise InvalidInput(f"the developer account {account} is the build account itself")
    # The central stack's name comes from the published facts; until then the default stands in.
    target = Onboarding(
        Central(build, "CrossAccountPrimary"), Side(account, dev_region, given.dev_profile), given.stacks()
    )
    ctx = Context(target.central, LineProgress(o.err), target=target, direct=True)
    with common.waiting(o, "reading the build account's published facts"):
        facts = _facts(ctx)
    central = Central(build, str(facts["central_stack"]))
    return Context(
        central, LineProgress(o.err), target=Onboarding(central, target.dev, target.stacks), direct=True
    ), facts


def _plan(ctx: Context, action: Literal["onboard", "remove"], role: str, **rest: Any) -> Plan:
    t = ctx.target
    return Plan(
        action=action,
        build_account=t.build.account,
        build_region=t.build.region,
        dev_account=t.dev.account,
        dev_region=t.dev.region,
        central_stack=t.central.stack,
        central_before={},
        change=reg.Change(NOBODY, NOBODY, "unchanged", "the registrar changes the central lists"),
        bucket=f"xacct-build-{t.dev.account}-{t.dev.region}",
        cmk=None,
        replication_role=role,
        **rest,
    )


def _file(ctx: Context, o: Output, filed: joining.Request, settled: Any) -> Answer:
    central = ctx.target.central
    inbox = joining.inbox_name(central.build.account, central.build.region)
    s3 = ctx.dev.session.client("s3", region_name=central.build.region)
    try:
        written = s3.put_object(
            Bucket=inbox,
            Key=joining.request_key(filed.account),
            Body=filed.to_json().encode(),
            ContentType="application/json",
            ExpectedBucketOwner=central.build.account,
        )
    except bx.ClientError as exc:
        raise AwsFailure(
            f"the inbox {inbox} refused this account's request ({exc.response['Error']['Code']}): joining was "
            "turned off, or this account left the OUs allowed to join",
            hint="ask the platform team",
        ) from exc
    etag = written["ETag"].strip('"')
    answer = wait(lambda a: read_answer(s3, inbox, a), {filed.account: etag}, o, settled=settled)[filed.account]
    if answer.status == "registered" and not answer.synced:
        # Registered: the registrar now starts the bucket current, and says what it copied.
        current = wait(
            lambda a: read_answer(s3, inbox, a),
            {filed.account: etag},
            o,
            settled=lambda a: bool(a.synced),
            what="the registrar to start the bucket current",
        )
        answer = current[filed.account]
    return answer


def join(request: Request, o: Output) -> int:
    ctx, facts = _connect(request, o)
    central, account, dev_region = ctx.target.central, ctx.target.dev.account, ctx.target.dev.region
    say(
        o,
        ("Joining ", "bold"),
        f"build account {central.build.account} ({central.build.region}) from account {account} ({dev_region}): "
        f"the developer stacks, then a request the registrar checks ({facts.get('approval', '')})",
    )
    if request.dry_run:
        o.out.print("dry run: nothing was changed")
        return ExitCode.OK
    plan = _plan(ctx, "onboard", str(facts["replication_role"]))
    from xacct.commands.onboard import deploy_developer

    with common.live(ctx, o):
        primary = deploy_developer(ctx, plan)
    filed = joining.Request(
        account=account,
        region=dev_region,
        bucket=primary.outputs["BuildBucket"],
        cmk=primary.outputs["CMK"],
        stacks=ctx.target.stacks.names,
        nonce=uuid.uuid4().hex,
    )
    answer = _file(ctx, o, filed, lambda a: a.status in ("registered", "refused", "pending"))
    code_ = report(o, {account: answer}, request.prog)
    if answer.status == "pending":
        say(o, "next: the platform team approves it (--approve); run this command again to see the answer")
    elif answer.status == "registered":
        say(o, "next: nothing; every new build of the build account now reaches your bucket")
    return code_


def leave(request: Request, o: Output) -> int:
    """Out of the central lists through the registrar, then the same grants withdrawn as --remove
    withdraws: the developer stack goes, the bucket and key stop admitting the build account."""
    ctx, facts = _connect(request, o)
    s = ctx.target.stacks
    dev = ctx.dev_stacks()
    primary = dev.describe(s.primary)
    bucket = primary.outputs.get("BuildBucket") or f"xacct-build-{ctx.target.dev.account}-{ctx.target.dev.region}"
    say(
        o, ("Leaving ", "bold"), f"build account {ctx.target.build.account}: {bucket} out of its lists, then its grants"
    )
    if request.dry_run:
        o.out.print("dry run: nothing was changed")
        return ExitCode.OK
    filed = joining.Request(
        account=ctx.target.dev.account,
        region=ctx.target.dev.region,
        bucket=bucket,
        cmk=primary.outputs.get("CMK", ""),
        nonce=uuid.uuid4().hex,
        action="leave",
    )
    answer = _file(ctx, o, filed, decided)
    if answer.status != "left":
        return report(o, {filed.account: answer}, request.prog)
    build_root = planning.account_root(ctx.dev.partition, ctx.target.build.account)
    steps = [StackStep(s.developer, "delete" if dev.describe(s.developer).exists else "none")]
    if primary.exists and planning.trusts_build(primary, build_root):
        steps.append(StackStep(s.primary, "update", "its bucket and key no longer admit the build account"))
    plan = _plan(ctx, "remove", str(facts["replication_role"]), stacks=steps)
    plan.bucket, plan.cmk = bucket, filed.cmk or None
    from xacct.commands.remove import withdraw_developer

    with common.live(ctx, o):
        withdraw_developer(ctx, plan)
    say(o, ("Left: ", "bold"), f"{answer.reason}; {bucket} and its key no longer admit the build account")
    say(o, f"  your own pipeline stacks stay: {s.primary}, {s.deploy}")
    return ExitCode.OK
