"""Write docs/reference.md: every flag, as `python onboard.py --help` prints it at 100 columns.
`python tools/flag_reference.py` after a flag changes; tests/test_readme.py fails until it is run.
A tool of the repository, not of the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"


def reference() -> str:
    env = {**os.environ, "COLUMNS": "100"}
    shown = subprocess.run(
        [sys.executable, str(ROOT / "onboard.py"), "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    return (
        "# Every flag\n\n"
        "What `python onboard.py --help` prints (written by `tools/flag_reference.py`; a test keeps it\n"
        "current). Back to the [README](../README.md).\n\n"
        "```text\n" + shown.rstrip() + "\n```\n"
    )


if __name__ == "__main__":
    REFERENCE.write_text(reference())
    print(f"written: {REFERENCE.relative_to(ROOT)}")
