"""Scale benchmarks: one central stack with hundreds of developers, on the embedded emulator.

    python -m bench.scale            # 6 s per stack operation, 2 s per change set, 50 ms per API call
    python -m bench.scale --quick    # 3 s, 1 s, 20 ms; 200 instead of 500 developers

- Onboarding the 2nd and the 501st developer, through the CloudFormation latency double.
- --from with 100 developers against one onboarding, likewise.
- --status with 500 registered: as it is, and with every API call delayed.
- --verify --all over 500 developers, every API call delayed.
- One artifact's event to 500 developer buckets through the deployed function: wall time and invocations.
- A 100 MB artifact to one invocation's share (100) of developer buckets, in an emulator of its own.

The developers past the first few are stand-ins: in their own accounts, a build bucket admitting the
central role, a key admitting the build account and the reader role (what `--verify --all` and the
function use), made directly in the emulator, then registered through the central stack's
parameters. Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console

from bench.replication import Latency
from tests.cfn_double import CloudFormationDouble
from xacct.cli import main as xacct
from xacct.commands.sandbox import environment
from xacct.core import capacity
from xacct.core import registry as reg
from xacct.sandbox import emulator, identities
from xacct.sandbox.awslambda import runtime as lambda_runtime
from xacct.terminal.output import Output

ROOT = Path(__file__).resolve().parent.parent
BUILD = emulator.BUILD_ACCOUNT
REGION = emulator.REGION
FLEET = 100
PROFILES = {"build": BUILD, "first": "200000000001", "next": "200000000002"}
PROFILES |= {f"f{n:03d}": f"3000000{n:05d}" for n in range(1, FLEET + 1)}


def quiet() -> Output:
    return Output(Console(file=io.StringIO(), width=120), Console(file=io.StringIO(), width=120))


def timed(*argv: str) -> tuple[float, str]:
    out, err = io.StringIO(), io.StringIO()
    o = Output(Console(file=out, width=200), Console(file=err, width=200))
    start = time.perf_counter()
    code = xacct(list(argv), output=o, interactive=False)
    wall = time.perf_counter() - start
    if code not in (0, 3):  # 3: --verify --all found someone not healthy
        raise SystemExit(f"xacct {' '.join(argv)} failed with exit {code}: {err.getvalue()[-2000:]}")
    return wall, out.getvalue()


@functools.cache
def _base(endpoint: str) -> tuple[Any, Any]:
    """One session for the setup's clients (each new session parses the AWS files again) and its
    STS client with the emulator's base keys."""
    session = boto3.Session(
        aws_access_key_id=identities.BASE_KEY, aws_secret_access_key=identities.BASE_SECRET, region_name=REGION
    )
    return session, session.client("sts", endpoint_url=endpoint)


def client(service: str, account: str, endpoint: str) -> Any:
    """A client with the account's Admin role, straight to the emulator (setup, not measured)."""
    session, sts = _base(endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{identities.ADMIN_ROLE}", RoleSessionName="bench")[
        "Credentials"
    ]
    return session.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def stand_in(account: str, role: str, endpoint: str) -> reg.Entry:
    """A developer account as onboarding leaves it, as far as replication and --verify read it."""
    kms, s3, iam = (client(s, account, endpoint) for s in ("kms", "s3", "iam"))
    root = f"arn:aws:iam::{BUILD}:root"
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": root}, "Resource": "*",
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]}]}  # fmt: skip
    key = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    bucket = f"xacct-build-{account}-{REGION}"
    s3.create_bucket(Bucket=bucket)
    writes = {"Effect": "Allow", "Principal": {"AWS": root}, "Resource": f"arn:aws:s3:::{bucket}/*",
              "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
              "Condition": {"ArnEquals": {"aws:PrincipalArn": role}}}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [writes]}))
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    name = f"xacct-verify-{BUILD}-{REGION}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    reads = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetBucketPolicy"], "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:GetKeyPolicy"], "Resource": key},
        {"Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": "*"}]}  # fmt: skip
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(reads))
    return reg.Entry.for_bucket(bucket, key)


def register(entries: list[reg.Entry], endpoint: str) -> None:
    """Append entries to the central lists through a stack update (setup, not measured)."""
    cfn = client("cloudformation", BUILD, endpoint)
    stack = cfn.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]
    current = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    registry = reg.parse(current)
    for entry in entries:
        registry = reg.merge(registry, entry).after
    values = reg.render(registry)
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in {**current, **values}.items()]
    cfn.update_stack(
        StackName="CrossAccountPrimary", UsePreviousTemplate=True, Parameters=params, Capabilities=["CAPABILITY_IAM"]
    )


def seed_central(endpoint: str) -> str:
    from xacct.core.templates import template

    cfn = client("cloudformation", BUILD, endpoint)
    cfn.create_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=template("CrossAccountPrimary"),
        Parameters=[{"ParameterKey": "RootAccountArns", "ParameterValue": f"arn:aws:iam::{BUILD}:root"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    outputs = cfn.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Outputs"]
    return str(next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ReplicationRoleArn"))


def warm(accounts: list[str]) -> None:
    """Each account's state in the emulator made before the clock starts: moto makes an account's
    backends on its first request, which AWS accounts, existing already, never pay."""
    from moto.awslambda.models import lambda_backends
    from moto.cloudformation.models import cloudformation_backends
    from moto.kms.models import kms_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends
    from moto.ssm.models import ssm_backends

    for account in accounts:
        for backends in (cloudformation_backends, kms_backends, lambda_backends, logs_backends, ssm_backends):
            backends[account][REGION]
        s3_backends[account]["aws"]


def _emulator(profiles: dict[str, str], latency: float, commands: Any, answers: Any) -> None:
    """The emulator in a process of its own (the tool's CPU and the emulator's are not one core's),
    and the delivery measurement, which needs the function's requests delayed inside it."""
    with emulator.running(profiles) as emu:
        warm(list(profiles.values()))
        answers.put((emu.endpoint, dict(emu.environ), str(emu.directory)))
        while (command := commands.get()) != "stop":
            registered, size = command
            answers.put(_delivery(emu, latency, registered, size))


class Emulated:
    def __init__(self, profiles: dict[str, str], latency: float) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.commands, self.answers = context.Queue(), context.Queue()
        self.process = context.Process(target=_emulator, args=(profiles, latency, self.commands, self.answers))
        self.process.start()
        self.endpoint, self.environ, _ = self.answers.get(timeout=300)

    def deliver(self, registered: int, size: int = 1024**2) -> list[tuple[str, str, str]]:
        self.commands.put((registered, size))
        return list(self.answers.get(timeout=3600))

    def cpu(self) -> float:
        """CPU seconds the emulator's process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(timeout=60)


def _double(endpoint: str, stack_s: float, change_set_s: float, commands: Any, answers: Any) -> None:
    double = CloudFormationDouble(endpoint, stack_s, change_set_s)
    answers.put(double.start())
    while (command := commands.get()) != "stop":
        if command == "clear":
            double.calls.clear()
            answers.put(None)
        else:  # "calls": (account, action) of each call since the last clear
            answers.put([(c.who, c.action) for c in double.calls])
    double.stop()


class Double:
    """The CloudFormation latency double in a process of its own: on AWS, CloudFormation's time
    costs the tool no CPU, and a double in the tool's process (parsing and forwarding every request,
    48 KB templates included) took half of what the tool's process used."""

    def __init__(self, endpoint: str, stack_s: float, change_set_s: float) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.commands, self.answers = context.Queue(), context.Queue()
        self.process = context.Process(
            target=_double, args=(endpoint, stack_s, change_set_s, self.commands, self.answers)
        )
        self.process.start()
        self.url = str(self.answers.get(timeout=60))

    def clear(self) -> None:
        self.commands.put("clear")
        self.answers.get(timeout=60)

    def calls(self) -> list[tuple[str, str]]:
        self.commands.put("calls")
        return list(self.answers.get(timeout=60))

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(timeout=60)


def run(
    stack_s: float, change_set_s: float, latency: float, many: int, big: int, work: Path
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    build = ["--build-profile", "build", "--build-region", REGION]
    standing_accounts = {f"s{n:05d}": f"5000000{n:05d}" for n in range(1, many)}
    emu = Emulated({**PROFILES, **standing_accounts}, latency)
    try:
        role = seed_central(emu.endpoint)
        first = stand_in("500000000001", role, emu.endpoint)
        register([first], emu.endpoint)
        double = Double(emu.endpoint, stack_s, change_set_s)
        with environment({**emu.environ, "AWS_ENDPOINT_URL": double.url}):
            second, _ = timed(*build, "--dev-profile", "first", "--yes")
            rows.append(("onboarding the 2nd developer", f"{second:.1f} s", f"{stack_s:.0f} s per stack operation"))
            standing = [stand_in(a, role, emu.endpoint) for a in list(standing_accounts.values())[1:]]
            register(standing, emu.endpoint)
            assert len(reg.parse(_central(emu.endpoint)).entries) == many
            last, _ = timed(*build, "--dev-profile", "next", "--yes")
            rows.append((f"onboarding the {many + 1}st developer", f"{last:.1f} s", ""))
            rows.append((f"{many + 1}st ÷ 2nd", f"{last / second:.2f}", "≤ 1.1"))
            team = work / "team.yaml"
            team.write_text(f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n"
                            + "".join(f"  - dev_profile: f{n:03d}\n" for n in range(1, FLEET + 1)))  # fmt: skip
            double.clear()
            ours, theirs = time.process_time(), emu.cpu()
            fleet, _ = timed("--from", str(team), "--yes")
            ours, theirs = time.process_time() - ours, emu.cpu() - theirs
            sets = sum(1 for who, action in double.calls() if who == BUILD and action == "CreateChangeSet")
            rows.append((f"--from with {FLEET} developers", f"{fleet:.1f} s", f"{sets} central change set"))
            rows.append((f"--from {FLEET} ÷ one onboarding", f"{fleet / second:.2f}", "≤ 1.5"))
            rows.append(("  CPU: the tool's process, the emulator's",
                         f"{ours:.1f} s, {theirs:.1f} s", "two cores"))  # fmt: skip
        double.stop()
        registered = len(reg.parse(_central(emu.endpoint)).entries)
        cap = capacity.capacity(reg.parse(_central(emu.endpoint)))
        rows.append(("developers registered, and how many fit", f"{registered} of {cap.fits}", ""))
        with environment(emu.environ):
            status, _ = timed(*build, "--status", "--json")
        rows.append((f"--status with {registered} registered", f"{status:.2f} s", "< 2 s"))
        proxy = Latency(emu.endpoint, latency)
        with environment({**emu.environ, "AWS_ENDPOINT_URL": proxy.url}):
            proxy.reset()
            slow_status, _ = timed(*build, "--status", "--json")
            rows.append((f"--status, {latency * 1000:.0f} ms per API call", f"{slow_status:.2f} s", "< 2 s"))
            ours, theirs = time.process_time(), emu.cpu()
            verify, report = timed(*build, "--verify", "--all", "--json")
            ours, theirs = time.process_time() - ours, emu.cpu() - theirs
        checked = json.loads(report)
        rows.append((f"--verify --all over {registered}, {latency * 1000:.0f} ms per API call", f"{verify:.1f} s",
                     "< 60 s"))  # fmt: skip
        states: dict[str, int] = {}
        for row in checked.get("developers", []):
            states[row.get("state")] = states.get(row.get("state"), 0) + 1
        rows.append(("  CPU: this process (the tool, the latency proxy), the emulator", f"{ours:.1f} s, {theirs:.1f} s",
                     "two cores"))  # fmt: skip
        rows.append(("  developers by state", ", ".join(f"{v} {k}" for k, v in sorted(states.items())),
                     "stand-ins have no stacks: broken, with every read made"))  # fmt: skip
        proxy.server.shutdown()
        rows += emu.deliver(registered)
    finally:
        emu.stop()
    return rows + big_artifact(big, latency)


def _central(endpoint: str) -> dict[str, str]:
    cfn = client("cloudformation", BUILD, endpoint)
    stack = cfn.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def _delivery(emu: emulator.Emulator, latency: float, registered: int, size: int) -> list[tuple[str, str, str]]:
    """One artifact's event through S3 and the deployed function, to every registered bucket: from the
    build's PutObject returning to the last developer bucket written, as the function's logs say."""
    proxy = Latency(emu.endpoint, latency)
    lambda_runtime.ENDPOINT[:] = [proxy.url]  # the function's requests, and only those, are delayed
    s3 = client("s3", BUILD, emu.endpoint)
    logs = client("logs", BUILD, emu.endpoint)
    group = "/aws/lambda/xacct-replicator-CrossAccountPrimary"
    key = f"scale/app-{size}.zip"
    s3.put_object(Bucket=f"xacct-build-{BUILD}-{REGION}", Key=key, Body=os.urandom(size))
    start = time.perf_counter()
    served: list[dict[str, Any]] = []
    deadline = start + 1800
    while time.perf_counter() < deadline:
        events = logs.filter_log_events(logGroupName=group).get("events", [])
        served = [line for line in map(_json, (e["message"] for e in events)) if line is not None]
        served = [s for s in served if str(s.get("artifact", "")).endswith(key)]
        if sum(len(s["delivered"]) + len(s["skipped"]) + len(s["failed"]) for s in served) >= registered:
            break
        time.sleep(1)
    wall = time.perf_counter() - start
    delivered = sum(len(s["delivered"]) for s in served)
    lambda_runtime.ENDPOINT[:] = [emu.endpoint]
    proxy.server.shutdown()
    from xacct.function.replicator import per_invocation

    return [
        (f"one {_size(size)} artifact to {registered} buckets, {latency * 1000:.0f} ms per request", f"{wall:.1f} s",
         f"{delivered} delivered"),
        ("  invocations of the function", str(len(served)), f"{per_invocation(size)} targets each at most"),
    ]  # fmt: skip


def _size(size: int) -> str:
    return f"{size // 1024**2} MB"


def big_artifact(targets: int, latency: float) -> list[tuple[str, str, str]]:
    """A 100 MB artifact, delivered for real to one invocation's share of developers in an emulator of
    their own: every copy is 100 MB of the emulator's disk, so 500 of them (50 GB) are not made here.
    The invocations 500 would take are the function's own rule (per_invocation), each serving its
    share side by side on Lambda as the one measured does."""
    from xacct.function.replicator import per_invocation

    accounts = [f"6000000{n:05d}" for n in range(1, targets + 1)]
    emu = Emulated({"build": BUILD, **{f"b{n:03d}": a for n, a in enumerate(accounts, 1)}}, latency)
    try:
        role = seed_central(emu.endpoint)
        register([stand_in(a, role, emu.endpoint) for a in accounts], emu.endpoint)
        rows = emu.deliver(targets, 100 * 1024**2)
    finally:
        emu.stop()
    share = per_invocation(100 * 1024**2)
    rows.append(("  a 100 MB artifact to 500 buckets: invocations", str(-(-500 // share)),
                 f"{share} targets each, side by side; each as the one measured"))  # fmt: skip
    return rows


def _json(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) and found.get("xacct") == "replication" else None


def table(rows: list[tuple[str, str, str]], stack_s: float, change_set_s: float, latency: float) -> str:
    lines = [
        f"Scale benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {stack_s:.0f} s per stack operation, "
        f"{change_set_s:.0f} s per change set, {latency * 1000:.0f} ms per API call where stated",
        "",
        "| measure | value | note |",
        "| --- | --- | --- |",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s, 1 s, 20 ms; 200 developers")
    p.add_argument("--developers", type=int, help="registered before the last onboarding (default 500)")
    args = p.parse_args()
    stack_s, cs_s, latency, many, big = (3.0, 1.0, 0.020, 200, 20) if args.quick else (6.0, 2.0, 0.050, 500, 100)
    many = args.developers or many
    with tempfile.TemporaryDirectory(prefix="xacct-bench-") as work:
        os.environ["XDG_CONFIG_HOME"] = work  # never over the user's own saved answers
        text = table(run(stack_s, cs_s, latency, many, big, Path(work)), stack_s, cs_s, latency)
    print(text)
    out = ROOT / "bench" / "results" / f"scale-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
