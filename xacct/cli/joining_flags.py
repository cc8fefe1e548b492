"""The command line's flags for self-service joining: the developer's (--join, --leave) and the
platform team's (--enable-joining and the rest), and the combinations they refuse. Standard library
only: `--help` must not pay for boto3 or rich."""

from __future__ import annotations

import argparse
from typing import Any


def add(p: argparse.ArgumentParser, mode: Any) -> None:
    """The joining modes into the mutually exclusive `mode` group; their options into a group of their own."""
    joining = p.add_argument_group("self-service joining (with --enable-joining and --reject)")
    mode.add_argument(
        "--join",
        action="store_true",
        help="developer: deploy your stacks and ask the build account to register you (needs --build-account, "
        "--build-region and your --dev-profile only)",
    )
    mode.add_argument(
        "--leave",
        action="store_true",
        help="developer: out of the build account's lists through its registrar, and your grants to it withdrawn",
    )
    mode.add_argument(
        "--enable-joining",
        nargs="+",
        metavar="WHO",
        help="platform: let the accounts of these OUs (ou-...) or of the whole organization (o-...) ask to join",
    )
    mode.add_argument(
        "--disable-joining", action="store_true", help="platform: refuse new requests; every registration stays"
    )
    mode.add_argument(
        "--requests", action="store_true", help="platform: the requests that wait, or were refused, with each check"
    )
    mode.add_argument(
        "--approve",
        nargs="*",
        metavar="ACCOUNT",
        help="platform: register these pending requests (--all: every one) in one change set",
    )
    mode.add_argument("--reject", metavar="ACCOUNT", help="platform: refuse this account's request (with --reason)")
    joining.add_argument(
        "--auto-approve",
        action="store_true",
        help="with --enable-joining: register a request that passes every check at once",
    )
    joining.add_argument("--reason", metavar="TEXT", help="with --reject: why, told to the developer")


def problem(args: argparse.Namespace) -> str | None:
    if args.reject and not args.reason:
        return "--reject needs --reason TEXT: the developer is told why"
    if args.approve is not None and not args.approve and not args.all:
        return "--approve needs the accounts to approve, or --all"
    if args.approve and args.all:
        return "--approve takes accounts or --all, not both"
    if (args.join or args.leave) and args.build_profile:
        which = "--join" if args.join else "--leave"
        return f"{which} needs no build profile: it reaches the build account only through its inbox"
    return None
