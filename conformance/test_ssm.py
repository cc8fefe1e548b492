"""Systems Manager's answers: how much a parameter holds in each tier, and the name CloudFormation
gives a parameter declared without one."""

from __future__ import annotations

import functools

import pytest

from conformance import make
from conformance.conftest import World, error_code


@pytest.mark.rule("ssm-value-size")
def test_a_parameter_value_is_held_to_its_tier(world: World) -> None:
    """Systems Manager user guide, "Managing parameter tiers": "Standard: ... Maximum size of a
    parameter value 4 KB"; "Advanced: ... 8 KB"; with Intelligent-Tiering "Parameter Store evaluates
    each PutParameter request and ... uses the advanced tier" when the value needs it."""
    ssm = world.a.client("ssm")
    names = [world.name(n) for n in ("standard", "tiered", "advanced")]
    for name in names:
        world.later(functools.partial(ssm.delete_parameter, Name=name))
    put = ssm.put_parameter
    assert error_code(lambda: put(Name=names[0], Value="x" * 4097, Type="String")) == "ValidationException"
    put(Name=names[1], Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")
    assert ssm.get_parameter(Name=names[1])["Parameter"]["Value"] == "x" * 5000
    assert error_code(lambda: put(Name=names[2], Value="x" * 8193, Type="String", Tier="Advanced")) == (
        "ValidationException"
    )


@pytest.mark.rule("ssm-names")
def test_a_parameter_declared_without_a_name_gets_one_it_keeps(world: World) -> None:
    """AWS::SSM::Parameter, Name: "The name of the parameter" ... "If you don't specify a name, AWS
    CloudFormation generates a unique physical ID for the parameter". The stack is made, the parameter
    is found by that ID, and an update of its value keeps the name."""
    cfn, ssm = world.a.client("cloudformation"), world.a.client("ssm")
    template = {
        "Parameters": {"V": {"Type": "String", "Default": "one"}},
        "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "V"}}}},
    }
    stack, status = make.stack(world, world.a, template)
    assert status == "CREATE_COMPLETE"
    name = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="P")["StackResourceDetail"]
    physical = name["PhysicalResourceId"]
    assert ssm.get_parameter(Name=physical)["Parameter"]["Value"] == "one"
    cfn.update_stack(
        StackName=stack, UsePreviousTemplate=True, Parameters=[{"ParameterKey": "V", "ParameterValue": "two"}]
    )
    assert make.settled(cfn, stack) == "UPDATE_COMPLETE"
    assert ssm.get_parameter(Name=physical)["Parameter"]["Value"] == "two"
