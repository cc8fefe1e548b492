"""--adopt's plan, pure: the seed project's primary template moved to this project's without
replacing or deleting anything that holds data or a name others rely on."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CFN, ROOT
from xacct.core import adopt, grants

SEED = (ROOT / "tests" / "data" / "seed-1.0.0" / "CrossAccountPrimary.yaml").read_text()
OURS = (CFN / "CrossAccountPrimary.yaml").read_text()
PSEUDO = {"AWS::AccountId": "111111111111", "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::StackName": "S"}
PARAMS = {
    "RootAccountArns": "arn:aws:iam::111111111111:root",
    "DeployReady": "true",
    "EnableReplication": "true",
    "ReplicationBucketList": "xacct-build-222222222222-us-east-1",
    "ReplicationBucketStarArns": "arn:aws:s3:::xacct-build-222222222222-us-east-1/*",
    "ReplicationCMKs": "arn:aws:kms:us-east-1:222222222222:key/k",
}
BUCKETS = {"BuildBucket": "s-buildbucket-1a2b", "PipelineBucket": "s-pipelinebucket-3c4d"}


def moved() -> adopt.Adoption:
    return adopt.adoption("S", SEED, OURS, state_parameters=PARAMS, outputs=BUCKETS, pseudo=PSEUDO)


def test_the_move_replaces_and_deletes_nothing_and_keeps_every_export() -> None:
    plan = moved()
    assert plan.dangers == []
    assert plan.exports == dict.fromkeys(
        [
            "CrossAccountCMK",
            "BuildBucket",
            "PipelineBucket",
            "SyncArtifactsFunction",
            "SyncArtifactsFunctionArn",
            "ReplicationFunctionArn",
        ],
        True,
    )
    actions = {m.logical_id: m.action for m in plan.moves}
    assert actions["KMSKey"] == "Modify"
    assert "ArtifactKey" not in actions
    assert [m.logical_id for m in plan.moves if m.action == "Remove"] == ["ReplicationPolicy"]
    resources = plan.template["Resources"]
    assert "BucketName" not in resources["BuildBucket"]["Properties"]
    assert resources["ReplicationRole"]["Properties"]["RoleName"] == "CrossAccountPipelineS3Replication"
    assert resources["ReplicationFunction"]["Properties"]["FunctionName"] == "S3DataReplicator"
    assert BUCKETS["BuildBucket"] in str(resources["ReplicationRole"]["Properties"]["Policies"])
    assert "xacct-build-${AWS::AccountId}" not in plan.body
    assert set(plan.parameters) <= set(plan.template["Parameters"])
    assert any("ReplicationPolicy" in n for n in plan.notes)
    assert any("SyncArtifactsFunction stays as it is on nodejs10.x" in n for n in plan.notes)


def test_a_careless_move_is_marked_dangerous() -> None:
    """This project's template as it is, over the seed's stack: what the danger checks are for."""
    seed, ours = grants.load(SEED), grants.load(OURS)
    found = {m.logical_id: m for m in adopt.moves(seed, ours, PARAMS, PSEUDO)}
    assert found["KMSKey"].action == "Remove"
    assert "deletes the AWS::KMS::Key KMSKey" in found["KMSKey"].danger
    assert "replaces BuildBucket: BucketName changes" in found["BuildBucket"].danger
    assert "replaces ReplicationRole: RoleName changes" in found["ReplicationRole"].danger
    lost = {name for name, kept in adopt.exports_kept(seed, ours).items() if not kept}
    assert lost == {"CrossAccountCMK", "ReplicationFunctionArn", "SyncArtifactsFunction", "SyncArtifactsFunctionArn"}


def test_references_follow_a_renamed_resource_in_every_form() -> None:
    names = {"A": "B"}
    node: dict[str, Any] = {
        "x": {"Ref": "A"},
        "y": {"Fn::GetAtt": ["A", "Arn"]},
        "z": {"Fn::Sub": "${A}/${A.Arn}/${AWS::Region}/${Other}"},
        "w": {"Fn::Sub": ["${A}-${V}", {"V": {"Ref": "A"}}]},
    }
    assert adopt.rename(node, names) == {
        "x": {"Ref": "B"},
        "y": {"Fn::GetAtt": ["B", "Arn"]},
        "z": {"Fn::Sub": "${B}/${B.Arn}/${AWS::Region}/${Other}"},
        "w": {"Fn::Sub": ["${B}-${V}", {"V": {"Ref": "B"}}]},
    }


ids = st.from_regex(r"[A-Z][a-zA-Z]{0,6}", fullmatch=True)
nodes = st.recursive(
    st.one_of(
        ids.map(lambda i: {"Ref": i}),
        ids.map(lambda i: {"Fn::GetAtt": [i, "Arn"]}),
        ids.map(lambda i: {"Fn::Sub": f"x-${{{i}}}-${{{i}.Arn}}"}),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["p", "q"]), inner, max_size=2)
    ),
    max_leaves=8,
)


@given(nodes, ids, ids)
def test_renaming_there_and_back_changes_nothing(node: Any, old: str, new: str) -> None:
    text = str(node)
    if new in text or old == new:  # a name already in use would merge two resources
        return
    assert adopt.rename(adopt.rename(node, {old: new}), {new: old}) == node
