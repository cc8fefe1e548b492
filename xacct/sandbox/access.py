"""Every request authorized as AWS authorizes it (the `authorized` rule of rules.RULES): who calls
and what a request is, for every service alike, with the context AWS puts in every request (rule
`request-context`).

moto's access control (`moto/iam/access_control.py`) authenticates the caller from the request's
access key and session token and collects the caller's policies; that is used as it is. What it
lacks (the IAM action and resource ARN of each request, resource policies, conditions, KMS key
policies, the KMS use S3 makes for the caller) each service supplies (its `access.py`, gathered by
checks.py), and the decision is `policy_eval.decide`, AWS's evaluation logic.

Runs in front of moto's server, on the wire, so that a request is judged exactly as it arrived.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from xacct.sandbox import propagation
from xacct.sandbox.policy_eval import Caller, Decision, Mode, Request, decide

Environ = dict[str, Any]
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
PREFIX = {"monitoring": "cloudwatch", "email": "ses"}  # signing name -> IAM service prefix
QUERY = {"cloudformation", "iam", "sts", "monitoring", "sqs", "sns", "ec2", "rds"}


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes for a request: an action on a resource, with the resource's own
    policy (bucket, key, trust) where it has one."""

    action: str
    resource: str
    resource_account: str | None = None
    policy: Any | None = None
    mode: Mode = "normal"
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """What the request is: who, which service, which region, its parameters."""

    caller: Caller
    policies: list[Any]
    service: str  # the signing name (s3, cloudformation, ...)
    region: str
    operation: str
    params: dict[str, Any]
    environ: Environ
    body: bytes


class Unauthenticated(Exception):
    pass


# ---- who is calling --------------------------------------------------------------------------


def credential(environ: Environ) -> tuple[str, str, str] | None:
    """(access key, region, service) from the signature, header or presigned query."""
    found = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if found:
        return found.group(1), found.group(2), found.group(3)
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    scope = (query.get("X-Amz-Credential") or [""])[0].split("/")
    if len(scope) == 5:
        return scope[0], scope[2], scope[3]
    return None


def documents(policies: list[Any]) -> list[Any]:
    from xacct.sandbox.iam._moto import IAMPolicy

    docs = []
    for policy in policies:
        try:
            if isinstance(policy, dict) and "Statement" in policy:  # an inline policy CloudFormation made
                docs.append(policy)
                continue
            docs.append(IAMPolicy(policy)._policy_json)
        except (ValueError, KeyError, StopIteration):
            continue
    return docs


def identify(access_key: str, token: str | None, region: str) -> tuple[Caller, list[Any]]:
    """The caller and its identity policies, through moto's own authentication."""
    from xacct.sandbox._moto import get_partition
    from xacct.sandbox.iam._moto import AssumedRoleAccessKey, CreateAccessKeyFailure, create_access_key, iam_models

    partition = get_partition(region)
    account = iam_models.get_account_id_from(access_key)
    headers = {"X-Amz-Security-Token": token} if token else {}
    try:
        key = create_access_key(account, partition, access_key, headers)
    except CreateAccessKeyFailure as exc:
        raise Unauthenticated(exc.reason) from exc
    try:
        policies = documents(key.collect_policies())
    except Exception:  # the role or user is gone: its sessions hold no permission any more
        policies = []
    iam = iam_models.iam_backends[account][partition]
    if isinstance(key, AssumedRoleAccessKey):
        stored = iam.access_keys.get(access_key)
        role = getattr(stored, "role_arn", None) or f"arn:{partition}:iam::{account}:role/{key._owner_role_name}"
        found = next((r for r in iam.roles.values() if r.arn == role), None)
        user_id = f"{found.id}:{key._session_name}" if found is not None else ""
        policies = propagation.effective("policies", role, policies) or []  # a role's new policies, eventually
        return Caller(account, key.arn, role, "AssumedRole", user_id=user_id), policies
    user = iam.users.get(key.arn.rsplit("/", 1)[-1])
    return Caller(
        account, key.arn, key.arn, "User", user_id=getattr(user, "id", ""), username=key.arn.rsplit("/", 1)[-1]
    ), policies


def caller_context(caller: Caller, resource_account: str | None) -> dict[str, tuple[str, ...]]:
    """The global condition keys every authenticated request carries (IAM user guide, "AWS global
    condition context keys"): aws:userid (as GetCallerIdentity's UserId: ROLE-ID:session for a role
    session), aws:username for an IAM user, the principal's ARN, account and type, and for a member of an
    organization its id and the OU path of its account (aws:PrincipalOrgID, aws:PrincipalOrgPaths). Every request to
    AWS arrives over TLS; the emulator speaks plain HTTP, so aws:SecureTransport is what AWS would see."""
    context: dict[str, tuple[str, ...]] = {
        "aws:securetransport": ("true",),
        "aws:principalarn": (caller.principal_arn,),
        "aws:principalaccount": (caller.account,),
        "aws:principaltype": (caller.kind,),
    }
    if caller.user_id:
        context["aws:userid"] = (caller.user_id,)
    if caller.username:
        context["aws:username"] = (caller.username,)
    if resource_account:
        context["aws:resourceaccount"] = (resource_account,)
    from xacct.sandbox.stacksets.organizations import principal_org

    member = principal_org(caller.account) if caller.service is None else None
    if member is not None:
        context["aws:principalorgid"], context["aws:principalorgpaths"] = (member[0],), (member[1],)
    return context


def call_of(environ: Environ, raw: bytes) -> Call | None:
    """The request as a Call: who, which operation, its parameters; None if unsigned."""
    found = credential(environ)
    if found is None:
        return None
    key, region, service = found
    caller, policies = identify(key, environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), region)
    params: dict[str, Any] = {}
    operation = ""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        operation = target.rpartition(".")[2]
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            params = {}
    elif service in QUERY:
        text = raw.decode("utf-8", "replace") + "&" + str(environ.get("QUERY_STRING", ""))
        form = urllib.parse.parse_qs(text)
        params = {k: v[0] for k, v in form.items()}
        members = sorted((k for k in params if k.startswith("Names.member.")), key=lambda k: int(k.rsplit(".", 1)[1]))
        if members:
            params["Names"] = [params[k] for k in members]
        operation = str(params.get("Action", ""))
    path = str(environ.get("PATH_INFO", ""))
    if not operation and "/operation/" in path:  # Smithy RPC v2 CBOR (CloudWatch): the operation is in the path
        operation = path.rsplit("/operation/", 1)[1].strip("/")
    return Call(caller, policies, service, region, operation, params, environ, raw)


def arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


def judge(call: Call, check: Check) -> Decision:
    context = {**caller_context(call.caller, check.resource_account or call.caller.account), **check.context}
    request = Request(call.caller, check.action, check.resource, check.resource_account, context)
    return decide(request, call.policies, check.policy, check.mode)
