"""Self-service joining (issue #36), on the enforcing emulator with the registrar as deployed: a
developer of an allowed OU joins with their own profile only; the build account's inbox policy,
the registrar's checks and the central stack's lists decide, and nothing else."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import pytest

from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    deploy_central,
    fake_entry,
    run_cli,
    session,
    stack,
    stack_outputs,
    stack_parameters,
)
from tests.test_replicator import build_artifact
from tests.test_stacksets_emulator import account, organization, ou
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator

PLATFORM = ["--build-profile", "build", "--build-account", BUILD, "--build-region", REGION]


def join_args(profile: str) -> list[str]:
    return ["--join", "--build-account", BUILD, "--build-region", REGION, "--dev-profile", profile]


def member(aws: Emulator, name: str, parent: str | None) -> str:
    """An account of the organization, reached through a profile of its own."""
    made = account(name, parent)
    identities.seed([made])
    aws.add_profile(name, made)
    return made


def registered() -> list[str]:
    lists = stack_parameters("CrossAccountPrimary", "build").get("ReplicationBucketList", "")
    return [b for b in lists.split(",") if b]


def change_sets_executed() -> int:
    """Central updates made after the central stack's creation (each a change set of ours)."""
    cfn = session("build").client("cloudformation")
    events = cfn.describe_stack_events(StackName="CrossAccountPrimary")["StackEvents"]
    return sum(
        1
        for e in events
        if e["LogicalResourceId"] == "CrossAccountPrimary" and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"
    )


def registrar_log() -> str:
    logs = session("build").client("logs")
    group = "/aws/lambda/xacct-registrar-CrossAccountPrimary"
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except Exception as exc:
        return f"(no log: {exc})"
    return "\n".join(e["message"] for e in events)


def _team(aws: Emulator, monkeypatch: pytest.MonkeyPatch, entries: list[tuple[str, str, str]]) -> dict[str, Any]:
    from xacct.commands import join

    monkeypatch.setattr(join, "ANSWER_SECONDS", 120.0)  # a failure says so in two minutes, not fifteen
    deploy_central(entries)
    root = organization()
    developers = ou(root, "developers")
    return {"root": root, "ou": developers, "alice": member(aws, "alice", developers)}


@pytest.fixture
def team(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return _team(aws, monkeypatch, [])


@pytest.fixture
def team_after_two(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The team, with two developers registered before joining was turned on."""
    return _team(aws, monkeypatch, [fake_entry(1), fake_entry(2)])


def test_automatic_mode_registers_a_joiner_in_one_change_set_and_turning_it_off_keeps_them(
    team: dict[str, Any],
) -> None:
    on = run_cli(*PLATFORM, "--enable-joining", team["ou"], "--auto-approve", "--yes")
    assert on.code == 0, on.out + on.err
    assert "Joining is on" in on.out
    build_artifact("svc/before-joining.zip", b"the current build")
    before = change_sets_executed()
    joined = run_cli(*join_args("alice"))
    assert joined.code == 0, joined.out + joined.err + registrar_log()
    bucket = f"xacct-build-{team['alice']}-{REGION}"
    assert f"{team['alice']}: registered" in joined.out
    assert registered() == [bucket]
    assert change_sets_executed() - before == 1
    # made through the joining stack's service role, which the central stack keeps from now on
    deployer = (
        session("build")
        .client("cloudformation")
        .describe_stack_resource(StackName="CrossAccountJoining", LogicalResourceId="CentralDeployer")[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
    )
    central = stack("CrossAccountPrimary", "build")
    assert central is not None
    assert central["RoleARN"].endswith(f":role/{deployer}")
    # started current: the build made before joining is there when --join returns
    alice_s3 = session("alice").client("s3")
    assert alice_s3.get_object(Bucket=bucket, Key="svc/before-joining.zip")["Body"].read() == b"the current build"
    assert "started current: 1 copied" in joined.out
    build_artifact("svc/after-joining.zip", b"the next build")
    alice = session("alice").client("s3")
    for _ in range(100):
        try:
            assert alice.get_object(Bucket=bucket, Key="svc/after-joining.zip")["Body"].read() == b"the next build"
            break
        except bx.ClientError:
            time.sleep(0.2)
    else:
        raise AssertionError("the next build never reached the joiner's bucket")
    again = run_cli(*join_args("alice"))
    assert again.code == 0, again.out + again.err
    assert "registered" in again.out
    assert change_sets_executed() - before == 1  # joined already: no second change set
    # turned off: the inbox refuses new requests, and every registration stays
    registry = stack_parameters("CrossAccountPrimary", "build")
    off = run_cli(*PLATFORM, "--disable-joining", "--yes")
    assert off.code == 0, off.out + off.err
    assert stack_parameters("CrossAccountPrimary", "build") == registry
    with pytest.raises(bx.ClientError) as refused:
        alice_s3.put_object(
            Bucket=f"xacct-join-{BUILD}-{REGION}", Key=f"requests/{team['alice']}/request.json", Body=b"{}"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "already off" in run_cli(*PLATFORM, "--disable-joining", "--yes").out


def test_an_account_outside_the_allowed_ous_is_refused_by_the_inbox_policy(aws: Emulator, team: dict[str, Any]) -> None:
    outsider = member(aws, "outsider", None)  # in the organization's root, not the OU
    assert run_cli(*PLATFORM, "--enable-joining", team["ou"], "--auto-approve", "--yes").code == 0
    refused = run_cli(*join_args("outsider"))
    assert refused.code != 0
    lines = [line for line in refused.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, refused.err
    assert "refused account" in lines[0]
    assert outsider in lines[0]
    assert registered() == []


def test_approval_mode_holds_a_request_until_approved(team: dict[str, Any]) -> None:
    assert run_cli(*PLATFORM, "--enable-joining", team["ou"], "--yes").code == 0
    named = ["--dev-stacks", "AlicePrimary,AliceDeploy,AliceDeveloper"]  # the developer's own stack names
    joined = run_cli(*join_args("alice"), *named)
    assert joined.code == 0, joined.out + joined.err
    assert f"{team['alice']}: pending" in joined.out
    assert stack("AliceDeveloper", "alice") is not None
    assert registered() == []
    assert '"waiting": 1' in run_cli(*PLATFORM, "--status", "--json").out
    listed = run_cli(*PLATFORM, "--requests", "--json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)["requests"]
    assert [(r["account"], r["status"]) for r in rows] == [(team["alice"], "pending")]
    assert all(c["ok"] for c in rows[0]["checks"])
    approved = run_cli(*PLATFORM, "--approve", team["alice"])
    assert approved.code == 0, approved.out + approved.err
    assert registered() == [f"xacct-build-{team['alice']}-{REGION}"]
    again = run_cli(*join_args("alice"), *named)
    assert again.code == 0, again.out + again.err
    assert f"{team['alice']}: registered" in again.out
    shown = json.loads(run_cli(*PLATFORM, "--status", "--json").out)
    assert [d["account"] for d in shown["developers"]] == [team["alice"]]
    assert shown["joining"] == {"on": True, "who": [team["ou"]], "approval": "by --approve", "waiting": 0}
    assert f"Joining: on for {team['ou']}, registered by --approve" in run_cli(*PLATFORM, "--status").out


def file_request(profile: str, account: str, body: dict[str, Any]) -> dict[str, Any]:
    """A request written by hand under `account` (as anyone of that account may), and the
    registrar's answer to exactly that request."""
    s3 = session(profile).client("s3")
    inbox = f"xacct-join-{BUILD}-{REGION}"
    etag = s3.put_object(Bucket=inbox, Key=f"requests/{account}/request.json", Body=json.dumps(body).encode())["ETag"]
    for _ in range(300):
        try:
            answer = json.loads(s3.get_object(Bucket=inbox, Key=f"answers/{account}/answer.json")["Body"].read())
        except Exception:
            answer = {}
        if answer.get("request_etag") == etag.strip('"'):
            return dict(answer)
        time.sleep(0.2)
    raise AssertionError(f"no answer to {body}: {registrar_log()}")


def test_a_request_for_what_is_not_the_requesters_own_is_refused_with_its_reason(
    aws: Emulator, team: dict[str, Any]
) -> None:
    bob = member(aws, "bob", team["ou"])
    assert run_cli(*PLATFORM, "--enable-joining", team["ou"], "--yes").code == 0
    alice = team["alice"]
    for profile in ("alice", "bob"):  # each deploys their stacks and waits for approval
        assert "pending" in run_cli(*join_args(profile)).out
    outputs = {p: stack_outputs("CrossAccountPrimary", p) for p in ("alice", "bob")}
    own = {"region": REGION, "bucket": outputs["alice"]["BuildBucket"], "cmk": outputs["alice"]["CMK"]}
    cases = {
        "another account's bucket": ({**own, "bucket": outputs["bob"]["BuildBucket"]}, f"named for account {bob}"),
        "another account's key": ({**own, "cmk": outputs["bob"]["CMK"]}, f"is in account {bob}"),
        "a bucket not named as --join deploys it": ({**own, "bucket": _bucket_of("bob")}, "the bucket --join deploys"),
        "a key that does not admit the build account": (
            {**own, "cmk": _closed_key("alice")},
            "its policy does not admit",
        ),
    }
    for case, (body, reason) in cases.items():
        answer = file_request("alice", alice, body)
        assert answer["status"] == "refused", (case, answer)
        assert reason in answer["reason"], (case, answer["reason"])
    # alice's bucket name taken by bob's account (hers deleted): S3 refuses it to her expected owner
    session("alice").client("s3").delete_bucket(Bucket=own["bucket"])
    session("bob").client("s3").create_bucket(Bucket=own["bucket"])
    answer = file_request("alice", alice, own)
    assert answer["status"] == "refused", answer
    assert f"is not the build bucket of account {alice}" in answer["reason"]
    assert registered() == []
    listed = json.loads(run_cli(*PLATFORM, "--requests", "--json").out)["requests"]
    assert {r["account"]: r["status"] for r in listed} == {alice: "refused", bob: "pending"}
    rejected = run_cli(*PLATFORM, "--reject", bob, "--reason", "not this quarter")
    assert rejected.code == 0, rejected.err
    again = run_cli(*PLATFORM, "--approve", bob)
    assert again.code == 2
    assert "has no pending request" in again.err
    assert registered() == []


def _bucket_of(profile: str) -> str:
    bucket = f"look-alike-{profile}-{int(time.time() * 1000)}"
    session(profile).client("s3").create_bucket(Bucket=bucket)
    return bucket


def _closed_key(profile: str) -> str:
    """A key of `profile`'s account whose policy is the default one: its own account only."""
    return str(session(profile).client("kms").create_key()["KeyMetadata"]["Arn"])


def test_ten_join_at_once_while_two_are_onboarded_from_a_file_and_nothing_is_lost(
    aws: Emulator, team_after_two: dict[str, Any], tmp_path: Path
) -> None:
    """Issue #36's concurrency acceptance: the registrar and a person's --from share the lease."""
    team = team_after_two
    earlier = registered()
    joiners = {f"j{n}": member(aws, f"j{n}", team["ou"]) for n in range(10)}
    assert run_cli(*PLATFORM, "--enable-joining", team["ou"], "--auto-approve", "--yes").code == 0
    fleet = tmp_path / "two.yaml"
    fleet.write_text(
        f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n  - dev_profile: dev1\n  - dev_profile: dev2\n"
    )
    before = change_sets_executed()
    with ThreadPoolExecutor(max_workers=11) as pool:
        joins = [pool.submit(run_cli, *join_args(p)) for p in joiners]
        onboarded = pool.submit(run_cli, "--from", str(fleet), "--yes")
        results = [f.result() for f in joins]
    assert onboarded.result().code == 0, onboarded.result().err
    for r in results:
        assert r.code == 0, r.out + r.err
    now = registered()
    assert now[:2] == earlier  # earlier entries keep their places
    expected = {f"xacct-build-{a}-{REGION}" for a in [*joiners.values(), DEV1, DEV2]}
    assert set(now[2:]) == expected
    assert len(now) == len(set(now)) == 14
    # The registrar's change sets, from its log: an invocation's lines reach the log group when it
    # ends, which may be after the joiner it answered has returned (it answers, then its sync ends).
    updates = change_sets_executed() - before - 1  # all but the --from's one
    registrar_changes: list[dict[str, Any]] = []
    for _ in range(150):
        lines = [json.loads(line) for line in registrar_log().splitlines() if line.startswith("{")]
        registrar_changes = [u for u in lines if u.get("change_set")]
        if len(registrar_changes) == updates:
            break
        time.sleep(0.2)
    assert len(registrar_changes) == updates, (updates, registrar_changes)
    assert 1 <= updates <= 3


def test_a_developer_holding_exactly_the_printed_join_policy_joins_and_leaves(
    aws: Emulator, team: dict[str, Any]
) -> None:
    """--print-policy join: the developer's own stacks, and in the build account only the inbox.
    --leave takes out that developer only, and withdraws the grants --remove withdraws."""
    printed = run_cli("--print-policy", "join")
    assert printed.code == 0, printed.err
    identities.role(team["alice"], "joiner", json.loads(printed.out))
    aws.add_profile("alice-joiner", team["alice"], role="joiner")
    bob = member(aws, "bob", team["ou"])
    assert run_cli(*PLATFORM, "--enable-joining", team["ou"], "--auto-approve", "--yes").code == 0
    for profile in ("alice-joiner", "bob"):
        joined = run_cli(*join_args(profile))
        assert joined.code == 0, joined.out + joined.err
    alice_bucket, bob_bucket = (f"xacct-build-{a}-{REGION}" for a in (team["alice"], bob))
    assert registered() == [alice_bucket, bob_bucket]
    gone = run_cli("--leave", *join_args("alice-joiner")[1:])
    assert gone.code == 0, gone.out + gone.err + registrar_log()
    assert "Left:" in gone.out
    assert registered() == [bob_bucket]  # bob keeps his entry
    primary = stack_parameters("CrossAccountPrimary", "alice")
    assert primary["ReplicationWriterRoleArn"] == ""
    assert f"arn:aws:iam::{BUILD}:root" not in primary["RootAccountArns"]
    assert stack("CrossAccountDeveloper", "alice") is None


def test_a_developer_without_a_build_profile_is_pointed_at_joining(aws: Emulator) -> None:
    wrong = run_cli(*["--build-profile", "dev2", "--build-account", BUILD, "--build-region", REGION], "--dry-run")
    assert wrong.code == 2
    assert f"--join --build-account {BUILD} --build-region {REGION} --dev-profile" in wrong.err


def test_enabling_joining_is_planned_as_json_or_markdown_and_changes_nothing(team: dict[str, Any]) -> None:
    planned = run_cli(*PLATFORM, "--enable-joining", team["ou"], "--dry-run", "--json")
    assert planned.code == 0, planned.err
    plan = json.loads(planned.out)
    organization = session("build").client("organizations").describe_organization()["Organization"]["Id"]
    assert plan["org_paths"] == [f"{organization}/*/{team['ou']}/*"]
    assert plan["approval"] == "by --approve"
    assert "| org paths |" in run_cli(*PLATFORM, "--enable-joining", team["ou"], "--dry-run", "--markdown").out
    assert stack("CrossAccountJoining", "build") is None
    foreign = run_cli(*PLATFORM, "--enable-joining", "o-aaaaaaaaaa", "--dry-run")
    assert foreign.code == 2
    assert "is not this account's organization" in foreign.err
