"""The seed project's stacks (tests/data/seed-1.0.0), deployed on the emulator as its README and
its bootstrap.sh/developer.sh deploy them."""

from __future__ import annotations

from tests.conftest import BUILD, ROOT, cfn, stack, stack_outputs

SEED = ROOT / "tests" / "data" / "seed-1.0.0"
# Lambda no longer creates functions on nodejs10.x (Lambda developer guide, "Runtime deprecation
# policy"): the one change to the seed's template, as the issue's acceptance asks.
RAISED_RUNTIME = "nodejs24.x"


def template(name: str, *, runtime: str = RAISED_RUNTIME) -> str:
    text = (SEED / f"{name}.yaml").read_text()
    return text.replace("Runtime: nodejs10.x", f"Runtime: {runtime}")


def _params(values: dict[str, str | None]) -> list[dict[str, object]]:
    return [
        {"ParameterKey": k, "UsePreviousValue": True} if v is None else {"ParameterKey": k, "ParameterValue": v}
        for k, v in values.items()
    ]


def _primary_and_deploy(profile: str, account: str, roots: str, runtime: str) -> dict[str, str]:
    """What bootstrap.sh and developer.sh both do in one account: the primary stack with only
    RootAccountArns, the deploy stack (its roles must exist before a bucket policy may name them),
    then the primary again with DeployReady=true. Returns the primary's outputs."""
    client = cfn(profile)
    client.create_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=template("CrossAccountPrimary", runtime=runtime),
        Parameters=_params({"RootAccountArns": roots}),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    first = stack_outputs("CrossAccountPrimary", profile)
    client.create_stack(
        StackName="CrossAccountDeploy",
        TemplateBody=template("CrossAccountDeploy"),
        Parameters=_params({"BuildAccount": account, "CMKARNs": first["CMK"]}),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    roles = (
        f"arn:aws:iam::{account}:role/CrossAccountCodePipeline,arn:aws:iam::{account}:role/CrossAccountCloudFormation"
    )
    client.update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=_params(
            {
                "RootAccountArns": None,
                "DeployReady": "true",
                "PipelineBucketAccessRoleArns": roles,
                "PipelineBucketStarArns": f"arn:aws:s3:::{first['PipelineBucket']}/*",
                "PipelineCMKs": first["CMK"],
            }
        ),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    found = stack("CrossAccountPrimary", profile)
    assert found is not None
    assert found["StackStatus"] == "UPDATE_COMPLETE", found
    return stack_outputs("CrossAccountPrimary", profile)


def deploy_central(profile: str = "build", account: str = BUILD, *, runtime: str = RAISED_RUNTIME) -> dict[str, str]:
    """bootstrap.sh for a build account that deploys to itself. Returns the primary's outputs."""
    return _primary_and_deploy(profile, account, f"arn:aws:iam::{account}:root", runtime)


def deploy_developer(
    profile: str, account: str, central: dict[str, str], build_profile: str = "build"
) -> dict[str, str]:
    """developer.sh: the developer's own primary (the build account's root admitted to its key) and
    deploy stacks, the primary made deploy-ready, the developer stack admitting the central
    replication role to the build bucket, and the central lists extended by hand. Returns the
    developer primary's outputs."""
    build_account = central["ReplicationRoleArn"].split(":")[4]
    roots = f"arn:aws:iam::{account}:root,arn:aws:iam::{build_account}:root"
    first = _primary_and_deploy(profile, account, roots, RAISED_RUNTIME)
    client = cfn(profile)
    client.create_stack(
        StackName="CrossAccountDeveloper",
        TemplateBody=template("CrossAccountDeveloper"),
        Parameters=_params({"ReplicationFunctionRoleArn": central["ReplicationRoleArn"]}),
    )
    build = cfn(build_profile)
    current = {
        p["ParameterKey"]: p.get("ParameterValue", "")
        for p in build.describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]
    }
    joined = {
        "ReplicationBucketList": first["BuildBucket"],
        "ReplicationBucketStarArns": f"arn:aws:s3:::{first['BuildBucket']}/*",
        "ReplicationCMKs": first["CMK"],
    }
    build.update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=_params(
            {
                **dict.fromkeys(
                    (
                        "RootAccountArns",
                        "DeployReady",
                        "PipelineBucketAccessRoleArns",
                        "PipelineBucketStarArns",
                        "PipelineCMKs",
                    )
                ),
                "EnableReplication": "true",
                **{k: ",".join(x for x in (current.get(k, ""), v) if x) for k, v in joined.items()},
            }
        ),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    for profile_, name in ((profile, "CrossAccountDeveloper"), (build_profile, "CrossAccountPrimary")):
        found = stack(name, profile_)
        assert found is not None
        assert found["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), found
    return stack_outputs("CrossAccountPrimary", profile)
