"""The product under AWS's timing: grants take effect eventually (IAM user guide, "Changes that I make are
not always immediately visible"). With the emulator's propagation at 10 s, every new role, trust policy,
role policy, key policy and bucket policy is refused for its first ten seconds; an onboarding, a batch
of five, an OU of three and a verification right after onboarding still succeed, each saying that it
waited for IAM (xacct/aws/patience.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DEV1, REGION, deploy_central, onboard_args, run_cli, session
from tests.test_delivery import current_body, settled
from tests.test_fleet import team
from tests.test_replicator import build_artifact
from tests.test_stacksets_emulator import account, organization, ou
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator

PROPAGATION = 10  # seconds: as long as AWS has been seen to take, and longer than any retry inside the function
WAITED = "waiting for IAM"


def built(key: str, body: bytes) -> str:
    """An artifact in the build bucket (before anyone is onboarded: the start-current sync copies it)."""
    return build_artifact(key, body)


def test_an_onboarding_waits_for_its_new_grants_and_starts_current(aws: Emulator) -> None:
    deploy_central()
    built("svc/app.zip", b"the current build")
    aws.configure(propagation_seconds=PROPAGATION)
    r = run_cli(*onboard_args("dev1", DEV1), "--yes")
    assert r.code == 0, r.out + r.err
    assert WAITED in r.err
    assert "Started current: 1 artifact copied" in r.out
    assert current_body(f"xacct-build-{DEV1}-{REGION}", "dev1", "svc/app.zip") == b"the current build"


def test_a_batch_of_five_waits_for_its_new_grants_and_starts_each_current(aws: Emulator, tmp_path: Path) -> None:
    deploy_central()
    built("svc/app.zip", b"the current build")
    extra = "666666666666"
    identities.seed([extra])
    aws.add_profile("dev5", extra)
    profiles = ["dev1", "dev2", "dev3", "dev4", "dev5"]
    aws.configure(propagation_seconds=PROPAGATION)
    r = run_cli("--from", str(team(tmp_path, [{"dev_profile": p} for p in profiles])), "--yes")
    assert r.code == 0, r.out + r.err
    assert "Onboarded 5 of 5 developers" in r.out
    assert WAITED in r.err
    assert r.out.count("Started current: 1 artifact copied") == 5, r.out


def test_an_ou_of_three_waits_for_the_reader_roles_stacksets_just_made(aws: Emulator) -> None:
    deploy_central()
    root = organization()
    developers = ou(root, "developers")
    members = [account(name, developers) for name in ("a", "b", "c")]
    aws.configure(propagation_seconds=PROPAGATION)
    r = run_cli("--build-profile", "build", "--build-region", REGION, "--ou", developers, "--yes")
    assert r.code == 0, r.out + r.err
    assert WAITED in r.err
    assert "3 joined" in r.out
    params = session("build").client("cloudformation").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]
    listed = next(p["ParameterValue"] for p in params["Parameters"] if p["ParameterKey"] == "ReplicationBucketList")
    assert sorted(listed.split(",")) == sorted(f"xacct-build-{m}-{REGION}" for m in members)


def test_a_probe_right_after_onboarding_waits_for_the_new_grants_and_arrives(aws: Emulator) -> None:
    deploy_central()
    aws.configure(propagation_seconds=PROPAGATION)
    onboarded = run_cli(*onboard_args("dev1", DEV1), "--yes", "--no-sync")  # the grants are new: untried
    assert onboarded.code == 0, onboarded.err
    r = run_cli(*onboard_args("dev1", DEV1), "--verify", "--probe")
    assert r.code == 0, r.out + r.err
    assert WAITED in r.err
    said = " ".join(r.out.split())  # as a person reads it, whatever the terminal's width
    assert "arrived in" in said
    assert "for IAM); probe objects removed" in said
    # The path holds afterwards: a build reaches the developer by S3's own notification.
    version = built("svc/after.zip", b"after the wait")
    settled("svc/after.zip", version)
    assert current_body(f"xacct-build-{DEV1}-{REGION}", "dev1", "svc/after.zip") == b"after the wait"
