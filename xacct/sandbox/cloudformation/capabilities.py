"""Capabilities, as CloudFormation requires them: moto ignored the parameter entirely.

CloudFormation API Reference, CreateStack / UpdateStack / CreateChangeSet, `Capabilities`: a template
with any of AWS::IAM::AccessKey, Group, InstanceProfile, ManagedPolicy, Policy, Role, User or
UserToGroupAddition needs CAPABILITY_IAM or CAPABILITY_NAMED_IAM; one whose IAM resources have
custom names needs CAPABILITY_NAMED_IAM; without them the call fails with InsufficientCapabilities
("Requires capabilities : [CAPABILITY_NAMED_IAM]"), and nothing is created. CreateStackSet and
UpdateStackSet ask the same of a stack set's template (stacksets/api.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xacct.sandbox.cloudformation._moto import CloudFormationError, cfn_models, cfn_responses
from xacct.sandbox.patching import around

IAM_TYPES = {
    "AWS::IAM::AccessKey",
    "AWS::IAM::Group",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::UserToGroupAddition",
}
# The property that gives each its custom name (the resource reference of each type).
NAME_PROPERTIES = {
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
}


def required(template: dict[str, Any]) -> str | None:
    """The capability a template needs: CAPABILITY_NAMED_IAM, CAPABILITY_IAM or None."""
    resources = [r for r in (template.get("Resources") or {}).values() if isinstance(r, dict)]
    iam = [r for r in resources if r.get("Type") in IAM_TYPES]
    if not iam:
        return None
    named = any((r.get("Properties") or {}).get(NAME_PROPERTIES.get(str(r.get("Type")), "")) for r in iam)
    return "CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"


class InsufficientCapabilities(CloudFormationError):
    code = "InsufficientCapabilitiesException"


def check(body: str | None, given: Iterable[str]) -> None:
    """Refuse `body` unless `given` holds what it needs (stacks, change sets and stack sets alike)."""
    need = required(cfn_models.Stack.parse_template(body)) if body else None
    enough = {"CAPABILITY_NAMED_IAM"} | ({"CAPABILITY_IAM"} if need == "CAPABILITY_IAM" else set())
    if need is not None and not enough & set(given):
        raise InsufficientCapabilities(f"Requires capabilities : [{need}]")


def template_of(self: Any) -> str | None:
    """The template a CreateStack, UpdateStack or CreateChangeSet request deploys (None: none given)."""
    if self._get_bool_param("UsePreviousTemplate", False):
        return str(self.cloudformation_backend.get_stack(self._get_param("StackName")).template)
    if self._get_param("TemplateBody"):
        return str(self._get_param("TemplateBody"))
    if self._get_param("TemplateURL"):
        return str(self._get_stack_from_s3_url(self._get_param("TemplateURL")))
    return None


def install() -> None:
    def checked(original: Any, self: Any) -> Any:
        check(template_of(self), self._get_param("Capabilities", []) or [])
        return original(self)

    for name in ("create_stack", "update_stack", "create_change_set"):
        around(cfn_responses.CloudFormationResponse, name)(checked)
