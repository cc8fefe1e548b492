"""`python -m xacct`, `python onboard.py` and the `xacct` command all start here."""

import os
import sys


def main() -> None:
    # Before anything else is imported: SIGTERM and SIGHUP end a run as Ctrl-C does, and Ctrl-C
    # during the imports below ends it without a traceback.
    from xacct import signals

    signals.install()
    try:
        from xacct.cli import main as run

        signals.check()
        code = run(sys.argv[1:], prog=program())
    except KeyboardInterrupt as exc:  # only before the command's own handler is in place
        print("interrupted; nothing was changed", file=sys.stderr)
        code = signals.exit_status(exc)
    sys.exit(code)


def program() -> str:
    """The name the person used, for --help and for the commands we suggest."""
    started = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "xacct"
    if started == "__main__.py":
        return "python -m xacct"
    if started.endswith(".py"):
        return f"python {started}"
    return started


if __name__ == "__main__":
    main()
