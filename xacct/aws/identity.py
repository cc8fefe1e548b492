"""Who a profile is: the profiles configured (with the account each names in its config, where it
names one), the region each defaults to, and the account it really reaches (STS, said in seconds
when AWS cannot be reached)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from xacct.aws import aws_files
from xacct.aws.gateway import Gateway

FALLBACK_REGION = "us-east-1"


@dataclass(frozen=True)
class Profile:
    name: str
    account: str | None  # from role_arn or sso_account_id; None for keys (STS knows)
    region: str | None
    source_for: tuple[str, ...] = ()  # the profiles that assume their roles with this one's keys


# What makes a profile more than a pair of keys: a role, SSO, or a process or token of its own.
_OWN_IDENTITY = (
    "role_arn",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "credential_process",
    "credential_source",
    "web_identity_token_file",
)


def _account_in(config: dict[str, str]) -> str | None:
    if config.get("sso_account_id"):
        return config["sso_account_id"]
    parts = config.get("role_arn", "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def profiles() -> list[Profile]:
    """Every profile of the AWS config and credentials files, sorted by name."""
    configured = aws_files.profiles()
    sources = _key_sources(configured)
    return [
        Profile(name, _account_in(config), config.get("region") or None, tuple(sources.get(name, ())))
        for name, config in sorted(configured.items())
    ]


def _key_sources(configured: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Profiles that hold nothing but keys, which other profiles name as their source_profile: the
    identity those profiles assume their roles from (an IAM user in an identity account, typically),
    not a profile of the account a stack is deployed in. Each with the profiles that use it."""
    users: dict[str, list[str]] = {}
    for name, config in sorted(configured.items()):
        source = config.get("source_profile")
        if source and source != name:
            users.setdefault(source, []).append(name)
    return {
        source: names
        for source, names in users.items()
        if configured.get(source, {}).get("aws_access_key_id")
        and not any(configured[source].get(key) for key in _OWN_IDENTITY)
    }


def refuse_key_source(profile: str | None, where: str) -> None:
    """Refuse, before any AWS call, a profile given (`where`: "with --build-profile") that only holds the keys other
    profiles assume their roles with: picked, it reaches the identity's own account, where nothing of
    this tool's is, and fails later on a call that account's user may not make."""
    from xacct.errors import InvalidInput

    names = _key_sources(aws_files.profiles()).get(profile or "")
    if not names:
        return
    listed = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
    verb = "assumes its role" if len(names) == 1 else "assume their roles"
    raise InvalidInput(
        f"profile {profile} only holds the keys that {listed} {verb} with; it is not an account's profile",
        hint=f"name one of those {where} (to deploy with the keys themselves: AWS_PROFILE={profile}, no profile named)",
    )


def central_stack_problem(profile: str | None, region: str, name: str) -> str | None:
    """Why `name` is not a stack of the build account in `region`, naming those there are."""
    import botocore.exceptions as bx

    cfn = Gateway(profile, region, "build").cfn
    try:
        cfn.describe_stacks(StackName=name)
        return None
    except bx.ClientError as exc:
        if "does not exist" not in str(exc.response.get("Error", {}).get("Message", "")):
            raise
    names = [s["StackName"] for s in cfn.describe_stacks().get("Stacks", [])]
    there = f": the stacks there are {', '.join(names[:6])}{', …' if len(names) > 6 else ''}" if names else ""
    return f"no stack {name} in the build account ({region}){there}"


def nothing_configured() -> bool:
    """No profile in the AWS files and no credentials in the default chain: a machine where AWS was
    never set up (the first thing a new user meets)."""
    if profiles() or environment_profile():
        return False
    return aws_files.Session().get_credentials() is None


def environment_profile() -> str | None:
    """AWS_PROFILE, as the AWS CLI reads it (AWS_DEFAULT_PROFILE too)."""
    return os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or None


def profile_region(profile: str | None) -> str | None:
    """The region a profile (or, with None, the default chain) defaults to, as botocore resolves it:
    AWS_DEFAULT_REGION, then the profile's config; None for a profile that is not configured."""
    if os.environ.get("AWS_DEFAULT_REGION"):
        return os.environ["AWS_DEFAULT_REGION"]
    name = profile or environment_profile()
    configured = aws_files.profiles()  # parsed once for the run: a batch asks a hundred profiles
    if name is not None and name not in configured:
        return None
    return configured.get(name or "default", {}).get("region") or None


def identify(profile: str | None, region: str | None, label: str) -> str:
    """The account `profile` reaches (None: the default credential chain). Raises XacctError with
    one line when it reaches none: not configured, expired, refused, or AWS unreachable."""
    where = region or profile_region(profile) or FALLBACK_REGION
    return Gateway(profile, where, label).account()
