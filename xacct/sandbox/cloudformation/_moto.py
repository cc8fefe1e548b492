"""moto's CloudFormation names the emulator uses: the one place they are imported."""

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import (
    CloudFormationError,
    ExportNotFound,
    StackInstanceNotFound,
    StackSetNotEmpty,
    StackSetNotFoundException,
    ValidationError,
)
from moto.cloudformation.models import Event, cloudformation_backends
from moto.cloudformation.utils import yaml_tag_constructor

__all__ = [
    "CloudFormationError",
    "Event",
    "ExportNotFound",
    "StackInstanceNotFound",
    "StackSetNotEmpty",
    "StackSetNotFoundException",
    "ValidationError",
    "cfn_models",
    "cfn_responses",
    "cloudformation_backends",
    "parsing",
    "yaml_tag_constructor",
]
