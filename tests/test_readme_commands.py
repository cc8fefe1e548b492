"""Every command of the README, run as written, in its order, on the emulator: the profiles are the
ones the README names (`build`, `dev`, `me`), the team file is the one it describes. The OU id is
the one thing a reader always replaces with their own, and so does this test (the emulator makes
its own ids). The questions a command asks on a terminal are answered as a person would."""

from __future__ import annotations

import re
from pathlib import Path

import pexpect
import pytest

from tests.conftest import BUILD, DEV1, REGION, ROOT, deploy_central, run_cli, stack_parameters
from tests.test_stacksets_emulator import account, organization, ou
from tests.test_terminal import finish, spawn
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator

pytestmark = pytest.mark.emulator
README_OU = "ou-ab12-cdefgh34"


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    rest = readme.replace(quick_start, "")
    blocks = re.findall(r"```bash\n(.+?)\n```", rest, flags=re.S)
    return [line.split("  #")[0].strip() for b in blocks for line in b.splitlines() if line.startswith("python ")]


def registered() -> list[str]:
    return [
        b for b in stack_parameters("CrossAccountPrimary", "build").get("ReplicationBucketList", "").split(",") if b
    ]


def on_a_terminal(argv: list[str]) -> None:
    """As a person at a terminal runs it: Enter takes each answer offered, `y` at the confirmation."""
    child = spawn(*argv, width=100)
    while True:
        seen = child.expect([r"\(y/N\)", "Region of the central stack", "Region of the developer stacks", "Your answers",
                             pexpect.EOF])  # fmt: skip
        if seen == 4:
            break
        child.send("y" if seen == 0 else "\r")
        if seen in (1, 2, 3):
            child.expect(["✓", r"\n"])  # the answer taken, before the next question is looked for
    assert finish(child) == 0, child.logfile_read.getvalue()[-2000:]


def test_every_readme_command_runs_as_written(aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xacct.commands import join

    monkeypatch.setattr(join, "ANSWER_SECONDS", 120.0)
    monkeypatch.chdir(tmp_path)
    aws.add_profile("dev", DEV1)
    deploy_central()
    root = organization()
    team = ou(root, "developers")
    me = account("me", team)
    identities.seed([me])
    aws.add_profile("me", me)
    (tmp_path / "team.yaml").write_text("build_profile: build\ndevelopers:\n  - dev_profile: dev\n")
    ran: list[str] = []
    for command in readme_commands():
        argv = command.replace(README_OU, team).split()[2:]
        ran.append(command)
        if ("--remove" in argv or "--alerts" in argv) and "--yes" not in argv:  # they confirm on a terminal
            on_a_terminal(argv)
        else:
            r = run_cli(*argv)
            assert r.code == 0, (command, r.out[-1500:], r.err[-1500:])
        if argv[-1] == "--yes" and "--dev-profile" in argv and "dev" in argv:
            assert f"xacct-build-{DEV1}-{REGION}" in registered()
        if "--remove" in argv:
            assert f"xacct-build-{DEV1}-{REGION}" not in registered()
        if "--join" in argv:
            assert f"xacct-build-{me}-{REGION}" in registered()
    assert len(ran) >= 10
    assert f"--build-account {BUILD}" in " ".join(ran)
