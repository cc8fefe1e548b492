"""The one template an OU's stack set deploys (xacct/core/member_template.py): the three stock
developer templates as one stack, with nothing left to import and nothing account-specific to pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CFN
from xacct.core import member_template as mt

STOCK = [(CFN / f"CrossAccount{k}.yaml").read_text() for k in ("Primary", "Deploy", "Developer")]


def test_every_resource_condition_and_output_of_the_three_is_there_once() -> None:
    merged = mt.merged(*STOCK)
    for section in ("Resources", "Outputs", "Conditions", "Rules"):
        expected = [k for text in STOCK for k in (mt.load(text).get(section) or {})]
        assert list(merged.get(section, {})) == expected
    assert set(merged["Parameters"]) == {
        k for text in STOCK for k in mt.load(text)["Parameters"] if k not in mt.REPLACED
    }


def test_nothing_is_imported_and_the_keys_and_account_are_the_stacks_own() -> None:
    merged = mt.merged(*STOCK)
    text = json.dumps(merged)
    assert "Fn::ImportValue" not in text
    reader = merged["Resources"]["ReplicationPathReader"]["Properties"]
    # The developer stack's own ${BuildAccount} (the central role's account) is not the deploy roles'.
    assert reader["RoleName"]["Fn::Sub"][0] == "xacct-verify-${BuildAccount}-${AWS::Region}"
    assert reader["RoleName"]["Fn::Sub"][1]["BuildAccount"]["Fn::Select"][1]["Fn::Split"][1] == {
        "Ref": "ReplicationWriterRoleArn"
    }
    deploy_text = json.dumps({k: merged["Resources"][k] for k in ("PipelineDeployRole", "CloudFormationExecutionRole")})
    assert "${BuildAccount}" not in deploy_text
    reader = merged["Resources"]["ReplicationPathReader"]["Properties"]["Policies"][0]["PolicyDocument"]
    kms = next(s for s in reader["Statement"] if "kms:DescribeKey" in s["Action"])
    assert kms["Resource"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    deploy = merged["Resources"]["PipelineDeployRole"]["Properties"]
    assert deploy["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
    }
    assert len(mt.render(*STOCK).encode()) <= 51_200  # sent inline (CreateStackSet's TemplateBody)


def test_two_templates_declaring_one_logical_id_are_refused() -> None:
    with pytest.raises(ValueError, match="RootAccountArns is declared by two of the developer templates"):
        mt.merged(STOCK[0], STOCK[0].replace("Parameters:", "Parameters:", 1), STOCK[2])


def test_cfn_lint_reports_nothing_on_the_member_template(tmp_path: Path) -> None:
    path = tmp_path / "CrossAccountMember.json"
    path.write_text(mt.render(*STOCK))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
