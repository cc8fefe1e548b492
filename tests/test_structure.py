"""The layout keeps its promises: no import cycle, small modules, a pure core, and moto only in the
sandbox. Read from the source, so these run in the fast tier."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "xacct"
LIMIT = 400  # lines


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, package: str) -> set[str]:
    """Every module this one imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}
    return names


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges[name] = {m for m in imports(path, package) if m in known and m != name}
    return edges


def test_the_package_has_no_import_cycle() -> None:
    edges = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        assert node not in visiting, " -> ".join([*visiting[visiting.index(node) :], node])
        visiting.append(node)
        for nxt in sorted(edges[node]):
            # A package's __init__ importing its own submodules is how a package is made, not a cycle.
            if not nxt.startswith(node + "."):
                visit(nxt)
        visiting.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)


def test_no_module_is_more_than_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    too_big = {name: n for name, n in sizes.items() if n > LIMIT}
    assert not too_big, too_big


def test_only_the_sandbox_touches_moto() -> None:
    for name, path in modules().items():
        touches = any(m == "moto" or m.startswith("moto.") for m in imports(path, name))
        assert not touches or name.startswith("xacct.sandbox"), name


def test_the_core_makes_no_aws_call_and_draws_nothing() -> None:
    for name, path in modules().items():
        if not name.startswith("xacct.core"):
            continue
        banned = {m for m in imports(path, name) if m.split(".")[0] in ("boto3", "botocore", "rich", "questionary")}
        banned |= {m for m in imports(path, name) if m.startswith(("xacct.aws", "xacct.terminal", "xacct.commands"))}
        assert not banned, (name, banned)
