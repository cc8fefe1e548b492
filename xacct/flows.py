"""Onboard and remove: read everything, plan, then apply. Every refusal happens before a write."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions as bx

from xacct import buckets, graph
from xacct import registry as reg
from xacct.answers import Answers
from xacct.central import CentralUpdate
from xacct.errors import AGAIN, AwsFailure, Interrupted, InvalidInput
from xacct.gateway import Gateway
from xacct.plan import TAG_MANAGED, TAG_VALUE, BucketContents, Plan, StackStep, is_pending, pending_key_arn
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
    leftovers: list[InvalidInput] = field(default_factory=list)  # what would make creating the primary fail
    dev_kinds: dict[str, str | None] = field(default_factory=dict)  # stack -> which template it holds


def _concurrently(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def read(ctx: Context, *, developer: bool = True, developer_leftovers: bool = True) -> Reads:
    """Identities, the central stack and the developer stacks, read at once."""
    a = ctx.answers
    p, d, v = a.stacks()
    central_name = a.central_stack or ""

    def build_side() -> StackState:
        ctx.build.check_account(a.build_account or "")
        return ctx.build_stacks().describe(central_name)

    def dev_stack(name: str) -> Callable[[], tuple[StackState, bool, str | None]]:
        def go() -> tuple[StackState, bool, str | None]:
            stacks = ctx.dev_stacks()
            state = stacks.describe(name)
            if not state.exists or state.status == "REVIEW_IN_PROGRESS":
                return state, False, None
            deployed = stacks.template(name)
            return state, deployed.strip() == template(_kind(a, name)).strip(), kind_of(deployed)

        return go

    if not developer:
        return Reads(build_side(), {}, {})
    if a.build_account == a.dev_account:
        raise InvalidInput(f"the developer account {a.dev_account} is the build account itself")
    ctx.dev.check_account(a.dev_account or "")
    central, *devs = _concurrently(build_side, *(dev_stack(n) for n in (p, d, v)))
    states = {n: s for n, (s, _, _) in zip((p, d, v), devs, strict=True)}
    return Reads(
        central,
        states,
        {n: c for n, (_, c, _) in zip((p, d, v), devs, strict=True)},
        _leftover_buckets(ctx, states[p]) if developer_leftovers else [],
        {n: k for n, (_, _, k) in zip((p, d, v), devs, strict=True)},
    )


# Resources only one of the three templates has, in every version of it.
_SIGNATURES = {
    "CrossAccountPrimary": "ArtifactKey",
    "CrossAccountDeploy": "PipelineDeployRole",
    "CrossAccountDeveloper": ("ReplicationPathReader", "DeveloperBuildBucketPolicy"),
}


def kind_of(deployed: str) -> str | None:
    """Which of the three templates a deployed template is (None: none of them)."""
    from xacct.stacks import declared_resources

    resources = declared_resources(deployed)
    for kind, signature in _SIGNATURES.items():
        if any(s in resources for s in ([signature] if isinstance(signature, str) else signature)):
            return kind
    return None


def _leftover_buckets(ctx: Context, primary: StackState) -> list[InvalidInput]:
    """Buckets with the names the primary stack would create, existing without it: kept when an
    earlier stack was deleted (the template retains them), or a name another account holds.
    Either way creating the stack would fail half-way; say so before anything starts."""
    if primary.exists and decide(primary.status, primary.name).next is not Next.RECREATE:
        return []
    a = ctx.answers
    s3 = ctx.dev.client("s3")
    found = []
    for name in (
        developer_bucket(StackState(primary.name), a.dev_account or "", a.dev_region or ""),
        pipeline_bucket(StackState(primary.name), a.dev_account or "", a.dev_region or ""),
    ):
        try:
            s3.head_bucket(Bucket=name, ExpectedBucketOwner=a.dev_account or "")
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
        where = ctx.where(ctx.dev)
        found.append(
            InvalidInput(
                f"the bucket {name} already exists without its stack {primary.name} (kept when an earlier "
                f"{primary.name} was deleted), so creating the stack would fail",
                hint=f"keep what you need from it, then: aws s3 rb s3://{name} --force{where}",
            )
        )
    return found


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


def _check_dev(a: Answers, reads: Reads, where: str) -> None:
    for name, state in reads.dev.items():
        decision = decide(state.status, name, where)
        if decision.next is Next.BLOCKED:
            raise InvalidInput(f"the developer stack cannot be deployed: {decision.reason}{remaining_text(state)}")
    check_kinds(a, reads)


def check_kinds(a: Answers, reads: Reads) -> None:
    """Refuse to touch a stack that holds another template than the one we would deploy there (or
    delete): --dev-stacks in another order must never send the primary template to the developer
    stack, nor remove the primary in the developer stack's place."""
    for name, state in reads.dev.items():
        held, wanted = reads.dev_kinds.get(name), _kind(a, name)
        if state.exists and state.status != "REVIEW_IN_PROGRESS" and held != wanted:  # an empty shell holds nothing
            what = f"a {held} template" if held else "a template of another kind"
            raise InvalidInput(
                f"the stack {name} in the developer account holds {what}, but --dev-stacks names it as the "
                f"{wanted} stack; nothing was changed",
                hint="name the stacks in the order primary, deploy, developer (--dev-stacks P,D,V)",
            )


def account_root(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


# ---- onboarding -------------------------------------------------------------------------


def developer_bucket(primary: StackState, account: str, region: str) -> str:
    """The developer's build bucket: as deployed, or by the template's naming rule before it exists."""
    return primary.outputs.get("BuildBucket") or f"xacct-build-{account}-{region}"


def pipeline_bucket(primary: StackState, account: str, region: str) -> str:
    return primary.outputs.get("PipelineBucket") or f"xacct-pipeline-{account}-{region}"


def primary_parameters(current: StackState, build_root: str, writer: str, dev_account: str) -> dict[str, str]:
    """The developer's primary stack: the build account admitted to the key, and the central
    replication role admitted to the build bucket (both through the account root, so neither
    needs to exist first). Deployment roles of the developer account itself are no longer named:
    an earlier version named them, and a same-account role needs no bucket-policy grant."""
    return {
        "RootAccountArns": _merge_roots(current, build_root),
        "ReplicationWriterRoleArn": writer,
        "PipelineBucketAccessRoleArns": _foreign_roles(current, dev_account),
    }


def _foreign_roles(state: StackState, account: str) -> str:
    roles = [r.strip() for r in state.parameters.get("PipelineBucketAccessRoleArns", "").split(",") if r.strip()]
    return ",".join(r for r in roles if r.split(":")[4:5] != [account])


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
    _check_dev(a, reads, where)
    for problem in reads.leftovers:
        raise InvalidInput(problem.message, hint=problem.hint)
    p, d, v = a.stacks()
    role = reads.central.outputs[REPLICATION_ROLE_OUTPUT]
    primary = reads.dev[p]
    build_root = account_root(partition, a.build_account or "")
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
    steps = [
        StackStep(
            p, _action(primary, reads.dev_current[p], primary_parameters(primary, build_root, role, dev_account))
        ),
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


def _deployer(ctx: Context, prepared: dict[str, Prepared]) -> Callable[[str, dict[str, str]], StackState]:
    """Deploy one developer stack: its prepared change set, directly (--yes), or a new change set."""
    a = ctx.answers
    dev = ctx.dev_stacks()
    tags = _tags(a)

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

    return deploy


def apply_onboard(ctx: Context, plan: Plan, prepared: dict[str, Prepared] | None = None) -> reg.Change:
    """Run the plan two operations deep: the developer's primary stack; then the deployment roles,
    the developer stack and the central update side by side."""
    a = ctx.answers
    p, d, v = a.stacks()
    dev = ctx.dev_stacks()
    prepared = prepared or {}
    deploy = _deployer(ctx, prepared)
    state: dict[str, StackState] = {}
    result: dict[str, reg.Change] = {}
    build_root = account_root(ctx.dev.partition, a.build_account or "")

    def primary() -> None:
        current = dev.describe(p)
        state[p] = deploy(p, primary_parameters(current, build_root, plan.replication_role, a.dev_account or ""))

    def deploy_roles() -> None:
        require(state[p], "CMK", f"check the stack {p}")
        state[d] = deploy(d, deploy_parameters(a.dev_account or "", state[p]) or {})

    def developer() -> None:
        state[v] = deploy(v, developer_parameters(plan.replication_role))

    def central() -> None:
        bucket = require(state[p], "BuildBucket", f"check the stack {p}")
        cmk = require(state[p], "CMK", f"check the stack {p}")
        entry = reg.Entry.for_bucket(bucket, cmk, ctx.build.partition)
        update = CentralUpdate(ctx.build_stacks(), ctx.build.client("ssm"), plan.central_stack, ctx.progress)
        result["change"] = update.run(lambda before: reg.merge(before, entry))

    first = f"developer {p}"
    outcome = graph.run(
        [
            graph.Step(first, primary),
            graph.Step(f"developer {d}", deploy_roles, (first,)),
            graph.Step(f"developer {v}", developer, (first,)),
            graph.Step(f"central {plan.central_stack}", central, (first,)),
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
    if steps[p].action != "none":
        current = dev.describe(p)
        params = primary_parameters(
            current, account_root(ctx.dev.partition, a.build_account or ""), plan.replication_role, plan.dev_account
        )
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
    check_kinds(a, reads)
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
    deleting_primary = False
    if purge:
        for name in (d, p):
            state = reads.dev[name]
            if state.exists and state.tags.get(TAG_MANAGED) != TAG_VALUE:
                notes.append(f"{name} was not created by this tool, so --purge leaves it")
                stacks.append(StackStep(name, "none", "not created by xacct"))
            else:
                stacks.append(StackStep(name, "delete" if state.exists else "none"))
                deleting_primary = deleting_primary or (name == p and state.exists)
    else:
        kept = [n for n in (p, d) if reads.dev[n].exists]
        if kept:
            notes.append(f"your own pipeline stacks stay: {', '.join(kept)} (--purge removes them)")
    if not deleting_primary and primary.exists and primary.parameters.get("ReplicationWriterRoleArn"):
        stacks.insert(1, StackStep(p, "update", "its build bucket no longer admits the central role"))
    if deleting_primary:
        notes.append(
            f"the buckets {bucket} and {pipeline_bucket(primary, dev_account, region)} are deleted and the "
            "artifact key is scheduled for deletion in 7 days (aws kms cancel-key-deletion undoes that)"
        )
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
    why = reg.bucket_problem(bucket)
    if why:
        raise InvalidInput(f"--orphan {bucket!r} is not a bucket name: {why}")
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


def _deleted(plan: Plan) -> set[str]:
    return {s.stack for s in plan.stacks if s.action == "delete"}


def check_purge(ctx: Context, plan: Plan, reads: Reads) -> list[BucketContents]:
    """Everything that would stop a purge half-way, found before any write: another stack that
    imports an export of a stack to be deleted, or that CloudFormation runs with a deployment role
    to be deleted. Returns the buckets to be emptied, with what they hold."""
    p, d, _ = ctx.answers.stacks()
    going = _deleted(plan)
    dev = ctx.dev_stacks()
    for name in sorted(going):
        for export, users in dev.importers(reads.dev[name]).items():
            others = [u for u in users if u not in going]
            if others:
                raise InvalidInput(
                    f"{name} cannot be deleted: its export {export} is imported by {', '.join(others)}",
                    hint=f"delete or change {others[0]} first, then run the same command again",
                )
    if d in going:
        roles = {reads.dev[d].outputs.get(k) for k in ("PipelineDeployRoleArn", "CloudFormationExecutionRoleArn")}
        users = [name for name, role in dev.service_roles().items() if role in roles and name not in going]
        if users:
            raise InvalidInput(
                f"{d} cannot be deleted: CloudFormation runs {', '.join(users)} with its deployment role",
                hint=f"delete {users[0]} first (or give it another role), then run the same command again",
            )
    if p not in going:
        return []
    s3 = ctx.dev.client("s3")
    primary = reads.dev[p]
    a = ctx.answers
    names = (
        developer_bucket(primary, a.dev_account or "", a.dev_region or ""),
        pipeline_bucket(primary, a.dev_account or "", a.dev_region or ""),
    )
    return [c for c in (buckets.contents(s3, n) for n in names) if c is not None]


def apply_remove(ctx: Context, plan: Plan) -> reg.Change:
    """Central entry out first (nothing is sent to a bucket that is going away); then the
    developer stack goes and the build bucket's grant is withdrawn, side by side; with purge, the
    deployment roles go too, then the primary stack, its buckets and its key."""
    a = ctx.answers
    p, d, v = a.stacks()
    dev = ctx.dev_stacks()
    bucket, cmk = plan.bucket, plan.cmk
    result: dict[str, reg.Change] = {}
    actions = {s.stack: s.action for s in plan.stacks}

    def compute(before: reg.Registry) -> reg.Change:
        change = reg.remove(before, bucket=bucket)
        if change.kind == "not-registered" and cmk:
            change = reg.remove(before, cmk=cmk)
        return change

    def central() -> None:
        update = CentralUpdate(ctx.build_stacks(), ctx.build.client("ssm"), plan.central_stack, ctx.progress)
        result["change"] = update.run(compute)

    def withdraw_grant() -> None:
        current = dev.describe(p)
        params = {
            "ReplicationWriterRoleArn": "",
            "PipelineBucketAccessRoleArns": _foreign_roles(current, a.dev_account or ""),
        }
        _deployer(ctx, {})(p, params)

    def purge_primary() -> None:
        state = dev.describe(p)
        names = [state.outputs.get("BuildBucket"), state.outputs.get("PipelineBucket")]
        key = state.outputs.get("CMK")
        s3 = ctx.dev.client("s3")
        for name in filter(None, names):
            buckets.empty(s3, name, ctx.progress)
        dev.delete(p, ctx.progress)
        # The buckets and the key are retained by the stack (DeletionPolicy): purge deletes them itself.
        for name in filter(None, names):
            buckets.delete(s3, name, ctx.progress)
        if key:
            ctx.dev.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
            ctx.progress.note(f"dev:{p}", f"key {key} scheduled for deletion in 7 days")

    steps = [graph.Step("central", central)]
    if actions.get(v) == "delete":
        steps.append(graph.Step(f"developer {v}", lambda: dev.delete(v, ctx.progress), ("central",)))
    if actions.get(p) == "update":
        steps.append(graph.Step(f"developer {p}", withdraw_grant, ("central",)))
    if actions.get(d) == "delete":
        steps.append(graph.Step(f"developer {d}", lambda: dev.delete(d, ctx.progress), ("central",)))
    if actions.get(p) == "delete":
        # After the stacks that import its exports (and whatever else goes) are gone.
        after = tuple(s.name for s in steps if s.name != "central") or ("central",)
        steps.append(graph.Step(f"developer {p}", purge_primary, after))
    _raise_first(graph.run(steps, ctx.stop))
    return result["change"]
