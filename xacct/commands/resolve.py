"""From what was given to the answers a command runs with: flags, then --config, then the saved
answers; asked on a terminal, derived without one. Either way each account is read from its
profile (the default credential chain when none is named), an account given with a flag is only
a check, and a region not given is the profile's (the developer's falls back to the build one)."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from xacct.core.answers import Answers
from xacct.core.request import Request
from xacct.errors import InvalidInput
from xacct.terminal.output import Output
from xacct.terminal.wizard import Identify

if TYPE_CHECKING:
    from xacct.aws.gateway import Gateway


def given_answers(request: Request) -> Answers:
    """Flags first, then the --config file."""
    from xacct import config

    layers = [config.load(request.config)] if request.config else []
    given = request.given.layered(*layers)
    given.validate()
    return given


def resolve(
    request: Request,
    given: Answers,
    defaults: Answers,
    o: Output,
    interactive: bool,
    *,
    identify: Identify | None = None,
) -> Answers:
    """Ask on a terminal (never with --yes); derive otherwise. The accounts are always read."""
    from xacct.aws import identity

    reach = identify or identity.identify
    identity.refuse_key_source(given.build_profile, "with --build-profile")
    if request.developer:
        identity.refuse_key_source(given.dev_profile, "with --dev-profile")
    if identify is None and not (given.build_profile or given.dev_profile) and identity.nothing_configured():
        raise InvalidInput(
            "no AWS profile or credentials are set up here",
            hint=f"try it without AWS first: {request.prog} --sandbox; or set up access: aws configure sso",
        )
    if interactive and not request.yes:
        from xacct.terminal.wizard import ask

        result = ask(
            given,
            defaults=defaults.with_defaults(),
            identify=reach,
            developer=request.developer,
            guided=request.guided,
            output=None if request.json else o,
            stacks=identity.central_stack_problem if identify is None else None,
        )
    else:
        result = derive(given, defaults.with_defaults(), reach, developer=request.developer)
    result.validate()
    return result


def derive(given: Answers, defaults: Answers, identify: Identify, *, developer: bool) -> Answers:
    """Without asking: regions from the profiles, accounts from STS, checked against the flags."""
    from xacct.aws import identity
    from xacct.aws.identity import profile_region

    answers = given.layered(replace(defaults, build_account=None, dev_account=None))
    if developer and not answers.build_profile and not answers.dev_profile:
        raise InvalidInput(
            "both accounts would be reached with the same default credentials",
            hint="name the developer account's profile with --dev-profile (or the build one's with --build-profile)",
        )
    answers = replace(answers, build_region=answers.build_region or profile_region(answers.build_profile))
    if not answers.build_region:
        raise InvalidInput(
            "no terminal to ask on, and the build account's region is not known: the profile names none",
            hint="pass --build-region (or set region in the profile, or AWS_REGION)",
        )
    sides = ("build", "dev") if developer else ("build",)
    for side in sides:
        profile = getattr(answers, f"{side}_profile") or None
        identity.refuse_key_source(profile, f"as the {'build' if side == 'build' else 'developer'} account's profile")
        region = getattr(answers, f"{side}_region") or profile_region(profile) or answers.build_region
        account = identify(profile, region, "build" if side == "build" else "developer")
        expected = getattr(given, f"{side}_account")
        if expected and account != expected:
            from xacct.aws.gateway import who
            from xacct.core.joining import join_hint

            label = "build" if side == "build" else "developer"

            hint = join_hint(expected, answers.build_region, answers.dev_profile) if side == "build" else None
            raise InvalidInput(
                f"{who(profile)} reaches account {account}, not the {label} account {expected} you gave", hint=hint
            )
        answers = replace(answers, **{f"{side}_account": account, f"{side}_region": region})
    if developer and answers.dev_account == answers.build_account:
        raise InvalidInput(
            f"the developer account {answers.dev_account} is the build account itself",
            hint="check --dev-profile: it must reach the developer's own account",
        )
    return answers


class Reached:
    """Who each profile is, read once per profile and region; its gateway (sessions, clients,
    credentials) kept for the rest of the run rather than made again for every read."""

    def __init__(self) -> None:
        self.gateways: dict[tuple[str | None, str | None], Gateway] = {}
        self.lock = threading.Lock()

    def gateway(self, profile: str | None, region: str | None, label: str) -> Gateway:
        from xacct.aws.gateway import Gateway
        from xacct.aws.identity import FALLBACK_REGION, profile_region

        with self.lock:
            key = (profile, region)
            if key not in self.gateways:
                where = region or profile_region(profile) or FALLBACK_REGION
                self.gateways[key] = Gateway(profile, where, label)
            return self.gateways[key]

    def __call__(self, profile: str | None, region: str | None, label: str) -> str:
        return self.gateway(profile, region, label).account()
