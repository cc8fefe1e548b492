"""What every command shares: resolving the answers, the live view, what an interruption says,
the command that resumes a run, confirmations, and saving the answers after success."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from xacct.aws.reads import BuildContext
from xacct.core.answers import Answers, Central, Onboarding, answers_of
from xacct.core.request import Request
from xacct.errors import AGAIN, Interrupted, InvalidInput
from xacct.terminal.output import Output


def given_answers(request: Request) -> Answers:
    """Flags first, then the --config file."""
    from xacct import config

    layers = [config.load(request.config)] if request.config else []
    given = request.given.layered(*layers)
    given.validate()
    return given


def resolve(request: Request, defaults: Answers, o: Output, interactive: bool) -> Answers:
    """Flags, then --config, then `defaults` (the last saved answers); ask for what is left."""
    given = given_answers(request)
    if interactive:
        from xacct.terminal.wizard import ask

        result = ask(given, defaults=defaults.with_defaults(), developer=request.developer, output=o)
    else:
        result = given.layered(defaults).with_defaults()
        missing = ["--" + m.replace("_", "-") for m in result.missing(developer=request.developer)]
        if missing and request.needs_confirmation:
            missing.append("--yes (or --dry-run to preview)")
        if missing:
            raise InvalidInput("no terminal to ask on, and these answers are missing: " + " ".join(missing))
    result.validate()
    return result


@contextlib.contextmanager
def live(ctx: BuildContext, o: Output) -> Iterator[None]:
    """A live view of the stacks while CloudFormation works, on a terminal; lines elsewhere."""
    from xacct.terminal.progress import LiveProgress

    if not o.err.is_terminal:
        yield
        return
    view = LiveProgress(o.err)
    previous, ctx.progress = ctx.progress, view
    try:
        with view:
            yield
    finally:
        ctx.progress = previous


def resume_command(prog: str, target: Central | Onboarding, *, remove: bool = False, purge: bool = False) -> str:
    """The command that continues where this run stopped: every answer spelled out."""
    words = [prog]
    if remove:
        words.append("--remove")
    if purge:
        words.append("--purge")
    for name, value in answers_of(target).to_dict().items():
        words.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(words)


def interrupted(ctx: BuildContext, cause: BaseException | None = None) -> Interrupted:
    """Stop every wait, and say what CloudFormation is still doing on its own."""
    from xacct import signals

    ctx.stop.set()
    busy = ", ".join(f"{stack} ({op})" for stack, op in ctx.inflight.items())
    them = "them" if len(ctx.inflight) > 1 else "it"
    still = (
        f"CloudFormation is still working on {busy} and finishes {them} on its own"
        if busy
        else "no stack operation was running"
    )
    signal_cause = _signal_in(cause)
    return Interrupted(
        f"interrupted{signals.named(signal_cause)}; {still}", hint=AGAIN, status=signals.exit_status(signal_cause)
    )


def _signal_in(exc: BaseException | None) -> BaseException:
    """The signal behind an interruption, wherever it sits in the exception's chain (Ctrl-C when none does)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return KeyboardInterrupt()


def confirm(question: str) -> bool:
    from xacct.terminal.wizard import confirm as ask_confirm

    return ask_confirm(question)


def type_to_confirm(message: str) -> str:
    from xacct.terminal.wizard import type_to_confirm as ask_typed

    return ask_typed(message)


def save(path: Path | None, target: Central | Onboarding) -> None:
    if path is None:
        return
    from xacct import config

    # Saving defaults is a convenience, never a failure; what a build-only command does not know
    # (the developer's answers) stays as it was saved.
    with contextlib.suppress(OSError):
        config.save(path, answers_of(target).layered(config.load_saved(path)))
