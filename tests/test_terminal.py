"""The wizard in a real pseudo-terminal against the emulator, as a person runs it."""

from __future__ import annotations

import os
import re
import sys

import pexpect
import pytest

from tests.conftest import ROOT, cfn, deploy_central, fake_entry, onboard_args, stack, stack_parameters
from xacct.core import registry as reg
from xacct.sandbox.emulator import Emulator

FLAGS = [*onboard_args(), "--central-stack", "CrossAccountPrimary"]


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    return pexpect.spawn(
        sys.executable, [str(ROOT / "onboard.py"), *args], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0))


def test_accept_in_a_terminal_onboards(aws: Emulator) -> None:
    deploy_central([fake_entry(1), fake_entry(2)])
    child = spawn(*FLAGS)
    child.expect("Your answers")
    child.send("\r")
    child.expect("CloudFormation will create")
    child.expect("Apply these changes")
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)  # as a person reads it
    assert "ReplicationRole AWS::IAM::Role (IAM/policy)" in shown
    assert "ArtifactKey AWS::KMS::Key (IAM/policy)" in shown
    child.send("y")
    child.expect("Onboarded.")
    assert finish(child) == 0, child.before
    assert len(reg.parse(stack_parameters("CrossAccountPrimary", "build")).entries) == 3


def test_decline_in_a_terminal_leaves_nothing_behind(aws: Emulator) -> None:
    deploy_central([fake_entry(1)])
    child = spawn(*FLAGS)
    child.expect("Your answers")
    child.send("\r")
    child.expect("Apply these changes")
    child.send("n")
    child.expect("Declined: nothing was changed.")
    assert finish(child) == 0
    assert stack("CrossAccountPrimary", "dev1") is None
    assert cfn("build").list_change_sets(StackName="CrossAccountPrimary")["Summaries"] == []
    assert len(reg.parse(stack_parameters("CrossAccountPrimary", "build")).entries) == 1


def test_ctrl_c_at_the_first_prompt_exits_130_without_a_traceback(aws: Emulator) -> None:
    child = spawn()
    child.expect("account id")
    child.sendintr()
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in output
    assert "interrupted" in output


@pytest.mark.parametrize("env_extra", [{"NO_COLOR": "1"}, {"COLUMNS": "60"}, {"COLUMNS": "100"}])
def test_no_color_and_narrow_terminals(aws: Emulator, env_extra: dict[str, str]) -> None:
    deploy_central([fake_entry(1)])
    env = {**os.environ, "TERM": "xterm-256color", **env_extra}
    width = int(env_extra.get("COLUMNS", "120"))
    child = pexpect.spawn(
        sys.executable,
        [str(ROOT / "onboard.py"), *FLAGS, "--dry-run"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, width),
    )
    child.expect("Your answers")
    child.send("\r")
    child.expect("dry run: nothing was changed")
    text = child.before
    assert finish(child) == 0
    if "NO_COLOR" in env_extra:
        # Styles (bold, italic) may stay; colours (30-38, 90-97 foreground) may not.
        assert not re.search(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])[;m]", text)
    else:
        assert "CrossAccountDeveloper" in text
        entry_lines = [
            line
            for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).splitlines()
            if "xacct-build-" in line or ":key/" in line
        ]
        assert entry_lines
        if width >= 90:  # room for a key ARN: no entry line is left for the terminal to break
            assert all(len(line) <= width for line in entry_lines), entry_lines
