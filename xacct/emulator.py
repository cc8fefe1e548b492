"""moto's server on a free port, reached through ordinary named profiles.

Used by `--sandbox` and by the test harness. The product itself never knows: it talks to
whatever endpoint botocore is given, exactly as it does on AWS.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xacct.errors import InvalidInput

BUILD_ACCOUNT = "111111111111"
DEV_ACCOUNTS = ("222222222222", "333333333333", "444444444444", "555555555555")
REGION = "us-east-1"


@dataclass
class Emulator:
    """A running moto server and the AWS config files whose profiles reach its accounts."""

    endpoint: str
    directory: Path
    profiles: dict[str, str] = field(default_factory=dict)  # profile -> account
    _server: Any = None

    @property
    def environ(self) -> dict[str, str]:
        return {
            "AWS_CONFIG_FILE": str(self.directory / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.directory / "credentials"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            # Nothing from the user's own environment may leak into the emulator's accounts.
            "AWS_PROFILE": "",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SESSION_TOKEN": "",
        }

    def reset(self) -> None:
        """Forget every account's resources (between tests)."""
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def write_profiles(directory: Path, profiles: Mapping[str, str], region: str = REGION) -> None:
    """An AWS config where each profile assumes a role in its own account (emulator.md)."""
    lines = ["[profile base]", f"region = {region}", ""]
    for name, account in profiles.items():
        lines += [
            f"[profile {name}]",
            f"role_arn = arn:aws:iam::{account}:role/Admin",
            "source_profile = base",
            f"region = {region}",
            "",
        ]
    (directory / "config").write_text("\n".join(lines))
    (directory / "credentials").write_text(
        "[base]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = example\n"
    )


def _server_class() -> Any:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise InvalidInput(
            "the sandbox needs moto's server, which is not installed",
            hint="pip install -e '.[sandbox]'",
        ) from exc
    return ThreadedMotoServer


def close_moto_gaps() -> None:
    """Make moto's in-process server behave as AWS documents where the product depends on it.

    Gaps closed here, in the emulator and never in the product:
    - executing a change set does not recompute the stack's outputs or register its exports,
      so a stack created through a CREATE change set reports no outputs and cannot be
      deleted (moto 5.2);
    - updating a resource whose type has no update support in moto (a KMS key, say) leaves
      None in its place, and every later Fn::GetAtt on it fails;
    - AWS::S3::BucketPolicy is not applied at all, and an AWS::IAM::ManagedPolicy keeps its
      first document through updates (see the two functions below);
    - a parameter change re-evaluates only resources that Ref it directly, not those that
      use it through Fn::If or Fn::Split (an SSM value stays stale);
    - executing a change set does not delete the stack's other change sets, which AWS does
      because they no longer match the stack (ExecuteChangeSet API reference).
    """
    from moto.cloudformation import models, parsing

    backend = models.CloudFormationBackend
    if getattr(backend.execute_change_set, "_xacct_patched", False):
        return
    original = backend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
        )
        if change_set is None:
            # moto fails with a server error here; AWS answers ChangeSetNotFound.
            from moto.cloudformation.exceptions import CloudFormationError

            class ChangeSetNotFound(CloudFormationError):
                code = "ChangeSetNotFound"

            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        if change_set.change_set_type != "CREATE":
            original(self, change_set_name, stack_name)
        else:
            # moto made the stack with an empty template: build it as create_stack does.
            stack = self.stacks[change_set.stack_id]
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.template = change_set.template
            stack._parse_template()
            stack.cross_stack_resources = self.exports  # what create_stack gives for Fn::ImportValue
            stack.resource_map = stack._create_resource_map()
            stack.create_resources()
            change_set.execution_status = "EXECUTE_COMPLETE"
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export
        for cs_id, cs in list(self.change_sets.items()):
            if cs.stack_id == change_set.stack_id and cs is not change_set:
                del self.change_sets[cs_id]

    execute_change_set._xacct_patched = True  # type: ignore[attr-defined]
    backend.execute_change_set = execute_change_set  # type: ignore[method-assign]

    resource_map = parsing.ResourceMap
    original_update = resource_map.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        kept = dict(self._parsed_resources)
        original_update(self, template, parameters)
        for logical_id, resource in list(self._parsed_resources.items()):
            if resource is None and kept.get(logical_id) is not None:
                self._parsed_resources[logical_id] = kept[logical_id]
                if type(kept[logical_id]).__name__ == "ManagedPolicy":
                    _publish_policy_version(self, logical_id, kept[logical_id])

    resource_map.update = update  # type: ignore[method-assign]

    original_diff = resource_map.build_resource_diff

    def build_resource_diff(
        self: Any, other: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        actions: dict[str, Any] = original_diff(self, other, parameters)
        if not parameters:
            return actions
        changed = [p for p in parameters if self.input_parameters.get(p) != parameters[p]]
        old, new = self._resource_json_map, other["Resources"]
        for name, body in new.items():
            text = json.dumps(body)
            if (
                name in old
                and name not in actions["Modify"]
                and (any(re.search(rf"\b{re.escape(c)}\b", text) for c in changed) or '"Fn::If"' in text)
            ):
                actions["Modify"].append(name)
        return actions

    resource_map.build_resource_diff = build_resource_diff  # type: ignore[method-assign,assignment]
    _bucket_policies()


def _publish_policy_version(resource_map: Any, logical_id: str, policy: Any) -> None:
    """moto cannot update an AWS::IAM::ManagedPolicy from a stack update (it keeps the first
    document): publish the new document as the default version, as AWS does (at most five)."""
    from moto.cloudformation import parsing
    from moto.iam import models as iam

    document = parsing.clean_json(
        resource_map._resource_json_map[logical_id]["Properties"]["PolicyDocument"], resource_map
    )
    current = next(v for v in policy.versions if v.is_default).document
    if (json.loads(current) if isinstance(current, str) else current) == document:
        return
    backend = iam.iam_backends[policy.account_id][policy.partition]
    old = [v for v in policy.versions if not v.is_default]
    if len(policy.versions) >= 5 and old:
        backend.delete_policy_version(policy.arn, old[0].version_id)
    backend.create_policy_version(policy.arn, json.dumps(document), set_as_default=True)


def _bucket_policies() -> None:
    """moto's CloudFormation ignores AWS::S3::BucketPolicy (the bucket reports no policy): apply
    it through S3 as AWS does. The emulator speaks plain HTTP, so a TLS-only statement
    (aws:SecureTransport) would refuse every request: evaluate policies as if over TLS."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.s3 import models as s3m

    def backend(account_id: str, region_name: str) -> Any:
        from moto.utilities.utils import get_partition

        return s3m.s3_backends[account_id][get_partition(region_name)]

    class BucketPolicy(CloudFormationModel):
        def __init__(self, bucket: str) -> None:
            self.bucket = bucket

        @property
        def physical_resource_id(self) -> str:
            return self.bucket

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> BucketPolicy:
            props = cloudformation_json["Properties"]
            backend(account_id, region_name).put_bucket_policy(
                props["Bucket"], json.dumps(props["PolicyDocument"]).encode()
            )
            return cls(props["Bucket"])

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> BucketPolicy:
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            bucket = cloudformation_json["Properties"]["Bucket"]
            with contextlib.suppress(Exception):
                backend(account_id, region_name).delete_bucket_policy(bucket)

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()

    original = s3m.FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        doc = json.loads(self.policy)
        kept = [s for s in doc.get("Statement", []) if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))]
        saved, self.policy = self.policy, json.dumps({**doc, "Statement": kept}).encode()
        try:
            return original(self, action, resource)
        finally:
            self.policy = saved

    s3m.FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


@contextmanager
def running(profiles: Mapping[str, str]) -> Iterator[Emulator]:
    """Start moto's server on a free port with the given profiles; stop it and delete the files."""
    server_class = _server_class()
    close_moto_gaps()
    with tempfile.TemporaryDirectory(prefix="xacct-emulator-") as tmp:
        server = server_class(ip_address="127.0.0.1", port=0, verbose=False)
        import logging
        import warnings

        # moto narrates what it does not emulate; the product's own output is what matters.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module="moto")
        warnings.filterwarnings("ignore", message=".*not supported by moto.*")
        server.start()
        host, port = server.get_host_and_port()
        emu = Emulator(f"http://{host}:{port}", Path(tmp), dict(profiles), server)
        write_profiles(emu.directory, profiles)
        try:
            yield emu
        finally:
            emu.stop()
