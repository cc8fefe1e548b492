"""The layout keeps its promises: no import cycle, small modules, a pure core, moto only in the
emulator's seams, and the emulator beneath the product. Read from the source, so these run in the fast
tier."""

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


def touches_moto(name: str, path: Path) -> bool:
    return any(m == "moto" or m.startswith("moto.") for m in imports(path, name))


def test_only_the_emulators_seams_import_moto() -> None:
    """A moto release that moves a name breaks one `_moto.py`, the one for that service (or the
    core's), which xacct/sandbox/README.md lists."""
    outside = sorted(name for name, path in modules().items() if touches_moto(name, path) and "._moto" not in name)
    assert not outside, f"moto imported outside a seam (xacct/sandbox/**/_moto.py): {outside}"
    seams = {name for name in modules() if name.endswith("._moto")}
    assert all(name.startswith("xacct.sandbox") for name in seams), seams


def test_a_seam_is_caught_where_it_is_not(tmp_path: Path) -> None:
    """The check above reads `from moto...` and `import moto` at any depth, not only at the top."""
    path = tmp_path / "probe.py"
    for source, found in (
        ("def f():\n    from moto.s3 import models\n", True),
        ("import moto\n", True),
        ("from xacct.sandbox.s3._moto import s3_models\n", False),
    ):
        path.write_text(source)
        assert touches_moto("xacct.sandbox.s3.probe", path) is found, source


# What the emulator may take from the product: plain data, never the product's behaviour.
PLAIN_DATA = {"xacct.core.runtimes", "xacct.core.runtime_lifecycle", "xacct.core.create_only"}


def test_the_emulator_stands_beneath_the_product() -> None:
    """No arrow from the emulator into commands/, terminal/, aws/ or anything else of the product but
    plain data; the --sandbox command lives with the other commands."""
    for name, path in modules().items():
        if not name.startswith("xacct.sandbox"):
            continue
        product = {m for m in imports(path, name) if m.startswith("xacct.") and not m.startswith("xacct.sandbox")}
        used = {m for m in product if m in modules()}
        # a package on the way to plain data is imported too: it must hold nothing but its docstring
        passed = {m for m in used - PLAIN_DATA if not imports(modules()[m], m)}
        assert used - passed <= PLAIN_DATA, (name, used - passed - PLAIN_DATA)
    for data in PLAIN_DATA:
        reaches = {m for m in imports(modules()[data], data) if m in modules()}
        assert reaches <= PLAIN_DATA, (data, reaches)


def test_the_core_makes_no_aws_call_and_draws_nothing() -> None:
    for name, path in modules().items():
        if not name.startswith("xacct.core"):
            continue
        banned = {m for m in imports(path, name) if m.split(".")[0] in ("boto3", "botocore", "rich", "questionary")}
        banned |= {m for m in imports(path, name) if m.startswith(("xacct.aws", "xacct.terminal", "xacct.commands"))}
        assert not banned, (name, banned)


def test_every_package_is_in_the_wheel() -> None:
    """pyproject.toml lists the packages by name (xacct.cfn is cfn/): a folder left out installs
    nothing, and the installed tool fails where the checkout works."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert folders - listed == set(), "packages missing from [tool.setuptools] packages"
