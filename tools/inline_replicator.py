"""Keep the replication function inlined in cfn/CrossAccountPrimary.yaml equal to
xacct/function/replicator.py: `python tools/inline_replicator.py` rewrites the template's ZipFile
block. What is inlined is the module without its docstrings and comments (`compact`): the same
program (a test compares the syntax trees), in fewer of the 51,200 bytes CloudFormation takes
inline. A tool of the repository, not of the installed package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cfn" / "CrossAccountPrimary.yaml"
MODULE = ROOT / "xacct" / "function" / "replicator.py"
INDENT = " " * 10
HEADER = "# xacct's replication function; the commented source is xacct/function/replicator.py.\n"


def without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def compact(code: str) -> str:
    return HEADER + ast.unparse(without_docstrings(ast.parse(code))) + "\n"


def inline(template: str, code: str) -> str:
    block = "".join(INDENT + line if line.strip() else "\n" for line in compact(code).splitlines(True))
    pattern = re.compile(r"(        ZipFile: \|\n)(.*?)(\n\n  \w)", re.S)
    return pattern.sub(lambda m: m.group(1) + block.rstrip("\n") + m.group(3), template, count=1)


def main() -> None:
    TEMPLATE.write_text(inline(TEMPLATE.read_text(), MODULE.read_text()))


if __name__ == "__main__":
    main()
