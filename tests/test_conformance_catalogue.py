"""The conformance suite covers the emulator's rules: every rule of xacct/sandbox/rules.py (the
README's table) has at least one case in conformance/, each case quotes the AWS sentence it checks, and
the cases are plain boto3: they import nothing of the product. Read from the source: the fast tier."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT
from xacct.sandbox import rules

CONFORMANCE = ROOT / "conformance"


def cases() -> dict[str, tuple[str, str]]:
    """Each case: its name -> (the rule its mark names, its docstring)."""
    found = {}
    for path in sorted(CONFORMANCE.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and ast.unparse(decorator.func) == "pytest.mark.rule"
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    found[f"{path.name}::{node.name}"] = (str(decorator.args[0].value), ast.get_docstring(node) or "")
    return found


def test_every_rule_has_a_conformance_case_and_every_case_a_rule() -> None:
    found = cases()
    covered = {rule for rule, _ in found.values()}
    assert set(rules.RULES) - covered == set(), "rules without a conformance case"
    assert covered - set(rules.RULES) == set(), "cases marked with a rule the catalogue does not have"


def test_every_case_quotes_the_aws_sentence_it_checks() -> None:
    for name, (_, doc) in cases().items():
        assert doc.count('"') >= 2, f"{name} quotes no AWS sentence"
        assert any(source in doc for source in ("guide", "API reference", "AWS::", "quotas")), f"{name} names no source"


def test_the_cases_are_plain_boto3_and_import_nothing_of_the_product() -> None:
    for path in CONFORMANCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                # The emulator's one public face starts it; nothing else of the package is reached.
                assert not name.startswith("xacct") or name == "xacct.sandbox", (path.name, name)
                assert not name.startswith("tests"), (path.name, name)


def test_conformance_runs_with_the_readme_test_command() -> None:
    import tomllib

    config = tomllib.loads(Path(ROOT / "pyproject.toml").read_text())
    assert "conformance" in config["tool"]["pytest"]["ini_options"]["testpaths"]


SANDBOX = ROOT / "xacct" / "sandbox"


def test_every_rule_names_the_files_that_enforce_it_and_they_name_it() -> None:
    for name, rule in rules.RULES.items():
        assert rule.where, f"{name} names no file"
        for where in rule.where:
            assert (SANDBOX / where).is_file(), f"{name}: no xacct/sandbox/{where}"
        assert any(f"`{name}`" in (SANDBOX / where).read_text() for where in rule.where), (
            f"none of {rule.where} mentions the rule `{name}` it enforces"
        )


def test_each_service_the_emulator_changes_has_one_folder_that_a_rule_names() -> None:
    """One folder per AWS service (as moto's own layout), each enforcing at least one rule of the
    catalogue; a service's folder holds its gaps, rules, speed and seam, nothing of another's."""
    services = sorted(p.name for p in SANDBOX.iterdir() if (p / "__init__.py").is_file())
    named = {where.split("/")[0] for rule in rules.RULES.values() for where in rule.where if "/" in where}
    assert set(services) == named, (services, named)
    for service in services:
        assert (SANDBOX / service / "_moto.py").is_file(), f"{service}/ has no seam of its own"


def test_the_emulators_readme_lists_every_moto_module_each_seam_imports() -> None:
    """A moto upgrade shows at once what it touches: the seam table in xacct/sandbox/README.md."""
    readme = (SANDBOX / "README.md").read_text()
    table = readme.split("## moto's names", 1)[1].split("\n## ", 1)[0]
    for seam in sorted(SANDBOX.rglob("_moto.py")):
        where = seam.relative_to(SANDBOX).as_posix()
        row = next((line for line in table.splitlines() if line.startswith(f"| `{where}`")), None)
        assert row is not None, f"the README lists no seam {where}"
        imported = set()
        for node in ast.walk(ast.parse(seam.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names if a.name.split(".")[0] == "moto"}
        listed = set(re.findall(r"`(moto[\w.]*)`", row))
        assert imported == listed, (where, imported ^ listed)
