"""The README's promises: two Quick start commands, CI running exactly the test one, a first page
that fits a screen or two, and documentation whose every flag exists and whose flag reference is
what the tool prints."""

from __future__ import annotations

import re

from tests.conftest import ROOT, repository_tool


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
    """The recipes of the README and docs/ keep working: a renamed or removed flag fails here, not
    for a user."""
    from xacct.cli.options import parser

    known = {opt for action in parser("xacct")._actions for opt in action.option_strings}
    readme = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    # Other programs' flags: the benchmark's, cdk's, the AWS CLI's, pytest's, py-spy's.
    others = r"`python -m bench[^`]*`|`cdk [^`]*`|`aws [^`]*`|`(?:python -m )?pytest [^`]*`|`py-spy [^`]*`"
    ours = re.sub(others, "", readme.replace("\n", " "))
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+[a-z])", ours))
    assert mentioned <= known, sorted(mentioned - known)


def test_the_readme_fits_a_screen_or_two_and_its_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\(((?:docs/)[^)#]+)", readme):
        assert (ROOT / target).is_file(), target
    for doc in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)", doc.read_text()):
            assert (doc.parent / target).is_file(), (doc.name, target)


def test_the_flag_reference_is_what_the_tool_prints() -> None:
    tool = repository_tool("flag_reference")
    assert (ROOT / "docs" / "reference.md").read_text() == tool.reference(), "run: python tools/flag_reference.py"


def test_the_permissions_page_holds_the_policies_the_tool_prints() -> None:
    tool = repository_tool("permissions")
    assert (ROOT / "docs" / "permissions.md").read_text() == tool.page(), "run: python tools/permissions.py"
