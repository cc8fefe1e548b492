"""AWS's policy evaluation logic as the emulator applies it (xacct/sandbox/policy_eval.py): each case
is a sentence of the IAM user guide's "Policy evaluation logic", "Cross-account policy evaluation
logic" or "Condition operators", with the decision AWS documents."""

from __future__ import annotations

from typing import Any

import pytest

from xacct.sandbox.policy_eval import Caller, Request, conditions_hold, decide, wildcard

BUILD, DEV = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{BUILD}:role/Replicator"
CALLER = Caller(BUILD, f"arn:aws:sts::{BUILD}:assumed-role/Replicator/s", ROLE)
OBJECT = "arn:aws:s3:::xacct-build-222222222222-us-east-1/app.zip"
CONTEXT = {
    "aws:securetransport": ("true",),
    "aws:principalarn": (ROLE,),
    "aws:principalaccount": (BUILD,),
}


def allow(action: str = "s3:PutObject", resource: str = OBJECT, **extra: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def request(resource_account: str | None = DEV, action: str = "s3:PutObject", **context: tuple[str, ...]) -> Request:
    return Request(CALLER, action, OBJECT, resource_account, {**CONTEXT, **context})


def to_build(**extra: Any) -> dict[str, Any]:
    return allow(Principal={"AWS": f"arn:aws:iam::{BUILD}:root"}, **extra)


def test_across_accounts_both_the_identity_and_the_resource_policy_must_allow() -> None:
    assert decide(request(), [allow()], to_build()).allowed
    assert not decide(request(), [allow()], None).allowed
    assert not decide(request(), [], to_build()).allowed


def test_in_one_account_an_identity_allow_is_enough() -> None:
    assert decide(request(BUILD), [allow()], None).allowed
    assert not decide(request(BUILD), [], None).allowed


def test_in_one_account_a_resource_policy_naming_the_role_is_enough_but_naming_the_account_is_not() -> None:
    named = allow(Principal={"AWS": ROLE})
    assert decide(request(BUILD), [], named).allowed
    assert not decide(request(BUILD), [], to_build()).allowed


def test_an_explicit_deny_anywhere_wins() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    assert not decide(request(), [allow()], {"Statement": [*to_build()["Statement"], *deny["Statement"]]}).allowed
    assert not decide(
        request(BUILD), [allow(), {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}], None
    ).allowed


def test_a_key_policy_is_required_and_delegates_to_iam_only_through_the_account() -> None:
    kms = Request(CALLER, "kms:GenerateDataKey", "arn:aws:kms:us-east-1:222222222222:key/k", DEV, CONTEXT)
    identity = allow("kms:GenerateDataKey", "arn:aws:kms:us-east-1:222222222222:key/k")
    key_to_build = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"}, "Action": "kms:*", "Resource": "*"}
        ]
    }
    assert decide(kms, [identity], key_to_build, "kms").allowed
    assert not decide(kms, [], key_to_build, "kms").allowed  # the account delegates: IAM must allow too
    assert not decide(kms, [identity], {"Statement": []}, "kms").allowed  # no key policy grant: nothing
    same = Request(CALLER, "kms:Decrypt", "arn:aws:kms:us-east-1:111111111111:key/k", BUILD, CONTEXT)
    assert not decide(same, [allow("kms:*", "*")], {"Statement": []}, "kms").allowed  # even in its own account


def test_a_trust_policy_must_admit_the_caller() -> None:
    role = f"arn:aws:iam::{DEV}:role/xacct-verify"
    assume = Request(CALLER, "sts:AssumeRole", role, DEV, CONTEXT)
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"}, "Action": "sts:AssumeRole"}
        ]
    }
    lambda_only = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    assert decide(assume, [allow("sts:AssumeRole", role)], trust, "trust").allowed
    assert not decide(assume, [allow("sts:AssumeRole", role)], lambda_only, "trust").allowed
    assert not decide(assume, [], trust, "trust").allowed  # across accounts the caller's own policy must allow


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"ArnEquals": {"aws:PrincipalArn": ROLE}}, True),
        ({"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{BUILD}:role/Other"}}, False),
        ({"ArnLike": {"AWS:PRINCIPALARN": "arn:aws:iam::*:role/Repl*"}}, True),  # key names ignore case
        ({"StringEquals": {"aws:PrincipalAccount": [DEV, BUILD]}}, True),  # any of the values
        ({"StringNotEquals": {"aws:PrincipalAccount": BUILD}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"Bool": {"aws:SecureTransport": True}}, True),
        ({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, False),  # absent: no match
        ({"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, True),  # absent: negation holds
        ({"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, True),
        ({"Null": {"kms:ViaService": "true"}}, True),
        ({"Null": {"aws:PrincipalArn": "true"}}, False),
        ({"ForAnyValue:StringLike": {"aws:PrincipalArn": ["x", "arn:aws:iam::1*"]}}, True),
        # Set operators on a key the request lacks: ForAnyValue false, ForAllValues true, negated or not.
        ({"ForAnyValue:StringNotEquals": {"aws:SourceAccount": "x"}}, False),
        ({"ForAllValues:StringEquals": {"aws:SourceAccount": "x"}}, True),
        ({"ForAllValues:StringNotEquals": {"aws:SourceAccount": "x"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalAccount": DEV}}, False),
    ],
)
def test_conditions_as_aws_evaluates_them(condition: dict[str, Any], holds: bool) -> None:
    assert conditions_hold({"Condition": condition}, CONTEXT) is holds


def test_negated_set_operators_over_several_request_values() -> None:
    """ForAnyValue:StringNotEquals holds when at least one of the request's values matches none of the
    policy's; ForAllValues:StringNotEquals when every one matches none (IAM user guide, "Conditions with
    multiple context keys or values": negated operators are a NOR of the policy's values)."""
    paths = {"aws:principalarn": ("a", "b")}  # two request values of one key
    assert conditions_hold({"Condition": {"ForAnyValue:StringNotEquals": {"aws:PrincipalArn": "a"}}}, paths)
    assert not conditions_hold({"Condition": {"ForAllValues:StringNotEquals": {"aws:PrincipalArn": "a"}}}, paths)
    assert conditions_hold({"Condition": {"ForAllValues:StringNotEquals": {"aws:PrincipalArn": ["c", "d"]}}}, paths)
    assert not conditions_hold({"Condition": {"ForAnyValue:StringNotEquals": {"aws:PrincipalArn": ["a", "b"]}}}, paths)


def test_a_condition_the_emulator_cannot_evaluate_never_grants_and_always_denies() -> None:
    unknown = {"StringEquals": {"aws:SourceVpc": "vpc-1"}}
    assert conditions_hold({"Condition": unknown}, CONTEXT) is None
    assert not decide(request(BUILD), [allow(Condition=unknown)], None).allowed
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": unknown}]}
    assert not decide(request(BUILD), [allow(), deny], None).allowed
    odd_operator = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    assert not decide(request(BUILD), [allow(Condition=odd_operator)], None).allowed


def test_the_tls_deny_keeps_its_other_conditions() -> None:
    """A Deny on TLS that also names an account applies to that account over TLS, as on AWS."""
    deny = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalAccount": BUILD}},
            },
            *to_build()["Statement"],
        ]
    }
    assert not decide(request(), [allow()], deny).allowed


def test_wildcards_are_iams_not_regular_expressions() -> None:
    assert wildcard("arn:aws:s3:::xacct-build-*/*", OBJECT)
    assert not wildcard("arn:aws:s3:::xacct.build-*/*", "arn:aws:s3:::xacctXbuild-1/a")  # '.' is literal
    assert wildcard("s3:Get?bject", "s3:GetObject")
    assert not wildcard("arn:aws:s3:::[ab]*", "arn:aws:s3:::a1")  # '[' is literal in IAM
    assert wildcard("S3:GETOBJECT", "s3:GetObject", ignore_case=True)


def test_not_action_and_not_resource_and_not_principal() -> None:
    everything_but_delete = {"Statement": [{"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}]}
    assert decide(request(BUILD), [everything_but_delete], None).allowed
    assert not decide(Request(CALLER, "s3:DeleteObject", OBJECT, BUILD, CONTEXT), [everything_but_delete], None).allowed
    # NotPrincipal exempts a role session only when it names the account, the role and the session
    # ("AWS might validate the account first, then the role, and then the assumed-role user").
    whole = [f"arn:aws:iam::{BUILD}:root", ROLE, CALLER.arn]
    deny_others = {"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": whole}, "Action": "*", "Resource": "*"}]}
    assert decide(request(BUILD), [allow()], deny_others).allowed
    other = Caller(BUILD, f"arn:aws:sts::{BUILD}:assumed-role/Other/s", f"arn:aws:iam::{BUILD}:role/Other")
    assert not decide(Request(other, "s3:PutObject", OBJECT, BUILD, CONTEXT), [allow()], deny_others).allowed
    for part in whole:  # any one left out: the Deny applies to the role's session too
        partial = {
            "Statement": [{**deny_others["Statement"][0], "NotPrincipal": {"AWS": [p for p in whole if p != part]}}]
        }
        assert not decide(request(BUILD), [allow()], partial).allowed, part


def versioned(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    return {**({"Version": version} if version else {}), "Statement": list(statements)}


def inbox(resource: str, version: str | None = "2012-10-17") -> dict[str, Any]:
    return versioned(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"}, "Action": "s3:PutObject",
         "Resource": resource},
        version=version,
    )  # fmt: skip


def put(key: str, **context: tuple[str, ...]) -> Request:
    return Request(CALLER, "s3:PutObject", f"arn:aws:s3:::inbox/{key}", DEV, {**CONTEXT, **context})


def test_a_policy_variable_is_the_requests_own_value_in_a_2012_document_only() -> None:
    mine = [allow(resource="*")]
    by_account = inbox("arn:aws:s3:::inbox/${aws:PrincipalAccount}/*")
    assert decide(put(f"{BUILD}/request.json"), mine, by_account).allowed
    assert not decide(put(f"{DEV}/request.json"), mine, by_account).allowed
    assert not decide(put("${aws:PrincipalAccount}/request.json"), mine, by_account).allowed
    for older in ("2008-10-17", None):  # literal text before 2012-10-17
        literal = inbox("arn:aws:s3:::inbox/${aws:PrincipalAccount}/*", older)
        assert decide(put("${aws:PrincipalAccount}/r"), mine, literal).allowed
        assert not decide(put(f"{BUILD}/r"), mine, literal).allowed


def test_what_a_variable_brings_is_literal_and_an_unresolved_one_matches_nothing() -> None:
    mine = [allow(resource="*")]
    assert decide(put("star-*/r"), mine, inbox("arn:aws:s3:::inbox/star-${*}/*")).allowed
    assert not decide(put("star-x/r"), mine, inbox("arn:aws:s3:::inbox/star-${*}/*")).allowed
    assert decide(put("q?/r"), mine, inbox("arn:aws:s3:::inbox/q${?}/*")).allowed
    # a value holding a wildcard character matches only itself
    odd = {"aws:principalaccount": ("1*",)}
    assert not decide(put("1234/r", **odd), mine, inbox("arn:aws:s3:::inbox/${aws:PrincipalAccount}/*")).allowed
    # no aws:username for a role session: nothing matches, unless the variable has a default
    assert not decide(put("anyone/r"), mine, inbox("arn:aws:s3:::inbox/${aws:username}/*")).allowed
    assert decide(put("anon/r"), mine, inbox("arn:aws:s3:::inbox/${aws:username, 'anon'}/*")).allowed
    several = {"aws:principalaccount": (BUILD, DEV)}  # only a single-valued key makes a variable
    assert not decide(put(f"{BUILD}/r", **several), mine, inbox("arn:aws:s3:::inbox/${aws:PrincipalAccount}/*")).allowed


def test_a_policy_variable_in_a_condition_value() -> None:
    same_account = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    context = {**CONTEXT, "aws:resourceaccount": (BUILD,)}
    assert conditions_hold({"Condition": same_account}, context, variables=True) is True
    assert (
        conditions_hold({"Condition": same_account}, {**context, "aws:resourceaccount": (DEV,)}, variables=True)
        is False
    )
    assert conditions_hold({"Condition": same_account}, context, variables=False) is False  # literal text
    like = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}
    assert conditions_hold({"Condition": like}, context, variables=True) is True
    unresolved = {"StringLike": {"aws:PrincipalArn": "*${aws:username}*"}}
    assert conditions_hold({"Condition": unresolved}, context, variables=True) is None  # neither grants nor spares
