"""The stock templates: linted, scanned, and deployed in the right accounts on the emulator."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (
    BUILD,
    CFN,
    DEV1,
    DEV2,
    REGION,
    ROOT,
    cfn,
    deploy_central,
    fake_entry,
    repository_tool,
    session,
    stack_outputs,
)
from xacct.core import limits, regions
from xacct.sandbox.emulator import Emulator

TEMPLATES = sorted(CFN.glob("*.yaml"))
CHECKOV_OPTIONS = ("--framework", "cloudformation", "--skip-download", "--quiet", "-o", "json")
CHECKOV_VENV = Path(os.environ.get("XACCT_CHECKOV_VENV", ROOT / ".venv-checkov"))


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((CFN / name).read_text(), Loader=CfnLoader)
    return loaded


def test_cfn_lint_reports_nothing() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, TEMPLATES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _schema_tables(name: str = "schema_tables") -> Any:
    return repository_tool(name)


def test_the_create_only_and_runtime_tables_are_cfn_lints() -> None:
    """The tables --adopt and the runtime check rely on are the installed cfn-lint's data: a
    difference means: run python tools/schema_tables.py."""
    from xacct.core.create_only import CREATE_ONLY
    from xacct.core.runtime_lifecycle import BLOCK_DATES

    tool = _schema_tables()
    assert {kind: tuple(tool.create_only(kind)) for kind in tool.resource_types()} == CREATE_ONLY
    assert tool.lifecycle() == BLOCK_DATES


def test_the_adopted_seed_template_lints_clean_but_for_what_it_carries_over(tmp_path: Path) -> None:
    """The template --adopt deploys: cfn-lint finds nothing of this project's making. What it
    reports is the seed's own, carried over unchanged so that nothing is replaced: its artifact-sync
    function's nodejs10.x (E2533) and its policies' empty-by-default ARN lists (W1033)."""
    from xacct.core import adopt

    seed = (ROOT / "tests" / "data" / "seed-1.0.0" / "CrossAccountPrimary.yaml").read_text()
    moved = adopt.adoption(
        "CrossAccountPrimary",
        seed,
        (CFN / "CrossAccountPrimary.yaml").read_text(),
        state_parameters={"RootAccountArns": f"arn:aws:iam::{BUILD}:root", "DeployReady": "true"},
        outputs={
            "BuildBucket": "crossaccountprimary-buildbucket-1a2b3c",
            "PipelineBucket": "crossaccountprimary-pipelinebucket-4d5e",
        },
        pseudo={
            "AWS::AccountId": BUILD,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": "CrossAccountPrimary",
        },
    )
    path = tmp_path / "adopted.json"
    path.write_text(moved.body)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    ours = [f for f in findings if not re.search(r":(E2533|W1033):", f)]
    assert ours == [], "\n".join(ours)
    assert [f for f in findings if "E2533" in f and "nodejs10.x" in f]
    functions = {
        k: r["Properties"]["Runtime"]
        for k, r in moved.template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert functions == {"SyncArtifactsFunction": "nodejs10.x", "ReplicationFunction": "python3.12"}


def _checkov() -> Path:
    """checkov pins an old boto3, so it lives in a virtual environment of its own."""
    exe = CHECKOV_VENV / "bin" / "checkov"
    if not exe.exists():
        shutil.rmtree(CHECKOV_VENV, ignore_errors=True)
        venv.create(CHECKOV_VENV, with_pip=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", "checkov>=3.2,<4"], check=True, timeout=900)
    return exe


def _awkward_copy(tmp_path: Path) -> Path:
    """A copy of cfn/ whose path has a 40-character run that checkov's secret regex takes for an AWS key.

    checkov scans the template path it records beside a Lambda function's variables, so whether a
    scan passes can depend on where the repository was cloned; this copy makes that case certain.
    """
    tail = "/cfn/CrossAccountPrimary"
    awkward = tmp_path / ("x-" + "a" * (40 - len(tail))) / "cfn"
    shutil.copytree(CFN, awkward)
    key_like = r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
    assert re.search(key_like, str(awkward / "CrossAccountPrimary.yaml"))
    return awkward


@pytest.mark.emulator  # checkov, in a virtual environment of its own
@pytest.mark.parametrize("where", ["checkout", "awkward path"])
def test_checkov_finds_no_failed_check(where: str, tmp_path: Path) -> None:
    cfn_dir = CFN if where == "checkout" else _awkward_copy(tmp_path)
    result = subprocess.run(
        [str(_checkov()), "-d", str(cfn_dir), *CHECKOV_OPTIONS],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        timeout=600,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, [(c["check_id"], c["resource"]) for c in failed]
    assert sum(r["summary"]["passed"] for r in reports) > 50


def test_skipped_checks_carry_a_reason() -> None:
    for path in TEMPLATES:
        for res in load(path.name)["Resources"].values():
            for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip.get("comment", "")) > 20, (path.name, skip)


def _actions(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Action", "NotAction"):
                found += value if isinstance(value, list) else [value]
            else:
                found += _actions(value)
    elif isinstance(node, list):
        for item in node:
            found += _actions(item)
    return found


def test_no_wildcard_service_action_is_granted() -> None:
    for path in TEMPLATES:
        doc = load(path.name)
        for name, res in doc["Resources"].items():
            statements = json.dumps(res)
            for action in _actions(res):
                if action.endswith(":*") or action == "*":
                    # Only the TLS-only deny may name every action of a service.
                    assert action == "s3:*", (path.name, name, action)
                    assert '"Effect": "Deny"' in statements, (path.name, name, action)


def test_replicator_code_in_template_is_the_module() -> None:
    import ast

    tool = _schema_tables("inline_replicator")
    code = load("CrossAccountPrimary.yaml")["Resources"]["Replicator"]["Properties"]["Code"]["ZipFile"]
    modules = tool.sources()
    assert code.strip() == tool.compact(modules).strip(), "run: python tools/inline_replicator.py"
    # The same program: the inlined code's syntax tree is the modules' joined, docstrings aside.
    assert ast.dump(ast.parse(code)) == ast.dump(tool.joined(modules))
    # Every module's definitions are in it, and no import of the package is left in the one file.
    assert "xacct.function" not in code
    for name in ("class Artifact", "def targets", "def handler"):
        assert name in code
    # The inline code's own 4,096-character limit is gone (aws-cdk#20624; the ZipFile's zip may
    # reach 4 MB); what binds is the template body sent inline: 51,200 bytes (CloudFormation quotas).
    assert len((CFN / "CrossAccountPrimary.yaml").read_bytes()) <= 51_200


def test_primary_with_only_root_account_arns_creates_and_outputs_replication_role(aws: Emulator) -> None:
    deploy_central()
    outputs = stack_outputs("CrossAccountPrimary", "build")
    assert re.match(rf"^arn:aws:iam::{BUILD}:role/", outputs["ReplicationRoleArn"])
    assert outputs["BuildBucket"] == f"xacct-build-{BUILD}-{REGION}"
    assert outputs["CMK"].startswith(f"arn:aws:kms:{REGION}:{BUILD}:key/")
    assert (
        cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    )
    params = session("build").client("ssm").get_parameter(Name="/xacct/CrossAccountPrimary/replication-targets")
    assert params["Parameter"]["Value"] == "false:"


def _role_resources(profile: str, role_arn: str) -> tuple[set[str], set[str], set[str]]:
    """What the role's managed policies let it write into and encrypt with: the buckets and keys
    granted by name, and the accounts whose buckets and keys an aws:ResourceAccount grant admits."""
    iam = session(profile).client("iam")
    role = role_arn.rsplit("/", 1)[1]
    s3_targets: set[str] = set()
    keys: set[str] = set()
    accounts: set[str] = set()
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        pol = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=pol["DefaultVersionId"])[
            "PolicyVersion"
        ]["Document"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        statements: list[Any] = list(doc["Statement"])
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if "Condition" in st:
                assert set(st["Condition"]) == {"StringEquals"}, st
                assert set(st["Condition"]["StringEquals"]) == {"aws:ResourceAccount"}, st
                assert set(resources) == {"arn:aws:s3:::xacct-build-*/*", "arn:aws:kms:*:*:key/*"}, st
                listed = st["Condition"]["StringEquals"]["aws:ResourceAccount"]
                accounts.update(a for a in (listed if isinstance(listed, list) else [listed]) if a)
                continue
            if "s3:PutObject" in actions:
                s3_targets.update(resources)
            if "kms:GenerateDataKey" in actions:
                keys.update(resources)
    return s3_targets, keys, accounts


def test_replication_role_may_write_to_exactly_the_registered_buckets_and_keys(aws: Emulator) -> None:
    deploy_central()
    one, two, three = fake_entry(1), fake_entry(2), fake_entry(3)
    client = cfn("build")
    current = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in client.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]
    }
    role = stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]
    assert _role_resources("build", role) == (set(), set(), set())  # nobody registered: no grant at all
    current.update(
        EnableReplication="true",
        ReplicationBucketList=f"{one[0]},{two[0]}",
        ReplicationBucketStarArns=f"{one[1]},{two[1]}",
        ReplicationCMKs=f"{one[2]},{two[2]}",
        ReplicationMore01=f"{three[0]}={three[2].rsplit('/', 1)[1]}",
        ReplicationMoreAccounts1=three[2].split(":")[4],
    )
    client.update_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=(CFN / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in current.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    buckets, keys, accounts = _role_resources("build", role)
    assert buckets == {one[1], two[1]}
    assert keys == {one[2], two[2]}
    assert accounts == {three[2].split(":")[4]}
    ssm = session("build").client("ssm")
    targets = ssm.get_parameter(Name="/xacct/CrossAccountPrimary/replication-targets")
    assert targets["Parameter"]["Value"] == f"true:{one[0]},{two[0]}"
    more = ssm.get_parameter(Name="/xacct/CrossAccountPrimary/replication-more-01")
    assert more["Parameter"]["Value"] == f"more:{current['ReplicationMore01']}"


def test_developer_account_templates_deploy_in_order_and_admit_the_central_role(aws: Emulator) -> None:

    deploy_central()
    central_role = stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]
    dev = cfn("dev1")

    def create(name: str, params: dict[str, str]) -> dict[str, str]:
        dev.create_stack(
            StackName=name,
            TemplateBody=(CFN / f"{name}.yaml").read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        assert dev.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        return stack_outputs(name, "dev1")

    primary = create(
        "CrossAccountPrimary",
        {"RootAccountArns": f"arn:aws:iam::{BUILD}:root", "ReplicationWriterRoleArn": central_role},
    )
    create("CrossAccountDeploy", {"BuildAccount": DEV1, "CMKARNs": primary["CMK"]})
    developer = create("CrossAccountDeveloper", {"ReplicationFunctionRoleArn": central_role})
    assert developer["ReplicationFunctionRoleArn"] == central_role
    assert developer["ReplicationPathReaderArn"] == f"arn:aws:iam::{DEV1}:role/xacct-verify-{BUILD}-{REGION}"

    # The developer key admits the build account (the central role's account), Decrypt included.
    raw = session("dev1").client("kms").get_key_policy(KeyId=primary["CMK"], PolicyName="default")["Policy"]
    policy = json.loads(raw) if isinstance(raw, str) else raw
    trusted = next(s for s in policy["Statement"] if s.get("Sid") == "TrustedAccountsUseKey")
    assert trusted["Principal"]["AWS"] in (f"arn:aws:iam::{BUILD}:root", [f"arn:aws:iam::{BUILD}:root"])
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} <= set(trusted["Action"])

    # The bucket's one policy, as S3 holds it: the central role may put objects, read back what it
    # wrote and abort its own uploads (through its account's root and an aws:PrincipalArn
    # condition), and nothing more; PutObjectAcl for a seed central function's
    # bucket-owner-full-control copies (the only ACL a bucket-owner-enforced bucket accepts).
    bucket = primary["BuildBucket"]
    policy = json.loads(session("dev1").client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"AWS": f"arn:aws:iam::{BUILD}:root"}
    assert allows[0]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": central_role}}
    assert sorted(allows[0]["Action"]) == sorted([*limits.WRITE_ACTIONS, "s3:PutObjectAcl"])
    assert allows[0]["Resource"] == f"arn:aws:s3:::{bucket}/*"
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    versioning = session("dev1").client("s3").get_bucket_versioning(Bucket=bucket)
    assert versioning["Status"] == "Enabled"


def test_stacks_are_isolated_per_account(aws: Emulator) -> None:
    deploy_central()
    with pytest.raises(Exception, match="does not exist"):
        cfn("dev2").describe_stacks(StackName="CrossAccountPrimary")
    assert session("dev2").client("sts").get_caller_identity()["Account"] == DEV2


# ---- what AWS accepts, asserted from the templates themselves -----------------------------------


def _resources(name: str, kind: str | None = None) -> dict[str, dict]:  # type: ignore[type-arg]
    found = load(name)["Resources"]
    return {k: v for k, v in found.items() if kind is None or v["Type"] == kind}


def test_no_function_reserves_concurrency() -> None:
    """A reservation must leave min(100, quota) executions unreserved; a new account's quota is 10
    (Lambda developer guide, "Configuring reserved concurrency"): any reservation fails there."""
    for path in TEMPLATES:
        for name, res in _resources(path.name, "AWS::Lambda::Function").items():
            assert "ReservedConcurrentExecutions" not in res["Properties"], (path.name, name)


def test_one_policy_per_bucket_across_the_templates_of_one_account() -> None:
    """A bucket has one policy: a second AWS::S3::BucketPolicy for it fails AlreadyExists."""
    owners: dict[str, list[str]] = {}
    for path in TEMPLATES:
        for name, res in _resources(path.name, "AWS::S3::BucketPolicy").items():
            bucket = json.dumps(res["Properties"]["Bucket"])
            # An import of the primary's export is the primary's bucket too.
            bucket = {'{"Fn::ImportValue": "BuildBucket"}': '{"Ref": "BuildBucket"}'}.get(bucket, bucket)
            owners.setdefault(bucket, []).append(f"{path.name}:{name}")
    assert all(len(v) == 1 for v in owners.values()), owners
    assert set(owners) == {'{"Ref": "BuildBucket"}', '{"Ref": "PipelineBucket"}', '{"Ref": "Inbox"}'}


def test_resource_policies_name_account_roots_only() -> None:
    """Key and bucket policies name no role (it would have to exist first, and IAM would keep its
    unique id): roles are admitted through their account's root and an aws:PrincipalArn condition."""
    for path in TEMPLATES:
        for name, res in _resources(path.name).items():
            if res["Type"] not in ("AWS::KMS::Key", "AWS::S3::BucketPolicy"):
                continue
            text = json.dumps(res)
            for principal in re.findall(r'"Principal": (\{.*?\}|"\*")', text):
                assert ":role/" not in principal, (path.name, name, principal)
                assert "RoleArn" not in principal, (path.name, name, principal)


def test_the_replication_role_may_decrypt_with_developer_keys() -> None:
    """UploadPartCopy into an SSE-KMS bucket needs kms:Decrypt (S3 API reference); copies above
    8 MB are multipart. The size model counts exactly what the template grants."""

    keys = _resources("CrossAccountPrimary.yaml")["ReplicationUseKeys"]["Properties"]["PolicyDocument"]
    writes = _resources("CrossAccountPrimary.yaml")["ReplicationWriteBuckets"]["Properties"]["PolicyDocument"]
    key_actions = keys["Statement"][0]["Action"]
    write_actions = writes["Statement"][0]["Action"]
    assert "kms:Decrypt" in key_actions
    assert tuple(sorted(key_actions)) == limits.KEY_ACTIONS
    assert tuple(sorted(write_actions if isinstance(write_actions, list) else [write_actions])) == limits.WRITE_ACTIONS


def test_the_build_bucket_sends_events_to_eventbridge() -> None:
    """An S3 source action stops polling after 30 days without a run (CodePipeline API reference,
    PipelineMetadata); EventBridge starts the pipeline instead."""
    bucket = _resources("CrossAccountPrimary.yaml")["BuildBucket"]["Properties"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {"EventBridgeEnabled": True}


def test_the_pipeline_role_holds_what_the_s3_source_action_documents() -> None:
    role = _resources("CrossAccountPrimary.yaml")["PipelineRole"]["Properties"]
    granted = set(_actions(role["Policies"]))
    assert {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetBucketVersioning",
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
    } <= granted


def test_the_key_and_both_buckets_survive_replacement_and_deletion() -> None:
    """A replacement or a stack deletion must never take the artifacts' key or buckets; a failed
    create still cleans up after itself (RetainExceptOnCreate), so a re-run is not blocked."""
    for name in ("ArtifactKey", "BuildBucket", "PipelineBucket"):
        res = _resources("CrossAccountPrimary.yaml")[name]
        assert res["UpdateReplacePolicy"] == "Retain", name
        assert res["DeletionPolicy"] == "RetainExceptOnCreate", name


LONGEST_STACK_NAME = "S" + "x" * 127  # CloudFormation's limit: 128 characters
LONGEST_REGION = max(regions.known(), key=len)


def _schema(resource_type: str) -> dict:  # type: ignore[type-arg]
    """The resource's schema as cfn-lint ships it (CloudFormation's registry schemas)."""
    import cfnlint  # type: ignore[import-untyped]

    root = Path(cfnlint.__file__).parent / "data" / "schemas"
    index = json.loads((root / "providers" / "us-east-1.json").read_text())
    return json.loads((root / "resources" / f"{index[resource_type]}.json").read_text())  # type: ignore[no-any-return]


def _rendered(value: object) -> str | None:
    """A name property with the longest stack name, account and region substituted; None when it is
    not a literal or !Sub of pseudo parameters."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text = value["Fn::Sub"]
        for k, v in {
            "${AWS::StackName}": LONGEST_STACK_NAME,
            "${AWS::AccountId}": "123456789012",
            "${AWS::Region}": LONGEST_REGION,
            "${AWS::Partition}": "aws-iso-b",
        }.items():
            text = text.replace(k, v)
        return None if "${" in text else text
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), list):
        template, names = value["Fn::Sub"]
        return _rendered({"Fn::Sub": template.replace("${BuildAccount}", "123456789012")}) if names else None
    return None


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_name_fits_its_limit_with_the_longest_stack_name(path: Path) -> None:
    """A stack name the wizard accepts never produces a name AWS refuses: every named property, with
    a 128-character stack name, the longest region and account id, within its schema's maxLength
    and pattern (the schemas cfn-lint ships)."""
    checked = 0
    for logical, res in _resources(path.name).items():
        properties = _schema(res["Type"])["properties"]
        for prop, value in res.get("Properties", {}).items():
            rule = properties.get(prop, {})
            if not (prop.endswith("Name") or prop in ("Name", "AliasName", "LogGroup")) or "maxLength" not in rule:
                continue
            rendered = _rendered(value)
            if rendered is None:
                continue
            checked += 1
            assert len(rendered) <= rule["maxLength"], (path.name, logical, prop, len(rendered), rule["maxLength"])
            if "pattern" in rule:
                assert re.search(rule["pattern"], rendered), (path.name, logical, prop, rendered)
        assert "FunctionName" not in res.get("Properties", {}) or res["Type"] != "AWS::Lambda::Function"
    if path.name != "CrossAccountDeploy.yaml":
        assert checked, "no name was checked"


def test_every_partition_botocore_knows_is_accepted() -> None:
    from xacct.core import registry as reg

    for region, partition in regions.known().items():
        arn = f"arn:{partition}:kms:{region}:123456789012:key/12345678-1234-1234-1234-123456789012"
        assert reg.key_arn_problem(arn) is None, arn
        assert regions.region_problem(region) is None
    assert "aws-eusc" in regions.partitions()
    assert (regions.region_problem("us-east-9") or "").startswith("'us-east-9' is not a region AWS has; did you mean")


def test_failed_multipart_uploads_are_cleaned_up() -> None:
    """A multipart copy that fails is aborted by the function (it may: s3:AbortMultipartUpload),
    and what an abort could not remove expires by the bucket's lifecycle rule."""

    for name in ("BuildBucket", "PipelineBucket"):
        rules = _resources("CrossAccountPrimary.yaml")[name]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for r in rules), name
    assert "s3:AbortMultipartUpload" in limits.WRITE_ACTIONS


def test_replaced_versions_expire_and_targets_are_written_after_their_grants() -> None:
    primary = load("CrossAccountPrimary.yaml")
    resources = primary["Resources"]
    for bucket in ("BuildBucket", "PipelineBucket"):
        rules = {r["Id"]: r for r in resources[bucket]["Properties"]["LifecycleConfiguration"]["Rules"]}
        assert rules["ExpireReplacedVersions"]["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": {"Ref": "NoncurrentVersionDays"}
        }
    assert primary["Parameters"]["NoncurrentVersionDays"]["Default"] == 30
    description = json.dumps(resources["ReplicationTargets"]["Properties"]["Description"])
    assert "${ReplicationWriteBuckets}" in description
    assert "${ReplicationUseKeys}" in description


def test_the_central_templates_fixed_limits_leave_room() -> None:
    """What does not grow with developers, checked once: parameters per stack, managed policies per
    role, the role's inline policies together (whitespace not counted), the template body inline."""
    doc = load("CrossAccountPrimary.yaml")
    assert len(doc["Parameters"]) <= limits.PARAMETERS_PER_STACK
    resources = doc["Resources"]
    attached = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": "ReplicationRole"} in r["Properties"].get("Roles", [])
    ]
    assert sorted(attached) == [
        "ReplicationMoreGrant1", "ReplicationMoreGrant2", "ReplicationUseKeys", "ReplicationWriteBuckets"
    ]  # fmt: skip
    assert len(attached) <= limits.MANAGED_PER_ROLE
    inline = [p["PolicyDocument"] for p in resources["ReplicationRole"]["Properties"]["Policies"]]
    inline += [r["Properties"]["PolicyDocument"] for r in resources.values() if r["Type"] == "AWS::IAM::RolePolicy"]
    # Unresolved intrinsics are longer than what they resolve to, except the stack name: allow 128 for each.
    assert limits.compact(inline) + 128 * json.dumps(inline).count("StackName") <= limits.ROLE_INLINE_LIMIT
    assert len((CFN / "CrossAccountPrimary.yaml").read_bytes()) <= limits.INLINE_TEMPLATE_LIMIT
    # The account grants the size model counts are the template's, action for action.
    grant = resources["ReplicationMoreGrant1"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert tuple(grant["Action"]) == limits.WRITE_ACTIONS + limits.KEY_ACTIONS
