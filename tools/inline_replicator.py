"""Keep the replication function inlined in cfn/CrossAccountPrimary.yaml equal to its modules in
xacct/function/ (copies.py, targets.py, alerts.py, replicator.py): `python tools/inline_replicator.py` rewrites
the template's ZipFile block. Lambda runs one file, index.py, so the modules are joined into one
program (`joined`): their imports once each at the top, the imports between them dropped, then
their bodies in that order. What is inlined is that program without its docstrings and comments
(`compact`), one space an indentation level: the same program (a test compares the syntax trees), in
fewer of the 51,200 bytes CloudFormation takes inline. A tool of the repository, not of the installed package."""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cfn" / "CrossAccountPrimary.yaml"
FUNCTION = ROOT / "xacct" / "function"
MODULES = ("copies", "targets", "alerts", "replicator")  # in the order they are joined: each uses only those before it
HEADER = "# xacct's replication function; the commented source is in xacct/function/.\n"


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


def joined(sources: list[str]) -> ast.Module:
    """One module of several: their imports merged at the top (but those of each other), then their
    bodies in order, each module's docstring left out."""
    imports: dict[str, ast.Import | ast.ImportFrom] = {}
    body: list[ast.stmt] = []
    for source in sources:
        tree = without_docstrings(ast.parse(source))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xacct.function"):
                continue
            if isinstance(node, ast.ImportFrom) and f"from {node.module}" in imports:
                held = imports[f"from {node.module}"]
                known = {a.name for a in held.names}
                held.names += [a for a in node.names if a.name not in known]
            elif isinstance(node, ast.ImportFrom):
                imports[f"from {node.module}"] = node
            elif isinstance(node, ast.Import):
                imports.setdefault(ast.unparse(node), node)
            else:
                body.append(node)
    return ast.Module(body=[*imports.values(), *body], type_ignores=[])


def sources() -> list[str]:
    return [(FUNCTION / f"{name}.py").read_text() for name in MODULES]


def compact(code: list[str]) -> str:
    """The joined program, indented one space a level (ast.unparse's four), in fewer bytes."""
    program = ast.unparse(joined(code))
    tokens = tokenize.generate_tokens(io.StringIO(program).readline)
    assert all("\n" not in t.string for t in tokens if t.type == tokenize.STRING)  # every indent is code's
    lines = (re.sub(r"^((?:    )*)", lambda m: " " * (len(m.group(1)) // 4), line) for line in program.splitlines())
    return HEADER + "\n".join(lines) + "\n"


def inline(template: str, code: list[str]) -> str:
    """The template with its ZipFile as one double-quoted YAML scalar (JSON's escapes are YAML's): a
    literal block would indent each of the program's lines by ten spaces, 4 KB of the 51,200."""
    quoted = json.dumps(compact(code), ensure_ascii=False)
    pattern = re.compile(r'(        ZipFile: )(?:\|\n.*?|"[^\n]*")(\n\n  \w)', re.S)
    return pattern.sub(lambda m: m.group(1) + quoted + m.group(2), template, count=1)


def main() -> None:
    TEMPLATE.write_text(inline(TEMPLATE.read_text(), sources()))


if __name__ == "__main__":
    main()
