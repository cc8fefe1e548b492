"""`--ou` applied: the OU's stack set made or brought current, the missing instances created and the
failed ones deployed again, each member's bucket and key read through the role its stack gives the
build account, and ONE central change set (the leavers out, the joiners in). `--remove`: the OU's
entries out first (trust ends before the stacks go), then its instances and the stack set."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from xacct.aws import organization, stacksets
from xacct.aws.central import CentralUpdate
from xacct.aws.gateway import Gateway
from xacct.aws.patience import Patience
from xacct.aws.reads import BuildContext
from xacct.commands.verify_all import reader_role
from xacct.core import member_template, ou_plan
from xacct.core import registry as reg
from xacct.core.state import StackState
from xacct.core.templates import template
from xacct.errors import AwsFailure, XacctError

AT_ONCE = 16  # accounts read at a time
REPLICATION_ROLE_OUTPUT = "ReplicationRoleArn"


@dataclass
class Applied:
    change: reg.Change | None = None
    registered: list[str] = field(default_factory=list)  # joined this run
    failed: dict[str, str] = field(default_factory=dict)  # account -> why it is not registered
    lingering: list[str] = field(default_factory=list)  # instances of accounts no longer beneath the OU


@functools.cache
def member_stack() -> str:
    """The member template, from the stock templates the package ships (made once per run)."""
    return member_template.render(
        template("CrossAccountPrimary"), template("CrossAccountDeploy"), template("CrossAccountDeveloper")
    )


def parameters(bctx: BuildContext, central: StackState) -> dict[str, str]:
    role = central.outputs.get(REPLICATION_ROLE_OUTPUT)
    if not role:
        raise AwsFailure(f"the central stack {central.name} has no {REPLICATION_ROLE_OUTPUT} output to grant")
    return {
        "RootAccountArns": f"arn:{bctx.build.partition}:iam::{bctx.central.build.account}:root",
        "ReplicationWriterRoleArn": role,
        "PipelineBucketAccessRoleArns": "",
    }


@dataclass
class Job:
    """One `--ou` run's plan and what it talks to."""

    plan: ou_plan.OuPlan
    view: organization.OrgView
    bctx: BuildContext
    org_gw: Gateway
    said: Callable[[str], None]
    preferences: dict[str, Any]

    def stack_set(self) -> stacksets.StackSet:
        return stacksets.StackSet(
            self.org_gw.cfn, ou_plan.stack_set_name(self.plan.ou), self.view.call_as, self.plan.region,
            preferences=self.preferences, said=self.said,
        )  # fmt: skip

    def central_update(self) -> CentralUpdate:
        b = self.bctx
        return CentralUpdate(b.build_stacks(), b.build.ssm, b.central.stack, b.progress)


def apply(job: Job, central: StackState) -> Applied:
    plan, bctx = job.plan, job.bctx
    done = Applied()
    ss = job.stack_set()
    update = job.central_update()
    try:
        ss.ensure(member_stack(), parameters(bctx, central), f"xacct: the developer accounts of OU {plan.ou}")
        if plan.create:
            ss.settle()  # automatic deployment may be placing accounts that just joined: read what it placed
            placed = ss.instances()
            missing = [a for a in plan.create if a not in placed]
            if missing:
                _failures(done, ss.create(plan.ou))
            again = [a for a in plan.create if a not in missing and _detailed(placed[a]) != "SUCCEEDED"]
            if again:
                _failures(done, ss.redeploy(plan.ou, again))
    except bx.ClientError as exc:
        stacksets.raise_if_refused(exc, ss.name)
    instances = ss.instances()
    good = [a for a in plan.members if _detailed(instances.get(a, {})) == "SUCCEEDED"]
    for account in plan.members:
        if account not in good and account not in done.failed:
            done.failed[account] = "its stack instance did not succeed"
    waiting = Patience(job.said)  # the reader roles StackSets just made take effect eventually
    entries = read_entries(bctx, plan.region, {a: str(instances[a]["StackId"]) for a in good}, done, waiting)
    joining = [entries[a] for a in plan.members if a in entries and a in plan.joining]
    changed = [entries[a] for a in plan.staying if a in entries]  # a key that changed is updated in place
    done.change = update.run(lambda now: ou_plan.change(now, plan.leaving, [*changed, *joining], plan.region))
    done.registered = [a for a in plan.joining if a in entries]
    done.lingering = [a for a in plan.remove if a in instances]
    return done


def _detailed(instance: dict[str, Any]) -> str:
    return str((instance.get("StackInstanceStatus") or {}).get("DetailedStatus", ""))


def remove(job: Job) -> Applied:
    plan = job.plan
    done = Applied()
    done.change = job.central_update().run(lambda now: ou_plan.change(now, plan.leaving, [], plan.region))
    ss = job.stack_set()
    try:
        if ss.describe() is None:
            return done
        if ss.instances():
            _failures(done, ss.delete(plan.ou))
        left = ss.instances()
        done.lingering = sorted(left)
        if not left:
            ss.delete_set()
    except bx.ClientError as exc:
        stacksets.raise_if_refused(exc, ss.name)
    return done


def _failures(done: Applied, outcome: stacksets.Outcome) -> None:
    for account, reason in outcome.failed:
        done.failed[account] = reason


def read_entries(
    bctx: BuildContext, region: str, stacks: dict[str, str], done: Applied, waiting: Patience | None = None
) -> dict[str, reg.Entry]:
    """Each account's bucket and key, from its stack's outputs, read through the role the stack
    gives the build account (xacct-verify-BUILD-REGION): no developer profile is needed. A role just
    made is assumed again while IAM refuses it (`waiting`)."""
    build = bctx.central.build.account
    patience = waiting or Patience(lambda _: None, seconds=0)

    def one(account: str) -> tuple[str, reg.Entry | str]:
        role = reader_role(bctx.build.partition, account, build, region)
        try:
            assume = bctx.build.sts.assume_role
            creds = patience.call(
                lambda: assume(RoleArn=role, RoleSessionName="xacct-ou", DurationSeconds=900), f"assuming {role}"
            )
            reader = Gateway.assumed(creds["Credentials"], region, f"account {account}")
            stack = reader.cfn.describe_stacks(StackName=stacks[account])["Stacks"][0]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            return account, reg.Entry.for_bucket(outputs["BuildBucket"], outputs["CMK"], bctx.build.partition)
        except (bx.ClientError, KeyError, XacctError) as exc:
            why = exc.message if isinstance(exc, XacctError) else str(exc)
            return account, f"its bucket and key could not be read through {role}: {why}"

    with ThreadPoolExecutor(max_workers=max(1, min(AT_ONCE, len(stacks)))) as pool:
        found = dict(pool.map(one, stacks))
    for account, value in found.items():
        if isinstance(value, str):
            done.failed[account] = value
    return {a: v for a, v in found.items() if isinstance(v, reg.Entry)}
