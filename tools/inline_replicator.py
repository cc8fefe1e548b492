"""Keep the replication function inlined in cfn/CrossAccountPrimary.yaml identical to
xacct/function/replicator.py: `python tools/inline_replicator.py` rewrites the template's ZipFile
block. A tool of the repository, not of the installed package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cfn" / "CrossAccountPrimary.yaml"
MODULE = ROOT / "xacct" / "function" / "replicator.py"
INDENT = " " * 10


def inline(template: str, code: str) -> str:
    block = "".join(INDENT + line if line.strip() else "\n" for line in code.splitlines(True))
    pattern = re.compile(r"(        ZipFile: \|\n)(.*?)(\n\n  \w)", re.S)
    return pattern.sub(lambda m: m.group(1) + block.rstrip("\n") + m.group(3), template, count=1)


def main() -> None:
    TEMPLATE.write_text(inline(TEMPLATE.read_text(), MODULE.read_text()))


if __name__ == "__main__":
    main()
