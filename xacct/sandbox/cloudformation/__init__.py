"""CloudFormation: stack operations that fail and roll back as on AWS (failures.py), change sets
(change_sets.py), how a template's resources are carried out (templates.py), exports (exports.py),
capabilities (capabilities.py), parameter constraints (parameters.py), what is refused on the request
(requests.py) and a cheaper template parser (speed.py); an account's stacks, stack sets, exports and
change sets are walked as other threads' requests add to them (../threads.py). Each service's own resources are its own
(`resources.py` of s3/, iam/, awslambda/; kms/keys.py; ssm/); StackSets: stacksets/."""

from __future__ import annotations

from typing import Any

from xacct.sandbox.cloudformation._moto import parsing


def install() -> None:
    from xacct.sandbox.cloudformation import (
        capabilities,
        change_sets,
        exports,
        failures,
        parameters,
        speed,
        templates,
    )
    from xacct.sandbox.cloudformation._moto import cfn_models
    from xacct.sandbox.threads import hold

    # Where two change one moto method, the order is the order they wrap it in.
    hold(cfn_models.CloudFormationBackend, ("stacks", "stacksets", "deleted_stacks", "exports", "change_sets"))
    speed.install()
    failures.install()
    change_sets.install_gaps()
    templates.install()
    exports.install_gaps()
    capabilities.install()
    exports.install_rules()
    change_sets.install_rules()
    parameters.install()


def resource_type(model: type[Any]) -> None:
    """A resource type moto's CloudFormation lacks (or carries out otherwise), made the one it uses
    for `model.cloudformation_type()`: moto caches its map of types, so the caches are cleared."""
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert parsing.get_model_map()[model.cloudformation_type()] is model
