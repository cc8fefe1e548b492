"""Where moto's template handling differs from CloudFormation's in ways the seed project's
templates (tests/data/seed-1.0.0) depend on. Each closes one gap towards what the CloudFormation
user guide documents; none makes moto accept what AWS refuses."""

from __future__ import annotations

import json
from typing import Any


def install() -> None:
    _conditional_exports()
    _imports_see_current_exports()
    _updates_register_exports()
    _role_properties()
    _managed_policy_deletion()
    _role_policy()
    _ssm_generated_names()


def _conditional_exports() -> None:
    """An output whose condition is false is not created, and neither is its export ("Outputs":
    Condition; "Exporting stack output values"). moto skipped such an output but still evaluated
    its export, so a stack whose exported output names a resource of a false condition (the seed's
    `SyncArtifactsFunctionArn` while `DeployReady` is false) could not be created at all."""
    from moto.cloudformation import parsing

    def exports(self: Any) -> list[Any]:
        found = []
        for value in (self._output_json_map or {}).values():
            condition = value.get("Condition")
            if not value.get("Export") or (condition and not self._resource_map.lazy_condition_map.get(condition)):
                continue
            name = parsing.clean_json(value["Export"].get("Name"), self._resource_map)
            exported = parsing.clean_json(value.get("Value"), self._resource_map)
            found.append(parsing.Export(self._stack_id, name, exported))
        return found

    parsing.OutputMap.exports = property(exports)  # type: ignore[assignment,method-assign]


def _imports_see_current_exports() -> None:
    """Fn::ImportValue resolves against the exports of the account and region as they are when
    the stack is updated ("Fn::ImportValue"). moto gave a stack created while the region had no
    export an empty map of its own (`exports or {}`), so an update could never import an export
    made later: the seed's BuildBucket, which imports its own stack's ReplicationFunctionArn once
    replication is enabled, failed with "No export named ReplicationFunctionArn found"."""
    from moto.cloudformation import models

    original = models.Stack.update

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        exports = models.cloudformation_backends[self.account_id][self.region_name].exports
        self.cross_stack_resources = exports
        self.resource_map.cross_stack_resources = exports
        return original(self, *args, **kwargs)

    models.Stack.update = update  # type: ignore[method-assign]


def register_exports(backend: Any, stack: Any) -> None:
    """The region's exports after a stack's update completed: the stack's current exports, and
    none of those it no longer declares."""
    stack.output_map = stack._create_output_map()
    current = {export.name: export for export in stack.exports}
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id and name not in current:
            del backend.exports[name]
    backend.exports.update(current)


def _updates_register_exports() -> None:
    """UpdateStack makes the exports the new template declares and removes those it no longer
    does ("Exporting stack output values"). moto registered exports only on CreateStack, so the
    seed's own way of deploying (create with DeployReady=false, then update it to true) left
    ReplicationFunctionArn unexported, and the update that enables replication could not import it."""
    from moto.cloudformation import models

    original = models.CloudFormationBackend.update_stack

    def update_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
        stack = original(self, *args, **kwargs)
        if stack.status == "UPDATE_COMPLETE":
            register_exports(self, stack)
        return stack

    models.CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]


def _role_properties() -> None:
    """AWS::IAM::Role attaches its ManagedPolicyArns, and an update applies the role's new trust
    policy, inline Policies and ManagedPolicyArns (attaching and detaching), keeping the role
    ("AWS::IAM::Role": ManagedPolicyArns, Policies, AssumeRolePolicyDocument are updated without
    interruption). moto ignored ManagedPolicyArns altogether, so the seed's replication role held no
    permission at all, and on update it changed only the description. An AWS managed policy moto
    has not loaded is not attached: the role then holds less than on AWS, never more."""
    from moto.iam import models as iam
    from moto.utilities.utils import get_partition

    def apply(role: Any, properties: dict[str, Any], account_id: str, region_name: str, *, fresh: bool) -> None:
        backend = iam.iam_backends[account_id][get_partition(region_name)]
        wanted = [str(a) for a in properties.get("ManagedPolicyArns") or []]
        # Only what the template declared before and no longer does: a policy attached otherwise
        # (an AWS::IAM::ManagedPolicy's Roles) is not the role's to detach.
        declared = getattr(role, "xacct_declared_policies", [])
        for arn in [a for a in declared if a not in wanted and a in role.managed_policies]:
            backend.detach_role_policy(arn, role.name)
        role.xacct_declared_policies = wanted
        for arn in [a for a in wanted if a not in role.managed_policies]:
            if arn.split(":")[4] == "aws" and arn not in {p.arn for p in backend.managed_policies.values()}:
                continue
            backend.attach_role_policy(arn, role.name)
        if fresh:
            return
        trust = properties.get("AssumeRolePolicyDocument")
        if trust is not None:
            role.assume_role_policy_document = trust if isinstance(trust, str) else json.dumps(trust)
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies") or []}
        for name in [n for n in role.policies if n not in inline]:
            role.delete_policy(name)
        for name, document in inline.items():
            role.put_policy(name, document)

    create = iam.Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = iam.Role.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        role = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply(role, cloudformation_json["Properties"], account_id, region_name, fresh=True)
        return role

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        role = update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        apply(role, cloudformation_json["Properties"], account_id, region_name, fresh=False)
        return role

    iam.Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment,method-assign,arg-type]
    iam.Role.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment,method-assign]


def _managed_policy_deletion() -> None:
    """Deleting an AWS::IAM::ManagedPolicy (its stack deleted, or the resource removed) detaches it
    from its roles, users and groups and deletes it, as CloudFormation's handler does (IAM refuses
    to delete an attached policy, and a role with one attached). moto deleted nothing, so the role
    it was attached to could never be deleted: every stack holding both ended DELETE_FAILED."""
    from moto.iam import models

    def delete_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = models.iam_backends[account_id]["aws"]
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

    models.ManagedPolicy.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)  # type: ignore[assignment,method-assign]


def _role_policy() -> None:
    """AWS::IAM::RolePolicy (one inline policy of one role: PolicyName, PolicyDocument, RoleName;
    PolicyName and RoleName create-only), which moto does not know: carried out as moto's
    AWS::IAM::Policy with that one role, so the role holds exactly that inline policy."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.iam import models

    def as_policy(cloudformation_json: Any) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        properties["Roles"] = [properties.pop("RoleName")]
        return {**cloudformation_json, "Properties": properties}

    class RolePolicy(models.InlinePolicy, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::IAM::RolePolicy"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            return models.InlinePolicy.create_from_cloudformation_json(
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
            return models.InlinePolicy.update_from_cloudformation_json(
                original_resource, new_resource_name, as_policy(cloudformation_json), account_id, region_name
            )

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert parsing.get_model_map()["AWS::IAM::RolePolicy"] is RolePolicy


def _ssm_generated_names() -> None:
    """An AWS::SSM::Parameter without Name gets a name CloudFormation generates ("Name: The name of the
    parameter ... If you don't specify a name, AWS CloudFormation generates a unique physical ID"),
    kept through updates; moto refused the resource. (Less strict than before.)"""
    from moto.ssm import models

    create = models.Parameter.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = models.Parameter.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def named(cloudformation_json: Any, name: str) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if properties.get("Name"):
            return cloudformation_json
        return {**cloudformation_json, "Properties": {**properties, "Name": name}}

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        # resource_name: the name moto generates for the resource (STACK-LOGICALID-RANDOM)
        return create(
            cls, resource_name, named(cloudformation_json, f"CFN-{resource_name}"), account_id, region_name, **kwargs
        )

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        kept = named(cloudformation_json, original_resource.name)
        return update(cls, original_resource, new_resource_name, kept, account_id, region_name)

    models.Parameter.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment,method-assign,arg-type]
    models.Parameter.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment,method-assign]
