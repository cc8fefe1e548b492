"""`--print-policy`: the least-privilege policies of the two operators, run for real on the enforcing
emulator (onboarding, --status, --verify, --verify --all, --remove --purge as roles holding exactly
them), and kept in step with the CloudFormation resource schemas cfn-lint ships."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import BUILD, DEV1, REGION, deploy_central, repository_tool, run_cli, stack_parameters
from xacct.core.handler_permissions import HANDLER_PERMISSIONS
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator
from xacct.sandbox.iam.policies import MANAGED_POLICY_CHARACTERS


def _tool() -> Any:
    """tools/handler_permissions.py, a script of the repository (not a package)."""
    return repository_tool("handler_permissions")


def printed(side: str, *names: str) -> dict:  # type: ignore[type-arg]
    r = run_cli("--print-policy", side, *names)
    assert r.code == 0, r.err
    return json.loads(r.out)  # type: ignore[no-any-return]


def test_each_policy_fits_one_managed_policy_and_grants_no_wildcard_service() -> None:
    for side in ("build", "build-cloudformation", "developer", "organization", "join"):
        document = printed(side)
        assert len(re.sub(r"\s", "", json.dumps(document))) <= MANAGED_POLICY_CHARACTERS, side
        for statement in document["Statement"]:
            assert all(not a.endswith(":*") and a != "*" for a in statement["Action"]), statement["Sid"]


def test_the_on_behalf_permissions_are_the_resource_schemas_handlers() -> None:
    """What CloudFormation's handlers need (the installed cfn-lint's schemas) is all printed: a
    schema that asks for more than the table holds means: run python tools/handler_permissions.py."""
    tool = _tool()
    for kind in tool.resource_types():
        for handler, needed in tool.schema_permissions(kind).items():
            assert set(needed) <= set(HANDLER_PERMISSIONS[kind][handler]), (kind, handler)


def operator(aws: Emulator, account: str, name: str, side: str, *names: str) -> None:
    """A role holding exactly what --print-policy prints for its side: the build operator's two
    managed policies (build and build-cloudformation), one for the others."""
    from moto.iam.models import iam_backends

    identities.role(account, name, printed(side, *names))
    if side == "build":
        iam = iam_backends[account]["global"]
        document = json.dumps(printed("build-cloudformation"))
        second = iam.create_policy(
            description="", path="/", policy_document=document, policy_name=f"{name}-cfn", tags=[]
        )
        iam.attach_role_policy(second.arn, name)
    aws.add_profile(name, account, role=name)


def test_operators_holding_exactly_the_printed_policies_onboard_verify_and_remove(aws: Emulator) -> None:
    deploy_central()
    for name, account, side in (("build-operator", BUILD, "build"), ("dev-operator", DEV1, "developer")):
        operator(aws, account, name, side)
    build = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build-operator"]
    dev = ["--dev-account", DEV1, "--dev-region", REGION, "--dev-profile", "dev-operator"]
    r = run_cli(*build, *dev, "--yes")
    assert r.code == 0, r.out + r.err
    assert stack_parameters("CrossAccountPrimary", "build")["ReplicationBucketList"] == f"xacct-build-{DEV1}-{REGION}"
    for mode in (["--status"], ["--verify", *dev], ["--verify", "--all"], ["--alerts", "ops@example.com", "--yes"]):
        r = run_cli(*build, *mode)
        assert r.code == 0, (mode, r.out + r.err)
    r = run_cli(*build, *dev, "--remove", "--purge", "--yes")
    assert r.code == 0, r.out + r.err
    assert stack_parameters("CrossAccountPrimary", "build")["ReplicationBucketList"] == ""


def test_operators_holding_the_policies_printed_for_their_own_stack_names_onboard(aws: Emulator) -> None:
    """--central-stack and --dev-stacks reach the printed policies: a policy for the default names
    would deny these stacks."""
    deploy_central(stack="Central")
    names = {"build": ("--central-stack", "Central"), "developer": ("--dev-stacks", "P,D,V")}
    for name, account, side in (("build-operator", BUILD, "build"), ("dev-operator", DEV1, "developer")):
        operator(aws, account, name, side, *names[side])
    build = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build-operator"]
    dev = ["--dev-account", DEV1, "--dev-region", REGION, "--dev-profile", "dev-operator"]
    r = run_cli(*build, *dev, *names["build"], *names["developer"], "--yes")
    assert r.code == 0, r.out + r.err
    assert stack_parameters("Central", "build")["ReplicationBucketList"] == f"xacct-build-{DEV1}-{REGION}"
    assert {s for s in ("P", "D", "V") if stack_parameters(s, "dev1")} == {"P", "D", "V"}
    assert run_cli("--print-policy", "developer", "--central-stack", "Central").code == 2  # not this side's


def test_an_operator_holding_the_build_and_organization_policies_onboards_and_removes_an_ou(aws: Emulator) -> None:
    from tests.test_ou import registered
    from tests.test_stacksets_emulator import account, organization, ou

    deploy_central()
    root = organization()
    team = ou(root, "developers")
    member = account("a", team)
    from moto.iam.models import iam_backends

    operator(aws, BUILD, "ou-operator", "build")  # and the organization's, a third managed policy
    iam = iam_backends[BUILD]["global"]
    second = iam.create_policy(
        description="", path="/", policy_document=json.dumps(printed("organization")), policy_name="ou", tags=[]
    )
    iam.attach_role_policy(second.arn, "ou-operator")
    aws.add_profile("ou-operator", BUILD, role="ou-operator")
    build = ["--build-region", REGION, "--build-profile", "ou-operator"]
    r = run_cli(*build, "--ou", team, "--yes")
    assert r.code == 0, r.out + r.err
    assert registered() == [f"xacct-build-{member}-{REGION}"]
    assert run_cli(*build, "--verify", "--all").code == 0
    gone = run_cli(*build, "--ou", team, "--remove", "--yes")
    assert gone.code == 0, gone.out + gone.err
    assert registered() == []


def test_without_the_organization_policy_the_ou_is_refused_before_any_write(aws: Emulator) -> None:
    from tests.test_stacksets_emulator import account, organization, ou

    deploy_central()
    team = ou(organization(), "developers")
    account("a", team)
    identities.role(BUILD, "build-only", printed("build"))
    aws.add_profile("build-only", BUILD, role="build-only")
    before = stack_parameters("CrossAccountPrimary", "build")
    r = run_cli("--build-region", REGION, "--build-profile", "build-only", "--ou", team, "--yes")
    assert r.code != 0
    assert "organizations:DescribeOrganization" in r.err
    assert "Traceback" not in r.err
    assert stack_parameters("CrossAccountPrimary", "build") == before


def test_an_identity_without_the_policy_is_told_what_was_refused_and_what_it_needs(aws: Emulator) -> None:
    deploy_central()
    identities.role(BUILD, "reader-of-nothing", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})  # fmt: skip
    aws.add_profile("reader-of-nothing", BUILD, role="reader-of-nothing")
    r = run_cli("--build-account", BUILD, "--build-region", REGION, "--build-profile", "reader-of-nothing", "--status")
    assert r.code == 1, r.out + r.err
    assert "error: DescribeStacks was refused: User: " in r.err
    assert "is not authorized to perform: cloudformation:DescribeStacks" in r.err
    assert "next: the identity needs the operator's policy: python onboard.py --print-policy build" in r.err
    assert "ClientError" not in r.err
