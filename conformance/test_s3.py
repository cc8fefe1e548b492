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
