"""The README's promises: two Quick start commands, and CI running exactly the test one."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_is_two_commands_sandbox_then_tests() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "onboard.py --sandbox" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci.splitlines()


def test_every_flag_the_readme_mentions_exists() -> None:
    """The README's recipes keep working: a renamed or removed flag fails here, not for a user."""
    from xacct.cli.options import parser

    known = {opt for action in parser("xacct")._actions for opt in action.option_strings}
    readme = (ROOT / "README.md").read_text()
    # Other programs' flags: the benchmark's, cdk's, the AWS CLI's, pytest's, py-spy's.
    others = r"`python -m bench[^`]*`|`cdk [^`]*`|`aws [^`]*`|`(?:python -m )?pytest [^`]*`|`py-spy [^`]*`"
    ours = re.sub(others, "", readme.replace("\n", " "))
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+[a-z])", ours))
    assert mentioned <= known, sorted(mentioned - known)
