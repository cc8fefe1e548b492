"""The answers a run needs: layered as given (flags, a --config file, the last saved answers,
defaults), then resolved once into plain values (Central, Onboarding) whose fields need no
re-checking. Pure: validators return a sentence or None."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from xacct.errors import InvalidInput

DEFAULT_CENTRAL_STACK = "CrossAccountPrimary"
DEFAULT_DEV_STACKS = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")
_ACCOUNT = re.compile(r"[0-9]{12}", re.ASCII)
_STACK = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}", re.ASCII)
_PROFILE = re.compile(r"[\w+=,.@:/-]{1,128}", re.ASCII)


def account_problem(value: str) -> str | None:
    return None if _ACCOUNT.fullmatch(value) else "an AWS account id is 12 digits"


def region_problem(value: str) -> str | None:
    from xacct.core.regions import region_problem as problem

    return problem(value)


def stack_problem(value: str) -> str | None:
    if _STACK.fullmatch(value):
        return None
    return "a stack name is 1-128 letters, digits and '-', starting with a letter"


def profile_problem(value: str) -> str | None:
    return None if _PROFILE.fullmatch(value) else "a profile name has no spaces or control characters"


Kind = Literal["CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper"]


@dataclass(frozen=True)
class Side:
    """One account as a run reaches it."""

    account: str
    region: str
    profile: str | None  # None: the default credential chain

    def where(self) -> str:
        """The options that point an AWS CLI command here: " --profile P --region R"."""
        return (f" --profile {self.profile}" if self.profile else "") + f" --region {self.region}"


@dataclass(frozen=True)
class DevStacks:
    """The developer account's three stacks, by the template each holds."""

    primary: str = DEFAULT_DEV_STACKS[0]
    deploy: str = DEFAULT_DEV_STACKS[1]
    developer: str = DEFAULT_DEV_STACKS[2]

    @property
    def names(self) -> tuple[str, str, str]:
        return self.primary, self.deploy, self.developer

    def kind(self, name: str) -> Kind:
        if name == self.primary:
            return "CrossAccountPrimary"
        return "CrossAccountDeploy" if name == self.deploy else "CrossAccountDeveloper"


@dataclass(frozen=True)
class Central:
    """The build account and its central stack: what every command needs."""

    build: Side
    stack: str


@dataclass(frozen=True)
class Onboarding:
    """A developer account against the central stack: what onboarding, removal and verify need."""

    central: Central
    dev: Side
    stacks: DevStacks

    @property
    def build(self) -> Side:
        return self.central.build


@dataclass
class Answers:
    """The answers as given, any of them possibly missing; resolved into Central or Onboarding."""

    build_account: str | None = None
    build_region: str | None = None
    build_profile: str | None = None
    dev_account: str | None = None
    dev_region: str | None = None
    dev_profile: str | None = None
    central_stack: str | None = None
    dev_stacks: str | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def layered(self, *others: Answers) -> Answers:
        """These answers, with gaps filled from `others` in order."""
        merged = asdict(self)
        for other in others:
            for key, value in asdict(other).items():
                if merged[key] in (None, "") and value not in (None, ""):
                    merged[key] = value
        return Answers(**merged)

    def with_defaults(self) -> Answers:
        return self.layered(Answers(central_stack=DEFAULT_CENTRAL_STACK, dev_stacks=",".join(DEFAULT_DEV_STACKS)))

    def stacks(self) -> DevStacks:
        names = (self.dev_stacks or ",".join(DEFAULT_DEV_STACKS)).split(",")
        if len(names) != 3 or any(stack_problem(n) for n in names):
            raise InvalidInput(f"--dev-stacks needs three stack names P,D,V, got {self.dev_stacks!r}")
        if len(set(names)) != 3:
            raise InvalidInput(f"--dev-stacks names the same stack twice: {self.dev_stacks!r}")
        return DevStacks(names[0], names[1], names[2])

    def _required(self, name: str) -> str:
        value = getattr(self, name)
        if value in (None, ""):
            raise InvalidInput(f"--{name.replace('_', '-')} is needed")
        return str(value)

    def central(self) -> Central:
        """The build side, resolved: every field present and checked."""
        self.validate()
        build = Side(self._required("build_account"), self._required("build_region"), self.build_profile or None)
        return Central(build, self.central_stack or DEFAULT_CENTRAL_STACK)

    def onboarding(self) -> Onboarding:
        """Both sides, resolved: every field present and checked."""
        central = self.central()
        dev = Side(self._required("dev_account"), self._required("dev_region"), self.dev_profile or None)
        return Onboarding(central, dev, self.stacks())

    def validate(self) -> None:
        checks = {
            "build_account": account_problem,
            "dev_account": account_problem,
            "build_region": region_problem,
            "dev_region": region_problem,
            "build_profile": profile_problem,
            "dev_profile": profile_problem,
            "central_stack": stack_problem,
        }
        for name, check in checks.items():
            value = getattr(self, name)
            if value not in (None, ""):
                problem = check(value)
                if problem:
                    flag = "--" + name.replace("_", "-")
                    raise InvalidInput(f"{flag} {value!r}: {problem}")
        if self.dev_stacks:
            self.stacks()

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def answers_of(target: Central | Onboarding) -> Answers:
    """Resolved values back as answers (to save them, or to spell out a command)."""
    central = target.central if isinstance(target, Onboarding) else target
    given = Answers(
        build_account=central.build.account,
        build_region=central.build.region,
        build_profile=central.build.profile,
        central_stack=central.stack,
    )
    if isinstance(target, Onboarding):
        given = given.layered(
            Answers(
                dev_account=target.dev.account,
                dev_region=target.dev.region,
                dev_profile=target.dev.profile,
                dev_stacks=",".join(target.stacks.names),
            )
        )
    return given


def from_mapping(data: Mapping[Any, Any], source: str) -> Answers:
    if not all(isinstance(k, str) for k in data):
        raise InvalidInput(f"{source}: every key must be text (one of {', '.join(Answers.names())})")
    unknown = sorted(set(data) - set(Answers.names()))
    if unknown:
        raise InvalidInput(f"{source}: unknown keys {', '.join(unknown)} (known: {', '.join(Answers.names())})")
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise InvalidInput(f"{source}: {bad[0]} must be text, not a list or a mapping")
    return Answers(**{k: v or None for k, v in data.items()})
