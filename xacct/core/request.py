"""What a person asked for, as a plain value: the command line parsed (xacct/cli/options.py) or
the sandbox's own request. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from xacct.core.answers import Answers

Mode = Literal[
    "onboard",
    "remove",
    "status",
    "verify",
    "break-lease",
    "adopt",
    "sync",
    "join",
    "leave",
    "enable-joining",
    "disable-joining",
    "requests",
    "approve",
    "reject",
    "alerts",
]
# Modes of the platform team's side of joining: the build account only.
PLATFORM_JOINING = ("enable-joining", "disable-joining", "requests", "approve", "reject")


@dataclass(frozen=True)
class Request:
    mode: Mode = "onboard"
    given: Answers = field(default_factory=Answers)  # from the flags
    config: Path | None = None
    dry_run: bool = False
    json: bool = False
    yes: bool = False
    purge: bool = False
    orphan: str | None = None
    probe: bool = False
    # Ask every question, the known answers as defaults ("unflagged": every one a flag or --config did
    # not answer: the sandbox's first run, whose own answers are defaults and the person's flags answers).
    guided: bool | Literal["unflagged"] = False
    fleet: Path | None = None  # --from FILE: many developers in one run
    all: bool = False  # --verify --all: every registered developer
    junit: Path | None = None  # with --verify --all: a JUnit XML report
    out: Path | None = None  # with --dry-run: save the plan (and what it was computed from) for --apply
    apply_plan: Path | None = None  # apply a saved plan, refused if anything it was computed from changed
    markdown: bool = False  # with --dry-run: the plan as Markdown, for a pull request
    no_sync: bool = False  # onboard without starting the developer current (--sync does it later)
    ou: str | None = None  # --ou: an organizational unit's accounts, through service-managed stack sets
    org_profile: str | None = None  # with --ou: the management account or a StackSets delegated administrator
    max_concurrent: int = 25  # with --ou: accounts StackSets works on at once
    failure_tolerance: int = 10  # with --ou: failed accounts per region before StackSets stops the rest
    prog: str = "python onboard.py"  # how the person started us, for the commands we suggest
    joining_who: tuple[str, ...] = ()  # --enable-joining: the organization or OU ids that may ask
    auto_approve: bool = False  # with --enable-joining: register what passes every check at once
    accounts: tuple[str, ...] = ()  # --approve ACCOUNT... or --reject ACCOUNT
    reason: str = ""  # with --reject
    alerts: str | None = None  # --alerts EMAIL|TOPIC_ARN|none

    @property
    def developer(self) -> bool:
        """Whether the developer account's answers are needed."""
        return (
            self.mode not in ("status", "break-lease", "adopt", "alerts", *PLATFORM_JOINING)
            and not self.orphan
            and not self.all
            and not self.ou
        )

    @property
    def writes(self) -> bool:
        return (
            self.mode in ("onboard", "remove", "adopt", "alerts", "enable-joining", "disable-joining")
            and not self.dry_run
        )

    @property
    def needs_confirmation(self) -> bool:
        # A saved plan was reviewed when it was made: applying it is the approval.
        return self.writes and not self.yes and self.apply_plan is None

    def but(self, **changes: object) -> Request:
        return replace(self, **changes)  # type: ignore[arg-type]
