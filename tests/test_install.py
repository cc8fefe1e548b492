"""The package as a user installs it: a wheel in a fresh virtual environment outside the
repository, run from another directory, with nothing of the clone in reach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.emulator  # a build and a virtual environment of its own

CARRIED = [
    "xacct/cfn/CrossAccountPrimary.yaml",
    "xacct/cfn/CrossAccountDeploy.yaml",
    "xacct/cfn/CrossAccountDeveloper.yaml",
    "xacct/function/replicator.py",
    "xacct/function/copies.py",
    "xacct/sandbox/s3/resources.py",
]


def checkout(into: Path) -> Path:
    """The files git would commit (tracked, and new ones it does not ignore), as a clone has them: a
    build from the working folder itself would also pack what an earlier build left in build/."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def test_the_wheel_carries_everything_and_runs_from_anywhere(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    clone = checkout(tmp_path / "clone")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(clone)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(dist.glob("xacct-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    for carried in CARRIED:
        assert carried in names, carried
    assert any(n.endswith("entry_points.txt") for n in names)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "xacct").rglob("*.py")}
    modules |= {f"xacct/cfn/{p.name}" for p in (ROOT / "cfn").glob("*.py")}  # cfn/ installs as xacct.cfn
    assert {n for n in names if n.endswith(".py")} == modules  # every module, and nothing else

    env_dir = tmp_path / "elsewhere" / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", "--no-compile", f"{wheel}[sandbox]"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    away = tmp_path / "elsewhere" / "work"
    away.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV"))}
    clean.update(HOME=str(away), XDG_CONFIG_HOME=str(away / ".config"), NO_COLOR="1")

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(command), cwd=away, env=clean, capture_output=True, text=True, timeout=300, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    helped = run(str(bin_dir / "xacct"), "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: xacct ")
    as_module = run(str(bin_dir / "python"), "-m", "xacct", "--help")
    assert as_module.stdout.startswith("usage: python -m xacct ")
    where = run(str(bin_dir / "python"), "-c", "import xacct; print(xacct.__file__)")
    assert str(ROOT) not in where.stdout  # the installed copy, not the clone
    sandbox = run(str(bin_dir / "xacct"), "--sandbox", "--yes")
    assert sandbox.returncode == 0, sandbox.stderr[-2000:]
    assert "Onboarded in" in sandbox.stdout
    assert "delivered it to 3 of 3 developer buckets" in sandbox.stdout


def test_the_sdist_carries_the_templates(tmp_path: Path) -> None:
    # `python -m build` builds in an isolated environment with the declared build requirements,
    # as pipx and pip do; the project's own setuptools may be older.
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    sdist = next(tmp_path.glob("xacct-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for template in ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper"):
        assert any(n.endswith(f"cfn/{template}.yaml") for n in names), template
    assert any(n.endswith("xacct/function/replicator.py") for n in names)
