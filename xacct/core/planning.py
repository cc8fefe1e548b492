"""Onboarding and removal as plans, computed from what was read. Pure: hand it Reads (built by
xacct/aws/reads.py, or by hand in a test) and it returns a Plan or refuses with InvalidInput, before
anything is written. The rules for names and parameters live here, each in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xacct.core import capacity, seed, seed_account
from xacct.core import registry as reg
from xacct.core.answers import Central, Kind, Onboarding
from xacct.core.plan import TAG_MANAGED, TAG_VALUE, Plan, StackStep, is_pending, pending_key_arn
from xacct.core.state import Action, StackState, declared_resources, remaining_text
from xacct.core.status import Next, decide
from xacct.errors import InvalidInput

REPLICATION_ROLE_OUTPUT = "ReplicationRoleArn"
# Resources only one of the three templates has, in every version of it.
SIGNATURES: dict[Kind, tuple[str, ...]] = {
    "CrossAccountPrimary": ("ArtifactKey", "ReplicationTargets"),
    "CrossAccountDeploy": ("PipelineDeployRole",),
    "CrossAccountDeveloper": ("ReplicationPathReader", "DeveloperBuildBucketPolicy"),
}


@dataclass
class Reads:
    """What a plan is computed from: the central stack and the developer stacks, as read."""

    central: StackState
    dev: dict[str, StackState] = field(default_factory=dict)
    dev_current: dict[str, bool] = field(default_factory=dict)  # stack -> deployed template is ours, exactly
    dev_kinds: dict[str, Kind | None] = field(default_factory=dict)  # stack -> which template it holds
    leftovers: list[InvalidInput] = field(default_factory=list)  # what would make creating the primary fail
    seed_templates: dict[str, str] = field(default_factory=dict)  # stack -> the seed project's template it holds


# ---- names and parameters ---------------------------------------------------------------------


def account_root(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


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
        "RootAccountArns": merge_roots(current, build_root),
        "ReplicationWriterRoleArn": writer,
        "PipelineBucketAccessRoleArns": foreign_roles(current, dev_account),
    }


def foreign_roles(state: StackState, account: str) -> str:
    roles = [r.strip() for r in state.parameters.get("PipelineBucketAccessRoleArns", "").split(",") if r.strip()]
    return ",".join(r for r in roles if r.split(":")[4:5] != [account])


def merge_roots(state: StackState, root: str) -> str:
    roots = [r.strip() for r in state.parameters.get("RootAccountArns", "").split(",") if r.strip()]
    return ",".join([*roots, root] if root not in roots else roots)


def deploy_parameters(dev_account: str, primary: StackState) -> dict[str, str] | None:
    """The deployment roles, which read artifacts with the primary stack's key (None until it exists)."""
    cmk = primary.outputs.get("CMK")
    return {"BuildAccount": dev_account, "CMKARNs": cmk} if cmk else None


def withdrawal_parameters(
    primary: StackState, dev_account: str, build_root: str, *, seed_template: bool = False
) -> dict[str, str]:
    """The developer's primary stack once the build account is no longer trusted: the central
    replication role may not write into the bucket, and the build account may not use the key
    (trust does not outlive the registration). The key policy names at least the account itself.
    A stack that keeps the seed's template changes RootAccountArns only: its bucket policy names
    the account's own deployment roles, which the reader's pipelines use."""
    roots = [r.strip() for r in primary.parameters.get("RootAccountArns", "").split(",") if r.strip()]
    kept = [r for r in roots if r != build_root] or [build_root.rsplit(":", 2)[0] + f":{dev_account}:root"]
    if seed_template:
        return {"RootAccountArns": ",".join(kept)}
    return {
        "RootAccountArns": ",".join(kept),
        "ReplicationWriterRoleArn": "",
        "PipelineBucketAccessRoleArns": foreign_roles(primary, dev_account),
        # Without a writer the stack would look like the build account's, and grow its alarms.
        "AccountKind": "developer",
    }


def trusts_build(primary: StackState, build_root: str) -> bool:
    """Whether the developer's primary stack still admits the build account (bucket or key)."""
    roots = [r.strip() for r in primary.parameters.get("RootAccountArns", "").split(",")]
    return bool(primary.parameters.get("ReplicationWriterRoleArn")) or build_root in roots


def developer_parameters(role: str) -> dict[str, str]:
    return {"ReplicationFunctionRoleArn": role}


def tags(central: Central) -> dict[str, str]:
    """What marks a stack as this tool's (only what it created may be purged)."""
    return {TAG_MANAGED: TAG_VALUE, "xacct:build-account": central.build.account}


def kind_of(deployed: str) -> Kind | None:
    """Which of the three templates a deployed template is (None: none of them)."""
    resources = declared_resources(deployed)
    for kind, signature in SIGNATURES.items():
        if any(s in resources for s in signature):
            return kind
    return None


# ---- checks -----------------------------------------------------------------------------------


def check_central(central: Central, state: StackState) -> reg.Registry:
    name = state.name
    if not state.exists:
        raise InvalidInput(
            f"no stack {name} in the build account {central.build.account} ({central.build.region})",
            hint="deploy cfn/CrossAccountPrimary.yaml there first, or name the stack with --central-stack",
        )
    decision = decide(state.status, name, central.build.where())
    if decision.next in (Next.BLOCKED, Next.RECREATE):
        raise InvalidInput(f"the central stack cannot be updated: {decision.reason}")
    missing = [p for p in reg.PARAMETERS if p not in state.parameters]
    if missing:
        raise InvalidInput(
            f"the central stack {name} has no parameter {', '.join(missing)}; is it a CrossAccountPrimary stack?"
        )
    if REPLICATION_ROLE_OUTPUT not in state.outputs:
        raise InvalidInput(f"the central stack {name} has no output {REPLICATION_ROLE_OUTPUT}")
    return reg.parse(state.parameters, reg.partition_of(state.stack_id))


def check_kinds(target: Onboarding, reads: Reads) -> None:
    """Refuse to touch a stack that holds another template than the one we would deploy there (or
    delete): --dev-stacks in another order must never send the primary template to the developer
    stack, nor remove the primary in the developer stack's place."""
    for name, state in reads.dev.items():
        held, wanted = reads.dev_kinds.get(name), target.stacks.kind(name)
        if name in reads.seed_templates and seed.kind(reads.seed_templates[name]) == wanted:
            continue  # the seed project's template of that stack: seed_account.py says what becomes of it
        if state.exists and state.status != "REVIEW_IN_PROGRESS" and held != wanted:  # an empty shell holds nothing
            what = f"a {held} template" if held else "a template of another kind"
            raise InvalidInput(
                f"the stack {name} in the developer account holds {what}, but --dev-stacks names it as the "
                f"{wanted} stack; nothing was changed",
                hint="name the stacks in the order primary, deploy, developer (--dev-stacks P,D,V)",
            )


def _check_deployable(target: Onboarding, reads: Reads) -> None:
    for name, state in reads.dev.items():
        decision = decide(state.status, name, target.dev.where())
        if decision.next is Next.BLOCKED:
            raise InvalidInput(f"the developer stack cannot be deployed: {decision.reason}{remaining_text(state)}")
    check_kinds(target, reads)
    for problem in reads.leftovers:
        raise problem


def action(state: StackState, current: bool, wanted: dict[str, str] | None) -> Action:
    if not state.exists or decide(state.status, state.name).next is Next.RECREATE:
        return "create"
    if wanted is None or not current or any(state.parameters.get(k) != v for k, v in wanted.items()):
        return "update"
    return "none"


def _plan(target: Central | Onboarding, reads: Reads, change: reg.Change, **rest: Any) -> Plan:
    """A plan with what every plan carries: the accounts, the central stack, its values as read."""
    central = target.central if isinstance(target, Onboarding) else target
    return Plan(
        build_account=central.build.account,
        build_region=central.build.region,
        dev_region=target.dev.region if isinstance(target, Onboarding) else "",
        central_stack=reads.central.name,
        central_before={k: v for k, v in reads.central.parameters.items() if k in reg.PARAMETERS + reg.OVERFLOW},
        change=change,
        **rest,
    )


# ---- plans ------------------------------------------------------------------------------------


def plan_onboard(target: Onboarding, reads: Reads, partition: str) -> Plan:
    """The whole onboarding, from what was read. Raises InvalidInput for anything refused."""
    before = check_central(target.central, reads.central)
    _check_deployable(target, reads)
    s = target.stacks
    role = reads.central.outputs[REPLICATION_ROLE_OUTPUT]
    primary = reads.dev[s.primary]
    build_root = account_root(partition, target.build.account)
    bucket = developer_bucket(primary, target.dev.account, target.dev.region)
    cmk = primary.outputs.get("CMK") or pending_key_arn(partition, target.dev.region, target.dev.account)
    entry = (
        reg.Entry.for_bucket(bucket, cmk, partition)
        if not is_pending(cmk)
        else reg.Entry(bucket, reg.star_arn_for(bucket, partition), cmk)
    )
    change = reg.merge(before, entry)
    capacity.check_limits(change)
    wanted = primary_parameters(primary, build_root, role, target.dev.account)
    found = seed_account.plan(
        {s.kind(n): n for n in s.names},
        reads.seed_templates,
        {**primary.parameters, **wanted},
        primary.outputs,
        {
            "AWS::AccountId": target.dev.account,
            "AWS::Region": target.dev.region,
            "AWS::Partition": partition,
            "AWS::StackName": s.primary,
            "AWS::URLSuffix": "amazonaws.com",
        },
    )
    steps = [
        StackStep(s.primary, action(primary, reads.dev_current[s.primary], wanted)),
        StackStep(
            s.deploy,
            action(reads.dev[s.deploy], reads.dev_current[s.deploy], deploy_parameters(target.dev.account, primary)),
        ),
        StackStep(
            s.developer,
            action(reads.dev[s.developer], reads.dev_current[s.developer], developer_parameters(role)),
        ),
    ]
    return _plan(
        target,
        reads,
        change,
        action="onboard",
        dev_account=target.dev.account,
        bucket=bucket,
        cmk=cmk,
        replication_role=role,
        stacks=[found.steps.get(step.stack, step) for step in steps],
        notes=list(found.notes),
        adopted=found.adoption,
        seed_stacks=list(reads.seed_templates),
    )


def removal_change(before: reg.Registry, bucket: str, cmk: str | None) -> reg.Change:
    """This developer out of the lists: matched by bucket, or by key when the bucket is unknown."""
    change = reg.remove(before, bucket=bucket)
    if change.kind == "not-registered" and cmk:
        change = reg.remove(before, cmk=cmk)
    return change


def plan_remove(target: Onboarding, reads: Reads, partition: str, purge: bool) -> Plan:
    before = check_central(target.central, reads.central)
    check_kinds(target, reads)
    s = target.stacks
    primary = reads.dev[s.primary]
    bucket = developer_bucket(primary, target.dev.account, target.dev.region)
    cmk = primary.outputs.get("CMK")
    change = removal_change(before, bucket, cmk)
    stacks = [StackStep(s.developer, "delete" if reads.dev[s.developer].exists else "none")]
    notes = []
    deleting_primary = False
    if purge:
        for name in (s.deploy, s.primary):
            state = reads.dev[name]
            if state.exists and state.tags.get(TAG_MANAGED) != TAG_VALUE:
                notes.append(f"{name} was not created by this tool, so --purge leaves it")
                stacks.append(StackStep(name, "none", "not created by xacct"))
            else:
                stacks.append(StackStep(name, "delete" if state.exists else "none"))
                deleting_primary = deleting_primary or (name == s.primary and state.exists)
    else:
        kept = [n for n in (s.primary, s.deploy) if reads.dev[n].exists]
        if kept:
            notes.append(f"your own pipeline stacks stay: {', '.join(kept)} (--purge removes them)")
    build_root = account_root(partition, target.central.build.account)
    if not deleting_primary and primary.exists and trusts_build(primary, build_root):
        stacks.insert(1, StackStep(s.primary, "update", "its bucket and key no longer admit the build account"))
    if deleting_primary:
        notes.append(
            f"the buckets {bucket} and {pipeline_bucket(primary, target.dev.account, target.dev.region)} are "
            "deleted and the artifact key is scheduled for deletion in 7 days (aws kms cancel-key-deletion "
            "undoes that)"
        )
    return _plan(
        target,
        reads,
        change,
        action="remove",
        dev_account=target.dev.account,
        bucket=bucket,
        cmk=cmk,
        stacks=stacks,
        notes=notes,
        purge=purge,
        seed_stacks=list(reads.seed_templates),
        kept_templates=dict(reads.seed_templates),
    )


def plan_orphan(central: Central, reads: Reads, bucket: str) -> Plan:
    """Take one bucket's entry out of the central lists, touching no developer account (whose
    stacks or credentials may be long gone)."""
    why = reg.bucket_problem(bucket)
    if why:
        raise InvalidInput(f"--orphan {bucket!r} is not a bucket name: {why}")
    before = check_central(central, reads.central)
    change = reg.remove(before, bucket=bucket)
    entry = change.entry
    if entry is None:
        import difflib

        near = difflib.get_close_matches(bucket, before.buckets, n=3, cutoff=0.8)
        registered = f"{len(before.buckets)} bucket{'s' if len(before.buckets) != 1 else ''} registered"
        if near:
            hint = f"did you mean {' or '.join(near)}?"
        elif 0 < len(before.buckets) <= 5:
            hint = f"the registered ones: {', '.join(before.buckets)}"
        else:
            hint = "--status lists every registered developer"
        raise InvalidInput(
            f"--orphan {bucket}: no such bucket in {central.stack}'s lists ({registered}); nothing to remove",
            hint=hint,
        )
    return _plan(
        central,
        reads,
        change,
        action="remove",
        dev_account=(reg.key_account(entry.cmk) if entry else None) or "?",
        bucket=bucket,
        cmk=entry.cmk if entry else None,
        stacks=[],
        notes=["only the central lists change: no developer account is touched"],
    )


def deleted(plan: Plan) -> set[str]:
    return {s.stack for s in plan.stacks if s.action == "delete"}
