"""Write docs/permissions.md: who needs which IAM policy, each as `python onboard.py --print-policy
KIND` prints it for the default stack names, with its size against IAM's limit for a managed policy.
`python tools/permissions.py` after a policy changes; tests/test_readme.py fails until it is run.
A tool of the repository, not of the installed package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERMISSIONS = ROOT / "docs" / "permissions.md"
LIMIT = 6144  # IAM user guide, "IAM and AWS STS quotas": a managed policy, whitespace not counted
WHO = (
    ("build", "the build account's operator: reads and updates the central stack"),
    ("build-cloudformation", "the same operator, a second managed policy: what CloudFormation does as it there"),
    ("developer", "the developer account's operator: the developer's three stacks and what they make"),
    ("organization", "beside `build`, for `--ou`: the organization's accounts and the OU's stack sets"),
    ("join", "a developer who joins on their own (`--join`, `--leave`), in their own account only"),
)


def printed(kind: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), "--print-policy", kind], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def page() -> str:
    policies = {kind: printed(kind) for kind, _ in WHO}
    lines = [
        "# AWS permissions",
        "",
        "The least-privilege IAM policy each person running the tool needs, as `python onboard.py",
        "--print-policy KIND` prints it for the default stack names (written by `tools/permissions.py`; a",
        "test keeps it current). Give `--central-stack NAME` or `--dev-stacks P,D,V` with `--print-policy`",
        "for stacks of other names. Attach each as a customer managed policy. Back to the",
        "[README](../README.md).",
        "",
        "| `--print-policy` | for | size (IAM counts no whitespace) |",
        "| --- | --- | --- |",
    ]
    for kind, who in WHO:
        size = len("".join(json.dumps(json.loads(policies[kind]), separators=(",", ":")).split()))
        lines.append(f"| `{kind}` | {who} | {size:,} of {LIMIT:,} characters |")
    for kind, _ in WHO:
        lines += ["", f"## `{kind}`", "", "```json", policies[kind], "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PERMISSIONS.write_text(page())
    print(f"written: {PERMISSIONS.relative_to(ROOT)}")
