"""Onboarding an OU of many accounts (`--ou`), on the embedded emulator.

    python -m bench.ou              # 200 accounts in a three-level OU tree, 50 ms per API call
    python -m bench.ou --quick      # 40 accounts, 20 ms

The organization (the build account its management account, StackSets trusted) is made through
the emulator's Organizations API; the OU's accounts sit at every level of the tree. Reports the
plan's wall time and Organizations calls (the API AWS throttles); the onboarding's wall time,
central change sets and StackSets operations; and the same for a re-run after 5 accounts joined
and 5 left. The emulator carries out a StackSets operation before the call returns: the wall time
here is the tool's and the API's, not the minutes CloudFormation takes to make 200 stacks.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.replication import Latency
from bench.scale import BUILD, REGION, Emulated, client, seed_central, timed
from xacct.aws.organization import STACKSETS
from xacct.commands.sandbox import environment

ROOT = Path(__file__).resolve().parent.parent


class Counting(Latency):
    """The latency proxy, counting calls by service and by action."""

    def __init__(self, upstream: str, seconds: float) -> None:
        super().__init__(upstream, seconds)
        self.calls: dict[str, int] = {}
        self.actions: dict[str, int] = {}
        self.counting = threading.Lock()

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs

        from tests.forwarding import forward, reply

        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        target = str(h.headers.get("X-Amz-Target", ""))
        service = target.split(".", maxsplit=1)[0] or "query"
        action = (
            target.rsplit(".", maxsplit=1)[-1]
            if target
            else (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0]
        )
        with self.counting:
            self.calls[service] = self.calls.get(service, 0) + 1
            self.actions[action] = self.actions.get(action, 0) + 1
        time.sleep(self.seconds)
        status, headers, out = forward(self.upstream, h, body, timeout=300)
        reply(h, status, headers, out)

    def reset(self) -> None:
        with self.counting:
            self.calls.clear()
            self.actions.clear()


STACKSETS_OPERATIONS = ("CreateStackInstances", "UpdateStackInstances", "DeleteStackInstances", "UpdateStackSet")


def organization(endpoint: str, accounts: int) -> tuple[str, str, list[str]]:
    """An OU with `accounts` accounts spread over it, two child OUs and a grandchild each; and the
    root, and the ids of 5 more accounts made outside the OU (to join it later)."""
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
    outside = []
    for n in range(accounts + 5):
        status = org.create_account(AccountName=f"dev-{n:03d}", Email=f"dev-{n:03d}@example.com")
        made = org.describe_create_account_status(CreateAccountRequestId=status["CreateAccountStatus"]["Id"])
        account = made["CreateAccountStatus"]["AccountId"]
        if n < accounts:
            org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parents[n % len(parents)])
        else:
            outside.append(account)
    return str(top), str(root), outside


def run(accounts: int, latency: float) -> list[tuple[str, str, str]]:
    emu = Emulated({"build": BUILD}, latency)
    rows: list[tuple[str, str, str]] = []
    build = ("--build-profile", "build", "--build-region", REGION)
    try:
        seed_central(emu.endpoint)
        ou, root, outside = organization(emu.endpoint, accounts)
        proxy = Counting(emu.endpoint, latency)
        per_call = f"{latency * 1000:.0f} ms per call"
        with environment({**emu.environ, "AWS_ENDPOINT_URL": proxy.url}):
            wall, out = timed(*build, "--ou", ou, "--dry-run", "--json")
            plan = json.loads(out)
            rows.append((f"--ou --dry-run, {accounts} accounts, {per_call}", f"{wall:.1f} s", ""))
            rows.append(("  accounts joining in the plan", str(len(plan["accounts_joining"])), "every one, any depth"))
            org_calls = proxy.calls.get("AWSOrganizationsV20161128", 0)
            rows.append(("  Organizations calls", str(org_calls), "the API AWS throttles (ADF #788)"))
            rows += _applied(proxy, f"--ou --yes, {accounts} accounts", lambda: timed(*build, "--ou", ou, "--yes"))
            seen = _operations(emu.endpoint, ou)
            org: Any = client("organizations", BUILD, emu.endpoint)
            members = [a["Id"] for a in org.list_accounts_for_parent(ParentId=ou)["Accounts"]][:5]
            for account in outside:
                org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
            for account in members:
                org.move_account(AccountId=account, SourceParentId=ou, DestinationParentId=root)
            automatic = _operations(emu.endpoint, ou) - seen
            rows += _applied(proxy, "re-run after 5 joined and 5 left", lambda: timed(*build, "--ou", ou, "--yes"))
            rows.append(("  operations automatic deployment ran as they moved", str(automatic), "one per account"))
        proxy.server.shutdown()
    finally:
        emu.stop()
    return rows


def _operations(endpoint: str, ou: str) -> int:
    cfn: Any = client("cloudformation", BUILD, endpoint)
    return len(cfn.list_stack_set_operations(StackSetName=f"xacct-{ou}")["Summaries"])


def _applied(proxy: Counting, label: str, command: Any) -> list[tuple[str, str, str]]:
    proxy.reset()
    wall, _ = command()
    operations = sum(proxy.actions.get(a, 0) for a in STACKSETS_OPERATIONS)
    return [
        (label, f"{wall:.1f} s", "stack operations as fast as the emulator makes them"),
        ("  central change sets", str(proxy.actions.get("CreateChangeSet", 0)), "1"),
        (
            "  StackSets operations the run started",
            str(operations),
            ", ".join(a for a in STACKSETS_OPERATIONS if proxy.actions.get(a)),
        ),
        ("  API calls in all", str(sum(proxy.calls.values())), ""),
    ]


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
