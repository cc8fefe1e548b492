"""The conformance suite: each rule of the emulator (xacct/sandbox/rules.py, the table in docs/development.md)
checked against AWS's own words, with plain boto3 and no product code.

By default every case runs against the emulator, started here through its one public face
(`running()` and its profile files). Name real profiles and the same cases run against AWS, as
moto's `*_aws_verified` tests do:

    XACCT_CONFORMANCE_PROFILES=acct-a,acct-b[,org-management] python -m pytest conformance -n 0

Two profiles of two accounts in one region are enough for most cases; a third, the management
account of an organization that the second account belongs to, for the Organizations cases; and
XACCT_CONFORMANCE_OU (an OU of that organization whose accounts may receive a stack of one
WaitConditionHandle) for the StackSets cases. Every case names what it makes uniquely and removes it
afterwards, whatever happens. The README says what a run costs. CI never sets the variable.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
import botocore.exceptions as bx
import botocore.session
import pytest
from botocore.loaders import Loader

PROFILES_VARIABLE = "XACCT_CONFORMANCE_PROFILES"
OU_VARIABLE = "XACCT_CONFORMANCE_OU"
# How long a case waits for what AWS does eventually (a policy taking effect, an operation ending).
PATIENCE = float(os.environ.get("XACCT_CONFORMANCE_PATIENCE") or 90)
EMULATED = {"conf-a": "111111111111", "conf-b": "222222222222", "conf-org": "333333333333"}
T = TypeVar("T")


def real_profiles() -> list[str]:
    return [p.strip() for p in os.environ.get(PROFILES_VARIABLE, "").split(",") if p.strip()]


@dataclass
class Account:
    """One account, as a profile reaches it."""

    profile: str
    session: boto3.Session
    id: str

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]


@dataclass
class World:
    """What a case runs against: two accounts (a third for Organizations), their region, and the
    emulator when it is one (None on AWS). What a case makes, it registers in `undo`."""

    a: Account
    b: Account
    org: Account | None
    region: str
    emulator: Any | None
    undo: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def on_aws(self) -> bool:
        return self.emulator is None

    def name(self, what: str) -> str:
        """A name nobody else holds: lower case, digits and dashes (valid for buckets and stacks)."""
        return f"xacct-conf-{what}-{uuid.uuid4().hex[:12]}"

    def later(self, step: Callable[[], Any]) -> None:
        self.undo.append(step)

    def configure(self, **settings: float) -> None:
        """An emulator setting for this case (AWS has no such knob: on AWS this does nothing, nor on an
        emulator that has no such setting)."""
        configure = getattr(self.emulator, "configure", None)
        if configure is not None:
            configure(**settings)


def eventually(check: Callable[[], T], seconds: float = PATIENCE, every: float = 1.0) -> T:
    """The check's value once it stops raising, within `seconds` (AWS applies IAM, KMS and bucket
    policy changes eventually; StackSets runs its operations in the background)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (AssertionError, bx.ClientError):
            if time.monotonic() > deadline:
                raise
        time.sleep(every)


def error_code(call: Callable[[], Any]) -> str:
    """The AWS error code a call answers ("" when it succeeds)."""
    try:
        call()
    except bx.ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@functools.cache
def _models() -> Loader:
    return Loader()


def new_session(**given: Any) -> boto3.Session:
    """boto3.Session(**given), its botocore service models decoded once per process rather than
    once per session (a tenth of a second of CPU for each)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _models())
    return boto3.Session(botocore_session=core, **given)


def _account(profile: str, region: str) -> Account:
    session = new_session(profile_name=profile, region_name=region)
    return Account(profile, session, str(session.client("sts").get_caller_identity()["Account"]))


@pytest.fixture(scope="session")
def _backend() -> Iterator[tuple[dict[str, str], Any | None, str]]:
    """The profiles (a, b, org) and the emulator (None on AWS)."""
    profiles = real_profiles()
    if profiles:
        if len(profiles) < 2:
            raise pytest.UsageError(f"{PROFILES_VARIABLE} names two or three profiles: A,B[,ORG]")
        region = new_session(profile_name=profiles[0]).region_name or "us-east-1"
        yield dict(zip(("a", "b", "org"), profiles, strict=False)), None, region
        return
    from xacct.sandbox import emulator

    with emulator.running(EMULATED) as emu:
        saved = {k: os.environ.get(k) for k in emu.environ}
        for key, value in emu.environ.items():
            if value:
                os.environ[key] = value
            else:  # nothing of the user's own AWS settings reaches the emulator
                os.environ.pop(key, None)
        try:
            yield {n.removeprefix("conf-"): n for n in EMULATED}, emu, emulator.REGION
        finally:
            for key, before in saved.items():
                if before is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = before


@pytest.fixture
def world(_backend: tuple[dict[str, str], Any | None, str]) -> Iterator[World]:
    profiles, emu, region = _backend
    if emu is not None:
        emu.reset()  # every account empty; sessions made afterwards (a reset forgets every credential)
    accounts = {n: _account(p, region) for n, p in profiles.items()}
    made = World(accounts["a"], accounts["b"], accounts.get("org"), region, emu)
    try:
        yield made
    finally:
        for step in reversed(made.undo):
            with suppress(Exception):
                step()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A case needs the emulator (or AWS): it is never in the fast tier."""
    for item in items:
        if "world" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.emulator)


def emulator_only(world: World, why: str) -> None:
    """Skip on AWS: what is checked here cannot be provoked there on purpose (`why`)."""
    if world.on_aws:
        pytest.skip(f"emulator only: {why}")


def needs_org(world: World) -> Account:
    if world.org is None:
        pytest.skip(f"{PROFILES_VARIABLE} names no third profile (an organization's management account)")
    return world.org
