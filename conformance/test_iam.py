"""IAM's answers: who may do what, as AWS's policy evaluation logic decides it, with the request context
AWS builds, and the quotas and principals IAM holds policies to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import make
from conformance.conftest import World, error_code, eventually


def reader_role(world: World, bucket: str) -> tuple[str, Any]:
    """A role in account b allowed to read `bucket`'s objects by its own policy; (its ARN, an S3 client as it)."""
    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    arn = make.role(world, world.b, make.trusting(world.b), {"read": read})
    return arn, make.assumed(world, world.b, arn).client("s3")


def object_in(world: World) -> str:
    bucket = make.bucket(world, world.a)
    world.a.client("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    return bucket


def readable(s3: Any, bucket: str) -> str:
    return error_code(lambda: s3.get_object(Bucket=bucket, Key="k"))


@pytest.mark.rule("authorized")
def test_across_accounts_both_the_callers_policy_and_the_resource_policy_must_allow(world: World) -> None:
    """IAM user guide, "Cross-account policy evaluation logic": "the principal in the trusted account
    must have identity-based policy permissions and the resource-based policy must grant access"."""
    bucket = object_in(world)
    role, as_role = reader_role(world, bucket)
    assert readable(as_role, bucket) == "AccessDenied"  # its own policy allows; the bucket's says nothing
    s3 = world.a.client("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=make.policy(make.allow(make.root(world.b), ["s3:GetObject"],
                         f"arn:aws:s3:::{bucket}/*")))  # fmt: skip
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))
    other = make.role(world, world.b, make.trusting(world.b))  # the bucket admits its account; its own policy nothing
    assert readable(make.assumed(world, world.b, other).client("s3"), bucket) == "AccessDenied"
    assert role != other


@pytest.mark.rule("request-context")
def test_the_only_this_role_deny_on_aws_userid_exempts_that_role(world: World) -> None:
    """IAM user guide, "AWS global condition context keys", aws:userid: "Use this key to compare the
    requester's principal identifier with the ID that you specify in the policy" (for a role session,
    "role-id:caller-specified-role-name"); STS API reference, GetCallerIdentity, UserId: "The values
    returned are those listed in the aws:userid column". The common "only this role" Deny
    (StringNotLike aws:userid ROLE-ID:*) refuses every other principal, and not that role."""
    bucket = object_in(world)
    role, as_role = reader_role(world, bucket)
    _, other = reader_role(world, bucket)
    role_id = world.b.client("iam").get_role(RoleName=role.rsplit("/", 1)[1])["Role"]["RoleId"]
    statements = [
        make.allow(make.root(world.b), ["s3:GetObject"], f"arn:aws:s3:::{bucket}/*"),
        {"Sid": "OnlyThisRole", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"StringNotLike": {"aws:userid": f"{role_id}:*"}}},
    ]  # fmt: skip
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(*statements))
    me = make.assumed(world, world.b, role).client("sts").get_caller_identity()
    assert me["UserId"].startswith(f"{role_id}:")
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))
    assert readable(other, bucket) == "AccessDenied"


@pytest.mark.rule("policy-variables")
def test_a_policy_variable_in_a_resource_is_the_requests_own_value(world: World) -> None:
    """IAM user guide, "IAM policy elements: Variables and tags": "When the policy is evaluated, the
    policy variables are replaced with values that come from the conditional context keys passed in
    the request"; "If AWS cannot resolve a variable, this might cause the entire statement to be
    invalid"; "${*}", "${?}" and "${$}" stand for a literal "*", "?" and "$". IAM user guide, "IAM JSON
    policy elements: Version": with "2008-10-17" (or none), "policy variables ... are treated as
    literal strings in the policy". An inbox each account may write only under its own id:"""
    bucket = make.bucket(world, world.a)
    writer = world.b.client("s3")
    inbox = make.allow(make.root(world.b), ["s3:PutObject"], f"arn:aws:s3:::{bucket}/${{aws:PrincipalAccount}}/*")
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(inbox))
    eventually(lambda: writer.put_object(Bucket=bucket, Key=f"{world.b.id}/request.json", Body=b"{}"))
    assert error_code(lambda: writer.put_object(Bucket=bucket, Key=f"{world.a.id}/request.json", Body=b"{}")) == (
        "AccessDenied"
    )  # another account's prefix
    assert error_code(lambda: writer.put_object(Bucket=bucket, Key="${aws:PrincipalAccount}/r", Body=b"{}")) == (
        "AccessDenied"
    )  # the variable is not a literal in 2012-10-17
    unresolved = make.allow(make.root(world.b), ["s3:PutObject"], f"arn:aws:s3:::{bucket}/${{aws:username}}/*")
    literal = make.allow(make.root(world.b), ["s3:PutObject"], f"arn:aws:s3:::{bucket}/star-${{*}}/*")
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(unresolved, literal))

    def only_the_literal_star() -> None:
        # a role session has no aws:username: that statement grants nothing
        assert error_code(lambda: writer.put_object(Bucket=bucket, Key=f"{world.b.id}/r", Body=b"{}")) == (
            "AccessDenied"
        )
        writer.put_object(Bucket=bucket, Key="star-*/r", Body=b"{}")
        assert error_code(lambda: writer.put_object(Bucket=bucket, Key="star-x/r", Body=b"{}")) == "AccessDenied"

    eventually(only_the_literal_star)
    old = json.dumps({"Version": "2008-10-17", "Statement": [inbox]})
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=old)

    def literal_in_2008() -> None:
        writer.put_object(Bucket=bucket, Key="${aws:PrincipalAccount}/r", Body=b"{}")
        assert error_code(lambda: writer.put_object(Bucket=bucket, Key=f"{world.b.id}/r2", Body=b"{}")) == (
            "AccessDenied"
        )

    eventually(literal_in_2008)


@pytest.mark.rule("request-context")
def test_the_sse_kms_key_id_of_a_write_is_in_its_request_context(world: World) -> None:
    """S3 user guide, "Actions, resources, and condition keys for Amazon S3":
    s3:x-amz-server-side-encryption-aws-kms-key-id "Filters access by AWS KMS key ID" of the request's
    x-amz-server-side-encryption-aws-kms-key-id header. A Deny of writes that name no key refuses a
    plain write and lets one naming its key through."""
    bucket = make.bucket(world, world.a)
    kms = world.a.client("kms")
    key = kms.create_key(Description="xacct conformance")["KeyMetadata"]["Arn"]
    world.later(lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7))
    deny = {"Sid": "NameTheKey", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"}}}  # fmt: skip
    s3 = world.a.client("s3")
    s3.put_bucket_policy(Bucket=bucket, Policy=make.policy(deny))
    eventually(lambda: assert_code(s3.put_object, "AccessDenied", Bucket=bucket, Key="plain", Body=b"x"))
    s3.put_object(Bucket=bucket, Key="named", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)


def assert_code(call: Any, code: str, **kwargs: Any) -> None:
    assert error_code(lambda: call(**kwargs)) == code


@pytest.mark.rule("set-operators")
def test_set_operators_on_a_key_the_request_lacks(world: World) -> None:
    """IAM user guide, "Single-valued vs. multivalued context keys": "ForAnyValue ... If the key in the
    request is missing or resolves to an empty data set, the condition returns false"; "ForAllValues ...
    also returns true if there are no context keys in the request". A direct request carries no
    aws:SourceAccount: an Allow on ForAnyValue:StringNotEquals of it grants nothing, one on
    ForAllValues:StringEquals grants."""
    bucket = object_in(world)
    _, as_role = reader_role(world, bucket)
    resource = f"arn:aws:s3:::{bucket}/*"
    s3 = world.a.client("s3")

    def allowed_when(condition: dict[str, Any]) -> None:
        grant = make.allow(make.root(world.b), ["s3:GetObject"], resource, Condition=condition)
        s3.put_bucket_policy(Bucket=bucket, Policy=make.policy(grant))

    allowed_when({"ForAnyValue:StringNotEquals": {"aws:SourceAccount": "000000000000"}})
    assert readable(as_role, bucket) == "AccessDenied"
    allowed_when({"ForAllValues:StringEquals": {"aws:SourceAccount": "000000000000"}})
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))


@pytest.mark.rule("not-principal")
def test_not_principal_exempts_a_role_session_only_named_whole(world: World) -> None:
    """IAM user guide, "AWS JSON policy elements: NotPrincipal": "When you use NotPrincipal, you must
    also specify the account ARN of the not-denied principal. Otherwise, the policy might deny access
    to the entire account containing the principal" ... "If an assumed-role user (someone who is using
    a role) is being evaluated, AWS might validate the account first, then the role, and then the
    assumed-role user." """
    bucket = object_in(world)
    role, as_role = reader_role(world, bucket)
    session = f"arn:aws:sts::{world.b.id}:assumed-role/{role.rsplit('/', 1)[1]}/conformance"
    resource = f"arn:aws:s3:::{bucket}/*"
    grant = make.allow(make.root(world.b), ["s3:GetObject"], resource)

    def deny_all_but(*names: str) -> None:
        deny = {"Effect": "Deny", "NotPrincipal": {"AWS": list(names)}, "Action": "s3:GetObject", "Resource": resource}
        world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(grant, deny))

    deny_all_but(role)  # the role alone: its account is still denied, and the session with it
    eventually(lambda: assert_code(as_role.get_object, "AccessDenied", Bucket=bucket, Key="k"))
    deny_all_but(make.root(world.b), role, session)
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))


@pytest.mark.rule("conditions")
def test_condition_keys_ignore_case_and_requests_arrive_over_tls(world: World) -> None:
    """IAM user guide, "IAM JSON policy elements: Condition": "Condition key names are not
    case-sensitive"; "aws:SecureTransport ... Use this key to check whether the request was sent using
    TLS" (every request to AWS here is): a TLS-only Deny refuses nothing, and an Allow on
    AWS:PRINCIPALACCOUNT in capitals grants."""
    bucket = object_in(world)
    _, as_role = reader_role(world, bucket)
    resource = f"arn:aws:s3:::{bucket}/*"
    tls = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": resource,
           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip
    shouting = make.allow(make.root(world.b), ["s3:GetObject"], resource,
                          Condition={"StringEquals": {"AWS:PRINCIPALACCOUNT": world.b.id}})  # fmt: skip
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(tls, shouting))
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))


@pytest.mark.rule("principals-exist")
def test_a_policy_may_name_only_a_role_that_exists(world: World) -> None:
    """IAM user guide, "AWS JSON policy elements: Principal": "If your Principal element in a role trust
    policy contains an ARN that points to a specific IAM role, then that ARN transforms to the role
    unique principal ID when you save the policy"; a role that does not exist cannot be saved in a
    bucket, key or trust policy ("Invalid principal in policy")."""
    ghost = f"arn:aws:iam::{world.b.id}:role/{world.name('ghost')}"
    bucket = make.bucket(world, world.a)
    grant = make.policy(make.allow(ghost, ["s3:GetObject"], f"arn:aws:s3:::{bucket}/*"))
    assert error_code(lambda: world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=grant)) == "MalformedPolicy"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost},
             "Action": "sts:AssumeRole"}]}  # fmt: skip
    iam = world.a.client("iam")
    name = world.name("trusting")[:64]
    made = error_code(lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)))
    if not made:
        world.later(lambda: iam.delete_role(RoleName=name))
    assert made == "MalformedPolicyDocument"
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(  # an account root always exists
        make.allow(make.root(world.b), ["s3:GetObject"], f"arn:aws:s3:::{bucket}/*")))  # fmt: skip


@pytest.mark.rule("managed-policy-size")
def test_a_managed_policy_over_6144_characters_is_refused(world: World) -> None:
    """IAM user guide, "IAM and AWS STS quotas": "Managed policy size: 6,144 characters" (whitespace
    not counted); "Role policy size ... 10,240 characters" for a role's inline policies together."""
    iam = world.a.client("iam")
    resources = [f"arn:aws:s3:::bucket-{n:04d}/*" for n in range(250)]
    big = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": resources}]}
    assert len(json.dumps(big, separators=(",", ":"))) > 6144
    name = world.name("big")
    assert error_code(lambda: iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(big))) == "LimitExceeded"
    role = make.role(world, world.a, make.trusting(world.a)).rsplit("/", 1)[1]
    half = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
            "Resource": resources[:180]}]}  # fmt: skip
    iam.put_role_policy(RoleName=role, PolicyName="one", PolicyDocument=json.dumps(half))
    put = iam.put_role_policy
    assert error_code(lambda: put(RoleName=role, PolicyName="two", PolicyDocument=json.dumps(half))) == "LimitExceeded"


@pytest.mark.rule("assume-role-trust")
def test_a_role_is_assumed_only_as_its_trust_and_the_callers_own_policy_allow(world: World) -> None:
    """IAM user guide, "How IAM roles differ from resource-based policies": a role's trust policy
    names who may assume it; across accounts "the administrator of the trusted account must also grant
    permission" to the identity (sts:AssumeRole); a role that does not exist cannot be assumed."""
    sts_b = world.b.client("sts")
    ghost = f"arn:aws:iam::{world.a.id}:role/{world.name('ghost')}"
    assert error_code(lambda: sts_b.assume_role(RoleArn=ghost, RoleSessionName="conformance")) == "AccessDenied"
    untrusting = make.role(world, world.a, make.trusting(world.a))
    assert error_code(lambda: sts_b.assume_role(RoleArn=untrusting, RoleSessionName="conformance")) == "AccessDenied"
    trusting = make.role(world, world.a, make.trusting(world.b))
    make.assumed(world, world.b, trusting)  # b's administrator may assume roles: allowed once it propagates
    # A role of b that may not assume roles at all is refused, though a's role trusts its account.
    bare = make.assumed(world, world.b, make.role(world, world.b, make.trusting(world.b))).client("sts")
    assert error_code(lambda: bare.assume_role(RoleArn=trusting, RoleSessionName="conformance")) == "AccessDenied"


@pytest.mark.rule("eventual-consistency")
def test_new_roles_and_changed_policies_take_effect_eventually(world: World) -> None:
    """IAM user guide, "Troubleshoot IAM", "Changes that I make are not always immediately visible":
    "IAM uses a distributed computing model called eventual consistency. Any change that you make in IAM
    ... takes time to become visible from all possible endpoints." A new role, its trust, its policies
    and a bucket policy admitting it are refused at first (the emulator, at its propagation setting;
    on AWS they may be) and allowed once the change has spread."""
    world.configure(propagation_seconds=3)
    bucket = object_in(world)
    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    role = make.role(world, world.b, make.trusting(world.b), {"read": read})
    sts = world.b.client("sts")
    if world.emulator is not None:  # on AWS a new role *may* be refused for a while; here it is
        assert error_code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="conformance")) == "AccessDenied"
    as_role = make.assumed(world, world.b, role).client("s3")
    grant = make.allow(make.root(world.b), ["s3:GetObject"], f"arn:aws:s3:::{bucket}/*")
    world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(grant))
    if world.emulator is not None:
        assert readable(as_role, bucket) == "AccessDenied"  # the bucket policy has not spread yet
    eventually(lambda: as_role.get_object(Bucket=bucket, Key="k"))


def _role_stack(description: str) -> dict[str, Any]:
    lam = {"Service": "lambda.amazonaws.com"}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": lam, "Action": "sts:AssumeRole"}]}
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": description,
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [{"PolicyName": "own", "PolicyDocument": document}],
                },
            },
            "Extra": {
                "Type": "AWS::IAM::RolePolicy",
                "Properties": {"RoleName": {"Ref": "Role"}, "PolicyName": "extra", "PolicyDocument": document},
            },
        },
        "Outputs": {"Name": {"Value": {"Ref": "Role"}}},
    }


@pytest.mark.rule("role-inline-policies")
def test_updating_a_role_keeps_the_inline_policy_a_role_policy_resource_put_on_it(world: World) -> None:
    """CloudFormation user guide, AWS::IAM::Role, Policies: "Adds or updates an inline policy document
    that is embedded in the specified IAM role"; AWS::IAM::RolePolicy "adds or updates an inline policy
    document that is embedded in the specified IAM role" of its own. Updating the role leaves the
    RolePolicy's policy where it is."""
    cfn, iam = world.a.client("cloudformation"), world.a.client("iam")
    name, status = make.stack(world, world.a, _role_stack("first"))
    assert status == "CREATE_COMPLETE"
    cfn.update_stack(StackName=name, TemplateBody=json.dumps(_role_stack("second")), Capabilities=["CAPABILITY_IAM"])
    assert make.settled(cfn, name) == "UPDATE_COMPLETE"
    role = cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == ["extra", "own"]
