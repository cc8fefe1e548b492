"""The conformance suite covers the emulator's rules: every rule of xacct/sandbox/rules.py (the
README's table) has at least one case in conformance/, each case quotes the AWS sentence it checks, and
the cases are plain boto3: they import nothing of the product. Read from the source: the fast tier."""

from __future__ import annotations

import ast
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
