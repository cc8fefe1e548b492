"""The two-account (and more) emulator harness: moto's server over HTTP, reached through real
named profiles that assume roles in distinct accounts (see ../shared/emulator.md)."""

from __future__ import annotations

import functools
import io
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import settings
from rich.console import Console

from xacct.sandbox import emulator as emu_mod
from xacct.terminal.output import Output

# Properties are what is tested, not speed: a loaded CI machine must not fail an example on time.
settings.register_profile("xacct", deadline=None)
settings.load_profile("xacct")

BUILD = emu_mod.BUILD_ACCOUNT
DEV1, DEV2, DEV3, DEV4 = emu_mod.DEV_ACCOUNTS
REGION = emu_mod.REGION
PROFILES = {"build": BUILD, "dev1": DEV1, "dev2": DEV2, "dev3": DEV3, "dev4": DEV4}
ROOT = Path(__file__).resolve().parent.parent
CFN = ROOT / "cfn"


EMULATOR_FIXTURES = {"emulator", "aws", "slow_aws"}


WORKERS_PER_CORE = 3


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: three workers a core. Most of an emulator test's time is AWS's own (a stack
    operation's hold, IAM's propagation, a Lambda retry's delay), during which its worker waits on
    a socket; a worker a core leaves the cores idle most of the run. The fast tier waits on nothing:
    there, a worker a core (each costs a second or two of imports)."""
    cores = os.cpu_count() or 1
    return cores if config.option.markexpr == "not emulator" else WORKERS_PER_CORE * cores


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything that needs the emulator is marked so, whatever the test file, so that
    `pytest -m "not emulator"` is the fast tier: the pure core, in seconds."""
    for item in items:
        if EMULATOR_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture(scope="session")
def emulator() -> Iterator[emu_mod.Emulator]:
    with emu_mod.running(PROFILES) as emu:
        yield emu


@pytest.fixture
def aws(emulator: emu_mod.Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> emu_mod.Emulator:
    """A clean emulator for this test, with the process environment pointing at it."""
    emulator.reset()
    for key, value in emulator.environ.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return emulator


def repository_tool(name: str) -> Any:
    """A script of tools/ (the repository's, not the package's), loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_tool", ROOT / "tools" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def session(profile: str | None, keys: tuple[str, str, str] | None = None) -> boto3.Session:
    """A plain boto3 session for `profile` (or for temporary credentials: key id, secret, token),
    but for botocore's data loader: the models are read once per process, not once per session
    (200 ms a session and two clients, which tests make by the thousand)."""
    import botocore.session

    from xacct.aws.aws_files import shared_loader

    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", shared_loader(None))
    if keys is not None:
        core.set_credentials(*keys)
    return boto3.Session(botocore_session=core, region_name=REGION)


def temporary(creds: Mapping[str, Any]) -> tuple[str, str, str]:
    """An AssumeRole answer's Credentials as the keys `session` takes."""
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


def s3_as_function(function: Any):  # type: ignore[no-untyped-def]
    """An S3 client with a deployed function's own credentials, as Lambda gives them to it."""
    from xacct.sandbox.awslambda import runtime as lambda_runtime

    creds = lambda_runtime.execution_credentials(function)
    keys = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], creds["AWS_SESSION_TOKEN"])
    return session(None, keys).client("s3")


def look_alike_bucket(profile: str, role: str) -> str:
    """A bucket named as this project names a developer's, in `profile`'s account, whose own policy
    admits the central replication role (through the build account's root), as a stranger could."""
    import json

    account = PROFILES.get(profile) or session(profile).client("sts").get_caller_identity()["Account"]
    name = f"xacct-build-{account}-{REGION}"
    owner = session(profile).client("s3")
    owner.create_bucket(Bucket=name)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"},
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role}},
    }
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return name


def cfn(profile: str):  # type: ignore[no-untyped-def]
    return session(profile).client("cloudformation")


def settled(*profiles: str, timeout: float = 60) -> None:
    """Until no stack in these profiles' accounts is in progress: CloudFormation finishing what a
    killed or interrupted run had started."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [
            f"{profile}:{s['StackName']}"
            for profile in profiles
            for s in cfn(profile).describe_stacks()["Stacks"]
            if s["StackStatus"].endswith("_IN_PROGRESS")
        ]
        if not busy:
            return
        assert time.monotonic() < deadline, f"still in progress after {timeout} s: {busy}"
        time.sleep(0.2)


def fake_entry(n: int) -> tuple[str, str, str]:
    bucket = f"xacct-build-99999999{n:04d}-{REGION}"
    key = f"arn:aws:kms:{REGION}:99999999{n:04d}:key/{n:08d}-1111-2222-3333-444444444444"
    return bucket, f"arn:aws:s3:::{bucket}/*", key


@functools.cache
def _full_lists() -> tuple[tuple[str, str], ...]:
    from xacct.core import capacity
    from xacct.core import registry as reg

    registry = reg.Registry(False)
    n = 0
    while (room := capacity.capacity(registry).fits - len(registry.entries)) > 0:
        for _ in range(room):  # as many as the room said; the next check says if they all fit
            n += 1
            registry = reg.merge(registry, reg.Entry(*fake_entry(n))).after
    assert capacity.capacity(registry).fits == len(registry.entries), "the room said is what fits"
    return tuple(reg.render(registry).items())


def full_lists() -> dict[str, str]:
    """The replication parameters of a central stack with no room left: every developer a fake one
    whose bucket and key follow the stock templates, the four lists and every overflow parameter full."""
    return dict(_full_lists())


def deploy_central(
    entries: list[tuple[str, str, str]] | None = None,
    *,
    enabled: bool | None = None,
    raw: dict[str, str] | None = None,
    stack: str = "CrossAccountPrimary",
    profile: str = "build",
    template: str | None = None,
) -> dict[str, str]:
    """Create the central stack from cfn/ (or `template`: an earlier version's), with developers
    already registered."""
    entries = entries or []
    params = {"RootAccountArns": f"arn:aws:iam::{BUILD}:root"}
    if entries or enabled is not None:
        params.update(
            EnableReplication="true" if (enabled if enabled is not None else bool(entries)) else "false",
            ReplicationBucketList=",".join(e[0] for e in entries),
            ReplicationBucketStarArns=",".join(e[1] for e in entries),
            ReplicationCMKs=",".join(e[2] for e in entries),
        )
    params.update(raw or {})
    client = cfn(profile)
    client.create_stack(
        StackName=stack,
        TemplateBody=template or (CFN / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    return stack_parameters(stack, profile)


def stack(name: str, profile: str) -> dict | None:  # type: ignore[type-arg]
    try:
        return cfn(profile).describe_stacks(StackName=name)["Stacks"][0]  # type: ignore[no-any-return]
    except Exception as exc:
        if "does not exist" in str(exc):
            return None
        raise


def stack_parameters(name: str, profile: str) -> dict[str, str]:
    s = stack(name, profile)
    assert s is not None, f"{name} missing in {profile}"
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in s.get("Parameters", [])}


def stack_outputs(name: str, profile: str) -> dict[str, str]:
    s = stack(name, profile)
    assert s is not None
    return {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])}


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*argv: str, interactive: bool = False) -> Run:
    """The tool in-process, as a user runs it: stdout, stderr and exit status."""
    from xacct.cli import main

    out, err = io.StringIO(), io.StringIO()
    o = Output(
        Console(file=out, width=200, no_color=True, soft_wrap=True, highlight=False),
        Console(file=err, width=200, no_color=True, soft_wrap=True, highlight=False),
    )
    code = main(list(argv), output=o, interactive=interactive)
    return Run(int(code), out.getvalue(), err.getvalue())


def onboard_args(dev_profile: str = "dev1", dev_account: str = DEV1, *extra: str) -> list[str]:
    return [
        "--build-account",
        BUILD,
        "--build-region",
        REGION,
        "--build-profile",
        "build",
        "--dev-account",
        dev_account,
        "--dev-region",
        REGION,
        "--dev-profile",
        dev_profile,
        *extra,
    ]


@pytest.fixture
def slow_aws(aws: emu_mod.Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The emulator behind the CloudFormation latency double (short delays for tests)."""
    from tests.cfn_double import CloudFormationDouble

    double = CloudFormationDouble(aws.endpoint, stack_seconds=1.0, change_set_seconds=0.3)
    monkeypatch.setenv("AWS_ENDPOINT_URL", double.start())
    yield double
    double.stop()


def moto_stack(account: str, name: str):  # type: ignore[no-untyped-def]
    """moto's own record of a stack, to put it in a state that is hard to reach on purpose."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][REGION]
    return next(s for s in backend.stacks.values() if s.name == name)
