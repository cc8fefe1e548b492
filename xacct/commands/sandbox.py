"""`--sandbox`: the whole onboarding against an embedded emulator, for a first run.

moto's server runs inside this process on a free port; a temporary AWS config gives a build
profile, a developer profile and two teammates' profiles, each reaching its own account; the
central stack is deployed from cfn/ and the two teammates onboarded onto it for real. Then the
same command runs, through the same code path,
with the sandbox's answers as defaults. The user's own ~/.aws and saved answers are never
read or written.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from xacct import signals
from xacct.aws.gateway import Gateway
from xacct.aws.stacks import Stacks
from xacct.core import registry as reg
from xacct.core.answers import Answers
from xacct.core.planning import account_root
from xacct.core.request import PLATFORM_JOINING, Request
from xacct.core.state import Silent
from xacct.core.templates import template
from xacct.errors import Interrupted, InvalidInput
from xacct.sandbox import emulator
from xacct.terminal.output import Output
from xacct.terminal.render import say

BUILD = emulator.BUILD_ACCOUNT
DEV = emulator.DEV_ACCOUNTS[0]
REGION = emulator.REGION
ANSWERS = Answers(
    build_account=BUILD,
    build_region=REGION,
    build_profile="sandbox-build",
    dev_account=DEV,
    dev_region=REGION,
    dev_profile="sandbox-developer",
    central_stack="CrossAccountPrimary",
)
FICTITIOUS = [
    (
        "xacct-build-210987654321-us-east-1",
        "arn:aws:kms:us-east-1:210987654321:key/0f8e2a44-5b1c-4d7e-9a61-3c2b1d0e9f87",
    ),
    (
        "xacct-build-123456789012-eu-west-1",
        "arn:aws:kms:eu-west-1:123456789012:key/mrk-4c1d8e2f9a7b4e3c8d6f1a2b3c4d5e6f",
    ),
]
ENV_KEYS = (
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    try:
        for key in ENV_KEYS:
            os.environ.pop(key, None)
        os.environ.update({k: v for k, v in values.items() if v})
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def seed_central(profile: str = "sandbox-build", developers: list[tuple[str, str]] = FICTITIOUS) -> None:
    """The central stack as a platform team would have it: developers already registered (by
    default two whose accounts hold nothing, enough for the benchmarks)."""
    stacks = Stacks(Gateway(profile, REGION, "build").cfn)
    params = {
        "RootAccountArns": account_root("aws", BUILD),
        "EnableReplication": "true" if developers else "false",
        "ReplicationBucketList": ",".join(b for b, _ in developers),
        "ReplicationBucketStarArns": ",".join(reg.star_arn_for(b) for b, _ in developers),
        "ReplicationCMKs": ",".join(k for _, k in developers),
    }
    prepared = stacks.prepare("CrossAccountPrimary", template("CrossAccountPrimary"), params, {}, Silent())
    stacks.execute(prepared, Silent())


TEAM = {"sandbox-team-a": ("210987654321", "us-east-1"), "sandbox-team-b": ("123456789012", "eu-west-1")}


def seed_team(request: Request) -> None:
    """Two teammates onboarded before you, for real (their stacks, bucket and key, in their own
    accounts): so the sandbox's build reaches them and `--verify --all` finds them whole."""
    import tempfile

    from xacct.commands.run import run_command

    quiet = Output(Console(file=io.StringIO()), Console(file=io.StringIO()))
    # One --from run for both, as a platform team would: one central change set, their stacks side by side.
    team = "".join(f"  - dev_profile: {p}\n    dev_account: '{a}'\n    dev_region: {r}\n" for p, (a, r) in TEAM.items())
    with tempfile.TemporaryDirectory(prefix="xacct-sandbox-team-") as folder:
        path = Path(folder) / "team.yaml"
        path.write_text(f"build_profile: sandbox-build\nbuild_region: {REGION}\ndevelopers:\n{team}")
        run_command(Request(fleet=path, yes=True, prog=request.prog), quiet, False, defaults=ANSWERS, save_to=None)


def build_an_artifact(o: Output, dev_region: str) -> None:
    """What the central build does next: one artifact into the build bucket. S3 notifies the
    replication function (its deployed code, run by the emulator with its own role), which copies
    it into every registered developer bucket; show it arrive in this developer's."""
    import json
    import time

    build = Gateway("sandbox-build", REGION, "build")
    source, key = f"xacct-build-{BUILD}-{REGION}", "app/app.zip"
    start = time.monotonic()
    version = build.s3.put_object(
        Bucket=source,
        Key=key,
        Body=b"PK\x05\x06" + bytes(18),
        ContentType="application/zip",
        Metadata={"codepipeline-artifact-revision-summary": "sandbox build 1"},
    )["VersionId"]
    logs = build.logs
    line: dict[str, object] | None = None
    while line is None and time.monotonic() - start < 60:
        time.sleep(0.2)
        for event in logs.filter_log_events(logGroupName="/aws/lambda/xacct-replicator-CrossAccountPrimary")["events"]:
            record = json.loads(event["message"]) if event["message"].startswith("{") else {}
            if record.get("version") == version:
                line = record
    if line is None:
        o.out.print()
        say(o, ("Sandbox: the replication function did not report within 60 s", "yellow"))
        return
    delivered = list(line.get("delivered", []))  # type: ignore[call-overload]
    o.out.print()
    say(o, (f"Sandbox: the central build puts s3://{source}/{key}", "bold"))
    say(
        o,
        f"  the replication function delivered it to {len(delivered)} of {line['targets']} developer buckets "
        f"in {line['seconds']} s",
        hang=4,
    )
    target = f"xacct-build-{DEV}-{dev_region}"
    if target in delivered:
        got = Gateway("sandbox-developer", dev_region, "developer").s3.head_object(Bucket=target, Key=key)
        say(
            o,
            f"  arrived in s3://{target}/{key} ({got['ContentType']}, {got['ContentLength']} bytes, "
            f"revision summary {got['Metadata'].get('codepipeline-artifact-revision-summary')!r}): "
            "your pipeline starts from here",
            hang=4,
        )
    for bucket, failure in dict(line.get("failed", {})).items():  # type: ignore[call-overload]
        say(o, (f"  not delivered to {bucket}", "red"), f": {failure['reason']}", hang=4)


def central_values() -> dict[str, str]:
    state = Stacks(Gateway("sandbox-build", REGION, "build").cfn).describe("CrossAccountPrimary")
    return {k: state.parameters.get(k, "") for k in reg.PARAMETERS}


def stacks_by_account(dev_region: str) -> dict[str, list[str]]:
    found = {}
    for label, profile, account, region in (
        ("build", "sandbox-build", BUILD, REGION),
        ("developer", "sandbox-developer", DEV, dev_region),
    ):
        cfn = Gateway(profile, region, label).cfn
        stacks = sorted(cfn.describe_stacks()["Stacks"], key=lambda s: str(s["StackName"]))  # AWS promises no order
        found[f"{label} {account}"] = [f"{s['StackName']} ({s['StackStatus']})" for s in stacks]
    return found


def show_outcome(o: Output, before: dict[str, str], after: dict[str, str], dev_region: str) -> None:
    o.out.print()
    say(o, ("Sandbox: the central stack's parameters, before and after", "bold"))
    for key in reg.PARAMETERS:
        old = [v for v in before[key].split(",") if v]
        new = [v for v in after[key].split(",") if v]
        if before[key] == after[key]:
            say(o, f"  {key}: unchanged ({len(old)} items)" if key != reg.ENABLE else f"  {key}: {after[key]}")
            continue
        if key == reg.ENABLE:
            say(o, f"  {key}: {before[key]} -> ", (after[key], "bold"))
            continue
        say(o, f"  {key}:")
        for item in new:
            mark = ("  ", "") if item in old else ("+ ", "green")
            say(o, "  ", mark, item, hang=4)
        for item in old:
            if item not in new:
                say(o, "  ", ("- ", "red"), item, hang=4)
    for account, names in stacks_by_account(dev_region).items():
        say(o, f"  stacks in the {account} account: {', '.join(names) or 'none'}", hang=4)


def check_before_start(request: Request, profiles: dict[str, str]) -> None:
    """What can be refused without the emulator is refused before it starts (it takes seconds): the
    answers and the --config file as every run checks them, and profiles and accounts the sandbox
    does not have, with the ones it has."""
    from xacct.commands.resolve import given_answers

    given = given_answers(request)
    if request.ou is not None or request.mode in ("join", "leave", *PLATFORM_JOINING):
        what = "--ou" if request.ou is not None else f"--{request.mode}"
        raise InvalidInput(
            f"{what} needs an AWS Organization, and the sandbox's accounts are in none",
            hint="try it against real accounts (docs/usage.md says how); the tests run it on the emulator",
        )
    names = ", ".join(profiles)
    for side in ("build", "dev"):
        profile = getattr(given, f"{side}_profile")
        if profile and profile not in profiles:
            raise InvalidInput(
                f"--{side}-profile {profile}: the sandbox has no such profile",
                hint=f"the sandbox's profiles are {names}; or leave the flag out",
            )
        account = getattr(given, f"{side}_account")
        if account and account not in profiles.values():
            accounts = ", ".join(f"{a} ({p})" for p, a in profiles.items())
            raise InvalidInput(
                f"--{side}-account {account}: the sandbox has no such account", hint=f"its accounts: {accounts}"
            )


def run_sandbox(request: Request, o: Output, interactive: bool) -> int:
    """The request, against an embedded emulator with the sandbox's answers as defaults."""
    if request.apply_plan is not None:
        raise InvalidInput(
            "--apply cannot work in the sandbox: every run starts a new, empty emulator, so no saved plan "
            "matches what it reads",
            hint="save and apply plans against real accounts; in the sandbox, --dry-run --out shows what a plan holds",
        )
    profiles = {"sandbox-build": BUILD, "sandbox-developer": DEV, **{p: a for p, (a, _) in TEAM.items()}}
    check_before_start(request, profiles)
    machine = request.json or request.markdown  # what is read by a program stays only that
    if not machine:
        o.info("[dim]sandbox: starting an embedded AWS emulator (moto): a build account, yours, two teammates'[/]")
    try:
        emulator.require()
    except emulator.Unavailable as exc:
        raise InvalidInput(exc.message, hint=exc.hint) from exc
    try:
        code = _in_the_emulator(request, o, interactive, profiles, machine)
    except (Interrupted, KeyboardInterrupt) as exc:
        # What CloudFormation was doing, and the command that finishes it, were the emulator's: gone
        # with it. A sandbox run is finished by running it again, from a new, empty emulator.
        status = exc.status if isinstance(exc, Interrupted) else signals.exit_status(exc)
        cause = "" if status == signals.exit_status(KeyboardInterrupt()) else f" ({signal.Signals(status - 128).name})"
        raise Interrupted(
            f"interrupted{cause}; the sandbox's emulator has stopped, and all it held is gone (nothing outside "
            "it was touched)",
            hint="run the same command again: every --sandbox run starts a new, empty emulator",
            status=status,
        ) from exc
    if not machine:  # said once it is so, not before the emulator has stopped
        o.info("[dim]sandbox: emulator stopped, temporary files removed; nothing outside it was touched[/]")
    return code


def _in_the_emulator(request: Request, o: Output, interactive: bool, profiles: dict[str, str], machine: bool) -> int:
    from xacct.commands.run import run_command

    started = time.monotonic()

    def phase(text: str) -> None:  # the seconds the start takes, said as they pass
        if not machine:
            o.info(f"[dim]sandbox: {text} ({time.monotonic() - started:.1f} s)[/]")

    with emulator.running(profiles) as emu, environment(emu.environ):
        phase("emulator up; deploying the central stack")
        seed_central(developers=[])
        phase("central stack deployed; onboarding your two teammates")
        seed_team(request)
        phase("ready")
        if request.mode in ("remove", "verify", "sync"):
            quiet = Output(Console(file=io.StringIO()), Console(file=io.StringIO()))
            onboard = Request(given=request.given, config=request.config, yes=True, prog=request.prog)
            run_command(onboard, quiet, False, defaults=ANSWERS, save_to=None)
        before = central_values()
        if interactive and not request.yes:
            # A first run: every question the person's flags left open, the sandbox's answers as defaults.
            request = request.but(guided="unflagged")
        if not interactive and request.needs_confirmation:
            # Nothing real is at stake here, and a first run may well be piped.
            o.info("[dim]sandbox: no terminal, applying without confirmation[/]")
            request = request.but(yes=True)
        code = run_command(request, o, interactive, defaults=ANSWERS, save_to=None)
        if not machine:
            after = central_values()
            # The region the run used for your account, as the registry now holds it (a question may
            # have chosen it), or as given, or the sandbox's.
            mine = f"xacct-build-{DEV}-"
            held = [b.removeprefix(mine) for b in after[reg.BUCKETS].split(",") if b.startswith(mine)]
            dev_region = held[0] if held else request.given.dev_region or REGION
            show_outcome(o, before, after, dev_region)
            if code == 0 and held and request.mode == "onboard" and not request.dry_run:
                build_an_artifact(o, dev_region)
    return code
