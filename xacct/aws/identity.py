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


def _account_in(config: dict[str, str]) -> str | None:
    if config.get("sso_account_id"):
        return config["sso_account_id"]
    parts = config.get("role_arn", "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def profiles() -> list[Profile]:
    """Every profile of the AWS config and credentials files, sorted by name."""
    return [
        Profile(name, _account_in(config), config.get("region") or None)
        for name, config in sorted(aws_files.profiles().items())
    ]


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
