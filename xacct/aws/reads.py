"""A run's connection to AWS (one gateway per account, the shared poller and stop flag), and the
reads every plan starts from: identities, the central stack, the developer stacks, all at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from xacct.aws.gateway import Gateway
from xacct.aws.requests import Poller
from xacct.aws.stacks import Stacks
from xacct.core import seed
from xacct.core.answers import Central, Kind, Onboarding
from xacct.core.planning import Reads, developer_bucket, kind_of, pipeline_bucket
from xacct.core.state import Progress, StackState, declared_exports
from xacct.core.status import Next, decide
from xacct.core.templates import template
from xacct.errors import InvalidInput


@dataclass
class BuildContext:
    """What a build-only command talks to (status, an orphan's removal, breaking the lease)."""

    central: Central
    progress: Progress
    stop: threading.Event = field(default_factory=threading.Event)
    build: Gateway = field(init=False)

    def __post_init__(self) -> None:
        self.inflight: dict[str, str] = {}
        self.finished: dict[str, str] = {}
        self.build = Gateway(self.central.build.profile, self.central.build.region, "build")
        self.poller = Poller(self.stop)
        self.central_poller = Poller(self.stop, priority=True)

    def build_stacks(self) -> Stacks:
        return Stacks(
            self.build.cfn,
            self.central.build.where(),
            self.central_poller,
            label="build",
            inflight=self.inflight,
            finished=self.finished,
            stage=self.build.stage_template,
        )


@dataclass
class Context(BuildContext):
    """What an onboarding, a removal or a verify talks to: both accounts."""

    target: Onboarding = field(kw_only=True)
    # No one reviews the developer stacks' change sets (--yes): create and update them directly.
    direct: bool = field(default=False, kw_only=True)
    # How progress names this account's stacks: "dev", or the account when a run has many.
    dev_label: str = field(default="dev", kw_only=True)
    dev: Gateway = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.dev = Gateway(self.target.dev.profile, self.target.dev.region, "developer")

    def dev_stacks(self) -> Stacks:
        return Stacks(
            self.dev.cfn,
            self.target.dev.where(),
            self.poller,
            label=self.dev_label,
            inflight=self.inflight,
            finished=self.finished,
            stage=self.dev.stage_template,
        )


def _concurrently(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def read_central(ctx: BuildContext) -> Reads:
    """The build side only: the profile reaches the build account; the central stack."""
    ctx.build.check_account(ctx.central.build.account)
    return Reads(ctx.build_stacks().describe(ctx.central.stack))


def read(ctx: Context, *, leftovers: bool = True, central: StackState | None = None) -> Reads:
    """Identities, the central stack and the developer stacks, read at once. `central`: the central
    stack as a batch read it once for all its developers (its lists are long: a hundred reads of
    them were seconds of a batch's time)."""
    target = ctx.target
    if target.build.account == target.dev.account:
        raise InvalidInput(f"the developer account {target.dev.account} is the build account itself")

    def build_side() -> StackState:
        ctx.build.check_account(target.build.account)
        return central if central is not None else ctx.build_stacks().describe(target.central.stack)

    def dev_stack(name: str) -> Callable[[], tuple[StackState, bool, Kind | None, str]]:
        def go() -> tuple[StackState, bool, Kind | None, str]:
            stacks = ctx.dev_stacks()
            state = stacks.describe(name)
            if not state.exists or state.status == "REVIEW_IN_PROGRESS":
                return state, False, None, ""
            deployed = stacks.template(name)
            return state, deployed.strip() == template(target.stacks.kind(name)).strip(), kind_of(deployed), deployed

        return go

    ctx.dev.check_account(target.dev.account)
    names = target.stacks.names
    primary = target.stacks.primary
    central, *devs = _concurrently(build_side, *(dev_stack(n) for n in names))
    states = {n: s for n, (s, _, _, _) in zip(names, devs, strict=True)}
    return Reads(
        central,
        states,
        {n: c for n, (_, c, _, _) in zip(names, devs, strict=True)},
        {n: k for n, (_, _, k, _) in zip(names, devs, strict=True)},
        [*_leftover_buckets(ctx, states[primary]), *_taken_exports(ctx, states[primary])] if leftovers else [],
        {n: t for n, (_, _, _, t) in zip(names, devs, strict=True) if t and seed.kind(t)},
    )


def _taken_exports(ctx: Context, primary: StackState) -> list[InvalidInput]:
    """Export names the primary stack would create that another stack of the account already
    exports: names are unique per account and region, and creating the stack would fail half-way
    (CloudFormation user guide, "Exporting stack output values")."""
    if primary.exists and decide(primary.status, primary.name).next is not Next.RECREATE:
        return []
    wanted = set(declared_exports(template("CrossAccountPrimary")))
    found = []
    for page in ctx.dev.cfn.get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            holder = str(export.get("ExportingStackId", "")).split("/")[1:2] or ["another stack"]
            # The primary's own dead stack (deleted to be created again) frees its names with it.
            if export["Name"] in wanted and holder[0] != primary.name:
                dev = ctx.target.dev
                found.append(
                    InvalidInput(
                        f"the export name {export['Name']} is already taken in {dev.account} ({dev.region}) by the "
                        f"stack {holder[0]}, so {primary.name} cannot be created there",
                        hint=f"aws cloudformation list-exports{dev.where()}",
                    )
                )
    return found


def _leftover_buckets(ctx: Context, primary: StackState) -> list[InvalidInput]:
    """Buckets with the names the primary stack would create, existing without it: kept when an
    earlier stack was deleted (the template retains them), or a name another account holds.
    Either way creating the stack would fail half-way; say so before anything starts."""
    if primary.exists and decide(primary.status, primary.name).next is not Next.RECREATE:
        return []
    dev = ctx.target.dev
    s3 = ctx.dev.s3
    found = []
    for name in (
        developer_bucket(StackState(primary.name), dev.account, dev.region),
        pipeline_bucket(StackState(primary.name), dev.account, dev.region),
    ):
        try:
            s3.head_bucket(Bucket=name, ExpectedBucketOwner=dev.account)
        except bx.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                continue
            found.append(
                InvalidInput(
                    f"the bucket name {name} is held by another account, so {primary.name} cannot be created here"
                )
            )
            continue
        found.append(
            InvalidInput(
                f"the bucket {name} already exists without its stack {primary.name} (kept when an earlier "
                f"{primary.name} was deleted), so creating the stack would fail",
                hint=f"keep what you need from it, then: aws s3 rb s3://{name} --force{dev.where()}",
            )
        )
    return found
