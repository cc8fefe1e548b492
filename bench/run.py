"""Benchmarks: how close an onboarding comes to CloudFormation's own time, how it compares with
the AWS CLI way, how gently it polls, and how fast it starts.

    python -m bench.run            # 20 s per stack operation, 5 s per change set (as on AWS)
    python -m bench.run --quick    # 4 s and 1 s, for a quick look

Everything runs against the embedded emulator behind the CloudFormation latency double
(tests/cfn_double.py). Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from tests.cfn_double import CloudFormationDouble
from xacct.cli import main as onboard
from xacct.commands.sandbox import environment, seed_central
from xacct.sandbox import emulator
from xacct.terminal.output import Output

ROOT = Path(__file__).resolve().parent.parent
BUILD, DEV1, DEV2, DEV3 = emulator.BUILD_ACCOUNT, *emulator.DEV_ACCOUNTS[:3]
REGION = emulator.REGION
PROFILES = {"build": BUILD, "dev1": DEV1, "dev2": DEV2, "dev3": DEV3}


def flags(profile: str, account: str) -> list[str]:
    return [
        "--build-account", BUILD, "--build-region", REGION, "--build-profile", "build",
        "--dev-account", account, "--dev-region", REGION, "--dev-profile", profile,
    ]  # fmt: skip


def quiet() -> Output:
    return Output(Console(file=io.StringIO()), Console(file=io.StringIO()))


def aws_cli() -> str:
    """The AWS CLI in a virtual environment of its own (it pins its own botocore)."""
    found = ROOT / ".venv-awscli" / "bin" / "aws"
    if not found.exists():
        venv.create(found.parent.parent, with_pip=True)
        subprocess.run([str(found.parent / "pip"), "install", "-q", "awscli"], check=True)
    return str(found)


def median_seconds(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sandbox_refusal_seconds(runs: int) -> float:
    """The slowest, by median, of the sandbox's refusals of a bad region, profile, stack name and
    file: each must come before its emulator starts (exit 2, and the start never said)."""
    bad = (
        ["--build-region", "us-east-9"], ["--dev-profile", "nope"], ["--central-stack", "1bad"],
        ["--config", "/nonexistent/answers.yaml"],
    )  # fmt: skip
    medians = []
    for args in bad:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, str(ROOT / "onboard.py"), "--sandbox", *args, "--yes"],
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
            times.append(time.perf_counter() - start)
            if done.returncode != 2 or "starting an embedded AWS emulator" in done.stderr:
                raise SystemExit(f"--sandbox {' '.join(args)} was not refused before the emulator started")
        medians.append(statistics.median(times))
    return max(medians)


def first_prompt_seconds(runs: int) -> float:
    import pexpect

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # --guided: the first question even where answers were saved (they are, by the runs above).
        child = pexpect.spawn(sys.executable, [str(ROOT / "onboard.py"), "--guided"], encoding="utf-8", timeout=30)
        child.expect("Profile for the build account")
        times.append(time.perf_counter() - start)
        child.terminate(force=True)
    return statistics.median(times)


def run(stack_seconds: float, change_set_seconds: float, with_cli: bool) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    with emulator.running(PROFILES) as emu:
        double = CloudFormationDouble(emu.endpoint, stack_seconds, change_set_seconds)
        endpoint = double.start()
        with environment({**emu.environ, "AWS_ENDPOINT_URL": endpoint}):
            seed_central("build")
            double.calls.clear()
            double.busy.clear()
            start = time.perf_counter()
            code = onboard([*flags("dev1", DEV1), "--yes"], output=quiet(), interactive=False)
            wall = time.perf_counter() - start
            assert code == 0, "the onboarding failed"
            busy = double.busy_seconds()
            calls = len(double.calls)
            polls = double.polls_per_second_while_waiting()
            rows.append(("onboarding wall time", f"{wall:.1f} s", ""))
            # Two operations deep (the primary; then everything else side by side, the central
            # change set and update included): about 2 operations and a change set.
            rows.append(("onboarding ÷ one stack operation", f"{wall / stack_seconds:.2f}", "≤ 3.0"))
            rows.append(("CloudFormation busy (operations and change sets)", f"{busy:.1f} s", ""))
            rows.append(("wall ÷ busy", f"{wall / busy:.3f}", "≤ 1.10"))
            rows.append(("CloudFormation calls per onboarding", str(calls), ""))
            rows.append(("status reads per second per stack while waiting (worst)", f"{polls:.2f}", "≤ ~1"))
            if with_cli:
                cli = aws_cli()
                # A home of its own: the AWS CLI caches assumed-role credentials under ~/.aws/cli/cache,
                # and a cached key of an earlier emulator reaches no account in this one.
                env = {**os.environ, "AWS": cli, "HOME": tempfile.mkdtemp(prefix="xacct-bench-home-")}
                start = time.perf_counter()
                done = subprocess.run(
                    [str(ROOT / "bench" / "cli_onboard.sh"), "build", "dev2", BUILD, DEV2, REGION,
                     "CrossAccountPrimary", str(ROOT / "cfn")],
                    env=env, check=False, capture_output=True, text=True,
                )  # fmt: skip
                if done.returncode:
                    raise SystemExit(f"bench/cli_onboard.sh failed:\n{done.stdout}{done.stderr}")
                cli_wall = time.perf_counter() - start
                rows.append(("AWS CLI way (bench/cli_onboard.sh), same double", f"{cli_wall:.1f} s", ""))
                rows.append(("AWS CLI way ÷ xacct", f"{cli_wall / wall:.2f}x", "≥ 2x"))
            double.stop()
        # Start-up and dry-run, straight against the emulator.
        with environment(emu.environ):
            python = sys.executable
            rows.append((
                "start-up: onboard.py --help (median of 15)",
                f"{median_seconds([python, str(ROOT / 'onboard.py'), '--help'], 15):.3f} s",
                "< 0.15 s",
            ))  # fmt: skip
            rows.append(
                ("start-up: time to the first prompt (median of 7)", f"{first_prompt_seconds(7):.3f} s", "< 0.5 s")
            )
            rows.append((
                "sandbox: a bad region, profile, stack name or file refused (worst median of 5)",
                f"{sandbox_refusal_seconds(5):.3f} s",
                "< 0.5 s",
            ))  # fmt: skip
            dry = [python, str(ROOT / "onboard.py"), *flags("dev3", DEV3), "--dry-run", "--json"]
            rows.append(
                ("dry-run end to end (median of 5)", f"{median_seconds(dry, 5, dict(os.environ)):.2f} s", "< 1.5 s")
            )
    return rows


def table(rows: list[tuple[str, str, str]], stack_seconds: float, change_set_seconds: float) -> str:
    lines = [
        f"xacct benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} with {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; double: {stack_seconds:g} s per stack operation, "
        f"{change_set_seconds:g} s per change set",
        "",
        "| measure | figure | goal |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {m} | {f} | {g} |" for m, f, g in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 s per stack operation, 1 s per change set")
    p.add_argument("--stack-seconds", type=float)
    p.add_argument("--change-set-seconds", type=float)
    p.add_argument("--no-cli", action="store_true", help="skip the AWS CLI comparison")
    args = p.parse_args()
    stack_s = args.stack_seconds or (4.0 if args.quick else 20.0)
    cs_s = args.change_set_seconds or (1.0 if args.quick else 5.0)
    with tempfile.TemporaryDirectory(prefix="xacct-bench-") as config_home:
        # The benchmark's onboardings save answers too: never over the user's own.
        os.environ["XDG_CONFIG_HOME"] = config_home
        text = table(run(stack_s, cs_s, not args.no_cli), stack_s, cs_s)
    print(text)
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
