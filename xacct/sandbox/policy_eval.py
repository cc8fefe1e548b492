"""AWS's policy evaluation logic, for the emulator: which statements apply to a request, and whether
the request is allowed once identity and resource policies are taken together.

moto's access control (`moto/iam/access_control.py`) authenticates the caller and collects its
policies, but its statement evaluator does not read Condition blocks beyond role trust, ignores
NotPrincipal and resource policies, and matches resources with unescaped regular expressions. This
module is that evaluator, written from the IAM user guide:
- "Policy evaluation logic" and "Cross-account policy evaluation logic": an explicit Deny anywhere
  wins; in one account an identity Allow or a resource-policy Allow for that very principal is
  enough; across accounts both sides must allow.
- "KMS key policies" (KMS developer guide, "Key policies"): the key policy is required; it admits a
  principal itself, or delegates to the account's IAM policies by naming the account; across
  accounts the caller's own IAM policies must allow the use too.
- "Role trust policies" (IAM user guide, "How IAM roles differ from resource-based policies").
- "IAM JSON policy elements: Condition operators": a key absent from the request matches no
  positive operator and every negated one; `...IfExists` matches an absent key; `Null` tests
  presence; `ForAnyValue` / `ForAllValues` over multivalued keys (rule `set-operators`); condition
  key names are case-insensitive, values case-sensitive unless the operator says otherwise (rule
  `conditions`).
- "AWS JSON policy elements: NotPrincipal" (rule `not-principal`).
- "IAM policy elements: Variables and tags" (rule `policy-variables`): in a 2012-10-17 document a
  Resource, NotResource or string condition value may hold `${key}` (or `${key, 'default'}`), the
  request's single value for that key; `${*}`, `${?}` and `${$}` are those characters, literally.
  A Resource whose variable has no value matches nothing; a condition value with one cannot be
  evaluated (below).

What the emulator cannot evaluate (a condition key it does not know, an operator it does not
implement) never grants: an Allow carrying it does not apply, a Deny carrying it does.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["normal", "kms", "trust"]

# Keys the emulator puts in a request's context whenever AWS would (lower case, as matched).
KNOWN_KEYS = frozenset(
    {
        "aws:securetransport",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalservicename",
        "aws:resourceaccount",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:userid",
        "aws:username",
        "s3:resourceaccount",
        "s3:x-amz-acl",
        "s3:x-amz-server-side-encryption",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "kms:calleraccount",
        "iam:passedtoservice",
        "kms:viaservice",
        "sts:externalid",
    }
)


@dataclass(frozen=True)
class Caller:
    """Who makes a request, as AWS's request context names it."""

    account: str
    arn: str  # the session or user ARN AWS reports (assumed-role/ROLE/SESSION, user/NAME)
    principal_arn: str  # aws:PrincipalArn: the role's ARN for a role session
    kind: str = "AssumedRole"  # aws:PrincipalType: AssumedRole, User, Account, Service
    service: str | None = None  # a service principal (lambda.amazonaws.com)
    user_id: str = ""  # aws:userid: ROLE-UNIQUE-ID:session for a role session, the user's unique id for a user
    username: str = ""  # aws:username: an IAM user's name (no role session has one)


@dataclass(frozen=True)
class Request:
    caller: Caller
    action: str  # service:Action
    resource: str  # an ARN, or "*"
    resource_account: str | None  # the resource's owner (None: the caller's own account)
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case key -> values


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


# ---- matching --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0)


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's `*` and `?` wildcards (no character classes: `[` is literal in IAM)."""
    escaped = pattern.replace("[", "[[]")
    return _pattern(escaped, ignore_case).match(value) is not None


_VARIABLE = re.compile(r"\$\{\s*([^,}\s]+)\s*(?:,\s*'([^']*)'\s*)?\}")
_LITERAL = {"*": "*", "?": "?", "$": "$"}  # ${*}, ${?}, ${$}


def _quoted(text: str) -> str:
    """Text as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def expand(text: str, context: Mapping[str, tuple[str, ...]] | None, *, pattern: bool) -> str | None:
    """A policy value with its variables replaced by the request's values: an fnmatch pattern (IAM's
    `*` and `?` kept as wildcards, what a variable brings taken literally) when `pattern`, else plain
    text. None when a variable has no single value in the request and no default. `context` None: a
    document older than 2012-10-17, where `${...}` is literal text."""
    out: list[str] = []
    at = 0
    found = _VARIABLE.finditer(text) if context is not None else ()
    for match in found:
        before = text[at : match.start()]
        out.append(before.replace("[", "[[]") if pattern else before)
        name, default = match.group(1), match.group(2)
        if name in _LITERAL:
            value: str | None = _LITERAL[name]
        else:
            values = context.get(name.lower(), ()) if context is not None else ()
            value = values[0] if len(values) == 1 else default
        if value is None:
            return None
        out.append(_quoted(value) if pattern else value)
        at = match.end()
    rest = text[at:]
    out.append(rest.replace("[", "[[]") if pattern else rest)
    return "".join(out)


def _fits(pattern: str | None, value: str, *, ignore_case: bool = False) -> bool:
    """An expanded pattern (None: a variable the request has no value for, which matches nothing)."""
    return pattern is not None and _pattern(pattern, ignore_case).match(value) is not None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard(str(a), action, ignore_case=True) for a in _items(statement["NotAction"]))
    return any(wildcard(str(a), action, ignore_case=True) for a in _items(statement.get("Action")))


def resource_matches(
    statement: Mapping[str, Any], resource: str, context: Mapping[str, tuple[str, ...]] | None = None
) -> bool:
    """`context`: the request's, where the document's version has policy variables (None: it has not)."""
    if "NotResource" in statement:
        return not any(_fits(expand(str(r), context, pattern=True), resource) for r in _items(statement["NotResource"]))
    if "Resource" not in statement:
        return True  # a trust policy's statements have no Resource: they are about the role itself
    return any(_fits(expand(str(r), context, pattern=True), resource) for r in _items(statement["Resource"]))


def _principal_match(value: str, caller: Caller) -> str | None:
    """'specific' when the value names this very caller, 'account' when it names its account."""
    if value == "*":
        return "specific"
    account_root = re.fullmatch(r"arn:[\w-]+:iam::(\d{12}):root", value)
    if value == caller.account or (account_root and account_root.group(1) == caller.account):
        return "account"
    if value in (caller.arn, caller.principal_arn):
        return "specific"
    return None


def _exempt(listed: Any, caller: Caller) -> bool:
    """Whether NotPrincipal names the caller whole (IAM user guide, "AWS JSON policy elements:
    NotPrincipal": "you must also specify the account ARN of the not-denied principal. Otherwise, the
    policy might deny access to the entire account containing the principal ... If an assumed-role
    user ... is being evaluated, AWS might validate the account first, then the role, and then the
    assumed-role user"): the account, and the role and the session for a role session."""
    if not isinstance(listed, Mapping):
        return False
    if caller.service is not None:
        return caller.service in _items(listed.get("Service"))
    values = [str(v) for v in _items(listed.get("AWS"))]
    account = any(_principal_match(v, caller) == "account" for v in values if v != "*")
    chain = {caller.arn, caller.principal_arn}
    return account and chain <= set(values)


def principal_match(statement: Mapping[str, Any], caller: Caller) -> str | None:
    """How a resource policy's statement names the caller: 'specific', 'account', or None."""
    if "NotPrincipal" in statement:
        return None if _exempt(statement["NotPrincipal"], caller) else "account"
    principal = statement.get("Principal")
    if principal == "*":
        return "specific"
    if not isinstance(principal, Mapping):
        return None
    if caller.service is not None:
        return "specific" if caller.service in _items(principal.get("Service")) else None
    found = [_principal_match(str(v), caller) for v in _items(principal.get("AWS"))]
    if "specific" in found:
        return "specific"
    return "account" if "account" in found else None


# ---- conditions ------------------------------------------------------------------------------

_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
# Operators whose policy values are patterns (expanded by `expand(..., pattern=True)`).
_PATTERNS = {"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, p: v == p,
    "StringNotEquals": lambda v, p: v == p,
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringNotEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
    "StringLike": lambda v, p: _fits(p, v),
    "StringNotLike": lambda v, p: _fits(p, v),
    "ArnEquals": lambda v, p: _fits(p, v),  # ARN operators take wildcards in each part
    "ArnLike": lambda v, p: _fits(p, v),
    "ArnNotEquals": lambda v, p: _fits(p, v),
    "ArnNotLike": lambda v, p: _fits(p, v),
    "Bool": lambda v, p: v.lower() == p.lower(),
}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _one_condition(
    operator: str, key: str, wanted: Any, context: Mapping[str, tuple[str, ...]], variables: bool = False
) -> bool | None:
    """True or False; None when the emulator cannot evaluate it (a value's variable that the request
    has no value for among them: AWS says only that it "might cause the entire statement to be
    invalid", so the emulator neither grants nor spares by it)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    key = key.lower()
    if key not in KNOWN_KEYS or (base not in _OPERATORS and base != "Null"):
        return None
    present = key in context
    values = context.get(key, ())
    if base == "Null":
        return (not present) == (_text(_items(wanted)[0]).lower() == "true")
    expanded = [expand(_text(w), context if variables else None, pattern=base in _PATTERNS) for w in _items(wanted)]
    if None in expanded:
        return None
    policy_values = [p for p in expanded if p is not None]
    if not present:
        # "ForAllValues ... returns true if there are no context keys in the request"; "ForAnyValue ...
        # If the key in the request is missing ... the condition returns false" (set operators).
        if qualifier in ("ForAllValues", "ForAnyValue"):
            return qualifier == "ForAllValues"
        return if_exists or base in _NEGATED
    test = _OPERATORS[base]

    def holds(value: str) -> bool:
        # Several policy values: OR; for a negated operator, NOR ("Conditions with multiple context
        # keys or values"): the request's value matches none of them.
        hit = any(test(value, p) for p in policy_values)
        return not hit if base in _NEGATED else hit

    # ForAllValues: every value of the request's; single-valued keys and ForAnyValue: at least one.
    return all(holds(v) for v in values) if qualifier == "ForAllValues" else any(holds(v) for v in values)


def conditions_hold(
    statement: Mapping[str, Any], context: Mapping[str, tuple[str, ...]], *, variables: bool = False
) -> bool | None:
    """Every condition of a statement (AND); None if one cannot be evaluated and none is false.
    `variables`: the document's version has policy variables."""
    unknown = False
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, wanted in (tests or {}).items():
            result = _one_condition(str(operator), str(key), wanted, context, variables)
            if result is False:
                return False
            unknown = unknown or result is None
    return None if unknown else True


# ---- statements and decisions ----------------------------------------------------------------


@dataclass
class _Scan:
    allow: bool = False
    allow_specific: bool = False  # a resource policy's Allow naming this very principal
    deny: str | None = None


def _statements(document: Any) -> Iterable[Mapping[str, Any]]:
    if not document:
        return []
    return [s for s in _items(document.get("Statement")) if isinstance(s, Mapping)]


def scan(documents: Iterable[Any], request: Request, *, resource_policy: bool) -> _Scan:
    found = _Scan()
    for document in documents:
        # "IAM JSON policy elements: Version": policy variables came with 2012-10-17; in older
        # documents (or none) `${...}` is literal text.
        variables = isinstance(document, Mapping) and str(document.get("Version")) == "2012-10-17"
        context = request.context if variables else None
        for statement in _statements(document):
            if not action_matches(statement, request.action):
                continue
            if not resource_matches(statement, request.resource, context):
                continue
            named = principal_match(statement, request.caller) if resource_policy else "specific"
            if named is None:
                continue
            holds = conditions_hold(statement, request.context, variables=variables)
            deny = statement.get("Effect") == "Deny"
            if deny and holds is not False:
                found.deny = str(statement.get("Sid") or "a statement")
            elif not deny and holds is True:
                found.allow = True
                found.allow_specific = found.allow_specific or named == "specific"
    return found


def decide(request: Request, identity: Iterable[Any], resource_policy: Any | None, mode: Mode = "normal") -> Decision:
    """Whether AWS allows the request, from the caller's identity policies and the resource's policy
    (a bucket policy, a key policy, a role's trust policy; None where there is none)."""
    mine = scan(identity, request, resource_policy=False) if request.caller.service is None else _Scan()
    theirs = scan([resource_policy] if resource_policy else [], request, resource_policy=True)
    for where, found in (("identity", mine), ("resource", theirs)):
        if found.deny:
            return Decision(False, f"explicit deny in a {where}-based policy ({found.deny})")
    same_account = request.resource_account in (None, request.caller.account)
    if mode == "kms":
        # KMS developer guide, "Allowing users in other accounts to use a KMS key": "Neither the key
        # policy nor the IAM policy alone is sufficient" across accounts; in the key's own account a
        # key policy naming the principal is enough.
        allowed = (theirs.allow_specific and same_account) or (theirs.allow and mine.allow)
        why = "the key policy does not allow it" if not theirs.allow else "no identity-based policy allows it"
    elif mode == "trust":
        allowed = (theirs.allow_specific and same_account) or (theirs.allow and mine.allow)
        why = "the role's trust policy does not allow it" if not theirs.allow else "no identity-based policy allows it"
    elif same_account:
        allowed = mine.allow or theirs.allow_specific
        why = "no identity-based policy allows it"
    else:
        allowed = mine.allow and theirs.allow
        why = "the resource's policy does not allow it" if not theirs.allow else "no identity-based policy allows it"
    return Decision(allowed, "allowed" if allowed else why)
