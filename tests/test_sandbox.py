"""`--sandbox` as a newcomer runs it: a subprocess, no AWS credentials, stdin closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, repository_tool

pytestmark = pytest.mark.emulator  # subprocesses of the tool, with its embedded emulator


def sandbox(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A user's own settings that must not leak in, nor be touched.
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), AWS_PROFILE="the-users-own", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), "--sandbox", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[profile the-users-own]\nregion = eu-west-3\n")
    return tmp_path


def untouched(home: Path) -> None:
    assert sorted(p.name for p in (home / ".aws").iterdir()) == ["config"]
    assert (home / ".aws" / "config").read_text() == "[profile the-users-own]\nregion = eu-west-3\n"
    assert not (home / ".config" / "xacct").exists()


def test_the_readme_sandbox_command_as_a_newcomer_runs_it_is_the_transcript_the_docs_show(home: Path) -> None:
    """`python onboard.py --sandbox` in a 100-column terminal, Enter at each question and `y` at the
    confirmation (tools/transcripts.py, which wrote the transcript in docs/usage.md): it onboards, the
    deployed function delivers, and what the terminal shows is what the docs show, line for line but
    for times, generated ids and the order concurrent stacks' events came in."""
    transcripts = repository_tool("transcripts")
    shown = transcripts.run(home)
    text = "\n".join(shown)
    # the seconds before the first question are said as they pass, phase by phase
    assert [line.split(" (")[0] for line in shown if line.startswith("sandbox: ")][:4] == [
        "sandbox: starting an embedded AWS emulator",
        "sandbox: emulator up; deploying the central stack",
        "sandbox: central stack deployed; onboarding your two teammates",
        "sandbox: ready",
    ]
    assert "+ xacct-build-222222222222-us-east-1" in text
    # The point of it all: a central build's artifact, copied by the deployed function.
    assert "the replication function delivered it to 3 of 3 developer buckets" in text
    assert "arrived in s3://xacct-build-222222222222-us-east-1/app/app.zip (application/zip" in text
    assert "Traceback" not in text
    untouched(home)
    lines, events = transcripts.masked(shown)
    doc_lines, doc_events = transcripts.masked(transcripts.documented())
    assert lines == doc_lines, "docs/usage.md's transcript is stale: run python tools/transcripts.py"
    assert events == doc_events, "docs/usage.md's transcript is stale: run python tools/transcripts.py"


def test_sandbox_in_another_region_shows_your_stacks_and_the_artifact_there(home: Path) -> None:
    r = sandbox("--yes", "--dev-region", "eu-west-2", home=home)
    assert r.returncode == 0, r.stderr
    assert "+ xacct-build-222222222222-eu-west-2" in r.stdout
    assert "stacks in the developer 222222222222 account: CrossAccountDeploy (CREATE_COMPLETE)" in r.stdout
    assert "arrived in s3://xacct-build-222222222222-eu-west-2/app/app.zip (application/zip" in r.stdout
    untouched(home)


def test_sandbox_dry_run_json_prints_only_the_plan(home: Path) -> None:
    r = sandbox("--dry-run", "--json", home=home)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["action"] == "onboard"
    assert len(plan["central"]["parameters"]["ReplicationBucketList"]["after"].split(",")) == 3
    untouched(home)


def test_sandbox_remove_takes_the_sandbox_developer_out(home: Path) -> None:
    r = sandbox("--remove", "--yes", home=home)
    assert r.returncode == 0, r.stderr
    assert "Removed in" in r.stdout
    assert "- xacct-build-222222222222-us-east-1" in r.stdout
    untouched(home)


def test_sandbox_without_a_terminal_or_yes_still_finishes(home: Path) -> None:
    r = sandbox(home=home)
    assert r.returncode == 0, r.stderr
    assert "Onboarded in" in r.stdout


def test_sandbox_verify_finds_every_link_holding(home: Path) -> None:
    # The two teammates are onboarded for real in their own accounts, so nothing is an orphan; the
    # probe goes through the deployed function.
    r = sandbox("--verify", "--probe", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Every link holds." in r.stdout
    assert "ok     probe: s3://xacct-build-111111111111-us-east-1/xacct-probe/" in r.stdout
    assert "orphan" not in r.stdout
    assert "applying" not in r.stderr + r.stdout  # a read-only command applies nothing
    untouched(home)


def test_sandbox_verify_all_finds_every_registered_developer_whole(home: Path, tmp_path: Path) -> None:
    report = tmp_path / "verify.xml"
    r = sandbox("--verify", "--all", "--junit", str(report), home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 healthy" in r.stdout
    for account in ("210987654321", "123456789012", "222222222222"):
        assert f'name="{account} ' in report.read_text()
    assert 'failures="0"' in report.read_text()


def test_sandbox_markdown_stays_markdown_and_apply_says_why_it_cannot(home: Path, tmp_path: Path) -> None:
    r = sandbox("--dry-run", "--markdown", home=home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.lstrip().startswith("#")
    assert "stacks in the" not in r.stdout  # the sandbox's own plain-text outcome is not appended
    assert "ReplicationBucketList" in r.stdout or "xacct-build-222222222222-us-east-1" in r.stdout
    team = tmp_path / "team.yaml"
    team.write_text("build_profile: sandbox-build\ndevelopers:\n  - dev_profile: sandbox-developer\n")
    r = sandbox("--from", str(team), "--yes", home=home)
    assert r.returncode == 0, r.stderr
    assert "+ xacct-build-222222222222-us-east-1" in r.stdout
    r = sandbox("--apply", str(tmp_path / "plan.json"), home=home)
    assert r.returncode == 2
    assert "every run starts a new, empty emulator" in r.stderr
    untouched(home)


def test_ctrl_c_while_the_sandbox_applies_says_to_run_the_sandbox_again(home: Path) -> None:
    """The resume command a real run prints (without --sandbox, for profiles only the emulator had)
    cannot work once the emulator is gone: the sandbox says to run itself again."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "onboard.py"), "--sandbox", "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen, deadline = "", time.monotonic() + 120
    while "CrossAccountPrimary create in progress" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "the sandbox's emulator has stopped" in err
    assert "next: run the same command again: every --sandbox run starts a new, empty emulator" in err
    assert "--build-profile sandbox-build" not in err  # no command for profiles that are gone
    assert "Traceback" not in err
    untouched(home)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--dev-profile", "the-users-own"], "the sandbox's profiles are sandbox-build, sandbox-developer"),
        (["--build-account", "999999999999"], "its accounts: 111111111111 (sandbox-build)"),
        (["--build-region", "us-east-9"], "did you mean us-east-2?"),
        (["--ou", "ou-ab12-cdefgh34"], "--ou needs an AWS Organization, and the sandbox's accounts are in none"),
    ],
)
def test_sandbox_refuses_what_it_cannot_take_before_its_emulator_starts(home: Path, args: list[str], said: str) -> None:
    r = sandbox(*args, "--yes", home=home)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr
    assert "starting an embedded AWS emulator" not in r.stderr  # refused first, without the seconds it takes
    untouched(home)


def test_sandbox_sync_starts_the_sandbox_developer_current(home: Path) -> None:
    r = sandbox("--sync", "--yes", home=home)
    assert r.returncode == 0, r.stderr
    assert "Started current: xacct-build-222222222222-us-east-1" in r.stdout
    untouched(home)
