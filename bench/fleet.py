"""Fleet benchmark: ten developers in one `--from` run, against one onboarding and against ten
single onboardings one after another, through the CloudFormation latency double.

    python -m bench.fleet            # 6 s per stack operation, 2 s per change set
    python -m bench.fleet --quick    # 3 s and 1 s

Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench.run import table
from tests.cfn_double import CloudFormationDouble
from xacct.cli import main as xacct
from xacct.commands.sandbox import environment, seed_central
from xacct.sandbox import emulator
from xacct.terminal.output import Output

ROOT = Path(__file__).resolve().parent.parent
BUILD = emulator.BUILD_ACCOUNT
REGION = emulator.REGION
TEN = 10
# One developer alone, ten in the batch, ten more one after another: 21 developer accounts.
PROFILES = {"build": BUILD, **{f"dev{n:02d}": f"2000000000{n:02d}" for n in range(1, 2 * TEN + 2)}}


def quiet() -> Output:
    return Output(Console(file=io.StringIO()), Console(file=io.StringIO()))


def onboard(*argv: str) -> float:
    start = time.perf_counter()
    code = xacct([*argv, "--yes"], output=quiet(), interactive=False)
    if code != 0:
        raise SystemExit(f"xacct {' '.join(argv)} failed with exit {code}")
    return time.perf_counter() - start


def single(profile: str) -> float:
    return onboard("--build-profile", "build", "--dev-profile", profile)


def run(stack_seconds: float, change_set_seconds: float, workdir: Path) -> list[tuple[str, str, str]]:
    names = list(PROFILES)[1:]
    alone, batch, serial = names[0], names[1 : TEN + 1], names[TEN + 1 :]
    team = workdir / "team.yaml"
    team.write_text(
        f"build_profile: build\nbuild_region: {REGION}\ndevelopers:\n"
        + "".join(f"  - dev_profile: {p}\n" for p in batch)
    )
    with emulator.running(PROFILES) as emu:
        double = CloudFormationDouble(emu.endpoint, stack_seconds, change_set_seconds)
        endpoint = double.start()
        with environment({**emu.environ, "AWS_ENDPOINT_URL": endpoint}):
            seed_central("build")
            one = single(alone)
            double.calls.clear()
            fleet = onboard("--from", str(team))
            central = sum(1 for c in double.calls if c.who == BUILD and c.action == "CreateChangeSet")
            ten = sum(single(p) for p in serial)
        double.stop()
    return [
        ("one onboarding, wall time", f"{one:.1f} s", ""),
        (f"{TEN} developers with --from, wall time", f"{fleet:.1f} s", ""),
        (f"{TEN} developers ÷ one", f"{fleet / one:.2f}", "≤ 1.25"),
        ("central change sets in the --from run", str(central), "1"),
        (f"{TEN} single onboardings one after another", f"{ten:.1f} s", ""),
        ("one after another ÷ --from", f"{ten / fleet:.1f}x", ""),
    ]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s per stack operation, 1 s per change set")
    p.add_argument("--stack-seconds", type=float)
    p.add_argument("--change-set-seconds", type=float)
    args = p.parse_args()
    stack_s = args.stack_seconds or (3.0 if args.quick else 6.0)
    cs_s = args.change_set_seconds or (1.0 if args.quick else 2.0)
    with tempfile.TemporaryDirectory(prefix="xacct-bench-") as work:
        os.environ["XDG_CONFIG_HOME"] = work  # never over the user's own saved answers
        text = table(run(stack_s, cs_s, Path(work)), stack_s, cs_s)
    print(text)
    out = ROOT / "bench" / "results" / f"fleet-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
