"""How long a crashed run blocks another developer: a run is killed (SIGKILL) with the central
change set pending, holding the lease, and another developer onboards at once.

    python -m bench.crash

Against the embedded emulator behind the CloudFormation latency double (3 s per stack operation,
2 s per change set). Twice: killed on this machine (its process is gone, so the lease is taken at
once), and killed on another machine (nothing can tell, so the lease is taken once it has been
silent for LEASE_SECONDS on the waiter's clock). Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
from rich.console import Console

from bench.run import PROFILES, flags
from tests.cfn_double import CloudFormationDouble
from xacct.aws.lease import LEASE_SECONDS, lease_name
from xacct.cli import main as xacct
from xacct.commands.sandbox import environment, seed_central
from xacct.sandbox import emulator
from xacct.terminal.output import Output

ROOT = Path(__file__).resolve().parent.parent
DEV1, DEV2 = emulator.DEV_ACCOUNTS[0], emulator.DEV_ACCOUNTS[1]


def quiet() -> Output:
    return Output(Console(file=io.StringIO()), Console(file=io.StringIO()))


def crash_then_onboard(elsewhere: bool) -> float:
    """Seconds from the crash until another developer's onboarding finished."""
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "onboard.py"), *flags("dev1", DEV1), "--yes"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert run.stderr is not None
    while "build:CrossAccountPrimary creating a change set" not in run.stderr.readline():
        pass
    run.kill()
    run.wait()
    if elsewhere:  # as if the run had died on another machine, just now
        ssm = boto3.Session(profile_name="build", region_name=emulator.REGION).client("ssm")
        held = json.loads(ssm.get_parameter(Name=lease_name("CrossAccountPrimary"))["Parameter"]["Value"])
        ssm.put_parameter(
            Name=lease_name("CrossAccountPrimary"),
            Value=json.dumps({**held, "host": "another-machine"}),
            Type="String",
            Overwrite=True,
        )
    crashed = time.monotonic()
    code = xacct([*flags("dev2", DEV2), "--yes"], output=quiet(), interactive=False)
    assert code == 0, "the other developer's onboarding failed"
    return time.monotonic() - crashed


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="xacct-bench-") as config_home:
        os.environ["XDG_CONFIG_HOME"] = config_home
        for elsewhere in (False, True):
            with emulator.running(PROFILES) as emu:
                double = CloudFormationDouble(emu.endpoint, 3.0, 2.0)
                endpoint = double.start()
                with environment({**emu.environ, "AWS_ENDPOINT_URL": endpoint}):
                    seed_central("build")
                    seconds = crash_then_onboard(elsewhere)
                double.stop()
            where = "another machine" if elsewhere else "this machine"
            goal = f"{LEASE_SECONDS:.0f} s of silence + an onboarding, < 90 s" if elsewhere else "an onboarding, < 90 s"
            rows.append((f"killed on {where}: another developer onboarded after", f"{seconds:.1f} s", goal))
    text = "\n".join(
        [
            f"xacct crash benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} with "
            f"{os.cpu_count()} cores; double: 3 s per stack operation, 2 s per change set",
            "",
            "| measure | figure | goal |",
            "| --- | --- | --- |",
            *(f"| {m} | {f} | {g} |" for m, f, g in rows),
        ]
    )
    print(text)
    out = ROOT / "bench" / "results" / f"crash-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
