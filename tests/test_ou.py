"""`--ou`: an organizational unit's developers (issue #26), as far as this version goes: the
organization read and checked, every bad input refused before anything is written with its fix,
and the plan. The build account is the organization's management account."""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions as bx
import pytest

from tests.conftest import BUILD, DEV2, REGION, deploy_central, onboard_args, run_cli, session
from tests.test_stacksets_emulator import account, organization, ou
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator

BUILD_ARGS = ["--build-profile", "build", "--build-region", REGION]


def central_parameters() -> dict[str, str]:
    stack = session("build").client("cloudformation").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def no_stack_sets() -> bool:
    cfn = session("build").client("cloudformation")
    return not cfn.list_stack_sets()["Summaries"]


def test_the_plan_names_every_account_beneath_the_ou_and_changes_nothing(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0  # registered one by one, outside the OU
    root = organization()
    top = ou(root, "developers")
    nested = ou(ou(top, "team"), "squad")
    members = [account("a", top), account("b", nested), account("c", top)]
    account("elsewhere")  # in the root
    before = central_parameters()
    r = run_cli(*BUILD_ARGS, "--ou", top, "--dry-run", "--json")
    assert r.code == 0, r.out + r.err
    plan = json.loads(r.out)
    assert sorted(plan["accounts_joining"]) == sorted(members)
    assert sorted(plan["stack_instances_to_create"]) == sorted(members)
    assert plan["accounts_leaving"] == []
    dev2_bucket = f"xacct-build-{DEV2}-{REGION}"
    assert plan["central_buckets_before"] == [dev2_bucket]
    assert plan["central_buckets_after"][0] == dev2_bucket  # the developer already there keeps its place
    assert sorted(plan["central_buckets_after"][1:]) == sorted(f"xacct-build-{a}-{REGION}" for a in members)
    assert plan["call_as"] == "SELF"
    assert plan["stack_set_action"] == "create"
    assert central_parameters() == before
    assert no_stack_sets()
    text = run_cli(*BUILD_ARGS, "--ou", top, "--dry-run")
    assert text.code == 0
    assert "joining (registered after their stacks succeed): 3" in text.out
    assert "dry run: nothing was changed" in text.out
    assert "| accounts joining | 3: " in run_cli(*BUILD_ARGS, "--ou", top, "--dry-run", "--markdown").out


def registered() -> list[str]:
    from xacct.core import registry as reg

    return [e.bucket for e in reg.parse(central_parameters()).entries]


def instance_accounts(team: str) -> set[str]:
    cfn = session("build").client("cloudformation")
    return {i["Account"] for i in cfn.list_stack_instances(StackSetName=f"xacct-{team}")["Summaries"]}


def test_an_ou_is_onboarded_kept_current_as_accounts_come_and_go_and_taken_out(aws: Emulator) -> None:
    """Issue #26's acceptance: three accounts; a fourth joins and one leaves; the OU taken out."""
    from tests.test_stacksets_emulator import inside

    deploy_central()
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0  # one by one, outside the OU
    root = organization()
    team = ou(root, "developers")
    first, second, third = account("a", team), account("b", ou(team, "squad")), account("c", team)
    dev2 = f"xacct-build-{DEV2}-{REGION}"

    dry = run_cli(*BUILD_ARGS, "--ou", team, "--dry-run")
    assert dry.code == 0, dry.err
    assert no_stack_sets()
    assert registered() == [dev2]

    r = run_cli(*BUILD_ARGS, "--ou", team, "--yes")
    assert r.code == 0, r.out + r.err
    assert "Onboarded: OU" in r.out
    for member in (first, second, third):
        inside(member, "s3").head_bucket(Bucket=f"xacct-build-{member}-{REGION}")  # its developer bucket
    assert registered()[0] == dev2
    assert sorted(registered()[1:]) == sorted(f"xacct-build-{a}-{REGION}" for a in (first, second, third))

    settled = run_cli(*BUILD_ARGS, "--ou", team, "--dry-run")
    assert "(as it is)" in settled.out
    assert "Nothing to do" in settled.out
    fourth = account("d", team)  # joins: automatic deployment gives it its stack
    session("build").client("organizations").move_account(
        AccountId=second, SourceParentId=team, DestinationParentId=root
    )
    again = run_cli(*BUILD_ARGS, "--ou", team, "--yes")
    assert again.code == 0, again.out + again.err
    members = {first, third, fourth}
    assert sorted(registered()) == sorted([dev2, *(f"xacct-build-{a}-{REGION}" for a in members)])
    assert registered()[0] == dev2
    assert instance_accounts(team) == members  # the account that left has no stack instance

    gone = run_cli(*BUILD_ARGS, "--ou", team, "--remove", "--yes")
    assert gone.code == 0, gone.out + gone.err
    assert registered() == [dev2]
    assert no_stack_sets()


def _member_profile(aws: Emulator) -> str:
    member = account("member")
    identities.seed([member])
    aws.add_profile("member", member)
    return member


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("malformed", "is not an OU id"),
        ("unknown", "does not exist in organization"),
        ("empty", "has no active accounts, its child OUs included"),
        (
            "untrusted",
            "aws organizations enable-aws-service-access --service-principal "
            "member.org.stacksets.cloudformation.amazonaws.com",
        ),
        ("member", "neither the management account"),
        ("no-organization", "which is in no AWS Organization"),
    ],
)
def test_bad_input_is_refused_before_any_write_with_its_fix(aws: Emulator, case: str, expected: str) -> None:
    deploy_central()
    root = organization(trusted=case != "untrusted")
    team = ou(root, "developers")
    if case != "empty":
        account("a", team)
    extra: list[str] = []
    target = {"malformed": "developers", "unknown": "ou-zz99-zzzzzz99"}.get(case, team)
    if case == "member":
        _member_profile(aws)
        extra = ["--org-profile", "member"]
    if case == "no-organization":
        extra = ["--org-profile", "dev1"]
    before = central_parameters()
    r = run_cli(*BUILD_ARGS, "--ou", target, "--dry-run", *extra)
    assert r.code == 2, r.out + r.err
    assert expected in r.err
    assert "Traceback" not in r.err
    assert central_parameters() == before
    assert no_stack_sets()


def test_a_delegated_administrator_plans_and_applies_calling_as_one(aws: Emulator) -> None:
    deploy_central()
    root = organization()
    team = ou(root, "developers")
    account("a", team)
    member = _member_profile(aws)
    session("build").client("organizations").register_delegated_administrator(
        AccountId=member, ServicePrincipal="member.org.stacksets.cloudformation.amazonaws.com"
    )
    r = run_cli(*BUILD_ARGS, "--ou", team, "--dry-run", "--json", "--org-profile", "member")
    assert r.code == 0, r.err
    assert json.loads(r.out)["call_as"] == "DELEGATED_ADMIN"
    applied = run_cli(*BUILD_ARGS, "--ou", team, "--yes", "--org-profile", "member")
    assert applied.code == 0, applied.out + applied.err
    assert len(registered()) == 1
    member_cfn = session("member").client("cloudformation")
    with pytest.raises(bx.ClientError, match="master or delegated admin"):  # as itself, it may not
        member_cfn.describe_stack_set(StackSetName=f"xacct-{team}")
    assert member_cfn.describe_stack_set(StackSetName=f"xacct-{team}", CallAs="DELEGATED_ADMIN")["StackSet"]


def test_an_account_stacksets_took_out_of_the_ou_is_planned_to_leave(aws: Emulator) -> None:
    """Its entry goes only on StackSets' own evidence (a DELETE result for it), never because an
    account sits outside the OU: a developer onboarded one by one stays."""
    from tests.test_stacksets_emulator import BUCKET_TEMPLATE

    root = organization()
    team = ou(root, "developers")
    staying, leaving = account("a", team), account("b", team)
    cfn: Any = session("build").client("cloudformation")
    cfn.create_stack_set(
        StackSetName=f"xacct-{team}", TemplateBody=BUCKET_TEMPLATE, PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
    )  # fmt: skip
    cfn.create_stack_instances(
        StackSetName=f"xacct-{team}", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION]
    )
    entries = [
        (f"xacct-build-{a}-{REGION}", f"arn:aws:kms:{REGION}:{a}:key/{uuid.uuid4()}") for a in (DEV2, staying, leaving)
    ]
    deploy_central([(b, f"arn:aws:s3:::{b}/*", k) for b, k in entries])
    session("build").client("organizations").move_account(
        AccountId=leaving, SourceParentId=team, DestinationParentId=root
    )
    plan = json.loads(run_cli(*BUILD_ARGS, "--ou", team, "--dry-run", "--json").out)
    assert plan["accounts_leaving"] == [leaving]
    assert plan["accounts_staying"] == [staying]
    assert plan["central_buckets_after"] == [entries[0][0], entries[1][0]]
    removal = json.loads(run_cli(*BUILD_ARGS, "--ou", team, "--remove", "--dry-run", "--json").out)
    assert sorted(removal["accounts_leaving"]) == sorted([staying, leaving])
    assert removal["central_buckets_after"] == [entries[0][0]]
    with pytest.raises(bx.ClientError):
        cfn.describe_stack_set(StackSetName=f"xacct-{team}-deploy")  # there is one stack set
    assert BUILD  # the management account is the build account throughout


def test_a_failed_account_is_named_with_stacksets_reason_and_a_rerun_finishes_it(aws: Emulator) -> None:
    from tests.test_stacksets_emulator import inside

    deploy_central()
    root = organization()
    team = ou(root, "developers")
    good, blocked = account("a", team), account("b", team)
    squatter = f"xacct-build-{blocked}-{REGION}"
    inside(blocked, "s3").create_bucket(Bucket=squatter)  # the name its stack's bucket needs
    r = run_cli(*BUILD_ARGS, "--ou", team, "--yes", "--max-concurrent", "2", "--failure-tolerance", "1")
    assert r.code == 1, r.out + r.err
    assert f"not registered: {blocked}: ResourceLogicalId:BuildBucket" in r.out
    assert "next: fix the cause, then run the same command again" in r.out
    assert registered() == [f"xacct-build-{good}-{REGION}"]  # the other account is not held back
    inside(blocked, "s3").delete_bucket(Bucket=squatter)
    again = run_cli(*BUILD_ARGS, "--ou", team, "--yes")
    assert again.code == 0, again.out + again.err
    assert "deploying again the instances of 1 account that did not succeed" in again.err
    assert registered() == [f"xacct-build-{good}-{REGION}", squatter]


def test_an_ou_accounts_bucket_receives_the_build_through_the_deployed_function(aws: Emulator) -> None:
    from tests.test_delivery import settled
    from tests.test_replicator import build_artifact
    from tests.test_stacksets_emulator import inside

    deploy_central()
    root = organization()
    team = ou(root, "developers")
    member = account("a", team)
    assert run_cli(*BUILD_ARGS, "--ou", team, "--yes").code == 0
    version = build_artifact("svc/app.zip", b"built once")
    settled("svc/app.zip", version)
    body = inside(member, "s3").get_object(Bucket=f"xacct-build-{member}-{REGION}", Key="svc/app.zip")["Body"]
    assert body.read() == b"built once"


def test_a_saved_ou_plan_is_applied_as_reviewed_and_refused_once_the_ou_changed(aws: Emulator, tmp_path: Any) -> None:
    deploy_central()
    root = organization()
    team = ou(root, "developers")
    first = account("a", team)
    plan = tmp_path / "ou-plan.json"
    made = run_cli(*BUILD_ARGS, "--ou", team, "--dry-run", "--out", str(plan), "--max-concurrent", "3")
    assert made.code == 0, made.err
    assert json.loads(plan.read_text())["ou"]["max_concurrent"] == 3
    account("b", team)  # the OU changed since the plan was made
    stale = run_cli("--apply", str(plan))
    assert stale.code == 2
    assert "out of date" in stale.err
    assert "organization.members" in stale.err
    assert no_stack_sets()
    fresh = tmp_path / "fresh.json"
    assert run_cli(*BUILD_ARGS, "--ou", team, "--dry-run", "--out", str(fresh)).code == 0
    applied = run_cli("--apply", str(fresh))
    assert applied.code == 0, applied.out + applied.err
    assert f"xacct-build-{first}-{REGION}" in registered()
    assert len(registered()) == 2


def test_verify_all_finds_an_ou_accounts_one_stack_and_calls_it_healthy(aws: Emulator) -> None:
    deploy_central()
    root = organization()
    team = ou(root, "developers")
    member = account("a", team)
    assert run_cli(*BUILD_ARGS, "--ou", team, "--yes").code == 0
    r = run_cli(*BUILD_ARGS, "--verify", "--all", "--json")
    assert r.code == 0, r.out + r.err
    rows = {row["account"]: row for row in json.loads(r.out)["developers"]}
    assert rows[member]["state"] == "healthy", rows[member]
    stacks = next(link for link in rows[member]["links"] if link["name"] == "developer stacks")
    assert stacks["detail"].startswith(f"StackSet-xacct-{team}-")


@pytest.mark.parametrize("managed", [True, False], ids=["queued (made here)", "refused (an earlier version's)"])
def test_ou_run_while_automatic_deployment_places_a_joiner_waits_and_says_for_what(
    aws: Emulator, managed: bool
) -> None:
    """A stack set runs one operation at a time, and automatic deployment is an operation of StackSets'
    own that runs after an account joins. `--ou` run meanwhile waits for it (whether the stack set
    would queue another operation, made with ManagedExecution, or refuse it, made by an earlier version
    without), says what it waits for, reads what it placed and registers the joiner: exit 0."""
    from xacct.sandbox.stacksets import model as gs

    deploy_central()
    root = organization()
    team = ou(root, "developers")
    first = account("a", team)
    assert run_cli(*BUILD_ARGS, "--ou", team, "--yes").code == 0
    from moto.cloudformation.models import cloudformation_backends

    held = gs.sets_of(cloudformation_backends[BUILD][REGION])[f"xacct-{team}"]
    assert held.managed  # made with ManagedExecution active
    held.managed = managed
    aws.configure(stack_set_seconds=3)
    joiner = account("b")
    session("build").client("organizations").move_account(
        AccountId=joiner, SourceParentId=root, DestinationParentId=team
    )
    running = session("build").client("cloudformation").list_stack_set_operations(StackSetName=f"xacct-{team}")
    assert [o["Status"] for o in running["Summaries"]].count("RUNNING") == 1  # StackSets' own, for the joiner
    r = run_cli(*BUILD_ARGS, "--ou", team, "--yes")
    assert r.code == 0, r.out + r.err
    assert "waiting for operation" in r.err, r.err
    assert "StackSets' own (automatic deployment" in r.err
    assert "deploying again" not in r.err  # the joiner's instance, placed by StackSets, is not deployed twice
    assert sorted(registered()) == sorted(f"xacct-build-{a}-{REGION}" for a in (first, joiner))


def test_an_operation_refused_while_another_runs_waits_for_that_one_and_is_asked_again(aws: Emulator) -> None:
    """OperationInProgressException on a stack set made without ManagedExecution: the running operation
    is named, followed to its end, and the request made again; it is never a failure of the run."""
    from tests.test_stacksets_emulator import BUCKET_TEMPLATE, cfn
    from xacct.aws.stacksets import StackSet

    root = organization()
    team = ou(root, "developers")
    member = account("a", team)
    cfn().create_stack_set(StackSetName="buckets", TemplateBody=BUCKET_TEMPLATE, PermissionModel="SERVICE_MANAGED",
                           AutoDeployment={"Enabled": False})  # fmt: skip
    aws.configure(stack_set_seconds=2)
    first = cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION]
    )["OperationId"]
    said: list[str] = []
    ss = StackSet(cfn(), "buckets", "SELF", REGION, preferences={}, said=said.append)
    outcome = ss.redeploy(team, [member])
    assert outcome.status == "SUCCEEDED"
    assert outcome.succeeded == [member]
    assert any(f"waiting for operation {first} (CREATE, " in line for line in said), said
