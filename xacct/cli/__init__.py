"""The command line: parse, dispatch, and the one handler that turns every failure into a line
for a person and an exit status.

Standard library only at module level: `--help` must not pay for boto3 or rich.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from xacct.cli.options import combination_problem, parser, request
from xacct.errors import AGAIN, ExitCode, Interrupted, XacctError

if TYPE_CHECKING:
    from xacct.core.request import Request
    from xacct.terminal.output import Output


def main(
    argv: list[str] | None = None,
    *,
    output: Output | None = None,
    interactive: bool | None = None,
    prog: str = "python onboard.py",
) -> int:
    args = parser(prog).parse_args(argv)
    if args.debug:
        _debug_logging()
    from xacct.terminal.output import attach_log, make_output

    o = output or make_output()
    problem = combination_problem(args)
    if problem:
        o.error(problem)
        return ExitCode.INVALID
    if args.print_policy:
        return _print_policy(args, o)
    prompts: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if interactive is None:
        # Only stdin decides: `| tee run.log` keeps the questions, asked on the terminal.
        interactive = sys.stdin.isatty()
        if interactive and not sys.stdout.isatty():
            prompts = _prompts_on_the_terminal()
    log = _open_log(args.log, o) if args.log else None
    if log is False:
        return ExitCode.INVALID
    if log:
        attach_log(o, log)
        _log_header(log, prog, argv)
    code: int = ExitCode.INTERRUPTED  # what a BaseException escaping _run leaves in the log
    try:
        with prompts:
            code = _run(args, prog, o, interactive)
    finally:
        if log:
            log.write(f"# exit {code} after {o.elapsed():.1f} s\n")
            log.close()
    return code


def _print_policy(args: argparse.Namespace, o: Output) -> int:
    """The operator's policy for the stacks this command names: one that denies the user's own
    stacks is never printed."""
    import json

    from xacct.core.answers import Answers
    from xacct.core.operator_policy import policy
    from xacct.errors import InvalidInput

    side = args.print_policy
    try:
        named = Answers(central_stack=args.central_stack, dev_stacks=args.dev_stacks)
        named.validate()
        document = policy(side, central_stack=args.central_stack, stacks=named.stacks() if args.dev_stacks else None)
    except InvalidInput as exc:
        o.error(exc.message, exc.hint)
        return ExitCode.INVALID
    o.out.file.write(json.dumps(document, indent=2) + "\n")
    if side == "build":
        o.info(
            "the build operator also needs --print-policy build-cloudformation, as a second managed policy "
            "(what CloudFormation does as it; one managed policy holds 6,144 characters)"
        )
    return ExitCode.OK


def _run(args: argparse.Namespace, prog: str, o: Output, interactive: bool) -> int:
    try:
        from xacct import signals

        signals.check()  # a Ctrl-C that arrived during the imports, where Python could not raise it
        return _dispatch(args.sandbox, request(args, prog), o, interactive)
    except KeyboardInterrupt as exc:
        from xacct import signals

        o.stopped(f"interrupted{signals.named(exc)}; nothing was left half-done by this tool", AGAIN)
        return signals.exit_status(exc)
    except XacctError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, Interrupted):
            o.stopped(exc.message, exc.hint)
            return exc.status
        o.error(exc.message, exc.hint)
        return exc.exit_code
    except Exception as exc:
        from xacct import signals

        interrupt = signals.interrupt_in(exc)
        if interrupt is not None:
            o.stopped(f"interrupted{signals.named(interrupt)}; nothing was left half-done by this tool", AGAIN)
            return signals.exit_status(interrupt)
        if args.debug:
            raise
        from xacct.aws.gateway import describe_error

        known = describe_error(exc, None)
        if known is not None:
            o.error(known.message, known.hint)
            return known.exit_code
        from xacct.core.redact import redact

        o.error(redact(f"{type(exc).__name__}: {exc}"), "run again with --debug for the traceback")
        return ExitCode.AWS_FAILED
    except BaseException as exc:
        # Not an Exception: pyo3's PanicException, which a Rust extension (cryptography's) raises when
        # a Ctrl-C interrupts it as it loads. After a signal it is that signal's doing; else not ours.
        from xacct import signals

        signum = signals.received()
        if isinstance(exc, SystemExit) or signum is None or args.debug:
            raise
        o.stopped("interrupted; nothing was left half-done by this tool", AGAIN)
        return 128 + signum


def _prompts_on_the_terminal() -> contextlib.AbstractContextManager[object]:
    """stdout is a pipe or a file: prompts go to stderr, the terminal."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.output import create_output

    return create_app_session(output=create_output(always_prefer_tty=True))


def _open_log(path: Path, o: Output) -> IO[str] | Literal[False]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        o.error(f"--log {path}: {exc.strerror or exc}")
        return False


def _log_header(log: IO[str], prog: str, argv: list[str] | None) -> None:
    import datetime
    import shlex

    from xacct import __version__

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    words = sys.argv[1:] if argv is None else argv
    log.write(f"# xacct {__version__}, {now}: {prog} {shlex.join(words)}\n")


def _dispatch(sandbox: bool, req: Request, o: Output, interactive: bool) -> int:
    if sandbox:
        from xacct.commands.sandbox import run_sandbox

        return run_sandbox(req, o, interactive)
    from xacct import config
    from xacct.commands.run import run_command

    path = config.saved_path()
    return run_command(req, o, interactive, defaults=config.load_saved(path), save_to=path)


def _debug_logging() -> None:
    """Every AWS call logged, with keys, tokens and signatures redacted."""
    import logging

    from xacct.core.redact import Redacting

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(Redacting())
    logging.getLogger("botocore.endpoint").setLevel(logging.DEBUG)
