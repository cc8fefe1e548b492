"""The stock templates, read as package data: from `cfn/` in a clone, from the installed package
anywhere else (a wheel, pipx)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from xacct.core.answers import Kind

KINDS: tuple[Kind, ...] = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")


@cache
def template(kind: Kind) -> str:
    return resources.files("xacct.cfn").joinpath(f"{kind}.yaml").read_text(encoding="utf-8")


@cache
def joining_template() -> str:
    """The build account's joining stack (cfn/CrossAccountJoining.yaml), beside the central one."""
    return resources.files("xacct.cfn").joinpath("CrossAccountJoining.yaml").read_text(encoding="utf-8")
