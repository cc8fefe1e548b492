"""CloudFormation's IAM resources as their handlers carry them out, where moto's differ (CloudFormation
user guide, AWS::IAM::Role, AWS::IAM::ManagedPolicy, AWS::IAM::RolePolicy)."""

from __future__ import annotations

import json
from typing import Any

from xacct.sandbox._moto import CloudFormationModel, get_partition
from xacct.sandbox.cloudformation import resource_type
from xacct.sandbox.cloudformation._moto import parsing
from xacct.sandbox.iam._moto import iam_backends, iam_models
from xacct.sandbox.patching import after_template, replace


def install() -> None:
    _role_properties()
    _managed_policy_deletion()
    _role_policy()


def _role_properties() -> None:
    """AWS::IAM::Role attaches its ManagedPolicyArns, and an update applies the role's new trust
    policy, inline Policies and ManagedPolicyArns (attaching and detaching), keeping the role
    ("AWS::IAM::Role": ManagedPolicyArns, Policies, AssumeRolePolicyDocument are updated without
    interruption). moto ignored ManagedPolicyArns altogether, so the seed's replication role held no
    permission at all, and on update it changed only the description. Policies it no longer declares
    are deleted, and only those: an AWS::IAM::RolePolicy's stays. An AWS managed policy moto
    has not loaded is not attached: the role then holds less than on AWS, never more."""

    @after_template(iam_models.Role)
    def apply(role: Any, cfn: Any, account_id: str, region_name: str, *, created: bool) -> None:
        properties = cfn["Properties"]
        backend = iam_backends[account_id][get_partition(region_name)]
        wanted = [str(a) for a in properties.get("ManagedPolicyArns") or []]
        # Only what the template declared before and no longer does: a policy attached otherwise
        # (an AWS::IAM::ManagedPolicy's Roles) is not the role's to detach.
        declared = getattr(role, "xacct_declared_policies", [])
        for arn in [a for a in declared if a not in wanted and a in role.managed_policies]:
            backend.detach_role_policy(arn, role.name)
        role.xacct_declared_policies = wanted
        for arn in [a for a in wanted if a not in role.managed_policies]:
            if arn.split(":")[4] == "aws" and arn not in backend.managed_policies:
                continue
            backend.attach_role_policy(arn, role.name)
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies") or []}
        # Only the inline policies the role's own Policies declared before and no longer do (rule
        # `role-inline-policies`): one an
        # AWS::IAM::RolePolicy put on the role (made before this update, as an added resource is) is
        # that resource's, not the role's to delete.
        before = getattr(role, "xacct_declared_inline", None)
        role.xacct_declared_inline = list(inline)
        if created:
            return
        trust = properties.get("AssumeRolePolicyDocument")
        if trust is not None:
            role.assume_role_policy_document = trust if isinstance(trust, str) else json.dumps(trust)
        for name in [n for n in role.policies if n not in inline and (before is None or n in before)]:
            role.delete_policy(name)
        for name, document in inline.items():
            role.put_policy(name, document)


def _managed_policy_deletion() -> None:
    """Deleting an AWS::IAM::ManagedPolicy (its stack deleted, or the resource removed) detaches it
    from its roles, users and groups and deletes it, as CloudFormation's handler does (IAM refuses
    to delete an attached policy, and a role with one attached). moto deleted nothing, so the role
    it was attached to could never be deleted: every stack holding both ended DELETE_FAILED."""

    @replace(iam_models.ManagedPolicy, "delete_from_cloudformation_json")
    def delete_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = iam_backends[account_id]["aws"]
        policy = backend.managed_policies.get(resource_name)
        if policy is None:
            return  # already gone: success, as the handler contract says
        for role in list(backend.roles.values()):
            if resource_name in role.managed_policies:
                backend.detach_role_policy(resource_name, role.name)
        for user in list(backend.users.values()):
            if resource_name in user.managed_policies:
                backend.detach_user_policy(resource_name, user.name)
        for group in list(backend.groups.values()):
            if resource_name in group.managed_policies:
                backend.detach_group_policy(resource_name, group.name)
        backend.delete_policy(resource_name)


def publish_policy_version(resource_map: Any, logical_id: str, policy: Any) -> None:
    """An AWS::IAM::ManagedPolicy's new document as its default version, as AWS does on update (at
    most five versions); moto kept the first document through updates."""
    document = parsing.clean_json(
        resource_map._resource_json_map[logical_id]["Properties"]["PolicyDocument"], resource_map
    )
    current = next(v for v in policy.versions if v.is_default).document
    if (json.loads(current) if isinstance(current, str) else current) == document:
        return
    backend = iam_backends[policy.account_id][policy.partition]
    old = [v for v in policy.versions if not v.is_default]
    if len(policy.versions) >= 5 and old:
        backend.delete_policy_version(policy.arn, old[0].version_id)
    backend.create_policy_version(policy.arn, json.dumps(document), set_as_default=True)


def _role_policy() -> None:
    """AWS::IAM::RolePolicy (one inline policy of one role: PolicyName, PolicyDocument, RoleName;
    PolicyName and RoleName create-only), which moto does not know: carried out as moto's
    AWS::IAM::Policy with that one role, so the role holds exactly that inline policy."""

    def as_policy(cloudformation_json: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties["Roles"] = [properties.pop("RoleName")]
        return {**cloudformation_json, "Properties": properties}

    class RolePolicy(iam_models.InlinePolicy, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::IAM::RolePolicy"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            return iam_models.InlinePolicy.create_from_cloudformation_json(
                resource_name, as_policy(cloudformation_json), account_id, region_name, **kwargs
            )

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            return iam_models.InlinePolicy.update_from_cloudformation_json(
                original_resource, new_resource_name, as_policy(cloudformation_json), account_id, region_name
            )

    resource_type(RolePolicy)
