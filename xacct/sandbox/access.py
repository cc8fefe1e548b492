"""Every request authorized as AWS authorizes it (the `authorized` rule of rules.RULES).

moto's access control (`moto/iam/access_control.py`) authenticates the caller from the request's
access key and session token and collects the caller's policies; that is used as it is. What it
lacks (the IAM action and resource ARN of each request, resource policies, conditions, KMS key
policies, the KMS use S3 makes for the caller) is supplied here and in `access_s3.py`, and the
decision is `policy_eval.decide`, AWS's evaluation logic.

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
_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}  # signing name -> IAM service prefix
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
    from moto.iam.access_control import IAMPolicy

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
    from moto.iam.access_control import AssumedRoleAccessKey, CreateAccessKeyFailure, create_access_key
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.utilities.utils import get_partition

    partition = get_partition(region)
    account = get_account_id_from(access_key)
    headers = {"X-Amz-Security-Token": token} if token else {}
    try:
        key = create_access_key(account, partition, access_key, headers)
    except CreateAccessKeyFailure as exc:
        raise Unauthenticated(exc.reason) from exc
    try:
        policies = documents(key.collect_policies())
    except Exception:  # the role or user is gone: its sessions hold no permission any more
        policies = []
    iam = iam_backends[account][partition]
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
    session), aws:username for an IAM user, the principal's ARN, account and type. Every request to
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
    return Call(caller, policies, service, region, operation, params, environ, raw)


# ---- what the request needs, per service ------------------------------------------------------


def _arn(service: str, region: str, account: str, rest: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{rest}"


def kms_key(reference: str, account: str, region: str) -> tuple[str, str, Any | None]:
    """(owner account, key ARN, key policy) of a key id, key ARN, alias or alias ARN."""
    from moto.kms.models import kms_backends

    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        region, account, reference = parts[3], parts[4], parts[5]
    backend = kms_backends[account][region]
    key_id = reference.removeprefix("key/")
    if reference.startswith("alias/"):
        key_id = backend.get_key_id_from_alias(reference) or reference
    key = backend.keys.get(key_id)
    policy = json.loads(key.policy) if key is not None and key.policy else None
    arn = _arn("kms", region, account, f"key/{key_id}")
    return account, arn, propagation.effective("key", arn, policy)


def kms_check(action: str, reference: str, call: Call, account: str, via: str | None = None) -> Check:
    owner, arn, policy = kms_key(reference, account, call.region)
    context: dict[str, tuple[str, ...]] = {"kms:calleraccount": (call.caller.account,)}
    if via:
        context["kms:viaservice"] = (via,)
    return Check(f"kms:{action}", arn, owner, policy or {}, "kms", context)


def _kms(call: Call) -> list[Check]:
    from xacct.sandbox import gaps_kms

    reference = call.params.get("KeyId") or call.params.get("TargetKeyId")
    if not reference and call.params.get("CiphertextBlob"):  # Decrypt: the key the ciphertext names
        found = gaps_kms.key_of_ciphertext(str(call.params["CiphertextBlob"]), call.region)
        reference = _arn("kms", call.region, found[0], f"key/{found[1]}") if found else None
    if not reference:
        return [Check(f"kms:{call.operation}", "*")]
    check = kms_check(call.operation, str(reference), call, call.caller.account)
    if check.resource_account != call.caller.account and call.operation not in gaps_kms.CROSS_ACCOUNT:
        # Cross-account permissions for other operations "have no effect" (KMS developer guide).
        return [Check(check.action, check.resource, check.resource_account, {"Statement": []}, "kms")]
    return [check]


def _ssm(call: Call) -> list[Check]:
    names = call.params.get("Names") or ([call.params["Name"]] if "Name" in call.params else [])
    if "Path" in call.params:
        names = [call.params["Path"]]
    if not names:
        return [Check(f"ssm:{call.operation}", "*")]
    return [
        Check(f"ssm:{call.operation}", _arn("ssm", call.region, call.caller.account, f"parameter/{n.lstrip('/')}"))
        for n in names
    ]


_STREAM_ACTIONS = {"CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream"}


def _logs(call: Call) -> list[Check]:
    group = call.params.get("logGroupName")
    if not group:
        return [Check(f"logs:{call.operation}", "*")]
    rest = f"log-group:{group}:*"
    if call.operation in _STREAM_ACTIONS and call.params.get("logStreamName"):
        rest = f"log-group:{group}:log-stream:{call.params['logStreamName']}"
    return [Check(f"logs:{call.operation}", _arn("logs", call.region, call.caller.account, rest))]


def stack_arn(name: str, account: str, region: str) -> str:
    from moto.cloudformation.models import cloudformation_backends

    if name.startswith("arn:"):
        return name
    backend = cloudformation_backends[account][region]
    for stack in list(backend.stacks.values()):
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            return str(stack.stack_id)
    return _arn("cloudformation", region, account, f"stack/{name}/*")


def stack_set_arn(name: str, account: str, region: str) -> str:
    """The stack set a call names, as the Service Authorization Reference's `stackset` resource
    (arn:...:stackset/NAME:ID); one not made yet by its name and any id."""
    from xacct.sandbox import gaps_stacksets as gs

    if name.count(":") == 1:  # given by its id, NAME:UUID
        return _arn("cloudformation", region, account, f"stackset/{name}")
    from moto.cloudformation.models import cloudformation_backends

    held = gs.sets_of(cloudformation_backends[account][region]).get(name)
    return _arn("cloudformation", region, account, f"stackset/{held.id if held else name + ':*'}")


def _cloudformation(call: Call) -> list[Check]:
    from moto.cloudformation.models import cloudformation_backends

    action = f"cloudformation:{call.operation}"
    stack_set = call.params.get("StackSetName")
    if stack_set:
        return [Check(action, stack_set_arn(str(stack_set), call.caller.account, call.region))]
    name = call.params.get("StackName")
    change_set = str(call.params.get("ChangeSetName") or "")
    if not name and change_set.startswith("arn:"):
        backend = cloudformation_backends[call.caller.account][call.region]
        found = backend.change_sets.get(change_set)
        name = found.stack_id if found is not None else None
    if not name:
        return [Check(action, "*")]
    return [Check(action, stack_arn(str(name), call.caller.account, call.region))]


def _iam_arn(call: Call) -> str:
    from moto.iam.models import iam_backends

    backend = iam_backends[call.caller.account]["aws"]
    if "PolicyArn" in call.params:
        return str(call.params["PolicyArn"])
    if "RoleName" in call.params:
        role = next((r for r in backend.roles.values() if r.name == call.params["RoleName"]), None)
        return role.arn if role is not None else f"arn:aws:iam::{call.caller.account}:role/{call.params['RoleName']}"
    if "UserName" in call.params:
        return f"arn:aws:iam::{call.caller.account}:user/{call.params['UserName']}"
    return "*"


def role_trust(role_arn: str, *, live: bool = False) -> tuple[str | None, Any | None]:
    """(owner account, trust policy) of a role; (account, None) when it does not exist. As it
    authorizes now (a new trust takes effect eventually: propagation.py), or as IAM holds it (`live`)."""
    from moto.iam.models import iam_backends

    found = re.match(r"^arn:[\w-]+:iam::(\d{12}):role/", role_arn)
    if not found:
        return None, None
    account = found.group(1)
    role = next((r for r in iam_backends[account]["aws"].roles.values() if r.arn == role_arn), None)
    trust = json.loads(role.assume_role_policy_document) if role is not None else None
    return account, trust if live else propagation.effective("trust", role_arn, trust)


def _sts(call: Call) -> list[Check]:
    if call.operation == "GetCallerIdentity":
        return []  # always allowed, even under an explicit deny (STS API reference)
    if call.operation == "AssumeRole":
        role = str(call.params.get("RoleArn", ""))
        owner, trust = role_trust(role)
        external = call.params.get("ExternalId")
        context: dict[str, tuple[str, ...]] = {"sts:externalid": (str(external),)} if external else {}
        # A role that does not exist trusts nobody: AWS answers AccessDenied, not NoSuchEntity.
        return [Check("sts:AssumeRole", role, owner, trust or {"Statement": []}, "trust", context)]
    return [Check(f"sts:{call.operation}", "*")]


_LAMBDA = {
    ("GET", ""): "GetFunction",
    ("DELETE", ""): "DeleteFunction",
    ("GET", "configuration"): "GetFunctionConfiguration",
    ("PUT", "configuration"): "UpdateFunctionConfiguration",
    ("PUT", "code"): "UpdateFunctionCode",
    ("POST", "invocations"): "InvokeFunction",
    ("GET", "policy"): "GetPolicy",
    ("POST", "policy"): "AddPermission",
    ("DELETE", "policy"): "RemovePermission",
    ("PUT", "concurrency"): "PutFunctionConcurrency",
}


def _lambda(call: Call) -> list[Check]:
    path = urllib.parse.unquote(str(call.environ.get("PATH_INFO", "")))
    method = str(call.environ.get("REQUEST_METHOD", ""))
    found = re.match(r"^/[\d-]+/functions/?([^/]*)/?([^/]*)", path)
    if not found or not found.group(1):
        return [Check("lambda:" + ("CreateFunction" if method == "POST" else "ListFunctions"), "*")]
    name, sub = found.groups()
    action = _LAMBDA.get((method, sub), "Unmapped")  # an operation not mapped needs lambda:* or *
    arn = name if name.startswith("arn:") else _arn("lambda", call.region, call.caller.account, f"function:{name}")
    return [Check(f"lambda:{action}", arn)]


def checks(call: Call) -> list[Check]:
    """Every service's but S3's (access_s3.checks)."""
    by_service = {
        "kms": _kms,
        "ssm": _ssm,
        "logs": _logs,
        "cloudformation": _cloudformation,
        "sts": _sts,
        "lambda": _lambda,
    }
    if call.service in by_service:
        return by_service[call.service](call)
    prefix = _PREFIX.get(call.service, call.service)
    if call.service == "iam":
        return [Check(f"iam:{call.operation}", _iam_arn(call))]
    return [Check(f"{prefix}:{call.operation or 'Unmapped'}", "*")]


def judge(call: Call, check: Check) -> Decision:
    context = {**caller_context(call.caller, check.resource_account or call.caller.account), **check.context}
    request = Request(call.caller, check.action, check.resource, check.resource_account, context)
    return decide(request, call.policies, check.policy, check.mode)
