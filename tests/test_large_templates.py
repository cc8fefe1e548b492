"""A template over CloudFormation's 51,200-byte inline limit goes through S3 (TemplateURL), on
create and on update: never UsePreviousTemplate, which would silently keep the old one."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import CFN, REGION, deploy_central, onboard_args, run_cli, session
from xacct.core import templates
from xacct.sandbox.emulator import Emulator


def padded_templates(monkeypatch: pytest.MonkeyPatch, where: Path, pad: str) -> str:
    """The stock templates, CrossAccountPrimary padded past the inline limit with a comment."""
    where.mkdir(exist_ok=True)
    for path in CFN.glob("*.yaml"):
        shutil.copy(path, where / path.name)
    primary = (CFN / "CrossAccountPrimary.yaml").read_text() + f"\n# {pad * 60_000}\n"
    (where / "CrossAccountPrimary.yaml").write_text(primary)
    monkeypatch.setattr(templates, "resources", SimpleNamespace(files=lambda _package: where))
    templates.template.cache_clear()
    return primary


def test_a_template_over_the_inline_limit_is_created_and_updated_through_s3(
    aws: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deploy_central()
    try:
        first = padded_templates(monkeypatch, tmp_path / "a", "a")
        assert len(first.encode()) > 51_200
        r = run_cli(*onboard_args(), "--yes")
        assert r.code == 0, r.out + r.err
        dev = session("dev1").client("cloudformation")
        assert str(dev.get_template(StackName="CrossAccountPrimary")["TemplateBody"]) == first
        second = padded_templates(monkeypatch, tmp_path / "b", "b")
        r = run_cli(*onboard_args(), "--yes")
        assert r.code == 0, r.out + r.err
        assert str(dev.get_template(StackName="CrossAccountPrimary")["TemplateBody"]) == second
        staged = session("dev1").client("s3").list_objects_v2(Bucket=f"xacct-templates-222222222222-{REGION}")
        assert len([o for o in staged["Contents"] if o["Key"].startswith("xacct/templates/")]) == 2
    finally:
        templates.template.cache_clear()
