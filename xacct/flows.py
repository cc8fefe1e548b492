"""Onboard and remove: read everything, plan, then apply. Every refusal happens before a write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xacct import graph
from xacct import registry as reg
from xacct.answers import Answers
from xacct.central import CentralUpdate
from xacct.errors import AGAIN, AwsFailure, Interrupted, InvalidInput
from xacct.gateway import Gateway
from xacct.plan import TAG_MANAGED, TAG_VALUE, Plan, StackStep, is_pending, pending_key_arn
from xacct.stacks import Poller, Prepared, Progress, Stacks, StackState, remaining_text, require
from xacct.status import Next, decide

CFN_DIR = Path(__file__).resolve().parent.parent / "cfn"
REPLICATION_ROLE_OUTPUT = "ReplicationRoleArn"


def template(name: str) -> str:
    return (CFN_DIR / f"{name}.yaml").read_text()


@dataclass
class Context:
    """Everything a flow talks to; made once per run."""

    answers: Answers
    progress: Progress
    # No one reviews the developer stacks' change sets (--yes): create and update them directly.
    direct: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    build: Gateway = field(init=False)
    dev: Gateway = field(init=False)

    def __post_init__(self) -> None:
        a = self.answers
        self.inflight: dict[str, str] = {}
        self.build = Gateway(a.build_profile, a.build_region or "", "build")
        self.dev = Gateway(a.dev_profile, a.dev_region or "", "developer")
        self.poller = Poller(self.stop)

    def where(self, gw: Gateway) -> str:
        return (f" --profile {gw.profile}" if gw.profile else "") + f" --region {gw.region}"

    def build_stacks(self) -> Stacks:
        return Stacks(self.build.cfn, self.where(self.build), self.poller, label="build", inflight=self.inflight)

    def dev_stacks(self) -> Stacks:
        return Stacks(self.dev.cfn, self.where(self.dev), self.poller, label="dev", inflight=self.inflight)


@dataclass
class Reads:
    central: StackState
    dev: dict[str, StackState]
    dev_current: dict[str, bool]  # stack -> deployed template is ours


def _concurrently(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def read(ctx: Context, *, developer: bool = True) -> Reads:
    """Identities, the central stack and the developer stacks, read at once."""
    a = ctx.answers
    p, d, v = a.stacks()
    central_name = a.central_stack or ""

    def build_side() -> StackState:
        ctx.build.check_account(a.build_account or "")
        return ctx.build_stacks().describe(central_name)

    def dev_stack(name: str) -> Callable[[], tuple[StackState, bool]]:
        def go() -> tuple[StackState, bool]:
            stacks = ctx.dev_stacks()
            state = stacks.describe(name)
            current = state.exists and stacks.template(name).strip() == template(_kind(a, name)).strip()
            return state, current

        return go

    if not developer:
        return Reads(build_side(), {}, {})
    if a.build_account == a.dev_account:
        raise InvalidInput(f"the developer account {a.dev_account} is the build account itself")
    ctx.dev.check_account(a.dev_account or "")
    central, *devs = _concurrently(build_side, *(dev_stack(n) for n in (p, d, v)))
    return Reads(
        central,
        {n: s for n, (s, _) in zip((p, d, v), devs, strict=True)},
        {n: c for n, (_, c) in zip((p, d, v), devs, strict=True)},
    )


def _kind(a: Answers, name: str) -> str:
    p, d, _ = a.stacks()
    return {p: "CrossAccountPrimary", d: "CrossAccountDeploy"}.get(name, "CrossAccountDeveloper")


def check_central(a: Answers, central: StackState, where: str) -> reg.Registry:
    name = central.name
    if not central.exists:
        raise InvalidInput(
            f"no stack {name} in the build account {a.build_account} ({a.build_region})",
            hint="deploy cfn/CrossAccountPrimary.yaml there first, or name the stack with --central-stack",
        )
    decision = decide(central.status, name, where)
    if decision.next in (Next.BLOCKED, Next.RECREATE):
        raise InvalidInput(f"the central stack cannot be updated: {decision.reason}")
    missing = [p for p in reg.PARAMETERS if p not in central.parameters]
    if missing:
        raise InvalidInput(
            f"the central stack {name} has no parameter {', '.join(missing)}; is it a CrossAccountPrimary stack?"
        )
    if REPLICATION_ROLE_OUTPUT not in central.outputs:
        raise InvalidInput(f"the central stack {name} has no output {REPLICATION_ROLE_OUTPUT}")
    return reg.parse(central.parameters)


def _check_dev(states: dict[str, StackState], where: str) -> None:
    for name, state in states.items():
        decision = decide(state.status, name, where)
        if decision.next is Next.BLOCKED:
            raise InvalidInput(f"the developer stack cannot be deployed: {decision.reason}{remaining_text(state)}")


def account_root(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


# ---- onboarding -------------------------------------------------------------------------


def developer_bucket(primary: StackState, account: str, region: str) -> str:
    """The developer's build bucket: as deployed, or by the template's naming rule before it exists."""
    return primary.outputs.get("BuildBucket") or f"xacct-build-{account}-{region}"


def primary_first(current: StackState, build_root: str) -> dict[str, str]:
    """The primary stack until the deployment roles exist: the build account admitted (so the
    developer key admits the central role), the rest as it is."""
    return {
        "RootAccountArns": _merge_roots(current, build_root),
        "DeployReady": current.parameters.get("DeployReady", "false"),
        "PipelineBucketAccessRoleArns": current.parameters.get("PipelineBucketAccessRoleArns", ""),
    }


def primary_ready(current: StackState, build_root: str, deploy: StackState) -> dict[str, str] | None:
    """The primary stack marked deploy-ready, naming the deployment roles (None until they exist)."""
    if not deploy.exists or "PipelineDeployRoleArn" not in deploy.outputs:
        return None
    roles = [deploy.outputs["PipelineDeployRoleArn"], deploy.outputs["CloudFormationExecutionRoleArn"]]
    return {
        "RootAccountArns": _merge_roots(current, build_root),
        "DeployReady": "true",
        "PipelineBucketAccessRoleArns": ",".join(roles),
    }


def deploy_parameters(dev_account: str, primary: StackState) -> dict[str, str] | None:
    """The deployment roles, which read artifacts with the primary stack's key (None until it exists)."""
    cmk = primary.outputs.get("CMK")
    return {"BuildAccount": dev_account, "CMKARNs": cmk} if cmk else None


def developer_parameters(role: str) -> dict[str, str]:
    return {"ReplicationFunctionRoleArn": role}


def _plan(a: Answers, reads: Reads, change: reg.Change, **rest: Any) -> Plan:
    """A plan with what every plan carries: the accounts, the central stack, its values as read."""
    return Plan(
        answers=a,
        build_account=a.build_account or "",
        central_stack=reads.central.name,
        central_before={k: reads.central.parameters[k] for k in reg.PARAMETERS},
        change=change,
        **rest,
    )


def _action(state: StackState, current: bool, wanted: dict[str, str] | None) -> str:
    if not state.exists or decide(state.status, state.name).next is Next.RECREATE:
        return "create"
    if wanted is None or not current or any(state.parameters.get(k) != v for k, v in wanted.items()):
        return "update"
    return "none"


def plan_onboard(a: Answers, reads: Reads, partition: str, where: str = "") -> Plan:
    """The whole onboarding, from what was read. Raises InvalidInput for anything refused."""
    before = check_central(a, reads.central, where)
    _check_dev(reads.dev, where)
    p, d, v = a.stacks()
    role = reads.central.outputs[REPLICATION_ROLE_OUTPUT]
    primary = reads.dev[p]
    build_root = account_root(partition, a.build_account or "")
    ready = primary_ready(primary, build_root, reads.dev[d])
    dev_account, region = a.dev_account or "", a.dev_region or ""
    bucket = developer_bucket(primary, dev_account, region)
    cmk = primary.outputs.get("CMK") or pending_key_arn(partition, region, dev_account)
    entry = (
        reg.Entry.for_bucket(bucket, cmk, partition)
        if not is_pending(cmk)
        else reg.Entry(bucket, reg.star_arn_for(bucket, partition), cmk)
    )
    change = reg.merge(before, entry)
    reg.check_limits(change)
    primary_action = _action(primary, reads.dev_current[p], ready or primary_first(primary, build_root))
    if primary_action == "none" and ready is None:
        primary_action = "update"  # still to be marked deploy-ready once the roles exist
    steps = [
        StackStep(p, primary_action, "then marked deploy-ready" if primary_action == "create" else ""),
        StackStep(d, _action(reads.dev[d], reads.dev_current[d], deploy_parameters(dev_account, primary))),
        StackStep(v, _action(reads.dev[v], reads.dev_current[v], developer_parameters(role))),
    ]
    return _plan(
        a,
        reads,
        change,
        action="onboard",
        dev_account=dev_account,
        bucket=bucket,
        cmk=cmk,
        replication_role=role,
        stacks=steps,
    )


def _tags(a: Answers) -> dict[str, str]:
    return {TAG_MANAGED: TAG_VALUE, "xacct:build-account": a.build_account or ""}


def apply_onboard(ctx: Context, plan: Plan, prepared: dict[str, Prepared] | None = None) -> reg.Change:
    """Run the plan: primary, then deployment roles and developer stack side by side, then the
    deploy-ready update and the central update side by side (three operations deep)."""
    a = ctx.answers
    p, d, v = a.stacks()
    dev = ctx.dev_stacks()
    prepared = prepared or {}
    tags = _tags(a)
    state: dict[str, StackState] = {}
    result: dict[str, reg.Change] = {}

    def deploy(name: str, params: dict[str, str]) -> StackState:
        ready = prepared.pop(name, None)
        if ready is None and ctx.direct:
            return dev.apply_direct(name, template(_kind(a, name)), params, tags, ctx.progress)
        if ready is None:
            ready = dev.prepare(name, template(_kind(a, name)), params, tags, ctx.progress)
        if ready.action == "none":
            ctx.progress.note(f"dev:{name}", "up to date")
            return dev.describe(name)
        return dev.execute(ready, ctx.progress)

    build_root = account_root(ctx.dev.partition, a.build_account or "")

    def primary() -> None:
        state[p] = deploy(p, primary_first(dev.describe(p), build_root))

    def deploy_roles() -> None:
        require(state[p], "CMK", f"check the stack {p}")
        state[d] = deploy(d, deploy_parameters(a.dev_account or "", state[p]) or {})

    def developer() -> None:
        state[v] = deploy(v, developer_parameters(plan.replication_role))

    def deploy_ready() -> None:
        require(state[d], "PipelineDeployRoleArn", f"check the stack {d}")
        state[p] = deploy(p, primary_ready(state[p], build_root, state[d]) or {})

    def central() -> None:
        bucket = require(state[p], "BuildBucket", f"check the stack {p}")
        cmk = require(state[p], "CMK", f"check the stack {p}")
        entry = reg.Entry.for_bucket(bucket, cmk, ctx.build.partition)
        update = CentralUpdate(ctx.build_stacks(), ctx.build.client("ssm"), plan.central_stack, ctx.progress)
        result["change"] = update.run(lambda before: reg.merge(before, entry))

    outcome = graph.run(
        [
            graph.Step(f"developer {p}", primary),
            graph.Step(f"developer {d}", deploy_roles, (f"developer {p}",)),
            graph.Step(f"developer {v}", developer, (f"developer {p}",)),
            graph.Step(f"developer {p} (deploy-ready)", deploy_ready, (f"developer {d}",)),
            graph.Step(f"central {plan.central_stack}", central, (f"developer {v}",)),
        ],
        ctx.stop,
    )
    for leftover in prepared.values():
        dev.discard(leftover)
    _raise_first(outcome)
    return result["change"]


def _merge_roots(state: StackState, root: str) -> str:
    roots = [r.strip() for r in state.parameters.get("RootAccountArns", "").split(",") if r.strip()]
    return ",".join([*roots, root] if root not in roots else roots)


def _raise_first(outcome: graph.Outcome) -> None:
    if not outcome.failed:
        return
    name, exc = next(iter(outcome.failed.items()))
    if isinstance(exc, Interrupted | KeyboardInterrupt):
        raise Interrupted("interrupted") from exc
    done = ", ".join(outcome.done) or "nothing"
    skipped = ", ".join(outcome.skipped) or "nothing"
    state = f"Completed: {done}. Not started: {skipped}."
    if isinstance(exc, AwsFailure | InvalidInput):
        raise type(exc)(f"{name}: {exc.message}. {state}", hint=exc.hint or f"fix the cause, then {AGAIN}") from exc
    raise AwsFailure(f"{name}: {exc}. {state}", hint=f"fix the cause, then {AGAIN}") from exc


def prepare_first(ctx: Context, plan: Plan) -> dict[str, Prepared]:
    """Change sets that can be made before confirming (their inputs exist already), so the
    confirmation can show what CloudFormation will do. Declining discards them."""
    a = ctx.answers
    p, _, v = a.stacks()
    dev = ctx.dev_stacks()
    out: dict[str, Prepared] = {}
    steps = {s.stack: s for s in plan.stacks}
    if steps[p].action != "none" and not dev.describe(p).exists:
        params = primary_first(StackState(p), account_root(ctx.dev.partition, a.build_account or ""))
        out[p] = dev.prepare(p, template("CrossAccountPrimary"), params, _tags(a), ctx.progress)
    elif steps[v].action != "none":
        out[v] = dev.prepare(
            v,
            template("CrossAccountDeveloper"),
            developer_parameters(plan.replication_role),
            _tags(a),
            ctx.progress,
        )
    return out


# ---- removal ----------------------------------------------------------------------------


def plan_remove(a: Answers, reads: Reads, partition: str, purge: bool, where: str = "") -> Plan:
    before = check_central(a, reads.central, where)
    p, d, v = a.stacks()
    primary = reads.dev[p]
    dev_account, region = a.dev_account or "", a.dev_region or ""
    bucket = developer_bucket(primary, dev_account, region)
    cmk = primary.outputs.get("CMK")
    change = reg.remove(before, bucket=bucket)
    if change.kind == "not-registered" and cmk:
        change = reg.remove(before, cmk=cmk)
    stacks = [StackStep(v, "delete" if reads.dev[v].exists else "none")]
    notes = []
    if purge:
        for name in (d, p):
            state = reads.dev[name]
            if state.exists and state.tags.get(TAG_MANAGED) != TAG_VALUE:
                notes.append(f"{name} was not created by this tool, so --purge leaves it")
                stacks.append(StackStep(name, "none", "not created by xacct"))
            else:
                stacks.append(StackStep(name, "delete" if state.exists else "none"))
    else:
        kept = [n for n in (p, d) if reads.dev[n].exists]
        if kept:
            notes.append(f"your own pipeline stacks stay: {', '.join(kept)} (--purge removes them)")
    return _plan(
        a,
        reads,
        change,
        action="remove",
        dev_account=dev_account,
        bucket=bucket,
        cmk=cmk,
        stacks=stacks,
        notes=notes,
        purge=purge,
    )


def plan_orphan(a: Answers, reads: Reads, bucket: str, where: str = "") -> Plan:
    """Take one bucket's entry out of the central lists, touching no developer account (whose
    stacks or credentials may be long gone)."""
    before = check_central(a, reads.central, where)
    change = reg.remove(before, bucket=bucket)
    entry = change.entry
    return _plan(
        a,
        reads,
        change,
        action="remove",
        dev_account=(reg.key_account(entry.cmk) if entry else None) or "?",
        bucket=bucket,
        cmk=entry.cmk if entry else None,
        stacks=[],
        notes=["only the central lists change: no developer account is touched"],
    )


def apply_remove(ctx: Context, plan: Plan, empty_bucket: Callable[[str], bool]) -> reg.Change:
    """Central entry out first (nothing is sent to a bucket that is going away), then the
    developer stack; with purge, the deployment roles and the primary stack."""
    a = ctx.answers
    dev = ctx.dev_stacks()
    update = CentralUpdate(ctx.build_stacks(), ctx.build.client("ssm"), plan.central_stack, ctx.progress)
    bucket, cmk = plan.bucket, plan.cmk

    def compute(before: reg.Registry) -> reg.Change:
        change = reg.remove(before, bucket=bucket)
        if change.kind == "not-registered" and cmk:
            change = reg.remove(before, cmk=cmk)
        return change

    change = update.run(compute)
    for step in plan.stacks:
        if step.action != "delete":
            continue
        if step.stack == a.stacks()[0]:
            state = dev.describe(step.stack)
            build_bucket = state.outputs.get("BuildBucket")
            if build_bucket and not empty_bucket(build_bucket):
                raise InvalidInput(
                    f"the bucket {build_bucket} still holds objects and was not emptied, so {step.stack} stays",
                    hint="empty it yourself, then run the same command again",
                )
        dev.delete(step.stack, ctx.progress)
        if step.stack == a.stacks()[2]:
            restore_build_bucket_policy(ctx, plan)
    return change


def tls_only_policy(bucket: str, partition: str) -> dict[str, Any]:
    """The build bucket's policy as CrossAccountPrimary declares it (BuildBucketPolicy)."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def restore_build_bucket_policy(ctx: Context, plan: Plan) -> None:
    """A bucket has one policy, and CrossAccountDeveloper owned it: deleting that stack deleted
    the policy, TLS-only rule included. Put back what the primary stack declares, so the bucket
    ends as its own stack says it should be."""
    primary = ctx.dev_stacks().describe(ctx.answers.stacks()[0])
    bucket = primary.outputs.get("BuildBucket")
    if not bucket:
        return
    import json

    policy = json.dumps(tls_only_policy(bucket, ctx.dev.partition))
    ctx.dev.client("s3").put_bucket_policy(Bucket=bucket, Policy=policy)
    ctx.progress.note(f"dev:{bucket}", "bucket policy back to the primary stack's TLS-only rule")
