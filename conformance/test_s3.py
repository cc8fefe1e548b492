"""S3's answers: what a request that reaches another account's bucket, names an owner or sets an ACL
gets back. Each case quotes the AWS sentence it checks."""

from __future__ import annotations

import pytest

from conformance import make
from conformance.conftest import World, error_code, eventually


@pytest.mark.rule("missing-key")
def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(world: World) -> None:
    """S3 API reference, HeadObject and GetObject, "Permissions": "If the object you request doesn't
    exist, the error that Amazon S3 returns depends on whether you also have the s3:ListBucket
    permission. If you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP
    status code 404 Not Found error. If you don't have the s3:ListBucket permission, Amazon S3
    returns an HTTP status code 403 Forbidden error." """
    name = make.bucket(world, world.a)
    owner, reader = world.a.client("s3"), world.b.client("s3")
    read = make.allow(make.root(world.b), ["s3:GetObject"], f"arn:aws:s3:::{name}/*")
    owner.put_bucket_policy(Bucket=name, Policy=make.policy(read))
    owner.put_object(Bucket=name, Key="present", Body=b"x")
    got = eventually(lambda: reader.get_object(Bucket=name, Key="present"))
    assert got["Body"].read() == b"x"
    assert error_code(lambda: reader.head_object(Bucket=name, Key="absent")) == "403"
    assert error_code(lambda: reader.get_object(Bucket=name, Key="absent")) == "AccessDenied"
    assert error_code(lambda: owner.head_object(Bucket=name, Key="absent")) == "404"  # the owner may list
    listing = make.allow(make.root(world.b), ["s3:ListBucket"], f"arn:aws:s3:::{name}")
    owner.put_bucket_policy(Bucket=name, Policy=make.policy(read, listing))

    def answers_404() -> None:
        assert error_code(lambda: reader.head_object(Bucket=name, Key="absent")) == "404"
        assert error_code(lambda: reader.get_object(Bucket=name, Key="absent")) == "NoSuchKey"

    eventually(answers_404)


@pytest.mark.rule("expected-bucket-owner")
def test_expected_bucket_owner_of_another_account_is_403(world: World) -> None:
    """S3 user guide, "Verifying bucket ownership with bucket owner condition": "If the bucket owner
    doesn't match the account ID that you specify, the request fails with an HTTP 403 (Forbidden)
    error" ... "bucket owner condition" also applies to the source of a copy
    (x-amz-source-expected-bucket-owner)."""
    name = make.bucket(world, world.a)
    s3 = world.a.client("s3")
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert error_code(lambda: s3.head_object(Bucket=name, Key="k", ExpectedBucketOwner=world.b.id)) == "403"
    assert error_code(lambda: s3.put_object(Bucket=name, Key="k2", Body=b"x", ExpectedBucketOwner=world.b.id)) == (
        "AccessDenied"
    )
    copy = {"Bucket": name, "Key": "k3", "CopySource": {"Bucket": name, "Key": "k"}}
    assert error_code(lambda: s3.copy_object(**copy, ExpectedSourceBucketOwner=world.b.id)) == "AccessDenied"
    s3.head_object(Bucket=name, Key="k", ExpectedBucketOwner=world.a.id)  # its own owner: allowed


@pytest.mark.rule("acls-disabled")
def test_a_bucket_with_acls_disabled_refuses_every_acl_but_bucket_owner_full_control(world: World) -> None:
    """S3 user guide, "Controlling ownership of objects and disabling ACLs for your bucket": "Bucket
    owner enforced (default) - ACLs are disabled ... requests to set ACLs or update ACLs fail";
    "Troubleshooting": "PUT requests that include ACLs other than the bucket-owner-full-control canned
    ACL fail with the AccessControlListNotSupported error code"."""
    name = make.bucket(world, world.a)
    s3 = world.a.client("s3")
    refused = error_code(lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"))
    assert refused == "AccessControlListNotSupported"
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    assert error_code(lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="private")) == (
        "AccessControlListNotSupported"
    )


@pytest.mark.rule("lifecycle")
def test_a_templates_lifecycle_rules_are_put_and_carried_out(world: World) -> None:
    """AWS::S3::Bucket, LifecycleConfiguration: "Specifies the lifecycle configuration for objects in an
    Amazon S3 bucket"; NoncurrentVersionExpiration: "Upon expiration, Amazon S3 permanently deletes the
    noncurrent object versions", NoncurrentDays "the number of days an object is noncurrent before
    Amazon S3 can perform the associated action". The rules are visible at once; S3 carries them out
    in the background, by days: on AWS only the configuration can be checked within a test."""
    name = world.name("aging")
    expire = {"NoncurrentVersionExpiration": {"NoncurrentDays": 1}}
    abort = {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
    rules = [
        {"Id": "ExpireReplacedVersions", "Status": "Enabled", **expire},
        {"Id": "AbortIncompleteMultipartUploads", "Status": "Enabled", **abort},
    ]
    properties = {"BucketName": name, "VersioningConfiguration": {"Status": "Enabled"}}
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {**properties, "LifecycleConfiguration": {"Rules": rules}}}
    s3 = world.a.client("s3")
    make.stack(world, world.a, {"Resources": {"B": bucket}})
    world.later(lambda: make.empty_and_delete(s3, name))
    held = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert held["ExpireReplacedVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert held["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    if world.emulator is None:
        return
    first = s3.put_object(Bucket=name, Key="app.zip", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=name, Key="app.zip", Body=b"2")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=name, Key="half.zip")["UploadId"]
    world.emulator.run_lifecycle(after_days=0.5)  # not a day yet: nothing goes
    versions = [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]]
    assert sorted(versions) == sorted([first, second])
    world.emulator.run_lifecycle(after_days=2)
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]] == [second]
    assert s3.get_object(Bucket=name, Key="app.zip")["Body"].read() == b"2"
    assert upload not in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", [])]
