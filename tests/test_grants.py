"""The permissions a plan shows (as `cdk diff` does): each policy statement the developer stacks
grant and withdraw, read from the templates with the parameters they will be deployed with."""

from __future__ import annotations

import json
import re

from tests.conftest import BUILD, DEV1, REGION, deploy_central, onboard_args, run_cli
from xacct.core.grants import grants
from xacct.core.templates import template
from xacct.sandbox.emulator import Emulator

PSEUDO = {"AWS::AccountId": DEV1, "AWS::Region": REGION, "AWS::Partition": "aws", "AWS::StackName": "P"}
ROLE = f"arn:aws:iam::{BUILD}:role/CrossAccountPrimary-ReplicationRole-X"


def primary(**parameters: str) -> set:  # type: ignore[type-arg]
    return grants(
        template("CrossAccountPrimary"), {"RootAccountArns": f"arn:aws:iam::{DEV1}:root", **parameters}, PSEUDO
    )


def test_the_write_grant_appears_only_with_the_writer_and_names_the_build_account() -> None:
    without = primary()
    with_writer = primary(ReplicationWriterRoleArn=ROLE, RootAccountArns=f"arn:aws:iam::{BUILD}:root")
    added = with_writer - without
    bucket = next(g for g in added if "s3:PutObject" in g.actions)
    assert bucket.principal == f"AWS: arn:aws:iam::{BUILD}:root"
    assert bucket.targets == ("<BuildBucket.Arn>/*",)
    assert bucket.condition == f"ArnEquals aws:PrincipalArn {ROLE}"
    key = next(g for g in added if "kms:GenerateDataKey" in g.actions and BUILD in g.principal)
    assert "kms:Decrypt" in key.actions
    assert not any(BUILD in g.principal for g in without)


def test_a_stack_that_does_not_exist_grants_nothing() -> None:
    assert grants(template("CrossAccountDeveloper"), None, PSEUDO) == set()


def test_dry_run_and_json_name_what_the_developer_stacks_grant_the_build_account(aws: Emulator) -> None:
    deploy_central()
    r = run_cli(*onboard_args(), "--dry-run")
    assert r.code == 0, r.err
    assert re.search(r"CrossAccountPrimary: create, from its template\n\s+Add\s+ArtifactKey\s", r.out)
    # The central stack too: its first developer adds the write grant (a conditional resource).
    assert re.search(
        r"CrossAccountPrimary \(central\): update, from its template\n(.*\n)*?\s+Add\s+ReplicationWriteBuckets",
        r.out,
    )
    text = r.out.split("Permissions these stacks grant and withdraw", 1)[1]
    central = text.split(f"build {BUILD} {REGION}  CrossAccountPrimary", 1)[1]
    assert "+ ReplicationWriteBuckets (AWS::IAM::ManagedPolicy)" in central
    assert f"on arn:aws:s3:::xacct-build-{DEV1}-{REGION}/*" in central
    assert f"BuildBucketPolicy (AWS::S3::BucketPolicy): Allow AWS: arn:aws:iam::{BUILD}:root" in text
    assert "s3:PutObject" in text
    r = run_cli(*onboard_args(), "--dry-run", "--json")
    permissions = json.loads(r.out)["permissions"]
    to_build = [g for p in permissions for g in p["added"] if g["principal"] == f"AWS: arn:aws:iam::{BUILD}:root"]
    assert {"s3:PutObject", "kms:GenerateDataKey", "kms:Encrypt"} <= {a for g in to_build for a in g["actions"]}


def test_the_removal_plan_shows_the_build_accounts_grants_withdrawn(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--remove", "--dry-run")
    assert r.code == 0, r.err
    # The resource changes, as the review lists them: here from the templates (no change set).
    assert re.search(r"CrossAccountPrimary: update, from its template\n(.*\n)*?\s+Modify\s+ArtifactKey\s", r.out)
    assert re.search(r"CrossAccountDeveloper: delete, from its template\n\s+Remove\s+ReplicationPathReader", r.out)
    withdrawn = r.out.split("Permissions these stacks grant and withdraw", 1)[1]
    assert f"- BuildBucketPolicy (AWS::S3::BucketPolicy): Allow AWS: arn:aws:iam::{BUILD}:root" in withdrawn
    assert f"- ArtifactKey (AWS::KMS::Key): Allow AWS: arn:aws:iam::{BUILD}:root" in withdrawn


def test_an_overflow_grant_with_no_accounts_yet_says_it_matches_none() -> None:
    """A reviewer reading "when StringEquals aws:ResourceAccount" and nothing after it sees a wildcard
    grant with no condition; the value is [""], which matches no account."""
    pseudo = {**PSEUDO, "AWS::AccountId": BUILD}
    found = grants(template("CrossAccountPrimary"), {"RootAccountArns": f"arn:aws:iam::{BUILD}:root"}, pseudo)
    overflow = [g for g in found if "arn:aws:kms:*:*:key/*" in g.targets]
    assert overflow, sorted(g.condition for g in found)
    for grant in overflow:
        assert (
            grant.condition
            == "StringEquals aws:ResourceAccount matches no account (no developers past the four lists yet)"
        )
    with_one = grants(
        template("CrossAccountPrimary"),
        {"RootAccountArns": f"arn:aws:iam::{BUILD}:root", "ReplicationMoreAccounts1": DEV1},
        pseudo,
    )
    assert f"StringEquals aws:ResourceAccount {DEV1}" in {g.condition for g in with_one}
