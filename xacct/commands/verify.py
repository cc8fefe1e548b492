"""`--verify`: whether one developer's replication path holds, link by link, each broken link with
its fix; orphan entries of the central lists with the command that removes each."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import botocore.exceptions as bx

from xacct.aws import deliveries
from xacct.aws.patience import Patience
from xacct.aws.reads import Context
from xacct.commands import common
from xacct.core import limits, policies
from xacct.core import registry as reg
from xacct.core.answers import Onboarding
from xacct.core.links import Link
from xacct.core.planning import REPLICATION_ROLE_OUTPUT, account_root, check_central, developer_bucket
from xacct.core.request import Request
from xacct.core.state import StackState
from xacct.core.status import STABLE
from xacct.errors import ExitCode
from xacct.terminal import reports
from xacct.terminal.output import Output
from xacct.terminal.progress import LineProgress


def _artifact_arn(bucket: str, partition: str) -> str:
    """An object of the bucket, as a grant on BUCKET/* must cover it."""
    return f"arn:{partition}:s3:::{bucket}/artifact.zip"


def role_documents(iam: Any, role: str) -> list[Any]:
    """The replication role's managed policy documents, as IAM holds them."""
    documents: list[Any] = []
    for attached in iam.list_attached_role_policies(RoleName=role.rsplit("/", 1)[1])["AttachedPolicies"]:
        pol = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=pol["DefaultVersionId"])
        documents.append(version["PolicyVersion"]["Document"])
    return documents


class Verifier:
    """Reads both accounts and checks each link of one developer's replication path."""

    def __init__(self, ctx: Context, remove_command: str, waiting: Patience | None = None) -> None:
        self.ctx = ctx
        # A grant made moments ago (right after onboarding) is asked again while IAM catches up; none
        # when many developers are checked at once (--verify --all), where a refusal is an answer.
        self.waiting = waiting or Patience(lambda _: None, seconds=0)
        self.target = ctx.target
        self.onboard_command = "onboard again (the command is below)"
        self.remove_command = remove_command
        # Read once for many developers (--verify --all): the central stack and its role's policies.
        self.central: StackState | None = None
        self.registry: reg.Registry | None = None
        self.role_documents: list[Any] | None = None
        self.member_stacks: dict[str, str] | None = None  # an OU's accounts: account -> its one stack's id

    def run(self, *, probe: bool, orphans: bool = True) -> tuple[list[Link], list[str]]:
        target, ctx = self.target, self.ctx
        central = self.central or ctx.build_stacks().describe(target.central.stack)
        registry = self.registry or check_central(target.central, central)
        dev = ctx.dev_stacks()
        states = {n: dev.describe(n) for n in target.stacks.names}
        primary = states[target.stacks.primary]
        member = self._member_stack() if not primary.exists and self.member_stacks is not None else None
        if member is not None:  # an OU's account: the three as one stack, deployed by StackSets
            states, primary = {member.name: member}, member
        bucket = developer_bucket(primary, target.dev.account, target.dev.region)
        self.bucket = bucket
        cmk = primary.outputs.get("CMK")
        role = central.outputs[REPLICATION_ROLE_OUTPUT]
        links = [
            self._registered(registry, bucket, cmk),
            Link(
                "replication enabled",
                registry.enabled,
                f"EnableReplication is {'true' if registry.enabled else 'false'}",
                "" if registry.enabled else f"{self.onboard_command}: onboarding turns replication on",
            ),
            self._stacks(states),
            self._bucket_policy(bucket, role, primary),
            self._key_policy(cmk),
            self._central_role(role, bucket, cmk),
        ]
        if probe:
            links.append(self._probe(central, bucket))
        return links, self._orphans(registry, bucket, primary) if orphans else []

    def _member_stack(self) -> StackState | None:
        """The one stack an OU's stack set made in this account (`StackSet-xacct-OU-...`), as the
        OU's stack sets list it (`member_stacks`: account -> stack id); None when there is none."""
        stack_id = (self.member_stacks or {}).get(self.target.dev.account, "")
        name = (stack_id.split("/")[1:2] or [""])[0]
        return self.ctx.dev_stacks().describe(name) if name else None

    def _registered(self, registry: reg.Registry, bucket: str, cmk: str | None) -> Link:
        entry = next((e for e in registry.entries if e.bucket == bucket), None)
        if entry is None:
            return Link("registered centrally", False, f"{bucket} is not in the central lists", self.onboard_command)
        if cmk and entry.cmk != cmk:
            return Link(
                "registered centrally",
                False,
                f"{bucket} is registered with key {entry.cmk}, but its key is {cmk}",
                f"{self.onboard_command}: it replaces the key in place",
            )
        return Link("registered centrally", True, f"{bucket} at position {registry.entries.index(entry) + 1}")

    def _stacks(self, states: dict[str, StackState]) -> Link:
        bad = [f"{n} {s.status or 'missing'}" for n, s in states.items() if s.status not in STABLE]
        if bad:
            return Link("developer stacks", False, ", ".join(bad), self.onboard_command)
        return Link("developer stacks", True, ", ".join(f"{n} {s.status}" for n, s in states.items()))

    def _bucket_policy(self, bucket: str, role: str, primary: StackState) -> Link:
        name = "bucket policy admits the central role"
        if not primary.exists:
            return Link(name, False, f"the stack {primary.name} does not exist", self.onboard_command)
        try:
            policy = self.ctx.dev.s3.get_bucket_policy(Bucket=bucket)["Policy"]
        except bx.ClientError as exc:
            policy, why = None, exc.response["Error"]["Code"]
        artifact = _artifact_arn(bucket, self.ctx.dev.partition)
        lacking = [a for a in limits.WRITE_ACTIONS if not (policy and policies.admits(policy, role, a, artifact))]
        if policy and not lacking:
            return Link(name, True, f"{role} may {', '.join(limits.WRITE_ACTIONS)} in {bucket}")
        if policy:
            why = f"no statement allows it {', '.join(lacking)}"
        p = self.target.stacks.primary
        if primary.parameters.get("ReplicationWriterRoleArn") != role:
            return Link(name, False, f"{bucket}: {why}; {p} does not name the central role", self.onboard_command)
        return Link(
            name,
            False,
            f"{bucket}: {why}",
            "the policy was changed outside CloudFormation, which restores it only when the resource changes: "
            f"{self.remove_command}, then {self.onboard_command}",
        )

    def _key_policy(self, cmk: str | None) -> Link:
        name = "developer key admits the build account"
        if not cmk:
            return Link(name, False, "the developer key does not exist", self.onboard_command)
        root = account_root(self.ctx.dev.partition, self.target.build.account)
        try:
            read = self.ctx.dev.kms.get_key_policy
            policy = self.waiting.call(lambda: read(KeyId=cmk, PolicyName="default"), f"reading {cmk}'s policy")[
                "Policy"
            ]
        except bx.ClientError as exc:
            return Link(name, False, f"cannot read the key policy: {exc.response['Error']['Code']}")
        lacking = [a for a in limits.KEY_ACTIONS if not policies.admits_account(policy, root, a)]
        if not lacking:
            return Link(name, True, f"{root} may {', '.join(limits.KEY_ACTIONS)} with {cmk}")
        return Link(
            name, False, f"the key policy of {cmk} does not give {root} {', '.join(lacking)}", self.onboard_command
        )

    def _central_role(self, role: str, bucket: str, cmk: str | None) -> Link:
        name = "central role may write and encrypt"
        role_name = role.rsplit("/", 1)[1]
        documents = self.role_documents if self.role_documents is not None else role_documents(self.ctx.build.iam, role)
        star = reg.star_arn_for(bucket, self.ctx.build.partition)
        needed = [(a, f"{star[:-1]}x") for a in limits.WRITE_ACTIONS] + [(a, cmk) for a in limits.KEY_ACTIONS if cmk]
        missing = [
            f"{a} on {r.removesuffix('x') + '*' if r.endswith('/x') else r}"
            for a, r in needed
            if not policies.identity_allows(documents, a, r, {"aws:ResourceAccount": reg.key_account(cmk or "") or ""})
        ]
        if missing:
            return Link(name, False, f"the replication role's policies lack {'; '.join(missing)}", self.onboard_command)
        return Link(name, True, f"{role_name} has {bucket} and its key")

    def _probe(self, central: StackState, bucket: str) -> Link:
        """A test object through the real replication function, for this developer only (its key
        names the bucket), removed afterwards from both buckets, every version of it. A copy refused
        for want of grants just made (the function's log line says so) is sent again while IAM
        catches up (patience.py)."""
        from xacct.function.replicator import PROBE_PREFIX

        key = f"{PROBE_PREFIX}{bucket}/{uuid.uuid4().hex}.txt"
        source = central.outputs.get("BuildBucket", "")
        build_s3, dev_s3 = self.ctx.build.s3, self.ctx.dev.s3
        waiting = self.waiting
        started = time.monotonic()
        sent = [build_s3.put_object(Bucket=source, Key=key, Body=b"xacct replication probe\n").get("VersionId")]
        arrived = None
        try:
            while time.monotonic() - started < 90 + waiting.waited:
                try:
                    dev_s3.head_object(Bucket=bucket, Key=key)
                except bx.ClientError:
                    refusal = self._refused(central, key, bucket) if waiting.waited < waiting.seconds else None
                    if refusal is None:
                        self.ctx.poller.sleep(1)
                        continue
                    waiting.tell(f"the central replication role's copy of the probe into {bucket}", refusal)
                    waiting.pause(min(10.0, 2 + waiting.waited))
                    sent.append(
                        build_s3.put_object(Bucket=source, Key=key, Body=b"xacct replication probe\n").get("VersionId")
                    )
                    continue
                arrived = time.monotonic() - started
                break
        finally:
            for version in sent:
                if version:
                    build_s3.delete_object(Bucket=source, Key=key, VersionId=version)
                else:
                    build_s3.delete_object(Bucket=source, Key=key)
            for old in dev_s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
                dev_s3.delete_object(Bucket=bucket, Key=key, VersionId=old["VersionId"])
        if arrived is not None:
            waited = f" (after waiting {waiting.waited:.0f} s for IAM)" if waiting.waited else ""
            return Link(
                "probe",
                True,
                f"s3://{source}/{key} arrived in {bucket} in {arrived:.1f} s{waited}; probe objects removed",
            )
        group = f"/aws/lambda/xacct-replicator-{central.name}"
        return Link(
            "probe",
            False,
            f"s3://{source}/{key} did not arrive in {bucket} within 90 s (probe objects removed)",
            f"read what the replication function says about it: aws logs filter-log-events --log-group-name {group} "
            f"--filter-pattern '\"{key}\"'{self.target.build.where()}",
        )

    def _refused(self, central: StackState, key: str, bucket: str) -> str | None:
        """The reason the function's last line for the probe gives for refusing its copy into
        `bucket`, when it is a refusal it expects to pass (a target registered minutes ago)."""
        import json

        try:
            page = self.ctx.build.logs.filter_log_events(
                logGroupName=f"/aws/lambda/xacct-replicator-{central.name}", filterPattern=f'"{key}"'
            )
        except bx.ClientError:
            return None
        for event in reversed(page.get("events", [])):
            try:
                failed = json.loads(event["message"]).get("failed", {}).get(bucket)
            except (ValueError, AttributeError):
                continue
            if failed and failed.get("permanent") is False and "AccessDenied" in str(failed.get("reason")):
                return str(failed["reason"]).split(":")[0] or "AccessDenied"
        return None

    def _orphans(self, registry: reg.Registry, bucket: str, primary: StackState) -> list[str]:
        others = [e.bucket for e in registry.entries if e.bucket != bucket]
        missing = set(missing_buckets(self.ctx.build.s3, others))
        return [
            e.bucket for e in registry.entries if e.bucket in missing or (e.bucket == bucket and not primary.exists)
        ]


def missing_buckets(s3: Any, buckets: list[str]) -> list[str]:
    """The registered buckets that no longer exist: orphan entries, in registry order. Asked 16 at
    a time: one after another, 600 developers are 600 round trips (30 s at 50 ms)."""
    from concurrent.futures import ThreadPoolExecutor

    def gone(name: str) -> bool:
        try:
            s3.head_bucket(Bucket=name)
        except bx.ClientError as exc:
            return exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound")
        return False

    with ThreadPoolExecutor(max_workers=max(1, min(16, len(buckets)))) as pool:
        return [name for name, missing in zip(buckets, pool.map(gone, buckets), strict=True) if missing]


def run(target: Onboarding, request: Request, o: Output, interactive: bool, save_to: Path | None) -> int:
    ctx = Context(target.central, LineProgress(o.err), target=target)
    ctx.build.check_account(target.build.account)
    ctx.dev.check_account(target.dev.account)
    verifier = Verifier(ctx, common.resume_command(request.prog, target, remove=True), Patience(o.info))
    links, orphans = verifier.run(probe=request.probe)
    remove = common.resume_command(request.prog, target.central, remove=True)
    onboard = common.resume_command(request.prog, target)
    healthy = all(link.ok for link in links) and not orphans
    arrived = deliveries.read(ctx.build.logs, target.central.stack, [verifier.bucket])[verifier.bucket]
    if request.json:
        found = {**verify_json(target, links, orphans, remove, onboard), **arrived}
        o.out.file.write(json.dumps(found, indent=2) + "\n")
    else:
        reports.show_verify(o, links, orphans, remove, onboard)
        reports.show_arrivals(o, arrived, indent="")
    return ExitCode.OK if healthy else ExitCode.BROKEN


def verify_json(target: Onboarding, links: list[Link], orphans: list[str], remove: str, onboard: str) -> dict[str, Any]:
    return {
        "developer": {"account": target.dev.account, "region": target.dev.region},
        "central": {"account": target.build.account, "region": target.build.region, "stack": target.central.stack},
        "ok": all(link.ok for link in links) and not orphans,
        "links": [{"name": x.name, "ok": x.ok, "detail": x.detail, **({"fix": x.fix} if x.fix else {})} for x in links],
        "orphans": [{"bucket": b, "fix": f"{remove} --orphan {b}"} for b in orphans],
        **({} if all(link.ok for link in links) else {"onboard": onboard}),
    }
