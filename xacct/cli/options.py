"""The command line's options, and the Request they make. Standard library only at module level:
`--help` must not pay for boto3 or rich."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xacct.core.request import Request

ANSWER_FLAGS = (
    ("build_account", "ID", "the central build account"),
    ("build_region", "R", "region of the central stack"),
    ("build_profile", "P", "profile reaching the build account"),
    ("dev_account", "ID", "the developer account"),
    ("dev_region", "R", "region of the developer stacks"),
    ("dev_profile", "P", "profile reaching the developer account"),
    ("central_stack", "NAME", "central stack in the build account (default CrossAccountPrimary)"),
    (
        "dev_stacks",
        "P,D,V",
        "the developer account's stacks (default CrossAccountPrimary,CrossAccountDeploy,CrossAccountDeveloper)",
    ),
)
# Options that only mean something beside another.
REQUIRES: tuple[tuple[str, str, Callable[[argparse.Namespace], bool]], ...] = (
    ("json", "--dry-run or --status", lambda a: a.dry_run or a.status),
    ("purge", "--remove", lambda a: a.remove),
    ("orphan", "--remove", lambda a: a.remove),
    ("probe", "--verify", lambda a: a.verify),
)


def parser(prog: str) -> argparse.ArgumentParser:
    from xacct import __version__

    p = argparse.ArgumentParser(
        prog=prog,
        description="Onboard a developer AWS account onto the cross-account pipeline: deploy its "
        "stacks and register its bucket in the central build account's replication lists.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--remove", action="store_true", help="offboard the developer account")
    mode.add_argument(
        "--status", action="store_true", help="who is registered, whether replication is on, how many more fit"
    )
    mode.add_argument("--verify", action="store_true", help="check one developer's replication path link by link")
    mode.add_argument(
        "--break-lease",
        action="store_true",
        help="remove the central stack's lease by hand (after typing the stack's name), when its holder is gone",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--json", action="store_true", help="with --dry-run or --status: JSON on stdout")
    p.add_argument("--probe", action="store_true", help="with --verify: send a test object through replication")
    p.add_argument(
        "--orphan", metavar="BUCKET", help="with --remove: take this bucket's entry out of the central lists only"
    )
    for name, metavar, text in ANSWER_FLAGS:
        p.add_argument("--" + name.replace("_", "-"), metavar=metavar, help=text)
    p.add_argument(
        "--config", metavar="FILE", type=Path, help="answers from a YAML file (keys as the flags, with underscores)"
    )
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking for confirmation")
    p.add_argument(
        "--purge", action="store_true", help="with --remove: also delete the developer's own pipeline stacks"
    )
    p.add_argument(
        "--sandbox", action="store_true", help="run against an embedded AWS emulator with two fictitious accounts"
    )
    p.add_argument("--debug", action="store_true", help="tracebacks and AWS call logging")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def combination_problem(args: argparse.Namespace) -> str | None:
    for name, needs, ok in REQUIRES:
        if getattr(args, name) and not ok(args):
            return f"--{name} goes with {needs}"
    return None


def request(args: argparse.Namespace, prog: str) -> Request:
    from xacct.core.answers import Answers
    from xacct.core.request import Mode, Request

    modes: dict[str, Mode] = {"remove": "remove", "status": "status", "verify": "verify", "break_lease": "break-lease"}
    mode: Mode = next((m for flag, m in modes.items() if getattr(args, flag)), "onboard")
    return Request(
        mode=mode,
        given=Answers(**{name: getattr(args, name) for name, _, _ in ANSWER_FLAGS}),
        config=args.config,
        dry_run=args.dry_run,
        json=args.json,
        yes=args.yes,
        purge=args.purge,
        orphan=args.orphan,
        probe=args.probe,
        prog=prog,
    )
