"""Self-service joining as plain data: who may ask, what a request and an answer hold, where each
lives in the inbox, and the checks a request must pass before it is registered. Pure.

The inbox is a bucket of the build account (cfn/CrossAccountJoining.yaml). A developer writes
requests/ACCOUNT/request.json, where ACCOUNT is its own account id: the bucket policy names
${aws:PrincipalAccount} in the object ARN, so AWS itself refuses a request filed under another
account. The registrar answers in answers/ACCOUNT/answer.json, naming the ETag of the request it
answers, so an answer to an older request is never taken for the current one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from xacct.core import registry as reg
from xacct.errors import InvalidInput

STACK = "CrossAccountJoining"
FACTS = "facts.json"
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_OU = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")

Status = Literal["registered", "pending", "refused", "left"]


def inbox_name(account: str, region: str) -> str:
    return f"xacct-join-{account}-{region}"


def request_key(account: str) -> str:
    return f"requests/{account}/request.json"


def answer_key(account: str) -> str:
    return f"answers/{account}/answer.json"


def approval_key(token: str) -> str:
    return f"approvals/{token}.json"


def account_of_key(key: str) -> str | None:
    """The account a request or answer key is filed under (requests/ACCOUNT/...)."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and re.fullmatch(r"\d{12}", parts[1]) else None


def who_problem(who: str) -> str | None:
    if _ORG.match(who) or _OU.match(who):
        return None
    return f"{who!r} is neither an organization id (o-...) nor an OU id (ou-...)"


def org_paths(organization: str, who: Sequence[str]) -> list[str]:
    """aws:PrincipalOrgPaths patterns for the organization or OUs named (IAM user guide: an OU and
    every OU beneath it is o-ID/*/ou-ID/*)."""
    problems = [p for p in (who_problem(w) for w in who) if p]
    if problems:
        raise InvalidInput(problems[0], hint="--enable-joining takes the organization id or OU ids")
    if not who:
        raise InvalidInput("--enable-joining needs at least one OU id or the organization id")
    foreign = [w for w in who if w.startswith("o-") and w != organization]
    if foreign:
        raise InvalidInput(f"{foreign[0]} is not this account's organization ({organization})")
    if organization in who:
        return [f"{organization}/*"]
    return [f"{organization}/*/{w}/*" for w in dict.fromkeys(who)]


def who_of(paths: str) -> list[str]:
    """The organization or OU ids back from JoinPaths, for people."""
    found = []
    for path in (p.strip() for p in paths.split(",") if p.strip()):
        parts = [p for p in path.split("/") if p and p != "*"]
        found.append(parts[-1] if parts else path)
    return found


@dataclass(frozen=True)
class Request:
    """What a developer asks for: its bucket and key, in its account and region."""

    account: str
    region: str
    bucket: str
    cmk: str
    stacks: tuple[str, ...] = ()
    nonce: str = ""  # every filing is a request of its own (its own ETag), answered afresh
    action: Literal["join", "leave"] = "join"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "stacks": list(self.stacks)}, sort_keys=True)

    @classmethod
    def parse(cls, account: str, body: bytes | str) -> Request:
        """The request filed under `account`. The account is the key's, never the body's: the key
        is what the inbox policy vouches for."""
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InvalidInput(f"the request of {account} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"the request of {account} is not a JSON object")
        return cls(
            account=account,
            region=str(data.get("region", "")),
            bucket=str(data.get("bucket", "")),
            cmk=str(data.get("cmk", "")),
            stacks=tuple(str(s) for s in data.get("stacks", ()) or ()),
            nonce=str(data.get("nonce", "")),
            action="leave" if data.get("action") == "leave" else "join",
        )

    def entry(self, partition: str = "aws") -> reg.Entry:
        return reg.Entry.for_bucket(self.bucket, self.cmk, partition)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Answer:
    status: Status
    reason: str
    request_etag: str
    checks: tuple[Check, ...] = ()
    synced: Mapping[str, Any] = field(default_factory=dict)
    bucket: str = ""
    cmk: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "reason": self.reason,
                "request_etag": self.request_etag,
                "checks": [asdict(c) for c in self.checks],
                "synced": dict(self.synced),
                "bucket": self.bucket,
                "cmk": self.cmk,
            },
            sort_keys=True,
        )

    @classmethod
    def parse(cls, body: bytes | str) -> Answer:
        data = json.loads(body)
        return cls(
            status=data["status"],
            reason=str(data.get("reason", "")),
            request_etag=str(data.get("request_etag", "")),
            checks=tuple(Check(str(c["name"]), bool(c["ok"]), str(c["detail"])) for c in data.get("checks", [])),
            synced=dict(data.get("synced") or {}),
            bucket=str(data.get("bucket", "")),
            cmk=str(data.get("cmk", "")),
        )


def static_checks(request: Request) -> list[Check]:
    """What needs no AWS call: the bucket and the key are the requester's own, by their names."""
    checks = []
    problem = reg.bucket_problem(request.bucket)
    named = reg.standard_account(request.bucket)
    expected = f"xacct-build-{request.account}-{request.region}"
    if problem:
        checks.append(Check("bucket name", False, f"{request.bucket!r}: {problem}"))
    elif named is not None and named != request.account:
        checks.append(
            Check("bucket name", False, f"{request.bucket} is named for account {named}, not {request.account}")
        )
    elif request.bucket != expected:
        # Joining registers what --join deploys: the stock primary stack's bucket, named for its
        # account and region, so the name alone says where it is (S3 follows a bucket to its region).
        checks.append(Check("bucket name", False, f"{request.bucket} is not {expected}, the bucket --join deploys"))
    else:
        checks.append(Check("bucket name", True, request.bucket))
    key_problem = reg.key_arn_problem(request.cmk)
    owner = reg.key_account(request.cmk)
    if key_problem:
        checks.append(Check("key in the account", False, key_problem))
    elif owner != request.account:
        checks.append(Check("key in the account", False, f"{request.cmk} is in account {owner}, not {request.account}"))
    elif reg.key_region(request.cmk) != request.region:
        checks.append(
            Check(
                "key in the account", False, f"{request.cmk} is in {reg.key_region(request.cmk)}, not {request.region}"
            )
        )
    else:
        checks.append(Check("key in the account", True, request.cmk))
    return checks


def leaving(registry: reg.Registry, account: str) -> list[str]:
    """The registered buckets a request filed under `account` may take out: those of its own
    account (by the bucket's name, or its key's account), and no other."""
    return [
        e.bucket
        for e in registry.entries
        if reg.standard_account(e.bucket) == account or reg.key_account(e.cmk) == account
    ]


def first_failure(checks: Iterable[Check]) -> Check | None:
    return next((c for c in checks if not c.ok), None)


def join_hint(build_account: str, build_region: str | None, dev_profile: str | None) -> str:
    """What a developer without a profile in the build account can run instead."""
    return (
        "no profile of the build account? If its platform team turned joining on, join with your own: "
        f"python onboard.py --join --build-account {build_account} --build-region {build_region or 'REGION'} "
        f"--dev-profile {dev_profile or 'PROFILE'}"
    )


def facts(
    *, build_account: str, build_region: str, central_stack: str, outputs: Mapping[str, str], version: str, auto: bool
) -> dict[str, Any]:
    """What a joiner needs from the build account, published in the inbox (facts.json)."""
    return {
        "build_account": build_account,
        "build_region": build_region,
        "central_stack": central_stack,
        "replication_role": outputs.get("ReplicationRoleArn", ""),
        "build_bucket": outputs.get("BuildBucket", ""),
        "template_version": version,
        "approval": "automatic" if auto else "by the platform team",
    }
