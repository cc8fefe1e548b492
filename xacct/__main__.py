"""`python -m xacct`, `python onboard.py` and the `xacct` command all start here."""

import sys


def main() -> None:
    # Before anything else is imported: SIGTERM and SIGHUP end a run as Ctrl-C does, and Ctrl-C
    # during the imports below ends it without a traceback.
    from xacct import signals

    signals.install()
    try:
        from xacct.cli import main as run

        code = run(sys.argv[1:])
    except KeyboardInterrupt as exc:  # only before the command's own handler is in place
        print("interrupted; nothing was changed", file=sys.stderr)
        code = signals.exit_status(exc)
    sys.exit(code)


if __name__ == "__main__":
    main()
