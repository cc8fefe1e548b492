"""Joining benchmark: twenty developers of an OU join at once in automatic mode, against one join
alone, through the CloudFormation latency double (the registrar's own calls included).

    python -m bench.join            # 6 s per stack operation, 2 s per change set
    python -m bench.join --quick    # 3 s and 1 s

Reports the time until all twenty are registered divided by one join (goal: at most 1.5) and the
central change sets the twenty took (goal: at most 3). Prints a table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fleet import quiet
from bench.run import table
from tests.cfn_double import CloudFormationDouble
from xacct.aws.gateway import Gateway
from xacct.cli import main as xacct
from xacct.commands.sandbox import environment, seed_central
from xacct.core import registry as reg
from xacct.sandbox import emulator, identities
from xacct.sandbox.awslambda import runtime

ROOT = Path(__file__).resolve().parent.parent
BUILD = emulator.BUILD_ACCOUNT
REGION = emulator.REGION
TWENTY = 20


def _join(profile: str) -> float:
    start = time.perf_counter()
    argv = ["--join", "--build-account", BUILD, "--build-region", REGION, "--dev-profile", profile]
    code = xacct(argv, output=quiet(), interactive=False)
    if code != 0:
        raise SystemExit(f"--join as {profile} failed with exit {code}")
    return time.perf_counter() - start


def _members(emu: emulator.Emulator, count: int) -> list[str]:
    """`count` accounts in an OU of the build account's organization, each with a profile."""
    org: Any = Gateway("build", REGION, "build").organizations
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="developers")["OrganizationalUnit"]["Id"]
    profiles = []
    for n in range(count):
        status = org.create_account(AccountName=f"dev-{n:02d}", Email=f"dev-{n:02d}@example.com")["CreateAccountStatus"]
        account = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        made = account["AccountId"]
        org.move_account(AccountId=made, SourceParentId=root, DestinationParentId=ou)
        identities.seed([made])
        emu.add_profile(f"member{n:02d}", made)
        profiles.append(f"member{n:02d}")
    return [ou, *profiles]


def _central_updates() -> int:
    """Updates of the central stack so far (each one change set executed)."""
    cfn: Any = Gateway("build", REGION, "build").cfn
    events = cfn.describe_stack_events(StackName="CrossAccountPrimary")["StackEvents"]
    return sum(
        1
        for e in events
        if e["LogicalResourceId"] == "CrossAccountPrimary" and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"
    )


def run(stack_seconds: float, change_set_seconds: float) -> list[tuple[str, str, str]]:
    with emulator.running({"build": BUILD}) as emu:
        double = CloudFormationDouble(emu.endpoint, stack_seconds, change_set_seconds)
        endpoint = double.start()
        runtime.ENDPOINT[:] = [endpoint]  # the registrar's calls take CloudFormation's time too
        with environment({**emu.environ, "AWS_ENDPOINT_URL": endpoint}):
            seed_central("build")
            ou, alone, *twenty = _members(emu, TWENTY + 1)
            enable = ["--build-profile", "build", "--build-region", REGION, "--enable-joining", ou, "--auto-approve"]
            if xacct([*enable, "--yes"], output=quiet(), interactive=False) != 0:
                raise SystemExit("--enable-joining failed")
            one = _join(alone)
            updates = _central_updates()
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=TWENTY) as pool:
                list(pool.map(_join, twenty))
            together = time.perf_counter() - start
            central = _central_updates() - updates
            stack = Gateway("build", REGION, "build").cfn.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]
            registered = len(reg.parse({p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}).entries)
        double.stop()
    return [
        ("one --join, until registered and current", f"{one:.1f} s", ""),
        (f"{TWENTY} joining at once, until all are registered", f"{together:.1f} s", ""),
        (f"{TWENTY} at once ÷ one", f"{together / one:.2f}", "≤ 1.5"),
        (f"central change sets for the {TWENTY}", str(central), "≤ 3"),
        ("developers registered in the end", str(registered), f"{TWENTY + 1 + 2} (two were there before)"),
    ]


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.join", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 s per stack operation, 1 s per change set")
    args = p.parse_args()
    stack_s, cs_s = (3.0, 1.0) if args.quick else (6.0, 2.0)
    with tempfile.TemporaryDirectory(prefix="xacct-bench-") as work:
        os.environ["XDG_CONFIG_HOME"] = work  # never over the user's own saved answers
        text = table(run(stack_s, cs_s), stack_s, cs_s)
    print(text)
    out = ROOT / "bench" / "results" / f"join-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
