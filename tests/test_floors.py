"""Declared dependency floors are versions the code runs on: .ci/floors.txt pins each floor of
pyproject.toml, CI installs them together and runs the fast tier and the sandbox on them, and a
moto older than the floor is said in one line instead of failing inside moto."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.conftest import ROOT
from xacct.sandbox.emulator import MOTO_FLOOR, moto_problem


def floors_declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["sandbox"]]:
        m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?>=([0-9.]+)", requirement)
        assert m, requirement
        found[m.group(1).lower()] = m.group(2)
    return found


def test_ci_installs_every_declared_floor_and_nothing_else() -> None:
    pinned = dict(
        line.split("==")
        for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert {k.lower(): v for k, v in pinned.items()} == floors_declared()


def test_the_sandbox_floor_is_pyprojects() -> None:
    assert floors_declared()["moto"] == MOTO_FLOOR


@pytest.mark.parametrize(
    ("installed", "said"),
    [
        ("5.2.1", f"the sandbox needs moto >= {MOTO_FLOOR}, found 5.2.1"),
        (None, "the sandbox needs moto's server, which is not installed"),
        (MOTO_FLOOR, None),
        ("5.10.0", None),
    ],
)
def test_a_moto_older_than_the_floor_is_said(installed: str | None, said: str | None) -> None:
    assert moto_problem(installed) == said
