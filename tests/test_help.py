"""`--help` as a newcomer reads it: grouped, with examples and what each exit code means."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_help_is_grouped_with_examples_and_exit_codes_within_80_columns() -> None:
    env = {"COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    shown = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    groups = [
        "what to do (--MODE: one of the first fourteen at most; default: onboard):",
        "the answers",
        "safety:",
        "output:",
        "examples:",
        "exit codes:",
    ]
    positions = [shown.index(g) for g in groups]
    assert positions == sorted(positions)
    assert "python onboard.py --build-profile build --dev-profile dev --yes" in shown  # the CI recipe
    for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert any(line.startswith(f"  {code}") for line in shown.splitlines()), code
    assert max(len(line) for line in shown.splitlines()) <= 80
