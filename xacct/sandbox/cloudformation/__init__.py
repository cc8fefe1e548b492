"""CloudFormation: stack operations that fail and roll back as on AWS (failures.py), change sets
(change_sets.py), how a template's resources are carried out (templates.py), exports (exports.py),
capabilities (capabilities.py), parameter constraints (parameters.py), what is refused on the request
(requests.py) and a cheaper template parser (speed.py). Each service's own resources are its own
(`resources.py` of s3/, iam/, awslambda/; kms/keys.py; ssm/); StackSets: stacksets/."""

from __future__ import annotations


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

    # Where two change one moto method, the order is the order they wrap it in.
    speed.install()
    failures.install()
    change_sets.install_gaps()
    templates.install()
    exports.install_gaps()
    capabilities.install()
    exports.install_rules()
    change_sets.install_rules()
    parameters.install()
