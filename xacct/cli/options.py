"""The command line's options, and the Request they make. Standard library only at module level:
`--help` must not pay for boto3 or rich."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from xacct.cli import joining_flags

if TYPE_CHECKING:
    from xacct.core.request import Request

ANSWER_FLAGS = (
    ("build_profile", "P", "profile reaching the build account (default: the default credential chain)"),
    ("build_region", "R", "region of the central stack (default: the profile's region)"),
    ("central_stack", "NAME", "central stack in the build account (default CrossAccountPrimary)"),
    ("dev_profile", "P", "profile reaching the developer account"),
    ("dev_region", "R", "region of the developer stacks (default: the profile's region, else the build one)"),
    (
        "dev_stacks",
        "P,D,V",
        "names of the developer account's three stacks, primary, deploy and developer (default: the template names)",
    ),
    ("build_account", "ID", "a check: the build profile must reach this account (it is read from the profile)"),
    ("dev_account", "ID", "a check: the developer profile must reach this account"),
)
# Options that only mean something beside another.
REQUIRES: tuple[tuple[str, str, Callable[[argparse.Namespace], bool]], ...] = (
    ("json", "--dry-run, --status, --verify or --requests", lambda a: a.dry_run or a.status or a.verify or a.requests),
    ("purge", "--remove", lambda a: a.remove),
    (
        "no_sync",
        "onboarding",
        lambda a: not (a.remove or a.status or a.verify or a.adopt or a.sync or a.break_lease or a.dry_run),
    ),
    ("orphan", "--remove", lambda a: a.remove),
    ("probe", "--verify of one developer", lambda a: a.verify and not a.all),
    ("all", "--verify or --approve", lambda a: a.verify or a.approve is not None),
    ("auto_approve", "--enable-joining", lambda a: a.enable_joining),
    ("reason", "--reject", lambda a: a.reject),
    (
        "out",
        "the --dry-run of an onboarding (a removal, --status, --verify or --adopt saves no plan)",
        lambda a: a.dry_run and not (a.remove or a.status or a.verify or a.adopt),
    ),
    ("markdown", "--dry-run", lambda a: a.dry_run and not (a.status or a.verify or a.adopt)),
    (
        "apply_plan",
        "onboarding, without --dry-run",
        lambda a: not (a.dry_run or a.remove or a.status or a.verify or a.adopt),
    ),
    ("junit", "--verify --all", lambda a: a.verify and a.all),
    ("fleet", "onboarding or --remove", lambda a: not (a.status or a.verify or a.orphan or a.adopt)),
    (
        "ou",
        "onboarding or --remove, without --from",
        lambda a: not (a.status or a.verify or a.orphan or a.adopt or a.sync or a.break_lease or a.fleet),
    ),
    ("org_profile", "--ou", lambda a: a.ou),
    ("max_concurrent", "--ou", lambda a: a.ou),
    ("failure_tolerance", "--ou", lambda a: a.ou),
)
EPILOG = """\
examples:
  # try it first: an embedded emulator, no AWS account needed
  %(prog)s --sandbox
  # the wizard: pick the two profiles, review every change, apply
  %(prog)s
  # the plan only, changing nothing (--json for a machine)
  %(prog)s --dry-run --dev-profile dev
  # CI: never asks; accounts and regions read from the profiles (--log FILE)
  %(prog)s --build-profile build --dev-profile dev --yes
  # many developers, one central change (developers: in the file)
  %(prog)s --from team.yaml --build-profile build --yes
  # a plan to review (Markdown for the pull request), applied later as it was
  %(prog)s --from team.yaml --dry-run --out plan.json --markdown
  %(prog)s --apply plan.json
  # offboard (--purge also deletes the developer's own stacks)
  %(prog)s --remove --dev-profile dev
  # every registered developer's path, for a scheduled job (exit 3 when broken)
  %(prog)s --verify --all --build-profile build --junit verify.xml
  # is this developer's replication path whole? (exit 3 when not)
  %(prog)s --verify --json --dev-profile dev

exit codes:
  0    done, or nothing to do
  1    an AWS operation failed: the message names the resource, CloudFormation's
       reason, the state left behind and what to run next
  2    invalid input or a refused pre-condition; nothing was changed
  3    --verify found a broken link or an orphan entry
  130  interrupted (Ctrl-C); 143 SIGTERM, 129 SIGHUP: run the same command again
"""
DESCRIPTION = """\
Onboard a developer AWS account onto the cross-account pipeline: deploy its
stacks, and register its bucket in the central build account's replication
lists without touching anyone else's entry.
"""


def _path(value: str) -> Path:
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty: give a file or leave the flag out")
    return Path(value)


def _count(value: str) -> int:
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number")
    return int(value)


def _positive(value: str) -> int:
    if _count(value) < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return int(value)


def parser(prog: str) -> argparse.ArgumentParser:
    from xacct import __version__

    p = Parser(
        prog=prog,
        # The modes and every option are listed, grouped, below; the whole list here was 12 lines.
        usage="%(prog)s [--MODE] [options]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # `--dry` is not `--dry-run`, and a new flag never changes what an old line meant
    )
    what = p.add_argument_group("what to do (--MODE: one of the first fourteen at most; default: onboard)")
    mode = what.add_mutually_exclusive_group()
    mode.add_argument("--remove", action="store_true", help="offboard the developer account")
    mode.add_argument(
        "--status", action="store_true", help="who is registered, whether replication is on, how many more fit"
    )
    mode.add_argument("--verify", action="store_true", help="check one developer's replication path link by link")
    mode.add_argument(
        "--sync",
        action="store_true",
        help="copy every current build artifact into the developer's bucket again (after an outage, say)",
    )
    mode.add_argument(
        "--adopt",
        action="store_true",
        help="move a central stack of the seed project's template to this project's, keeping every registration, "
        "its key, buckets and exports",
    )
    mode.add_argument(
        "--break-lease",
        action="store_true",
        help="remove the central stack's lease by hand (after typing the stack's name), when its holder is gone",
    )
    mode.add_argument(
        "--alerts",
        metavar="EMAIL|TOPIC_ARN|none",
        help="who hears of failed deliveries: an address (SNS mails it a confirmation first), an SNS topic for "
        "chat or paging, or none; a central stack parameter, the registry untouched",
    )
    joining_flags.add(p, mode)
    what.add_argument(
        "--print-policy",
        choices=("build", "build-cloudformation", "developer", "organization", "join"),
        metavar="SIDE",
        help="print the least-privilege IAM policy (JSON) the build or developer operator needs (the build operator "
        "holds two managed policies: build, and build-cloudformation for what CloudFormation does as it; "
        "organization: what --ou and --enable-joining need beside them; join: what --join and --leave need), and exit",
    )
    what.add_argument(
        "--purge", action="store_true", help="with --remove: also delete the developer's own pipeline stacks"
    )
    what.add_argument(
        "--no-sync",
        action="store_true",
        help="onboard without copying the current build artifacts into the new bucket (--sync does it later)",
    )
    what.add_argument(
        "--orphan", metavar="BUCKET", help="with --remove: take this bucket's entry out of the central lists only"
    )
    what.add_argument("--probe", action="store_true", help="with --verify: send a test object through replication")
    what.add_argument(
        "--all", action="store_true", help="with --verify: every registered developer, in parallel, read-only"
    )
    what.add_argument(
        "--from",
        dest="fleet",
        metavar="FILE",
        type=_path,
        help="onboard (or --remove) every developer of a YAML file, with one central change",
    )
    what.add_argument(
        "--ou",
        metavar="OU_ID",
        help="every active account beneath this organizational unit, through a service-managed stack set; "
        "run again as accounts come and go (with --remove: the whole OU out)",
    )
    what.add_argument(
        "--apply",
        dest="apply_plan",
        metavar="PLAN",
        type=_path,
        help="apply a plan saved with --dry-run --out; refused if anything it was made from changed",
    )
    what.add_argument(
        "--sandbox",
        action="store_true",
        help="run against an embedded AWS emulator (a build account, yours, two teammates')",
    )
    answers = p.add_argument_group("the answers (asked on a terminal when not given; saved after a success)")
    for name, metavar, text in ANSWER_FLAGS:
        answers.add_argument("--" + name.replace("_", "-"), metavar=metavar, help=text)
    answers.add_argument(
        "--org-profile",
        metavar="P",
        help="with --ou: profile of the organization's management account or a StackSets delegated administrator "
        "(default: the build profile)",
    )
    answers.add_argument(
        "--max-concurrent", metavar="N", type=_positive, help="with --ou: accounts StackSets works on at once (25)"
    )
    answers.add_argument(
        "--failure-tolerance",
        metavar="N",
        type=_count,
        help="with --ou: failed accounts per region before StackSets stops the others (10)",
    )
    answers.add_argument(
        "--config", metavar="FILE", type=_path, help="answers from a YAML file (keys as the flags, with underscores)"
    )
    answers.add_argument(
        "--guided", action="store_true", help="ask every question again, the known answers as defaults"
    )
    safety = p.add_argument_group("safety")
    safety.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    safety.add_argument("--yes", "-y", action="store_true", help="never ask: apply without confirmation")
    output = p.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="with --dry-run, --status or --verify: JSON on stdout")
    output.add_argument(
        "--log", metavar="FILE", type=_path, help="also write the whole run to FILE, events included, for a ticket"
    )
    output.add_argument(
        "--out", metavar="FILE", type=_path, help="with --dry-run: save the plan for review and --apply"
    )
    output.add_argument("--markdown", action="store_true", help="with --dry-run: the plan as Markdown")
    output.add_argument(
        "--junit", metavar="FILE", type=_path, help="with --verify --all: a JUnit XML report, one case per developer"
    )
    output.add_argument("--debug", action="store_true", help="tracebacks and AWS call logging")
    output.add_argument("--version", action="version", version=f"{prog.rsplit(maxsplit=1)[-1]} {__version__}")
    return p


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (and a "did you mean" where one fits), not a usage block."""

    def error(self, message: str) -> NoReturn:
        import difflib
        import re
        import sys

        lines = [f"error: {message}"]
        unknown = re.findall(r"(--?[\w-]+)", message) if "unrecognized arguments" in message else []
        flags = [o for action in self._actions for o in action.option_strings if o.startswith("--")]
        for flag in unknown:
            name = flag.split("=")[0]
            started = [f for f in flags if f.startswith(name)]  # an abbreviation, which is not taken
            close = started[:1] if len(started) == 1 else difflib.get_close_matches(name, flags, n=1, cutoff=0.75)
            if close:
                lines.append(f"  did you mean {close[0]}?")
                break
        lines.append(f"  see: {self.prog} --help")
        sys.stderr.write("\n".join(lines) + "\n")
        sys.exit(2)


# Flags that take a value: an empty or blank one is a mistake (an unset variable in CI), never a default.
VALUED = (*(name for name, _, _ in ANSWER_FLAGS), "orphan", "ou", "org_profile", "reject", "reason", "alerts")
# Answers about the developer account mean nothing where no developer account is touched.
DEVELOPER_ANSWERS = ("dev_profile", "dev_region", "dev_stacks", "dev_account")


# The flags whose argparse name is not the flag a person types.
_TYPED = {"fleet": "--from", "apply_plan": "--apply"}


def flag(name: str) -> str:
    """The flag as typed, for an argparse name: apply_plan is --apply."""
    return _TYPED.get(name, "--" + name.replace("_", "-"))


def combination_problem(args: argparse.Namespace) -> str | None:
    for name in VALUED:
        value = getattr(args, name, None)
        if value is not None and not str(value).strip():
            return f"{flag(name)} is empty: give a value or leave the flag out"
    for name, needs, ok in REQUIRES:
        if getattr(args, name) and not ok(args):
            return f"{flag(name)} goes with {needs}"
    if args.print_policy and args.central_stack and args.print_policy != "build":
        return "--central-stack names the build account's stack: it goes with --print-policy build"
    if args.print_policy and args.dev_stacks and args.print_policy not in ("developer", "join"):
        return "--dev-stacks names the developer account's stacks: it goes with --print-policy developer or join"
    for name in ("out", "junit"):  # files written at the end: a folder that is not there is said first
        path = getattr(args, name, None)
        if path is not None and not path.expanduser().absolute().parent.is_dir():
            return f"{flag(name)} {path}: the folder {path.parent} does not exist"
    if args.json and args.markdown:
        return "--json and --markdown each choose what stdout holds: give one of them"
    if args.alerts is not None:
        from xacct.core.alerts import target_problem

        problem = target_problem(args.alerts)
        if problem:
            return problem
    problem = joining_flags.problem(args)
    if problem:
        return problem
    platform = args.enable_joining or args.disable_joining or args.requests or args.approve is not None or args.reject
    build_only = (
        args.status
        or args.orphan
        or args.break_lease
        or args.adopt
        or (args.verify and args.all)
        or platform
        or args.alerts
    )
    for name in DEVELOPER_ANSWERS:
        if build_only and getattr(args, name):
            return f"{flag(name)} has no effect here: this mode reads the build account only"
        if args.ou and name != "dev_region" and getattr(args, name):
            return f"{flag(name)} has no effect with --ou: the OU's accounts need no developer profile"
    return None


def request(args: argparse.Namespace, prog: str) -> Request:
    from xacct.core.answers import Answers
    from xacct.core.request import Mode, Request

    modes: dict[str, Mode] = {
        "remove": "remove",
        "status": "status",
        "verify": "verify",
        "break_lease": "break-lease",
        "adopt": "adopt",
        "sync": "sync",
        "join": "join",
        "leave": "leave",
        "enable_joining": "enable-joining",
        "disable_joining": "disable-joining",
        "requests": "requests",
        "reject": "reject",
        "alerts": "alerts",
    }
    mode: Mode = next((m for flag, m in modes.items() if getattr(args, flag)), "onboard")
    if args.approve is not None:
        mode = "approve"
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
        guided=args.guided,
        fleet=args.fleet,
        all=args.all,
        junit=args.junit,
        out=args.out,
        apply_plan=args.apply_plan,
        markdown=args.markdown,
        no_sync=args.no_sync,
        ou=args.ou,
        org_profile=args.org_profile,
        max_concurrent=args.max_concurrent or 25,
        failure_tolerance=10 if args.failure_tolerance is None else args.failure_tolerance,
        prog=prog,
        joining_who=tuple(args.enable_joining or ()),
        auto_approve=args.auto_approve,
        accounts=tuple(args.approve or ()) or ((args.reject,) if args.reject else ()),
        reason=args.reason or "",
        alerts=args.alerts,
    )
