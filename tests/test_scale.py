"""Past what the four lists hold: sixty developers in one `--from` run onto a central stack that
holds two, on the enforcing emulator, with the deployed replication function delivering to them
(fanning out), trust bounded by account, and one of them leaving."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions as bx
import pytest

from tests.conftest import (
    BUILD,
    REGION,
    deploy_central,
    fake_entry,
    look_alike_bucket,
    run_cli,
    s3_as_function,
    session,
)
from tests.conftest import (
    DEV1 as DEV1_ACCOUNT,
)
from tests.conftest import stack_parameters as parameters
from tests.test_fleet import team
from tests.test_replicator import deployed_function, lines
from xacct.core import registry as reg
from xacct.sandbox import emulator as emu_mod
from xacct.sandbox import identities

SIXTY = {f"s{n:02d}": f"3000000000{n:02d}" for n in range(1, 61)}


@pytest.fixture
def sixty(aws: emu_mod.Emulator) -> Iterator[emu_mod.Emulator]:
    """Sixty more developer accounts, each with its profile, for this test only."""
    for name, account in SIXTY.items():
        aws.add_profile(name, account)
    identities.seed(SIXTY.values())
    try:
        yield aws
    finally:
        for name in SIXTY:
            aws.profiles.pop(name, None)
            aws.roles.pop(name, None)
        emu_mod.write_profiles(aws.directory, aws.profiles, roles=aws.roles)


def bucket(account: str) -> str:
    return f"xacct-build-{account}-{REGION}"


def delivered(account: str, key: str) -> bool:
    try:
        session(f"s{account[-2:]}").client("s3").head_object(Bucket=bucket(account), Key=key)
    except bx.ClientError:
        return False
    return True


def wait_for(accounts: list[str], key: str, seconds: float = 120) -> list[str]:
    """The accounts still without `key` after waiting (S3 invokes the function asynchronously)."""
    deadline = time.monotonic() + seconds
    missing = list(accounts)
    while missing and time.monotonic() < deadline:
        missing = [a for a in missing if not delivered(a, key)]
        time.sleep(0.5)
    return missing


def test_sixty_developers_past_the_four_lists_registered_served_bounded_and_one_removed(
    sixty: emu_mod.Emulator, tmp_path: Path
) -> None:
    two = [fake_entry(1), fake_entry(2)]
    deploy_central(two)
    accounts = list(SIXTY.values())

    r = run_cli("--from", str(team(tmp_path, [{"dev_profile": p} for p in SIXTY])), "--yes", "--no-sync")
    assert r.code == 0, r.err[-3000:]
    assert "upgraded" not in r.err  # the stack already holds this version's template

    registry = reg.parse(parameters("CrossAccountPrimary", "build"))
    assert registry.buckets == [two[0][0], two[1][0], *[bucket(a) for a in accounts]]
    assert parameters("CrossAccountPrimary", "build")[reg.BUCKETS].split(",")[:2] == [two[0][0], two[1][0]]
    assert len(registry.held(0)) == 53
    assert registry.held(1)

    status = run_cli("--status", "--build-profile", "build", "--json")
    assert status.code == 0, status.err
    cap = json.loads(status.out)["capacity"]
    assert cap["registered"] == 62
    assert cap["fits"] >= 500

    # The deployed function delivers to the 1st, the 54th and the 60th of them, handing slices of
    # targets to further invocations of itself when told to serve 20 at most per invocation.
    build = session("build")
    function = deployed_function()
    build.client("lambda").update_function_configuration(
        FunctionName=function.function_name,
        Environment={"Variables": {**function.environment_vars, "FAN_OUT_AT": "20"}},
    )
    build_bucket = f"xacct-build-{BUILD}-{REGION}"
    build.client("s3").put_object(Bucket=build_bucket, Key="app/build-1.zip", Body=b"build 1")
    chosen = [accounts[0], accounts[53], accounts[59]]
    assert wait_for(chosen, "app/build-1.zip") == []
    assert wait_for(accounts, "app/build-1.zip", 60) == []  # and every one of the sixty
    served = lines(count=4, artifact=f"s3://{build_bucket}/app/build-1.zip")
    first = next(line for line in served if "handed" in line)
    assert first["targets"] == 20
    assert first["handed"] == [20, 20, 2]
    assert sorted(len(line["delivered"]) + len(line["failed"]) for line in served) == [2, 20, 20, 20]

    # Trust bounded by account: a look-alike bucket of an account nobody registered, whose own policy
    # admits the role, is refused to the role's own credentials; a registered account's is not.
    role = function.role
    look_alike = look_alike_bucket("dev4", role)
    as_role = s3_as_function(function)
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        as_role.put_object(Bucket=look_alike, Key="app.zip", Body=b"not for you")
    as_role.put_object(Bucket=bucket(accounts[59]), Key="probe.txt", Body=b"yours")  # registered past the lists

    # --verify for a developer past the four lists: every link healthy, the account grant included.
    verified = run_cli("--verify", "--build-profile", "build", "--dev-profile", "s60", "--json")
    report = json.loads(verified.out)
    links = {link["name"]: link["ok"] for link in report["links"]}
    assert links["central role may write and encrypt"] is True
    assert all(links.values()), links
    # What is not healthy is the two fictitious developers registered first, whose buckets never existed.
    assert {o["bucket"] for o in report["orphans"]} == {two[0][0], two[1][0]}

    # The 30th leaves: the other 61 stay, in order.
    gone = run_cli("--remove", "--build-profile", "build", "--dev-profile", "s30", "--yes")
    assert gone.code == 0, gone.err[-3000:]
    after = reg.parse(parameters("CrossAccountPrimary", "build"))
    assert after.buckets == [b for b in registry.buckets if b != bucket(accounts[29])]
    assert len(after.entries) == 61


def test_a_central_stack_of_the_earlier_template_is_upgraded_in_place_when_its_lists_are_full(
    aws: emu_mod.Emulator,
) -> None:
    """A central stack made from the template before the overflow parameters (main at e1e375a,
    tests/data/central-before-overflow.yaml), its four lists full: the 54th developer's plan says the
    template is upgraded, a dry run changes nothing, and the onboarding keeps every registration, the
    key and the bucket, with the 54th past the lists."""
    from tests.conftest import CFN, cfn, stack_outputs

    earlier = (CFN.parent / "tests" / "data" / "central-before-overflow.yaml").read_text()
    first = [fake_entry(n) for n in range(1, 54)]
    params = {
        "RootAccountArns": f"arn:aws:iam::{BUILD}:root",
        "EnableReplication": "true",
        reg.BUCKETS: ",".join(e[0] for e in first),
        reg.STAR_ARNS: ",".join(e[1] for e in first),
        reg.CMKS: ",".join(e[2] for e in first),
    }
    cfn("build").create_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=earlier,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    before = stack_outputs("CrossAccountPrimary", "build")
    flags = ["--build-profile", "build", "--dev-profile", "dev1"]

    dry = run_cli(*flags, "--dry-run")
    assert dry.code == 0, dry.err
    assert "template is upgraded to this version's, in place" in dry.out + dry.err
    assert cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"] == earlier

    r = run_cli(*flags, "--yes", "--no-sync")
    assert r.code == 0, r.err[-3000:]
    after = parameters("CrossAccountPrimary", "build")
    assert reg.MORE[0] in after  # the template now declares them
    registry = reg.parse(after)
    assert registry.buckets == [*(e[0] for e in first), f"xacct-build-{DEV1_ACCOUNT}-{REGION}"]
    assert registry.place(53) == 1
    for name in (reg.BUCKETS, reg.STAR_ARNS, reg.CMKS):
        assert after[name] == params[name]  # the four lists, byte for byte
    now = stack_outputs("CrossAccountPrimary", "build")
    assert now["CMK"] == before["CMK"]
    assert now["BuildBucket"] == before["BuildBucket"]
    assert now["ReplicationRoleArn"] == before["ReplicationRoleArn"]
