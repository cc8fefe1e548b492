"""Nothing secret printed, nothing saved where others can read it or where a link points."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, deploy_central, onboard_args
from xacct import config
from xacct.core import answers as ans
from xacct.core.redact import redact
from xacct.sandbox.emulator import Emulator

SECRET_SHAPES = (
    re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}"),
    re.compile(r"Signature=[0-9a-f]{64}"),
    re.compile(r"(?:X-Amz-Security-Token|SessionToken)[^*]{0,8}[A-Za-z0-9/+=]{40,}"),
    re.compile(r"<SecretAccessKey>[^*<]"),
)


def test_debug_output_carries_no_key_token_or_signature(aws: Emulator, tmp_path: Path) -> None:
    deploy_central()
    env = {**os.environ, "NO_COLOR": "1", "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), *onboard_args(), "--dry-run", "--debug"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    logged = done.stderr
    assert "botocore.endpoint" in logged
    assert "AssumeRole" in logged
    assert "Credential=***" in logged
    for shape in SECRET_SHAPES:
        assert not shape.search(logged), shape.pattern


def test_redaction_of_what_botocore_logs() -> None:
    line = (
        "{'Authorization': b'AWS4-HMAC-SHA256 Credential=ASIAABCDEFGHIJKLMNOP/20261127/us-east-1/sts/aws4_request, "
        "SignedHeaders=host, Signature=" + "a" * 64 + "', 'X-Amz-Security-Token': b'FQoGZXIvYXdzEBYaD" + "x" * 60 + "'}"
        "<AccessKeyId>ASIAQQQQQQQQQQQQQQQQ</AccessKeyId><SecretAccessKey>abc/def+ghi</SecretAccessKey>"
        "<SessionToken>tokentokentoken</SessionToken>"
    )
    out = redact(line)
    for secret in ("ASIAABCDEFGHIJKLMNOP", "a" * 64, "FQoGZXIvYXdzEBYaD", "ASIAQQQQ", "abc/def+ghi", "tokentokentoken"):
        assert secret not in out
    assert "Credential=***" in out


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saved_answers_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "xacct" / "answers.yaml"
    old = os.umask(0)
    try:
        config.save(path, ans.Answers(build_account="111111111111", build_profile="build"))
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert config.load(path).build_profile == "build"
    assert config.load(path).build_account is None  # never saved: read from the profile each run
    assert [p.name for p in path.parent.iterdir()] == ["answers.yaml"]  # no temporary file left


def test_saving_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    path = tmp_path / "xacct" / "answers.yaml"
    path.parent.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (path.parent / "answers.tmp").symlink_to(victim)  # where an earlier version wrote its temporary file
    path.symlink_to(victim)
    config.save(path, ans.Answers(build_profile="build"))
    assert victim.read_text() == "precious\n"
    assert not path.is_symlink()
    assert config.load(path).build_profile == "build"
