"""The replication function, as deployed: the inline code of the central stack, run by the
emulator's Lambda runtime with the central replication role's credentials, invoked by S3's own
notification after real onboardings (and directly, to deliver the same event twice)."""

from __future__ import annotations

import io
import json
import time
import urllib.parse
import zipfile
from typing import Any

import boto3
import botocore.exceptions as bx
import pytest

from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    cfn,
    deploy_central,
    fake_entry,
    moto_stack,
    onboard_args,
    run_cli,
    session,
    stack_outputs,
)
from xacct.function import copies, replicator, targets
from xacct.sandbox.awslambda import runtime as lambda_runtime
from xacct.sandbox.emulator import Emulator

CENTRAL_BUCKET = f"xacct-build-{BUILD}-{REGION}"
BUCKET1, BUCKET2 = f"xacct-build-{DEV1}-{REGION}", f"xacct-build-{DEV2}-{REGION}"
NINE_MB = 9 * 1024 * 1024


def deployed_function() -> Any:
    """moto's record of the central stack's function (its code as CloudFormation deployed it)."""
    return moto_stack(BUILD, "CrossAccountPrimary").resource_map["Replicator"]


def deployed_code() -> str:
    from xacct.core.member_template import load

    body = cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"]
    return str(load(body)["Resources"]["Replicator"]["Properties"]["Code"]["ZipFile"])


def lines(timeout: float = 60, count: int = 1, artifact: str | None = None) -> list[dict[str, Any]]:
    """The function's JSON lines in its log group (what a CloudWatch Logs query would find)."""
    logs = session("build").client("logs")
    group = "/aws/lambda/xacct-replicator-CrossAccountPrimary"
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for event in logs.filter_log_events(logGroupName=group).get("events", []):
            try:
                record = json.loads(event["message"])
            except ValueError:
                continue
            if record.get("xacct") == "replication" and (artifact is None or record.get("artifact") == artifact):
                found.append(record)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def build_artifact(key: str, body: bytes, **extra: Any) -> str:
    """What a central build does: put an artifact into the build bucket. Its version id."""
    put = session("build").client("s3").put_object(Bucket=CENTRAL_BUCKET, Key=key, Body=body, **extra)
    return str(put["VersionId"])


def s3_event(key: str, version: str) -> dict[str, Any]:
    """An S3 notification as S3 sends it: the key URL-encoded ('+' for spaces), the version named."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": CENTRAL_BUCKET, "arn": f"arn:aws:s3:::{CENTRAL_BUCKET}"},
                    "object": {"key": urllib.parse.quote_plus(key), "versionId": version, "size": 4},
                },
            }
        ]
    }


@pytest.fixture
def two_developers(aws: Emulator) -> None:
    deploy_central()
    for profile, account in (("dev1", DEV1), ("dev2", DEV2)):
        r = run_cli(*onboard_args(profile, account), "--yes")
        assert r.code == 0, r.err


def test_the_code_that_runs_is_the_deployed_template_code(two_developers: None) -> None:
    zipped = zipfile.ZipFile(io.BytesIO(deployed_function().code_bytes)).read("index.py").decode()
    assert zipped.strip() == deployed_code().strip()
    assert deployed_function().role == stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]


@pytest.mark.parametrize("size", [4096, NINE_MB], ids=["small", "9 MB"])
def test_an_artifact_reaches_every_onboarded_developer_with_its_metadata(two_developers: None, size: int) -> None:
    key = "app/build 7/app.zip"
    body = bytes(range(256)) * (size // 256)
    version = build_artifact(
        key,
        body,
        ContentType="application/zip",
        Metadata={"codepipeline-artifact-revision-summary": "Merge pull request #42"},
        Tagging="team=core&stage=build",
    )
    [line] = lines(artifact=f"s3://{CENTRAL_BUCKET}/{key}")
    assert sorted(line["delivered"]) == [BUCKET1, BUCKET2]
    assert line["failed"] == {}
    for profile, bucket in (("dev1", BUCKET1), ("dev2", BUCKET2)):
        s3 = session(profile).client("s3")
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body
        assert got["ContentType"] == "application/zip"
        assert got["Metadata"]["codepipeline-artifact-revision-summary"] == "Merge pull request #42"
        assert got["Metadata"][copies.SOURCE_VERSION] == version
        tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
        assert tags == {"team": "core", "stage": "build"}


def test_the_same_event_twice_leaves_one_version(two_developers: None) -> None:
    version = build_artifact("app.zip", b"artifact", ContentType="application/zip")
    lines(artifact=f"s3://{CENTRAL_BUCKET}/app.zip")  # S3's own delivery, done
    function = deployed_function()
    for _ in range(2):  # Lambda's retry, or S3 delivering the event again
        again = lambda_runtime.invoke(function, s3_event("app.zip", version))
        assert again.ok, again.output
        assert lambda_runtime.last_result(again.output) == {"delivered": 0, "skipped": 2, "failed": 0}
    for profile, bucket in (("dev1", BUCKET1), ("dev2", BUCKET2)):
        versions = session(profile).client("s3").list_object_versions(Bucket=bucket, Prefix="app.zip")
        assert len(versions["Versions"]) == 1


def test_a_registered_bucket_that_is_gone_does_not_stop_the_others(aws: Emulator) -> None:
    ghost = fake_entry(1)  # registered, but its bucket does not exist
    deploy_central([ghost])
    assert run_cli(*onboard_args(), "--yes").code == 0
    build_artifact("app.zip", b"artifact")
    found = lines(artifact=f"s3://{CENTRAL_BUCKET}/app.zip")
    time.sleep(lambda_runtime.RETRY_DELAYS[0] + 1)  # a failed invocation would have been retried by now
    [line] = lines(artifact=f"s3://{CENTRAL_BUCKET}/app.zip")
    assert found == [line]
    assert line["delivered"] == [BUCKET1]
    assert line["failed"][ghost[0]]["permanent"] is True
    assert line["failed"][ghost[0]]["reason"].startswith("NoSuchBucket")
    assert session("dev1").client("s3").get_object(Bucket=BUCKET1, Key="app.zip")["Body"].read() == b"artifact"


def test_a_developer_whose_key_stops_admitting_the_build_account_receives_nothing(two_developers: None) -> None:
    """KMS authorizes S3's use of the key as the caller: a key policy without the build account
    refuses the copy into that one bucket, and the function says why; the others still receive."""
    kms = session("dev2").client("kms")
    key = stack_outputs("CrossAccountPrimary", "dev2")["CMK"]
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "TrustedAccountsUseKey"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    build_artifact("app.zip", b"artifact")
    [line] = lines(artifact=f"s3://{CENTRAL_BUCKET}/app.zip")
    assert line["delivered"] == [BUCKET1]
    assert line["failed"][BUCKET2]["reason"].startswith("AccessDenied")
    assert "kms:GenerateDataKey" in line["failed"][BUCKET2]["reason"]
    assert "Versions" not in session("dev2").client("s3").list_object_versions(Bucket=BUCKET2, Prefix="app.zip")
    assert session("dev1").client("s3").get_object(Bucket=BUCKET1, Key="app.zip")["Body"].read() == b"artifact"


def test_a_bucket_recreated_under_a_registered_name_by_another_account_receives_nothing(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    role = stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]
    dev1 = session("dev1").client("s3")
    dev1.delete_bucket_policy(Bucket=BUCKET1)
    dev1.delete_bucket(Bucket=BUCKET1)  # deleted by its owner; still registered centrally
    impostor = session("dev2").client("s3")
    impostor.create_bucket(Bucket=BUCKET1)  # the same name, now in another account
    impostor.put_bucket_policy(
        Bucket=BUCKET1,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"},
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
                        "Resource": f"arn:aws:s3:::{BUCKET1}/*",
                        "Condition": {"ArnEquals": {"aws:PrincipalArn": role}},
                    }
                ],
            }
        ),
    )
    build_artifact("app.zip", b"secret build")
    line = lines(artifact=f"s3://{CENTRAL_BUCKET}/app.zip")[0]
    assert line["delivered"] == []
    assert line["failed"][BUCKET1]["owner"] == DEV1
    assert "AccessDenied" in line["failed"][BUCKET1]["reason"]
    # Registered minutes ago, so the refusal is retried (its grants may be on their way), and
    # every retry is refused the same: the impostor never receives anything.
    lines(timeout=8, count=3, artifact=f"s3://{CENTRAL_BUCKET}/app.zip")
    assert "Contents" not in impostor.list_objects_v2(Bucket=BUCKET1)


def test_beyond_the_single_copy_limit_a_multipart_copy_keeps_metadata_and_tags(
    two_developers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above S3's 5 GB CopyObject limit the copy is multipart, which carries nothing of the source's
    own: the function sets the metadata and tags on CreateMultipartUpload. The limit is lowered here
    so a 9 MB artifact takes that path; the code is the module the template inlines."""
    key = "big/app.zip"
    body = b"x" * NINE_MB
    version = build_artifact(key, body, ContentType="application/zip", Metadata={"build": "42"}, Tagging="team=core")
    lines(artifact=f"s3://{CENTRAL_BUCKET}/{key}")
    dev1 = session("dev1").client("s3")
    for v in dev1.list_object_versions(Bucket=BUCKET1, Prefix=key)["Versions"]:
        dev1.delete_object(Bucket=BUCKET1, Key=key, VersionId=v["VersionId"])
    # The role trusts only Lambda (no administrator may assume it): its credentials as Lambda gets them.
    creds = lambda_runtime.execution_credentials(deployed_function())
    for name, value in (
        *creds.items(),
        ("TARGETS_PARAMETER", "/xacct/CrossAccountPrimary/replication-targets"),
        ("KEYS_PARAMETER", "/xacct/CrossAccountPrimary/replication-keys"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(copies, "SINGLE_COPY_LIMIT", 8 * 1024 * 1024)
    monkeypatch.setattr(copies, "PART_SIZE", 5 * 1024 * 1024)

    class Context:
        invoked_function_arn = deployed_function().function_arn

    result = replicator.handler(s3_event(key, version), Context())
    assert result == {"delivered": 1, "skipped": 1, "failed": 0}
    got = dev1.get_object(Bucket=BUCKET1, Key=key)
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/zip"
    assert got["Metadata"] == {"build": "42", copies.SOURCE_VERSION: version}
    assert dev1.get_object_tagging(Bucket=BUCKET1, Key=key)["TagSet"] == [{"Key": "team", "Value": "core"}]
    assert dev1.list_multipart_uploads(Bucket=BUCKET1).get("Uploads", []) == []


def test_verify_probe_reaches_only_that_developer_and_cleans_up(two_developers: None) -> None:
    r = run_cli(*onboard_args(), "--verify", "--probe")
    assert r.code == 0, r.out + r.err
    assert "ok     probe:" in r.out
    assert "removed" in r.out
    dev2 = session("dev2").client("s3")
    assert "Versions" not in dev2.list_object_versions(Bucket=BUCKET2, Prefix="xacct-probe/")
    dev1 = session("dev1").client("s3")
    assert "Versions" not in dev1.list_object_versions(Bucket=BUCKET1, Prefix="xacct-probe/")
    build = session("build").client("s3")
    assert "Versions" not in build.list_object_versions(Bucket=CENTRAL_BUCKET, Prefix="xacct-probe/")
    [line] = lines(count=1)
    assert line["targets"] == 1
    assert line["delivered"] == [BUCKET1]


# ---- the parts, with AWS's answers written out --------------------------------------------------


class Parameters:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_parameters(self, Names: list[str]) -> dict[str, Any]:
        return {"Parameters": [{"Name": n, "Value": self.values[n]} for n in Names if n in self.values]}


def test_targets_pair_each_bucket_with_the_account_of_its_key() -> None:
    keys = "keys:arn:aws:kms:us-east-1:222222222222:key/a,arn:aws:kms:eu-west-1:333333333333:key/b"
    ssm = Parameters({"t": "true:bucket-a, bucket-b", "k": keys})
    assert targets.targets(ssm, "t", "k") == [("bucket-a", "222222222222"), ("bucket-b", "333333333333")]
    assert targets.targets(Parameters({"t": "false:bucket-a", "k": keys}), "t", "k") == []


def test_a_bucket_without_an_owner_is_never_written(capsys: pytest.CaptureFixture[str]) -> None:
    ssm = Parameters({"t": "true:bucket-a,bucket-b", "k": "keys:arn:aws:kms:us-east-1:222222222222:key/a"})
    assert targets.targets(ssm, "t", "k") == [("bucket-a", "222222222222")]
    assert "differ in length" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("SlowDown", 503, True),
        ("InternalError", 500, True),
        ("NoSuchBucket", 404, False),
        ("AccessDenied", 403, False),
        ("KMS.DisabledException", 400, False),
    ],
)
def test_which_failures_may_pass(code: str, status: int, transient: bool) -> None:
    exc = bx.ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "CopyObject")  # type: ignore[typeddict-item]
    assert copies.transient(exc) is transient
    assert copies.transient(bx.EndpointConnectionError(endpoint_url="https://s3")) is True


def test_a_transient_failure_is_retried_for_that_target_only(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: dict[str, int] = {}

    class Flaky:
        def current(self) -> bool:
            return True

        def copy_to(self, bucket: str, owner: str) -> str:
            attempts[bucket] = attempts.get(bucket, 0) + 1
            if bucket == "flaky" and attempts[bucket] == 1:
                raise bx.ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "x")  # type: ignore[typeddict-item]
            return "delivered"

    monkeypatch.setattr("xacct.function.copies.time.sleep", lambda _: None)
    result = copies.deliver(Flaky(), [("steady", "1"), ("flaky", "2")])  # type: ignore[arg-type]
    assert result == {"delivered": ["steady", "flaky"], "skipped": [], "failed": {}}
    assert attempts == {"steady": 1, "flaky": 2}
    assert boto3  # the real clients are exercised by the tests above
