"""Write the transcript in docs/usage.md: `python onboard.py --sandbox` run in a 100-column
pseudo-terminal, Enter at each question and `y` at the confirmation, as the terminal shows it
(spinners and erased lines played on a VT100 screen). `python tools/transcripts.py` after the
output changes; tests/test_sandbox.py runs the same and fails while the docs say otherwise.
A tool of the repository, not of the installed package (it needs pexpect and pyte, from [test])."""

from __future__ import annotations

import collections
import io
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "docs" / "usage.md"
WIDTH, ROWS = 100, 50
BEGIN = "<!-- transcript: python onboard.py --sandbox (written by tools/transcripts.py) -->"
# What the sandbox asks, in order, and what a newcomer answers: Enter takes its answers, y applies.
ANSWERS = (
    ("Profile for the build account", "\r"),
    ("Region of the central stack", "\r"),
    ("Central stack name", "\r"),
    ("Profile for the developer account", "\r"),
    ("Region of the developer stacks", "\r"),
    ("Your answers", "\r"),
    (r"Apply these changes\?", "y"),
)
# What differs between two runs of the same code: times, generated ids, the order in which
# concurrent stacks' events arrive.
_VOLATILE = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"%2F[0-9a-f]{8}-[0-9a-f-]{27}"), "%2F<uuid>"),
    (re.compile(r"-[A-Z0-9]{12,13}\b"), "-<physical id>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms)\b"), "<time>"),
)
_EVENT = re.compile(r"^\s+<time> ")


def run(home: Path) -> list[str]:
    """The sandbox as a newcomer runs it, with `home` as their home (nothing of theirs is read)."""
    import pexpect

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TERM="xterm-256color")
    env.update(COLUMNS=str(WIDTH), LINES=str(ROWS))
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        [str(ROOT / "onboard.py"), "--sandbox"],
        env=env,
        encoding="utf-8",
        timeout=180,
        dimensions=(ROWS, WIDTH),
    )
    child.logfile_read = io.StringIO()
    try:
        for prompt, answer in ANSWERS:
            child.expect(prompt)
            child.send(answer)
        child.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as exc:
        shown = "\n".join(render(child.logfile_read.getvalue())[-15:])
        raise RuntimeError(
            f"the sandbox did not ask what the transcript answers ({type(exc).__name__}):\n{shown}"
        ) from exc
    finally:
        child.close()
    if child.exitstatus != 0:
        raise RuntimeError(
            f"the sandbox exited {child.exitstatus}:\n" + "\n".join(render(child.logfile_read.getvalue()))
        )
    return render(child.logfile_read.getvalue())


def render(written: str) -> list[str]:
    """Every row as the terminal shows it, scrolled-off ones included; a row the terminal wrapped
    (a console URL is written whole) joined again."""
    import pyte

    vt = pyte.HistoryScreen(WIDTH, ROWS, history=10_000, ratio=0.5)
    pyte.Stream(vt).feed(written)
    rows = [*vt.history.top, *(vt.buffer[y] for y in range(vt.lines))]
    lines: list[str] = []
    wrapped = False
    for row in rows:
        text = "".join(row[x].data for x in range(WIDTH))
        if wrapped:
            lines[-1] += text.rstrip()
        else:
            lines.append(text.rstrip())
        wrapped = len(text.rstrip()) == WIDTH and "https://" in lines[-1]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def masked(lines: list[str]) -> tuple[list[str], collections.Counter[str]]:
    """What two runs of the same code agree on: the lines in order, CloudFormation's events (whose
    order between stacks is the order they happened in) as a count of each."""
    plain, events = [], collections.Counter[str]()
    for line in lines:
        steady = line
        for pattern, placeholder in _VOLATILE:
            steady = pattern.sub(placeholder, steady)
        if _EVENT.match(steady):
            events[steady] += 1
        else:
            plain.append(steady)
    return plain, events


def documented(text: str | None = None) -> list[str]:
    """The transcript docs/usage.md shows."""
    text = USAGE.read_text() if text is None else text
    block = text.split(BEGIN, 1)[1].split("```text\n", 1)[1].split("\n```", 1)[0]
    return block.splitlines()


def write(lines: list[str]) -> None:
    text = USAGE.read_text()
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split("```text\n", 1)[1].split("\n```", 1)
    USAGE.write_text(head + BEGIN + "\n```text\n" + "\n".join(lines) + "\n```" + tail)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="xacct-transcript-") as tmp:
        write(run(Path(tmp)))
    print(f"written: {USAGE.relative_to(ROOT)}")
