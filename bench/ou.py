"""Reading and planning an OU of many accounts (`--ou OU --dry-run`), on the embedded emulator.

    python -m bench.ou              # 200 accounts in a three-level OU tree, 50 ms per API call
    python -m bench.ou --quick      # 40 accounts, 20 ms

The organization (the build account its management account, StackSets trusted) is made through
the emulator's Organizations API; the OU's accounts sit at every level of the tree. Reports the
wall time of the plan, how many Organizations calls it made (the API AWS throttles) and how many
in all. Applying an OU is not built yet, so there is nothing else to time.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.replication import Latency
from bench.scale import BUILD, REGION, Emulated, client, seed_central, timed
from xacct.aws.organization import STACKSETS
from xacct.sandbox.run import environment

ROOT = Path(__file__).resolve().parent.parent


class Counting(Latency):
    """The latency proxy, counting calls by service."""

    def __init__(self, upstream: str, seconds: float) -> None:
        super().__init__(upstream, seconds)
        self.calls: dict[str, int] = {}
        self.counting = threading.Lock()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        service = str(h.headers.get("X-Amz-Target", "")).split(".")[0] or "query"
        with self.counting:
            self.calls[service] = self.calls.get(service, 0) + 1
        super().handle(h)


def organization(endpoint: str, accounts: int) -> str:
    """An OU with `accounts` accounts spread over it, two child OUs and a grandchild each."""
    org: Any = client("organizations", BUILD, endpoint)
    org.create_organization(FeatureSet="ALL")
    org.enable_aws_service_access(ServicePrincipal=STACKSETS)
    root = org.list_roots()["Roots"][0]["Id"]
    top = org.create_organizational_unit(ParentId=root, Name="developers")["OrganizationalUnit"]["Id"]
    parents = [top]
    for n in range(2):
        child = org.create_organizational_unit(ParentId=top, Name=f"team-{n}")["OrganizationalUnit"]["Id"]
        grandchild = org.create_organizational_unit(ParentId=child, Name=f"squad-{n}")["OrganizationalUnit"]["Id"]
        parents += [child, grandchild]
    for n in range(accounts):
        status = org.create_account(AccountName=f"dev-{n:03d}", Email=f"dev-{n:03d}@example.com")
        made = org.describe_create_account_status(CreateAccountRequestId=status["CreateAccountStatus"]["Id"])
        account = made["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parents[n % len(parents)])
    return str(top)


def run(accounts: int, latency: float) -> list[tuple[str, str, str]]:
    emu = Emulated({"build": BUILD}, latency)
    rows: list[tuple[str, str, str]] = []
    try:
        seed_central(emu.endpoint)
        ou = organization(emu.endpoint, accounts)
        proxy = Counting(emu.endpoint, latency)
        with environment({**emu.environ, "AWS_ENDPOINT_URL": proxy.url}):
            wall, out = timed("--build-profile", "build", "--build-region", REGION, "--ou", ou, "--dry-run", "--json")
        plan = json.loads(out)
        rows.append((f"--ou --dry-run, {accounts} accounts, {latency * 1000:.0f} ms per call", f"{wall:.1f} s", ""))
        rows.append(("  accounts joining in the plan", str(len(plan["accounts_joining"])), "every one, any depth"))
        org_calls = proxy.calls.get("AWSOrganizationsV20161128", 0)
        rows.append(("  Organizations calls", str(org_calls), "the API AWS throttles (ADF #788)"))
        rows.append(("  API calls in all", str(sum(proxy.calls.values())), ""))
        proxy.server.shutdown()
    finally:
        emu.stop()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ou", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="40 accounts, 20 ms per call")
    args = p.parse_args()
    accounts, latency = (40, 0.02) if args.quick else (200, 0.05)
    rows = run(accounts, latency)
    now = datetime.now(UTC)
    lines = [f"OU benchmark, {now:%Y-%m-%d %H:%M} UTC", "", "| measure | value | note |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"ou-{now:%Y%m%d-%H%M%S}.md"
    path.write_text(text)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
