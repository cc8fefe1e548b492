"""The replication function, run against the emulator with S3 event payloads as S3 sends them."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.conftest import session
from xacct import replicator

SOURCE = "xacct-build-111111111111-us-east-1"
PARAM = "/xacct/CrossAccountPrimary/replication-targets"


def s3_event(bucket: str, *keys: str) -> dict:  # type: ignore[type-arg]
    """The shape S3 delivers: keys URL-encoded, spaces as '+'."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": urllib.parse.quote_plus(key), "size": 4, "sequencer": "0A1B2C3D4E5F678901"},
                },
            }
            for key in keys
        ]
    }


@pytest.fixture
def clients(aws, monkeypatch):  # type: ignore[no-untyped-def]
    s = session("build")
    s3, ssm = s.client("s3"), s.client("ssm")
    s3.create_bucket(Bucket=SOURCE)
    monkeypatch.setenv("TARGETS_PARAMETER", PARAM)
    return s3, ssm


def _targets(ssm, value: str) -> None:  # type: ignore[no-untyped-def]
    ssm.put_parameter(Name=PARAM, Value=value, Type="String", Overwrite=True)


def test_copies_url_encoded_keys_into_every_target(clients) -> None:  # type: ignore[no-untyped-def]
    s3, ssm = clients
    for b in ("dev-a-bucket", "dev-b-bucket"):
        s3.create_bucket(Bucket=b)
    _targets(ssm, "true:dev-a-bucket, dev-b-bucket")
    keys = ["app/build 42/output+final.zip", "plain.zip"]
    for k in keys:
        s3.put_object(Bucket=SOURCE, Key=k, Body=b"data")
    result = replicator.handler(s3_event(SOURCE, *keys), None, s3=s3, ssm=ssm)
    assert result["copied"] == 4
    for b in ("dev-a-bucket", "dev-b-bucket"):
        listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"])
        assert listed == sorted(keys)
        assert s3.get_object(Bucket=b, Key=keys[0])["Body"].read() == b"data"


def test_one_failing_target_does_not_stop_the_others_and_is_reported(clients) -> None:  # type: ignore[no-untyped-def]
    s3, ssm = clients
    s3.create_bucket(Bucket="dev-a-bucket")
    s3.create_bucket(Bucket="dev-c-bucket")
    _targets(ssm, "true:dev-a-bucket,dev-gone-bucket,dev-c-bucket")
    s3.put_object(Bucket=SOURCE, Key="a b.zip", Body=b"x")
    with pytest.raises(replicator.ReplicationError, match=r"a b\.zip -> dev-gone-bucket"):
        replicator.handler(s3_event(SOURCE, "a b.zip"), None, s3=s3, ssm=ssm)
    for b in ("dev-a-bucket", "dev-c-bucket"):
        assert s3.get_object(Bucket=b, Key="a b.zip")["Body"].read() == b"x"


def test_paused_replication_copies_nothing(clients) -> None:  # type: ignore[no-untyped-def]
    s3, ssm = clients
    s3.create_bucket(Bucket="dev-a-bucket")
    _targets(ssm, "false:dev-a-bucket")
    s3.put_object(Bucket=SOURCE, Key="k.zip", Body=b"x")
    assert replicator.handler(s3_event(SOURCE, "k.zip"), None, s3=s3, ssm=ssm) == {"copied": 0, "targets": []}
    assert "Contents" not in s3.list_objects_v2(Bucket="dev-a-bucket")


def test_the_function_reads_what_the_central_stack_writes(aws) -> None:  # type: ignore[no-untyped-def]
    """The SSM value the template renders is the one the function parses."""
    from tests.conftest import deploy_central, fake_entry

    one, two = fake_entry(1), fake_entry(2)
    deploy_central([one, two])
    ssm = session("build").client("ssm")
    assert replicator.targets(ssm, PARAM) == [one[0], two[0]]
