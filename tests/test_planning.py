"""Plans from hand-built reads: no emulator, no AWS, milliseconds each. Every refusal an onboarding
or a removal can meet before a write, and every decision about a stack, from plain values."""

from __future__ import annotations

import pytest

from tests.conftest import fake_entry, full_lists
from xacct.core import registry as reg
from xacct.core.answers import Central, DevStacks, Kind, Onboarding, Side
from xacct.core.plan import TAG_MANAGED, TAG_VALUE
from xacct.core.planning import (
    Reads,
    foreign_roles,
    kind_of,
    plan_onboard,
    plan_orphan,
    plan_remove,
    primary_parameters,
)
from xacct.core.state import StackState
from xacct.core.templates import KINDS, template
from xacct.errors import InvalidInput

BUILD, DEV = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{BUILD}:role/CrossAccountPrimary-ReplicationRole-ABC"
CENTRAL = Central(Side(BUILD, "us-east-1", "build"), "CrossAccountPrimary")
TARGET = Onboarding(CENTRAL, Side(DEV, "us-east-1", "dev"), DevStacks())
KEY = f"arn:aws:kms:us-east-1:{DEV}:key/12345678-1234-1234-1234-123456789012"
BUCKET = f"xacct-build-{DEV}-us-east-1"


def central(entries: list[tuple[str, str, str]], **extra: str) -> StackState:
    values = reg.render(reg.Registry(bool(entries), tuple(reg.Entry(*e) for e in entries)))
    return StackState(
        "CrossAccountPrimary",
        "UPDATE_COMPLETE",
        parameters={"RootAccountArns": f"arn:aws:iam::{BUILD}:root", **values, **extra},
        outputs={"ReplicationRoleArn": ROLE},
    )


def full_central() -> StackState:
    return StackState(
        "CrossAccountPrimary",
        "UPDATE_COMPLETE",
        parameters={"RootAccountArns": f"arn:aws:iam::{BUILD}:root", **full_lists()},
        outputs={"ReplicationRoleArn": ROLE},
    )


def primary(status: str = "CREATE_COMPLETE", **parameters: str) -> StackState:
    return StackState(
        "CrossAccountPrimary",
        status,
        parameters={
            "RootAccountArns": f"arn:aws:iam::{BUILD}:root",
            "ReplicationWriterRoleArn": ROLE,
            "PipelineBucketAccessRoleArns": "",  # as deployed: every parameter reads back, defaults included
            **parameters,
        },
        outputs={"BuildBucket": BUCKET, "CMK": KEY},
        tags={TAG_MANAGED: TAG_VALUE},
    )


def reads(
    center: StackState, p: StackState | None = None, d: StackState | None = None, v: StackState | None = None
) -> Reads:
    dev = {
        "CrossAccountPrimary": p or StackState("CrossAccountPrimary"),
        "CrossAccountDeploy": d or StackState("CrossAccountDeploy"),
        "CrossAccountDeveloper": v or StackState("CrossAccountDeveloper"),
    }
    kinds = {
        "CrossAccountPrimary": "CrossAccountPrimary",
        "CrossAccountDeploy": "CrossAccountDeploy",
        "CrossAccountDeveloper": "CrossAccountDeveloper",
    }
    return Reads(
        center,
        dev,
        {name: state.exists for name, state in dev.items()},
        {name: kinds[name] if state.exists else None for name, state in dev.items()},  # type: ignore[misc]
    )


TWO = [fake_entry(1), fake_entry(2)]


def test_a_new_developer_is_appended_and_every_stack_created() -> None:
    plan = plan_onboard(TARGET, reads(central(TWO)), "aws")
    assert [(s.stack, s.action) for s in plan.stacks] == [
        ("CrossAccountPrimary", "create"),
        ("CrossAccountDeploy", "create"),
        ("CrossAccountDeveloper", "create"),
    ]
    assert plan.change.after.buckets == [TWO[0][0], TWO[1][0], BUCKET]
    assert plan.change.after.entries[2].cmk.endswith("<key-created-by-CrossAccountPrimary>")
    assert plan.to_json()["developer"]["cmk"] is None


def test_everything_as_planned_is_nothing_to_do() -> None:
    deploy = StackState("CrossAccountDeploy", "CREATE_COMPLETE", parameters={"BuildAccount": DEV, "CMKARNs": KEY})
    developer = StackState("CrossAccountDeveloper", "CREATE_COMPLETE", parameters={"ReplicationFunctionRoleArn": ROLE})
    registered = [*TWO, (BUCKET, reg.star_arn_for(BUCKET), KEY)]
    plan = plan_onboard(TARGET, reads(central(registered), primary(), deploy, developer), "aws")
    assert plan.nothing_to_do


def test_a_primary_that_does_not_admit_the_central_role_is_updated() -> None:
    plan = plan_onboard(TARGET, reads(central(TWO), primary(ReplicationWriterRoleArn="")), "aws")
    assert plan.stacks[0].action == "update"


def test_a_developer_registered_with_another_key_gets_its_key_replaced_in_place() -> None:
    old = (BUCKET, reg.star_arn_for(BUCKET), f"arn:aws:kms:us-east-1:{DEV}:key/00000000-1234-1234-1234-123456789012")
    plan = plan_onboard(TARGET, reads(central([TWO[0], old, TWO[1]]), primary()), "aws")
    assert plan.change.kind == "key-replaced"
    assert plan.change.after.buckets == [TWO[0][0], BUCKET, TWO[1][0]]


@pytest.mark.parametrize(
    ("center", "dev", "message"),
    [
        (StackState("CrossAccountPrimary"), None, "no stack CrossAccountPrimary in the build account"),
        (central([], ReplicationCMKs=TWO[0][2]), None, "unequal lengths"),
        (full_central(), None, "ReplicationMore01 to ReplicationMore10\\) would be full"),
        (central(TWO), primary("UPDATE_ROLLBACK_FAILED"), "continue-update-rollback"),
        (
            central(TWO),
            StackState("CrossAccountPrimary", "UPDATE_COMPLETE"),
            "holds a template of another kind",
        ),
    ],
    ids=["no central stack", "unequal lists", "no room", "blocked developer stack", "wrong template in a stack"],
)
def test_refusals_before_any_write(center: StackState, dev: StackState | None, message: str) -> None:
    read = reads(center, dev)
    if dev is not None and not dev.outputs:
        read.dev_kinds["CrossAccountPrimary"] = None
    with pytest.raises(InvalidInput, match=message):
        plan_onboard(TARGET, read, "aws")


def test_a_bucket_left_without_its_stack_refuses_the_onboarding() -> None:
    read = reads(central(TWO))
    read.leftovers.append(InvalidInput(f"the bucket {BUCKET} already exists without its stack CrossAccountPrimary"))
    with pytest.raises(InvalidInput, match="already exists without its stack"):
        plan_onboard(TARGET, read, "aws")


def test_removal_withdraws_the_grant_and_keeps_the_developers_own_stacks() -> None:
    registered = [*TWO, (BUCKET, reg.star_arn_for(BUCKET), KEY)]
    developer = StackState("CrossAccountDeveloper", "CREATE_COMPLETE")
    plan = plan_remove(TARGET, reads(central(registered), primary(), v=developer), "aws", purge=False)
    assert [(s.stack, s.action) for s in plan.stacks] == [
        ("CrossAccountDeveloper", "delete"),
        ("CrossAccountPrimary", "update"),
    ]
    assert plan.change.after.buckets == [TWO[0][0], TWO[1][0]]
    assert any("your own pipeline stacks stay" in n for n in plan.notes)


def test_purge_deletes_only_what_this_tool_created() -> None:
    mine = StackState("CrossAccountDeploy", "CREATE_COMPLETE", tags={TAG_MANAGED: TAG_VALUE})
    theirs = StackState("CrossAccountPrimary", "CREATE_COMPLETE", outputs={"BuildBucket": BUCKET})
    plan = plan_remove(TARGET, reads(central(TWO), theirs, mine), "aws", purge=True)
    actions = {s.stack: s.action for s in plan.stacks}
    assert actions["CrossAccountDeploy"] == "delete"
    assert actions["CrossAccountPrimary"] == "none"
    assert "CrossAccountPrimary was not created by this tool, so --purge leaves it" in plan.notes


def test_an_orphan_must_be_a_bucket_name() -> None:
    with pytest.raises(InvalidInput, match="is not a bucket name"):
        plan_orphan(CENTRAL, Reads(central(TWO)), "[/]")
    plan = plan_orphan(CENTRAL, Reads(central(TWO)), TWO[1][0])
    assert plan.change.after.buckets == [TWO[0][0]]
    assert plan.stacks == []


def test_an_orphan_that_is_not_registered_is_refused_with_the_nearest_names() -> None:
    with pytest.raises(InvalidInput, match=r"no such bucket in .*2 buckets registered") as refused:
        plan_orphan(CENTRAL, Reads(central(TWO)), TWO[1][0] + "x")
    assert refused.value.hint is not None
    assert refused.value.hint.startswith(f"did you mean {TWO[1][0]}")  # the nearest first
    with pytest.raises(InvalidInput) as unlike:
        plan_orphan(CENTRAL, Reads(central(TWO)), "nosuchbucket")
    assert unlike.value.hint == f"the registered ones: {TWO[0][0]}, {TWO[1][0]}"


def test_same_account_deployment_roles_are_dropped_and_others_kept() -> None:
    state = StackState(
        "P",
        "CREATE_COMPLETE",
        parameters={
            "PipelineBucketAccessRoleArns": f"arn:aws:iam::{DEV}:role/old, arn:aws:iam::333333333333:role/other"
        },
    )
    assert foreign_roles(state, DEV) == "arn:aws:iam::333333333333:role/other"
    wanted = primary_parameters(state, f"arn:aws:iam::{BUILD}:root", ROLE, DEV)
    assert wanted == {
        "RootAccountArns": f"arn:aws:iam::{BUILD}:root",
        "ReplicationWriterRoleArn": ROLE,
        "PipelineBucketAccessRoleArns": "arn:aws:iam::333333333333:role/other",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_template_is_recognised_by_what_only_it_declares(kind: Kind) -> None:
    assert kind_of(template(kind)) == kind
    assert kind_of("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n") is None
